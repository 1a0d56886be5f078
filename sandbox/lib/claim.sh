# shellcheck shell=bash
# Instance ownership. An instance holds claims on its name and its index
# (the management subnet and the ports derived from it): files under
# $CLAIM_DIR naming its state dir, taken by `up` and released by `down`. A
# claim held by another state dir that is still live (it lists the claim in
# its own $S/claims) refuses `up`; one whose dir is gone or no longer lists
# it is stale and taken over. What an instance makes outside its state dir is
# recorded in $S/created before it is made (see record), and `down` removes
# only that.

CLAIM_DIR=/run/ovn-docker-sandbox

# instance_claims: the claims this instance needs.
instance_claims() {
	echo "name-$N"
	echo "index-$IDX"
}

# claim_holder_live DIR KEY: DIR is a live instance that holds KEY.
claim_holder_live() {
	[[ -d $1 ]] && grep -qxF "$2" "$1/claims" 2>/dev/null
}

# claim_instance: takes this instance's claims, or fails naming the live
# instance that holds one, before anything of the instance is made.
claim_instance() {
	local key owner held
	if [[ -s $S/claims ]] && ! grep -qxF "name-$N" "$S/claims"; then
		held=$(sed -n 's/^name-//p' "$S/claims")
		die "$S holds instance '$held', not '$N': use SANDBOX_NAME=$held, or 'SANDBOX_NAME=$held sandbox/sandbox down' first"
	fi
	mkdir -p "$CLAIM_DIR"
	exec {lock}>"$CLAIM_DIR/.lock"
	flock "$lock"
	for key in $(instance_claims); do
		owner=$(cat "$CLAIM_DIR/$key" 2>/dev/null || true)
		[[ -z $owner || $owner == "$S" ]] && continue
		if claim_holder_live "$owner" "$key"; then
			case $key in
			name-*) die "sandbox name '$N' is in use by the instance in $owner: pick another SANDBOX_NAME, or use SANDBOX_DIR=$owner" ;;
			index-*) die "sandbox index $IDX (169.254.$IDX.0/24, ports $NB_PORT/$API_PORT) is in use by the instance in $owner: set SANDBOX_INDEX to another value (1-254)" ;;
			esac
		fi
		log "claim $key of $owner is stale (that instance is gone): taking it"
	done
	# An instance that holds no claim (made by an older sandbox script) may
	# still use the subnet: its address on a host link says so.
	held=$(ip -4 -o addr show to "$MGMT_NET.0/24" 2>/dev/null | awk '{print $2}' | grep -vxF "$MGMT_BR" | head -n 1 || true)
	[[ -z $held ]] || die "169.254.$IDX.0/24 is on host link $held (another sandbox's?): set SANDBOX_INDEX to another value (1-254)"
	mkdir -p "$S"
	instance_claims >"$S/claims"
	for key in $(instance_claims); do echo "$S" >"$CLAIM_DIR/$key"; done
	flock -u "$lock"
	exec {lock}>&-
}

# release_claims: drops the claims of this state dir (those it lists and
# that still name it).
release_claims() {
	local key
	[[ -r $S/claims ]] || return 0
	while read -r key; do
		[[ -n $key && $(cat "$CLAIM_DIR/$key" 2>/dev/null) == "$S" ]] && rm -f "$CLAIM_DIR/$key"
	done <"$S/claims"
	return 0
}
