package attach

// external_ids keys on the OVS port of an attachment. They are everything
// Detach and GC need, so no local state file exists.
const (
	KeyContainer = "ovn-docker:container" // owner of the netns (container id), may be empty
	KeyNetns     = "ovn-docker:netns"     // netns path at attach time
	KeyIfName    = "ovn-docker:ifname"    // interface name inside the netns
	KeyNetwork   = "ovn-docker:network"   // Neutron network id
	KeyPort      = "ovn-docker:port"      // Neutron port id, once created
	KeyVIF       = "ovn-docker:vif"       // the VM's port (parent)
	KeyState     = "ovn-docker:state"     // "attaching" until done, then "ready"
	KeyPID       = "ovn-docker:pid"       // pid of the process attaching (for GC)
)

const (
	stateAttaching = "attaching"
	stateReady     = "ready"
)
