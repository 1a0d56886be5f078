# shellcheck shell=bash
# A hypervisor: a netns with its own OVS (netdev bridges) and ovn-controller.
# br-int holds the VMs' NICs and the Geneve tunnels; br-phy holds the tunnel
# endpoint (its internal port) and the underlay veth; br-phys is the
# provider bridge on the physical segment (ovn-bridge-mappings).

start_hv() {
	local hv=$1 ns d br
	ns=$(ns_of "$hv")
	d=$(dir_of "$hv")
	ensure_netns "$ns"
	start_ovsdb "$ns" "$d"
	# hostname: the chassis's hostname is what Neutron's ML2/OVN matches a
	# port's binding:host_id against (the machine's own name otherwise).
	vsctl "$hv" --no-wait set Open_vSwitch . \
		external_ids:system-id="$hv" \
		external_ids:hostname="$hv" \
		external_ids:ovn-remote="$SB_DB" \
		external_ids:ovn-encap-type=geneve \
		external_ids:ovn-encap-ip="$(hv_encap_ip "$hv")" \
		external_ids:ovn-bridge-datapath-type=netdev \
		external_ids:ovn-bridge-mappings="$PHYSNET:$HV_PROV_BR" \
		-- --may-exist add-br br-int \
		-- set Bridge br-int datapath_type=netdev fail_mode=secure \
		other_config:disable-in-band=true
	for br in "$HV_TUN_BR" "$HV_PROV_BR"; do
		vsctl "$hv" --no-wait --may-exist add-br "$br" \
			-- set Bridge "$br" datapath_type=netdev other_config:disable-in-band=true
	done
	if [[ " ${GW_HVS[*]} " == *" $hv "* ]]; then
		# A gateway chassis: ML2/OVN schedules router gateway ports only on
		# chassis that say so (ovn-controller copies this to SB's
		# Chassis other_config).
		vsctl "$hv" --no-wait set Open_vSwitch . external_ids:ovn-cms-options=enable-chassis-as-gw
	else
		vsctl "$hv" --no-wait remove Open_vSwitch . external_ids ovn-cms-options
	fi
	start_vswitchd "$ns" "$d"
	plug_hv_fabric "$hv"
	if ! pidfile_alive "$d/ovn-controller.pid"; then
		# ovn-controller 23.03 has no --unixctl: its control socket is
		# $OVN_RUNDIR/ovn-controller.<pid>.ctl.
		run_priv "$ns" "$d" ovn-controller -vconsole:off "unix:$d/db.sock" \
			--pidfile="$d/ovn-controller.pid" --log-file="$d/ovn-controller.log" \
			--detach --monitor --no-chdir || die "ovn-controller on $hv failed to start; see $d/ovn-controller.log"
	fi
}
