# shellcheck shell=bash
# CNI in the VMs: Debian's containernetworking-plugins (/usr/lib/cni, in
# PACKAGES) next to the project's ovn-cni ($BIN), and cnitool, the CNI
# project's reference runtime, built from its Go module into $BIN. Each
# VM's `ovn-docker daemon` serves ovn-cni on the VM's
# /run/ovn-docker/cni.sock (its default).

CNITOOL_MODULE=github.com/containernetworking/cni/cnitool@v1.3.1

# build_cni_tools: cnitool, built once (the Go module cache keeps it).
build_cni_tools() {
	[[ -x $BIN/cnitool ]] && return 0
	log "building cnitool ($CNITOOL_MODULE)"
	GOBIN=$BIN CGO_ENABLED=0 go install "$CNITOOL_MODULE" || die "go install $CNITOOL_MODULE failed"
}

# crictl, the CRI client kubelet's maintainers ship, built from its module.
CRICTL_MODULE=sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0

# build_crictl: crictl, built once, by `sandbox install` (it takes minutes;
# `up` does not wait for it, `sandbox cri` builds it if still missing).
build_crictl() {
	[[ -x $BIN/crictl ]] && return 0
	log "building crictl ($CRICTL_MODULE)"
	GOBIN=$BIN CGO_ENABLED=0 go install "$CRICTL_MODULE" || die "go install $CRICTL_MODULE failed"
}

# A CRI containerd per VM, started on demand (`sandbox cri VM`): Debian's
# containerd with its CRI plugin, in the VM's namespaces, separate from the
# containerd Docker runs (own socket, root and state, all in $S/<vm>/cri),
# its CNI configuration in $S/<vm>/cri/net.d and its plugins (Debian's and
# ovn-cni) in $S/<vm>/cri/bin.
cri_dir() { echo "$(dir_of "$1")/cri"; }
cri_sock() { echo "$(cri_dir "$1")/containerd.sock"; }
cri_pidfile() { echo "$(cri_dir "$1")/containerd.pid"; }

# The pod sandbox ("pause") image: busybox sleeping, as no registry is
# reachable.
CRI_PAUSE_IMAGE=docker.io/ovn-docker/pause:local

write_cri_config() {
	local vm=$1 d
	d=$(cri_dir "$vm")
	mkdir -p "$d/root" "$d/state" "$d/net.d" "$d/bin" "$d/logs"
	ln -sf /usr/lib/cni/* "$d/bin/"
	ln -sf "$BIN/ovn-cni" "$d/bin/ovn-cni"
	cat >"$d/config.toml" <<-TOML
		version = 2
		root = "$d/root"
		state = "$d/state"
		disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "$CRI_PAUSE_IMAGE"
		  disable_apparmor = true
		  restrict_oom_score_adj = true
		  [plugins."io.containerd.grpc.v1.cri".containerd]
		    snapshotter = "native"
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "$d/bin"
		    conf_dir = "$d/net.d"
		    max_conf_num = 1
	TOML
}

# start_cri VM: the VM's CRI containerd, with the pause and busybox images.
start_cri() {
	local vm=$1 d pidf
	d=$(cri_dir "$vm")
	pidf=$(cri_pidfile "$vm")
	build_crictl
	if ! pidfile_alive "$pidf"; then
		rm -f "$pidf"
		write_cri_config "$vm"
		# setsid -f always forks: the child writes its own pid, which
		# nsenter and containerd keep (both exec).
		setsid -f sh -c 'echo $$ >"$1"; shift; exec "$@"' cri-start "$pidf" \
			nsenter --net="/run/netns/$(ns_of "$vm")" --mount="$(vm_mntns "$vm")" -- \
			containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 </dev/null
		wait_for 5 "the pid file of $vm's CRI containerd" test -s "$pidf"
	fi
	wait_for 30 "CRI containerd in $vm (see $d/containerd.log)" \
		in_vm "$vm" "$BIN/crictl" --runtime-endpoint "unix://$d/containerd.sock" version
	if ! in_vm "$vm" ctr -a "$d/containerd.sock" -n k8s.io images check "name==$CRI_PAUSE_IMAGE" 2>/dev/null | grep -q pause; then
		dk "$vm" image inspect "$CRI_PAUSE_IMAGE" >/dev/null 2>&1 ||
			dk "$vm" import -c 'CMD ["/bin/sleep", "2147483647"]' "$S/image/busybox.tar" "$CRI_PAUSE_IMAGE" >/dev/null ||
			die "making $CRI_PAUSE_IMAGE in $vm failed"
		dk "$vm" save "$CRI_PAUSE_IMAGE" "$IMAGE" >"$d/images.tar" || die "docker save in $vm failed"
		in_vm "$vm" ctr -a "$d/containerd.sock" -n k8s.io images import --snapshotter native "$d/images.tar" >/dev/null ||
			die "importing the images into $vm's CRI containerd failed"
		rm -f "$d/images.tar"
	fi
	echo "unix://$d/containerd.sock"
}

# cri_daemons: "label pidfile" lines of the CRI containerds started.
cri_daemons() {
	local vm
	for vm in "${VMS[@]}"; do
		[[ -e $(cri_pidfile "$vm") ]] && echo "$vm/cri-containerd $(cri_pidfile "$vm")"
	done
	return 0
}
