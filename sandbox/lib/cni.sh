# shellcheck shell=bash
# CNI in the VMs: Debian's containernetworking-plugins (/usr/lib/cni, in
# PACKAGES) next to the project's ovn-cni ($BIN), and cnitool, the CNI
# project's reference runtime, built from its Go module into $BIN. Each
# VM's `ovn-docker daemon` serves ovn-cni on the VM's
# /run/ovn-docker/cni.sock (its default).

CNITOOL_MODULE=github.com/containernetworking/cni/cnitool@v1.3.1

# build_cni_tools: cnitool, built once (the Go module cache keeps it).
build_cni_tools() {
	[[ -x $BIN/cnitool ]] && return 0
	log "building cnitool ($CNITOOL_MODULE)"
	GOBIN=$BIN CGO_ENABLED=0 go install "$CNITOOL_MODULE" || die "go install $CNITOOL_MODULE failed"
}
