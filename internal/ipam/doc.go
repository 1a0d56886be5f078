// Package ipam allocates IP addresses and MAC addresses for ovn-neutrond.
//
// The server keeps one Allocator per subnet in memory. It is fed from the
// OVN Northbound cache (MarkUsed for every address seen on a port) and is
// only asked for candidates: the server commits a candidate to NB with an
// optimistic transaction and, on conflict, releases it and asks again. The
// allocator is therefore never the source of truth, which is why MarkUsed
// and Release are idempotent and never fail.
//
// Validation helpers (ParsePrefix, DefaultPools, ValidatePools,
// ValidateGateway) follow Neutron's rules so that subnets created through
// ovn-neutrond behave like subnets created through Neutron.
package ipam
