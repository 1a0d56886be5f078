package keystone

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// keystoneTime is Keystone's timestamp format (microseconds, UTC, "Z").
const keystoneTime = "2006-01-02T15:04:05.000000Z"

// Region is the only region in the catalog.
const Region = "RegionOne"

type tokenBody struct {
	Token tokenDoc `json:"token"`
}

type tokenDoc struct {
	Methods   []string       `json:"methods"`
	User      namedRef       `json:"user"`
	Project   namedRef       `json:"project"`
	Roles     []roleRef      `json:"roles"`
	IssuedAt  string         `json:"issued_at"`
	ExpiresAt string         `json:"expires_at"`
	AuditIDs  []string       `json:"audit_ids"`
	Catalog   []catalogEntry `json:"catalog,omitempty"`
}

type namedRef struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain domainRef `json:"domain"`
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type roleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type catalogEntry struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Endpoints []endpoint `json:"endpoints"`
}

type endpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// stableID gives catalog entries and roles ids that are the same in every
// replica, as they would be in a real Keystone database.
func stableID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func formatTime(t time.Time) string { return t.UTC().Format(keystoneTime) }

// baseURL is where clients reach this server.
func (s *Service) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func catalog(base string) []catalogEntry {
	entry := func(typ, name, url string) catalogEntry {
		e := catalogEntry{ID: stableID("service", typ), Type: typ, Name: name}
		for _, iface := range []string{"public", "internal", "admin"} {
			e.Endpoints = append(e.Endpoints, endpoint{
				ID: stableID("endpoint", typ, iface), Interface: iface,
				Region: Region, RegionID: Region, URL: url,
			})
		}
		return e
	}
	return []catalogEntry{
		entry("network", "neutron", base),
		entry("identity", "keystone", base+"/v3"),
	}
}

func (s *Service) tokenDocument(r *http.Request, p Principal, tp tokenPayload) tokenBody {
	ud, _ := s.identity.Domain(p.UserDomainID)
	pd, _ := s.identity.Domain(p.ProjectDomainID)
	doc := tokenDoc{
		Methods:   tp.Methods,
		User:      namedRef{ID: p.UserID, Name: p.UserName, Domain: domainRef(ud)},
		Project:   namedRef{ID: p.ProjectID, Name: p.ProjectName, Domain: domainRef(pd)},
		Roles:     []roleRef{},
		IssuedAt:  formatTime(tp.issued()),
		ExpiresAt: formatTime(tp.expires()),
		// The nonce identifies the token in audit trails without
		// revealing it, like Keystone's audit ids.
		AuditIDs: []string{tp.auditID()},
	}
	for _, role := range p.Roles {
		doc.Roles = append(doc.Roles, roleRef{ID: stableID("role", role), Name: role})
	}
	if _, ok := r.URL.Query()["nocatalog"]; !ok {
		doc.Catalog = catalog(s.baseURL(r))
	}
	return tokenBody{Token: doc}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
