package ovn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Subnet pools and address scopes have no row of their own in ML2/OVN's
// NB (Neutron keeps them in its database); here each is an Address_Set
// (a pool's addresses are its prefixes), with its attributes in
// external_ids. A pool also records which subnet holds which of its
// prefixes, so that allocating from it is one guarded write of one row.
// They are few and read straight from the libovsdb cache.

// ErrAllocation: a pool has no room for the requested prefix (Neutron's
// SubnetAllocationError, which it answers with 500).
var ErrAllocation = errors.New("subnet allocation failed")

const (
	keyPoolID         = "neutron:subnetpool_id"
	keyScopeID        = "neutron:address_scope_id"
	keyName           = "neutron:name"
	keyPoolMinLen     = "neutron:min_prefixlen"
	keyPoolMaxLen     = "neutron:max_prefixlen"
	keyPoolDefaultLen = "neutron:default_prefixlen"
	keyPoolAllocs     = "neutron:allocations" // JSON subnet id → CIDR
	keyIsDefault      = "neutron:is_default"
	poolPrefix        = "neutron_subnetpool_"
	scopePrefix       = "neutron_address_scope_"
)

// SubnetPool is a Neutron subnet pool.
type SubnetPool struct {
	ID, Name, Description, ProjectID string
	IPVersion                        int
	Prefixes                         []netip.Prefix
	MinPrefixLen, MaxPrefixLen       int
	DefaultPrefixLen                 int
	AddressScopeID                   string
	Shared, IsDefault                bool
	Tags                             []string
	Revision                         int64
	CreatedAt, UpdatedAt             time.Time
	// Allocations: subnet id → its CIDR.
	Allocations map[string]string

	uuid string
	ext  map[string]string
}

// AddressScope is a Neutron address scope.
type AddressScope struct {
	ID, Name, ProjectID  string
	IPVersion            int
	Shared               bool
	Revision             int64
	CreatedAt, UpdatedAt time.Time

	uuid string
	ext  map[string]string
}

// SubnetPoolSpec is what a client sets on a pool; nil leaves as is.
type SubnetPoolSpec struct {
	Name, Description                            *string
	ProjectID                                    string // create only
	Prefixes                                     []netip.Prefix
	MinPrefixLen, MaxPrefixLen, DefaultPrefixLen *int
	AddressScopeID                               *string
	Shared, IsDefault                            *bool
}

// AddressScopeSpec is what a client sets on an address scope.
type AddressScopeSpec struct {
	Name      *string
	ProjectID string // create only
	IPVersion int    // create only
	Shared    *bool
}

