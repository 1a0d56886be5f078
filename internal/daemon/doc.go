// Package daemon is the long-running side of ovn-docker in a VM: the
// Docker network and IPAM driver (Driver, served through package
// dockerdriver) on the same attach core as the CLI, and its lifetime
// (Serve: the plugin socket, draining on shutdown, reconciliation at
// start).
//
// A Docker network of driver ovn is a Neutron network of the tenant, named
// with -o network=ID|NAME (Docker does not tell drivers a network's own
// name); it is created, with the Docker network's subnet, if no network of
// that name exists. Addresses are Neutron's: RequestAddress reserves a
// child port of the VM's port (attach.Reserve), CreateEndpoint binds it to
// the endpoint, Join plugs its veth (attach.Plug) and hands the free end to
// Docker. What links them is kept on the VM bridge's and access ports'
// external_ids, nowhere else.
//
// CNI serves the calls of the CNI plugin ovn-cni (protocol in package
// cniapi) on a socket of its own (ServeCNI): an ADD is an attach of the
// runtime's namespace (attach.Attach, pool first), DEL a detach, and the
// CNI attachment is recorded on the access port's external_ids.
package daemon
