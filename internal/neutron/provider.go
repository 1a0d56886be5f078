package neutron

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// The provider extension's attributes. Neutron's default policy lets
// only admins set them and only admins see them.
const (
	attrNetworkType     = "provider:network_type"
	attrPhysicalNetwork = "provider:physical_network"
	attrSegmentationID  = "provider:segmentation_id"
)

// addProvider shows n's segment to an admin.
func addProvider(o obj, n *ovn.Network, c Caller) obj {
	if c.Admin {
		o[attrNetworkType] = n.Segment.NetworkType
		o[attrPhysicalNetwork] = nilIfZero(n.Segment.PhysicalNetwork)
		o[attrSegmentationID] = nilIfZero(n.Segment.SegmentationID)
	}
	return o
}

func nilIfZero[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// providerSpec reads the provider:* attributes; a member may not send
// them (Neutron answers 403 for any of them, whatever the value).
func providerSpec(a attrs, c Caller, action string) (ovn.ProviderSpec, error) {
	var p ovn.ProviderSpec
	for _, k := range []string{attrNetworkType, attrPhysicalNetwork, attrSegmentationID} {
		if a.has(k) && !c.Admin {
			return p, &forbidden{msg: "(rule:" + action + "_network:" + k + ") is disallowed by policy: only an admin may set provider attributes."}
		}
	}
	var err error
	// null means "not given", as Neutron's ATTR_NOT_SPECIFIED.
	if !a.isNull(attrNetworkType) {
		if p.NetworkType, err = a.str(attrNetworkType); err != nil {
			return p, err
		}
	}
	if !a.isNull(attrPhysicalNetwork) {
		if p.PhysicalNetwork, err = a.str(attrPhysicalNetwork); err != nil {
			return p, err
		}
		if p.PhysicalNetwork != nil && len(*p.PhysicalNetwork) > 64 {
			return p, invalid("Invalid input for %s. Reason: '%s' exceeds maximum length of 64.", attrPhysicalNetwork, clip(*p.PhysicalNetwork))
		}
	}
	if a.has(attrSegmentationID) && !a.isNull(attrSegmentationID) {
		id, err := convertInt(attrSegmentationID, a[attrSegmentationID], math.MinInt32, math.MaxInt32)
		if err != nil {
			return p, err
		}
		p.SegmentationID = &id
	}
	return p, nil
}

// convertInt reads an integer attribute in [lo, hi] as Neutron's
// convert_to_int does: a number or a string of digits (the openstack
// CLI sends "1442" for --mtu 1442).
func convertInt(field string, raw json.RawMessage, lo, hi int) (int, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, invalid("Invalid input for %s. Reason: '%s' is not an integer.", field, clip(s))
		}
		raw = json.RawMessage(strconv.Itoa(n))
	}
	return integer(field, raw, lo, hi)
}
