// Package cloud is the plugin's client of the cloud: Keystone for who the
// caller is and where Neutron lives (cached between commands, see
// cache.go), Neutron for networks, subnets, the containers' ports and the
// VM port's trunk. It speaks only the public REST APIs (through
// gophercloud), so it works the same against OpenStack and ovn-neutrond.
//
// A container's port becomes a child of the VM's port either as a subport
// of the trunk whose parent is the VM's port (trunk mode: Neutron checks
// with the caller's credentials that trunk, parent and subport are the
// caller's) or with binding:profile {parent_name, tag}, which only
// ovn-neutrond checks: real Neutron only checks that the parent exists,
// and forbids binding:profile to members by default.
package cloud
