#!/usr/bin/env bash
# bench/cni/run.sh [N]: in vm1 of a running sandbox (SANDBOX_NAME/SANDBOX_DIR):
#  1. CNI ADD, the whole process (cnitool -> ovn-cni -> ovn-docker daemon),
#     from a filled pool, interleaved with Debian's bridge plugin with
#     host-local IPAM driven the same way; p50/p99 of each;
#  2. `crictl runp` against the VM's CRI containerd (`sandbox cri vm1`)
#     with ovn-cni, then with bridge + host-local, as the pod network;
#     medians and their ratio.
# The daemon is the sandbox's; DEL, stopp and rmp are not timed.
set -euo pipefail
N=${1:-30}
source "$(dirname "$0")/vm1.sh"
out=$S/bench-cni
rm -rf "$out"
mkdir -p "$out/conf" "$out/bin"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$out/bin/" ./cmd/ovn-cni)
net=bench-cni-$$
brname=brcni$$
invm "$ROOT/bin/ovn-docker" create network "$net" >/dev/null
cleanup() {
	for ns in $(ip netns list | awk '/^bcni-/ {print $1}'); do ip netns del "$ns"; done
	invm "$ROOT/bin/ovn-docker" pool drain --network "$net" >/dev/null 2>&1 || true
	invm "$ROOT/bin/ovn-docker" delete network "$net" >/dev/null 2>&1 || true
	rm -f "$S/$vm/cri/net.d/10-pods.conflist"
	in_ns_link=$(nsenter --net="/run/netns/$netns" ip -o link show "$brname" 2>/dev/null || true)
	[[ -z $in_ns_link ]] || nsenter --net="/run/netns/$netns" ip link del "$brname"
	nsenter --net="/run/netns/$netns" ip link del "${brname}p" 2>/dev/null || true
}
trap cleanup EXIT
cat >"$out/conf/ovn.conf" <<JSON
{"cniVersion":"1.1.0","name":"ovn","type":"ovn-cni","network":"$net"}
JSON
cat >"$out/conf/bridge.conf" <<JSON
{"cniVersion":"1.0.0","name":"bridge","type":"bridge","bridge":"$brname","isGateway":true,"ipam":{"type":"host-local","subnet":"10.249.0.0/16"}}
JSON
invm "$ROOT/bin/ovn-docker" pool fill --network "$net" --size $((N + 2)) >/dev/null
tool() { invm env CNI_PATH="$out/bin:/usr/lib/cni" NETCONFPATH="$out/conf" "$ROOT/bin/cnitool" "$@"; }
t() { local s e; s=$(date +%s%N); tool add "$1" "/var/run/netns/$2" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }
for i in $(seq "$N"); do
	[[ ${SKIP_ADD:-} != 1 ]] || break
	ip netns add "bcni-o$i"
	ip netns add "bcni-b$i"
	o=$(t ovn "bcni-o$i")
	b=$(t bridge "bcni-b$i")
	echo "add $i ovn=${o}us bridge=${b}us"
	tool del ovn "/var/run/netns/bcni-o$i" >/dev/null
	tool del bridge "/var/run/netns/bcni-b$i" >/dev/null
	ip netns del "bcni-o$i"
	ip netns del "bcni-b$i"
done | tee "$out/add.txt"

# The same ADDs with the plugins executed directly, as a runtime's libcni
# does: the figure without cnitool's and nsenter's own start-up.
if [[ ${SKIP_ADD:-} != 1 ]]; then
	invm "$ROOT/bin/ovn-docker" pool fill --network "$net" --size $((N + 2)) >/dev/null
	invm python3 "$ROOT/bench/cni/exec_add.py" "$N" "$out/bin:/usr/lib/cni" "$out/conf/ovn.conf" "$out/conf/bridge.conf" | tee "$out/exec-add.txt"
fi
if [[ ${SKIP_RUNP:-} != 1 ]]; then
	# crictl runp, ovn-cni then bridge (the CRI reads its net.d on change).
	endpoint=$("$SB" cri "$vm" | tail -1)
	crictl() { invm "$ROOT/bin/crictl" --runtime-endpoint "$endpoint" --image-endpoint "$endpoint" --timeout 90s "$@"; }
	invm "$ROOT/bin/ovn-docker" pool fill --network "$net" --size $((N + 2)) >/dev/null
	runp() { # label conflist
		local i s e id
		cp "$2" "$S/$vm/cri/net.d/10-pods.conflist"
		sleep 3
		for i in $(seq "$N"); do
			printf '{"metadata":{"name":"b%s%s-%s","namespace":"default","uid":"b%s%s-%s","attempt":1},"log_directory":"%s","linux":{}}' "$1" "$i" "$$" "$1" "$i" "$$" "$out" >"$out/pod.json"
			s=$(date +%s%N)
			id=$(crictl runp "$out/pod.json")
			e=$(date +%s%N)
			echo "runp $1 $i ${1}=$(((e - s) / 1000))us"
			crictl stopp "$id" >/dev/null
			crictl rmp "$id" >/dev/null
		done
	}
	printf '{"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"ovn-cni","network":"%s"}]}' "$net" >"$out/ovn.conflist"
	printf '{"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge","bridge":"%sp","isGateway":true,"ipam":{"type":"host-local","subnet":"10.248.0.0/16"}}]}' "$brname" >"$out/bridge.conflist"
	{
		runp ovn "$out/ovn.conflist"
		runp bridge "$out/bridge.conflist"
	} | tee "$out/runp.txt"
fi
touch "$out/add.txt" "$out/exec-add.txt" "$out/runp.txt"
python3 - "$out/add.txt" "$out/runp.txt" "$out/exec-add.txt" <<'PY'
import re, statistics, sys
def vals(f, k):
    return sorted(int(v) / 1000 for l in open(f) for kk, v in re.findall(r"(\w+)=(\d+)us", l) if kk == k)
def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
for f, what in ((sys.argv[1], "cnitool add"), (sys.argv[3], "exec add")):
    for k in ("ovn", "bridge"):
        xs = vals(f, k)
        if xs:
            print(f"{what} {k}: n={len(xs)} p50={pct(xs,50):.1f} ms p99={pct(xs,99):.1f} ms")
o, b = vals(sys.argv[2], "ovn"), vals(sys.argv[2], "bridge")
if o and b:
    print(f"crictl runp: n={len(o)}/{len(b)} median ovn-cni={statistics.median(o):.0f} ms bridge={statistics.median(b):.0f} ms ratio={statistics.median(o)/statistics.median(b):.2f}")
PY
