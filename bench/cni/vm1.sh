# bench/cni/vm1.sh, sourced by the CNI benchmarks: vm1 of the running
# sandbox (SANDBOX_NAME/SANDBOX_DIR). Sets ROOT, S, SB and vm, and
# invm, which runs a command inside vm1 (its network and mount
# namespaces, its environment).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S=${SANDBOX_DIR:?set SANDBOX_DIR (and SANDBOX_NAME) of a running sandbox}
SB="$ROOT/sandbox/sandbox"
vm=vm1
fact() { python3 -c "import json;print([v for v in json.load(open('$S/sandbox.json'))['vms'] if v['name']=='$vm'][0]['$1'])"; }
netns=$(fact netns)
mntns=$(fact mntns)
mapfile -t vmenv < <("$SB" env "$vm" | sed 's/^export //')
invm() { nsenter --net="/run/netns/$netns" --mount="$mntns" -- env "${vmenv[@]}" "$@"; }
