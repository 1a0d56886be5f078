// Package keystone implements the subset of the OpenStack Identity (Keystone)
// v3 API that ovn-neutrond needs so that stock clients (gophercloud,
// keystoneauth1 / python-openstackclient) can log in to it unchanged:
// version discovery, password and token authentication with project scope,
// and token validation.
//
// Identity (domains, projects, users, role assignments) comes from a YAML
// file; nothing is written at run time, so several replicas sharing one
// signing key serve the same cloud.
//
// Tokens are self-contained and signed with HMAC-SHA256: no token store,
// no revocation. A token carries only ids, roles, timestamps and a nonce;
// validation re-reads the identity so that a removed user, project or role
// assignment invalidates existing tokens at once.
//
// The identity file:
//
//	domains:
//	  - {id: default, name: Default}
//	projects:
//	  - {id: 5f2c..., name: demo, domain_id: default}
//	users:
//	  - id: 8a1b...
//	    name: demo
//	    domain_id: default
//	    password_hash: "pbkdf2-sha256:100000:..."   # HashPassword / HashPasswordCommand
//	    roles:
//	      - {project: demo, role: member}   # project id, or name in the user's domain
//
// Clients use the versioned auth URL "<base>/v3" (keystoneauth and
// gophercloud then skip unversioned discovery). The catalog's "network"
// endpoint is the unversioned base, so whoever serves Neutron there must
// answer GET / with Neutron's version list, without authentication:
// gophercloud's NewNetworkV2 and keystoneauth discover versions there.
//
// Deliberate choices where Keystone offers more:
//   - Every token is project-scoped. A password request without a scope is
//     scoped to the user's only project; a user with roles on several
//     projects must name one (401 otherwise). A token request without a
//     scope keeps the original token's project.
//   - Domain, system and trust scopes, and methods other than "password"
//     and "token", are refused with 401.
//   - Roles are exactly the assigned ones ("admin" or "member"); no implied
//     roles are added.
//   - Any authenticated user may validate its own tokens; only admins may
//     validate other users' tokens.
package keystone
