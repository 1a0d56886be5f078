package run

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

// fakeEngine is a Docker engine in memory: containers by id, and a log of
// every call that changes something, so a test can assert exactly what a
// run made and undid.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]docker.Container
	nextID     int
	calls      []string

	createErr error // CreateHolder fails with this
	startErr  error // Start fails with this
	// runCode is what the user's `docker run` exits with; runCreates: it
	// made the container (wrote the cidfile) before exiting; runStarted:
	// the container was started.
	runCode    int
	runCreates bool
	runStarted bool
	runArgs    []string
	// died, when set, is closed once the user's container exited, as the
	// engine's die event would be delivered.
	died chan struct{}
}

func newFakeEngine(existing ...docker.Container) *fakeEngine {
	e := &fakeEngine{containers: map[string]docker.Container{}, runCreates: true, runStarted: true}
	for _, c := range existing {
		e.containers[c.ID] = c
	}
	return e
}

func (e *fakeEngine) record(format string, args ...any) {
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
}

func (e *fakeEngine) Inspect(_ context.Context, idOrName string) (docker.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.containers {
		if c.ID == idOrName || c.Name == idOrName {
			return c, nil
		}
	}
	return docker.Container{}, fmt.Errorf("%w: %s", docker.ErrNoSuchContainer, idOrName)
}

func (e *fakeEngine) add(c docker.Container) string {
	e.nextID++
	c.ID = fmt.Sprintf("id%02d", e.nextID)
	e.containers[c.ID] = c
	return c.ID
}

func (e *fakeEngine) CreateHolder(_ context.Context, h docker.HolderSpec) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.createErr != nil {
		return "", e.createErr
	}
	for _, c := range e.containers {
		if c.Name == h.Name {
			return "", fmt.Errorf("%w: %s", docker.ErrNameInUse, h.Name)
		}
	}
	id := e.add(docker.Container{Name: h.Name, Labels: h.Labels, Status: "created", RestartPolicy: h.RestartPolicy})
	e.record("create holder %s", h.Name)
	return id, nil
}

func (e *fakeEngine) Start(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("start %s", id)
	if e.startErr != nil {
		return e.startErr
	}
	c := e.containers[id]
	c.Running, c.Pid, c.Status = true, 4242, "running"
	e.containers[id] = c
	return nil
}

func (e *fakeEngine) Remove(_ context.Context, ids ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		e.record("remove %s", id)
		delete(e.containers, id)
	}
	return nil
}

func (e *fakeEngine) Stop(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("stop %s", id)
	return nil
}

func (e *fakeEngine) EnsurePauseImage(context.Context, string) (string, error) {
	return "ovn-docker-pause:test", nil
}

func (e *fakeEngine) RunAttached(_ context.Context, _ docker.Stdio, args ...string) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runArgs = args
	if e.runCreates {
		status := "created"
		if e.runStarted {
			status = "exited"
		}
		name := ""
		if i := slices.Index(args, "--name"); i >= 0 {
			name = args[i+1]
		}
		id := e.add(docker.Container{Name: name, Status: status})
		e.record("docker run %s", name)
		if i := slices.Index(args, "--cidfile"); i >= 0 {
			if err := os.WriteFile(args[i+1], []byte(id+"\n"), 0o600); err != nil {
				return 0, err
			}
		}
	}
	if e.died != nil {
		close(e.died)
	}
	return e.runCode, nil
}

func (e *fakeEngine) OnDie(context.Context, string) (<-chan struct{}, error) {
	if e.died == nil {
		return nil, nil // no events: the run releases the network itself
	}
	return e.died, nil
}

func (e *fakeEngine) log() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// fakeNetwork is the attach core: it records attaches and detaches on the
// engine's call log, so their order with the engine's calls shows.
type fakeNetwork struct {
	e         *fakeEngine
	attachErr error
	dns       []netip.Addr // the attachment's DNS servers
	groups    []string     // the groups of the last attach
}

