package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newPauseCmd is what the network-holding container runs: it holds the
// namespace and exits on SIGTERM/SIGINT (as PID 1 it gets no default
// signal handling, so it has to ask for them).
func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "pause",
		Short:  "Sleep until signalled (the network-holding container's process)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			<-ch
			return nil
		},
	}
}
