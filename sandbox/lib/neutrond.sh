# shellcheck shell=bash
# The cloud API: ovn-neutrond (Neutron v2.0 + Keystone v3 tokens over NB) on
# the management bridge's host address, and the VMs' network and ports made
# through it, as Nova would.

NEUTROND_DIR=$S/neutrond
BIN=$REPO/bin

# build_binaries: the project's commands, static so that ovn-docker can put
# itself into its pause image.
build_binaries() {
	command -v go >/dev/null || die "go is not on PATH: install Go (https://go.dev/doc/install) to build the sandbox's binaries"
	(cd "$REPO" && CGO_ENABLED=0 go build -o "$BIN/" ./cmd/...) || die "go build ./cmd/... failed"
}

# write_identity_file: the identity of ovn-neutrond (ids, hashed passwords,
# roles) from the tenants and passwords of identity.json.
write_identity_file() {
	local f=$NEUTROND_DIR/identity.yaml t hash role
	[[ -s $f ]] && return 0
	mkdir -p "$NEUTROND_DIR"
	{
		echo "domains:"
		echo "  - {id: default, name: Default}"
		echo "projects:"
		for t in admin "${TENANTS[@]}"; do
			echo "  - {id: $(tenant_field "$t" project_id), name: $t, domain_id: default}"
		done
		echo "users:"
		for t in admin "${TENANTS[@]}"; do
			hash=$(tenant_field "$t" password | "$BIN/ovn-neutrond" hash-password) || die "hash-password failed"
			role=member
			[[ $t == admin ]] && role=admin
			echo "  - id: $(tenant_field "$t" user_id)"
			echo "    name: $t"
			echo "    domain_id: default"
			echo "    password_hash: \"$hash\""
			echo "    roles:"
			echo "      - {project: $t, role: $role}"
		done
	} >"$f.tmp"
	chmod 600 "$f.tmp"
	mv "$f.tmp" "$f"
}

start_neutrond() {
	local d=$NEUTROND_DIR
	mkdir -p "$d"
	write_identity_file
	[[ -s $d/signing.key ]] || "$BIN/ovn-neutrond" gen-key "$d/signing.key" >/dev/null
	if ! pidfile_alive "$d/ovn-neutrond.pid"; then
		port_free "$API_PORT" || die "TCP port $API_PORT (cloud API) is in use: set SANDBOX_API_PORT to a free port"
		# setsid: stays up after this script exits. Its command line names
		# the state dir, which is how status/down know the pid is ours.
		setsid "$BIN/ovn-neutrond" serve --nb="$NB_DB" --listen="$MGMT_HOST_IP:$API_PORT" \
			--metrics-listen="127.0.0.1:$METRICS_PORT" \
			--public-url="$API_URL" --identity="$d/identity.yaml" --signing-key="$d/signing.key" \
			--vlan-networks="$PHYSNET" --flat-networks="$PHYSNET" --gateway-chassis="$(IFS=,; echo "${GW_HVS[*]}")" \
			--dns-domain="$DNS_DOMAIN" \
			>>"$d/ovn-neutrond.log" 2>&1 </dev/null &
		echo $! >"$d/ovn-neutrond.pid"
	fi
	wait_for 30 "ovn-neutrond to answer on $API_URL (see $d/ovn-neutrond.log)" curl -sf -o /dev/null "$API_URL/"
}

# api_token TENANT: a Keystone token of the tenant.
api_token() {
	local body
	body=$(jq -n --arg u "$1" --arg p "$(tenant_field "$1" password)" \
		'{auth: {identity: {methods: ["password"], password: {user: {name: $u, domain: {name: "Default"}, password: $p}}},
		         scope: {project: {name: $u, domain: {name: "Default"}}}}}')
	curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d @- "$AUTH_URL/auth/tokens?nocatalog" <<<"$body" |
		awk 'tolower($1) == "x-subject-token:" { sub(/\r$/, "", $2); print $2 }'
}

# TOKENS: tokens already issued in this run, by tenant (see cache_token).
declare -A TOKENS=()

# cache_token TENANT: sets TOKENS[TENANT] unless this run already has one
# (a real Keystone takes seconds per token on a busy machine). Call it in
# the script's own shell, not in $(...).
cache_token() {
	[[ -n ${TOKENS[$1]:-} ]] && return 0
	TOKENS[$1]=$(api_token "$1")
	[[ -n ${TOKENS[$1]} ]] || die "could not get a token of $1 from $AUTH_URL (see the cloud's log in $S)"
}

# rest BASE TOKEN METHOD PATH [JSON]: an OpenStack API call; prints the
# body, fails on HTTP errors.
rest() {
	local base=$1 token=$2 method=$3 path=$4 data=${5:-}
	local args=(-sS --fail-with-body -X "$method" -H "X-Auth-Token: $token" -H 'Content-Type: application/json')
	[[ -n $data ]] && args+=(-d "$data")
	curl "${args[@]}" "$base/$path"
}

