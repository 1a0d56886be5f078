# shellcheck shell=bash
# Private Open vSwitch instances (ovsdb-server + ovs-vswitchd), one per
# hypervisor or VM network namespace.

# start_ovsdb NS DIR: the local Open_vSwitch database of a hypervisor or VM.
start_ovsdb() {
	local ns=$1 d=$2
	mkdir -p "$d"
	pidfile_alive "$d/ovsdb-server.pid" && return 0
	[[ -f $d/conf.db ]] || ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	rm -f "$d/db.sock"
	run_priv "$ns" "$d" ovsdb-server -vconsole:off "$d/conf.db" \
		--remote="punix:$d/db.sock" \
		--pidfile="$d/ovsdb-server.pid" --unixctl="$d/ovsdb-server.ctl" \
		--log-file="$d/ovsdb-server.log" --detach --no-chdir ||
		die "ovsdb-server in ${ns:-host} failed to start; see $d/ovsdb-server.log"
	ovs-vsctl --db="unix:$d/db.sock" --no-wait init
}

# start_vswitchd NS DIR: the userspace-datapath switch of a hypervisor or VM.
# --monitor restarts it after a crash, as a packaged deployment's service
# manager does: Debian 12's OVS 3.1.0 userspace conntrack can abort on an
# assertion (conntrack.c:1063, conn_update_state) under a long run of
# stateful ACL traffic, and a hypervisor must not stay without its switch.
start_vswitchd() {
	local ns=$1 d=$2
	pidfile_alive "$d/ovs-vswitchd.pid" && return 0
	run_priv "$ns" "$d" ovs-vswitchd -vconsole:off "unix:$d/db.sock" --disable-system \
		--pidfile="$d/ovs-vswitchd.pid" --unixctl="$d/ovs-vswitchd.ctl" \
		--log-file="$d/ovs-vswitchd.log" --detach --monitor --no-chdir ||
		die "ovs-vswitchd in $ns failed to start; see $d/ovs-vswitchd.log"
}

# ensure_netns NS
ensure_netns() {
	record "netns $1"
	ip netns list | awk '{print $1}' | grep -qxF "$1" || ip netns add "$1"
	in_ns "$1" ip link set lo up
}

# tx_off NS IFACE: with the userspace datapath, TX checksum offload on a veth
# or tap inside a namespace leaves TCP checksums unfilled: ping works, TCP hangs.
tx_off() {
	in_ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || die "ethtool -K $2 tx off in $1 failed"
}
