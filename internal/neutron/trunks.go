package neutron

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// trunkStore is what the trunk handlers need (implemented by *ovn.Store).
type trunkStore interface {
	ListTrunks(ctx context.Context, sc ovn.Scope) []*ovn.Trunk
	GetTrunk(ctx context.Context, sc ovn.Scope, id string) (*ovn.Trunk, error)
	CreateTrunk(ctx context.Context, sc ovn.Scope, spec ovn.TrunkSpec) (*ovn.Trunk, error)
	UpdateTrunk(ctx context.Context, sc ovn.Scope, id string, spec ovn.TrunkSpec) (*ovn.Trunk, error)
	DeleteTrunk(ctx context.Context, sc ovn.Scope, id string) error
	AddSubports(ctx context.Context, sc ovn.Scope, id string, subs []ovn.SubPort) (*ovn.Trunk, error)
	RemoveSubports(ctx context.Context, sc ovn.Scope, id string, portIDs []string) (*ovn.Trunk, error)
}

// routeTrunks adds the trunk extension's API (Neutron's "trunk").
func (s *server) routeTrunks(mux *http.ServeMux) {
	mux.HandleFunc("GET /v2.0/trunks", s.authed(s.listTrunks))
	mux.HandleFunc("POST /v2.0/trunks", s.authed(s.createTrunk))
	mux.HandleFunc("GET /v2.0/trunks/{id}", s.authed(s.showTrunk))
	mux.HandleFunc("PUT /v2.0/trunks/{id}", s.authed(s.updateTrunk))
	mux.HandleFunc("DELETE /v2.0/trunks/{id}", s.authed(s.deleteTrunk))
	mux.HandleFunc("PUT /v2.0/trunks/{id}/add_subports", s.authed(s.addSubports))
	mux.HandleFunc("PUT /v2.0/trunks/{id}/remove_subports", s.authed(s.removeSubports))
	mux.HandleFunc("GET /v2.0/trunks/{id}/get_subports", s.authed(s.getSubports))
}

var trunkCreateAttrs = []string{"name", "description", "port_id", "admin_state_up", "sub_ports", "project_id", "tenant_id"}

// On update only name, description and admin_state_up may change; the
// others are known attributes that are read-only (Neutron answers them
// differently from unknown ones).
var (
	trunkUpdateAttrs   = []string{"name", "description", "admin_state_up", "port_id", "sub_ports", "project_id", "tenant_id", "id", "status"}
	trunkReadOnlyAttrs = []string{"port_id", "sub_ports", "project_id", "tenant_id", "id", "status"}
)

// Neutron's NAME_MAX_LEN and DESCRIPTION_MAX_LEN.
const (
	nameMaxLen        = 255
	descriptionMaxLen = 255
)

type subportJSON struct {
	PortID           string `json:"port_id"`
	SegmentationType string `json:"segmentation_type"`
	SegmentationID   int    `json:"segmentation_id"`
}

type subportDetailJSON struct {
	PortID           string `json:"port_id"`
	SegmentationType string `json:"segmentation_type"`
	SegmentationID   int    `json:"segmentation_id"`
	MAC              string `json:"mac_address"`
}

func subportsJSON(subs []ovn.SubPort) []subportJSON {
	out := make([]subportJSON, len(subs))
	for i, sp := range subs {
		out[i] = subportJSON{PortID: sp.PortID, SegmentationType: sp.SegmentationType, SegmentationID: sp.SegmentationID}
	}
	return out
}

func trunkJSON(t *ovn.Trunk) obj {
	return obj{
		"id":              t.ID,
		"name":            t.Name,
		"description":     t.Description,
		"port_id":         t.PortID,
		"tenant_id":       t.ProjectID,
		"project_id":      t.ProjectID,
		"admin_state_up":  t.AdminStateUp,
		"status":          t.Status,
		"sub_ports":       subportsJSON(t.SubPorts),
		"tags":            []string{},
		"revision_number": t.Revision,
		"created_at":      timeJSON(t.CreatedAt),
		"updated_at":      timeJSON(t.UpdatedAt),
	}
}

