# shellcheck shell=bash
# The cloud API as real OpenStack: Debian 12's Keystone 22 (under uwsgi) and
# Neutron 21 (ML2 with the OVN mechanism driver) against this instance's own
# OVN central, with a private MariaDB. Everything lives in $OS_DIR; nothing
# under /etc is read or written.
#
# Facts this rests on (found by running it on Debian 12):
# - sqlite breaks Neutron's migrations and says "database is locked" under
#   load, and the mysqldb driver stalled concurrent port creates: MariaDB on
#   a unix socket only, with the pymysql driver;
# - Keystone under uwsgi resets keep-alive connections unless every response
#   says "Connection: close";
# - an empty service_plugins list kills ML2/OVN's maintenance worker;
# - neutron-server runs as root because it opens the OVN sockets.

OS_DIR=$S/openstack
MYSQL_SOCK=$OS_DIR/mysql.sock

# The region of the catalog's endpoints.
OS_REGION=RegionOne

# openstack_daemons: "label pidfile" lines, for status and down.
openstack_daemons() {
	echo "mariadb $OS_DIR/mysqld.pid"
	echo "keystone(uwsgi) $OS_DIR/keystone.pid"
	echo "neutron-server $OS_DIR/neutron-server.pid"
}

# db_password NAME: a generated password kept in the state dir (0600).
db_password() {
	local f=$OS_DIR/$1.dbpass
	[[ -s $f ]] || (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' 'xy' >"$f")
	cat "$f"
}

db_url() {
	echo "mysql+pymysql://$1:$(db_password "$1")@localhost/$1?unix_socket=$MYSQL_SOCK&charset=utf8"
}

mysql_root() { mysql --no-defaults -S "$MYSQL_SOCK" -u root "$@"; }

start_mariadb() {
	local d=$OS_DIR
	mkdir -p "$d"
	if ! pidfile_alive "$d/mysqld.pid"; then
		if [[ ! -d $d/mysql/mysql ]]; then
			mysql_install_db --no-defaults --datadir="$d/mysql" --user=root \
				--auth-root-authentication-method=socket --skip-test-db \
				>>"$d/mysqld-install.log" 2>&1 || die "mysql_install_db failed; see $d/mysqld-install.log"
		fi
		# No TCP at all; durability is not worth the fsyncs in a test cloud.
		setsid mysqld --no-defaults --user=root --datadir="$d/mysql" --socket="$MYSQL_SOCK" \
			--pid-file="$d/mysqld.pid" --log-error="$d/mysqld.log" --skip-networking \
			--innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 \
			--max-connections=500 --character-set-server=utf8mb4 \
			>>"$d/mysqld.log" 2>&1 </dev/null &
		echo $! >"$d/mysqld.pid"
	fi
	wait_for 60 "MariaDB on $MYSQL_SOCK (see $d/mysqld.log)" mysql_root -e 'select 1'
	local db
	for db in keystone neutron; do
		mysql_root -e "CREATE DATABASE IF NOT EXISTS $db;
			CREATE USER IF NOT EXISTS '$db'@'localhost' IDENTIFIED BY '$(db_password "$db")';
			GRANT ALL PRIVILEGES ON $db.* TO '$db'@'localhost';" ||
			die "creating database $db failed; see $d/mysqld.log"
	done
}

write_keystone_conf() {
	local d=$OS_DIR/keystone
	mkdir -p "$d/fernet-keys" "$d/credential-keys"
	chmod 700 "$d/fernet-keys" "$d/credential-keys"
	(umask 077 && cat >"$d/keystone.conf" <<-EOF)
		[DEFAULT]
		log_file = $OS_DIR/keystone.log
		use_stderr = false
		[database]
		connection = $(db_url keystone)
		[token]
		provider = fernet
		[fernet_tokens]
		key_repository = $d/fernet-keys
		[fernet_receipts]
		key_repository = $d/fernet-keys
		[credential]
		key_repository = $d/credential-keys
		[cache]
		enabled = false
		[identity]
		# bcrypt's cheapest cost: every token issue hashes a password.
		password_hash_rounds = 4
	EOF
}

kmanage() { keystone-manage --config-file "$OS_DIR/keystone/keystone.conf" "$@"; }

start_keystone() {
	local d=$OS_DIR kd=$OS_DIR/keystone
	write_keystone_conf
	if [[ ! -e $kd/bootstrapped ]]; then
		kmanage db_sync >>"$d/keystone-manage.log" 2>&1 || die "keystone-manage db_sync failed; see $d/keystone-manage.log"
		kmanage fernet_setup --keystone-user root --keystone-group root >>"$d/keystone-manage.log" 2>&1 ||
			die "keystone-manage fernet_setup failed; see $d/keystone-manage.log"
		kmanage credential_setup --keystone-user root --keystone-group root >>"$d/keystone-manage.log" 2>&1 ||
			die "keystone-manage credential_setup failed; see $d/keystone-manage.log"
		kmanage bootstrap --bootstrap-password "$(tenant_field admin password)" \
			--bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
			--bootstrap-region-id "$OS_REGION" --bootstrap-admin-url "$KEYSTONE_URL/v3" \
			--bootstrap-public-url "$KEYSTONE_URL/v3" --bootstrap-internal-url "$KEYSTONE_URL/v3" \
			>>"$d/keystone-manage.log" 2>&1 || die "keystone-manage bootstrap failed; see $d/keystone-manage.log"
		touch "$kd/bootstrapped"
	fi
	if ! pidfile_alive "$d/keystone.pid"; then
		port_free "$KEYSTONE_PORT" || die "TCP port $KEYSTONE_PORT (Keystone) is in use: set SANDBOX_KEYSTONE_PORT to a free port"
		# --die-on-term: uwsgi otherwise reloads on SIGTERM.
		OS_KEYSTONE_CONFIG_DIR=$kd setsid uwsgi --plugin python3 --master --die-on-term \
			--http-socket "$MGMT_HOST_IP:$KEYSTONE_PORT" --wsgi-file /usr/bin/keystone-wsgi-public \
			--processes 2 --threads 1 --add-header 'Connection: close' --buffer-size 65535 \
			--pidfile "$d/keystone.pid" --logto "$d/uwsgi-keystone.log" --env "OS_KEYSTONE_CONFIG_DIR=$kd" \
			</dev/null >/dev/null 2>&1 &
		echo $! >"$d/keystone.pid"
	fi
	wait_for 60 "Keystone to answer on $KEYSTONE_URL (see $d/uwsgi-keystone.log, $d/keystone.log)" \
		curl -sf -o /dev/null "$KEYSTONE_URL/v3"
}

# ks TOKEN METHOD PATH [JSON]: a Keystone call (rest: lib/neutrond.sh).
ks() { rest "$KEYSTONE_URL/v3" "$@"; }

# ks_ensure TOKEN COLLECTION NAME JSON: the id of the named resource, made
# from JSON when missing.
ks_ensure() {
	local token=$1 coll=$2 name=$3 body=$4 id key=${2%s}
	id=$(ks "$token" GET "$coll?name=$name" | jq -r ".${coll}[0].id // empty")
	[[ -n $id ]] || id=$(ks "$token" POST "$coll" "$body" | jq -er ".${key}.id") ||
		die "creating Keystone $key $name failed; see $OS_DIR/keystone.log"
	echo "$id"
}

# setup_keystone_identity: the tenants of identity.json (projects, users
# with role member; admin from bootstrap), the network service in the
# catalog, and identity.json rewritten with Keystone's own ids.
setup_keystone_identity() {
	local token t pid uid role_member svc json
	cache_token admin
	token=${TOKENS[admin]}
	role_member=$(ks "$token" GET "roles?name=member" | jq -er '.roles[0].id') || die "Keystone has no role member"
	json=$(<"$S/identity.json")
	for t in admin "${TENANTS[@]}"; do
		pid=$(ks_ensure "$token" projects "$t" "$(jq -n --arg n "$t" '{project: {name: $n, domain_id: "default"}}')")
		uid=$(ks_ensure "$token" users "$t" "$(jq -n --arg n "$t" --arg p "$(tenant_field "$t" password)" --arg pid "$pid" \
			'{user: {name: $n, domain_id: "default", password: $p, default_project_id: $pid}}')")
		if [[ $t != admin ]]; then
			ks "$token" PUT "projects/$pid/users/$uid/roles/$role_member" >/dev/null ||
				die "granting member on $t failed"
		fi
		json=$(jq --arg t "$t" --arg pid "$pid" --arg uid "$uid" \
			'(.users[] | select(.name == $t)) |= (.project_id = $pid | .user_id = $uid)' <<<"$json")
	done
	(umask 077 && printf '%s\n' "$json" >"$S/identity.json.tmp") && mv "$S/identity.json.tmp" "$S/identity.json"

	svc=$(ks_ensure "$token" services neutron '{"service": {"name": "neutron", "type": "network"}}')
	if [[ -z $(ks "$token" GET "endpoints?service_id=$svc" | jq -r '.endpoints[0].id // empty') ]]; then
		for t in public internal admin; do
			ks "$token" POST endpoints "$(jq -n --arg s "$svc" --arg i "$t" --arg u "$API_URL" --arg r "$OS_REGION" \
				'{endpoint: {service_id: $s, interface: $i, url: $u, region_id: $r}}')" >/dev/null ||
				die "creating the $t network endpoint failed"
		done
	fi
}

write_neutron_conf() {
	local d=$OS_DIR/neutron
	# Neutron's default policy: no policy file, an empty policy dir (an
	# empty policy_dirs would mean the config dir, whose .conf files
	# oslo.policy then tries to read as policies).
	mkdir -p "$d/state" "$d/lock" "$d/policy.d"
	(umask 077 && cat >"$d/neutron.conf" <<-EOF)
		[DEFAULT]
		bind_host = $MGMT_HOST_IP
		bind_port = $API_PORT
		core_plugin = ml2
		service_plugins = ovn-router,trunk
		auth_strategy = keystone
		allow_overlapping_ips = true
		transport_url = fake:/
		notify_nova_on_port_status_changes = false
		notify_nova_on_port_data_changes = false
		dhcp_agent_notification = false
		api_workers = 1
		rpc_workers = 0
		rpc_state_report_workers = 0
		global_physnet_mtu = 1500
		dns_domain = $DNS_DOMAIN
		state_path = $d/state
		api_paste_config = /etc/neutron/api-paste.ini
		log_file = $OS_DIR/neutron-server.log
		use_stderr = false
		[database]
		connection = $(db_url neutron)
		max_pool_size = 10
		max_overflow = 20
		[keystone_authtoken]
		www_authenticate_uri = $KEYSTONE_URL
		auth_url = $KEYSTONE_URL
		auth_type = password
		project_domain_name = Default
		user_domain_name = Default
		project_name = admin
		username = admin
		password = $(tenant_field admin password)
		region_name = $OS_REGION
		[oslo_concurrency]
		lock_path = $d/lock
		[oslo_messaging_notifications]
		driver = noop
		[oslo_policy]
		policy_file = $d/policy.yaml
		policy_dirs = $d/policy.d
		[ml2]
		type_drivers = geneve,flat,vlan
		tenant_network_types = geneve
		mechanism_drivers = ovn
		extension_drivers = port_security,dns
		overlay_ip_version = 4
		[ml2_type_geneve]
		vni_ranges = 1:4096
		max_header_size = 38
		[ml2_type_flat]
		flat_networks = *
		[ml2_type_vlan]
		network_vlan_ranges = $PHYSNET:$PROV_VLAN:$PROV_VLAN
		[securitygroup]
		enable_security_group = true
		[ovn]
		ovn_nb_connection = $NB_DB
		ovn_sb_connection = $SB_DB
		ovn_l3_scheduler = leastloaded
		neutron_sync_mode = off
		ovn_metadata_enabled = false
	EOF
}

start_neutron_server() {
	local d=$OS_DIR nd=$OS_DIR/neutron
	write_neutron_conf
	if [[ ! -e $nd/migrated ]]; then
		neutron-db-manage --config-file "$nd/neutron.conf" upgrade heads >>"$d/neutron-db-manage.log" 2>&1 ||
			die "neutron-db-manage upgrade heads failed; see $d/neutron-db-manage.log"
		touch "$nd/migrated"
	fi
	if ! pidfile_alive "$d/neutron-server.pid"; then
		port_free "$API_PORT" || die "TCP port $API_PORT (cloud API) is in use: set SANDBOX_API_PORT to a free port"
		setsid neutron-server --config-file "$nd/neutron.conf" >>"$d/neutron-server.out" 2>&1 </dev/null &
		echo $! >"$d/neutron-server.pid"
	fi
	wait_for 120 "neutron-server to answer on $API_URL (see $d/neutron-server.log)" curl -sf -o /dev/null "$API_URL/"
}

start_openstack() {
	start_mariadb
	start_keystone
	setup_keystone_identity
	start_neutron_server
}

