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
if [[ -n ${SANDBOX_INDEX:-} ]]; then
	IDX=$SANDBOX_INDEX
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
NB_SOCK=$CENTRAL/nb.sock
SB_SOCK=$CENTRAL/sb.sock
NB_DB=unix:$NB_SOCK
SB_DB=unix:$SB_SOCK
NB_TCP=tcp:127.0.0.1:$NB_PORT

HVS=(hv1)
VMS=(vm1 vm2)
declare -A VM_HV=([vm1]=hv1 [vm2]=hv1)
declare -A VM_NUM=([vm1]=1 [vm2]=2)
declare -A VM_TENANT=([vm1]=demo [vm2]=demo)
TENANTS=(demo alt)

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

DOCKER_DIR=$S/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
DOCKER_HOST_URL=unix://$DOCKER_SOCK

ns_of() { echo "$N-$1"; }                      # netns of a hv or vm
vm_ip() { echo "10.0.0.$((10 + VM_NUM[$1]))"; }
vm_mac() { printf 'fa:16:3e:%02x:00:%02x\n' "$IDX" "${VM_NUM[$1]}"; }
vm_mgmt_ip() { echo "$MGMT_NET.$((10 + VM_NUM[$1]))"; }
vm_mgmt_host_link() { echo "$N-$1m"; }         # host end of the VM's mgmt veth
vm_hv_link() { echo "$1-nic"; }                # hv end of the VM's NIC, on br-int
dir_of() { echo "$S/$1"; }                     # private run/db/log dir of a hv or vm
ovsdb_of() { echo "unix:$S/$1/db.sock"; }

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

# record NAME: remember something made outside the state dir (netns, host
# link) before making it, so that `down` removes it even after a failed `up`.
record() {
	mkdir -p "$S"
	grep -qxF "$1" "$S/created" 2>/dev/null || echo "$1" >>"$S/created"
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
