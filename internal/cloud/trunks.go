package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/trunks"
)

// Trunk is a Neutron trunk: a parent port (the VM's) carrying the traffic
// of its subports, each told apart by a VLAN.
type Trunk struct {
	ID        string    `json:"id"`
	PortID    string    `json:"port_id"`
	ProjectID string    `json:"project_id"`
	Status    string    `json:"status"`
	Subports  []Subport `json:"sub_ports"`
}

// Subport is one port of a trunk with its VLAN.
type Subport struct {
	PortID string `json:"port_id"`
	VLAN   int    `json:"segmentation_id"`
}

// VLANHolder is the subport with that VLAN ("" if none).
func (t Trunk) VLANHolder(vlan int) string {
	for _, s := range t.Subports {
		if s.VLAN == vlan {
			return s.PortID
		}
	}
	return ""
}

// ExtTrunk is the alias of Neutron's trunk extension.
const ExtTrunk = "trunk"

func toTrunk(t trunks.Trunk) Trunk {
	out := Trunk{ID: t.ID, PortID: t.PortID, ProjectID: t.ProjectID, Status: t.Status}
	for _, s := range t.Subports {
		out.Subports = append(out.Subports, Subport{PortID: s.PortID, VLAN: s.SegmentationID})
	}
	return out
}

// FindTrunk finds the caller's trunk whose parent is portID (ErrNotFound if
// there is none). Neutron only shows trunks of the caller's project.
func (c *Client) FindTrunk(ctx context.Context, portID string) (Trunk, error) {
	pages, err := trunks.List(c.net, trunks.ListOpts{PortID: portID}).AllPages(ctx)
	if err != nil {
		return Trunk{}, c.apiError(fmt.Sprintf("looking for the trunk of port %s", portID), err)
	}
	ts, err := trunks.ExtractTrunks(pages)
	if err != nil {
		return Trunk{}, fmt.Errorf("looking for the trunk of port %s: %w", portID, err)
	}
	for _, t := range ts {
		if t.PortID == portID {
			return toTrunk(t), nil
		}
	}
	return Trunk{}, fmt.Errorf("trunk of port %s: %w", portID, ErrNotFound)
}

// GetTrunk fetches a trunk by id.
func (c *Client) GetTrunk(ctx context.Context, id string) (Trunk, error) {
	t, err := trunks.Get(ctx, c.net, id).Extract()
	if err != nil {
		return Trunk{}, c.apiError(fmt.Sprintf("getting trunk %s", id), err)
	}
	return toTrunk(*t), nil
}

// CreateTrunk makes portID a trunk's parent. Neutron refuses a port that is
// not the caller's (404) or that is a trunk's parent already (409): the
// caller then reads the existing trunk (see EnsureTrunk).
func (c *Client) CreateTrunk(ctx context.Context, portID, name string) (Trunk, error) {
	up := true
	t, err := trunks.Create(ctx, c.net, trunks.CreateOpts{PortID: portID, Name: name, AdminStateUp: &up, Subports: []trunks.Subport{}}).Extract()
	if err != nil {
		return Trunk{}, c.apiError(fmt.Sprintf("making VM port %s a trunk's parent", portID), err)
	}
	return toTrunk(*t), nil
}

// EnsureTrunk returns the trunk whose parent is portID, creating it if
// there is none. Of two processes creating it at once, Neutron lets one
// win; the other reads the winner's trunk.
func (c *Client) EnsureTrunk(ctx context.Context, portID, name string) (Trunk, error) {
	t, err := c.FindTrunk(ctx, portID)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return t, err
	}
	t, err = c.CreateTrunk(ctx, portID, name)
	if err == nil {
		return t, nil
	}
	if t2, ferr := c.FindTrunk(ctx, portID); ferr == nil {
		return t2, nil
	}
	return Trunk{}, err
}

// AddSubport adds portID to the trunk with VLAN vlan. A VLAN used on the
// trunk already is refused with 409 (ErrConflict), as are other states of
// the trunk: GetTrunk tells which.
func (c *Client) AddSubport(ctx context.Context, trunkID, portID string, vlan int) error {
	_, err := trunks.AddSubports(ctx, c.net, trunkID, trunks.AddSubportsOpts{Subports: []trunks.Subport{
		{PortID: portID, SegmentationType: "vlan", SegmentationID: vlan},
	}}).Extract()
	if err != nil {
		return c.apiError(fmt.Sprintf("adding port %s to trunk %s with VLAN %d", portID, trunkID, vlan), err)
	}
	return nil
}

// RemoveSubport takes portID off the trunk; a port or trunk that is gone,
// or a port that is not on the trunk, is not an error.
func (c *Client) RemoveSubport(ctx context.Context, trunkID, portID string) error {
	_, err := trunks.RemoveSubports(ctx, c.net, trunkID, trunks.RemoveSubportsOpts{Subports: []trunks.RemoveSubport{{PortID: portID}}}).Extract()
	if err != nil {
		err = c.apiError(fmt.Sprintf("removing port %s from trunk %s", portID, trunkID), err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}
