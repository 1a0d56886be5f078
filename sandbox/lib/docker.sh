# shellcheck shell=bash
# A Docker engine inside each VM, as on a real VM: dockerd (and the
# containerd it starts) runs in the VM's network namespace and in a mount
# namespace of the VM's own, in which
#   /run         is $S/<vm>/run: docker.sock (= /var/run/docker.sock), the
#                exec root /run/docker (with plugins/), containerd's sockets,
#                docker.pid;
#   /etc/docker  is $S/<vm>/etc-docker (plugins/, daemon.json, key.json);
#   /sys         is a sysfs of the VM's network namespace (the host's cgroups
#                kept in it);
# and the data root is $S/<vm>/docker. The host's /run/netns stays visible
# (as a slave mount: namespaces made later appear, deleted ones go), so that
# `ovn-docker attach --netns /var/run/netns/X` works there. The mount
# namespace persists as a file in $VM_NS_DIR, a private bind mount (the
# kernel binds a mount namespace only there); `sandbox exec` and the tests
# enter both namespaces with nsenter.

VM_NS_DIR=$S/ns

vm_mntns() { echo "$VM_NS_DIR/$1.mnt"; }
vm_run_dir() { echo "$S/$1/run"; }
vm_docker_sock() { echo "$S/$1/run/docker.sock"; }
vm_dockerd_pidfile() { echo "$S/$1/run/docker.pid"; }

# in_vm VM CMD...: CMD in the VM's network and mount namespaces, as a shell
# on the VM would run it (the working directory is kept: host paths are the
# VM's too, apart from the private ones above).
in_vm() {
	local vm=$1
	shift
	nsenter --net="/run/netns/$(ns_of "$vm")" --mount="$(vm_mntns "$vm")" --wd="$PWD" -- "$@"
}

# dk VM ARGS...: the docker CLI inside the VM, talking to the VM's engine by
# its default socket.
dk() {
	local vm=$1
	shift
	in_vm "$vm" env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"
}

