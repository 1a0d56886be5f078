package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDocker writes a docker CLI stand-in (the engine is not on a local
// unix socket, so the client uses the CLI for everything) that prints stderr and exits 1
// for every command, or prints stdout and exits 0.
func fakeDocker(t *testing.T, stdout, stderr string) *Client {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "docker")
	script := "#!/bin/sh\n"
	if stderr != "" {
		script += "echo '" + stderr + "' >&2\nexit 1\n"
	} else {
		script += "printf '%s' '" + stdout + "'\n"
	}
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Client{Bin: bin, Env: []string{"DOCKER_HOST=ssh://x"}}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	down := fakeDocker(t, "", "Cannot connect to the Docker daemon at ssh://x. Is the docker daemon running?")
	if err := down.Ping(ctx); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "ssh://x") {
		t.Errorf("Ping: want ErrUnreachable naming the host, got %v", err)
	}
	gone := fakeDocker(t, "", "Error: No such container: abc")
	if _, err := gone.Inspect(ctx, "abc"); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Inspect: want ErrNoSuchContainer, got %v", err)
	}
	if err := gone.Remove(ctx, "abc"); err != nil {
		t.Errorf("Remove of a missing container: %v", err)
	}
	missing := &Client{Bin: filepath.Join(t.TempDir(), "no-docker"), Env: []string{"DOCKER_HOST=tcp://127.0.0.1:1"}}
	if err := missing.Ping(ctx); !errors.Is(err, ErrNoDockerCLI) {
		t.Errorf("Ping with no docker CLI: want ErrNoDockerCLI, got %v", err)
	}
	ok := fakeDocker(t, `{"Id":"abc","Name":"/web","State":{"Pid":42,"Running":true,"Status":"running"},"Config":{"Labels":{"ovn-docker.holder":"h1"}},"HostConfig":{"NetworkMode":"container:h1"}}`, "")
	c, err := ok.Inspect(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "abc" || c.Name != "web" || c.Pid != 42 || !c.Running || c.Labels[LabelHolder] != "h1" || c.NetMode != "container:h1" {
		t.Errorf("Inspect: %+v", c)
	}
}
