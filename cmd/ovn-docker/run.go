package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run [docker run options] IMAGE [COMMAND [ARG...]]",
		Short: "docker run, with the container on --network",
		Long: `Run a container like "docker run" does, with its eth0 on --network.

The container's own process never runs without its network: first a small
network-holding container (made from this executable, "pause") is started
with no network, its namespace gets eth0 (a Neutron port nested in the VM's
port, a VLAN access port of the VM bridge), ovn-docker waits until Neutron
reports the port ACTIVE, and only then is the user's container started with
--net=container:<holder>. --net/--network must be none or absent; --hostname,
--dns*, --add-host go to the holder, whose settings the container shares.
If any step fails, everything done before is undone.`,
		// Main splits the docker run arguments off before cobra parses
		// the global flags, which come before "run".
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd.Context(), a.runArgs)
		},
	}
}

func (a *app) run(ctx context.Context, args []string) (err error) {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		return errors.New(`usage: ovn-docker --network=NET [--vif-id=ID] run [docker run options] IMAGE [COMMAND [ARG...]]`)
	}
	rl, err := docker.ParseRun(args)
	if err != nil {
		return err
	}
	if err := rl.CheckNetwork(); err != nil {
		return err
	}
	if err := needNetwork(a); err != nil {
		return err
	}
	dk := a.docker()
	if err := dk.Ping(ctx); err != nil {
		return err
	}
	var undo []func(context.Context) error
	rollback := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](rctx); uerr != nil {
				a.log.Warn("rollback step failed; run `ovn-docker gc`", "err", uerr)
			}
		}
		undo = nil
	}
	kept := false // set once the user's container has run: its network stays
	defer func() {
		if err != nil && !kept {
			rollback()
		}
	}()

	_, userOpts := rl.Split()
	hs := rl.Holder()
	hs.Name = "ovn-docker-net-" + randomHex(6)
	if name, ok := rl.Last("name"); ok && name != "" {
		hs.Name = name + "-net"
	}
	holderName := hs.Name
	// A foreground --rm container is removed by docker once it exits, and
	// its network with it.
	autoRemoved := !rl.Bool("detach") && rl.Bool("rm")
	// Its holder then is removed by the engine itself once stopped (also
	// after an engine restart), so nobody waits for that; our own pause
	// process stops on SIGTERM.
	hs.AutoRemove = autoRemoved && a.pauseImage == ""
	removeHolder := func(ctx context.Context) error { return dk.Remove(ctx, holderName) }
	startHolder := func(vifID string) (docker.Container, error) {
		image := a.pauseImage
		if image == "" {
			var err error
			if image, err = dk.EnsurePauseImage(ctx, "/proc/self/exe"); err != nil {
				return docker.Container{}, err
			}
		}
		a.log.Debug("pause image", "image", image)
		hs.Image = image
		hs.Labels = map[string]string{
			docker.LabelRole:    docker.RoleHolder,
			docker.LabelNetwork: a.network,
			docker.LabelPID:     strconv.Itoa(os.Getpid()),
			docker.LabelVIF:     vifID,
		}
		holderID, err := dk.RunHolder(ctx, hs)
		if err != nil {
			return docker.Container{}, fmt.Errorf("starting the network-holding container %s: %w", holderName, err)
		}
		holder, err := dk.Inspect(ctx, holderID)
		if err != nil {
			return docker.Container{}, err
		}
		if !holder.Running || holder.Pid <= 0 {
			return docker.Container{}, fmt.Errorf("the network-holding container %s is not running (%s)", holderName, holder.Status)
		}
		return holder, nil
	}
	type startResult struct {
		holder docker.Container
		err    error
	}
	var early chan startResult
	if a.vifID != "" {
		// The VM's port (a label of the holder) is known: the holder's
		// start, the engine's slowest step, overlaps connecting to the
		// cloud and the VM's OVS. Removed by name: even a failed start
		// may have created it.
		undo = append(undo, removeHolder)
		early = make(chan startResult, 1)
		go func() {
			h, err := startHolder(a.vifID)
			early <- startResult{h, err}
		}()
	}
	at, cl, err := a.attacher(ctx)
	// Fail early on a bad network, before attaching; with a pooled port
	// ready the attach asks Neutron nothing, and neither do we.
	if err == nil && !at.HasPoolPort(ctx, a.network) {
		_, err = cl.FindNetwork(ctx, a.network)
	}
	var holder docker.Container
	if early != nil {
		// Always joined, so that a rollback finds what it removes.
		r := <-early
		holder = r.holder
		if err == nil {
			err = r.err
		}
	}
	if err != nil {
		return err
	}
	if early == nil {
		undo = append(undo, removeHolder)
		if holder, err = startHolder(at.VM.VIFID); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	a.log.Debug("holder running", "holder", holder.ID, "pid", holder.Pid)
	netns := fmt.Sprintf("/proc/%d/ns/net", holder.Pid)
	att, err := at.Attach(ctx, attach.Request{NetnsPath: netns, IfName: "eth0", Network: a.network, ContainerID: holder.ID})
	if err != nil {
		return err
	}
	detachNet := func(ctx context.Context) error {
		_, err := at.Detach(ctx, attach.Selector{ContainerID: holder.ID})
		return err
	}
	undo = append(undo, detachNet)
	a.log.Debug("network ready", "holder", holder.ID, "ip", att.Addresses, "mac", att.MAC, "vlan", att.VLAN)

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	dir, err := os.MkdirTemp("", "ovn-docker-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cidfile := filepath.Join(dir, "cid")
	uargs := append(userOpts, "--net=container:"+holder.ID, "--label", docker.LabelHolder+"="+holder.ID, "--cidfile", cidfile, rl.Image)
	uargs = append(uargs, rl.Command...)
	// The network of a foreground --rm container goes as soon as its
	// process has died, while docker is still removing the container.
	waitEarly := func() (bool, error) { return false, nil }
	if autoRemoved {
		release := removeHolder
		if hs.AutoRemove {
			holderID := holder.ID
			release = func(ctx context.Context) error { return dk.Stop(ctx, holderID) }
		}
		waitEarly = a.releaseOnDie(ctx, dk, holder.ID, []func(context.Context) error{detachNet, release})
	}
	// The user's container runs in the foreground like docker run would:
	// Ctrl-C goes to docker (which forwards it), not to a cancelled ctx.
	code, err := dk.RunAttached(context.WithoutCancel(ctx), a.stdin, a.stdout, a.stderr, uargs...)
	a.log.Debug("docker run done", "code", code, "err", err)
	if ran, eerr := waitEarly(); ran && eerr == nil {
		undo = nil // done already
	}
	nUndo := len(undo)
	cid := readCID(cidfile)
	if cid != "" {
		undo = append(undo, func(ctx context.Context) error { return dk.Remove(ctx, cid) })
	}
	if err != nil {
		return err
	}
	if code == 125 || (code != 0 && !rl.Bool("rm") && !started(ctx, dk, cid)) {
		// docker run itself failed (125: bad option, image, daemon;
		// 126/127 with the container never started: bad command): its
		// message is on stderr already.
		return &exitError{code: code, err: fmt.Errorf("docker run failed (exit %d); nothing was left behind", code)}
	}
	kept = true
	if autoRemoved {
		// docker removed the container on exit (and waited for that):
		// its network goes too, if that has not happened already.
		undo = undo[:nUndo]
		if len(undo) > 0 && cid != "" {
			if c, ierr := dk.Inspect(ctx, cid); ierr == nil && c.Running {
				// Detached from with the detach keys: it still runs
				// and keeps its network (gc releases it once gone).
				a.log.Debug("container still running: its network stays", "container", cid)
				undo = nil
			}
		}
		rollback()
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// releaseOnDie runs steps (undoing the network: detach, holder removal)
// in parallel as soon as the container sharing holderID's namespace dies,
// without waiting for docker to remove it. wait stops watching and reports
// whether the steps ran, and their error; if they did not (no event yet,
// or no engine API), the caller runs them itself.
func (a *app) releaseOnDie(ctx context.Context, dk *docker.Client, holderID string, steps []func(context.Context) error) (wait func() (bool, error)) {
	evctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	died, err := dk.OnDie(evctx, docker.LabelHolder+"="+holderID)
	if err != nil || died == nil {
		stop()
		if err != nil {
			a.log.Debug("not watching for the container's exit", "err", err)
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
			res <- result{}
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		errs := make([]error, len(steps))
		var wg sync.WaitGroup
		for i, step := range steps {
			wg.Go(func() { errs[i] = step(rctx) })
		}
		wg.Wait()
		err := errors.Join(errs...)
		a.log.Debug("container exited: network released", "holder", holderID, "err", err)
		res <- result{ran: true, err: err}
	}()
	return func() (bool, error) {
		stop()
		r := <-res
		return r.ran, r.err
	}
}

// started reports whether the container exists and was started at least
// once (a failed docker run leaves it "created" or removes it).
func started(ctx context.Context, dk *docker.Client, cid string) bool {
	if cid == "" {
		return false
	}
	c, err := dk.Inspect(context.WithoutCancel(ctx), cid)
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
