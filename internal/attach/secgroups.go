package attach

// Security groups of container ports. A port made for a request with
// security groups is created in those groups (on real Neutron a trunk
// subport is a plain port, so its groups are set at create, as for any
// port); without any, Neutron gives it the project's default group.
//
// Pool entries are told apart by their group set, as kuryr-kubernetes
// keys its pools by (network, project, security groups): an attach takes
// only an entry made for exactly its set, so a container never lands in
// groups it did not ask for. The set is recorded on the access port
// (KeySecurityGroups, sorted ids) and in the bridge's pool target key.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// KeySecurityGroups: the security groups (ids, sorted, comma-separated)
// the Neutron port was made with when some were asked for; absent: none
// asked for (the project's default group). Entries are pooled by it.
const KeySecurityGroups = "ovn-docker:security-groups"

// poolKey identifies a pool: a network and a security group set.
type poolKey struct {
	network string // Neutron network id
	groups  string // groupsKey of the ids; "": the project's default
}

// groupsKey is the canonical form of a set of group ids.
func groupsKey(ids []string) string {
	s := make([]string, 0, len(ids))
	for _, id := range ids {
		s = append(s, strings.ToLower(id))
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// groupsOf is the set of an access port's key.
func groupsOf(k string) []string {
	if k == "" {
		return nil
	}
	return strings.Split(k, ",")
}

// keyOf is the pool an access port belongs (or would return) to.
func keyOf(ap AccessPort) poolKey {
	return poolKey{network: ap.ExternalIDs[KeyNetwork], groups: ap.ExternalIDs[KeySecurityGroups]}
}

// targetKey is the bridge's external_ids key holding k's target: the
// network id alone for the default set (as before sets existed), else
// the network id, "/", and the set.
func (k poolKey) targetKey() string {
	if k.groups == "" {
		return KeyPoolTargetPrefix + k.network
	}
	return KeyPoolTargetPrefix + k.network + "/" + k.groups
}

// parseTargetKey reads what targetKey wrote (ok: k is a target key).
func parseTargetKey(k string) (poolKey, bool) {
	rest, ok := strings.CutPrefix(k, KeyPoolTargetPrefix)
	if !ok {
		return poolKey{}, false
	}
	network, groups, _ := strings.Cut(rest, "/")
	return poolKey{network: network, groups: groups}, true
}

// allIDs: every value looks like a Neutron id (a UUID), so the pool can
// be looked at before asking Neutron what the names mean.
func allIDs(vs []string) bool {
	for _, v := range vs {
		if !cloud.LooksLikeID(v) {
			return false
		}
	}
	return true
}

// resolveGroups asks Neutron for the ids of the groups given by name or
// id (nil for none: no call). Bad values fail before anything is made.
func (a *Attacher) resolveGroups(ctx context.Context, given []string) ([]string, error) {
	if len(given) == 0 {
		return nil, nil
	}
	ids, err := a.Cloud.ResolveSecurityGroups(ctx, given)
	if err != nil {
		return nil, fmt.Errorf("--security-group: %w", err)
	}
	return ids, nil
}
