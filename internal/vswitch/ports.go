package vswitch

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

// Release removes the access port (Port and Interface) from its bridge in
// one transaction and returns once the cache no longer shows it, so the
// VLAN is free for the next ClaimVLAN. A missing port is not an error. A
// port without the ownership marker is refused with ErrNotOwned.
func (c *Client) Release(ctx context.Context, portName string) error {
	portUUID, port := c.portByName(portName)
	if port == nil {
		return nil
	}
	if port.ExternalIDs[OwnerKey] != OwnerValue {
		return fmt.Errorf("release port %s in %s: %w (it lacks external_ids:%s=%s); remove it with ovs-vsctl del-port if it is really unused",
			portName, c.endpoint, ErrNotOwned, OwnerKey, OwnerValue)
	}
	ops := []ovsdb.Operation{{
		// Whichever bridge holds it; no-op if someone released it already.
		Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable,
		Where:     []ovsdb.Condition{ovsdb.NewCondition("ports", ovsdb.ConditionIncludes, uuidSet(portUUID))},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationDelete, uuidSet(portUUID))},
	}, {
		Op: ovsdb.OperationDelete, Table: vswitchd.PortTable,
		Where: []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: portUUID})},
	}}
	for _, iface := range port.Interfaces {
		ops = append(ops, ovsdb.Operation{
			Op: ovsdb.OperationDelete, Table: vswitchd.InterfaceTable,
			Where: []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: iface})},
		})
	}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("release port %s in %s: %w", portName, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		return fmt.Errorf("release port %s in %s: operation %d: %s: %s", portName, c.endpoint, i, r.Error, r.Details)
	}
	err = c.waitCache(ctx, "the release of "+portName, func() bool {
		return !c.hasRow(vswitchd.PortTable, portUUID)
	})
	if err != nil {
		return err
	}
	c.log.DebugContext(ctx, "released access port", "port", portName)
	return nil
}

// SetExternalIDs sets (inserts or replaces) keys in external_ids of the
// Port and the Interface named portName; other keys are kept. ErrNotFound
// if there is no such port.
func (c *Client) SetExternalIDs(ctx context.Context, portName string, externalIDs map[string]string) error {
	if len(externalIDs) == 0 {
		if _, p := c.portByName(portName); p == nil {
			return fmt.Errorf("set external_ids of port %s in %s: %w", portName, c.endpoint, ErrNotFound)
		}
		return nil
	}
	// OVSDB's map "insert" keeps an existing key's value, so delete the
	// keys first; both mutations apply in order within one operation.
	mutations := []ovsdb.Mutation{
		*ovsdb.NewMutation("external_ids", ovsdb.MutateOperationDelete, keySet(externalIDs)),
		*ovsdb.NewMutation("external_ids", ovsdb.MutateOperationInsert, ovsMap(externalIDs)),
	}
	where := []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, portName)}
	ops := []ovsdb.Operation{
		{Op: ovsdb.OperationMutate, Table: vswitchd.PortTable, Where: where, Mutations: mutations},
		{Op: ovsdb.OperationMutate, Table: vswitchd.InterfaceTable, Where: where, Mutations: mutations},
	}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("set external_ids of port %s in %s: %w", portName, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		return fmt.Errorf("set external_ids of port %s in %s: operation %d: %s: %s", portName, c.endpoint, i, r.Error, r.Details)
	}
	if len(res) == 0 || res[0].Count == 0 {
		return fmt.Errorf("set external_ids of port %s in %s: %w", portName, c.endpoint, ErrNotFound)
	}
	return c.waitCache(ctx, "external_ids of "+portName, func() bool {
		_, p := c.portByName(portName)
		if p == nil {
			return true // deleted meanwhile; nothing left to wait for
		}
		for k, v := range externalIDs {
			if p.ExternalIDs[k] != v {
				return false
			}
		}
		return true
	})
}

// AccessPorts lists the ports that carry the ownership marker, sorted by
// VLAN (ports without a tag sort first, as VLAN 0).
func (c *Client) AccessPorts(ctx context.Context) ([]AccessPort, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bridgeOf := map[string]string{}
	for _, b := range c.bridges() {
		for _, p := range b.Ports {
			bridgeOf[p] = b.Name
		}
	}
	ifaces := c.interfaces()
	var out []AccessPort
	for uuid, p := range c.ports() {
		if p.ExternalIDs[OwnerKey] != OwnerValue {
			continue
		}
		ap := AccessPort{Name: p.Name, Bridge: bridgeOf[uuid], VLAN: deref(p.Tag), ExternalIDs: maps.Clone(p.ExternalIDs)}
		if len(p.Interfaces) > 0 {
			if i, ok := ifaces[p.Interfaces[0]]; ok {
				ap.OFPort, ap.Error = deref(i.Ofport), deref(i.Error)
			}
		}
		out = append(out, ap)
	}
	slices.SortFunc(out, func(a, b AccessPort) int {
		return cmp.Or(cmp.Compare(a.VLAN, b.VLAN), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// WaitInterfaceUp waits until ovs-vswitchd has opened the interface, i.e.
// given it an ofport > 0. ctx bounds the wait; on expiry the error carries
// the Interface's "error" column, which says why (e.g. no such device).
func (c *Client) WaitInterfaceUp(ctx context.Context, portName string) error {
	if _, i := c.interfaceByName(portName); i == nil {
		return fmt.Errorf("wait for interface %s in %s: %w", portName, c.endpoint, ErrNotFound)
	}
	var lastErr string
	var ofport int
	err := c.waitCache(ctx, "ovs-vswitchd to open interface "+portName, func() bool {
		_, i := c.interfaceByName(portName)
		if i == nil {
			return true // reported below
		}
		ofport, lastErr = deref(i.Ofport), deref(i.Error)
		return ofport > 0
	})
	if err != nil {
		if lastErr != "" {
			return fmt.Errorf("%w (interface error: %s)", err, lastErr)
		}
		return fmt.Errorf("%w (ofport %d; is ovs-vswitchd running on this OVSDB?)", err, ofport)
	}
	if ofport <= 0 {
		return fmt.Errorf("wait for interface %s in %s: %w (removed while waiting)", portName, c.endpoint, ErrNotFound)
	}
	return nil
}
