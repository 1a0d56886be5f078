# shellcheck shell=bash
# The cloud's identity: an admin and the tenants, with generated passwords
# kept only in the state dir (mode 0600).

ensure_identity() {
	local f=$S/identity.json
	[[ -s $f ]] && return 0
	local pw t json
	json='{"domain":"Default","users":[]}'
	for t in admin "${TENANTS[@]}"; do
		pw=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')
		json=$(jq --arg u "$t" --arg p "$pw" --argjson admin "$([[ $t == admin ]] && echo true || echo false)" \
			--arg uid "$(uuidgen -r | tr -d -)" --arg pid "$(uuidgen -r | tr -d -)" \
			'.users += [{name:$u, user_id:$uid, project:$u, project_id:$pid, password:$p, admin:$admin}]' <<<"$json")
	done
	(umask 077 && printf '%s\n' "$json" >"$f")
}

# tenant_field TENANT FIELD
tenant_field() {
	jq -er --arg t "$1" --arg f "$2" '.users[] | select(.name==$t) | .[$f]' "$S/identity.json" 2>/dev/null ||
		die "unknown tenant $1: known are admin ${TENANTS[*]}"
}
