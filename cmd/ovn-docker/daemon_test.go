package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The example configuration shipped for the systemd unit gives flags the
// daemon knows.
func TestDaemonExampleConfigFlags(t *testing.T) {
	b, err := os.ReadFile("../../contrib/systemd/ovn-docker-daemon.conf")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)OVN_DOCKER_DAEMON_ARGS="(.*?)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no OVN_DOCKER_DAEMON_ARGS in the example config")
	}
	args := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if len(args) == 0 {
		t.Fatal("OVN_DOCKER_DAEMON_ARGS is empty")
	}
	a := &app{getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd := newDaemonCmd(a)
	if err := cmd.ParseFlags(args); err != nil {
		t.Errorf("the example config's flags %v: %v", args, err)
	}
	if got := cmd.Flags().Lookup("metrics-listen").Value.String(); got != "unix:/run/ovn-docker/metrics.sock" {
		t.Errorf("--metrics-listen = %q after the example config", got)
	}
}
