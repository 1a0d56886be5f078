package vswitch

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

// AccessPort is a VLAN access port on the VM bridge: an OVS Port and its
// one Interface, both named NewPortName(VLAN).
type AccessPort struct {
	Name        string
	Bridge      string
	VLAN        int
	ExternalIDs map[string]string // of the Port, including the ownership marker
	OFPort      int               // > 0 once ovs-vswitchd has opened the device; 0 unknown, -1 failed
	Error       string            // Interface "error" column, e.g. the veth does not exist yet
}

// maxClaimConflicts bounds the retries of ClaimVLAN. Each conflict means
// another claimer took a VLAN, so this is only reached under a storm of
// concurrent claims from other processes.
const maxClaimConflicts = 512

// errTaken: the guard found the VLAN or its name already used.
var errTaken = errors.New("VLAN taken meanwhile")

// ClaimVLAN claims the lowest free VLAN on bridge that is not in avoid: in
// one transaction it inserts a Port (a fresh NewPortName(vlan), tag vlan) and its Interface (the
// veth may be created later; ovs-vswitchd opens it when it appears) and
// adds the Port to the bridge. "wait" operations make the transaction fail
// if any Port already has that tag or any Port/Interface that name, so
// concurrent claimers, in this process or others, never share a VLAN; the
// loser moves on to the next VLAN. externalIDs go on both rows, plus the
// ownership marker. It returns once the client's cache shows the new rows.
func (c *Client) ClaimVLAN(ctx context.Context, bridge string, externalIDs map[string]string, avoid map[int]bool) (AccessPort, error) {
	ids := maps.Clone(externalIDs)
	if ids == nil {
		ids = map[string]string{}
	}
	ids[OwnerKey] = OwnerValue
	lost := maps.Clone(avoid)
	if lost == nil {
		lost = map[int]bool{}
	}
	avoided := len(lost)
	for {
		if c.bridgeUUID(bridge) == "" {
			return AccessPort{}, c.noBridge(bridge)
		}
		vlan, err := c.reserve(lost)
		if err != nil {
			return AccessPort{}, err
		}
		ap, err := c.tryClaim(ctx, bridge, vlan, ids)
		c.unreserve(vlan)
		if !errors.Is(err, errTaken) {
			return ap, err
		}
		lost[vlan] = true
		c.log.DebugContext(ctx, "VLAN taken by a concurrent claimer, trying the next", "vlan", vlan, "bridge", bridge)
		if len(lost)-avoided >= maxClaimConflicts {
			return AccessPort{}, fmt.Errorf("claim a VLAN on bridge %s: lost %d races to concurrent claimers; retry", bridge, len(lost))
		}
	}
}

func (c *Client) noBridge(bridge string) error {
	return fmt.Errorf("%w named %q in the OVSDB at %s (bridges: %v): pass --bridge with an existing one",
		ErrNoBridge, bridge, c.endpoint, c.bridgeNames())
}

