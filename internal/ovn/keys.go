package ovn

// external_ids keys, following Neutron ML2/OVN where it has one.
const (
	// Logical_Switch
	keyNetworkName    = "neutron:network_name"
	keyProjectID      = "neutron:project_id"
	keyMTU            = "neutron:mtu"
	keyShared         = "neutron:shared"
	keyAdminStateUp   = "neutron:admin_state_up"
	keyRevision       = "neutron:revision_number"
	keyCreatedAt      = "neutron:created_at"
	keyUpdatedAt      = "neutron:updated_at"
	keyDescription    = "neutron:description"
	keyIPAMGeneration = "neutron:ipam_generation"
	// the network's one segment (provider attributes), with the keys
	// ML2/OVN reserves for them
	keySegmentID       = "neutron:segment_id"
	keyNetworkType     = "neutron:provnet-network-type"
	keyPhysicalNetwork = "neutron:provnet-physical-network"
	keySegmentationID  = "neutron:provnet-segmentation-id"
	keyRouterExternal  = "neutron:router_external"
	// on rows written by an allocating transaction: how many rows it wrote
	keyIPAMBatch = "neutron:ipam_batch"

	// DHCP_Options (the subnet record)
	keySubnetID   = "neutron:subnet_id"
	keySubnetName = "neutron:subnet_name"
	keyNetworkID  = "neutron:network_id"
	keyGateway    = "neutron:gateway_ip"
	keyPools      = "neutron:allocation_pools"
	keyEnableDHCP = "neutron:enable_dhcp"
	keyDNS        = "neutron:dns_nameservers"
	keyHostRoutes = "neutron:host_routes"
	keyIPVersion  = "neutron:ip_version"
	keyServerMAC  = "neutron:server_mac"

	// Logical_Switch_Port
	keyPortName           = "neutron:port_name"
	keyDeviceID           = "neutron:device_id"
	keyDeviceOwner        = "neutron:device_owner"
	keyCIDRs              = "neutron:cidrs"
	keyFixedIPs           = "neutron:fixed_ips"
	keyMAC                = "neutron:mac_address"
	keyPortSecurity       = "neutron:port_security_enabled"
	keyBindingProfile     = "neutron:binding_profile"
	keyHostID             = "neutron:host_id"
	keyChildrenGeneration = "neutron:children_generation"
)

// lsPrefix is ML2/OVN's Logical_Switch name prefix.
const lsPrefix = "neutron-"
