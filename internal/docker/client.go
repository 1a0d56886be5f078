package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sentinel errors.
var (
	// ErrUnreachable: the Docker engine cannot be reached.
	ErrUnreachable = errors.New("cannot reach the Docker engine")
	// ErrNoSuchContainer: the container does not exist.
	ErrNoSuchContainer = errors.New("no such container")
	// ErrNoDockerCLI: the docker CLI is not installed.
	ErrNoDockerCLI = errors.New("docker CLI not found")
	// ErrNameInUse: a container of that name exists already; nothing was
	// created.
	ErrNameInUse = errors.New("container name in use")
)

// Labels the plugin puts on containers.
const (
	LabelRole    = "ovn-docker.role"    // "holder" on network-holding containers
	LabelHolder  = "ovn-docker.holder"  // on a user container: its holder's id
	LabelNetwork = "ovn-docker.network" // the network the holder was attached to
	LabelPID     = "ovn-docker.pid"     // on a holder: the `run` that made it, as a proc.Ref
	LabelVIF     = "ovn-docker.vif"     // on a holder: the VM port its network hangs off
	RoleHolder   = "holder"
)

// Client reaches the Docker engine: through its API socket when the
// docker CLI would use a local unix socket (DOCKER_HOST=unix://… or the
// default), else, and for the user's own `docker run`, through the docker
// CLI.
type Client struct {
	Bin string   // "docker" if empty
	Env []string // nil: the plugin's own

	once sync.Once
	eng  *engine // nil: the CLI for everything
}

// api returns the engine API client, or nil if the CLI must be used.
func (c *Client) api() *engine {
	c.once.Do(func() {
		env := c.Env
		if env == nil {
			env = os.Environ()
		}
		if sock := socketPath(env); sock != "" {
			c.eng = newEngine(sock)
		}
	})
	return c.eng
}

func (c *Client) bin() string {
	if c.Bin == "" {
		return "docker"
	}
	return c.Bin
}

func (c *Client) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin(), args...)
	if c.Env != nil {
		cmd.Env = c.Env
	}
	return cmd
}

// output runs docker and returns stdout; errors carry docker's stderr.
//
// A cancelled ctx does not kill docker midway: the engine would finish
// the request anyway (a container created nobody knows of), so the
// command completes, bounded by its own timeout, and the caller checks ctx
// between steps.
func (c *Client) output(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), c.classify(args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func (c *Client) classify(args []string, err error, stderr string) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q is not installed or not in PATH (pass --docker)", ErrNoDockerCLI, c.bin())
	}
	msg := strings.TrimSpace(stderr)
	switch {
	case strings.Contains(msg, "Cannot connect to the Docker daemon") ||
		strings.Contains(msg, "Is the docker daemon running") ||
		strings.Contains(msg, "error during connect"):
		return fmt.Errorf("%w at %s: is dockerd running? (set DOCKER_HOST for another engine): %s", ErrUnreachable, c.host(), msg)
	case strings.Contains(msg, "No such container") || strings.Contains(msg, "No such object"):
		return fmt.Errorf("%w: %s", ErrNoSuchContainer, msg)
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("docker %s: %s", args[0], msg)
}

func (c *Client) host() string {
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "DOCKER_HOST="); ok && v != "" {
			return v
		}
	}
	return "unix:///var/run/docker.sock"
}

// Ping checks that the engine answers.
func (c *Client) Ping(ctx context.Context) error {
	if e := c.api(); e != nil {
		_, err := e.negotiate(ctx)
		return err
	}
	_, err := c.output(ctx, nil, "version", "--format", "{{.Server.APIVersion}}")
	return err
}

// Container is what the plugin needs from `docker inspect`.
type Container struct {
	ID      string
	Name    string
	Pid     int
	Running bool
	Status  string
	Labels  map[string]string
	NetMode string
	// RestartPolicy is the engine's restart policy name ("" or "no":
	// none).
	RestartPolicy string
	Created       time.Time
	// StartedAt is the zero time if the container was never started.
	StartedAt time.Time
	// Endpoints maps the id of each of the container's endpoints (one
	// per network it is on, while it runs) to the network's name.
	Endpoints map[string]string
}

