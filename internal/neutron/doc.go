// Package neutron serves the subset of the OpenStack Networking (Neutron)
// v2.0 API that ovn-docker and stock clients (gophercloud,
// python-openstackclient) need: version discovery, extensions, and CRUD
// of networks (with provider attributes), subnets, ports, subnet pools,
// address scopes, trunks, security groups, routers and floating IPs with
// filters, fields, tags, If-Match revision constraints, project scoping
// and Neutron's error body. Storage is internal/ovn (the OVN Northbound
// DB); identity comes from the caller through CallerFrom, so this package
// knows nothing about how tokens are checked.
package neutron
