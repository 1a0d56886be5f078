package ovn

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Network types of Neutron's provider extension that this server has.
const (
	NetworkTypeGeneve = "geneve"
	NetworkTypeVLAN   = "vlan"
	NetworkTypeFlat   = "flat"
)

// Ranges of segmentation ids (neutron_lib.constants).
const (
	minVLAN      = 1
	maxVLAN      = 4094
	maxGeneveVNI = 1<<24 - 1
)

// localnetPrefix names a provider network's localnet port as ML2/OVN
// does: provnet-<segment id>.
const localnetPrefix = "provnet-"

// Segment is a network's one segment (Neutron's provider attributes).
type Segment struct {
	ID              string
	NetworkType     string
	PhysicalNetwork string // "" for geneve
	SegmentationID  int    // 0 for flat
}

// ProviderSpec is what an admin asked for in provider:* attributes; nil
// pointers are attributes not given.
type ProviderSpec struct {
	NetworkType     *string
	PhysicalNetwork *string
	SegmentationID  *int
}

func (p ProviderSpec) empty() bool {
	return p.NetworkType == nil && p.PhysicalNetwork == nil && p.SegmentationID == nil
}

// physnetAllowed reports whether a physical network is configured for a
// network type (nil list: any name, like Neutron's flat_networks = *).
func physnetAllowed(list []string, name string) bool {
	return list == nil || slices.Contains(list, name)
}

func invalidInput(format string, args ...any) *Error {
	return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: "+format+".", args...)
}

// segmentFor validates a provider request as ML2's type drivers do
// (type_vlan, type_flat, type_tunnel: same messages) and returns the
// segment to reserve; a geneve segment without an id gets one allocated
// later (SegmentationID 0).
func (s *Store) segmentFor(p ProviderSpec) (Segment, error) {
	if p.empty() {
		return Segment{NetworkType: NetworkTypeGeneve}, nil
	}
	if p.NetworkType == nil || *p.NetworkType == "" {
		return Segment{}, invalidInput("network_type required")
	}
	seg := Segment{NetworkType: *p.NetworkType, PhysicalNetwork: deref(p.PhysicalNetwork, "")}
	if p.SegmentationID != nil {
		seg.SegmentationID = *p.SegmentationID
	}
	switch seg.NetworkType {
	case NetworkTypeVLAN:
		switch {
		case seg.PhysicalNetwork != "" && !physnetAllowed(s.cfg.VLANNetworks, seg.PhysicalNetwork):
			return Segment{}, invalidInput("physical_network '%s' unknown for VLAN provider network", seg.PhysicalNetwork)
		case seg.PhysicalNetwork != "" && p.SegmentationID != nil && (seg.SegmentationID < minVLAN || seg.SegmentationID > maxVLAN):
			return Segment{}, invalidInput("segmentation_id out of range (%d through %d)", minVLAN, maxVLAN)
		case seg.PhysicalNetwork == "" && p.SegmentationID != nil:
			return Segment{}, invalidInput("segmentation_id requires physical_network for VLAN provider network")
		case p.SegmentationID == nil:
			// Neutron would allocate one from network_vlan_ranges; this
			// server has no tenant VLAN ranges.
			return Segment{}, newErr(ErrUnavailable, "NoNetworkAvailable",
				"Unable to create the network. No tenant network is available for allocation.")
		}
	case NetworkTypeFlat:
		switch {
		case seg.PhysicalNetwork == "":
			return Segment{}, invalidInput("physical_network required for flat provider network")
		case !physnetAllowed(s.cfg.FlatNetworks, seg.PhysicalNetwork):
			return Segment{}, invalidInput("physical_network '%s' unknown for flat provider network", seg.PhysicalNetwork)
		case seg.SegmentationID != 0:
			return Segment{}, invalidInput("segmentation_id prohibited for flat provider network")
		}
	case NetworkTypeGeneve:
		switch {
		case seg.PhysicalNetwork != "":
			return Segment{}, invalidInput("provider:physical_network specified for geneve network")
		case p.SegmentationID != nil && (seg.SegmentationID < 1 || seg.SegmentationID > maxGeneveVNI):
			return Segment{}, invalidInput("segmentation_id out of range (1 through %d)", maxGeneveVNI)
		}
	default:
		return Segment{}, invalidInput("network_type value '%s' not supported", seg.NetworkType)
	}
	return seg, nil
}

// segmentKeys are the Logical_Switch external_ids that record a segment.
func segmentKeys(seg Segment) map[string]string {
	k := map[string]string{keyNetworkType: seg.NetworkType}
	if seg.PhysicalNetwork != "" {
		k[keyPhysicalNetwork] = seg.PhysicalNetwork
	}
	if seg.SegmentationID != 0 {
		k[keySegmentationID] = strconv.Itoa(seg.SegmentationID)
	}
	return k
}

