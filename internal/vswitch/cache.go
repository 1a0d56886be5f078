package vswitch

import (
	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

// Snapshot accessors over the monitor cache. The returned models are shared
// with the cache and must not be modified.

func (c *Client) ports() map[string]*vswitchd.Port {
	out := map[string]*vswitchd.Port{}
	tc := c.ovs.Cache()
	if tc == nil {
		return out
	}
	for uuid, m := range tc.Table(vswitchd.PortTable).RowsShallow() {
		if p, ok := m.(*vswitchd.Port); ok {
			out[uuid] = p
		}
	}
	return out
}

func (c *Client) interfaces() map[string]*vswitchd.Interface {
	out := map[string]*vswitchd.Interface{}
	tc := c.ovs.Cache()
	if tc == nil {
		return out
	}
	for uuid, m := range tc.Table(vswitchd.InterfaceTable).RowsShallow() {
		if i, ok := m.(*vswitchd.Interface); ok {
			out[uuid] = i
		}
	}
	return out
}

func (c *Client) bridges() map[string]*vswitchd.Bridge {
	out := map[string]*vswitchd.Bridge{}
	tc := c.ovs.Cache()
	if tc == nil {
		return out
	}
	for uuid, m := range tc.Table(vswitchd.BridgeTable).RowsShallow() {
		if b, ok := m.(*vswitchd.Bridge); ok {
			out[uuid] = b
		}
	}
	return out
}

// portByName returns the port's UUID and row, or "" and nil.
func (c *Client) portByName(name string) (string, *vswitchd.Port) {
	for uuid, p := range c.ports() {
		if p.Name == name {
			return uuid, p
		}
	}
	return "", nil
}

func (c *Client) interfaceByName(name string) (string, *vswitchd.Interface) {
	for uuid, i := range c.interfaces() {
		if i.Name == name {
			return uuid, i
		}
	}
	return "", nil
}

func (c *Client) hasRow(table, uuid string) bool {
	tc := c.ovs.Cache()
	return tc != nil && tc.Table(table).HasRow(uuid)
}
