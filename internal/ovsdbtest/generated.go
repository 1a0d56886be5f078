package ovsdbtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CheckGenerated fails the test when the models committed in dir differ from
// what `modelgen` makes of the schema copy there, or when that copy differs
// from the schema of the installed server (a model generated from another
// schema version refuses to connect).
func CheckGenerated(t *testing.T, dir, pkg, schemaFile, installedSchema string) {
	t.Helper()
	committed, err := os.ReadFile(filepath.Join(dir, schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := os.ReadFile(installedSchema); err != nil {
		t.Logf("installed schema %s not readable (%v); checking generation only", installedSchema, err)
	} else if !bytes.Equal(committed, installed) {
		t.Errorf("%s differs from the installed %s: copy the installed schema and run go generate", schemaFile, installedSchema)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go toolchain not on PATH")
	}
	out := t.TempDir()
	absSchema, err := filepath.Abs(filepath.Join(dir, schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "modelgen", "-p", pkg, "-o", out, absSchema)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("modelgen: %v: %s", err, msg)
	}
	generated, err := filepath.Glob(filepath.Join(out, "*.go"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("modelgen wrote no files (%v)", err)
	}
	for _, g := range generated {
		want, _ := os.ReadFile(g)
		got, err := os.ReadFile(filepath.Join(dir, filepath.Base(g)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate` in %s", filepath.Base(g), dir)
		}
	}
}
