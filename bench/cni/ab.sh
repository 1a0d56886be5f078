#!/usr/bin/env bash
# bench/cni/ab.sh REV_A REV_B [ROUNDS] [N]: CNI ADD, the plugin executed
# directly, with vm1's `ovn-docker daemon` built from REV_A, then from
# REV_B, ROUNDS times in turns (so load changes hit both alike); N ADDs a
# round on a pool of 3 entries (one port used again and again: the
# daemon's own steps, without cold datapath flow caches). Prints each
# round's p50/p90/max and the daemon's step medians. The sandbox's daemon
# is left running the working tree's binary ($ROOT/bin/ovn-docker).
set -euo pipefail
A=${1:?REV_A}
B=${2:?REV_B}
ROUNDS=${3:-4}
N=${4:-20}
source "$(dirname "$0")/vm1.sh"
work=$(mktemp -d)
net=bench-ab-$$
cleanup() {
	cp --remove-destination "$work/current" "$ROOT/bin/ovn-docker" 2>/dev/null || true
	"$SB" daemon "$vm" restart >/dev/null || true
	invm "$ROOT/bin/ovn-docker" pool drain --network "$net" >/dev/null 2>&1 || true
	invm "$ROOT/bin/ovn-docker" delete network "$net" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
cp "$ROOT/bin/ovn-docker" "$work/current"
for rev in "$A" "$B"; do
	mkdir -p "$work/src-$rev"
	git -C "$ROOT" archive "$rev" | tar -x -C "$work/src-$rev"
	(cd "$work/src-$rev" && CGO_ENABLED=0 go build -o "$work/ovn-docker-$rev" ./cmd/ovn-docker)
done
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$work/bin/" ./cmd/ovn-cni)
printf '{"cniVersion":"1.1.0","name":"ovn","type":"ovn-cni","network":"%s"}\n' "$net" >"$work/ovn.conf"
invm "$ROOT/bin/ovn-docker" create network "$net" >/dev/null
log=$S/$vm/ovn-docker-daemon.log
for r in $(seq "$ROUNDS"); do
	for rev in "$A" "$B"; do
		cp --remove-destination "$work/ovn-docker-$rev" "$ROOT/bin/ovn-docker"
		"$SB" daemon "$vm" restart >/dev/null
		invm "$ROOT/bin/ovn-docker" pool fill --network "$net" --size 3 >/dev/null
		from=$(wc -l <"$log")
		invm python3 "$ROOT/bench/cni/exec_add.py" "$N" "$work/bin" "$work/ovn.conf" >"$work/add.txt"
		tail -n +"$((from + 1))" "$log" >"$work/log.txt"
		python3 - "$rev" "$r" "$work/add.txt" "$work/log.txt" <<'PY'
import json, re, statistics, sys
rev, r, add, log = sys.argv[1:]
xs = sorted(int(v) / 1000 for l in open(add) for v in re.findall(r"=(\d+)us", l))
rows = [json.loads(l) for l in open(log) if '"attached from the pool"' in l]
calls = [json.loads(l)["ms"] for l in open(log) if '"CNI call","cni":"ADD"' in l]
steps = " ".join(f"{k}={statistics.median(x.get(k, 0) for x in rows):.1f}" for k in rows[-1] if k.endswith("_ms"))
print(f"round {r} {rev}: ADD n={len(xs)} p50={statistics.median(xs):.1f} p90={xs[int(.9 * (len(xs) - 1))]:.1f} max={xs[-1]:.1f} ms; "
      f"daemon call p50={statistics.median(calls)} ms; steps {steps}", flush=True)
PY
		invm "$ROOT/bin/ovn-docker" pool drain --network "$net" >/dev/null
	done
done
