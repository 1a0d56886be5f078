package neutron

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Subnet pools (subnet_allocation) and address scopes (address-scope).

// PoolStore is the storage of subnet pools and address scopes
// (implemented by *ovn.Store).
type PoolStore interface {
	ListSubnetPools(ctx context.Context, sc ovn.Scope) []*ovn.SubnetPool
	GetSubnetPool(ctx context.Context, sc ovn.Scope, id string) (*ovn.SubnetPool, error)
	CreateSubnetPool(ctx context.Context, sc ovn.Scope, spec ovn.SubnetPoolSpec) (*ovn.SubnetPool, error)
	UpdateSubnetPool(ctx context.Context, sc ovn.Scope, id string, spec ovn.SubnetPoolSpec) (*ovn.SubnetPool, error)
	DeleteSubnetPool(ctx context.Context, sc ovn.Scope, id string) error
	ListAddressScopes(ctx context.Context, sc ovn.Scope) []*ovn.AddressScope
	GetAddressScope(ctx context.Context, sc ovn.Scope, id string) (*ovn.AddressScope, error)
	CreateAddressScope(ctx context.Context, spec ovn.AddressScopeSpec) (*ovn.AddressScope, error)
	UpdateAddressScope(ctx context.Context, sc ovn.Scope, id string, spec ovn.AddressScopeSpec) (*ovn.AddressScope, error)
	DeleteAddressScope(ctx context.Context, sc ovn.Scope, id string) error
}

var (
	poolAttrs  = []string{"name", "description", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen", "address_scope_id", "shared", "is_default", "default_quota", "project_id", "tenant_id"}
	scopeAttrs = []string{"name", "ip_version", "shared", "project_id", "tenant_id"}
)

func (s *server) poolRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v2.0/subnetpools", s.authed(s.withPools(s.listPools)))
	mux.HandleFunc("POST /v2.0/subnetpools", s.authed(s.withPools(s.createPool)))
	mux.HandleFunc("GET /v2.0/subnetpools/{id}", s.authed(s.withPools(s.showPool)))
	mux.HandleFunc("PUT /v2.0/subnetpools/{id}", s.authed(s.withPools(s.updatePool)))
	mux.HandleFunc("DELETE /v2.0/subnetpools/{id}", s.authed(s.withPools(s.deletePool)))
	mux.HandleFunc("GET /v2.0/address-scopes", s.authed(s.withPools(s.listScopes)))
	mux.HandleFunc("POST /v2.0/address-scopes", s.authed(s.withPools(s.createScope)))
	mux.HandleFunc("GET /v2.0/address-scopes/{id}", s.authed(s.withPools(s.showScope)))
	mux.HandleFunc("PUT /v2.0/address-scopes/{id}", s.authed(s.withPools(s.updateScope)))
	mux.HandleFunc("DELETE /v2.0/address-scopes/{id}", s.authed(s.withPools(s.deleteScope)))
}

func (s *server) withPools(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		if s.pools == nil {
			writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found: "+r.URL.Path)
			return
		}
		h(w, r, c)
	}
}

func poolJSON(p *ovn.SubnetPool) obj {
	prefixes := make([]string, len(p.Prefixes))
	for i, x := range p.Prefixes {
		prefixes[i] = x.String()
	}
	return obj{
		"id": p.ID, "name": p.Name, "description": p.Description,
		"tenant_id": p.ProjectID, "project_id": p.ProjectID,
		"prefixes": prefixes, "ip_version": p.IPVersion,
		"min_prefixlen": p.MinPrefixLen, "max_prefixlen": p.MaxPrefixLen, "default_prefixlen": p.DefaultPrefixLen,
		"address_scope_id": nullable(p.AddressScopeID), "shared": p.Shared, "is_default": p.IsDefault,
		"default_quota": nil, "tags": nonNilTags(p.Tags), "revision_number": p.Revision,
		"created_at": timeJSON(p.CreatedAt), "updated_at": timeJSON(p.UpdatedAt),
	}
}

func scopeJSON(a *ovn.AddressScope) obj {
	return obj{"id": a.ID, "name": a.Name, "tenant_id": a.ProjectID, "project_id": a.ProjectID,
		"ip_version": a.IPVersion, "shared": a.Shared}
}

