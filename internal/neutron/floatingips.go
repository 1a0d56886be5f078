package neutron

import (
	"context"
	"net/http"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Floating IPs (part of Neutron's router extension).

// FloatingIPStore is the storage of floating IPs (implemented by
// *ovn.Store).
type FloatingIPStore interface {
	ListFloatingIPs(ctx context.Context, sc ovn.Scope) ([]*ovn.FloatingIP, error)
	GetFloatingIP(ctx context.Context, sc ovn.Scope, id string) (*ovn.FloatingIP, error)
	CreateFloatingIP(ctx context.Context, sc ovn.Scope, spec ovn.FloatingIPSpec) (*ovn.FloatingIP, error)
	UpdateFloatingIP(ctx context.Context, sc ovn.Scope, id string, spec ovn.FloatingIPSpec) (*ovn.FloatingIP, error)
	DeleteFloatingIP(ctx context.Context, sc ovn.Scope, id string) error
}

var fipAttrs = []string{"floating_network_id", "floating_ip_address", "port_id", "fixed_ip_address", "description", "project_id", "tenant_id", "subnet_id"}

func (s *server) fipRoutes(mux *http.ServeMux) {
	if s.fips == nil {
		return
	}
	mux.HandleFunc("GET /v2.0/floatingips", s.authed(s.listFIPs))
	mux.HandleFunc("POST /v2.0/floatingips", s.authed(s.createFIP))
	mux.HandleFunc("GET /v2.0/floatingips/{id}", s.authed(s.showFIP))
	mux.HandleFunc("PUT /v2.0/floatingips/{id}", s.authed(s.updateFIP))
	mux.HandleFunc("DELETE /v2.0/floatingips/{id}", s.authed(s.deleteFIP))
}

func addrOrNil(f *ovn.FloatingIP) any {
	if !f.FixedIP.IsValid() {
		return nil
	}
	return f.FixedIP.String()
}

func fipJSON(f *ovn.FloatingIP) obj {
	status := "DOWN"
	if f.PortID != "" {
		status = "ACTIVE"
	}
	return obj{
		"id":                  f.ID,
		"tenant_id":           f.ProjectID,
		"project_id":          f.ProjectID,
		"description":         f.Description,
		"floating_network_id": f.NetworkID,
		"floating_ip_address": f.Address.String(),
		"port_id":             nullable(f.PortID),
		"fixed_ip_address":    addrOrNil(f),
		"router_id":           nullable(f.RouterID),
		"status":              status,
		"tags":                []string{},
		"port_forwardings":    []any{},
		"revision_number":     1,
		"created_at":          timeJSON(f.Created()),
		"updated_at":          timeJSON(f.Updated()),
	}
}

func (s *server) listFIPs(w http.ResponseWriter, r *http.Request, c Caller) {
	fs, err := s.fips.ListFloatingIPs(r.Context(), scope(c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]obj, len(fs))
	for i, f := range fs {
		out[i] = fipJSON(f)
	}
	writeList(w, r, "floatingips", out)
}

func (s *server) showFIP(w http.ResponseWriter, r *http.Request, c Caller) {
	f, err := s.fips.GetFloatingIP(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "floatingip", fipJSON(f))
}

// fipSpec reads the attributes of a floating IP request.
func fipSpec(a attrs, c Caller) (ovn.FloatingIPSpec, error) {
	var spec ovn.FloatingIPSpec
	var err error
	if spec.Description, err = a.str("description"); err != nil {
		return spec, err
	}
	if a.has("port_id") {
		id, err := optStr(a, "port_id")
		if err != nil {
			return spec, err
		}
		spec.PortID = &id
	}
	if ip, err := optStr(a, "fixed_ip_address"); err != nil {
		return spec, err
	} else if ip != "" {
		if spec.FixedIP, err = parseAddr("fixed_ip_address", ip); err != nil {
			return spec, err
		}
	}
	if ip, err := optStr(a, "floating_ip_address"); err != nil {
		return spec, err
	} else if ip != "" {
		// Neutron's default policy: admin only.
		if !c.Admin {
			return spec, &forbidden{msg: "(rule:create_floatingip:floating_ip_address) is disallowed by policy"}
		}
		if spec.Address, err = parseAddr("floating_ip_address", ip); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

func (s *server) createFIP(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "floatingip", fipAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !a.has("floating_network_id") {
		s.fail(w, r, httpBadReq("Failed to parse request. Required attribute 'floating_network_id' not specified"))
		return
	}
	if sub, _ := optStr(a, "subnet_id"); sub != "" {
		s.fail(w, r, invalid("subnet_id is not supported by this server; give floating_ip_address or let one be allocated."))
		return
	}
	spec, err := fipSpec(a, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.NetworkID, err = optStr(a, "floating_network_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.fips.CreateFloatingIP(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "floatingip", fipJSON(f))
}

func (s *server) updateFIP(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "floatingip", []string{"port_id", "fixed_ip_address", "description"})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := fipSpec(a, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.fips.UpdateFloatingIP(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "floatingip", fipJSON(f))
}

func (s *server) deleteFIP(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.fips.DeleteFloatingIP(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