// trunkDetailsJSON is a parent port's trunk_details (nil otherwise).
func trunkDetailsJSON(d *ovn.TrunkDetails) any {
	if d == nil {
		return nil
	}
	subs := make([]subportDetailJSON, len(d.SubPorts))
	for i, sp := range d.SubPorts {
		subs[i] = subportDetailJSON{PortID: sp.PortID, SegmentationType: sp.SegmentationType, SegmentationID: sp.SegmentationID, MAC: sp.MAC}
	}
	return obj{"trunk_id": d.TrunkID, "sub_ports": subs}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// subportsInvalid is Neutron's 400 for a bad sub_ports list.
func subportsInvalid(format string, args ...any) error {
	return invalid("Invalid input for sub_ports. Reason: %s.", fmt.Sprintf(format, args...))
}

// segmentationID converts like Neutron's convert_to_int: an integral
// JSON number or a string holding an integer.
func segmentationID(raw json.RawMessage) (int, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			return 0, false
		}
		return int(f), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil
	}
	return 0, false
}

// parseSubports validates a sub_ports list as Neutron does
// (validate_subports, then the trunk plugin's segmentation checks when
// withSegmentation: add_subports and create need segmentation details,
// remove_subports only port ids).
func parseSubports(raw json.RawMessage, withSegmentation bool) ([]ovn.SubPort, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, subportsInvalid("Invalid data format for subports: '%s' is not a list", raw)
	}
	out := make([]ovn.SubPort, 0, len(list))
	ids := map[string]bool{}
	vlans := map[int]string{}
	for _, item := range list {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(item, &m); err != nil || m == nil {
			return nil, subportsInvalid("Invalid data format for subport: '%s' is not a dict", item)
		}
		var sp ovn.SubPort
		rawID, ok := m["port_id"]
		if !ok {
			return nil, subportsInvalid("A valid port UUID must be specified")
		}
		if err := json.Unmarshal(rawID, &sp.PortID); err != nil || !uuidRE.MatchString(sp.PortID) {
			return nil, subportsInvalid("Invalid UUID for subport: '%s'", strings.Trim(string(rawID), `"`))
		}
		if ids[sp.PortID] {
			return nil, subportsInvalid("Non unique UUID for subport: '%s'", sp.PortID)
		}
		ids[sp.PortID] = true
		if !withSegmentation {
			out = append(out, sp)
			continue
		}
		rawType, hasType := m["segmentation_type"]
		rawSeg, hasSeg := m["segmentation_id"]
		if hasType {
			if err := json.Unmarshal(rawType, &sp.SegmentationType); err != nil {
				return nil, invalid("Unknown segmentation_type '%s'", rawType)
			}
		}
		if sp.SegmentationType == "inherit" {
			// Needs the provider extension (segmentation of the subport's
			// network), which this server does not have.
			return nil, invalid("Cannot accept segmentation type inherit")
		}
		if !hasType || sp.SegmentationType == "" || !hasSeg || string(rawSeg) == "null" {
			return nil, invalid("Invalid subport details '%s': missing segmentation information. Must specify both segmentation_id and segmentation_type", item)
		}
		seg, ok := segmentationID(rawSeg)
		if !ok {
			return nil, invalid("Invalid subport details: segmentation_id '%s' is not an integer", strings.Trim(string(rawSeg), `"`))
		}
		if sp.SegmentationType != ovn.SegmentationVLAN {
			return nil, invalid("Unknown segmentation_type '%s' (this cloud supports: vlan)", sp.SegmentationType)
		}
		if seg < 1 || seg > 4094 {
			return nil, invalid("Segmentation ID '%d' is not in range (vlan: 1 to 4094)", seg)
		}
		if _, dup := vlans[seg]; dup {
			return nil, subportsInvalid("Segmentation ID '%d' for '%s' is not unique", seg, sp.PortID)
		}
		vlans[seg] = sp.PortID
		sp.SegmentationID = seg
		out = append(out, sp)
	}
	return out, nil
}

