package neutrond

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// sweeper records what a scenario creates on a shared cloud (every 201
// answer to a POST on a collection) and deletes it, by id and newest
// first, when the scenario ends: the sandbox's own networks and VM ports
// are never touched.
type sweeper struct {
	mu      sync.Mutex
	created []createdResource
}

type createdResource struct {
	collection string // "networks", "security-group-rules", …
	id         string
}

type recordingTransport struct {
	next http.RoundTripper
	s    *sweeper
}

func (s *sweeper) recorder(next http.RoundTripper) http.RoundTripper {
	return &recordingTransport{next: next, s: s}
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil || req.Method != "POST" || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	_, rest, ok := strings.Cut(req.URL.Path, "/v2.0/")
	if !ok || strings.Contains(rest, "/") {
		return resp, err
	}
	data, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr != nil {
		return resp, err
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(data, &body) != nil {
		return resp, err
	}
	for _, raw := range body {
		var one struct{ ID string }
		var many []struct{ ID string }
		if json.Unmarshal(raw, &one) == nil && one.ID != "" {
			rt.s.add(rest, one.ID)
		} else if json.Unmarshal(raw, &many) == nil {
			for _, o := range many {
				rt.s.add(rest, o.ID)
			}
		}
	}
	return resp, err
}

func (s *sweeper) add(collection, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created = append(s.created, createdResource{collection, id})
}

// sweep deletes, as admin, everything recorded that still exists: a
// router loses its interfaces and gateway first, and what a resource
// still in use keeps (a port's children, a network's ports) is retried
// for a few rounds.
func (s *sweeper) sweep(t *testing.T, srv *server) {
	s.mu.Lock()
	left := append([]createdResource(nil), s.created...)
	s.mu.Unlock()
	if len(left) == 0 {
		return
	}
	tok := srv.cloud.client(t, "admin").TokenID
	base := srv.api(t)
	do := func(method, path, body string) (int, []byte) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("X-Auth-Token", tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	for round := 0; round < 4 && len(left) > 0; round++ {
		var again []createdResource
		for i := len(left) - 1; i >= 0; i-- {
			r := left[i]
			if r.collection == "routers" {
				do("PUT", "/v2.0/routers/"+r.id, `{"router": {"external_gateway_info": {}, "routes": []}}`)
				_, data := do("GET", "/v2.0/ports?device_id="+r.id, "")
				var ps struct {
					Ports []struct {
						ID          string `json:"id"`
						DeviceOwner string `json:"device_owner"`
					} `json:"ports"`
				}
				_ = json.Unmarshal(data, &ps)
				for _, p := range ps.Ports {
					if strings.HasPrefix(p.DeviceOwner, "network:router_interface") {
						do("PUT", "/v2.0/routers/"+r.id+"/remove_router_interface", `{"port_id": "`+p.ID+`"}`)
					}
				}
			}
			if r.collection == "trunks" {
				// A disabled trunk can be neither changed nor deleted.
				do("PUT", "/v2.0/trunks/"+r.id, `{"trunk": {"admin_state_up": true}}`)
				_, data := do("GET", "/v2.0/trunks/"+r.id+"/get_subports", "")
				if len(data) > 0 {
					var sp struct {
						SubPorts []struct {
							PortID string `json:"port_id"`
						} `json:"sub_ports"`
					}
					if json.Unmarshal(data, &sp) == nil && len(sp.SubPorts) > 0 {
						b, _ := json.Marshal(map[string]any{"sub_ports": sp.SubPorts})
						do("PUT", "/v2.0/trunks/"+r.id+"/remove_subports", string(b))
					}
				}
			}
			code, data := do("DELETE", "/v2.0/"+r.collection+"/"+r.id, "")
			if code != 204 && code != 404 {
				if round == 3 {
					t.Errorf("clean-up on %s: delete %s %s: %d %s", srv.cloud.name(), r.collection, r.id, code, data)
				}
				again = append([]createdResource{r}, again...)
			}
		}
		left = again
	}
}