func poolFromRow(r *nbdb.AddressSet) (*SubnetPool, bool) {
	e := r.ExternalIDs
	if e[keyPoolID] == "" {
		return nil, false
	}
	p := &SubnetPool{
		ID: e[keyPoolID], Name: e[keyName], Description: e[keyDescription], ProjectID: e[keyProjectID],
		AddressScopeID: e[keyScopeID], Shared: e[keyShared] == "true", IsDefault: e[keyIsDefault] == "true",
		Tags: jsonList[string](e[keyTags]), Revision: atoi64(e[keyRevision]),
		CreatedAt: parseTime(e[keyCreatedAt]), UpdatedAt: parseTime(e[keyUpdatedAt]),
		Allocations: map[string]string{}, uuid: r.UUID, ext: e,
	}
	p.IPVersion, _ = strconv.Atoi(e[keyIPVersion])
	p.MinPrefixLen, _ = strconv.Atoi(e[keyPoolMinLen])
	p.MaxPrefixLen, _ = strconv.Atoi(e[keyPoolMaxLen])
	p.DefaultPrefixLen, _ = strconv.Atoi(e[keyPoolDefaultLen])
	for _, a := range r.Addresses {
		if pfx, err := netip.ParsePrefix(a); err == nil {
			p.Prefixes = append(p.Prefixes, pfx)
		}
	}
	slices.SortFunc(p.Prefixes, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	for k, v := range jsonMap(e[keyPoolAllocs]) {
		p.Allocations[k] = v
	}
	return p, true
}

func scopeFromRow(r *nbdb.AddressSet) (*AddressScope, bool) {
	e := r.ExternalIDs
	if e[keyScopeID] == "" || e[keyPoolID] != "" {
		return nil, false
	}
	sc := &AddressScope{
		ID: e[keyScopeID], Name: e[keyName], ProjectID: e[keyProjectID], Shared: e[keyShared] == "true",
		Revision: atoi64(e[keyRevision]), CreatedAt: parseTime(e[keyCreatedAt]), UpdatedAt: parseTime(e[keyUpdatedAt]),
		uuid: r.UUID, ext: e,
	}
	sc.IPVersion, _ = strconv.Atoi(e[keyIPVersion])
	return sc, true
}

func (s *Store) addressSets(ctx context.Context) []nbdb.AddressSet {
	var rows []nbdb.AddressSet
	_ = s.nb.WhereCache(func(r *nbdb.AddressSet) bool {
		return strings.HasPrefix(r.Name, poolPrefix) || strings.HasPrefix(r.Name, scopePrefix)
	}).List(ctx, &rows)
	return rows
}

// ListSubnetPools returns the pools the caller may see (own or shared).
func (s *Store) ListSubnetPools(ctx context.Context, sc Scope) []*SubnetPool {
	var out []*SubnetPool
	for _, r := range s.addressSets(ctx) {
		if p, ok := poolFromRow(&r); ok && (sc.owns(p.ProjectID) || p.Shared) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *SubnetPool) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

func poolNotFound(id string) *Error {
	return newErr(ErrNotFound, "SubnetPoolNotFound", "Subnet pool %s could not be found.", id)
}

func addressScopeNotFound(id string) *Error {
	return newErr(ErrNotFound, "AddressScopeNotFound", "Address scope %s could not be found.", id)
}

// GetSubnetPool returns a pool the caller may see.
func (s *Store) GetSubnetPool(ctx context.Context, sc Scope, id string) (*SubnetPool, error) {
	for _, p := range s.ListSubnetPools(ctx, sc) {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, poolNotFound(id)
}

// ListAddressScopes returns the scopes the caller may see.
func (s *Store) ListAddressScopes(ctx context.Context, sc Scope) []*AddressScope {
	var out []*AddressScope
	for _, r := range s.addressSets(ctx) {
		if a, ok := scopeFromRow(&r); ok && (sc.owns(a.ProjectID) || a.Shared) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *AddressScope) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

// GetAddressScope returns a scope the caller may see.
func (s *Store) GetAddressScope(ctx context.Context, sc Scope, id string) (*AddressScope, error) {
	for _, a := range s.ListAddressScopes(ctx, sc) {
		if a.ID == id {
			return a, nil
		}
	}
	return nil, addressScopeNotFound(id)
}

// CreateAddressScope writes a new scope.
func (s *Store) CreateAddressScope(ctx context.Context, spec AddressScopeSpec) (*AddressScope, error) {
	id := uuid.NewString()
	now := fmtTime(time.Now())
	row := &nbdb.AddressSet{UUID: "as", Name: scopePrefix + strings.ReplaceAll(id, "-", "_"), ExternalIDs: map[string]string{
		keyScopeID: id, keyName: deref(spec.Name, ""), keyProjectID: spec.ProjectID, keyIPVersion: strconv.Itoa(spec.IPVersion),
		keyShared: strconv.FormatBool(deref(spec.Shared, false)), keyRevision: "1", keyCreatedAt: now, keyUpdatedAt: now,
	}}
	ops, err := s.nb.Create(row)
	if err != nil {
		return nil, err
	}
	if err := s.transact(ctx, ops); err != nil {
		return nil, err
	}
	return s.GetAddressScope(ctx, Scope{Admin: true}, id)
}

// UpdateAddressScope renames or shares a scope the caller owns.
func (s *Store) UpdateAddressScope(ctx context.Context, sc Scope, id string, spec AddressScopeSpec) (*AddressScope, error) {
	err := s.retry(ctx, "update address scope "+id, func() error {
		a, err := s.GetAddressScope(ctx, sc, id)
		if err != nil || !sc.owns(a.ProjectID) {
			return addressScopeNotFound(id)
		}
		if err := checkRevision(ctx, a.Revision); err != nil {
			return err
		}
		ext := copyMap(a.ext)
		setIf(ext, keyName, spec.Name)
		if spec.Shared != nil {
			ext[keyShared] = strconv.FormatBool(*spec.Shared)
		}
		return s.writeAddressSet(ctx, a.uuid, a.ext, ext, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.GetAddressScope(ctx, sc, id)
}

// DeleteAddressScope removes a scope no pool uses.
func (s *Store) DeleteAddressScope(ctx context.Context, sc Scope, id string) error {
	return s.retry(ctx, "delete address scope "+id, func() error {
		a, err := s.GetAddressScope(ctx, sc, id)
		if err != nil || !sc.owns(a.ProjectID) {
			return addressScopeNotFound(id)
		}
		if err := checkRevision(ctx, a.Revision); err != nil {
			return err
		}
		for _, p := range s.ListSubnetPools(ctx, Scope{Admin: true}) {
			if p.AddressScopeID == id {
				return newErr(ErrConflict, "AddressScopeInUse",
					"Unable to complete operation on address scope %s. There are one or more subnet pools in use on the address scope.", id)
			}
		}
		ops, err := s.guard(nbdb.AddressSetTable, a.uuid, a.ext)
		if err != nil {
			return err
		}
		del, err := s.nb.Where(&nbdb.AddressSet{UUID: a.uuid}).Delete()
		if err != nil {
			return err
		}
		return s.transact(ctx, append(ops, del...))
	})
}

// writeAddressSet replaces a pool's or scope's external_ids (and, when
// addrs is not nil, its addresses), bumping its revision, guarded by the
// external_ids it was read with.
func (s *Store) writeAddressSet(ctx context.Context, uuid string, old, ext map[string]string, addrs []string) error {
	ext[keyRevision] = strconv.FormatInt(atoi64(old[keyRevision])+1, 10)
	ext[keyUpdatedAt] = fmtTime(time.Now())
	ops, err := s.guard(nbdb.AddressSetTable, uuid, old)
	if err != nil {
		return err
	}
	row := &nbdb.AddressSet{UUID: uuid, ExternalIDs: ext, Addresses: addrs}
	fields := []any{&row.ExternalIDs}
	if addrs != nil {
		fields = append(fields, &row.Addresses)
	}
	upd, err := s.nb.Where(row).Update(row, fields...)
	if err != nil {
		return err
	}
	return s.transact(ctx, append(ops, upd...))
}

// poolBounds validates a pool's prefix lengths as Neutron does.
func poolBounds(version, minLen, maxLen, defLen int, prefixes []netip.Prefix) error {
	top := 32
	if version == 6 {
		top = 128
	}
	bad := func(kind string, n int, base string, bn int) error {
		return newErr(ErrInvalid, "IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: %s=%d, %s=%d.", kind, n, base, bn)
	}
	switch {
	case minLen < 0 || minLen > top:
		return bad("min_prefixlen", minLen, "max_prefixlen", top)
	case maxLen < minLen || maxLen > top:
		return bad("max_prefixlen", maxLen, "min_prefixlen", minLen)
	case defLen < minLen:
		return bad("default_prefixlen", defLen, "min_prefixlen", minLen)
	case defLen > maxLen:
		return bad("default_prefixlen", defLen, "max_prefixlen", maxLen)
	}
	for _, p := range prefixes {
		if p.Bits() > maxLen {
			return bad("prefix", p.Bits(), "max_prefixlen", maxLen)
		}
	}
	return nil
}

// CreateSubnetPool writes a new pool. spec.Prefixes must be set and of
// one IP version (the HTTP layer checks that).
func (s *Store) CreateSubnetPool(ctx context.Context, sc Scope, spec SubnetPoolSpec) (*SubnetPool, error) {
	version := 4
	if spec.Prefixes[0].Addr().Is6() {
		version = 6
	}
	minLen := deref(spec.MinPrefixLen, map[int]int{4: 8, 6: 64}[version])
	maxLen := deref(spec.MaxPrefixLen, map[int]int{4: 32, 6: 128}[version])
	defLen := deref(spec.DefaultPrefixLen, minLen)
	if err := poolBounds(version, minLen, maxLen, defLen, spec.Prefixes); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	if spec.AddressScopeID != nil && *spec.AddressScopeID != "" {
		if err := s.checkScope(ctx, sc, id, *spec.AddressScopeID, version); err != nil {
			return nil, err
		}
	}
	now := fmtTime(time.Now())
	row := &nbdb.AddressSet{UUID: "sp", Name: poolPrefix + strings.ReplaceAll(id, "-", "_"), Addresses: prefixStrings(spec.Prefixes),
		ExternalIDs: map[string]string{
			keyPoolID: id, keyName: deref(spec.Name, ""), keyDescription: deref(spec.Description, ""),
			keyProjectID: spec.ProjectID, keyIPVersion: strconv.Itoa(version),
			keyPoolMinLen: strconv.Itoa(minLen), keyPoolMaxLen: strconv.Itoa(maxLen), keyPoolDefaultLen: strconv.Itoa(defLen),
			keyScopeID: deref(spec.AddressScopeID, ""), keyShared: strconv.FormatBool(deref(spec.Shared, false)),
			keyIsDefault: strconv.FormatBool(deref(spec.IsDefault, false)), keyPoolAllocs: "{}",
			keyRevision: "1", keyCreatedAt: now, keyUpdatedAt: now,
		}}
	ops, err := s.nb.Create(row)
	if err != nil {
		return nil, err
	}
	if err := s.transact(ctx, ops); err != nil {
		return nil, err
	}
	return s.GetSubnetPool(ctx, Scope{Admin: true}, id)
}

// checkScope checks that pool poolID may join address scope scopeID.
func (s *Store) checkScope(ctx context.Context, sc Scope, poolID, scopeID string, version int) error {
	a, err := s.GetAddressScope(ctx, sc, scopeID)
	if err != nil {
		return err
	}
	if a.IPVersion != version {
		return newErr(ErrInvalid, "IllegalSubnetPoolIpVersionAssociationToAddressScope",
			"Illegal subnetpool association: subnetpool %s cannot associate with address scope %s because subnetpool ip_version is not %d.",
			poolID, scopeID, a.IPVersion)
	}
	return nil
}

// UpdateSubnetPool changes a pool the caller owns; prefixes may only grow.
func (s *Store) UpdateSubnetPool(ctx context.Context, sc Scope, id string, spec SubnetPoolSpec) (*SubnetPool, error) {
	err := s.retry(ctx, "update subnet pool "+id, func() error {
		p, err := s.GetSubnetPool(ctx, sc, id)
		if err != nil || !sc.owns(p.ProjectID) {
			return poolNotFound(id)
		}
		if err := checkRevision(ctx, p.Revision); err != nil {
			return err
		}
		minLen, maxLen := deref(spec.MinPrefixLen, p.MinPrefixLen), deref(spec.MaxPrefixLen, p.MaxPrefixLen)
		defLen := deref(spec.DefaultPrefixLen, p.DefaultPrefixLen)
		prefixes := p.Prefixes
		if spec.Prefixes != nil {
			for _, old := range p.Prefixes {
				if !slices.ContainsFunc(spec.Prefixes, func(n netip.Prefix) bool { return n.Bits() <= old.Bits() && n.Contains(old.Addr()) }) {
					return newErr(ErrInvalid, "IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: %s is no longer covered.", old)
				}
			}
			prefixes = spec.Prefixes
		}
		if err := poolBounds(p.IPVersion, minLen, maxLen, defLen, prefixes); err != nil {
			return err
		}
		if spec.AddressScopeID != nil && *spec.AddressScopeID != "" {
			if err := s.checkScope(ctx, sc, id, *spec.AddressScopeID, p.IPVersion); err != nil {
				return err
			}
		}
		ext := copyMap(p.ext)
		setIf(ext, keyName, spec.Name)
		setIf(ext, keyDescription, spec.Description)
		setIf(ext, keyScopeID, spec.AddressScopeID)
		ext[keyPoolMinLen], ext[keyPoolMaxLen], ext[keyPoolDefaultLen] = strconv.Itoa(minLen), strconv.Itoa(maxLen), strconv.Itoa(defLen)
		if spec.IsDefault != nil {
			ext[keyIsDefault] = strconv.FormatBool(*spec.IsDefault)
		}
		return s.writeAddressSet(ctx, p.uuid, p.ext, ext, prefixStrings(prefixes))
	})
	if err != nil {
		return nil, err
	}
	return s.GetSubnetPool(ctx, sc, id)
}

// DeleteSubnetPool removes a pool no subnet was allocated from.
func (s *Store) DeleteSubnetPool(ctx context.Context, sc Scope, id string) error {
	return s.retry(ctx, "delete subnet pool "+id, func() error {
		p, err := s.GetSubnetPool(ctx, sc, id)
		if err != nil || !sc.owns(p.ProjectID) {
			return poolNotFound(id)
		}
		if err := checkRevision(ctx, p.Revision); err != nil {
			return err
		}
		if len(p.Allocations) > 0 {
			// What Neutron 21 answers (400, not SubnetPoolInUse's 409).
			return newErr(ErrInvalid, "SubnetPoolDeleteError",
				"Unable to delete subnet pool: Subnet pool has existing allocations.")
		}
		ops, err := s.guard(nbdb.AddressSetTable, p.uuid, p.ext)
		if err != nil {
			return err
		}
		del, err := s.nb.Where(&nbdb.AddressSet{UUID: p.uuid}).Delete()
		if err != nil {
			return err
		}
		return s.transact(ctx, append(ops, del...))
	})
}

// poolAllocation picks (prefixLen > 0) or checks (cidr valid) a subnet
// CIDR from pool poolID for subnet subnetID, and returns the guarded
// update of the pool that records it, to commit with the subnet.
func (s *Store) poolAllocation(ctx context.Context, sc Scope, poolID, subnetID string, version int, cidr netip.Prefix, prefixLen int) (netip.Prefix, []ovsdb.Operation, error) {
	p, err := s.GetSubnetPool(ctx, sc, poolID)
	if err != nil {
		return netip.Prefix{}, nil, err
	}
	if p.IPVersion != version {
		return netip.Prefix{}, nil, newErr(ErrInvalid, "BadRequest",
			"Bad subnets request: Cannot allocate IPv%d subnet from IPv%d subnet pool %s.", version, p.IPVersion, poolID)
	}
	if cidr.IsValid() {
		prefixLen = cidr.Bits()
	} else if prefixLen == 0 {
		prefixLen = p.DefaultPrefixLen
	}
	if prefixLen > p.MaxPrefixLen {
		return netip.Prefix{}, nil, newErr(ErrInvalid, "MaxPrefixSubnetAllocationError",
			"Unable to allocate subnet with prefix length %d, maximum allowed prefix is %d.", prefixLen, p.MaxPrefixLen)
	}
	if prefixLen < p.MinPrefixLen {
		return netip.Prefix{}, nil, newErr(ErrInvalid, "MinPrefixSubnetAllocationError",
			"Unable to allocate subnet with prefix length %d, minimum allowed prefix is %d.", prefixLen, p.MinPrefixLen)
	}
	free := p.Prefixes
	for _, a := range p.Allocations {
		if used, err := netip.ParsePrefix(a); err == nil {
			free = excludePrefix(free, used)
		}
	}
	// Best fit, as Neutron: the smallest free blocks first.
	slices.SortStableFunc(free, func(a, b netip.Prefix) int { return b.Bits() - a.Bits() })
	got := netip.Prefix{}
	for _, f := range free {
		if cidr.IsValid() {
			if f.Bits() <= cidr.Bits() && f.Contains(cidr.Addr()) {
				got = cidr
				break
			}
			continue
		}
		if f.Bits() <= prefixLen {
			got = netip.PrefixFrom(f.Addr(), prefixLen)
			break
		}
	}
	if !got.IsValid() {
		reason := fmt.Sprintf("Insufficient prefix space to allocate subnet size /%d", prefixLen)
		if cidr.IsValid() {
			reason = "Cannot allocate requested subnet from the available set of prefixes"
		}
		return netip.Prefix{}, nil, newErr(ErrAllocation, "SubnetAllocationError", "Failed to allocate subnet: %s.", reason)
	}
	allocs := map[string]string{}
	for k, v := range p.Allocations {
		allocs[k] = v
	}
	allocs[subnetID] = got.String()
	ops, err := s.poolAllocationsOps(p, allocs)
	return got, ops, err
}

// poolRelease returns the guarded updates that forget the prefixes of
// the given subnets in the pools they came from.
func (s *Store) poolRelease(ctx context.Context, subnets ...*Subnet) ([]ovsdb.Operation, error) {
	byPool := map[string][]string{}
	for _, sn := range subnets {
		if sn.SubnetPoolID != "" {
			byPool[sn.SubnetPoolID] = append(byPool[sn.SubnetPoolID], sn.ID)
		}
	}
	var ops []ovsdb.Operation
	for poolID, ids := range byPool {
		p, err := s.GetSubnetPool(ctx, Scope{Admin: true}, poolID)
		if err != nil {
			continue // the pool is gone; nothing to release
		}
		allocs := map[string]string{}
		for k, v := range p.Allocations {
			if !slices.Contains(ids, k) {
				allocs[k] = v
			}
		}
		more, err := s.poolAllocationsOps(p, allocs)
		if err != nil {
			return nil, err
		}
		ops = append(ops, more...)
	}
	return ops, nil
}

func (s *Store) poolAllocationsOps(p *SubnetPool, allocs map[string]string) ([]ovsdb.Operation, error) {
	ops, err := s.guard(nbdb.AddressSetTable, p.uuid, p.ext)
	if err != nil {
		return nil, err
	}
	ext := copyMap(p.ext)
	ext[keyPoolAllocs] = jsonString(allocs)
	row := &nbdb.AddressSet{UUID: p.uuid, ExternalIDs: ext}
	upd, err := s.nb.Where(row).Update(row, &row.ExternalIDs)
	if err != nil {
		return nil, err
	}
	return append(ops, upd...), nil
}

// excludePrefix removes used from the prefixes in free.
func excludePrefix(free []netip.Prefix, used netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range free {
		switch {
		case !f.Overlaps(used):
			out = append(out, f)
		case used.Bits() <= f.Bits():
			// used covers f entirely
		default:
			// split f in halves until the halves no longer hold used
			lo := netip.PrefixFrom(f.Addr(), f.Bits()+1)
			hi := netip.PrefixFrom(lastAddr(lo).Next(), f.Bits()+1)
			out = append(out, excludePrefix([]netip.Prefix{lo, hi}, used)...)
		}
	}
	return out
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Masked().String()
	}
	return out
}

func jsonMap(s string) map[string]string {
	m := map[string]string{}
	_ = jsonUnmarshal(s, &m)
	return m
}
