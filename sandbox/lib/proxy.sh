# shellcheck shell=bash
# The VM proxy (ovn-docker-proxy) on each hypervisor, so that the VMs hold no
# credentials. As the OVN metadata agent does: each network that has VMs gets
# one Neutron port with device_owner network:distributed (an OVN localport,
# bound on every chassis at once), and on each hypervisor a namespace
# "<name>-<hv>p-<network id>" whose veth is that localport on br-int and holds
# its MAC and address plus 169.254.169.254. The hypervisor's proxy listens in
# every such namespace of its own; VMs route 169.254.169.254 to the
# localport's address. The proxy's credential is the admin's, given in its
# environment only.

PROXY_IP=169.254.169.254
PROXY_PORT=9696
PROXY_URL=http://$PROXY_IP:$PROXY_PORT

proxy_prefix() { echo "$N-$1p-"; }                  # netns name prefix of hv $1
proxy_ns() { echo "$(proxy_prefix "$1")$2"; }         # hv, network id
proxy_link() { echo "lp-${1:0:8}"; }                  # hv end of a network's localport veth
proxy_pidfile() { echo "$(dir_of "$1")/ovn-docker-proxy.pid"; }
proxy_log() { echo "$(dir_of "$1")/ovn-docker-proxy.log"; }

# ensure_proxy_localport NET: the network's localport, made once as admin
# in the network's project; sets LP_ID, LP_MAC, LP_IP.
ensure_proxy_localport() {
	local net=$1 f=$S/proxy/$1.port port project
	mkdir -p "$S/proxy"
	cache_token admin
	if [[ -s $f ]] && port=$(api "${TOKENS[admin]}" GET "ports/$(<"$f")" 2>/dev/null); then
		:
	else
		project=$(api "${TOKENS[admin]}" GET "networks/$net" | jq -er .network.project_id) || die "reading network $net failed"
		port=$(api "${TOKENS[admin]}" POST ports "$(jq -n --arg n "$net" --arg p "$project" \
			'{port: {network_id: $n, project_id: $p, name: "ovn-docker-proxy", device_owner: "network:distributed",
			         device_id: ("ovn-docker-proxy-" + $n), port_security_enabled: false}}')") ||
			die "creating the VM proxy's localport on network $net failed (see the cloud's log in $S)"
		jq -r .port.id <<<"$port" >"$f"
	fi
	LP_ID=$(jq -r .port.id <<<"$port")
	LP_MAC=$(jq -r .port.mac_address <<<"$port")
	LP_IP=$(jq -r '.port.fixed_ips[0].ip_address // empty' <<<"$port")
}

# serve_proxy_network NET: NET's localport and its namespace on every
# hypervisor (the proxies find the namespaces by themselves); LP_IP is the
# localport's address.
serve_proxy_network() {
	local net=$1 hv hvns ns link prefix
	ensure_proxy_localport "$net"
	[[ -n $LP_IP ]] || die "the VM proxy's localport on network $net has no address"
	prefix=$(api "${TOKENS[admin]}" GET "subnets?network_id=$net" | jq -r '.subnets[] | select(.ip_version == 4) | .cidr' | head -1)
	for hv in "${HVS[@]}"; do
		hvns=$(ns_of "$hv")
		ns=$(proxy_ns "$hv" "$net")
		link=$(proxy_link "$net")
		ensure_netns "$ns"
		if ! in_ns "$ns" ip link show lp0 >/dev/null 2>&1; then
			in_ns "$hvns" ip link del "$link" 2>/dev/null || true
			ip link add lp0 netns "$ns" type veth peer name "$link" netns "$hvns"
		fi
		in_ns "$ns" ip link set lp0 address "$LP_MAC" up
		in_ns "$ns" ip addr replace "$LP_IP/${prefix#*/}" dev lp0
		in_ns "$ns" ip addr replace "$PROXY_IP/32" dev lp0
		in_ns "$hvns" ip link set "$link" up
		tx_off "$ns" lp0
		tx_off "$hvns" "$link"
		vsctl "$hv" --may-exist add-port br-int "$link" \
			-- set Interface "$link" external_ids:iface-id="$LP_ID" external_ids:sandbox_proxy="$net"
	done
}

# route_to_proxy VM IP: the VM reaches 169.254.169.254 through the
# localport's address IP on its network (what ML2/OVN's DHCP says with a
# classless static route).
route_to_proxy() {
	in_ns "$(ns_of "$1")" ip route replace "$PROXY_IP/32" via "$2" dev "$VM_BRIDGE"
}

# start_proxy HV: the hypervisor's proxy, in the background, with the
# admin credential in its environment (never on its command line).
start_proxy() {
	local hv=$1 pidf
	pidf=$(proxy_pidfile "$hv")
	pidfile_alive "$pidf" && return 0
	(
		export OS_AUTH_URL=$AUTH_URL OS_USERNAME=admin OS_PASSWORD
		OS_PASSWORD=$(tenant_field admin password)
		export OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
		setsid "$BIN/ovn-docker-proxy" --netns-prefix "$(proxy_prefix "$hv")" --port "$PROXY_PORT" \
			--log-file "$(proxy_log "$hv")" >>"$(proxy_log "$hv")" 2>&1 </dev/null &
		echo $! >"$pidf"
	)
}

# start_proxies: the VMs' network served on every hypervisor, each
# hypervisor's proxy, and every VM answered by it.
start_proxies() {
	local hv vm
	serve_proxy_network "$(<"$S/vm-network-id")"
	for vm in "${VMS[@]}"; do route_to_proxy "$vm" "$LP_IP"; done
	for hv in "${HVS[@]}"; do start_proxy "$hv"; done
	for vm in "${VMS[@]}"; do
		# A real Keystone under load takes tens of seconds to authenticate.
		wait_for 120 "the VM proxy of ${VM_HV[$vm]} to answer $vm (see $(proxy_log "${VM_HV[$vm]}"))" \
			in_ns "$(ns_of "$vm")" curl -sf -m 2 -o /dev/null "$PROXY_URL/ovn-docker/whoami"
	done
	log "VM proxy serves ${VMS[*]} at $PROXY_URL"
}

# proxy_daemons: "label pidfile" lines of the proxies.
proxy_daemons() {
	local hv
	for hv in "${HVS[@]}"; do echo "$hv/ovn-docker-proxy $(proxy_pidfile "$hv")"; done
}