// boundedString reads a string attribute of at most max characters.
func boundedString(a attrs, k string, max int) (*string, error) {
	v, err := a.str(k)
	if err != nil || v == nil {
		return v, err
	}
	if utf8.RuneCountInString(*v) > max {
		return nil, httpBadReq("Invalid input for %s. Reason: '%s' exceeds maximum length of %d.", k, *v, max)
	}
	return v, nil
}

// trunkSpec reads name, description and admin_state_up.
func trunkSpec(a attrs) (ovn.TrunkSpec, error) {
	var spec ovn.TrunkSpec
	var err error
	if spec.Name, err = boundedString(a, "name", nameMaxLen); err != nil {
		return spec, err
	}
	if spec.Description, err = boundedString(a, "description", descriptionMaxLen); err != nil {
		return spec, err
	}
	if spec.AdminStateUp, err = a.boolean("admin_state_up"); err != nil {
		return spec, err
	}
	return spec, nil
}

func (s *server) listTrunks(w http.ResponseWriter, r *http.Request, c Caller) {
	trunks := s.store.ListTrunks(r.Context(), scope(c))
	out := make([]obj, len(trunks))
	for i, t := range trunks {
		out[i] = trunkJSON(t)
	}
	writeList(w, r, "trunks", out)
}

func (s *server) showTrunk(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := s.store.GetTrunk(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "trunk", trunkJSON(t))
}

func (s *server) createTrunk(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "trunk", trunkCreateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := trunkSpec(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	portID, err := a.str("port_id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if portID == nil {
		s.fail(w, r, httpBadReq("Failed to parse request. Required attribute 'port_id' not specified"))
		return
	}
	if !uuidRE.MatchString(*portID) {
		s.fail(w, r, httpBadReq("Invalid input for port_id. Reason: '%s' is not a valid UUID.", *portID))
		return
	}
	spec.PortID = *portID
	if a.has("sub_ports") {
		if spec.SubPorts, err = parseSubports(a["sub_ports"], true); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.store.CreateTrunk(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "trunk", trunkJSON(t))
}

func (s *server) updateTrunk(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "trunk", trunkUpdateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, k := range trunkReadOnlyAttrs {
		if a.has(k) {
			s.fail(w, r, httpBadReq("Cannot update read-only attribute %s", k))
			return
		}
	}
	spec, err := trunkSpec(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.store.UpdateTrunk(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "trunk", trunkJSON(t))
}

func (s *server) deleteTrunk(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.store.DeleteTrunk(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readSubports decodes the {"sub_ports": [...]} body of add_subports and
// remove_subports.
func readSubports(r *http.Request, withSegmentation bool) ([]ovn.SubPort, error) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body == nil {
		return nil, badReq("Malformed request body: want a JSON object {\"sub_ports\": [...]}.")
	}
	raw, ok := body["sub_ports"]
	if !ok {
		return nil, httpBadReq("Failed to parse request. Required attribute 'sub_ports' not specified")
	}
	return parseSubports(raw, withSegmentation)
}

func (s *server) addSubports(w http.ResponseWriter, r *http.Request, c Caller) {
	subs, err := readSubports(r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.store.AddSubports(r.Context(), scope(c), r.PathValue("id"), subs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, project(trunkJSON(t), fieldsOf(r.URL.Query())))
}

func (s *server) removeSubports(w http.ResponseWriter, r *http.Request, c Caller) {
	subs, err := readSubports(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(subs))
	for i, sp := range subs {
		ids[i] = sp.PortID
	}
	t, err := s.store.RemoveSubports(r.Context(), scope(c), r.PathValue("id"), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, project(trunkJSON(t), fieldsOf(r.URL.Query())))
}

func (s *server) getSubports(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := s.store.GetTrunk(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub_ports": subportsJSON(t.SubPorts)})
}
