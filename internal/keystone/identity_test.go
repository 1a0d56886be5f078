package keystone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseIdentityValid(t *testing.T) {
	id := testIdentity(t)
	want := []Project{
		{ID: projDemo, Name: "demo", DomainID: "default"},
		{ID: projAdmin, Name: "admin", DomainID: "default"},
		{ID: projOtherDemo, Name: "demo", DomainID: "other"},
	}
	if diff := cmp.Diff(want, id.Projects()); diff != "" {
		t.Errorf("Projects() mismatch (-want +got):\n%s", diff)
	}
	if p, ok := id.Project(projAdmin); !ok || p.Name != "admin" {
		t.Errorf("Project(%q) = %+v, %v; want admin, true", projAdmin, p, ok)
	}
	if _, ok := id.Project("nope"); ok {
		t.Error("Project(nope) found a project")
	}
	// Roles by name resolve in the user's own domain, by id anywhere.
	got := map[string]map[string][]string{}
	for uid, u := range id.users {
		got[uid] = u.roles
	}
	wantRoles := map[string]map[string][]string{
		userDemo:  {projDemo: {"member"}},
		userAdmin: {projAdmin: {"admin"}, projDemo: {"member"}},
		userOther: {projOtherDemo: {"member"}},
	}
	if diff := cmp.Diff(wantRoles, got); diff != "" {
		t.Errorf("roles mismatch (-want +got):\n%s", diff)
	}
}

func TestParseIdentityErrors(t *testing.T) {
	hash := testHashes()[pwDemo]
	user := func(extra string) string {
		return "users:\n  - {id: u1, name: demo, domain_id: default, password_hash: " + hash + extra + "}\n"
	}
	base := "domains:\n  - {id: default, name: Default}\nprojects:\n  - {id: p1, name: demo, domain_id: default}\n"
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"empty", "", "identity is empty"},
		{"not yaml", "domains: [", "parse identity YAML"},
		{"unknown key", base + user("") + "groups: []\n", "field groups not found"},
		{"no users", base, "no users"},
		{"domain without name", "domains:\n  - {id: d}\n" + user(""), "domains[0]: id and name are required"},
		{"duplicate domain id", "domains:\n  - {id: d, name: A}\n  - {id: d, name: B}\n" + user(""), `domains[1]: duplicate domain id "d"`},
		{"duplicate domain name", "domains:\n  - {id: a, name: A}\n  - {id: b, name: A}\n" + user(""), `domains[1]: duplicate domain name "A"`},
		{"project unknown domain", "domains:\n  - {id: default, name: Default}\nprojects:\n  - {id: p1, name: demo, domain_id: nope}\n" + user(""), `projects[0] "demo": unknown domain_id "nope"`},
		{"duplicate project id", base + "  - {id: p1, name: other, domain_id: default}\n" + user(""), `projects[1]: duplicate project id "p1"`},
		{"duplicate project name", base + "  - {id: p2, name: demo, domain_id: default}\n" + user(""), `projects[1]: duplicate project name "demo" in domain "default"`},
		{"project without id", "domains:\n  - {id: default, name: Default}\nprojects:\n  - {name: demo, domain_id: default}\n" + user(""), "projects[0]: id, name and domain_id are required"},
		{"user unknown domain", base + "users:\n  - {id: u1, name: demo, domain_id: nope, password_hash: " + hash + "}\n", `users[0] "demo": unknown domain_id "nope"`},
		{"duplicate user id", base + user("") + "  - {id: u1, name: other, domain_id: default, password_hash: " + hash + "}\n", `users[1] "other": duplicate user id "u1"`},
		{"duplicate user name", base + user("") + "  - {id: u2, name: demo, domain_id: default, password_hash: " + hash + "}\n", `users[1] "demo": duplicate user name in domain "default"`},
		{"bad hash", base + "users:\n  - {id: u1, name: demo, domain_id: default, password_hash: plaintext}\n", `users[0] "demo": password_hash: not of the form`},
		{"missing hash", base + "users:\n  - {id: u1, name: demo, domain_id: default}\n", `users[0] "demo": password_hash`},
		{"bad role", base + user(", roles: [{project: demo, role: reader}]"), `users[0] "demo": roles[0]: role "reader" is not one of "admin", "member"`},
		{"unknown project", base + user(", roles: [{project: nope, role: member}]"), `users[0] "demo": roles[0]: unknown project "nope"`},
		{"project name in other domain", "domains:\n  - {id: default, name: Default}\n  - {id: o, name: O}\nprojects:\n  - {id: p1, name: demo, domain_id: o}\n" + user(", roles: [{project: demo, role: member}]"), `unknown project "demo"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIdentity([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseIdentity succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), hash) {
				t.Errorf("error %q quotes a password hash", err)
			}
		})
	}
}

func TestLoadIdentity(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "identity.yaml")
	if err := os.WriteFile(good, []byte(testIdentityYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(good)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	if got := len(id.Projects()); got != 3 {
		t.Errorf("got %d projects, want 3", got)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("domains: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.yaml")} {
		_, err := LoadIdentity(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadIdentity(%s) error = %v; want one naming the file", path, err)
		}
	}
}
