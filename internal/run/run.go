package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/proc"
)

// Sentinel errors.
var (
	// ErrNameInUse: the user's --name, or the name its network-holding
	// container would get, belongs to an existing container. Nothing was
	// made or removed.
	ErrNameInUse = errors.New("container name in use")
	// ErrDockerRun: `docker run` of the user's container failed (its
	// message is on stderr already); everything the run made is undone.
	ErrDockerRun = errors.New("docker run failed")
)

// rollbackTimeout bounds the undo of a failed run (and the release of a
// foreground --rm container's network), which runs even if ctx was
// cancelled.
const rollbackTimeout = time.Minute

// HolderSuffix names the network-holding container of `run --name N`:
// N + HolderSuffix.
const HolderSuffix = "-net"

// Docker is what a run needs from the engine.
type Docker interface {
	Inspect(ctx context.Context, idOrName string) (docker.Container, error)
	CreateHolder(ctx context.Context, h docker.HolderSpec) (string, error)
	Start(ctx context.Context, id string) error
	Remove(ctx context.Context, ids ...string) error
	Stop(ctx context.Context, id string) error
	EnsurePauseImage(ctx context.Context, exe string) (string, error)
	RunAttached(ctx context.Context, std docker.Stdio, args ...string) (int, error)
	OnDie(ctx context.Context, label string) (<-chan struct{}, error)
}

// Network is what a run needs from the attach core.
type Network interface {
	Attach(ctx context.Context, req attach.Request) (attach.Attachment, error)
	Detach(ctx context.Context, sel attach.Selector) (int, error)
}

// Connect reaches the cloud and the VM's OVS and returns the attach core
// and the VM's port (vif-id). It must not make anything that needs undoing.
type Connect func(ctx context.Context) (net Network, vifID string, err error)

// Options describe one run.
type Options struct {
	Line    docker.RunLine
	Network string // the network's name or id, as the user gave it
	// SecurityGroups (names or ids) are the port's; none: the project's
	// default group.
	SecurityGroups []string
	// VIFID, if known before connecting, lets the holder start while
	// Connect runs (the engine's slowest step overlaps the cloud's).
	VIFID string
	// PauseImage is the holder's image; "": the plugin's own, made from
	// its executable.
	PauseImage string
	PID        int // recorded on the holder so gc leaves a run in progress alone; 0: os.Getpid()
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	// Subscribe, if set, starts delivering the signals the plugin
	// receives (to forward them to a foreground container, as docker
	// run's sig-proxy does) and returns a stop function.
	Subscribe func() (<-chan os.Signal, func())
	// WriteHosts adds the container's own lines to the /etc/hosts of the
	// holder (process pid); nil: docker.AppendHosts.
	WriteHosts func(pid int, entries []docker.HostsEntry) error
	// WriteResolv makes servers the resolvers in the /etc/resolv.conf
	// of the holder (process pid); nil: docker.SetNameservers.
	WriteResolv func(pid int, servers []netip.Addr) error
	Log         *slog.Logger
}

// Run is one `ovn-docker run`. Use New, then Do.
type Run struct {
	opts    Options
	docker  Docker
	connect Connect
	log     *slog.Logger

	undo []step // registered by the steps that succeeded, run in reverse

	net    Network
	vifID  string
	name   string // the user's container's: its --name, else one made up
	holder docker.Container
	// autoRemoved: a foreground --rm container, which docker removes
	// once it exits, and whose network then goes too.
	autoRemoved bool
	detachNet   func(context.Context) error
}

// step is one undo action, named for the log.
type step struct {
	name string
	do   func(context.Context) error
}

// New prepares a run.
func New(opts Options, dk Docker, connect Connect) *Run {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.WriteHosts == nil {
		opts.WriteHosts = docker.AppendHosts
	}
	if opts.WriteResolv == nil {
		opts.WriteResolv = docker.SetNameservers
	}
	// The container's name is known before it exists (it names the
	// holder, the holder's hostname and the Neutron port): a container
	// without --name gets one, as docker would give it one.
	name, ok := opts.Line.Last("name")
	if !ok || name == "" {
		name = newName()
		opts.Line = opts.Line.WithName(name)
	}
	return &Run{opts: opts, docker: dk, connect: connect, log: log, name: name,
		autoRemoved: !opts.Line.Bool("detach") && opts.Line.Bool("rm")}
}

// NamePrefix starts the names ovn-docker gives containers run without
// --name.
const NamePrefix = "ovd-"

func newName() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return NamePrefix + hex.EncodeToString(b)
}

// maxHostname is the longest hostname the kernel takes.
const maxHostname = 64

// Hostname is the container's hostname: --hostname, else its name (as
// docker gives a container its id), cut to what the kernel takes.
func Hostname(line docker.RunLine, name string) string {
	if h, ok := line.Last("hostname"); ok && h != "" {
		return h
	}
	if len(name) > maxHostname {
		name = name[:maxHostname]
	}
	return name
}

