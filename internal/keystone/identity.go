package keystone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

// Roles that may be assigned in the identity file.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Domain is a Keystone domain.
type Domain struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Project is a Keystone project (Neutron's tenant).
type Project struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	DomainID string `yaml:"domain_id"`
}

// RoleAssignment gives a user a role on a project.
type RoleAssignment struct {
	// Project is a project id, or a project name in the user's domain.
	Project string `yaml:"project"`
	Role    string `yaml:"role"`
}

// userEntry is a user as written in the identity file.
type userEntry struct {
	ID           string           `yaml:"id"`
	Name         string           `yaml:"name"`
	DomainID     string           `yaml:"domain_id"`
	PasswordHash string           `yaml:"password_hash"`
	Roles        []RoleAssignment `yaml:"roles"`
}

type identityFile struct {
	Domains  []Domain    `yaml:"domains"`
	Projects []Project   `yaml:"projects"`
	Users    []userEntry `yaml:"users"`
}

// user is a validated user with role assignments resolved to project ids.
type user struct {
	ID, Name, DomainID string
	hash               passwordHash
	// roles maps project id to the sorted roles on it.
	roles map[string][]string
}

// Identity is an immutable, validated set of domains, projects and users.
type Identity struct {
	domains         map[string]Domain
	domainsByName   map[string]Domain
	projects        map[string]Project
	projectsByName  map[[2]string]Project // key: domain id, name
	users           map[string]*user
	usersByName     map[[2]string]*user // key: domain id, name
	projectsOrdered []Project
}

// LoadIdentity reads and validates an identity YAML file.
func LoadIdentity(path string) (*Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity file: %w", err)
	}
	id, err := ParseIdentity(data)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return id, nil
}

// ParseIdentity parses and validates an identity YAML document. Unknown
// keys are errors, so that a typo does not silently drop a setting.
func ParseIdentity(data []byte) (*Identity, error) {
	var f identityFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("identity is empty: it needs domains, projects and users")
		}
		return nil, fmt.Errorf("parse identity YAML: %w", err)
	}
	return buildIdentity(f)
}

func buildIdentity(f identityFile) (*Identity, error) {
	id := &Identity{
		domains:        map[string]Domain{},
		domainsByName:  map[string]Domain{},
		projects:       map[string]Project{},
		projectsByName: map[[2]string]Project{},
		users:          map[string]*user{},
		usersByName:    map[[2]string]*user{},
	}
	for i, d := range f.Domains {
		switch {
		case d.ID == "" || d.Name == "":
			return nil, fmt.Errorf("domains[%d]: id and name are required", i)
		case id.domains[d.ID] != Domain{}:
			return nil, fmt.Errorf("domains[%d]: duplicate domain id %q", i, d.ID)
		case id.domainsByName[d.Name] != Domain{}:
			return nil, fmt.Errorf("domains[%d]: duplicate domain name %q", i, d.Name)
		}
		id.domains[d.ID] = d
		id.domainsByName[d.Name] = d
	}
	for i, p := range f.Projects {
		key := [2]string{p.DomainID, p.Name}
		switch {
		case p.ID == "" || p.Name == "" || p.DomainID == "":
			return nil, fmt.Errorf("projects[%d]: id, name and domain_id are required", i)
		case id.domains[p.DomainID] == Domain{}:
			return nil, fmt.Errorf("projects[%d] %q: unknown domain_id %q", i, p.Name, p.DomainID)
		case id.projects[p.ID] != Project{}:
			return nil, fmt.Errorf("projects[%d]: duplicate project id %q", i, p.ID)
		case id.projectsByName[key] != Project{}:
			return nil, fmt.Errorf("projects[%d]: duplicate project name %q in domain %q", i, p.Name, p.DomainID)
		}
		id.projects[p.ID] = p
		id.projectsByName[key] = p
		id.projectsOrdered = append(id.projectsOrdered, p)
	}
	if len(f.Users) == 0 {
		return nil, errors.New("identity has no users: nobody could log in")
	}
	for i, ue := range f.Users {
		u, err := id.buildUser(ue)
		if err != nil {
			return nil, fmt.Errorf("users[%d] %q: %w", i, ue.Name, err)
		}
		id.users[u.ID] = u
		id.usersByName[[2]string{u.DomainID, u.Name}] = u
	}
	return id, nil
}

func (id *Identity) buildUser(ue userEntry) (*user, error) {
	switch {
	case ue.ID == "" || ue.Name == "" || ue.DomainID == "":
		return nil, errors.New("id, name and domain_id are required")
	case id.domains[ue.DomainID] == Domain{}:
		return nil, fmt.Errorf("unknown domain_id %q", ue.DomainID)
	case id.users[ue.ID] != nil:
		return nil, fmt.Errorf("duplicate user id %q", ue.ID)
	case id.usersByName[[2]string{ue.DomainID, ue.Name}] != nil:
		return nil, fmt.Errorf("duplicate user name in domain %q", ue.DomainID)
	}
	h, err := parsePasswordHash(ue.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("password_hash: %w (generate one with `ovn-neutrond hash-password`)", err)
	}
	u := &user{ID: ue.ID, Name: ue.Name, DomainID: ue.DomainID, hash: h, roles: map[string][]string{}}
	for j, ra := range ue.Roles {
		if ra.Role != RoleAdmin && ra.Role != RoleMember {
			return nil, fmt.Errorf("roles[%d]: role %q is not one of %q, %q", j, ra.Role, RoleAdmin, RoleMember)
		}
		p, ok := id.projects[ra.Project]
		if !ok {
			p, ok = id.projectsByName[[2]string{ue.DomainID, ra.Project}]
		}
		if !ok {
			return nil, fmt.Errorf("roles[%d]: unknown project %q (a project id, or a project name in domain %q)", j, ra.Project, ue.DomainID)
		}
		if !slices.Contains(u.roles[p.ID], ra.Role) {
			u.roles[p.ID] = append(u.roles[p.ID], ra.Role)
			slices.Sort(u.roles[p.ID])
		}
	}
	return u, nil
}

// Projects returns all projects in file order.
func (id *Identity) Projects() []Project {
	return slices.Clone(id.projectsOrdered)
}

// Project returns the project with the given id.
func (id *Identity) Project(projectID string) (Project, bool) {
	p, ok := id.projects[projectID]
	return p, ok
}

// Domain returns the domain with the given id.
func (id *Identity) Domain(domainID string) (Domain, bool) {
	d, ok := id.domains[domainID]
	return d, ok
}

// lookupDomain finds a domain by id, else by name.
func (id *Identity) lookupDomain(domainID, name string) (Domain, bool) {
	if domainID != "" {
		d, ok := id.domains[domainID]
		return d, ok
	}
	d, ok := id.domainsByName[name]
	return d, ok
}
