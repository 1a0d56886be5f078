// Package netdev creates and removes the veth pairs that connect a
// container's network namespace to the VM bridge, through netlink (no
// ip/ethtool processes). Netlink is the real implementation; Fake is an
// in-memory stand-in for consumers' unit tests.
package netdev

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
)

// ErrExists: a link with the requested name is already there. The caller
// decides whether it is stale (delete and retry) or in use.
var ErrExists = errors.New("link already exists")

// ErrNoLink: LinkMTU/LinkMAC asked about a link that does not exist.
var ErrNoLink = errors.New("no such link")

// IfaceConfig is the container side of a veth pair.
type IfaceConfig struct {
	Name      string // inside the container, e.g. "eth0"
	MAC       net.HardwareAddr
	Addresses []netip.Prefix // e.g. 10.1.0.5/24, fd00::5/64
	Gateways  []netip.Addr   // default route per family (v4 and/or v6); may be empty
	MTU       int            // 0: kernel default
	// DisableTxChecksum turns TX checksum offload off (ethtool -K … tx
	// off). Needed on a netdev (userspace) OVS bridge: it does not fill in
	// the checksums the kernel left to the "hardware", so TCP hangs.
	DisableTxChecksum bool
	// NoIPv6AddrGen turns IPv6 address generation off on the interface
	// before it goes up, so that an interface without addresses sends
	// nothing (no link-local address, hence no DAD or router
	// solicitation): a pool entry's peer parked in the VM. The setting
	// does not follow the interface into another namespace: the kernel
	// makes its IPv6 state afresh there.
	NoIPv6AddrGen bool
}

// Netlink is the real implementation. Safe for concurrent use; it keeps no
// state besides the logger.
type Netlink struct {
	log *slog.Logger
}

// New returns the netlink implementation.
func New(log *slog.Logger) *Netlink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Netlink{log: log}
}