// Do runs the steps: names, holder (+ connect), attach, user container,
// release. It returns the user container's exit code (0 for a detached
// run). On failure before the user's container ran, everything made is
// undone.
func (r *Run) Do(ctx context.Context) (code int, err error) {
	defer func() {
		if err != nil {
			r.rollback(ctx)
		}
	}()
	if err := r.checkNames(ctx); err != nil {
		return 0, err
	}
	if err := r.startHolderAndConnect(ctx); err != nil {
		return 0, err
	}
	if err := r.attach(ctx); err != nil {
		return 0, err
	}
	return r.userContainer(ctx)
}

// onUndo registers the undo of a step that succeeded.
func (r *Run) onUndo(name string, f func(context.Context) error) {
	r.undo = append(r.undo, step{name, f})
}

func (r *Run) rollback(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	for i := len(r.undo) - 1; i >= 0; i-- {
		if err := r.undo[i].do(rctx); err != nil {
			r.log.Warn("rollback step failed; run `ovn-docker gc`", "step", r.undo[i].name, "err", err)
		}
	}
	r.undo = nil
}

// holderName is the holder's name: the container's + HolderSuffix.
func (r *Run) holderName() string { return r.name + HolderSuffix }

// checkNames (step "names"): the user's --name and its holder's name must
// be free. Nothing is made yet, so a collision touches nothing. (A
// container of that name made after this check makes a later step fail,
// and the undo then removes only what this run made, by id.)
func (r *Run) checkNames(ctx context.Context) error {
	name := r.name
	for _, n := range []string{name, name + HolderSuffix} {
		c, err := r.docker.Inspect(ctx, n)
		if errors.Is(err, docker.ErrNoSuchContainer) {
			continue
		}
		if err != nil {
			return err
		}
		if c.Name != n {
			continue // found by id prefix, not by name
		}
		what := "a container"
		if c.Labels[docker.LabelRole] == docker.RoleHolder {
			what = "the network-holding container of another ovn-docker run"
		}
		if n == name {
			return fmt.Errorf("%w: --name %s: %s named %s exists already (id %.12s, %s): remove it (`ovn-docker rm %s`) or choose another --name; nothing was changed",
				ErrNameInUse, name, what, n, c.ID, c.Status, n)
		}
		return fmt.Errorf("%w: --name %s: its network-holding container would be named %s, but %s of that name exists already (id %.12s, %s): remove or rename it, or choose another --name; nothing was changed",
			ErrNameInUse, name, n, what, c.ID, c.Status)
	}
	return nil
}

// restartPolicy is the holder's: it must survive what the user's
// container survives, or after an engine restart the container could not
// join its namespace. A holder never exits by itself, so on-failure
// becomes unless-stopped.
func restartPolicy(user string) string {
	p, _, _ := strings.Cut(user, ":")
	switch p {
	case "", "no":
		return ""
	case "always":
		return "always"
	default:
		return "unless-stopped"
	}
}

// startHolderAndConnect (steps "holder" and "connect"): with the vif-id
// known, both at once.
func (r *Run) startHolderAndConnect(ctx context.Context) error {
	if r.opts.VIFID == "" {
		if err := r.connectNet(ctx); err != nil {
			return err
		}
		return r.startHolder(ctx, r.vifID)
	}
	var herr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		herr = r.startHolder(ctx, r.opts.VIFID)
	}()
	cerr := r.connectNet(ctx)
	<-done // always joined, so that a rollback finds what it removes
	if cerr != nil {
		return cerr
	}
	return herr
}

func (r *Run) connectNet(ctx context.Context) error {
	n, vif, err := r.connect(ctx)
	if err != nil {
		return err
	}
	r.net, r.vifID = n, vif
	return nil
}