// poolSpec reads a pool's attributes; prefixes must be CIDRs of one IP
// version.
func poolSpec(a attrs, c Caller) (ovn.SubnetPoolSpec, error) {
	var spec ovn.SubnetPoolSpec
	var err error
	if spec.Name, err = a.str("name"); err != nil {
		return spec, err
	}
	if spec.Description, err = a.str("description"); err != nil {
		return spec, err
	}
	if a.has("address_scope_id") {
		empty := ""
		spec.AddressScopeID = &empty
		if !a.isNull("address_scope_id") {
			if spec.AddressScopeID, err = a.str("address_scope_id"); err != nil {
				return spec, err
			}
		}
	}
	for _, f := range []struct {
		k string
		p **int
	}{{"min_prefixlen", &spec.MinPrefixLen}, {"max_prefixlen", &spec.MaxPrefixLen}, {"default_prefixlen", &spec.DefaultPrefixLen}} {
		if !a.has(f.k) || a.isNull(f.k) {
			continue
		}
		raw := a[f.k]
		var str string
		if json.Unmarshal(raw, &str) == nil { // Neutron also takes "24"
			raw = json.RawMessage(str)
		}
		n, err := integer(f.k, raw, 0, 128)
		if err != nil {
			return spec, err
		}
		*f.p = &n
	}
	for _, f := range []struct {
		k string
		p **bool
	}{{"shared", &spec.Shared}, {"is_default", &spec.IsDefault}} {
		if *f.p, err = a.boolean(f.k); err != nil {
			return spec, err
		}
		if *f.p != nil && **f.p && !c.Admin {
			return spec, &forbidden{msg: "(rule:create_subnetpool:" + f.k + ") is disallowed by policy"}
		}
	}
	if a.has("default_quota") && !a.isNull("default_quota") {
		return spec, invalid("default_quota is not supported by this server; leave it unset.")
	}
	if a.has("prefixes") {
		var raw []string
		if err := json.Unmarshal(a["prefixes"], &raw); err != nil || len(raw) == 0 {
			return spec, invalid("Invalid input for prefixes. Reason: want a non-empty list of CIDRs.")
		}
		for _, r := range raw {
			p, err := netip.ParsePrefix(r)
			if err != nil {
				return spec, invalid("Invalid input for prefixes. Reason: '%s' is not a valid IP subnet.", r)
			}
			if len(spec.Prefixes) > 0 && p.Addr().Is4() != spec.Prefixes[0].Addr().Is4() {
				return spec, &badRequest{typ: "PrefixVersionMismatch", msg: "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."}
			}
			spec.Prefixes = append(spec.Prefixes, p.Masked())
		}
	}
	return spec, nil
}

func (s *server) listPools(w http.ResponseWriter, r *http.Request, c Caller) {
	var out []obj
	for _, p := range s.pools.ListSubnetPools(r.Context(), scope(c)) {
		out = append(out, poolJSON(p))
	}
	writeList(w, r, "subnetpools", out)
}

func (s *server) showPool(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := s.pools.GetSubnetPool(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnetpool", poolJSON(p))
}

func (s *server) createPool(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "subnetpool", poolAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := poolSpec(a, c)
	if err == nil && spec.Prefixes == nil {
		err = badReq("Invalid input for operation: 'prefixes' is required to create a subnet pool.")
	}
	if err == nil {
		spec.ProjectID, err = projectFor(a, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.pools.CreateSubnetPool(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "subnetpool", poolJSON(p))
}

func (s *server) updatePool(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "subnetpool", poolAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := poolSpec(a, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.pools.UpdateSubnetPool(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnetpool", poolJSON(p))
}

func (s *server) deletePool(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.pools.DeleteSubnetPool(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func scopeSpec(a attrs, c Caller) (ovn.AddressScopeSpec, error) {
	var spec ovn.AddressScopeSpec
	var err error
	if spec.Name, err = a.str("name"); err != nil {
		return spec, err
	}
	if spec.Shared, err = a.boolean("shared"); err != nil {
		return spec, err
	}
	if spec.Shared != nil && *spec.Shared && !c.Admin {
		return spec, &forbidden{msg: "(rule:create_address_scope:shared) is disallowed by policy"}
	}
	return spec, nil
}

func (s *server) listScopes(w http.ResponseWriter, r *http.Request, c Caller) {
	var out []obj
	for _, a := range s.pools.ListAddressScopes(r.Context(), scope(c)) {
		out = append(out, scopeJSON(a))
	}
	writeList(w, r, "address_scopes", out)
}

func (s *server) showScope(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := s.pools.GetAddressScope(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "address_scope", scopeJSON(a))
}

func (s *server) createScope(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "address_scope", scopeAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := scopeSpec(a, c)
	if err == nil {
		if !a.has("ip_version") {
			err = badReq("Invalid input for operation: 'ip_version' is required to create an address scope.")
		} else if spec.IPVersion, err = integer("ip_version", a["ip_version"], 4, 6); err == nil && spec.IPVersion == 5 {
			err = invalid("Invalid input for ip_version. Reason: 5 is not in [4, 6].")
		}
	}
	if err == nil {
		spec.ProjectID, err = projectFor(a, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.pools.CreateAddressScope(r.Context(), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "address_scope", scopeJSON(as))
}

func (s *server) updateScope(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "address_scope", []string{"name", "shared"})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := scopeSpec(a, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.pools.UpdateAddressScope(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "address_scope", scopeJSON(as))
}

func (s *server) deleteScope(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.pools.DeleteAddressScope(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
