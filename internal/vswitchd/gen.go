// Package vswitchd holds the libovsdb models of the Open_vSwitch database,
// generated from the schema of Debian 12's Open vSwitch (3.1).
package vswitchd

//go:generate go tool modelgen -p vswitchd -o . vswitch.ovsschema
