package cloud

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchSecurityGroups(t *testing.T) {
	const (
		idDefault = "0d6a7d25-7f0f-4a0e-9a55-000000000001"
		idWeb     = "0d6a7d25-7f0f-4a0e-9a55-000000000002"
		idDB1     = "0d6a7d25-7f0f-4a0e-9a55-000000000003"
		idDB2     = "0d6a7d25-7f0f-4a0e-9a55-000000000004"
	)
	all := []SecurityGroup{{idDefault, "default"}, {idWeb, "web"}, {idDB1, "db"}, {idDB2, "db"}}
	for _, tc := range []struct {
		name    string
		given   []string
		want    []string
		wantErr error
	}{
		{name: "none", given: nil, want: nil},
		{name: "by name", given: []string{"web"}, want: []string{idWeb}},
		{name: "by id", given: []string{idDB2}, want: []string{idDB2}},
		{name: "sorted and deduplicated", given: []string{"web", "default", idWeb}, want: []string{idDefault, idWeb}},
		{name: "unknown name", given: []string{"web", "nosuch"}, wantErr: ErrNotFound},
		{name: "ambiguous name", given: []string{"db"}, wantErr: ErrAmbiguous},
		{name: "empty value", given: []string{""}, wantErr: ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatchSecurityGroups(all, tc.given)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}