# api TOKEN METHOD PATH [JSON]: a Neutron call.
api() { rest "$API_URL/v2.0" "$@"; }

# ensure_vm_network: the VMs' Neutron network and subnet, owned by the VMs'
# tenant; LS becomes its Logical_Switch in NB.
ensure_vm_network() {
	local token net sub
	cache_token "${VM_TENANT[vm1]}"
	token=${TOKENS[${VM_TENANT[vm1]}]}
	net=$(api "$token" GET "networks?name=$VM_NET_NAME" | jq -r '.networks[0].id // empty')
	if [[ -z $net ]]; then
		net=$(api "$token" POST networks "$(jq -n --arg n "$VM_NET_NAME" --argjson mtu "$LS_MTU" \
			'{network: {name: $n, mtu: $mtu}}')" | jq -er .network.id) || die "creating network $VM_NET_NAME failed"
	fi
	sub=$(api "$token" GET "subnets?network_id=$net" | jq -r '.subnets[0].id // empty')
	if [[ -z $sub ]]; then
		api "$token" POST subnets "$(jq -n --arg n "$net" --arg c "$LS_CIDR" --arg name "$VM_NET_NAME-v4" \
			'{subnet: {network_id: $n, ip_version: 4, cidr: $c, name: $name}}')" >/dev/null ||
			die "creating subnet $LS_CIDR failed"
	fi
	echo "$net" >"$S/vm-network-id"
	LS=neutron-$net
	wait_for 10 "logical switch $LS in NB" nbctl get Logical_Switch "$LS" _uuid
}

# create_vm_port VM: the VM's port, made through the Neutron API with the
# tenant's token, as Nova would; its id is the VM's vif-id.
create_vm_port() {
	local vm=$1 token net f=$S/$1/vif-id id
	mkdir -p "$S/$vm"
	cache_token "${VM_TENANT[$vm]}"
	token=${TOKENS[${VM_TENANT[$vm]}]}
	if [[ -s $f ]] && api "$token" GET "ports/$(<"$f")" >/dev/null 2>&1; then
		return 0
	fi
	net=$(<"$S/vm-network-id")
	id=$(api "$token" POST ports "$(jq -n --arg n "$net" --arg vm "$vm" --arg mac "$(vm_mac "$vm")" --arg ip "$(vm_ip "$vm")" \
		'{port: {network_id: $n, name: $vm, mac_address: $mac, fixed_ips: [{ip_address: $ip}],
		         device_owner: "compute:nova", device_id: $vm}}')" | jq -er .port.id) ||
		die "creating the port of $vm failed (see the cloud's log in $S)"
	echo "$id" >"$f"
}

# bind_vm_port VM: what Nova does once the VM is scheduled: an admin binds
# the port to the hypervisor (binding:host_id = the chassis's hostname);
# ML2/OVN then reports it ACTIVE once ovn-controller has claimed it. A
# binding that failed (no such chassis yet) is made again.
bind_vm_port() {
	local vm=$1 id hv port
	id=$(vif_id "$vm")
	hv=${VM_HV[$vm]}
	cache_token admin
	wait_for 30 "chassis $hv in the Southbound DB" sbctl get Chassis "$hv" name
	port=$(api "${TOKENS[admin]}" GET "ports/$id") || die "reading the port of $vm failed"
	if [[ $(jq -r '.port["binding:host_id"]' <<<"$port") == "$hv" ]]; then
		[[ $(jq -r '.port["binding:vif_type"]' <<<"$port") != binding_failed ]] && return 0
		api "${TOKENS[admin]}" PUT "ports/$id" '{"port": {"binding:host_id": ""}}' >/dev/null ||
			die "unbinding the port of $vm failed"
	fi
	port=$(api "${TOKENS[admin]}" PUT "ports/$id" "$(jq -n --arg h "$hv" --arg vm "$vm" \
		'{port: {"binding:host_id": $h, device_owner: "compute:nova", device_id: $vm}}')") ||
		die "binding the port of $vm to $hv failed (see the cloud's log in $S)"
	[[ $(jq -r '.port["binding:vif_type"]' <<<"$port") != binding_failed ]] ||
		die "Neutron could not bind the port of $vm to chassis $hv (see the cloud's log in $S)"
}

# vm_port_active VM: Neutron says ACTIVE (with the admin token of this run,
# or a new one).
vm_port_active() {
	local token=${TOKENS[admin]:-}
	[[ -n $token ]] || token=$(api_token admin)
	[[ $(api "$token" GET "ports/$(vif_id "$1")" | jq -r .port.status) == ACTIVE ]]
}

