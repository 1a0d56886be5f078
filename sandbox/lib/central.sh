# shellcheck shell=bash
# OVN central: Northbound and Southbound ovsdb-servers and ovn-northd, in the
# host's network namespace (NB is also on TCP loopback for host tools).

start_central() {
	local d=$CENTRAL
	mkdir -p "$d"
	if ! pidfile_alive "$d/nb.pid"; then
		# ovsdb-server only logs a failed listen and retries: check first.
		port_free "$NB_PORT" || die "TCP 127.0.0.1:$NB_PORT (NB DB) is in use: set SANDBOX_NB_PORT to a free port"
		[[ -f $d/nb.db ]] || ovsdb-tool create "$d/nb.db" /usr/share/ovn/ovn-nb.ovsschema
		rm -f "$NB_SOCK"
		run_priv "" "$d" ovsdb-server -vconsole:off "$d/nb.db" \
			--remote="punix:$NB_SOCK" --remote="ptcp:$NB_PORT:127.0.0.1" \
			--remote=db:OVN_Northbound,NB_Global,connections \
			--pidfile="$d/nb.pid" --unixctl="$d/nb.ctl" --log-file="$d/nb.log" \
			--detach --no-chdir ||
			die "NB ovsdb-server failed to start (is TCP 127.0.0.1:$NB_PORT free? set SANDBOX_NB_PORT); see $d/nb.log"
		ovn-nbctl --db="$NB_DB" --no-wait init
	fi
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
