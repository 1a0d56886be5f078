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
	local vms='[]' hvs='[]' nbs='[]' phys='[]' vm hv h i
	for ((i = 1; i <= NB_MEMBERS; i++)); do
		nbs=$(jq --arg db "unix:$(nb_member_file "$i" sock)" --arg pid "$(nb_member_file "$i" pid)" \
			--arg ctl "$(nb_member_file "$i" ctl)" '. += [{db:$db, pidfile:$pid, ctl:$ctl}]' <<<"$nbs")
	done
	for hv in "${HVS[@]}"; do
		hvs=$(jq --arg n "$hv" --arg ns "$(ns_of "$hv")" --arg db "$(ovsdb_of "$hv")" \
			--arg dir "$(dir_of "$hv")" --arg encap "$(hv_encap_ip "$hv")" --arg tbr "$HV_TUN_BR" \
			--arg ul "$HV_UL_NIC" --arg fabul "$(hv_fab_link "$hv" "$UL_BR")" --arg pbr "$HV_PROV_BR" \
			--arg pnic "$HV_PROV_NIC" --arg fabph "$(hv_fab_link "$hv" "$PHY_BR")" \
			'. += [{name:$n, netns:$ns, ovsdb:$db, bridge:"br-int", chassis:$n, dir:$dir,
			        encap_ip:$encap, tunnel_bridge:$tbr, underlay_nic:$ul, fabric_underlay_link:$fabul,
			        provider_bridge:$pbr, provider_nic:$pnic, fabric_physical_link:$fabph}]' <<<"$hvs")
	done
	for h in "${PHYS_HOSTS[@]}"; do
		phys=$(jq --arg n "$h" --arg ns "$(ns_of "$h")" --arg nic "$PHYS_NIC" \
			--arg ip "$(phys_ip "$h")" --argjson vlan "$PROV_VLAN" --arg fab "$h" \
			'. += [{name:$n, netns:$ns, nic:$nic, ip:$ip, vlan:$vlan, fabric_link:$fab}]' <<<"$phys")
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
		--argjson hvs "$hvs" --argjson vms "$vms" --argjson phys "$phys" --argjson nbs "$nbs" --slurpfile id "$S/identity.json" \
		--arg fabns "$FAB_NS" --arg ulbr "$UL_BR" --arg phybr "$PHY_BR" --arg fabdb "$(ovsdb_of "$FAB")" \
		--arg pnetid "$(cat "$S/provider-network-id" 2>/dev/null)" --arg pname "$PROV_NET_NAME" --arg pcidr "$PROV_CIDR" \
		--argjson pvlan "$PROV_VLAN" --arg physnet "$PHYSNET" \
		'{name:$name, cloud:$cloud, dir:$dir, nb_db:$nb, nb_db_tcp:$nbtcp, nb_members:$nbs, sb_db:$sb,
		  api_url:$api, auth_url:$auth, api_host_ip:$mhost, api_port:$port, mgmt_bridge:$mbr,
		  image:$image,
		  network:{name:$ls, id:$netid, neutron_name:$netname, cidr:$cidr, mtu:$mtu},
		  hypervisors:$hvs, vms:$vms,
		  fabric:{netns:$fabns, underlay_bridge:$ulbr, physical_switch:$phybr, switch_ovsdb:$fabdb},
		  provider_network:(if $pnetid == "" then null else
		                    {name:("neutron-" + $pnetid), id:$pnetid, neutron_name:$pname, cidr:$pcidr,
		                     network_type:"vlan", physical_network:$physnet, segmentation_id:$pvlan} end),
		  physical_hosts:$phys,
		  domain:$id[0].domain, users:$id[0].users}' >"$S/sandbox.json.tmp")
	mv "$S/sandbox.json.tmp" "$S/sandbox.json"
}