# has_extension TOKEN ALIAS: the cloud's Neutron lists extension ALIAS.
has_extension() {
	api "$1" GET "extensions/$2" >/dev/null 2>&1
}

# ensure_provider_network: what an operator makes for the physical hosts:
# as admin, a shared network on VLAN PROV_VLAN of PHYSNET (Neutron's
# provider extension; ML2/OVN and ovn-neutrond give it a localnet port) with
# a subnet that holds the physical hosts' addresses below its allocation
# pool. Its MTU is the VMs' network's: a container's port is a subport of
# its VM's trunk, and Neutron refuses a subport whose MTU is greater than
# the trunk's. Where the cloud has security groups, the VMs' tenant lets the
# physical hosts in (its default group admits only its own ports).
ensure_provider_network() {
	local token net sub f=$S/provider-network-id
	cache_token admin
	token=${TOKENS[admin]}
	if ! has_extension "$token" provider; then
		# The rest of the cloud is still worth having; the tests of the
		# physical network fail on the missing facts.
		log "warning: the $CLOUD cloud has no provider extension (provider:network_type…): no network $PROV_NET_NAME for the physical hosts"
		rm -f "$f"
		return 0
	fi
	net=$(api "$token" GET "networks?name=$PROV_NET_NAME" | jq -r '.networks[0].id // empty')
	if [[ -z $net ]]; then
		# mtu: a VLAN network gets the physical network's 1500, but its
		# container ports are subports of VM ports on vmnet (MTU 1442), and
		# Neutron refuses a subport with a larger MTU than its trunk's.
		net=$(api "$token" POST networks "$(jq -n --arg n "$PROV_NET_NAME" --arg p "$PHYSNET" --argjson v "$PROV_VLAN" \
			--argjson mtu "$PROV_MTU" \
			'{network: {name: $n, shared: true, mtu: $mtu, "provider:network_type": "vlan",
			            "provider:physical_network": $p, "provider:segmentation_id": $v}}')" | jq -er .network.id) ||
			die "creating the provider network $PROV_NET_NAME (vlan $PROV_VLAN on $PHYSNET) failed (see the cloud's log in $S)"
	fi
	sub=$(api "$token" GET "subnets?network_id=$net" | jq -r '.subnets[0].id // empty')
	if [[ -z $sub ]]; then
		api "$token" POST subnets "$(jq -n --arg n "$net" --arg c "$PROV_CIDR" --arg name "$PROV_NET_NAME-v4" \
			--arg s "$PROV_POOL_START" --arg e "$PROV_POOL_END" \
			'{subnet: {network_id: $n, ip_version: 4, cidr: $c, name: $name, enable_dhcp: false,
			           allocation_pools: [{start: $s, end: $e}]}}')" >/dev/null ||
			die "creating subnet $PROV_CIDR on $PROV_NET_NAME failed"
	fi
	echo "$net" >"$f"
	wait_for 10 "the localnet port of $PROV_NET_NAME in NB" provider_localnet
	open_default_group "${VM_TENANT[vm1]}"
}

# provider_localnet: the provider network's switch has its localnet port
# on PHYSNET with tag PROV_VLAN. Prints the port's name.
provider_localnet() {
	local ls ports u name
	ls=neutron-$(<"$S/provider-network-id")
	ports=" $(nbctl --bare --columns=ports list Logical_Switch "$ls" | tr '\n' ' ') "
	while IFS=, read -r u name; do
		[[ $ports == *" $u "* ]] && { echo "$name"; return 0; }
	done < <(nbctl --data=bare --no-headings --format=csv --columns=_uuid,name \
		find Logical_Switch_Port type=localnet tag="$PROV_VLAN" "options:network_name=$PHYSNET")
	return 1
}

# open_default_group TENANT: TENANT's default security group admits the
# physical hosts' subnet (a no-op on a cloud without security groups).
open_default_group() {
	local t=$1 token sg out
	cache_token "$t"
	token=${TOKENS[$t]}
	has_extension "$token" security-group || return 0
	sg=$(api "$token" GET "security-groups?name=default&project_id=$(tenant_field "$t" project_id)" | jq -er '.security_groups[0].id') ||
		die "reading the default security group of $t failed"
	out=$(api "$token" POST security-group-rules "$(jq -n --arg sg "$sg" --arg c "$PROV_CIDR" \
		'{security_group_rule: {security_group_id: $sg, direction: "ingress", ethertype: "IPv4", remote_ip_prefix: $c}}')" 2>/dev/null) ||
		jq -e '.NeutronError.type == "SecurityGroupRuleExists"' <<<"$out" >/dev/null ||
		die "letting $PROV_CIDR into $t's default security group failed: $out"
}
