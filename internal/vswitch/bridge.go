package vswitch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Bridge is an OVS bridge as seen in the VM's OVSDB.
type Bridge struct {
	Name         string
	DatapathType string   // "netdev" for the userspace datapath, "" or "system" for the kernel one
	Ports        []string // port names, sorted
	ExternalIDs  map[string]string
}

// Bridges lists the bridges, sorted by name.
func (c *Client) Bridges(ctx context.Context) ([]Bridge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ports := c.ports()
	var out []Bridge
	for _, b := range c.bridges() {
		br := Bridge{Name: b.Name, DatapathType: b.DatapathType, ExternalIDs: maps.Clone(b.ExternalIDs)}
		for _, uuid := range b.Ports {
			if p, ok := ports[uuid]; ok {
				br.Ports = append(br.Ports, p.Name)
			}
		}
		slices.Sort(br.Ports)
		out = append(out, br)
	}
	slices.SortFunc(out, func(a, b Bridge) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DefaultBridge returns the VM's only bridge. With none it fails with
// ErrNoBridge, with several with ErrManyBridges naming them.
func (c *Client) DefaultBridge(ctx context.Context) (Bridge, error) {
	brs, err := c.Bridges(ctx)
	if err != nil {
		return Bridge{}, err
	}
	switch len(brs) {
	case 0:
		return Bridge{}, fmt.Errorf("%w in the OVSDB at %s: create the VM bridge (its uplink is the VM's NIC) first", ErrNoBridge, c.endpoint)
	case 1:
		return brs[0], nil
	}
	names := make([]string, len(brs))
	for i, b := range brs {
		names[i] = b.Name
	}
	return Bridge{}, fmt.Errorf("%w in the OVSDB at %s (%s): pass --bridge with the one whose uplink is the VM's NIC",
		ErrManyBridges, c.endpoint, strings.Join(names, ", "))
}

// bridgeByName returns the bridge's UUID or "".
func (c *Client) bridgeUUID(name string) string {
	for uuid, b := range c.bridges() {
		if b.Name == name {
			return uuid
		}
	}
	return ""
}

func (c *Client) bridgeNames() []string {
	var names []string
	for _, b := range c.bridges() {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return names
}
