// Package cniapi is the protocol between the CNI plugin ovn-cni (a shim
// run by the container runtime for each call) and `ovn-docker daemon`
// (which holds the cloud credentials and runs the attach core): one JSON
// request per CNI call over the daemon's unix socket, answered with the
// CNI result or a CNI error. It also parses the plugin's network
// configuration, which both sides check.
package cniapi