# mounted PATH: PATH is a mount point in the host's mount namespace.
mounted() {
	awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# ensure_ns_dir: the private bind mount that holds the VMs' mount namespaces.
ensure_ns_dir() {
	mkdir -p "$VM_NS_DIR"
	mounted "$VM_NS_DIR" && return 0
	record "mount $VM_NS_DIR"
	mount --bind "$VM_NS_DIR" "$VM_NS_DIR" && mount --make-private "$VM_NS_DIR" ||
		die "cannot make $VM_NS_DIR a private bind mount"
}

# The mounts made inside a VM's new mount namespace; $1 is the VM's dir.
# Propagation is slave: nothing made here reaches the host, and the host's
# /run/netns changes reach the VM.
# shellcheck disable=SC2016
VM_MOUNTS='set -e
d=$1
mount --rbind /sys/fs/cgroup "$d/.mnt/cgroup"
umount -l /sys
mount -t sysfs sysfs /sys
mount --move "$d/.mnt/cgroup" /sys/fs/cgroup
mount --rbind /run/netns "$d/.mnt/netns"
mount --bind "$d/run" /run
mount --move "$d/.mnt/netns" /run/netns
mount --bind "$d/etc-docker" /etc/docker'

# ensure_vm_mntns VM: the VM's mount namespace (its netns must exist).
ensure_vm_mntns() {
	local vm=$1 f d
	f=$(vm_mntns "$vm")
	d=$(dir_of "$vm")
	mounted "$f" && return 0
	[[ -d /etc/docker ]] || die "/etc/docker is missing (the docker.io package makes it): run 'sandbox/sandbox install'"
	ensure_ns_dir
	mkdir -p "$d/run/netns" "$d/etc-docker/plugins" "$d/docker" "$d/.mnt/cgroup" "$d/.mnt/netns"
	record "mntns $f"
	: >"$f"
	nsenter --net="/run/netns/$(ns_of "$vm")" unshare --mount="$f" --propagation slave \
		sh -c "$VM_MOUNTS" vm-mounts "$d" || die "cannot make the mount namespace of $vm"
}

# start_engine VM: the VM's dockerd, started in the background (it takes a
# second or two; wait_engine waits for it).
start_engine() {
	local vm=$1 d pidf
	d=$(dir_of "$vm")
	pidf=$(vm_dockerd_pidfile "$vm")
	ensure_vm_mntns "$vm"
	pidfile_alive "$pidf" && return 0
	rm -f "$(vm_docker_sock "$vm")" "$pidf"
	echo '{}' >"$d/etc-docker/daemon.json" # the VM's /etc/docker/daemon.json
	# setsid: dockerd stays up after this script exits and is not hit by its
	# terminal's signals. The data root names the state dir, so that the
	# pid file check and `down` know the process as this instance's.
	in_vm "$vm" setsid dockerd --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
		--data-root "$d/docker" >"$d/dockerd.log" 2>&1 </dev/null &
}

# stop_engine VM: the VM's dockerd, by its pid file, as a VM's shutdown
# would (SIGTERM: it stops the containers, then itself).
stop_engine() {
	local vm=$1 pidf pid
	pidf=$(vm_dockerd_pidfile "$vm")
	pidfile_alive "$pidf" || return 0
	pid=$(<"$pidf")
	kill -TERM "$pid"
	wait_for 120 "dockerd in $vm (pid $pid) to stop" eval "! pid_alive $pid"
}

# cmd_engine VM restart: the VM's dockerd stopped and started again; its
# containers with a restart policy come back.
cmd_engine() {
	local vm=${1:-}
	is_vm "$vm" || die "unknown VM '$vm': known are ${VMS[*]}"
	[[ ${2:-} == restart ]] || die "usage: sandbox engine VM restart"
	stop_engine "$vm"
	start_engine "$vm"
	wait_for 60 "dockerd in $vm (see $(dir_of "$vm")/dockerd.log)" dk "$vm" version
}

# image_tar: the busybox rootfs as a tar, made once per instance and
# imported into every engine.
image_tar() {
	local tar=$S/image/busybox.tar root=$S/image/rootfs a
	[[ -s $tar ]] && return 0
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
	done
	ln -s bin "$root/sbin"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
	rm -rf "$root"
}

# ready_engine VM: waits for the VM's engine and gives it the image.
ready_engine() {
	local vm=$1
	wait_for 60 "dockerd in $vm (see $(dir_of "$vm")/dockerd.log)" dk "$vm" version
	dk "$vm" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
	dk "$vm" import -c 'CMD ["/bin/sh"]' "$S/image/busybox.tar" "$IMAGE" >/dev/null ||
		die "docker import of $IMAGE into $vm's engine failed"
}

# start_engines: every VM's engine, then (in the background, while the rest
# of the sandbox comes up) waits for them and loads the image, in parallel.
# ENGINES_JOB is the background job; wait_engines collects it.
ENGINES_JOB=
start_engines() {
	local vm
	for vm in "${VMS[@]}"; do
		ensure_netns "$(ns_of "$vm")"
		start_engine "$vm"
	done
	(
		image_tar
		pids=()
		for vm in "${VMS[@]}"; do
			ready_engine "$vm" &
			pids+=($!)
		done
		rc=0
		for p in "${pids[@]}"; do wait "$p" || rc=1; done
		exit $rc
	) &
	ENGINES_JOB=$!
}

wait_engines() {
	wait "$ENGINES_JOB" || die "a VM's Docker engine did not come up with $IMAGE (see $S/<vm>/dockerd.log)"
	log "engines ready in ${VMS[*]}"
}

# engine_daemons: "label pidfile" lines of the VMs' engines.
engine_daemons() {
	local vm
	for vm in "${VMS[@]}"; do echo "$vm/dockerd $(vm_dockerd_pidfile "$vm")"; done
}

# stop_engines_containers: every container of every engine, removed through
# the engine (its shims go with them), before the daemons are stopped.
stop_engines_containers() {
	local vm ids
	for vm in "${VMS[@]}"; do
		(
			pidfile_alive "$(vm_dockerd_pidfile "$vm")" && [[ -S $(vm_docker_sock "$vm") ]] || exit 0
			ids=$(timeout 10 docker -H "unix://$(vm_docker_sock "$vm")" ps -aq 2>/dev/null) || exit 0
			# shellcheck disable=SC2086
			[[ -z $ids ]] || timeout 30 docker -H "unix://$(vm_docker_sock "$vm")" rm -f $ids >/dev/null 2>&1 || true
		) &
	done
	wait
}
