# shellcheck shell=bash
# Installs the Debian packages the sandbox needs, touching apt only when
# something is missing.

PACKAGES=(openvswitch-switch ovn-central ovn-host docker.io busybox-static
	iproute2 iputils-ping ethtool tcpdump python3-openstackclient jq uuid-runtime curl)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
}
