# shellcheck shell=bash
# `ovn-docker daemon` in each VM: the Docker plugin "ovn" of the VM's own
# engine (network and IPAM driver), as tenant demo with the credentials
# `sandbox exec` gives (in its environment, never on its command line), so
# that `docker network create -d ovn --ipam-driver ovn -o network=N N` and
# `docker run --network N` work in `sandbox exec VM`.

plugin_pidfile() { echo "$(dir_of "$1")/ovn-docker-daemon.pid"; }

# plugin_socket VM: the VM's /run/docker/plugins/ovn.sock as a host path
# (the VM's /run is its run dir). The daemon is given this path, which names
# the state dir, so that pid file checks and `down` know it as this
# instance's.
plugin_socket() { echo "$(vm_run_dir "$1")/docker/plugins/ovn.sock"; }

# plugin_metrics VM: the daemon's /metrics socket (the VM's
# /run/ovn-docker/metrics.sock).
plugin_metrics() { echo "$(vm_run_dir "$1")/ovn-docker/metrics.sock"; }

# start_plugin VM: the daemon in the VM's namespaces, in the background.
start_plugin() {
	local vm=$1 pidf
	pidf=$(plugin_pidfile "$vm")
	pidfile_alive "$pidf" && return 0
	(
		eval "$(env_lines demo "$vm")"
		unset DOCKER_HOST DOCKER_CONTEXT # the VM's engine, by its default socket
		setsid nsenter --net="/run/netns/$(ns_of "$vm")" --mount="$(vm_mntns "$vm")" -- \
			"$BIN/ovn-docker" daemon --socket "$(plugin_socket "$vm")" --metrics-listen "unix:$(plugin_metrics "$vm")" \
			>>"$(dir_of "$vm")/ovn-docker-daemon.log" 2>&1 </dev/null &
		echo $! >"$pidf"
	)
}

# plugin_serves VM: the VM's daemon answers on its socket (a socket file
# alone may be what a killed daemon left).
plugin_serves() {
	curl -sf --max-time 2 --unix-socket "$(plugin_socket "$1")" -X POST http://ovn/Plugin.Activate >/dev/null
}

# stop_plugin VM [SIGNAL]: the VM's daemon, by its pid file, with SIGTERM
# (it drains requests in flight) or SIGKILL (a crash: its socket stays).
stop_plugin() {
	local vm=$1 sig=${2:-TERM} pidf pid
	pidf=$(plugin_pidfile "$vm")
	pidfile_alive "$pidf" || return 0
	pid=$(<"$pidf")
	kill "-$sig" "$pid"
	wait_for 90 "ovn-docker daemon in $vm (pid $pid) to stop" eval "! pid_alive $pid"
}

# cmd_daemon VM start|stop|kill|restart: the VM's daemon, for tests of
# crashes and restarts.
cmd_daemon() {
	local vm=${1:-} what=${2:-}
	is_vm "$vm" || die "unknown VM '$vm': known are ${VMS[*]}"
	case $what in
	start) ;;
	stop) stop_plugin "$vm" TERM; return ;;
	kill) stop_plugin "$vm" KILL; return ;;
	restart) stop_plugin "$vm" TERM ;;
	*) die "usage: sandbox daemon VM start|stop|kill|restart" ;;
	esac
	start_plugin "$vm"
	wait_for 30 "ovn-docker daemon in $vm (see $(dir_of "$vm")/ovn-docker-daemon.log)" plugin_serves "$vm"
}

# start_plugins: the daemon in every VM, waiting for each socket.
start_plugins() {
	local vm
	for vm in "${VMS[@]}"; do start_plugin "$vm"; done
	for vm in "${VMS[@]}"; do
		wait_for 30 "ovn-docker daemon in $vm (see $(dir_of "$vm")/ovn-docker-daemon.log)" test -S "$(plugin_socket "$vm")"
	done
	log "ovn-docker daemon serves the engines of ${VMS[*]}"
}

# plugin_daemons: "label pidfile" lines of the VMs' daemons.
plugin_daemons() {
	local vm
	for vm in "${VMS[@]}"; do echo "$vm/ovn-docker-daemon $(plugin_pidfile "$vm")"; done
}
