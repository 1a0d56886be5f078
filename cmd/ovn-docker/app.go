package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/attach/adapters"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// app holds the global options and the connections made from them.
type app struct {
	cred, credFile, osCloud string
	proxy                   string // the hypervisor's VM proxy: no credentials in the VM
	vifID, network          string
	securityGroups          []string // --security-group: the ports' groups (names or ids)
	networkFromEnv          bool     // network is OVN_DOCKER_NETWORK's (or unset), not --network's
	portMode                string
	ovsdb, bridge           string
	dockerBin, pauseImage   string
	wait                    time.Duration
	debug                   bool
	output                  string

	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
	runArgs        []string // the docker run arguments, split off before cobra
	closers        []func()
}

// ensureLog gives commands run without the root's pre-run (shell
// completion) a logger.
func (a *app) ensureLog() {
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// envDefault gives flag defaults from the environment.
func (a *app) envDefault(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// token: --cred, else OVN_DOCKER_CRED, else --cred-file. The env and file
// forms keep the token out of `ps`.
func (a *app) token() (string, error) {
	if a.cred != "" {
		return a.cred, nil
	}
	if v := a.getenv("OVN_DOCKER_CRED"); v != "" {
		return v, nil
	}
	if a.credFile != "" {
		b, err := os.ReadFile(a.credFile)
		if err != nil {
			return "", fmt.Errorf("reading --cred-file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("--cred-file %s is empty", a.credFile)
		}
		return t, nil
	}
	return "", nil
}

func (a *app) cloud(ctx context.Context) (*cloud.Client, error) {
	tok, err := a.token()
	if err != nil {
		return nil, err
	}
	if a.proxy != "" {
		return a.viaProxy(ctx, a.proxy, nil)
	}
	cl, err := cloud.Connect(ctx, cloud.Options{Token: tok, Cloud: a.osCloud, Getenv: a.getenv, CacheDir: cloud.DefaultCacheDir(a.getenv)}, a.log)
	if errors.Is(err, cloud.ErrNoCredentials) && tok == "" && a.osCloud == "" && a.getenv("OS_CLOUD") == "" && a.getenv("OS_AUTH_URL") == "" {
		// No credentials at all: the VM proxy of the hypervisor, if there
		// is one, acts for this VM.
		return a.viaProxy(ctx, cloud.DefaultProxyURL, err)
	}
	return cl, err
}

// viaProxy connects to the VM proxy; the VM's port is the one the proxy
// says unless --vif-id names one. noCreds is the error to give instead of
// the proxy's when the proxy was only tried by default.
func (a *app) viaProxy(ctx context.Context, url string, noCreds error) (*cloud.Client, error) {
	pctx, cancel := context.WithTimeout(ctx, proxyDialTimeout)
	defer cancel()
	cl, err := cloud.ConnectProxy(pctx, url, 0, a.log)
	if err != nil {
		if noCreds != nil {
			return nil, fmt.Errorf("%w; and no VM proxy answered at %s (--proxy): %v", noCreds, url, err)
		}
		return nil, err
	}
	if a.vifID == "" {
		a.vifID = cl.VIFID()
	}
	return cl, nil
}

// proxyDialTimeout bounds the first question to the VM proxy, so that a VM
// without one is told soon.
const proxyDialTimeout = 10 * time.Second

func (a *app) docker() *docker.Client {
	return &docker.Client{Bin: a.dockerBin, Env: withoutSecrets(os.Environ())}
}

// withoutSecrets drops the cloud credentials from the environment of the
// processes the plugin starts: docker needs none of them.
func withoutSecrets(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		switch k {
		case "OVN_DOCKER_CRED", "OS_PASSWORD", "OS_TOKEN", "OS_AUTH_TOKEN", "OS_APPLICATION_CREDENTIAL_SECRET":
			continue
		}
		out = append(out, e)
	}
	return out
}

func (a *app) vswitch(ctx context.Context) (*vswitch.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := vswitch.Dial(dctx, a.ovsdb, a.log)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the VM's Open vSwitch database at %s (is ovsdb-server running? set --ovsdb or OVN_DOCKER_OVSDB): %w", a.ovsdb, err)
	}
	a.closers = append(a.closers, c.Close)
	return c, nil
}

// attacher connects to the cloud and the VM's OVS and finds out about the
// VM (bridge, uplink, vif-id).
func (a *app) attacher(ctx context.Context) (*attach.Attacher, *cloud.Client, error) {
	cl, err := a.cloud(ctx)
	if err != nil {
		return nil, nil, err
	}
	at, err := a.attacherWith(ctx, cl)
	return at, cl, err
}

// attacherWith is attacher with a cloud connection made already.
func (a *app) attacherWith(ctx context.Context, cl *cloud.Client) (*attach.Attacher, error) {
	vs, err := a.vswitch(ctx)
	if err != nil {
		return nil, err
	}
	sw := adapters.Switch{C: vs}
	links := adapters.NewLinks(a.log)
	vm, err := attach.DiscoverVM(ctx, sw, links, cl, a.bridge, a.vifID, vswitch.AccessPortPrefix)
	if err != nil {
		return nil, err
	}
	if vm.MACChecked {
		// The next commands need not ask Neutron for the VM port's MAC.
		if err := sw.SetBridgeExternalIDs(ctx, vm.Bridge, map[string]string{attach.KeyVIFMACPrefix + vm.VIFID: vm.MAC}); err != nil {
			a.log.Warn("recording the VM port's MAC on the bridge", "err", err)
		}
	}
	mode, err := a.resolvePortMode(ctx, cl)
	if err != nil {
		return nil, err
	}
	a.log.Debug("VM", "vif_id", vm.VIFID, "bridge", vm.Bridge, "datapath", vm.DatapathType, "uplink", vm.Uplink, "uplink_mtu", vm.UplinkMTU, "port_mode", mode)
	at := &attach.Attacher{Switch: sw, Links: links, Cloud: cl, VM: vm, Log: a.log, WaitActive: a.wait, Pool: sw, Mode: mode}
	// Ports get the container's name as dns_name where the cloud has
	// dns-integration (asked once, then cached with the token); a cloud
	// that cannot say just gets no names.
	if ok, err := cl.HasExtension(ctx, cloud.ExtDNSIntegration); err != nil {
		a.log.Debug("asking Neutron for dns-integration; ports get no dns_name", "err", err)
	} else if ok {
		at.DNS = cl
		// A pool port is named in the background (see attach's
		// nameInBackground): the command waits for it before exiting.
		a.closers = append(a.closers, at.WaitNamed)
	}
	return at, nil
}

// resolvePortMode: --port-mode, where "auto" is trunk mode if Neutron has
// the trunk extension (asked once, then cached with the token).
func (a *app) resolvePortMode(ctx context.Context, cl *cloud.Client) (attach.PortMode, error) {
	mode, auto, err := attach.ParsePortMode(a.portMode)
	if err != nil {
		return "", fmt.Errorf("--port-mode (or OVN_DOCKER_PORT_MODE): %w", err)
	}
	if !auto {
		return mode, nil
	}
	ok, err := cl.HasExtension(ctx, cloud.ExtTrunk)
	if err != nil {
		return "", fmt.Errorf("choosing the port mode (pass --port-mode to skip asking): %w", err)
	}
	if ok {
		return attach.ModeTrunk, nil
	}
	return attach.ModeBindingProfile, nil
}

// needNetwork: commands that attach need --network.
func needNetwork(a *app) error {
	if a.network == "" {
		return errors.New("--network is required: the network to connect to (see `ovn-docker list networks`)")
	}
	return nil
}
