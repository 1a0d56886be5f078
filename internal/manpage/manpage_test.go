package manpage

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

func TestGenerateWritesAPagePerCommand(t *testing.T) {
	root := &cobra.Command{Use: "prog", Short: "does things"}
	sub := &cobra.Command{Use: "sub", Short: "a sub", Example: "  prog sub -x", Run: func(*cobra.Command, []string) {}}
	root.AddCommand(sub, Command())
	dir := t.TempDir()
	if err := Generate(root, dir, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	// gen-man is hidden: no page.
	if diff := cmp.Diff([]string{"prog-sub.1", "prog.1"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "prog-sub.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH \"prog\" \"1\" \"Nov 2026\"", "prog sub -x", "EXAMPLE"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("prog-sub.1 lacks %q:\n%s", want, b)
		}
	}
}