// startHolder (step "holder") creates and starts the network-holding
// container. Its undo (remove by the id the engine returned) is registered
// as soon as it exists; a failed create made nothing and undoes nothing.
func (r *Run) startHolder(ctx context.Context, vifID string) error {
	image := r.opts.PauseImage
	if image == "" {
		var err error
		if image, err = r.docker.EnsurePauseImage(ctx, "/proc/self/exe"); err != nil {
			return err
		}
	}
	h := r.opts.Line.Holder()
	h.Name = r.holderName()
	// The holder owns the namespaces the container shares: its hostname
	// is the container's.
	h.Hostname = Hostname(r.opts.Line, r.name)
	h.Image = image
	h.Labels = map[string]string{
		docker.LabelRole:    docker.RoleHolder,
		docker.LabelNetwork: r.opts.Network,
		docker.LabelPID:     string(proc.Of(r.opts.PID)),
		docker.LabelVIF:     vifID,
	}
	// A foreground --rm container's holder is removed by the engine
	// itself once stopped (also after an engine restart); our own pause
	// process stops on SIGTERM.
	h.AutoRemove = r.autoRemoved && r.opts.PauseImage == ""
	if p, ok := r.opts.Line.Last("restart"); ok {
		h.RestartPolicy = restartPolicy(p)
	}
	id, err := r.docker.CreateHolder(ctx, h)
	if errors.Is(err, docker.ErrNameInUse) {
		return fmt.Errorf("%w: the network-holding container's name %s is taken (%v): remove or rename that container, or choose another --name; nothing was changed", ErrNameInUse, h.Name, err)
	}
	if err != nil {
		return fmt.Errorf("creating the network-holding container %s: %w", h.Name, err)
	}
	r.onUndo("remove holder "+id, func(ctx context.Context) error { return r.docker.Remove(ctx, id) })
	if err := r.docker.Start(ctx, id); err != nil {
		return fmt.Errorf("starting the network-holding container %s: %w", h.Name, err)
	}
	c, err := r.docker.Inspect(ctx, id)
	if err != nil {
		return err
	}
	if !c.Running || c.Pid <= 0 {
		return fmt.Errorf("the network-holding container %s is not running (%s)", h.Name, c.Status)
	}
	r.holder = c
	r.log.Debug("holder running", "holder", c.ID, "pid", c.Pid)
	return nil
}

// attach (step "attach") gives the holder's namespace its eth0.
func (r *Run) attach(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	netns := fmt.Sprintf("/proc/%d/ns/net", r.holder.Pid)
	att, err := r.net.Attach(ctx, attach.Request{NetnsPath: netns, IfName: "eth0", Network: r.opts.Network, ContainerID: r.holder.ID, Name: r.name,
		SecurityGroups: r.opts.SecurityGroups})
	if err != nil {
		return err
	}
	holderID := r.holder.ID
	r.detachNet = func(ctx context.Context) error {
		_, err := r.net.Detach(ctx, attach.Selector{ContainerID: holderID})
		return err
	}
	r.onUndo("detach "+att.PortName, r.detachNet)
	r.log.Debug("network ready", "holder", holderID, "ip", att.Addresses, "mac", att.MAC, "vlan", att.VLAN)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	if err := r.hosts(att); err != nil {
		return err
	}
	return r.resolvers(att)
}

// resolvers (step "resolvers") makes the dns_nameservers of the port's
// subnets the container's resolvers, as Neutron gives them to a VM's
// port: the engine copied the VM's /etc/resolv.conf, whose servers the
// container cannot reach from its network. --dns keeps the user's
// choice; a subnet without dns_nameservers keeps the engine's file.
// Nothing to undo: the file goes with the holder.
func (r *Run) resolvers(att attach.Attachment) error {
	if _, given := r.opts.Line.Last("dns"); given || len(att.DNS) == 0 {
		return nil
	}
	if err := r.opts.WriteResolv(r.holder.Pid, att.DNS); err != nil {
		return fmt.Errorf("step resolvers: %w", err)
	}
	r.log.Debug("resolvers from the subnet", "dns", att.DNS)
	return nil
}

// hosts (step "hosts") maps the container's hostname to its addresses in
// the /etc/hosts it shares with the holder, as Docker does on its own
// networks (`hostname -i` works). Nothing to undo: the file goes with the
// holder.
func (r *Run) hosts(att attach.Attachment) error {
	domain, _ := r.opts.Line.Last("domainname")
	names := docker.HostsNames(Hostname(r.opts.Line, r.name), domain)
	var entries []docker.HostsEntry
	for _, p := range att.Addresses {
		entries = append(entries, docker.HostsEntry{Addr: p.Addr(), Names: names})
	}
	if err := r.opts.WriteHosts(r.holder.Pid, entries); err != nil {
		return fmt.Errorf("step hosts: %w", err)
	}
	return nil
}

