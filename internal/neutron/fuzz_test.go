package neutron

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Fuzz targets for every request decoder. Each asserts: no panic; a
// refusal is a typed 4xx (*badRequest, *forbidden, or the store's
// *ovn.Error of a 4xx kind); an accepted value is one NB can store (every
// string valid UTF-8 without NUL, names within Neutron's limits) and
// keeps the invariants the store relies on.
// Seed corpora are in testdata/fuzz/<target>; `make fuzz` runs each.

// checkRefusal fails unless err is nil or a typed client error.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var br *badRequest
	var fb *forbidden
	var oe *ovn.Error
	switch {
	case errors.As(err, &br):
		if br.typ == "" || br.msg == "" {
			t.Fatalf("refusal without type or message: %+v", br)
		}
	case errors.As(err, &fb):
	case errors.As(err, &oe):
		// The store's refusals that parsing shares with it (allocation
		// pools: OutOfBoundsAllocationPool 400, OverlappingAllocationPools
		// 409, as Neutron answers them).
		if !errors.Is(oe.Kind, ovn.ErrInvalid) && !errors.Is(oe.Kind, ovn.ErrConflict) {
			t.Fatalf("refusal %v is of kind %v, not a 4xx", oe, oe.Kind)
		}
		if oe.Type == "" || oe.Message == "" {
			t.Fatalf("refusal without type or message: %+v", oe)
		}
	default:
		t.Fatalf("refusal %T %v is not a typed 4xx", err, err)
	}
}