func (n *fakeNetwork) Attach(_ context.Context, req attach.Request) (attach.Attachment, error) {
	n.e.mu.Lock()
	defer n.e.mu.Unlock()
	if n.attachErr != nil {
		return attach.Attachment{}, n.attachErr
	}
	n.e.record("attach %s", req.ContainerID)
	n.groups = req.SecurityGroups
	return attach.Attachment{PortName: "ovd00aport", VLAN: 10, ContainerID: req.ContainerID,
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24")}, DNS: n.dns}, nil
}

func (n *fakeNetwork) Detach(_ context.Context, sel attach.Selector) (int, error) {
	n.e.mu.Lock()
	defer n.e.mu.Unlock()
	n.e.record("detach %s", sel.ContainerID)
	return 1, nil
}

type runCase struct {
	e          *fakeEngine
	n          *fakeNetwork
	connectErr error
	vifKnown   bool
	groups     []string
	resolv     *[][]netip.Addr // WriteResolv's calls
}

func (c runCase) do(t *testing.T, args ...string) (int, error) {
	t.Helper()
	line, err := docker.ParseRun(args)
	if err != nil {
		t.Fatalf("ParseRun(%q): %v", args, err)
	}
	opts := Options{Line: line, Network: "LS1", PID: 1, SecurityGroups: c.groups, WriteHosts: func(int, []docker.HostsEntry) error { return nil },
		WriteResolv: func(_ int, servers []netip.Addr) error {
			if c.resolv != nil {
				*c.resolv = append(*c.resolv, servers)
			}
			return nil
		}}
	if c.vifKnown {
		opts.VIFID = "vif-1"
	}
	connect := func(context.Context) (Network, string, error) {
		if c.connectErr != nil {
			return nil, "", c.connectErr
		}
		return c.n, "vif-1", nil
	}
	return New(opts, c.e, connect).Do(context.Background())
}

func newCase(existing ...docker.Container) runCase {
	e := newFakeEngine(existing...)
	return runCase{e: e, n: &fakeNetwork{e: e}}
}

func TestRunDetachedKeepsEverything(t *testing.T) {
	c := newCase()
	code, err := c.do(t, "-d", "--name", "web", "busybox:local", "sleep", "1d")
	if err != nil || code != 0 {
		t.Fatalf("Do = %d, %v; want 0, nil", code, err)
	}
	want := []string{"create holder web-net", "start id01", "attach id01", "docker run web"}
	if diff := cmp.Diff(want, c.e.log()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if !slices.Contains(c.e.runArgs, "--net=container:id01") {
		t.Errorf("user container args %q do not join the holder id01", c.e.runArgs)
	}
}

func TestRunNameCollisionsTouchNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing docker.Container
		wantMsg  string
	}{
		{"user name taken", docker.Container{ID: "other1", Name: "db", Status: "running"}, "--name db: a container named db exists already"},
		{"holder name taken by an unrelated container", docker.Container{ID: "other2", Name: "db-net", Status: "running"}, "would be named db-net"},
		{"holder name taken by another run's holder", docker.Container{ID: "other3", Name: "db-net", Status: "running",
			Labels: map[string]string{docker.LabelRole: docker.RoleHolder}}, "the network-holding container of another ovn-docker run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCase(tc.existing)
			_, err := c.do(t, "-d", "--name", "db", "busybox:local")
			if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Do error = %v; want ErrNameInUse saying %q", err, tc.wantMsg)
			}
			if calls := c.e.log(); len(calls) != 0 {
				t.Errorf("a refused run changed something: %q", calls)
			}
			if _, err := c.e.Inspect(context.Background(), tc.existing.ID); err != nil {
				t.Errorf("the existing container %s is gone: %v", tc.existing.ID, err)
			}
		})
	}
}

// A container of the holder's name made between the check and the create
// (another run racing this one) is never removed: the create failed, so
// this run made nothing.
func TestRunHolderNameRaceRemovesNothing(t *testing.T) {
	c := newCase()
	c.e.createErr = fmt.Errorf("%w: Conflict", docker.ErrNameInUse)
	_, err := c.do(t, "-d", "--name", "dup1", "busybox:local")
	if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), "dup1-net") {
		t.Fatalf("Do error = %v; want ErrNameInUse naming dup1-net", err)
	}
	if calls := c.e.log(); len(calls) != 0 {
		t.Errorf("calls = %q; want none", calls)
	}
}

