package main

import (
	"testing"

	"github.com/spf13/cobra"
)

// Every command shows examples in its help (and so in its man page).
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%q has no examples", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