// userContainer (step "user container") runs the user's container in the
// holder's namespace, in the foreground like docker run would: Ctrl-C
// goes to docker (which forwards it), not to a cancelled ctx. Then step
// "release" for a foreground --rm container.
func (r *Run) userContainer(ctx context.Context) (int, error) {
	dir, err := os.MkdirTemp("", "ovn-docker-run-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cidfile := filepath.Join(dir, "cid")
	rl := r.opts.Line
	_, userOpts := rl.Split()
	args := append(userOpts, "--net=container:"+r.holder.ID, "--label", docker.LabelHolder+"="+r.holder.ID, "--cidfile", cidfile, rl.Image)
	args = append(args, rl.Command...)
	// The network of a foreground --rm container goes as soon as its
	// process has died, while docker is still removing the container.
	waitEarly := func() (bool, error) { return false, nil }
	if r.autoRemoved {
		release := func(ctx context.Context) error { return r.docker.Remove(ctx, r.holder.ID) }
		if r.opts.PauseImage == "" {
			holderID := r.holder.ID
			release = func(ctx context.Context) error { return r.docker.Stop(ctx, holderID) }
		}
		waitEarly = r.releaseOnDie(ctx, []func(context.Context) error{r.detachNet, release})
	}
	std := docker.Stdio{In: r.opts.Stdin, Out: r.opts.Stdout, Err: r.opts.Stderr}
	if r.opts.Subscribe != nil && !rl.Bool("detach") && sigProxy(rl) {
		sigs, stop := r.opts.Subscribe()
		defer stop()
		std.Signals = sigs
	}
	code, err := r.docker.RunAttached(context.WithoutCancel(ctx), std, args...)
	r.log.Debug("docker run done", "code", code, "err", err)
	released := false
	if ran, eerr := waitEarly(); ran && eerr == nil {
		released = true
		r.undo = nil // done already
	}
	cid := readCID(cidfile)
	if cid != "" && (err != nil || code != 0) {
		// Made by this run (its id from the cidfile docker wrote once
		// the container existed): undone if the run failed.
		r.onUndo("remove container "+cid, func(ctx context.Context) error { return r.docker.Remove(ctx, cid) })
	}
	if err != nil {
		return 0, err
	}
	if code == 125 || (code != 0 && !rl.Bool("rm") && !r.started(ctx, cid)) {
		// docker run itself failed (125: bad option, image, daemon;
		// 126/127 with the container never started: bad command): its
		// message is on stderr already.
		return code, fmt.Errorf("%w (exit %d); nothing was left behind", ErrDockerRun, code)
	}
	// The user's container ran: its network stays (a detached run), or
	// goes with it (a foreground --rm one).
	if r.autoRemoved && !released {
		r.release(ctx, cid)
	}
	r.undo = nil
	return code, nil
}

// sigProxy: docker run's --sig-proxy (default true).
func sigProxy(rl docker.RunLine) bool {
	v, ok := rl.Last("sig-proxy")
	return !ok || (v != "false" && v != "0")
}

// release (step "release") undoes the network of a foreground --rm
// container that docker removed on exit, unless it still runs (detached
// from with the detach keys: it keeps its network, and gc releases it
// once gone).
func (r *Run) release(ctx context.Context, cid string) {
	if cid != "" {
		if c, err := r.docker.Inspect(ctx, cid); err == nil && c.Running {
			r.log.Debug("container still running: its network stays", "container", cid)
			return
		}
	}
	// Only the network steps: the container is docker's to remove.
	var keep []step
	for _, s := range r.undo {
		if !strings.HasPrefix(s.name, "remove container ") {
			keep = append(keep, s)
		}
	}
	r.undo = keep
	r.rollback(ctx)
}

// releaseOnDie runs steps (undoing the network: detach, holder removal)
// in parallel as soon as the container sharing the holder's namespace
// dies, without waiting for docker to remove it. wait stops watching and
// reports whether the steps ran, and their error; if they did not (no
// event yet, or no engine API), the caller runs them itself.
func (r *Run) releaseOnDie(ctx context.Context, steps []func(context.Context) error) (wait func() (bool, error)) {
	holderID := r.holder.ID
	evctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	died, err := r.docker.OnDie(evctx, docker.LabelHolder+"="+holderID)
	if err != nil || died == nil {
		stop()
		if err != nil {
			r.log.Debug("not watching for the container's exit", "err", err)
		}
		return func() (bool, error) { return false, nil }
	}
	type result struct {
		ran bool
		err error
	}
	res := make(chan result, 1)
	go func() {
		select {
		case <-died:
		case <-evctx.Done():
			// A die event delivered by the time docker run returned
			// wins over the stop (select picks at random between
			// ready cases).
			select {
			case <-died:
			default:
				res <- result{}
				return
			}
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		errs := make([]error, len(steps))
		var wg sync.WaitGroup
		for i, s := range steps {
			wg.Go(func() { errs[i] = s(rctx) })
		}
		wg.Wait()
		err := errors.Join(errs...)
		r.log.Debug("container exited: network released", "holder", holderID, "err", err)
		res <- result{ran: true, err: err}
	}()
	return func() (bool, error) {
		stop()
		res := <-res
		return res.ran, res.err
	}
}

// started reports whether the container exists and was started at least
// once (a failed docker run leaves it "created" or removes it).
func (r *Run) started(ctx context.Context, cid string) bool {
	if cid == "" {
		return false
	}
	c, err := r.docker.Inspect(context.WithoutCancel(ctx), cid)
	if err != nil {
		return false
	}
	return c.Status != "created"
}

func readCID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
