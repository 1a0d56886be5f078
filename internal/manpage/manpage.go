package manpage

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Generate writes one page per command of root's tree (section 1) into dir.
// The date is SOURCE_DATE_EPOCH's when set (reproducible builds), else
// date's.
func Generate(root *cobra.Command, dir string, date time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true
	hdr := &doc.GenManHeader{Title: root.Name(), Section: "1", Source: "ovn-docker", Manual: "ovn-docker manual", Date: &date}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return fmt.Errorf("writing man pages to %s: %w", dir, err)
	}
	return nil
}

// Command is the hidden `gen-man DIR` subcommand that calls Generate for
// the tree it is added to.
func Command() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages of every command to DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			date := time.Now().UTC()
			if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
				var s int64
				if _, err := fmt.Sscan(v, &s); err != nil {
					return fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970: %w", v, err)
				}
				date = time.Unix(s, 0).UTC()
			}
			return Generate(cmd.Root(), args[0], date)
		},
	}
}
