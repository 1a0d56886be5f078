# shellcheck shell=bash
# Tear-down: removes what this instance made and nothing else, also after an
# `up` that stopped half way.

# stop_pids SECONDS PID...: SIGTERM, then SIGKILL whatever is left after SECONDS.
stop_pids() {
	local secs=$1 pid left deadline
	shift
	(($# == 0)) && return 0
	kill -TERM "$@" 2>/dev/null || true
	deadline=$((SECONDS + secs))
	while :; do
		left=()
		for pid in "$@"; do pid_alive "$pid" && left+=("$pid"); done
		((${#left[@]} == 0)) && return 0
		((SECONDS >= deadline)) && break
		sleep 0.1
	done
	log "killing ${left[*]} after ${secs}s"
	kill -KILL "${left[@]}" 2>/dev/null || true
}

# our_strays: processes whose command line names this state dir (e.g. a daemon
# whose pid file was not written yet when `up` was killed, containerd and its
# shims), excluding this script and its ancestors.
our_strays() {
	local p self=$$ ancestors=" " a=$$
	while [[ $a -gt 1 ]]; do
		ancestors+="$a "
		a=$(awk '{print $4}' "/proc/$a/stat" 2>/dev/null) || break
	done
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $ancestors == *" $p "* || $p == "$self" ]] && continue
		pid_alive "$p" || continue
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$S/" && echo "$p"
	done
}

cmd_down() {
	local pids=() label f pid
	if [[ -d $S ]]; then
		# Containers first, through dockerd's own socket, so that its shims go too.
		if pidfile_alive "$DOCKER_DIR/dockerd.pid" && [[ -S $DOCKER_SOCK ]]; then
			local ids
			ids=$(timeout 10 docker -H "$DOCKER_HOST_URL" ps -aq 2>/dev/null || true)
			# shellcheck disable=SC2086
			[[ -n $ids ]] && timeout 30 docker -H "$DOCKER_HOST_URL" rm -f $ids >/dev/null 2>&1 || true
		fi
		while read -r label f; do
			pidfile_alive "$f" && pids+=("$(<"$f")")
		done < <(daemons)
		stop_pids 15 "${pids[@]}"
		mapfile -t pids < <(our_strays)
		stop_pids 5 "${pids[@]}"
	fi

	# Namespaces and host links: the recorded ones plus the well-known names.
	local things=() t kind name
	[[ -r $S/created ]] && mapfile -t things <"$S/created"
	for t in "${HVS[@]}" "${VMS[@]}" "${PHYS_HOSTS[@]}"; do things+=("netns $(ns_of "$t")"); done
	things+=("netns $FAB_NS")
	for t in "${VMS[@]}"; do things+=("link $(vm_mgmt_host_link "$t")"); done
	things+=("link $MGMT_BR")
	for t in "${things[@]}"; do
		read -r kind name <<<"$t"
		case $kind in
		# A link may vanish on its own meanwhile (its veth peer's netns went).
		netns) ip netns del "$name" 2>/dev/null || true ;;
		link) ip link del "$name" 2>/dev/null || true ;;
		# Paths dockerd made outside the state dir, unless another dockerd
		# (another sandbox's) may still use them.
		file) pgrep -x dockerd >/dev/null || rm -f "$name" ;;
		dir) pgrep -x dockerd >/dev/null || rmdir "$name" 2>/dev/null || true ;;
		esac
	done

	if [[ -d $S ]]; then
		# Mounts dockerd left behind if it was killed (overlays, netns bind mounts).
		local m
		awk -v d="$S/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$S"
	fi
	log "down"
}
