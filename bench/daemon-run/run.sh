#!/usr/bin/env bash
# bench/daemon-run/run.sh [N]: `docker run --rm --network X busybox true` in
# vm1 of a running sandbox (SANDBOX_NAME/SANDBOX_DIR), X an ovn network
# (cold, then with a filled pool), a network of Docker's bridge driver, and
# --net=none, interleaved round by round (so load changes hit all alike);
# prints each run's wall time and the medians of the per-round ratios.
# Starts `ovn-docker daemon` in vm1 unless one serves it, and stops it.
set -euo pipefail
N=${1:-15}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
S=${SANDBOX_DIR:?set SANDBOX_DIR (and SANDBOX_NAME) of a running sandbox}
SB="$ROOT/sandbox/sandbox"
vm=vm1
facts=$S/sandbox.json
netns=$(python3 -c "import json;print([v for v in json.load(open('$facts'))['vms'] if v['name']=='$vm'][0]['netns'])")
mntns=$(python3 -c "import json;print([v for v in json.load(open('$facts'))['vms'] if v['name']=='$vm'][0]['mntns'])")
dockerhost=$(python3 -c "import json;print([v for v in json.load(open('$facts'))['vms'] if v['name']=='$vm'][0]['docker_host'])")
mkdir -p "$S/bench"
bin=$S/bench/ovn-docker
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$bin" ./cmd/ovn-docker)
dk() { docker -H "$dockerhost" "$@"; }
invm() { nsenter --net="/run/netns/$netns" --mount="$mntns" -- env $("$SB" env "$vm" | sed 's/^export //') "$@"; }

daemon_pid=
dlog=$S/$vm/ovn-docker-daemon.log # the sandbox's daemon
if ! python3 -c "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect('$S/$vm/run/docker/plugins/ovn.sock')" 2>/dev/null; then
	# exec: the background job's pid is the daemon's (nsenter and env
	# exec), so that the clean-up stops it.
	(exec nsenter --net="/run/netns/$netns" --mount="$mntns" -- env $("$SB" env "$vm" | sed 's/^export //') "$bin" daemon) \
		>"$S/bench-daemon.log" 2>&1 </dev/null &
	daemon_pid=$!
	dlog=$S/bench-daemon.log
	for _ in $(seq 100); do [[ -S $S/$vm/run/docker/plugins/ovn.sock ]] && break; sleep 0.1; done
