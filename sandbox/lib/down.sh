# shellcheck shell=bash
# Tear-down: removes what this instance (this state dir) made and nothing
# else, also after an `up` that stopped half way: its daemons by pid file,
# the processes that are its own by their command line, mount namespace or
# container, what $S/created records, and its claims.

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

# our_mntns_ids: "mnt:[inode]" of the VMs' mount namespaces that are still
# bound to their files (a namespace whose file is not bound has no process:
# it is entered only through the file, which is unbound last).
our_mntns_ids() {
	local t kind f
	[[ -r $S/created ]] || return 0
	while read -r kind f; do
		[[ $kind == mntns ]] && mounted "$f" && echo "mnt:[$(stat -L -c %i "$f")]"
	done <"$S/created"
}

# our_container_ids: the containers of this instance's engines (by their
# data roots), whose processes outlive a killed engine.
our_container_ids() {
	local vm c
	for vm in "${VMS[@]}"; do
		for c in "$(dir_of "$vm")"/docker/containers/*/; do
			[[ -d $c ]] && basename "$c"
		done
	done
}

# our_strays: processes of this instance that no pid file names (a daemon
# whose pid file was not written yet when `up` was killed, containerd and its
# shims, containers): their command line names the state dir, or they run
# in one of its VMs' mount namespaces, or in one of its containers' cgroups.
# This script and its ancestors are left out.
our_strays() {
	local p self=$$ ancestors=" " a=$$ mnt ids cids
	while [[ $a -gt 1 ]]; do
		ancestors+="$a "
		a=$(awk '{print $4}' "/proc/$a/stat" 2>/dev/null) || break
	done
	ids=" $(our_mntns_ids | tr '\n' ' ') "
	cids=$(our_container_ids | paste -sd'|')
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $ancestors == *" $p "* || $p == "$self" ]] && continue
		pid_alive "$p" || continue
		mnt=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || continue
		if [[ $ids == *" $mnt "* ]] ||
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$S/" ||
			{ [[ -n $cids ]] && grep -qE "/docker/($cids)\$" "/proc/$p/cgroup" 2>/dev/null; }; then
			echo "$p"
		fi
	done
}

cmd_down() {
	local pids=() label f
	if [[ -d $S ]]; then
		# Containers first, through each engine, so that their shims go too.
		stop_engines_containers
		while read -r label f; do
			pidfile_alive "$f" && pids+=("$(<"$f")")
		done < <(daemons)
		stop_pids 15 "${pids[@]}"
		mapfile -t pids < <(our_strays)
		stop_pids 5 "${pids[@]}"
	fi

	# What the instance recorded, in reverse order: mounts (a VM's mount
	# namespace before the directory holding it), namespaces, host links.
	local things=() i kind name
	[[ -r $S/created ]] && mapfile -t things <"$S/created"
	for ((i = ${#things[@]} - 1; i >= 0; i--)); do
		read -r kind name <<<"${things[i]}"
		case $kind in
		mntns | mount) ! mounted "$name" || umount "$name" || umount -l "$name" || true ;;
		netns) ip netns del "$name" 2>/dev/null || true ;;
		# A link may vanish on its own meanwhile (its veth peer's netns went).
		link) ip link del "$name" 2>/dev/null || true ;;
		esac
	done

	if [[ -d $S ]]; then
		# Anything else still mounted under the state dir (by a tool run in
		# the host's mount namespace).
		local m
		awk -v d="$S/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		release_claims
		rm -rf "$S"
	fi
	log "down"
}
