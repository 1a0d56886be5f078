# shellcheck shell=bash
# A private dockerd (no iptables, no bridge) and a local busybox image.

dk() { docker -H "$DOCKER_HOST_URL" "$@"; }

start_dockerd() {
	local d=$DOCKER_DIR
	mkdir -p "$d/data" "$d/exec"
	pidfile_alive "$d/dockerd.pid" && return 0
	rm -f "$DOCKER_SOCK" "$d/dockerd.pid"
	# dockerd 20.10 makes these whatever its roots; `down` removes those it
	# made (directories only when empty).
	local p
	for p in /etc/docker/key.json /etc/docker /run/docker/plugins /run/docker; do
		[[ -e $p ]] || record "$([[ $p == *.json ]] && echo file || echo dir) $p"
	done
	echo '{}' >"$d/daemon.json" # never the machine's /etc/docker/daemon.json
	# setsid: dockerd stays up after this script exits and is not hit by its
	# terminal's signals.
	setsid dockerd --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
		-H "$DOCKER_HOST_URL" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/dockerd.pid" --config-file "$d/daemon.json" >"$d/dockerd.log" 2>&1 </dev/null &
}

wait_dockerd() {
	wait_for 60 "dockerd (see $DOCKER_DIR/dockerd.log)" dk version
}

ensure_image() {
	dk image inspect "$IMAGE" >/dev/null 2>&1 && return 0
	local root=$DOCKER_DIR/rootfs a
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
	done
	ln -s bin "$root/sbin"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	tar -C "$root" -c . | dk import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null ||
		die "docker import of $IMAGE failed"
	rm -rf "$root"
}
