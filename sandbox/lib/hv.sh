# shellcheck shell=bash
# A hypervisor: a netns with its own OVS (br-int, netdev) and ovn-controller.

start_hv() {
	local hv=$1 ns d
	ns=$(ns_of "$hv")
	d=$(dir_of "$hv")
	ensure_netns "$ns"
	start_ovsdb "$ns" "$d"
	# The tunnel endpoint: with one hypervisor no tunnel is ever built, so an
	# address on the namespace's loopback is enough.
	local encap=192.0.2.1
	in_ns "$ns" ip addr replace "$encap/32" dev lo
	# hostname: the chassis's hostname is what Neutron's ML2/OVN matches a
	# port's binding:host_id against (the machine's own name otherwise).
	vsctl "$hv" --no-wait set Open_vSwitch . \
		external_ids:system-id="$hv" \
		external_ids:hostname="$hv" \
		external_ids:ovn-remote="$SB_DB" \
		external_ids:ovn-encap-type=geneve \
		external_ids:ovn-encap-ip="$encap" \
		external_ids:ovn-bridge-datapath-type=netdev \
		-- --may-exist add-br br-int \
		-- set Bridge br-int datapath_type=netdev fail_mode=secure \
		other_config:disable-in-band=true
	start_vswitchd "$ns" "$d"
	if ! pidfile_alive "$d/ovn-controller.pid"; then
		# ovn-controller 23.03 has no --unixctl: its control socket is
		# $OVN_RUNDIR/ovn-controller.<pid>.ctl.
		run_priv "$ns" "$d" ovn-controller -vconsole:off "unix:$d/db.sock" \
			--pidfile="$d/ovn-controller.pid" --log-file="$d/ovn-controller.log" \
			--detach --no-chdir || die "ovn-controller on $hv failed to start; see $d/ovn-controller.log"
	fi
}
