package neutron

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteListFiltersFieldsAndPages(t *testing.T) {
	all := []obj{
		{"id": "a", "name": "x", "admin_state_up": true, "mtu": 1442, "fixed_ips": []fixedIPJSON{{SubnetID: "s1", IPAddress: "10.0.0.2"}}},
		{"id": "b", "name": "y", "admin_state_up": false, "mtu": 1500, "fixed_ips": []fixedIPJSON{{SubnetID: "s1", IPAddress: "10.0.0.3"}}},
		{"id": "c", "name": "x", "admin_state_up": true, "mtu": 1500, "fixed_ips": []fixedIPJSON{}},
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", `{"items":[{"admin_state_up":true,"fixed_ips":[{"subnet_id":"s1","ip_address":"10.0.0.2"}],"id":"a","mtu":1442,"name":"x"},{"admin_state_up":false,"fixed_ips":[{"subnet_id":"s1","ip_address":"10.0.0.3"}],"id":"b","mtu":1500,"name":"y"},{"admin_state_up":true,"fixed_ips":[],"id":"c","mtu":1500,"name":"x"}]}`},
		{"?name=x&fields=id", `{"items":[{"id":"a"},{"id":"c"}]}`},
		{"?name=x&name=y&fields=id", `{"items":[{"id":"a"},{"id":"b"},{"id":"c"}]}`},
		{"?admin_state_up=False&fields=id", `{"items":[{"id":"b"}]}`},
		{"?mtu=1500&fields=id,name", `{"items":[{"id":"b","name":"y"},{"id":"c","name":"x"}]}`},
		{"?fixed_ips=ip_address%3D10.0.0.3&fields=id", `{"items":[{"id":"b"}]}`},
		{"?fixed_ips=subnet_id%3Ds1&fields=id", `{"items":[{"id":"a"},{"id":"b"}]}`},
		{"?unknown_attr=1&fields=id", `{"items":[{"id":"a"},{"id":"b"},{"id":"c"}]}`},
		{"?sort_key=name&sort_dir=desc&fields=id", `{"items":[{"id":"b"},{"id":"a"},{"id":"c"}]}`},
		{"?fields=id&limit=2", `{"items":[{"id":"a"},{"id":"b"}],"items_links":[{"href":"http://example.com/v2.0/x?fields=id\u0026limit=2\u0026marker=b","rel":"next"}]}`},
		{"?fields=id&limit=2&marker=b", `{"items":[{"id":"c"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeList(rec, httptest.NewRequest(http.MethodGet, "/v2.0/x"+tc.query, nil), "items", all)
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tc.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
