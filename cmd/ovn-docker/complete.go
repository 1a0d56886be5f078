package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/docker"
)

// completionTimeout bounds what a shell completion may ask the cloud or
// the engine: a completion that hangs is worse than none.
const completionTimeout = 3 * time.Second

// completeNetworks completes network names (from Neutron, with the
// command's credentials).
func (a *app) completeNetworks(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	a.ensureLog()
	cl, err := a.cloud(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ns, err := cl.ListNetworks(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range ns {
		if strings.HasPrefix(n.Name, prefix) {
			out = append(out, n.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeContainers completes the names of the containers ovn-docker
// connected (the users of its network-holding containers).
func (a *app) completeContainers(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	us, err := a.docker().List(ctx, docker.LabelHolder)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, u := range us {
		if strings.HasPrefix(u.Name, prefix) {
			out = append(out, u.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
