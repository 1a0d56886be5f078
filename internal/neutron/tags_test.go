package neutron

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestMatchTags(t *testing.T) {
	o := obj{"tags": []string{"red", "blue"}}
	tests := []struct {
		filter string
		values []string
		want   bool
	}{
		{"tags", []string{"red,blue"}, true},
		{"tags", []string{"red", "green"}, false},
		{"tags-any", []string{"green,blue"}, true},
		{"tags-any", []string{"green"}, false},
		{"not-tags", []string{"red,blue"}, false},
		{"not-tags", []string{"red,green"}, true},
		{"not-tags-any", []string{"green"}, true},
		{"not-tags-any", []string{"green", "red"}, false},
	}
	for _, tc := range tests {
		if got := matchTags(o, tc.filter, tc.values); got != tc.want {
			t.Errorf("%s=%v: %v, want %v", tc.filter, tc.values, got, tc.want)
		}
	}
}

func TestIfMatch(t *testing.T) {
	tests := []struct {
		method, header string
		wantErr        bool
	}{
		{"PUT", "revision_number=3", false},
		{"PUT", `"revision_number=3", "abc"`, false},
		{"DELETE", "revision_number=x", true},
		{"PUT", "revision_number=1, revision_number=2", true},
		{"GET", "revision_number=3", false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "/v2.0/networks/x", nil)
		r.Header.Set("If-Match", tc.header)
		_, err := ifMatch(context.Background(), r)
		var br *badRequest
		if (err != nil) != tc.wantErr || (err != nil && !errors.As(err, &br)) {
			t.Errorf("%s If-Match %s: %v, want error %v", tc.method, tc.header, err, tc.wantErr)
		}
	}
}
