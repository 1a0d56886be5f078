# shellcheck shell=bash
# What the sandbox tells its users: env lines, sandbox.json, status.

require_up() {
	[[ -s $S/identity.json ]] || die "no sandbox in $S: run 'sandbox/sandbox up' first"
}

is_vm() {
	local v
	for v in "${VMS[@]}"; do [[ $v == "$1" ]] && return 0; done
	return 1
}

# env_lines TENANT [VM]
env_lines() {
	local t=$1 vm=${2:-}
	local q=(printf 'export %s=%q\n')
	"${q[@]}" OS_AUTH_URL "$AUTH_URL"
	"${q[@]}" OS_USERNAME "$(tenant_field "$t" name)"
	"${q[@]}" OS_PASSWORD "$(tenant_field "$t" password)"
	"${q[@]}" OS_PROJECT_NAME "$(tenant_field "$t" project)"
	"${q[@]}" OS_USER_DOMAIN_NAME Default
	"${q[@]}" OS_PROJECT_DOMAIN_NAME Default
	"${q[@]}" OS_IDENTITY_API_VERSION 3
	"${q[@]}" OVN_NB_DB "$NB_DB"
	"${q[@]}" OVN_SB_DB "$SB_DB"
	if [[ -n $vm ]]; then
		"${q[@]}" OS_VIF_ID "$(vif_id "$vm")"
		"${q[@]}" OVN_DOCKER_OVSDB "$(ovsdb_of "$vm")"
		"${q[@]}" OVN_DOCKER_BRIDGE "$VM_BRIDGE"
	fi
}

write_facts() {
	local vms='[]' hvs='[]' vm hv
	for hv in "${HVS[@]}"; do
		hvs=$(jq --arg n "$hv" --arg ns "$(ns_of "$hv")" --arg db "$(ovsdb_of "$hv")" \
			--arg dir "$(dir_of "$hv")" \
			'. += [{name:$n, netns:$ns, ovsdb:$db, bridge:"br-int", chassis:$n, dir:$dir}]' <<<"$hvs")
	done
	for vm in "${VMS[@]}"; do
		vms=$(jq --arg n "$vm" --arg ns "$(ns_of "$vm")" --arg hv "${VM_HV[$vm]}" \
			--arg vif "$(vif_id "$vm")" --arg ip "$(vm_ip "$vm")" --arg mac "$(vm_mac "$vm")" \
			--arg db "$(ovsdb_of "$vm")" --arg br "$VM_BRIDGE" --arg nic "$VM_NIC" \
			--arg hvport "$(vm_hv_link "$vm")" --arg mip "$(vm_mgmt_ip "$vm")" \
			--arg mnic "$VM_MGMT_NIC" --arg tenant "${VM_TENANT[$vm]}" --arg dir "$(dir_of "$vm")" \
			--arg mntns "$(vm_mntns "$vm")" --arg docker "unix://$(vm_docker_sock "$vm")" \
			--arg dockerpid "$(vm_dockerd_pidfile "$vm")" \
			'. += [{name:$n, netns:$ns, hypervisor:$hv, vif_id:$vif, ip:$ip, mac:$mac,
			        ovsdb:$db, bridge:$br, nic:$nic, hv_port:$hvport, mgmt_ip:$mip,
			        mgmt_nic:$mnic, tenant:$tenant, dir:$dir,
			        mntns:$mntns, docker_host:$docker, dockerd_pid_file:$dockerpid}]' <<<"$vms")
	done
	(umask 077 && jq -n --arg name "$N" --arg cloud "$CLOUD" --arg dir "$S" --arg nb "$NB_DB" --arg nbtcp "$NB_TCP" \
		--arg sb "$SB_DB" --arg api "$API_URL" --arg auth "$AUTH_URL" --arg mhost "$MGMT_HOST_IP" \
		--arg mbr "$MGMT_BR" --argjson port "$API_PORT" \
		--arg image "$IMAGE" --arg ls "$LS" --arg netid "$(cat "$S/vm-network-id")" --arg netname "$VM_NET_NAME" --arg cidr "$LS_CIDR" --argjson mtu "$LS_MTU" \
		--argjson hvs "$hvs" --argjson vms "$vms" --slurpfile id "$S/identity.json" \
		'{name:$name, cloud:$cloud, dir:$dir, nb_db:$nb, nb_db_tcp:$nbtcp, sb_db:$sb,
		  api_url:$api, auth_url:$auth, api_host_ip:$mhost, api_port:$port, mgmt_bridge:$mbr,
		  image:$image,
		  network:{name:$ls, id:$netid, neutron_name:$netname, cidr:$cidr, mtu:$mtu},
		  hypervisors:$hvs, vms:$vms,
		  domain:$id[0].domain, users:$id[0].users}' >"$S/sandbox.json.tmp")
	mv "$S/sandbox.json.tmp" "$S/sandbox.json"
}

# daemons: "label pidfile" lines for every daemon the sandbox runs.
daemons() {
	local x
	echo "nb-ovsdb $CENTRAL/nb.pid"
	echo "sb-ovsdb $CENTRAL/sb.pid"
	echo "ovn-northd $CENTRAL/northd.pid"
	for x in "${HVS[@]}"; do
		echo "$x/ovsdb-server $S/$x/ovsdb-server.pid"
		echo "$x/ovs-vswitchd $S/$x/ovs-vswitchd.pid"
		echo "$x/ovn-controller $S/$x/ovn-controller.pid"
	done
	for x in "${VMS[@]}"; do
		echo "$x/ovsdb-server $S/$x/ovsdb-server.pid"
		echo "$x/ovs-vswitchd $S/$x/ovs-vswitchd.pid"
	done
	case $CLOUD in
	neutrond) echo "ovn-neutrond $NEUTROND_DIR/ovn-neutrond.pid" ;;
	openstack) openstack_daemons ;;
	esac
	engine_daemons
	plugin_daemons
}

cmd_status() {
	local bad=0 label f pid state vm
	printf '%-22s %-8s %s\n' DAEMON PID STATE
	while read -r label f; do
		pid=$(cat "$f" 2>/dev/null || echo -)
		if pidfile_alive "$f"; then state=running; else
			state=DOWN
			bad=1
		fi
		printf '%-22s %-8s %s\n' "$label" "$pid" "$state"
	done < <(daemons)
	echo
	echo "== chassis (ovn-sbctl show)"
	sbctl show 2>&1 || bad=1
	echo
	local active=
	printf '%-6s %-38s %-10s %-10s %s\n' VM VIF-ID IP UP-IN-OVN "STATUS($CLOUD)"
	for vm in "${VMS[@]}"; do
		if vm_port_up "$vm"; then state=true; else
			state=false
			bad=1
		fi
		active=-
		if [[ $CLOUD == openstack ]]; then
			if vm_port_active "$vm"; then active=ACTIVE; else
				active=not-ACTIVE
				bad=1
			fi
		fi
		printf '%-6s %-38s %-10s %-10s %s\n' "$vm" "$(cat "$S/$vm/vif-id" 2>/dev/null || echo -)" "$(vm_ip "$vm")" "$state" "$active"
	done
	return $bad
}

# cmd_logs LINES: the end of every log, for a failed CI run.
cmd_logs() {
	local f
	for f in "$S"/*/*.log; do
		[[ -f $f ]] || continue
		echo "== $f"
		tail -n "$1" "$f"
	done
}
