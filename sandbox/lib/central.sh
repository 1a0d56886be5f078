# shellcheck shell=bash
# OVN central: Northbound and Southbound ovsdb-servers and ovn-northd, in the
# host's network namespace (NB is also on TCP loopback for host tools). NB
# may be a RAFT cluster (see NB_MEMBERS).

# start_nb_member I: NB member I (the only NB when not clustered); member 1
# creates the cluster, the others join it.
start_nb_member() {
	local i=$1 db pid sock ctl log raft=()
	db=$(nb_member_file "$i" db)
	pid=$(nb_member_file "$i" pid)
	sock=$(nb_member_file "$i" sock)
	ctl=$(nb_member_file "$i" ctl)
	log=$(nb_member_file "$i" log)
	pidfile_alive "$pid" && return 0
	# ovsdb-server only logs a failed listen and retries: check first.
	if ((i == 1)); then
		port_free "$NB_PORT" || die "TCP 127.0.0.1:$NB_PORT (NB DB) is in use: set SANDBOX_NB_PORT to a free port"
	fi
	if ((NB_MEMBERS > 1)); then
		local addr
		addr=$(nb_raft_addr "$i")
		port_free "${addr##*:}" || die "TCP ${addr#tcp:} (NB cluster member $i) is in use: set SANDBOX_INDEX to another instance index"
		if [[ ! -f $db ]]; then
			if ((i == 1)); then
				ovsdb-tool create-cluster "$db" /usr/share/ovn/ovn-nb.ovsschema "$addr"
			else
				ovsdb-tool join-cluster "$db" OVN_Northbound "$addr" "$(nb_raft_addr 1)"
			fi
		fi
	else
		[[ -f $db ]] || ovsdb-tool create "$db" /usr/share/ovn/ovn-nb.ovsschema
	fi
	((i == 1)) && raft+=(--remote="ptcp:$NB_PORT:127.0.0.1")
	rm -f "$sock"
	run_priv "" "$CENTRAL" ovsdb-server -vconsole:off "$db" \
		--remote="punix:$sock" "${raft[@]}" \
		--remote=db:OVN_Northbound,NB_Global,connections \
		--pidfile="$pid" --unixctl="$ctl" --log-file="$log" \
		--detach --no-chdir ||
		die "NB ovsdb-server $i failed to start; see $log"
}

# nb_cluster_formed: every NB member says it is a cluster member and one
# is the leader.
nb_cluster_formed() {
	local i out leaders=0
	for ((i = 1; i <= NB_MEMBERS; i++)); do
		out=$(ovs-appctl -t "$(nb_member_file "$i" ctl)" cluster/status OVN_Northbound 2>/dev/null) || return 1
		grep -q 'Status: cluster member' <<<"$out" || return 1
		grep -q 'Role: leader' <<<"$out" && leaders=$((leaders + 1))
	done
	((leaders == 1))
}


start_central() {
	local d=$CENTRAL i
	mkdir -p "$d"
	for ((i = 1; i <= NB_MEMBERS; i++)); do start_nb_member "$i"; done
	((NB_MEMBERS == 1)) || wait_for 30 "the NB cluster to form; see $d/nb*.log" nb_cluster_formed
	ovn-nbctl --db="$NB_DB" --timeout=30 --no-wait init
	if ! pidfile_alive "$d/sb.pid"; then
		[[ -f $d/sb.db ]] || ovsdb-tool create "$d/sb.db" /usr/share/ovn/ovn-sb.ovsschema
		rm -f "$SB_SOCK"
		run_priv "" "$d" ovsdb-server -vconsole:off "$d/sb.db" \
			--remote="punix:$SB_SOCK" --remote=db:OVN_Southbound,SB_Global,connections \
			--pidfile="$d/sb.pid" --unixctl="$d/sb.ctl" --log-file="$d/sb.log" \
			--detach --no-chdir || die "SB ovsdb-server failed to start; see $d/sb.log"
		ovn-sbctl --db="$SB_DB" init
	fi
	if ! pidfile_alive "$d/northd.pid"; then
		run_priv "" "$d" ovn-northd -vconsole:off --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB" \
			--pidfile="$d/northd.pid" --unixctl="$d/northd.ctl" --log-file="$d/northd.log" \
			--detach --no-chdir || die "ovn-northd failed to start; see $d/northd.log"
	fi
}
