# shellcheck shell=bash
# The fabric under the hypervisors: a netns of this instance ($FAB_NS) with
# the underlay, a Linux bridge that carries Geneve between the tunnel
# endpoints, and the "physical" L2 segment, the top-of-rack switch: an OVS
# bridge (the userspace datapath, state in $S/fab) whose links to the
# hypervisors' provider bridges are VLAN trunks and whose link to each
# physical host is an access port of VLAN PROV_VLAN, as a bare-metal server
# is usually cabled. (A switch that tags is also what this machine's kernel
# allows: it has neither 802.1Q interfaces nor tc's vlan action.) Nothing of
# it is on the host's own links.
#
#   hv1: br-phy  ul0 ---+-- $FAB_NS: ul (Linux bridge) --+--- ul0  br-phy :hv2
#   hv1: br-phys phys0 -+-- $FAB_NS: phy (OVS, trunks) --+- phys0 br-phys :hv2
#                                   | access, VLAN 100
#                             phys1: eth0

# ensure_fabric: the fabric netns, its underlay bridge and its switch.
ensure_fabric() {
	local d
	d=$(dir_of "$FAB")
	ensure_netns "$FAB_NS"
	quiet_ipv6 "$FAB_NS"
	in_ns "$FAB_NS" ip link show "$UL_BR" >/dev/null 2>&1 ||
		in_ns "$FAB_NS" ip link add "$UL_BR" type bridge stp_state 0
	in_ns "$FAB_NS" ip link set "$UL_BR" up
	start_ovsdb "$FAB_NS" "$d"
	vsctl "$FAB" --no-wait --may-exist add-br "$PHY_BR" \
		-- set Bridge "$PHY_BR" datapath_type=netdev other_config:disable-in-band=true
	start_vswitchd "$FAB_NS" "$d"
}

# quiet_ipv6 NS: no IPv6 on the fabric's links, so that captures there show
# only what the tests send.
quiet_ipv6() {
	in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# fabric_link NS NIC FABLINK BRIDGE [TAG]: a veth NIC in NS whose other end
# FABLINK is on BRIDGE in the fabric (the underlay's Linux bridge, or a
# port of the switch: a trunk, or an access port of VLAN TAG), both up, TX
# offload off.
fabric_link() {
	local ns=$1 nic=$2 fablink=$3 br=$4 tag=${5:-}
	if ! in_ns "$ns" ip link show "$nic" >/dev/null 2>&1; then
		in_ns "$FAB_NS" ip link del "$fablink" 2>/dev/null || true
		ip link add "$nic" netns "$ns" type veth peer name "$fablink" netns "$FAB_NS"
	fi
	if [[ $br == "$UL_BR" ]]; then
		in_ns "$FAB_NS" ip link set "$fablink" master "$br"
	else
		vsctl "$FAB" --may-exist add-port "$br" "$fablink" ${tag:+tag=$tag}
	fi
	in_ns "$FAB_NS" ip link set "$fablink" up
	in_ns "$ns" ip link set "$nic" up
	tx_off "$ns" "$nic"
	tx_off "$FAB_NS" "$fablink"
}

# plug_hv_fabric HV: the hypervisor's tunnel endpoint on the underlay and
# its provider bridge on the physical segment. With the userspace datapath
# the tunnel IP goes on the internal port of the netdev bridge that holds
# the underlay veth (the veth itself has no address): ovs-vswitchd routes
# encapsulated packets through that bridge.
plug_hv_fabric() {
	local hv=$1 ns
	ns=$(ns_of "$hv")
	fabric_link "$ns" "$HV_UL_NIC" "$(hv_fab_link "$hv" "$UL_BR")" "$UL_BR"
	fabric_link "$ns" "$HV_PROV_NIC" "$(hv_fab_link "$hv" "$PHY_BR")" "$PHY_BR"
	vsctl "$hv" --may-exist add-port "$HV_TUN_BR" "$HV_UL_NIC" \
		-- --may-exist add-port "$HV_PROV_BR" "$HV_PROV_NIC"
	wait_for 10 "$HV_TUN_BR's internal port in $ns" in_ns "$ns" ip link show "$HV_TUN_BR"
	in_ns "$ns" ip addr replace "$(hv_encap_ip "$hv")/$UL_PREFIX" dev "$HV_TUN_BR"
	in_ns "$ns" ip link set "$HV_TUN_BR" up
	in_ns "$ns" ip link set "$HV_PROV_BR" up
	tx_off "$ns" "$HV_TUN_BR"
}

# start_phys HOST: a physical host, a netns without OVS, on an access port
# of VLAN PROV_VLAN of the physical segment.
start_phys() {
	local h=$1 ns
	ns=$(ns_of "$h")
	ensure_netns "$ns"
	quiet_ipv6 "$ns"
	fabric_link "$ns" "$PHYS_NIC" "$h" "$PHY_BR" "$PROV_VLAN"
	in_ns "$ns" ip addr replace "$(phys_ip "$h")/$PROV_PREFIX" dev "$PHYS_NIC"
}

# tunnels_up: every chassis has a Geneve port to every other one in its
# br-int (ovn-controller made them from the Southbound Encap rows).
tunnels_up() {
	local hv n
	for hv in "${HVS[@]}"; do
		n=$(vsctl "$hv" --bare --columns=name find Interface type=geneve | grep -c . || true)
		((n == ${#HVS[@]} - 1)) || return 1
	done
}
