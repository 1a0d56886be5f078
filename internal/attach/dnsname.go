package attach

import (
	"context"
	"strings"
)

// PortNamer sets a port's dns_name (and its device_id with it: ML2/OVN
// writes DNS records only for a port that has both). Only where the cloud
// has Neutron's dns-integration extension.
type PortNamer interface {
	SetPortDNSName(ctx context.Context, portID, dnsName, deviceID string) error
}

// KeyDNSName: the dns_name a pool port was given while attached, cleared
// when it goes back to the pool.
const KeyDNSName = "ovn-docker:dns-name"

// maxDNSLabel is the longest DNS label (RFC 1035).
const maxDNSLabel = 63

// DNSLabel makes a container's name a DNS label as Neutron accepts one
// for dns_name: lower case, letters, digits and inner hyphens, at most 63
// characters. Docker's other name characters (_ and .) become hyphens,
// anything else is dropped. ok is false when nothing usable is left.
func DNSLabel(name string) (label string, ok bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimPrefix(name, "/")) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '_' || r == '.':
			b.WriteByte('-')
		}
	}
	label = strings.Trim(b.String(), "-")
	if len(label) > maxDNSLabel {
		label = strings.TrimRight(label[:maxDNSLabel], "-")
	}
	return label, label != ""
}

// dnsNameFor is the dns_name req's port gets: "" when the cloud names no
// ports or req's name cannot be made a label (logged, never an error).
func (a *Attacher) dnsNameFor(req Request) string {
	if a.DNS == nil || req.Name == "" {
		return ""
	}
	label, ok := DNSLabel(req.Name)
	if !ok {
		a.log().Debug("the container's name cannot be made a DNS label; its port gets no dns_name", "name", req.Name)
		return ""
	}
	return label
}

// nameAfter names a port that exists already (a pool port, a trunk's
// subport): a failure costs the container its DNS name only, so it is
// logged, not returned.
func (a *Attacher) nameAfter(ctx context.Context, portID, dnsName, deviceID string) bool {
	if err := a.DNS.SetPortDNSName(ctx, portID, dnsName, deviceID); err != nil {
		a.log().Warn("setting the port's dns_name failed; the container cannot be resolved by name", "port", portID, "dns_name", dnsName, "err", err)
		return false
	}
	return true
}

// nameInBackground names a port made without a device_id (a pool port, a
// subport) without making the attach wait: the update (4.5 ms p50 from a
// VM on ovn-neutrond, about 0.5 s on real Neutron) would be most of a
// pool attach. It runs while the container is created and started;
// WaitNamed waits for it before the process exits, and the port's return
// to the pool waits for it before clearing the name.
func (a *Attacher) nameInBackground(ctx context.Context, portID, dnsName, deviceID string) {
	if dnsName == "" {
		return
	}
	done := make(chan struct{})
	a.mu.Lock()
	if a.naming == nil {
		a.naming = map[string]chan struct{}{}
	}
	a.naming[portID] = done
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			if a.naming[portID] == done {
				delete(a.naming, portID)
			}
			a.mu.Unlock()
			close(done)
		}()
		a.nameAfter(ctx, portID, dnsName, deviceID)
	}()
}

// waitNamed waits until no naming of portID is in flight.
func (a *Attacher) waitNamed(portID string) {
	a.mu.Lock()
	ch := a.naming[portID]
	a.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// WaitNamed waits until every port naming this Attacher started in the
// background is done; a process calls it before it exits.
func (a *Attacher) WaitNamed() {
	a.mu.Lock()
	var chs []chan struct{}
	for _, ch := range a.naming {
		chs = append(chs, ch)
	}
	a.mu.Unlock()
	for _, ch := range chs {
		<-ch
	}
}