fi
net=bench-$$
cleanup() {
	dk network rm OVNB BRB >/dev/null 2>&1 || true
	invm "$bin" pool drain --network "$net" >/dev/null 2>&1 || true
	[[ -z $daemon_pid ]] || kill "$daemon_pid"
}
trap cleanup EXIT
dk network create -d ovn --ipam-driver ovn -o network="$net" OVNB >/dev/null
dk network create -d bridge BRB >/dev/null
img=busybox:local
dk run --rm --net=none $img true # warm the image
t() { local s e; s=$(date +%s%N); dk run --rm "$@" $img true >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }
rounds() { # label: N rounds of ovn, bridge, none
	local i o b n
	for i in $(seq "$N"); do
		o=$(t --network OVNB); b=$(t --network BRB); n=$(t --net=none)
		echo "$1 $i ovn=${o}us bridge=${b}us none=${n}us"
	done
}
# calls LABEL FROM: the daemon's own time per call (its request log from
# byte FROM on), p50 and range, for the ovn runs of the rounds just done.
calls() {
	tail -c +"$(($2 + 1))" "$dlog" | python3 -c '
import json, statistics, sys
by = {}
for l in sys.stdin:
    try: r = json.loads(l)
    except ValueError: continue
    if r.get("msg") == "request" and r.get("method") in ("IpamDriver.RequestAddress", "NetworkDriver.CreateEndpoint", "NetworkDriver.Join", "NetworkDriver.DeleteEndpoint", "IpamDriver.ReleaseAddress"):
        by.setdefault(r["method"], []).append(r["took"] / 1e6)
for m, xs in sorted(by.items()):
    print(f"{sys.argv[1]} daemon {m}: n={len(xs)} p50={statistics.median(xs):.1f} ms min={min(xs):.1f} max={max(xs):.1f}")
' "$1"
}
# burst LABEL: 16 concurrent runs on a pool of 24 (the daemon refills a
# pool at half its size): how many took their port from the pool, and how
# long the burst took.
burst() {
	local off s e froms asks
	invm "$bin" pool fill --network "$net" --size 24 >/dev/null
	off=$(stat -c %s "$dlog")
	s=$(date +%s%N)
	for _ in $(seq 16); do dk run --rm --network OVNB $img true >/dev/null & done
	wait
	e=$(date +%s%N)
	froms=$(tail -c +"$((off + 1))" "$dlog" | grep -c '"address reserved from the pool"' || true)
	asks=$(tail -c +"$((off + 1))" "$dlog" | grep -c '"method":"IpamDriver.RequestAddress"' || true)
	echo "$1 burst of 16: ${froms} of ${asks} addresses from the pool, $(((e - s) / 1000000)) ms"
}
# phase LABEL: cold rounds (pool drained), pool rounds, a burst; each
# round's times go to $S/bench-LABEL-{cold,pool}.txt.
phase() {
	local off
	invm "$bin" pool drain --network "$net" >/dev/null
	off=$(stat -c %s "$dlog")
	rounds "$1-cold" | tee "$S/bench-$1-cold.txt"
	calls "$1-cold" "$off" | tee -a "$S/bench-$1-cold.txt"
	invm "$bin" pool fill --network "$net" --size $((N + 2)) >/dev/null
	off=$(stat -c %s "$dlog")
	rounds "$1-pool" | tee "$S/bench-$1-pool.txt"
	calls "$1-pool" "$off" | tee -a "$S/bench-$1-pool.txt"
	burst "$1" | tee "$S/bench-$1-burst.txt"
}
summary() {
	python3 - "$@" <<'PY'
import re, statistics, sys
for f in sys.argv[1:]:
    rows = [dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)us", l)) for l in open(f) if " daemon " not in l]
    med = lambda xs: statistics.median(xs)
    print(f"{f.split('bench-')[-1][:-4]}: n={len(rows)} median ms ovn={med([r['ovn'] for r in rows])/1000:.0f} bridge={med([r['bridge'] for r in rows])/1000:.0f} none={med([r['none'] for r in rows])/1000:.0f}; "
          f"median of ratios ovn/bridge={med([r['ovn']/r['bridge'] for r in rows]):.2f} ovn/none={med([r['ovn']/r['none'] for r in rows]):.2f} bridge/none={med([r['bridge']/r['none'] for r in rows]):.2f}")
PY
}
phase empty
summary "$S/bench-empty-cold.txt" "$S/bench-empty-pool.txt"
# SEED=N: the same again with N more ports in NB (bench/nbseed: a network
# of their own, written straight into NB), as in a large cloud where
# ovn-northd recomputes everything on each change.
if [[ ${SEED:-0} -gt 0 ]]; then
	s=$(date +%s)
	seeded=$(cd "$ROOT" && go run ./bench/nbseed -facts "$facts" -n "$SEED")
	trap 'cd "$ROOT" && go run ./bench/nbseed -facts "$facts" -remove "$seeded"; cleanup' EXIT
	# Wait until ovn-northd has bound them all in SB (one recompute).
	sbdb=$(python3 -c "import json;print(json.load(open('$facts'))['sb_db'])")
	until [[ $(ovn-sbctl --db="$sbdb" --bare --columns=_uuid find Port_Binding | grep -c .) -ge $SEED ]]; do sleep 2; done
	echo "seeded $SEED ports in NB (network $seeded), in SB after $(($(date +%s) - s)) s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
	phase seeded
	summary "$S/bench-seeded-cold.txt" "$S/bench-seeded-pool.txt"
	python3 - "$S/bench-empty-pool.txt" "$S/bench-seeded-pool.txt" <<'PY'
import re, statistics, sys
def p50(f, what):
    if what == "run":
        return statistics.median([int(m) for l in open(f) if " daemon " not in l for m in re.findall(r"ovn=(\d+)us", l)]) / 1000
    return [float(m) for l in open(f) if what in l for m in re.findall(r"p50=([\d.]+)", l)][0]
for what in ("run", "IpamDriver.RequestAddress", "NetworkDriver.Join"):
    e, s = p50(sys.argv[1], what), p50(sys.argv[2], what)
    print(f"pool, {what}: p50 {e:.1f} ms on an empty NB, {s:.1f} ms seeded: {s/e:.2f}x")
PY
fi
