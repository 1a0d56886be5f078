#!/usr/bin/env bash
# bench/cni/start.sh [N]: what starting a process costs on this machine,
# the floor under any CNI plugin's ADD: /bin/true, a Go program that does
# nothing, Debian's bridge plugin and ovn-cni answering VERSION, each run
# N times in turns (bench/cni/starttime); then Debian's bridge plugin with
# host-local IPAM driven by cnitool in the host's own namespaces, as the
# issue's reference figure was taken. Needs no sandbox.
set -euo pipefail
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
br=brst$$
cleanup() {
	for ns in $(ip netns list | awk -v p="bst$$-" 'index($1, p) == 1 {print $1}'); do ip netns del "$ns"; done
	ip link del "$br" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/empty" "$work/conf"
printf 'package main\n\nfunc main() {}\n' >"$work/empty/main.go"
printf 'module empty\n\ngo 1.22\n' >"$work/empty/go.mod"
(cd "$work/empty" && CGO_ENABLED=0 go build -o "$work/empty-go" .)
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$work/" ./cmd/ovn-cni ./bench/cni/starttime)
"$work/starttime" -n "$N" /bin/true "$work/empty-go" /usr/lib/cni/bridge "$work/ovn-cni"
# Where a start's time goes: page faults and CPU time, if perf is here.
if command -v perf >/dev/null; then
	echo '{"cniVersion":"1.0.0"}' >"$work/version.json"
	for b in /bin/true "$work/empty-go" "$work/ovn-cni"; do
		CNI_COMMAND=VERSION perf stat -r 50 -e page-faults,task-clock "$b" <"$work/version.json" 2>&1 >/dev/null |
			awk -v b="$b" '/page-faults|task-clock/ {printf "perf %s: %s %s\n", b, $1, $2}'
	done
fi

cnitool=$ROOT/bin/cnitool # built by the sandbox (sandbox/lib/cni.sh)
[[ -x $cnitool ]] || { echo "no $cnitool: bring a sandbox up once to build it" >&2; exit 1; }
cat >"$work/conf/bridge.conf" <<JSON
{"cniVersion":"1.0.0","name":"bst","type":"bridge","bridge":"$br","isGateway":true,"ipam":{"type":"host-local","subnet":"10.245.0.0/16","dataDir":"$work/ipam"}}
JSON
tool() { CNI_PATH=/usr/lib/cni NETCONFPATH="$work/conf" "$cnitool" "$@"; }
for i in $(seq 20); do
	ip netns add "bst$$-$i"
	s=$(date +%s%N)
	tool add bst "/var/run/netns/bst$$-$i" >/dev/null
	e=$(date +%s%N)
	echo $(((e - s) / 1000))
	tool del bst "/var/run/netns/bst$$-$i" >/dev/null
	ip netns del "bst$$-$i"
done | sort -n | awk '{a[NR] = $1} END {printf "cnitool add, bridge + host-local, host namespaces: n=%d p50=%.1f ms\n", NR, a[int((NR + 1) / 2)] / 1000}'