// EverStarted reports whether the container was started at least once.
func (c Container) EverStarted() bool {
	return !c.StartedAt.IsZero() && c.StartedAt.Year() > 1
}

// Restarts reports whether the engine restarts the container by itself
// (after it exits or after an engine restart).
func (c Container) Restarts() bool {
	return c.RestartPolicy != "" && c.RestartPolicy != "no"
}

// Inspect returns a container by id or name (ErrNoSuchContainer if none).
func (c *Client) Inspect(ctx context.Context, idOrName string) (Container, error) {
	if e := c.api(); e != nil {
		return e.inspect(ctx, idOrName)
	}
	out, err := c.output(ctx, nil, "container", "inspect", "--format", "{{json .}}", idOrName)
	if err != nil {
		return Container{}, err
	}
	// The CLI's {{json .}} is the engine's inspect document.
	var raw rawContainer
	if err := json.Unmarshal(bytes.TrimSpace(out), &raw); err != nil {
		return Container{}, fmt.Errorf("docker inspect %s: %w", idOrName, err)
	}
	return raw.container(), nil
}

// Remove force-removes containers; missing ones are not an error.
func (c *Client) Remove(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if e := c.api(); e != nil {
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { errs[i] = e.remove(ctx, id) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	_, err := c.output(ctx, nil, append([]string{"rm", "-f"}, ids...)...)
	if errors.Is(err, ErrNoSuchContainer) {
		// rm -f removes the others and only complains about the missing.
		return nil
	}
	return err
}

// Summary is one line of `docker ps`.
type Summary struct {
	ID      string
	Name    string
	Status  string // created, running, exited, …
	Created time.Time
	Labels  map[string]string
}

// List lists all containers (running or not) carrying label (key or key=value).
func (c *Client) List(ctx context.Context, label string) ([]Summary, error) {
	if e := c.api(); e != nil {
		return e.list(ctx, label)
	}
	out, err := c.output(ctx, nil, "ps", "-a", "--no-trunc", "--filter", "label="+label, "--format", "{{.ID}}")
	if err != nil {
		return nil, err
	}
	var res []Summary
	for _, id := range strings.Fields(string(out)) {
		ct, err := c.Inspect(ctx, id)
		if errors.Is(err, ErrNoSuchContainer) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		res = append(res, Summary{ID: ct.ID, Name: ct.Name, Status: ct.Status, Created: ct.Created, Labels: ct.Labels})
	}
	return res, nil
}

// HolderSpec is a network-holding container: no network of Docker's, the
// options that belong to the network namespace's owner, and labels.
type HolderSpec struct {
	Name, Image          string
	Labels               map[string]string
	Hostname, Domainname string
	DNS, DNSOptions      []string
	DNSSearch            []string
	ExtraHosts           []string
	AutoRemove           bool   // removed by the engine once stopped (--rm)
	RestartPolicy        string // the engine's restart policy; "": none
}

// args are h as `docker create` arguments.
func (h HolderSpec) args() []string {
	a := []string{"--net=none", "--name", h.Name}
	if h.AutoRemove {
		a = append(a, "--rm")
	}
	if h.RestartPolicy != "" {
		a = append(a, "--restart", h.RestartPolicy)
	}
	keys := make([]string, 0, len(h.Labels))
	for k := range h.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a = append(a, "--label", k+"="+h.Labels[k])
	}
	if h.Hostname != "" {
		a = append(a, "--hostname", h.Hostname)
	}
	if h.Domainname != "" {
		a = append(a, "--domainname", h.Domainname)
	}
	for _, l := range []struct {
		flag string
		vals []string
	}{{"--dns", h.DNS}, {"--dns-option", h.DNSOptions}, {"--dns-search", h.DNSSearch}, {"--add-host", h.ExtraHosts}} {
		for _, v := range l.vals {
			a = append(a, l.flag, v)
		}
	}
	return append(a, h.Image)
}

// CreateHolder creates (without starting) the holder container h and
// returns its id. A name in use is an error wrapping ErrNameInUse, and
// then nothing was created: the caller must not remove anything by that
// name. Through the API, an image the engine does not have is left to the
// CLI, which pulls it.
func (c *Client) CreateHolder(ctx context.Context, h HolderSpec) (string, error) {
	if e := c.api(); e != nil {
		id, err := e.createHolder(ctx, h)
		if !errors.Is(err, errNoSuchImage) {
			return id, err
		}
	}
	out, err := c.output(ctx, nil, append([]string{"create"}, h.args()...)...)
	if err != nil {
		if strings.Contains(err.Error(), "is already in use") {
			return "", fmt.Errorf("%w: %w", ErrNameInUse, err)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Start starts a created container.
func (c *Client) Start(ctx context.Context, id string) error {
	if e := c.api(); e != nil {
		return e.start(ctx, id)
	}
	_, err := c.output(ctx, nil, "start", id)
	return err
}

// Stop sends the container SIGTERM and returns without waiting for it to
// exit (a container created with AutoRemove is then removed by the
// engine). A container already gone or stopped is not an error.
func (c *Client) Stop(ctx context.Context, id string) error {
	if e := c.api(); e != nil {
		return e.signal(ctx, id, "SIGTERM")
	}
	_, err := c.output(ctx, nil, "kill", "--signal", "SIGTERM", id)
	if errors.Is(err, ErrNoSuchContainer) || (err != nil && strings.Contains(err.Error(), "is not running")) {
		return nil
	}
	return err
}

// OnDie returns a channel closed when a container carrying label
// (key=value) dies (its process exited), watching from now until ctx ends.
// Without the engine API it returns a nil channel (never closed).
func (c *Client) OnDie(ctx context.Context, label string) (<-chan struct{}, error) {
	e := c.api()
	if e == nil {
		return nil, nil
	}
	return e.events(ctx, map[string][]string{"type": {"container"}, "event": {"die"}, "label": {label}})
}

// Stdio is what a foreground `docker run` is given, as the user's own
// docker run would be.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	// Signals received by the plugin are sent on to docker while it runs
	// (docker's sig-proxy then forwards them to the container); nil: none.
	Signals <-chan os.Signal
}

// terminalSignals are sent by a terminal to its whole foreground process
// group: docker, sharing the terminal, has them already.
var terminalSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT}

// RunAttached runs `docker run ARGS…` with the given stdio, as the user
// would, and returns docker's exit code (-1 and an error if it could not be
// started at all).
//
// With Signals, docker runs in its own process group unless its stdin is a
// terminal (it must then stay in the terminal's foreground group to read
// it), so that every signal reaches it exactly once: from the plugin.
func (c *Client) RunAttached(ctx context.Context, std Stdio, args ...string) (int, error) {
	cmd := c.cmd(ctx, append([]string{"run"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = std.In, std.Out, std.Err
	tty := isTerminal(std.In)
	if std.Signals != nil && !tty {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		return -1, c.classify([]string{"run"}, err, "")
	}
	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case <-done:
				return
			case sig := <-std.Signals:
				if tty && slices.Contains(terminalSignals, sig) {
					continue
				}
				_ = cmd.Process.Signal(sig)
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-forwarded
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// docker itself was killed (e.g. SIGKILL): report it as a
			// shell would.
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, c.classify([]string{"run"}, err, "")
	}
	return 0, nil
}

// isTerminal: r is a terminal device.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// ImageExists reports whether the engine has the image.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	if e := c.api(); e != nil {
		return e.imageExists(ctx, ref)
	}
	_, err := c.output(ctx, nil, "image", "inspect", "--format", "{{.Id}}", ref)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNoDockerCLI) {
		return false, err
	}
	return false, nil
}

// Import makes image ref from a root filesystem tarball.
func (c *Client) Import(ctx context.Context, tarball io.Reader, ref string, changes ...string) error {
	args := []string{"import"}
	for _, ch := range changes {
		args = append(args, "--change", ch)
	}
	_, err := c.output(ctx, tarball, append(args, "-", ref)...)
	return err
}

// Images lists the tags (repo:tag) of repository repo.
func (c *Client) Images(ctx context.Context, repo string) ([]string, error) {
	out, err := c.output(ctx, nil, "images", repo, "--format", "{{.Repository}}:{{.Tag}}")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// RemoveImage removes an image tag; the engine refuses one in use.
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	_, err := c.output(ctx, nil, "rmi", ref)
	return err
}
