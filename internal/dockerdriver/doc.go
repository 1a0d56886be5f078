// Package dockerdriver speaks Docker's plugin protocol for a remote
// network driver and a remote IPAM driver (libnetwork's remote.md and
// ipam.md): JSON over HTTP POST on a unix socket in /run/docker/plugins.
// It decodes requests, hands them to a NetworkDriver and an IPAMDriver,
// and encodes their answers; what a network, an address or an endpoint
// means is theirs to decide. Calls with nothing to do for an OVN network
// (discovery, external connectivity) are answered here.
package dockerdriver
