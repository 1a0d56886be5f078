# shellcheck shell=bash
# Installs the Debian packages the sandbox needs, touching apt only when
# something is missing. The OpenStack cloud's packages come only when that
# cloud is asked for.

PACKAGES=(openvswitch-switch ovn-central ovn-host docker.io busybox-static
	iproute2 iputils-ping ethtool tcpdump python3-openstackclient jq uuid-runtime curl docker-compose
	containernetworking-plugins podman)

# Debian's Keystone 22 and Neutron 21 (ML2 and its OVN driver are in
# python3-neutron), MariaDB for their databases, uwsgi to serve Keystone.
OPENSTACK_PACKAGES=(keystone neutron-server python3-neutron python3-keystonemiddleware
	python3-pymysql mariadb-server uwsgi-core uwsgi-plugin-python3)

# What the packages' maintainer scripts would otherwise do for a system-wide
# install: make databases, register endpoints, create an admin. The sandbox
# does all of that itself, privately.
OPENSTACK_DEBCONF='keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
keystone keystone/dbconfig-install boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
neutron-common neutron-common/dbconfig-install boolean false'

# ensure_no_service_start: Debian's maintainer scripts start packaged
# services through invoke-rc.d unless policy-rc.d forbids it (101).
ensure_no_service_start() {
	local f=/usr/sbin/policy-rc.d
	if [[ ! -x $f ]] || [[ $(sh "$f" 2>/dev/null; echo $?) != 101 ]]; then
		log "writing $f (exit 101) so that package installs start no services"
		printf '#!/bin/sh\nexit 101\n' >"$f"
		chmod 755 "$f"
	fi
}

# install_packages [CLOUD]
install_packages() {
	local cloud=${1:-neutrond} missing=() p want=("${PACKAGES[@]}")
	[[ $cloud == openstack ]] && want+=("${OPENSTACK_PACKAGES[@]}")
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	ensure_no_service_start
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [[ $cloud == openstack ]]; then
		command -v debconf-set-selections >/dev/null || apt-get install -y -qq debconf >/dev/null
		debconf-set-selections <<<"$OPENSTACK_DEBCONF" || die "debconf-set-selections failed"
	fi
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
}
