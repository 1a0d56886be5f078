#!/usr/bin/env python3
"""bench/cni/exec_add.py N CNI_PATH CONF...: CNI ADD timed as a runtime
makes it: the plugin executed directly (as containerd's and podman's
libcni do), network configuration on stdin, one new netns per ADD; DEL
untimed. The configurations take turns, so load hits them alike. Run
inside the VM (its network and mount namespaces). Prints one line per
ADD: "exec-add NAME=USus", NAME the configuration's "name"."""
import json, os, subprocess, sys, time

n, cni_path, confs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
confs = [(json.load(open(c)), open(c, "rb").read()) for c in confs]


def call(conf, raw, cmd, ns, cid):
    env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_NETNS="/var/run/netns/" + ns,
               CNI_IFNAME="eth0", CNI_PATH=cni_path)
    plugin = next(os.path.join(d, conf["type"]) for d in cni_path.split(":") if os.path.exists(os.path.join(d, conf["type"])))
    start = time.perf_counter_ns()
    r = subprocess.run([plugin], input=raw, env=env, capture_output=True)
    took = (time.perf_counter_ns() - start) // 1000
    if r.returncode != 0:
        sys.exit(f"{conf['name']} {cmd}: exit {r.returncode}: {r.stdout.decode()}{r.stderr.decode()}")
    return took


for i in range(n):
    for conf, raw in confs:
        ns, cid = f"bexec-{os.getpid()}-{i}-{conf['name']}", f"bexec{os.getpid()}x{i}x{conf['name']}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            print(f"exec-add {i} {conf['name']}={call(conf, raw, 'ADD', ns, cid)}us", flush=True)
            call(conf, raw, "DEL", ns, cid)
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=True)
