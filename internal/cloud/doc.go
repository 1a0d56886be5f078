// Package cloud is the plugin's client of the cloud: Keystone for who the
// caller is and where Neutron lives, Neutron for networks, subnets and the
// containers' child ports. It speaks only the public REST APIs (through
// gophercloud), so it works the same against OpenStack and ovn-neutrond.
package cloud
