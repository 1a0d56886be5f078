package vswitch

import (
	"context"
	"fmt"
	"maps"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

// State transitions of access ports that several processes may attempt at
// once (e.g. two attaches taking the same pooled port), and what reusing an
// access port for a new veth needs from ovs-vswitchd.

// externalIDsMutations sets the non-empty values of ids and removes the
// keys whose value is "". OVSDB's map "insert" keeps an existing key's
// value, so every key is deleted first; the mutations apply in order.
func externalIDsMutations(ids map[string]string) []ovsdb.Mutation {
	set := map[string]string{}
	for k, v := range ids {
		if v != "" {
			set[k] = v
		}
	}
	m := []ovsdb.Mutation{*ovsdb.NewMutation("external_ids", ovsdb.MutateOperationDelete, keySet(ids))}
	if len(set) > 0 {
		m = append(m, *ovsdb.NewMutation("external_ids", ovsdb.MutateOperationInsert, ovsMap(set)))
	}
	return m
}

// applied reports whether m shows every change of ids ("" = absent).
func applied(m map[string]string, ids map[string]string) bool {
	for k, v := range ids {
		if got, ok := m[k]; (v == "" && ok) || (v != "" && got != v) {
			return false
		}
	}
	return true
}

// UpdateExternalIDsIf changes external_ids of the Port and Interface named
// portName (keys with value "" are removed, others set) in one transaction
// that a "wait" operation (timeout 0) guards: it applies only if the Port's
// external_ids include every pair of expect at commit time. Otherwise it
// fails with ErrChanged and changes nothing, so of several processes
// attempting the same transition exactly one succeeds. ErrNotFound if the
// port does not exist.
func (c *Client) UpdateExternalIDsIf(ctx context.Context, portName string, expect, ids map[string]string) error {
	if _, p := c.portByName(portName); p == nil {
		return fmt.Errorf("update external_ids of port %s in %s: %w", portName, c.endpoint, ErrNotFound)
	}
	where := []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, portName)}
	guard := []ovsdb.Condition{where[0], ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes, ovsMap(expect))}
	ops := []ovsdb.Operation{{
		Op: ovsdb.OperationWait, Table: vswitchd.PortTable, Where: guard,
		Columns: []string{"name"}, Until: string(ovsdb.WaitConditionEqual),
		Rows: []ovsdb.Row{{"name": portName}}, Timeout: &zeroTimeout,
	}}
	if len(ids) > 0 {
		m := externalIDsMutations(ids)
		ops = append(ops,
			ovsdb.Operation{Op: ovsdb.OperationMutate, Table: vswitchd.PortTable, Where: where, Mutations: m},
			ovsdb.Operation{Op: ovsdb.OperationMutate, Table: vswitchd.InterfaceTable, Where: where, Mutations: m})
	}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("update external_ids of port %s in %s: %w", portName, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		if i == 0 {
			if _, p := c.portByName(portName); p == nil {
				return fmt.Errorf("update external_ids of port %s in %s: %w", portName, c.endpoint, ErrNotFound)
			}
			return fmt.Errorf("update external_ids of port %s in %s: %w", portName, c.endpoint, ErrChanged)
		}
		return fmt.Errorf("update external_ids of port %s in %s: operation %d: %s: %s", portName, c.endpoint, i, r.Error, r.Details)
	}
	return c.waitCache(ctx, "external_ids of "+portName, func() bool {
		_, p := c.portByName(portName)
		return p == nil || applied(p.ExternalIDs, ids)
	})
}

// SetBridgeExternalIDs changes external_ids of the bridge: keys with value
// "" are removed, others set; other keys are kept.
func (c *Client) SetBridgeExternalIDs(ctx context.Context, bridge string, ids map[string]string) error {
	if len(ids) == 0 {
		return nil
	}
	ops := []ovsdb.Operation{{
		Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable,
		Where:     []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, bridge)},
		Mutations: externalIDsMutations(ids),
	}}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("set external_ids of bridge %s in %s: %w", bridge, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		return fmt.Errorf("set external_ids of bridge %s in %s: operation %d: %s: %s", bridge, c.endpoint, i, r.Error, r.Details)
	}
	if len(res) == 0 || res[0].Count == 0 {
		return c.noBridge(bridge)
	}
	return c.waitCache(ctx, "external_ids of bridge "+bridge, func() bool {
		for _, b := range c.bridges() {
			if b.Name == bridge {
				return applied(b.ExternalIDs, ids)
			}
		}
		return true
	})
}

// parkingName names the stand-in Interface of a port whose Interface is
// being renewed. It is no access port name, so claims ignore it.
func parkingName(portName string) string { return portName + "p" }

