// Package vmproxy is the hypervisor-side VM proxy: a Neutron-compatible
// subset of the API that tenant VMs reach without credentials, at a
// link-local address served through one OVN localport per network.
//
// The proxy tells which VM is calling by the network the request arrived
// on (each network has its own listener, in the namespace the network's
// localport is bound to) and the request's source address: OVN's port
// security drops any packet whose source is not the sending port's own
// address, so the pair names exactly one VM port. It then acts for that VM
// with its own service credential, which never leaves the hypervisor, and
// lets the VM do only this: learn its port and project, list the networks
// its project may use, make ports that are children of its own port (as
// binding:profile children or as subports of its own trunk), and list,
// show and delete those. Everything else is refused with 403. Every
// request is rate limited per VM and written to an audit log line.
package vmproxy
