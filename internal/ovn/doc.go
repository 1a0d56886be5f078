// Package ovn maps Neutron resources (networks, subnets, ports) onto rows
// of the OVN Northbound database, which is their only store.
//
//   - network → Logical_Switch "neutron-<id>", attributes in external_ids
//   - subnet  → DHCP_Options, the subnet record in external_ids and the
//     options OVN's native DHCP needs in options
//   - port    → Logical_Switch_Port named by the port id; its extra DHCP
//     options get a DHCP_Options row of its own (external_ids:port_id)
//   - trunk   → neutron:trunk_* keys on its parent port's
//     Logical_Switch_Port; subports are the parent's children
//     (parent_name, tag = VLAN), see trunks.go
//   - subnet pool, address scope → Address_Set "neutron_subnetpool_…",
//     "neutron_address_scope_…" (a pool records its allocations)
//   - provider segment → neutron:provnet-* keys on the Logical_Switch; a
//     flat or VLAN network's localnet port "provnet-<segment id>"
//     (provider.go)
//   - security group → Port_Group "pg_<id>" with an ACL per rule, every
//     port with port security in "neutron_pg_drop" (secgroups.go,
//     sgrules.go, portgroups.go)
//   - router → Logical_Router "neutron-<id>", its interfaces and gateway
//     Neutron ports with router-type LSPs and LRPs "lrp-<port id>",
//     static routes and snat NAT rows (routers.go)
//   - floating IP → a network:floatingip port holding the address and a
//     dnat_and_snat NAT row while associated (floatingips.go)
//
// Tags and the attributes ML2/OVN keeps only in Neutron's database
// (allowed address pairs, extra DHCP options, service types) are
// external_ids of the resource's row.
//
// Security groups, routers and floating IPs' NAT rows are read from the
// libovsdb cache itself; everything else is read from an in-memory view that is fed by the libovsdb
// monitor (and rebuilt from the libovsdb cache after every (re)connect),
// so a read never goes to the server. Writes are OVSDB transactions that
// carry optimistic guards ("wait" operations): a transaction that
// allocates addresses on a network waits for the network's
// Logical_Switch external_ids to be exactly what the allocator saw and
// bumps neutron:ipam_generation; one that adds a child to a parent port
// does the same on the parent's external_ids. When another process
// committed first the guard fails, the view catches up and the
// operation is retried. Uniqueness therefore holds across any number of
// processes that share one NB, without check-then-write.
package ovn
