# shellcheck shell=bash
# Configuration, naming and small helpers shared by every subcommand.
# Everything an instance makes is derived from SANDBOX_NAME and SANDBOX_DIR so
# that several sandboxes can run side by side on one machine.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${SANDBOX_NAME:-ovd}
if [[ ! $N =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
	echo "sandbox: SANDBOX_NAME=$N is invalid: use 1-8 lowercase letters/digits starting with a letter (link names must stay within 15 characters)" >&2
	exit 2
fi
S=${SANDBOX_DIR:-$REPO/.sandbox}
case $S in /*) ;; *) S=$(pwd)/$S ;; esac
S=${S%/}

# IDX picks the instance's link-local /24 and default ports. The default
# instance gets the well-known ones; others get a stable value from their name.
# An instance keeps the index it was brought up with ($S/index) until
# `down`, so that a later command without SANDBOX_INDEX (env, exec, a
# benchmark) still finds its addresses.
if [[ -n ${SANDBOX_INDEX:-} ]]; then
	IDX=$SANDBOX_INDEX
elif [[ -s $S/index ]]; then
	IDX=$(<"$S/index")
elif [[ $N == ovd ]]; then
	IDX=169
else
	IDX=$(($(printf %s "$N" | cksum | cut -d' ' -f1) % 200 + 10))
	((IDX == 169)) && IDX=170
fi
if ((IDX < 1 || IDX > 254)); then
	echo "sandbox: SANDBOX_INDEX=$IDX is invalid: use 1-254" >&2
	exit 2
fi
# ovn-neutrond's metrics (/metrics, /healthz, /readyz) are on loopback only.
if [[ $N == ovd ]]; then
	NB_PORT=${SANDBOX_NB_PORT:-6641}
	API_PORT=${SANDBOX_API_PORT:-9696}
	METRICS_PORT=${SANDBOX_METRICS_PORT:-9697}
else
	NB_PORT=${SANDBOX_NB_PORT:-$((16000 + IDX))}
	API_PORT=${SANDBOX_API_PORT:-$((19000 + IDX))}
	METRICS_PORT=${SANDBOX_METRICS_PORT:-$((21000 + IDX))}
fi

MGMT_NET=169.254.$IDX
MGMT_HOST_IP=$MGMT_NET.1
MGMT_BR=$N-mgmt
API_URL=http://$MGMT_HOST_IP:$API_PORT

# The cloud behind the API: ovn-neutrond (default) or real Keystone + Neutron
# (openstack). An instance keeps the cloud it was brought up with ($S/cloud).
# Keystone, when there is one, listens next to Neutron on its own port.
if [[ $N == ovd ]]; then
	KEYSTONE_PORT=${SANDBOX_KEYSTONE_PORT:-5000}
else
	KEYSTONE_PORT=${SANDBOX_KEYSTONE_PORT:-$((20000 + IDX))}
fi
KEYSTONE_URL=http://$MGMT_HOST_IP:$KEYSTONE_PORT
CLOUDS=(neutrond openstack)

# set_cloud CLOUD: sets CLOUD and where tokens come from (AUTH_URL).
set_cloud() {
	case $1 in
	neutrond) AUTH_URL=$API_URL/v3 ;;
	openstack) AUTH_URL=$KEYSTONE_URL/v3 ;;
	*)
		echo "sandbox: cloud '$1' is unknown: use one of ${CLOUDS[*]} (--cloud or SANDBOX_CLOUD)" >&2
		exit 2
		;;
	esac
	CLOUD=$1
}
if [[ -s $S/cloud ]]; then
	set_cloud "$(<"$S/cloud")"
else
	set_cloud "${SANDBOX_CLOUD:-neutrond}"
fi

CENTRAL=$S/central
SB_SOCK=$CENTRAL/sb.sock
SB_DB=unix:$SB_SOCK
NB_TCP=tcp:127.0.0.1:$NB_PORT # the first NB member's

# NB is one ovsdb-server, or a RAFT cluster of NB_MEMBERS (3 or 5: `up
# --nb-cluster N` or SANDBOX_NB_CLUSTER) on this instance's own loopback
# ports (22000 + 5·index + member). An instance keeps its size
# ($S/nb-members) until `down`. NB_DB lists every member, as clients of a
# cluster are given it.
# set_nb_members N: sets NB_MEMBERS and NB_DB.
set_nb_members() {
	case $1 in
	1 | 3 | 5) NB_MEMBERS=$1 ;;
	*)
		echo "sandbox: NB cluster size '$1' is invalid: use 1 (no cluster), 3 or 5 (--nb-cluster or SANDBOX_NB_CLUSTER)" >&2
		exit 2
		;;
	esac
	local i socks=()
	for ((i = 1; i <= NB_MEMBERS; i++)); do socks+=("unix:$(nb_member_file "$i" sock)"); done
	NB_DB=$(
		IFS=,
		echo "${socks[*]}"
	)
}
# nb_member_file I EXT: member I's file (nb.EXT when NB is not clustered).
nb_member_file() {
	if ((NB_MEMBERS == 1)); then echo "$CENTRAL/nb.$2"; else echo "$CENTRAL/nb$1.$2"; fi
}
nb_raft_addr() { echo "tcp:127.0.0.1:$((22000 + 5 * IDX + $1))"; }
NB_MEMBERS=1
if [[ -s $S/nb-members ]]; then
	set_nb_members "$(<"$S/nb-members")"
else
	set_nb_members "${SANDBOX_NB_CLUSTER:-1}"
fi

# The topology: two hypervisors over Geneve, VMs on both (vm1 and vm3 share
# hv1, so both the same-hypervisor and the cross-tunnel cases exist), and a
# physical host on a provider VLAN that every hypervisor reaches.
HVS=(hv1 hv2)
# The gateway chassis: where routers' gateway ports (SNAT, floating IPs)
# may be scheduled, as a deployment's network nodes. Real Neutron's ML2/OVN
# schedules them only on chassis with ovn-cms-options=enable-chassis-as-gw
# (lib/hv.sh); ovn-neutrond is told the same list (--gateway-chassis).
# hv2 is a compute-only chassis, so its containers reach the outside
# through the tunnel to hv1.
GW_HVS=(hv1)
VMS=(vm1 vm2 vm3)
declare -A VM_HV=([vm1]=hv1 [vm2]=hv2 [vm3]=hv1)
declare -A VM_NUM=([vm1]=1 [vm2]=2 [vm3]=3)
declare -A VM_TENANT=([vm1]=demo [vm2]=demo [vm3]=demo)
declare -A HV_NUM=([hv1]=1 [hv2]=2)
TENANTS=(demo alt)

# The fabric (lib/fabric.sh): a netns of this instance holding the underlay
# (a Linux bridge between the hypervisors' tunnel endpoints) and the
# "physical" L2 segment (a switch: trunks to the provider bridges, access
# ports for physical hosts). Link names inside the instance's own
# namespaces need no prefix.
FAB_NS=$N-fab
FAB=fab           # the switch's OVS state: $S/fab (ovsdb_of, dir_of, vsctl)
UL_BR=ul          # underlay bridge in FAB_NS
PHY_BR=phy        # physical segment switch (OVS bridge) in FAB_NS
UL_NET=192.0.2    # tunnel endpoints: 192.0.2.<hv number>/24, only inside the hypervisors' netns
UL_PREFIX=24
HV_TUN_BR=br-phy  # netdev bridge whose internal port holds the tunnel IP
HV_UL_NIC=ul0     # the hypervisor's underlay veth, a port of HV_TUN_BR
HV_PROV_BR=br-phys
HV_PROV_NIC=phys0 # the hypervisor's veth on the physical segment, a port of HV_PROV_BR
# The clouds' dns_domain (Neutron's default, openstacklocal., would make
# Neutron ignore ports' dns_name).
DNS_DOMAIN=cloud.test.
PHYSNET=physnet1  # ovn-bridge-mappings physnet1:br-phys on every chassis

# Physical hosts (no OVS): on an access port of VLAN PROV_VLAN of the
# physical segment, in the subnet of the shared provider network
# PROV_NET_NAME.
PHYS_HOSTS=(phys1)
declare -A PHYS_NUM=([phys1]=10)
PHYS_NIC=eth0
PROV_NET_NAME=physnet
PROV_VLAN=100
PROV_NET=198.51.100
PROV_CIDR=$PROV_NET.0/24
PROV_PREFIX=24
PROV_POOL_START=$PROV_NET.100 # Neutron allocates from here; physical hosts sit below
PROV_POOL_END=$PROV_NET.199
PROV_MTU=1442 # = LS_MTU: no subport may have a greater MTU than its VM's trunk

# The VMs' Neutron network; LS is its Logical_Switch, known once it exists.
VM_NET_NAME=vmnet
LS=
[[ -s $S/vm-network-id ]] && LS=neutron-$(<"$S/vm-network-id")
LS_CIDR=10.0.0.0/24
LS_PREFIX=24
LS_MTU=1442
VM_BRIDGE=br-vm
VM_NIC=eth0
VM_MGMT_NIC=mgmt0
IMAGE=busybox:local

ns_of() { echo "$N-$1"; }                      # netns of a hv or vm
vm_ip() { echo "10.0.0.$((10 + VM_NUM[$1]))"; }
vm_mac() { printf 'fa:16:3e:%02x:00:%02x\n' "$IDX" "${VM_NUM[$1]}"; }
vm_mgmt_ip() { echo "$MGMT_NET.$((10 + VM_NUM[$1]))"; }
vm_mgmt_host_link() { echo "$N-$1m"; }         # host end of the VM's mgmt veth
vm_hv_link() { echo "$1-nic"; }                # hv end of the VM's NIC, on br-int
dir_of() { echo "$S/$1"; }                     # private run/db/log dir of a hv or vm
ovsdb_of() { echo "unix:$S/$1/db.sock"; }
hv_encap_ip() { echo "$UL_NET.${HV_NUM[$1]}"; } # tunnel endpoint of a hypervisor
hv_fab_link() { echo "$1-$2"; }                 # fabric end of a hv's veth to bridge $2 (ul, phy)
phys_ip() { echo "$PROV_NET.${PHYS_NUM[$1]}"; }

log() { printf '%s sandbox[%s]: %s\n' "$(date +%T)" "$N" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# in_ns NS CMD... runs CMD in network namespace NS.
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# run_priv NS DIR CMD... runs an OVS/OVN program in netns NS (the host's when
# NS is empty) with every runtime directory private to DIR: ovs-vswitchd puts
# <bridge>.mgmt sockets there and ovn-controller looks for br-int.mgmt there,
# so two daemons sharing one collide.
run_priv() {
	local ns=$1 d=$2
	shift 2
	local envs=(env OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" OVS_SYSCONFDIR="$d"
		OVN_RUNDIR="$d" OVN_DBDIR="$d" OVN_LOGDIR="$d" OVN_SYSCONFDIR="$d")
	if [[ -n $ns ]]; then
		ip netns exec "$ns" "${envs[@]}" "$@"
	else
		"${envs[@]}" "$@"
	fi
}

# record "KIND NAME": remember something made outside the state dir (netns,
# host link, mount) before making it, so that `down` removes it even after a
# failed `up`, and only it. A netns or link that exists already and is not
# recorded is someone else's: `up` stops rather than take it over.
record() {
	mkdir -p "$S"
	grep -qxF "$1" "$S/created" 2>/dev/null && return 0
	local kind name
	read -r kind name <<<"$1"
	case $kind in
	netns) [[ ! -e /run/netns/$name ]] ;;
	link) ! ip link show "$name" >/dev/null 2>&1 ;;
	esac || die "$kind $name exists and was not made by this instance ($S): another sandbox (or what one left) has it; 'sandbox/sandbox down' with that instance's SANDBOX_NAME and SANDBOX_DIR removes it"
	echo "$1" >>"$S/created"
}

# pid_alive PID: running and not a zombie (the machine's init reaps late).
pid_alive() {
	local pid=$1 state
	[[ -n $pid && -r /proc/$pid/stat ]] || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# pidfile_alive FILE: the pid in FILE is alive and is one of ours (its command
# line mentions the state dir), so a recycled pid is never mistaken for it.
pidfile_alive() {
	local f=$1 pid
	[[ -r $f ]] || return 1
	pid=$(<"$f")
	pid_alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$S/"
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}

nbctl() { ovn-nbctl --db="$NB_DB" --timeout=10 "$@"; }
sbctl() { ovn-sbctl --db="$SB_DB" --timeout=10 "$@"; }
vsctl() { # vsctl HV_OR_VM ARGS...
	local who=$1
	shift
	ovs-vsctl --db="$(ovsdb_of "$who")" --timeout=10 "$@"
}

# port_free PORT: nothing listens on TCP PORT in the host netns.
port_free() {
	[[ -z $(ss -Htln "sport = :$1") ]]
}
