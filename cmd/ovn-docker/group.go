package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// groupCmd makes c (a command that only holds subcommands) refuse an
// unknown subcommand with an error and a non-zero exit, as the root does,
// instead of printing its help and exiting 0; alone, it prints its help.
func groupCmd(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := ""
		if sug := cmd.SuggestionsFor(args[0]); len(sug) > 0 {
			msg = "; did you mean " + strings.Join(sug, " or ") + "?"
		}
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		return fmt.Errorf("%w: unknown command %q for %q%s (its commands: %s; see `%s --help`)",
			errUsage, args[0], cmd.CommandPath(), msg, strings.Join(names, ", "), cmd.CommandPath())
	}
	return c
}
