package main

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
)

// Every command a user can run shows examples in its help (and so in its
// man page).
func TestEveryCommandHasExamples(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	root := newRoot(a)
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
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