// RenewInterface gives the access port a fresh Interface row of the same
// name, so that WaitInterfaceUp tells again when ovs-vswitchd has opened
// the port's next veth.
//
// Why: when the veth of an access port is deleted and the Interface row
// stays, ovs-vswitchd keeps the row's ofport (checked with OVS 3.1,
// userspace datapath), so for a veth made again under that name
// WaitInterfaceUp would return at once, before ovs-vswitchd has even seen
// the new device. ovs-vswitchd matches interfaces by name, so replacing
// the row in one transaction keeps the ofport too. Hence:
//
//  1. one transaction replaces the Interface by a stand-in of another
//     name and bumps next_cfg;
//  2. wait until ovs-vswitchd reports cur_cfg >= that next_cfg: it has
//     closed the old interface;
//  3. one transaction replaces the stand-in by a fresh Interface named
//     portName, which gets an ofport only once its device exists.
//
// The Port, its name and its tag (the VLAN claim) stay throughout. ctx
// bounds the wait for ovs-vswitchd; if it expires the port keeps the
// stand-in, which Release removes like any Interface.
func (c *Client) RenewInterface(ctx context.Context, portName string) error {
	portUUID, port := c.portByName(portName)
	if port == nil {
		return fmt.Errorf("renew interface of port %s in %s: %w", portName, c.endpoint, ErrNotFound)
	}
	if port.ExternalIDs[OwnerKey] != OwnerValue {
		return fmt.Errorf("renew interface of port %s in %s: %w", portName, c.endpoint, ErrNotOwned)
	}
	ids := maps.Clone(port.ExternalIDs)
	cfg, err := c.swapInterface(ctx, portUUID, port.Interfaces, parkingName(portName), ids, true)
	if err != nil {
		return err
	}
	if err := c.waitCache(ctx, "ovs-vswitchd to apply configuration "+fmt.Sprint(cfg), func() bool {
		return c.curCfg() >= cfg
	}); err != nil {
		return fmt.Errorf("%w (is ovs-vswitchd running on this OVSDB?)", err)
	}
	_, port = c.portByName(portName)
	if port == nil {
		return fmt.Errorf("renew interface of port %s in %s: %w (removed meanwhile)", portName, c.endpoint, ErrNotFound)
	}
	if _, err := c.swapInterface(ctx, portUUID, port.Interfaces, portName, maps.Clone(port.ExternalIDs), false); err != nil {
		return err
	}
	c.log.DebugContext(ctx, "renewed interface", "port", portName)
	return nil
}

// swapInterface replaces the Port's interfaces (old) by a new Interface
// named name, in one transaction; with bump it also increments next_cfg
// and returns its new value.
func (c *Client) swapInterface(ctx context.Context, portUUID string, old []string, name string, ids map[string]string, bump bool) (int, error) {
	ops := []ovsdb.Operation{{
		Op: ovsdb.OperationInsert, Table: vswitchd.InterfaceTable, UUIDName: "iface",
		Row: ovsdb.Row{"name": name, "external_ids": ovsMap(ids)},
	}, {
		Op: ovsdb.OperationMutate, Table: vswitchd.PortTable,
		Where: []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: portUUID})},
		Mutations: []ovsdb.Mutation{
			// Insert first: a Port must have an Interface after each mutation.
			*ovsdb.NewMutation("interfaces", ovsdb.MutateOperationInsert, uuidSet("iface")),
			*ovsdb.NewMutation("interfaces", ovsdb.MutateOperationDelete, uuidSet(old...)),
		},
	}}
	for _, u := range old {
		ops = append(ops, ovsdb.Operation{
			Op: ovsdb.OperationDelete, Table: vswitchd.InterfaceTable,
			Where: []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: u})},
		})
	}
	bumpAt := len(ops)
	if bump {
		// The one Open_vSwitch row, by uuid: libovsdb drops an empty
		// "where", which ovsdb-server requires for mutate.
		root, _ := c.openVSwitch()
		if root == "" {
			return 0, fmt.Errorf("renew interface %s in %s: no Open_vSwitch row", name, c.endpoint)
		}
		where := []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: root})}
		ops = append(ops, ovsdb.Operation{
			Op: ovsdb.OperationMutate, Table: vswitchd.OpenvSwitchTable, Where: where,
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("next_cfg", ovsdb.MutateOperationAdd, 1)},
		}, ovsdb.Operation{
			Op: ovsdb.OperationSelect, Table: vswitchd.OpenvSwitchTable, Where: where,
			Columns: []string{"next_cfg"},
		})
	}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return 0, fmt.Errorf("renew interface %s in %s: %w", name, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		return 0, fmt.Errorf("renew interface %s in %s: operation %d: %s: %s", name, c.endpoint, i, r.Error, r.Details)
	}
	if len(res) < len(ops) || res[1].Count == 0 {
		return 0, fmt.Errorf("renew interface %s in %s: %w (port removed meanwhile)", name, c.endpoint, ErrNotFound)
	}
	ifaceUUID := res[0].UUID.GoUUID
	if err := c.waitCache(ctx, "the new interface "+name, func() bool {
		return c.hasRow(vswitchd.InterfaceTable, ifaceUUID)
	}); err != nil {
		return 0, err
	}
	if !bump {
		return 0, nil
	}
	sel := res[bumpAt+1]
	if len(sel.Rows) == 0 {
		return 0, fmt.Errorf("renew interface %s in %s: no Open_vSwitch row", name, c.endpoint)
	}
	switch v := sel.Rows[0]["next_cfg"].(type) {
	case int:
		return v, nil
	case float64:
		return int(v), nil
	}
	return 0, fmt.Errorf("renew interface %s in %s: next_cfg is %T", name, c.endpoint, sel.Rows[0]["next_cfg"])
}

// openVSwitch returns the uuid and cur_cfg of the Open_vSwitch row.
func (c *Client) openVSwitch() (string, int) {
	tc := c.ovs.Cache()
	if tc == nil {
		return "", 0
	}
	for uuid, m := range tc.Table(vswitchd.OpenvSwitchTable).RowsShallow() {
		if o, ok := m.(*vswitchd.OpenvSwitch); ok {
			return uuid, o.CurCfg
		}
	}
	return "", 0
}

func (c *Client) curCfg() int {
	_, cfg := c.openVSwitch()
	return cfg
}
