// Command ovn-cni is a CNI 1.1 plugin that connects a container's network
// namespace to an OVN logical network (a Neutron network) through
// `ovn-docker daemon`, which runs in the same VM and holds the cloud
// credentials: this executable has none, it forwards each call over the
// daemon's unix socket and prints the answer.
//
// Network configuration:
//
//	{"cniVersion": "1.1.0", "name": "ovn-net", "type": "ovn-cni",
//	 "network": "LS1", "socket": "/run/ovn-docker/cni.sock", "mtu": 1442}
//
// "network" (a Neutron network's name or id) is required; "socket" and
// "mtu" (checked against the network's) are optional.
package main

import (
	"context"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/ovn-docker/ovn-docker/internal/cniapi"
)

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{
		Add:    forward(cniapi.CmdAdd),
		Del:    forward(cniapi.CmdDel),
		Check:  forward(cniapi.CmdCheck),
		GC:     forward(cniapi.CmdGC),
		Status: forward(cniapi.CmdStatus),
	}, version.PluginSupports("0.4.0", "1.0.0", "1.1.0"), "ovn-cni: OVN networks through ovn-docker daemon")
}

// forward sends the call to the daemon; an ADD's result is printed as
// the daemon gave it (in the configuration's cniVersion).
func forward(cmd string) func(*skel.CmdArgs) error {
	return func(args *skel.CmdArgs) error {
		conf, cerr := cniapi.ParseConf(args.StdinData)
		if cerr != nil {
			return cerr
		}
		ctx, cancel := context.WithTimeout(context.Background(), cniapi.Timeout)
		defer cancel()
		res, cerr := cniapi.Call(ctx, conf.Socket, cniapi.Request{
			Command: cmd, ContainerID: args.ContainerID, Netns: args.Netns, IfName: args.IfName, Args: args.Args, Config: args.StdinData,
		})
		if cerr != nil {
			return cerr
		}
		if cmd == cniapi.CmdAdd {
			if _, err := os.Stdout.Write(res); err != nil {
				return cniapi.AsError(err)
			}
		}
		return nil
	}
}