// reserve picks the lowest VLAN that the cache shows free and that no
// other goroutine of this Client is claiming, and marks it pending. The
// transaction's guard, not this choice, is what makes the claim safe; the
// pending set only keeps this process's goroutines from racing each other.
func (c *Client) reserve(lost map[int]bool) (int, error) {
	used := make([]bool, MaxVLAN+1)
	owned := 0
	for _, p := range c.ports() {
		if p.Tag != nil && *p.Tag >= MinVLAN && *p.Tag <= MaxVLAN {
			used[*p.Tag] = true
		}
		if v, err := VLANFromPortName(p.Name); err == nil {
			used[v] = true
		}
		if p.ExternalIDs[OwnerKey] == OwnerValue {
			owned++
		}
	}
	for _, i := range c.interfaces() {
		if v, err := VLANFromPortName(i.Name); err == nil {
			used[v] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for v := MinVLAN; v <= MaxVLAN; v++ {
		if !used[v] && !c.pending[v] && !lost[v] {
			c.pending[v] = true
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w on this VM: all %d VLANs are taken (%d by ovn-docker access ports); detach containers that no longer need the network, or run gc to free ports left by crashed attaches",
		ErrNoFreeVLAN, MaxVLAN-MinVLAN+1, owned)
}

func (c *Client) unreserve(vlan int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, vlan)
}

// Positions of the operations in the claim transaction.
const (
	opBridgeExists = iota
	opTagFree
	opPortNameFree
	opIfaceNameFree
	opInsertIface
	opInsertPort
	opAddToBridge
	numClaimOps
)

func (c *Client) tryClaim(ctx context.Context, bridge string, vlan int, ids map[string]string) (AccessPort, error) {
	name := NewPortName(vlan)
	ops := make([]ovsdb.Operation, numClaimOps)
	ops[opBridgeExists] = waitPresent(vswitchd.BridgeTable, "name", bridge)
	ops[opTagFree] = waitAbsent(vswitchd.PortTable, "tag", vlan)
	ops[opPortNameFree] = waitAbsent(vswitchd.PortTable, "name", name)
	ops[opIfaceNameFree] = waitAbsent(vswitchd.InterfaceTable, "name", name)
	ops[opInsertIface] = ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.InterfaceTable, UUIDName: "iface",
		Row: ovsdb.Row{"name": name, "external_ids": ovsMap(ids)},
	}
	ops[opInsertPort] = ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.PortTable, UUIDName: "port",
		Row: ovsdb.Row{"name": name, "tag": vlan, "interfaces": uuidSet("iface"), "external_ids": ovsMap(ids)},
	}
	ops[opAddToBridge] = ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable,
		Where:     []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, bridge)},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationInsert, uuidSet("port"))},
	}
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		return AccessPort{}, fmt.Errorf("claim VLAN %d on bridge %s in %s: %w", vlan, bridge, c.endpoint, err)
	}
	if i, r := firstError(res); r != nil {
		switch {
		case i == opBridgeExists:
			return AccessPort{}, c.noBridge(bridge)
		case i >= opTagFree && i <= opIfaceNameFree:
			return AccessPort{}, errTaken
		case i >= numClaimOps && r.Error == "constraint violation":
			// A same-named row committed between our guard and our commit
			// cannot happen within one server, but a name clash reported at
			// commit time means the same thing: someone else has it.
			return AccessPort{}, errTaken
		}
		return AccessPort{}, fmt.Errorf("claim VLAN %d on bridge %s in %s: operation %d: %s: %s", vlan, bridge, c.endpoint, i, r.Error, r.Details)
	}
	if len(res) < numClaimOps {
		return AccessPort{}, fmt.Errorf("claim VLAN %d on bridge %s in %s: %d results for %d operations", vlan, bridge, c.endpoint, len(res), numClaimOps)
	}
	portUUID, ifaceUUID := res[opInsertPort].UUID.GoUUID, res[opInsertIface].UUID.GoUUID
	err = c.waitCache(ctx, "the claimed port "+name, func() bool {
		return c.hasRow(vswitchd.PortTable, portUUID) && c.hasRow(vswitchd.InterfaceTable, ifaceUUID)
	})
	if err != nil {
		// The claim is committed; the caller's rollback is Release(name).
		return AccessPort{Name: name, Bridge: bridge, VLAN: vlan, ExternalIDs: ids}, err
	}
	ap := AccessPort{Name: name, Bridge: bridge, VLAN: vlan, ExternalIDs: ids}
	if m := c.ovs.Cache().Table(vswitchd.InterfaceTable).Row(ifaceUUID); m != nil {
		iface := m.(*vswitchd.Interface)
		ap.OFPort, ap.Error = deref(iface.Ofport), deref(iface.Error)
	}
	c.log.DebugContext(ctx, "claimed VLAN", "vlan", vlan, "port", name, "bridge", bridge)
	return ap, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
