// Package nbdb holds the libovsdb models of the OVN Northbound database,
// generated from the schema of Debian 12's OVN (23.03). A model generated from
// a newer schema refuses to connect to an older server, so the schema copy in
// this folder is the one the tests check against the installed server.
package nbdb

//go:generate go tool modelgen -p nbdb -o . ovn-nb.ovsschema