// inUse is Neutron's error for a segment another network holds.
func inUse(seg Segment) *Error {
	switch seg.NetworkType {
	case NetworkTypeVLAN:
		return newErr(ErrConflict, "VlanIdInUse", "Unable to create the network. The VLAN %d on physical network %s is in use.",
			seg.SegmentationID, seg.PhysicalNetwork)
	case NetworkTypeFlat:
		return newErr(ErrConflict, "FlatNetworkInUse", "Unable to create the flat network. Physical network %s is in use.", seg.PhysicalNetwork)
	}
	return newErr(ErrConflict, "TunnelIdInUse", "Unable to create the network. The tunnel ID %d is in use.", seg.SegmentationID)
}

// segmentHolder returns the network holding seg's reservation, if any.
// Caller holds the view's read lock.
func (v *view) segmentHolder(seg Segment) *Network {
	for _, n := range v.networks {
		if n.Segment.NetworkType == seg.NetworkType && n.Segment.PhysicalNetwork == seg.PhysicalNetwork &&
			n.Segment.SegmentationID == seg.SegmentationID && n.Segment.ID != "" {
			return n
		}
	}
	return nil
}

// freeVNI returns a geneve VNI in [lo, hi] that no network holds, picked
// at random as Neutron does, so that concurrent creates (of this and
// other replicas) rarely pick the same one. Caller holds the view's read
// lock.
func (v *view) freeVNI(lo, hi int) (int, bool) {
	used := map[int]bool{}
	for _, n := range v.networks {
		if n.Segment.NetworkType == NetworkTypeGeneve {
			used[n.Segment.SegmentationID] = true
		}
	}
	for range 16 {
		if id := lo + rand.N(hi-lo+1); !used[id] {
			return id, true
		}
	}
	for id := lo; id <= hi; id++ {
		if !used[id] {
			return id, true
		}
	}
	return 0, false
}

// localnetPort is the LSP that connects a flat or VLAN network to its
// physical network, as ML2/OVN's create_provnet_port writes it.
func localnetPort(seg Segment) *nbdb.LogicalSwitchPort {
	lsp := &nbdb.LogicalSwitchPort{
		UUID:        "provnet",
		Name:        localnetPrefix + seg.ID,
		Type:        "localnet",
		Addresses:   []string{"unknown"},
		ExternalIDs: map[string]string{},
		Options: map[string]string{
			"network_name":        seg.PhysicalNetwork,
			"mcast_flood_reports": "true",
			"mcast_flood":         "false",
		},
	}
	if seg.NetworkType == NetworkTypeVLAN {
		tag := seg.SegmentationID
		lsp.Tag = &tag
	}
	return lsp
}

// segmentNamespace names the segment ids of physical segments.
var segmentNamespace = uuid.MustParse("5e6f1a2b-9c3d-4e8f-a0b1-c2d3e4f5a6b7")

// segmentID returns the id of a network's segment. A flat or VLAN
// segment's id is derived from what it reserves (a name-based UUID of
// type, physical network and VLAN), so its localnet port
// provnet-<segment id> exists once per reservation: NB's unique index on
// Logical_Switch_Port names makes the second of two creates racing for
// one VLAN fail atomically, in whichever replica it runs. A geneve
// segment's id is random, as in Neutron.
func segmentID(seg Segment) string {
	if seg.PhysicalNetwork == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(segmentNamespace, []byte(seg.NetworkType+"/"+seg.PhysicalNetwork+"/"+strconv.Itoa(seg.SegmentationID))).String()
}

func segmentFromExt(e map[string]string) Segment {
	seg := Segment{ID: e[keySegmentID], NetworkType: e[keyNetworkType], PhysicalNetwork: e[keyPhysicalNetwork]}
	seg.SegmentationID, _ = strconv.Atoi(e[keySegmentationID])
	if seg.NetworkType == "" {
		// Written before provider attributes existed: a tenant network.
		seg.NetworkType = NetworkTypeGeneve
	}
	return seg
}

// sameSegment refuses an update that changes provider attributes, as ML2
// does for network_type and physical_network. ML2 can move a VLAN
// network to another segmentation_id when every port is unbound; this
// server does not, and says so.
func sameSegment(have Segment, p ProviderSpec) error {
	if (p.NetworkType != nil && *p.NetworkType != have.NetworkType) ||
		(p.PhysicalNetwork != nil && *p.PhysicalNetwork != have.PhysicalNetwork) {
		return invalidInput("Plugin does not support updating the following provider network attributes: provider:network_type, provider:physical_network")
	}
	if p.SegmentationID != nil && *p.SegmentationID != have.SegmentationID {
		return invalidInput("provider:segmentation_id cannot be updated: create a new network with the segmentation id wanted")
	}
	return nil
}
