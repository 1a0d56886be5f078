# shellcheck shell=bash
# A VM: a netns with its own OVS and the VM bridge, whose uplink (trunk) is
# the VM NIC, a veth whose other end is on the hypervisor's br-int.

# vif_id VM: the VM's Neutron port id (see create_vm_port).
vif_id() {
	[[ -s $S/$1/vif-id ]] || die "$1 has no port yet: run 'sandbox/sandbox up'"
	cat "$S/$1/vif-id"
}

start_vm() {
	local vm=$1 hv ns hvns d id nic hvlink mlink
	hv=${VM_HV[$vm]}
	ns=$(ns_of "$vm")
	hvns=$(ns_of "$hv")
	d=$(dir_of "$vm")
	id=$(vif_id "$vm")
	nic=$VM_NIC
	hvlink=$(vm_hv_link "$vm")
	mlink=$(vm_mgmt_host_link "$vm")

	ensure_netns "$ns"
	start_ovsdb "$ns" "$d"
	vsctl "$vm" --no-wait --may-exist add-br "$VM_BRIDGE" \
		-- set Bridge "$VM_BRIDGE" datapath_type=netdev other_config:disable-in-band=true \
		other_config:hwaddr="$(vm_mac "$vm")" \
		-- set Interface "$VM_BRIDGE" mtu_request="$LS_MTU"
	start_vswitchd "$ns" "$d"

	# The VM NIC: trunk uplink of the VM bridge <-> port on the hypervisor's br-int.
	if ! in_ns "$ns" ip link show "$nic" >/dev/null 2>&1; then
		in_ns "$hvns" ip link del "$hvlink" 2>/dev/null || true
		ip link add "$nic" netns "$ns" type veth peer name "$hvlink" netns "$hvns"
	fi
	in_ns "$ns" ip link set "$nic" up
	in_ns "$hvns" ip link set "$hvlink" up
	tx_off "$ns" "$nic"
	tx_off "$hvns" "$hvlink"
	vsctl "$vm" --may-exist add-port "$VM_BRIDGE" "$nic"
	vsctl "$hv" --may-exist add-port br-int "$hvlink" \
		-- set Interface "$hvlink" external_ids:iface-id="$id" external_ids:sandbox_vm="$vm"

	# The VM's own address on its logical network, on the bridge's internal
	# port (whose MAC, that of the VM's logical port, is the bridge's hwaddr).
	in_ns "$ns" ip addr replace "$(vm_ip "$vm")/$LS_PREFIX" dev "$VM_BRIDGE"
	in_ns "$ns" ip link set "$VM_BRIDGE" up
	tx_off "$ns" "$VM_BRIDGE"

	# Management link to the cloud API on the host.
	record "link $mlink"
	if ! ip link show "$mlink" >/dev/null 2>&1; then
		in_ns "$ns" ip link del "$VM_MGMT_NIC" 2>/dev/null || true
		ip link add "$mlink" type veth peer name "$VM_MGMT_NIC" netns "$ns"
	fi
	ip link set "$mlink" master "$MGMT_BR" up
	in_ns "$ns" ip addr replace "$(vm_mgmt_ip "$vm")/24" dev "$VM_MGMT_NIC"
	in_ns "$ns" ip link set "$VM_MGMT_NIC" up
	tx_off "$ns" "$VM_MGMT_NIC"
}

# ensure_mgmt_bridge: one host address reachable from every VM, so an API
# server listens once for all of them.
ensure_mgmt_bridge() {
	record "link $MGMT_BR"
	ip link show "$MGMT_BR" >/dev/null 2>&1 || ip link add "$MGMT_BR" type bridge
	ip addr replace "$MGMT_HOST_IP/24" dev "$MGMT_BR"
	ip link set "$MGMT_BR" up
}

vm_port_up() {
	[[ $(nbctl get Logical_Switch_Port "$(vif_id "$1")" up 2>/dev/null) == true ]]
}