func TestRunUndoesOnlyWhatItMade(t *testing.T) {
	bystander := docker.Container{ID: "by1", Name: "bystander", Status: "running", Running: true}
	for _, tc := range []struct {
		name  string
		setup func(*runCase)
		want  []string
	}{
		{"holder fails to start", func(c *runCase) { c.e.startErr = errors.New("boom") },
			[]string{"create holder app-net", "start id01", "remove id01"}},
		{"attach fails", func(c *runCase) { c.n.attachErr = errors.New("no free VLAN") },
			[]string{"create holder app-net", "start id01", "remove id01"}},
		{"connect fails while the holder starts", func(c *runCase) {
			c.vifKnown = true
			c.connectErr = errors.New("cloud unreachable")
		}, []string{"create holder app-net", "start id01", "remove id01"}},
		{"docker run fails (125) after creating the container", func(c *runCase) { c.e.runCode = 125 },
			[]string{"create holder app-net", "start id01", "attach id01", "docker run app", "remove id02", "detach id01", "remove id01"}},
		{"docker run fails before creating anything", func(c *runCase) {
			c.e.runCode = 125
			c.e.runCreates = false
		}, []string{"create holder app-net", "start id01", "attach id01", "detach id01", "remove id01"}},
		{"command not found: created, never started", func(c *runCase) {
			c.e.runCode = 127
			c.e.runStarted = false
		}, []string{"create holder app-net", "start id01", "attach id01", "docker run app", "remove id02", "detach id01", "remove id01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCase(bystander)
			tc.setup(&c)
			if _, err := c.do(t, "-d", "--name", "app", "busybox:local"); err == nil {
				t.Fatal("Do succeeded; want an error")
			}
			if diff := cmp.Diff(tc.want, c.e.log()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if _, err := c.e.Inspect(context.Background(), "bystander"); err != nil {
				t.Errorf("an unrelated container was touched: %v", err)
			}
		})
	}
}

// A container that ran and exited non-zero is the user's result, not a
// failure of the run: it keeps its network unless it was --rm.
func TestRunExitCodeOfTheUsersContainer(t *testing.T) {
	c := newCase()
	c.e.runCode = 3
	code, err := c.do(t, "--name", "job", "busybox:local", "false")
	if err != nil || code != 3 {
		t.Fatalf("Do = %d, %v; want 3, nil", code, err)
	}
	want := []string{"create holder job-net", "start id01", "attach id01", "docker run job"}
	if diff := cmp.Diff(want, c.e.log()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// A foreground --rm container's network goes once it exited; docker
// removes the container itself.
func TestRunForegroundRmReleasesNetwork(t *testing.T) {
	c := newCase()
	code, err := c.do(t, "--rm", "--name", "once", "busybox:local", "true")
	if err != nil || code != 0 {
		t.Fatalf("Do = %d, %v; want 0, nil", code, err)
	}
	// Without engine events the run releases it itself, in undo order.
	want := []string{"create holder once-net", "start id01", "attach id01", "docker run once", "detach id01", "remove id01"}
	if diff := cmp.Diff(want, c.e.log()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// With the engine's die event, the network goes as soon as the container
// died: detach and the holder's stop at once (the engine removes the
// --rm holder once stopped).
func TestRunForegroundRmReleasesOnDie(t *testing.T) {
	c := newCase()
	c.e.died = make(chan struct{})
	code, err := c.do(t, "--rm", "--name", "once", "busybox:local", "true")
	if err != nil || code != 0 {
		t.Fatalf("Do = %d, %v; want 0, nil", code, err)
	}
	got := c.e.log()
	want := []string{"create holder once-net", "start id01", "attach id01", "docker run once", "detach id01", "stop id01"}
	if len(got) == len(want) {
		slices.Sort(got[4:]) // in parallel: any order
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRunNameMadeUpWhenMissing(t *testing.T) {
	c := newCase()
	if _, err := c.do(t, "-d", "busybox:local"); err != nil {
		t.Fatal(err)
	}
	calls := c.e.log()
	if len(calls) == 0 || !strings.HasPrefix(calls[0], "create holder "+NamePrefix) || !strings.HasSuffix(calls[0], HolderSuffix) {
		t.Fatalf("first call %q; want a holder named %s…%s", calls, NamePrefix, HolderSuffix)
	}
}

func TestRestartPolicy(t *testing.T) {
	for user, want := range map[string]string{
		"": "", "no": "", "always": "always", "unless-stopped": "unless-stopped",
		"on-failure": "unless-stopped", "on-failure:3": "unless-stopped",
	} {
		if got := restartPolicy(user); got != want {
			t.Errorf("restartPolicy(%q) = %q; want %q", user, got, want)
		}
	}
}

func TestHostname(t *testing.T) {
	long := strings.Repeat("n", 80)
	for _, tc := range []struct {
		args []string
		name string
		want string
	}{
		{[]string{"busybox:local"}, "web", "web"},
		{[]string{"--hostname", "h1", "busybox:local"}, "web", "h1"},
		{[]string{"busybox:local"}, long, long[:maxHostname]},
	} {
		line, err := docker.ParseRun(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := Hostname(line, tc.name); got != tc.want {
			t.Errorf("Hostname(%q, %q) = %q; want %q", tc.args, tc.name, got, tc.want)
		}
	}
}

// The subnet's DNS servers become the container's resolvers, unless the
// run line has --dns or the subnet has none; the security groups go to
// the attach as given.
func TestRunResolversAndGroups(t *testing.T) {
	dns := []netip.Addr{netip.MustParseAddr("198.51.100.53")}
	for _, tc := range []struct {
		name string
		dns  []netip.Addr
		args []string
		want [][]netip.Addr
	}{
		{"subnet servers", dns, []string{"-d", "busybox:local"}, [][]netip.Addr{dns}},
		{"--dns wins", dns, []string{"-d", "--dns", "192.0.2.53", "busybox:local"}, nil},
		{"subnet without servers", nil, []string{"-d", "busybox:local"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCase()
			c.n.dns = tc.dns
			c.groups = []string{"web", "db"}
			var got [][]netip.Addr
			c.resolv = &got
			if code, err := c.do(t, tc.args...); err != nil || code != 0 {
				t.Fatalf("Do = %d, %v", code, err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("resolvers written (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"web", "db"}, c.n.groups); d != "" {
				t.Errorf("groups of the attach (-want +got):\n%s", d)
			}
		})
	}
}