# daemons: "label pidfile" lines for every daemon the sandbox runs.
daemons() {
	local x
	for ((x = 1; x <= NB_MEMBERS; x++)); do
		echo "nb-ovsdb$( ((NB_MEMBERS == 1)) || echo "-$x") $(nb_member_file "$x" pid)"
	done
	echo "sb-ovsdb $CENTRAL/sb.pid"
	echo "ovn-northd $CENTRAL/northd.pid"
	for x in "${HVS[@]}"; do
		echo "$x/ovsdb-server $S/$x/ovsdb-server.pid"
		echo "$x/ovs-vswitchd $S/$x/ovs-vswitchd.pid"
		echo "$x/ovn-controller $S/$x/ovn-controller.pid"
	done
	for x in "${VMS[@]}" "$FAB"; do
		echo "$x/ovsdb-server $S/$x/ovsdb-server.pid"
		echo "$x/ovs-vswitchd $S/$x/ovs-vswitchd.pid"
	done
	case $CLOUD in
	neutrond) echo "ovn-neutrond $NEUTROND_DIR/ovn-neutrond.pid" ;;
	openstack) openstack_daemons ;;
	esac
	engine_daemons
	plugin_daemons
	cri_daemons
	proxy_daemons
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
	if ((NB_MEMBERS > 1)); then
		local i role
		echo
		echo "== NB cluster"
		for ((i = 1; i <= NB_MEMBERS; i++)); do
			role=$(ovs-appctl -t "$(nb_member_file "$i" ctl)" cluster/status OVN_Northbound 2>/dev/null | awk -F': ' '/^Role:/ {print $2}' || true)
			printf 'nb%-3s %-8s %s\n' "$i" "${role:-DOWN}" "$(nb_raft_addr "$i")"
		done
	fi
	echo
	status_chassis || bad=1
	echo
	local active=
	printf '%-6s %-4s %-38s %-10s %-10s %s\n' VM HV VIF-ID IP UP-IN-OVN "STATUS($CLOUD)"
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
		printf '%-6s %-4s %-38s %-10s %-10s %s\n' "$vm" "${VM_HV[$vm]}" "$(cat "$S/$vm/vif-id" 2>/dev/null || echo -)" "$(vm_ip "$vm")" "$state" "$active"
	done
	status_physical || bad=1
	return $bad
}

# status_chassis: each hypervisor's chassis in the Southbound DB, its tunnel
# endpoint, its provider bridge and the Geneve tunnels its br-int has.
status_chassis() {
	local bad=0 hv encap maps tunnels
	printf '%-8s %-18s %-22s %s\n' CHASSIS ENCAP BRIDGE-MAPPINGS TUNNELS-TO
	for hv in "${HVS[@]}"; do
		if encap=$(sbctl --bare --columns=type,ip find Encap chassis_name="$hv" 2>/dev/null) && [[ -n $encap ]]; then
			encap=$(tr '\n' ' ' <<<"$encap")
			maps=$(sbctl get Chassis "$hv" other_config:ovn-bridge-mappings 2>/dev/null | tr -d '"') || maps=-
		else
			encap=MISSING
			maps=-
			bad=1
		fi
		tunnels=$(vsctl "$hv" --bare --columns=options find Interface type=geneve 2>/dev/null |
			grep -o 'remote_ip=[0-9.]*' | cut -d= -f2 | tr '\n' ' ')
		printf '%-8s %-18s %-22s %s\n' "$hv" "$encap" "$maps" "${tunnels:-none}"
	done
	return $bad
}

# status_physical: the provider network (its localnet port in NB) and the
# physical hosts on it.
status_physical() {
	local bad=0 lsp h tag
	echo
	if [[ ! -s $S/provider-network-id ]]; then
		lsp="none: the cloud has no provider extension"
	elif ! lsp=$(provider_localnet 2>/dev/null); then
		lsp=MISSING
		bad=1
	fi
	printf '%-8s %-38s %-15s %-22s %s\n' NETWORK ID CIDR PROVIDER LOCALNET-PORT
	printf '%-8s %-38s %-15s %-22s %s\n' "$PROV_NET_NAME" "$(cat "$S/provider-network-id" 2>/dev/null || echo -)" \
		"$PROV_CIDR" "vlan $PROV_VLAN on $PHYSNET" "$lsp"
	echo
	printf '%-8s %-16s %-15s %s\n' HOST NETNS IP SWITCH-PORT
	for h in "${PHYS_HOSTS[@]}"; do
		tag=$(vsctl "$FAB" get Port "$h" tag 2>/dev/null) || tag=
		if [[ $tag == "$PROV_VLAN" ]] && in_ns "$(ns_of "$h")" ip -4 addr show dev "$PHYS_NIC" | grep -qF " $(phys_ip "$h")/"; then
			state="$h access vlan $tag"
		else
			state=DOWN
			bad=1
		fi
		printf '%-8s %-16s %-15s %s\n' "$h" "$(ns_of "$h")" "$(phys_ip "$h")" "$state"
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