// checkStorable walks v (a spec) and fails on any string NB cannot take.
func checkStorable(t *testing.T, v any) {
	t.Helper()
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		switch rv.Kind() {
		case reflect.String:
			s := rv.String()
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("%s = %q accepted but NB cannot store it", path, s)
			}
		case reflect.Pointer, reflect.Interface:
			if !rv.IsNil() {
				walk(path, rv.Elem())
			}
		case reflect.Struct:
			for i := range rv.NumField() {
				if rv.Type().Field(i).IsExported() {
					walk(path+"."+rv.Type().Field(i).Name, rv.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			if rv.Type().Elem().Kind() == reflect.Uint8 { // raw JSON
				b := rv.Bytes()
				if !utf8.Valid(b) || strings.Contains(string(b), `\u0000`) && hasNULJSON(b) {
					t.Fatalf("%s = %q accepted but NB cannot store it", path, b)
				}
				return
			}
			for i := range rv.Len() {
				walk(path, rv.Index(i))
			}
		case reflect.Map:
			for _, k := range rv.MapKeys() {
				walk(path, k)
				walk(path, rv.MapIndex(k))
			}
		}
	}
	walk("spec", reflect.ValueOf(v))
}

func hasNULJSON(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil && hasNUL(v)
}

func checkNames(t *testing.T, name, description *string) {
	t.Helper()
	for _, s := range []*string{name, description} {
		if s != nil && utf8.RuneCountInString(*s) > maxNameLen {
			t.Fatalf("accepted a %d-character name/description", utf8.RuneCountInString(*s))
		}
	}
}

func request(body []byte) *http.Request {
	return httptest.NewRequest("POST", "/v2.0/x", strings.NewReader(string(body)))
}

var fuzzCallers = []Caller{{ProjectID: "p1"}, {ProjectID: "p1", Admin: true}}

func FuzzNetworkBody(f *testing.F) {
	f.Add([]byte(`{"network": {"name": "n1", "admin_state_up": true, "mtu": 1400}}`), false)
	f.Add([]byte(`{"network": {"name": "a\u0000b", "shared": "true"}}`), true)
	f.Add([]byte(`{"network": {"project_id": "p2", "tenant_id": "p2", "port_security_enabled": false}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, admin bool) {
		c := fuzzCallers[map[bool]int{false: 0, true: 1}[admin]]
		for _, allowed := range [][]string{networkAttrs} {
			a, err := readBody(request(body), "network", allowed)
			checkRefusal(t, err)
			if err != nil {
				return
			}
			spec, err := networkSpec(a, c, "create")
			checkRefusal(t, err)
			if err != nil {
				return
			}
			spec.ProjectID, err = projectFor(a, c)
			checkRefusal(t, err)
			if err != nil {
				return
			}
			checkStorable(t, spec)
			checkNames(t, spec.Name, spec.Description)
			if spec.MTU != nil && (*spec.MTU < 68 || *spec.MTU > 9216) {
				t.Fatalf("accepted MTU %d", *spec.MTU)
			}
			if spec.ProjectID != c.ProjectID && !c.Admin {
				t.Fatalf("member got project %q", spec.ProjectID)
			}
		}
	})
}

func FuzzSubnetBody(f *testing.F) {
	f.Add([]byte(`{"subnet": {"network_id": "n", "ip_version": 4, "cidr": "10.0.0.0/24"}}`), false)
	f.Add([]byte(`{"subnet": {"network_id": "n", "ip_version": 6, "cidr": "fd00::/64", "gateway_ip": null, "ipv6_ra_mode": "dhcpv6-stateful"}}`), false)
	f.Add([]byte(`{"subnet": {"network_id": "n", "ip_version": 4, "cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}], "dns_nameservers": ["8.8.8.8"], "enable_dhcp": "false"}}`), false)
	f.Add([]byte(`{"subnet": {"name": "x", "enable_dhcp": true, "host_routes": []}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, update bool) {
		if update {
			a, err := readBody(request(body), "subnet", subnetUpdateAttrs)
			checkRefusal(t, err)
			if err != nil {
				return
			}
			var upd ovn.SubnetUpdate
			if upd.Name, err = a.str("name"); err == nil {
				if upd.Description, err = a.str("description"); err == nil {
					if upd.EnableDHCP, err = a.boolean("enable_dhcp"); err == nil {
						if upd.DNS, err = dnsList(a); err == nil {
							_, err = hostRoutes(a, 4)
						}
					}
				}
			}
			checkRefusal(t, err)
			if err == nil {
				checkStorable(t, upd)
				checkNames(t, upd.Name, upd.Description)
			}
			return
		}
		a, err := readBody(request(body), "subnet", subnetCreateAttrs)
		checkRefusal(t, err)
		if err != nil {
			return
		}
		spec, err := subnetSpec(a, fuzzCallers[0])
		checkRefusal(t, err)
		if err != nil {
			return
		}
		checkStorable(t, spec)
		checkNames(t, &spec.Name, &spec.Description)
		if !spec.CIDR.IsValid() || (spec.CIDR.Addr().Is4() != (spec.IPVersion == 4)) {
			t.Fatalf("accepted CIDR %v for IPv%d", spec.CIDR, spec.IPVersion)
		}
		if spec.Gateway.IsValid() && !spec.CIDR.Contains(spec.Gateway) {
			t.Fatalf("gateway %v outside %v", spec.Gateway, spec.CIDR)
		}
		for _, p := range spec.Pools {
			if !spec.CIDR.Contains(p.Start) || !spec.CIDR.Contains(p.End) || p.End.Less(p.Start) {
				t.Fatalf("pool %v-%v invalid for %v", p.Start, p.End, spec.CIDR)
			}
		}
	})
}

func FuzzPortBody(f *testing.F) {
	f.Add([]byte(`{"port": {"network_id": "n", "name": "vm", "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.5"}]}}`), false)
	f.Add([]byte(`{"port": {"network_id": "n", "binding:profile": {"parent_name": "p", "tag": 7}, "device_owner": "compute:nova"}}`), false)
	f.Add([]byte(`{"port": {"name": "x", "admin_state_up": "False", "security_groups": [], "allowed_address_pairs": null}}`), true)
	f.Add([]byte(`{"port": {"network_id": "n", "mac_address": "fa:16:3e:00:00:01", "binding:profile": null}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, update bool) {
		allowed := portCreateAttrs
		if update {
			allowed = portUpdateAttrs
		}
		a, err := readBody(request(body), "port", allowed)
		checkRefusal(t, err)
		if err != nil {
			return
		}
		spec, err := portSpec(a, "")
		checkRefusal(t, err)
		if err != nil {
			return
		}
		if !update {
			nid, err := a.str("network_id")
			checkRefusal(t, err)
			if err != nil {
				return
			}
			if nid != nil {
				spec.NetworkID = *nid
			}
			mac, err := a.str("mac_address")
			checkRefusal(t, err)
			if err != nil {
				return
			}
			if mac != nil {
				spec.MAC = *mac
			}
		}
		checkStorable(t, spec)
		checkNames(t, spec.Name, spec.Description)
		if p := spec.Profile; p != nil {
			if len(p.Raw) > 0 && (!json.Valid(p.Raw) || utf8.RuneCount(p.Raw) > maxProfileLen) {
				t.Fatalf("accepted profile %q", p.Raw)
			}
			if (p.ParentName == "") != (p.Tag == 0) || (p.Tag != 0 && (p.Tag < 1 || p.Tag > 4094)) {
				t.Fatalf("accepted parent %q tag %d", p.ParentName, p.Tag)
			}
		}
		if spec.FixedIPs != nil {
			for _, ip := range *spec.FixedIPs {
				if ip.SubnetID == "" && !ip.IPAddress.IsValid() {
					t.Fatal("accepted an empty fixed_ips entry")
				}
			}
		}
	})
}

// FuzzListQuery runs a list with an arbitrary query string: the answer
// is always 200 with a JSON body holding only the listed objects.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"", "name=x", "fields=id&fields=name", "sort_key=name&sort_dir=desc&limit=1",
		"fixed_ips=ip_address%3D10.0.0.2", "marker=a&limit=1", "admin_state_up=True&mtu=1500",
		"limit=-1&sort_key=fixed_ips", "fields=id,,name&id=%00", "%zz=1",
	} {
		f.Add(q)
	}
	all := []obj{
		{"id": "a", "name": "x", "admin_state_up": true, "mtu": 1442, "fixed_ips": []fixedIPJSON{{SubnetID: "s1", IPAddress: "10.0.0.2"}}, "tags": []string{}, "gateway_ip": nil},
		{"id": "b", "name": "y", "admin_state_up": false, "mtu": 1500, "fixed_ips": []fixedIPJSON{}, "tags": []string{"t"}, "gateway_ip": "10.0.0.1"},
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/v2.0/ports", nil)
		r.URL.RawQuery = query
		if _, err := url.ParseQuery(query); err != nil {
			r.URL.RawQuery = ""
		}
		w := httptest.NewRecorder()
		writeList(w, r, "ports", all)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		var body struct {
			Ports []map[string]any `json:"ports"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %q: %v", w.Body, err)
		}
		if len(body.Ports) > len(all) {
			t.Fatalf("%d items from %d", len(body.Ports), len(all))
		}
		for _, p := range body.Ports {
			if id, ok := p["id"]; ok && id != "a" && id != "b" {
				t.Fatalf("unknown item %v", p)
			}
		}
	})
}
