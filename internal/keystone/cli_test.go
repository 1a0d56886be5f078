package keystone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOpenstackCLI runs python-openstackclient (keystoneauth1) against a
// real listener: discovery on /v3, password login, token document.
func TestOpenstackCLI(t *testing.T) {
	bin, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("openstack CLI not installed (apt install python3-openstackclient)")
	}
	s := newTestService(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/v3", s.Handler())
	mux.Handle("/v3/", s.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	adminToken := issueToken(t, s, "admin", "Default", pwAdmin, "admin")
	tests := []struct {
		name        string
		args        []string
		password    string
		token       string
		wantUser    string
		wantProject string
		wantFail    bool
	}{
		{
			name:     "names",
			args:     []string{"--os-username", "demo", "--os-project-name", "demo", "--os-user-domain-name", "Default", "--os-project-domain-name", "Default"},
			password: pwDemo, wantUser: userDemo, wantProject: projDemo,
		},
		{
			name:     "ids",
			args:     []string{"--os-user-id", userAdmin, "--os-project-id", projAdmin},
			password: pwAdmin, wantUser: userAdmin, wantProject: projAdmin,
		},
		{
			name:  "token rescoped",
			args:  []string{"--os-auth-type", "v3token", "--os-project-name", "demo", "--os-project-domain-name", "Default"},
			token: adminToken, wantUser: userAdmin, wantProject: projDemo,
		},
		{
			name:     "wrong password",
			args:     []string{"--os-username", "demo", "--os-project-name", "demo", "--os-user-domain-name", "Default", "--os-project-domain-name", "Default"},
			password: "wrong", wantFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := append([]string{"--os-auth-url", srv.URL + "/v3", "--os-identity-api-version", "3", "--os-interface", "public"}, tt.args...)
			args = append(args, "token", "issue", "-f", "json")
			cmd := exec.CommandContext(ctx, bin, args...)
			// The password goes through the environment, not argv.
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
			if tt.token != "" {
				cmd.Env = append(cmd.Env, "OS_TOKEN="+tt.token)
			} else {
				cmd.Env = append(cmd.Env, "OS_PASSWORD="+tt.password)
			}
			out, err := cmd.Output()
			if tt.wantFail {
				if err == nil {
					t.Fatalf("openstack token issue succeeded with a wrong password: %s", out)
				}
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				if !strings.Contains(stderr, "HTTP 401") {
					t.Errorf("stderr does not report the 401:\n%s", stderr)
				}
				return
			}
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("openstack token issue: %v\n%s", err, stderr)
			}
			var got struct {
				ID        string `json:"id"`
				Expires   string `json:"expires"`
				ProjectID string `json:"project_id"`
				UserID    string `json:"user_id"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			if diff := cmp.Diff([]string{tt.wantUser, tt.wantProject}, []string{got.UserID, got.ProjectID}); diff != "" {
				t.Errorf("user, project (-want +got):\n%s", diff)
			}
			p, err := s.Authenticate(authRequestWith(got.ID))
			if err != nil {
				t.Fatalf("the CLI's token does not validate: %v", err)
			}
			if p.UserID != tt.wantUser {
				t.Errorf("token is for %q, want %q", p.UserID, tt.wantUser)
			}
		})
	}
}
