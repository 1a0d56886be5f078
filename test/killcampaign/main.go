// Command killcampaign runs random ovn-docker operations in the sandbox's
// VMs through the real binary, as a user would, kills each one (SIGKILL
// to its process group) at a random moment inside its usual duration,
// then runs `ovn-docker gc` once per VM and audits everything the plugin
// can leave behind: OVS access ports, NB child ports, Neutron ports,
// Docker containers and holders, veths and the containers' namespaces.
// It exits non-zero with a report if anything leaked, was duplicated
// (VLAN per VM, IP, MAC) or runs without its network.
//
//	SANDBOX_DIR=/tmp/me-sb go run ./test/killcampaign -n 60
//
// It needs root and a sandbox that is up (sandbox/sandbox up); it uses
// networks of its own (kc-*) and containers labelled kc=1, and removes
// them at the end.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

type facts struct {
	NBDB    string `json:"nb_db"`
	AuthURL string `json:"auth_url"`
	Image   string `json:"image"`
	VMs     []vm   `json:"vms"`
	Users   []struct {
		Name, Project, Password string
	} `json:"users"`
}

// vm is a sandbox VM; its Docker engine is reached inside its network and
// mount namespaces (Netns, MountNS), as on a VM.
type vm struct {
	Name    string `json:"name"`
	Netns   string `json:"netns"`
	MountNS string `json:"mntns"`
	VIFID   string `json:"vif_id"`
	OVSDB   string `json:"ovsdb"`
	Bridge  string `json:"bridge"`
	Tenant  string `json:"tenant"`
}

// in is args run inside VM v (its network and mount namespaces).
func (v vm) in(args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + v.Netns, "--mount=" + v.MountNS, "--"}, args...)...)
}

// campaign is one run of the program.
type campaign struct {
	f      facts
	bin    string
	token  string
	cloud  *cloud.Client
	rng    *rand.Rand
	log    *slog.Logger
	seq    int
	typ    map[string]time.Duration // usual duration of each operation (unkilled runs)
	counts map[string][2]int        // op -> [runs, killed]
}

var networks = []string{"kc-a", "kc-b"}

const label = "kc=1"

func main() {
	n := flag.Int("n", 60, "operations")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	dir := flag.String("sandbox-dir", os.Getenv("SANDBOX_DIR"), "the sandbox's state directory (SANDBOX_DIR)")
	bin := flag.String("bin", "", "ovn-docker binary (default: built from ./cmd/ovn-docker)")
	keep := flag.Bool("keep", false, "leave the campaign's containers and networks in place")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := setup(*dir, *bin, *seed, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "killcampaign:", err)
		os.Exit(2)
	}
	start := time.Now()
	log.Info("campaign", "ops", *n, "seed", *seed)
	for i := 0; i < *n; i++ {
		c.step(i)
	}
	// A request the last killed command had sent is still completed by
	// the cloud (real Neutron takes about a second for a port create or
	// add_subports); gc with no grace cannot see what does not exist yet.
	time.Sleep(requestSettle)
	for _, v := range c.f.VMs {
		if out, err := c.plugin(v, "gc", "--grace=0s"); err != nil {
			log.Warn("gc failed", "vm", v.Name, "err", err, "out", out)
		}
	}
	rep := c.audit()
	fmt.Printf("killcampaign: %d operations in %s (seed %d)\n", *n, time.Since(start).Round(time.Second), *seed)
	names := make([]string, 0, len(c.counts))
	for op := range c.counts {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		fmt.Printf("  %-14s %4d runs, %4d killed, usual duration %s\n", op, c.counts[op][0], c.counts[op][1], c.typ[op].Round(time.Millisecond))
	}
	fmt.Print(rep)
	if !*keep {
		c.cleanup()
	}
	if !rep.ok() {
		os.Exit(1)
	}
}

func setup(dir, bin string, seed uint64, log *slog.Logger) (*campaign, error) {
	if dir == "" {
		dir = ".sandbox"
	}
	b, err := os.ReadFile(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the sandbox's facts (is it up? SANDBOX_DIR?): %w", err)
	}
	c := &campaign{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), log: log,
		typ: map[string]time.Duration{}, counts: map[string][2]int{}}
	if err := json.Unmarshal(b, &c.f); err != nil {
		return nil, err
	}
	if bin == "" {
		d, err := os.MkdirTemp("", "killcampaign-")
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(d, "ovn-docker")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/ovn-docker")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building ovn-docker: %w: %s", err, out)
		}
	}
	c.bin = bin
	ctx := context.Background()
	for _, u := range c.f.Users {
		if u.Name != "demo" {
			continue
		}
		p, err := openstack.NewClient(c.f.AuthURL)
		if err != nil {
			return nil, err
		}
		ao := gophercloud.AuthOptions{IdentityEndpoint: c.f.AuthURL, Username: u.Name, Password: u.Password, DomainName: "Default",
			Scope: &gophercloud.AuthScope{ProjectName: u.Project, DomainName: "Default"}}
		if err := openstack.AuthenticateV3(ctx, p, &ao, gophercloud.EndpointOpts{}); err != nil {
			return nil, fmt.Errorf("token for demo: %w", err)
		}
		c.token = p.Token()
	}
	if c.token == "" {
		return nil, fmt.Errorf("no user demo in the sandbox's facts")
	}
	c.cloud, err = cloud.Connect(ctx, cloud.Options{Token: c.token, Getenv: func(k string) string {
		if k == "OS_AUTH_URL" {
			return c.f.AuthURL
		}
		return ""
	}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	v := c.f.VMs[0]
	for _, nw := range networks {
		if out, err := c.plugin(v, "list", "networks"); err == nil && strings.Contains(out, nw+" ") {
			continue
		}
		if out, err := c.plugin(v, "create", "network", nw); err != nil {
			return nil, fmt.Errorf("creating network %s: %w: %s", nw, err, out)
		}
	}
	return c, nil
}

// env is what a user in VM v has.
func (c *campaign) env(v vm) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"OS_AUTH_URL=" + c.f.AuthURL, "OVN_DOCKER_CRED=" + c.token, "OS_VIF_ID=" + v.VIFID,
		"OVN_DOCKER_OVSDB=" + v.OVSDB, "OVN_DOCKER_BRIDGE=" + v.Bridge,
	}
}

func (c *campaign) command(v vm, args ...string) *exec.Cmd {
	cmd := v.in(append([]string{c.bin}, args...)...)
	cmd.Env = c.env(v)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// plugin runs ovn-docker to the end.
func (c *campaign) plugin(v vm, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := c.command(v, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// op is one operation: its name and arguments.
type op struct {
	name string
	args []string
}

// pick chooses an operation in VM v.
func (c *campaign) pick(v vm) op {
	nw := networks[c.rng.IntN(len(networks))]
	containers := c.containers(v)
	pickContainer := func() string {
		if len(containers) == 0 {
			return "kc-none"
		}
		return containers[c.rng.IntN(len(containers))]
	}
	c.seq++
	switch r := c.rng.IntN(100); {
	case r < 35 || len(containers) < 2:
		args := []string{"--network=" + nw, "run", "-d", "--label", label}
		if c.rng.IntN(2) == 0 {
			args = append(args, "--name", fmt.Sprintf("kc-%s-%d", v.Name, c.seq))
		}
		if c.rng.IntN(4) == 0 {
			args = append(args, "--restart=always")
		}
		return op{"run", append(args, c.f.Image, "sleep", "1000000")}
	case r < 50:
		return op{"attach", []string{"--network=" + nw, "attach", pickContainer(), "--ifname", "eth1"}}
	case r < 58:
		return op{"detach", []string{"detach", pickContainer(), "--ifname", "eth1"}}
	case r < 80:
		return op{"rm", []string{"rm", pickContainer()}}
	case r < 88:
		return op{"pool fill", []string{"pool", "fill", "--network", nw, "--size", strconv.Itoa(1 + c.rng.IntN(3))}}
	case r < 92:
		return op{"pool drain", []string{"pool", "drain", "--network", nw}}
	case r < 96:
		return op{"network create", []string{"create", "network", "kc-x"}}
	default:
		return op{"network delete", []string{"delete", "network", "kc-x"}}
	}
}

// containers: the campaign's user containers whose holder serves VM v
// (two `docker ps`, so that picking stays cheap).
func (c *campaign) containers(v vm) []string {
	out, err := c.docker(v, "ps", "-a", "--no-trunc", "--filter", "label="+label, "--format", `{{.ID}} {{.Label "ovn-docker.holder"}}`)
	if err != nil {
		return nil
	}
	hs, err := c.docker(v, "ps", "-a", "--no-trunc", "--filter", "label=ovn-docker.role=holder", "--format", `{{.ID}} {{.Label "ovn-docker.vif"}}`)
	if err != nil {
		return nil
	}
	vif := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(hs), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			vif[f[0]] = f[1]
		}
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && vif[f[1]] == v.VIFID {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// step runs one operation in a random VM and kills it at a random moment
// within 1.2 times its usual duration (30% of them are not killed, so
// state accumulates and the usual durations are known).
func (c *campaign) step(i int) {
	v := c.f.VMs[c.rng.IntN(len(c.f.VMs))]
	o := c.pick(v)
	cmd := c.command(v, o.args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		c.log.Error("start", "err", err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	typ, ok := c.typ[o.name]
	kill := ok && c.rng.IntN(10) >= 3
	var err error
	killed := false
	if kill {
		at := time.Duration(c.rng.Int64N(int64(typ)*12/10 + 1))
		select {
		case err = <-done:
		case <-time.After(at):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
			killed = true
		}
	} else {
		err = <-done
	}
	d := time.Since(start)
	cnt := c.counts[o.name]
	cnt[0]++
	if killed {
		cnt[1]++
	} else if err == nil {
		// A moving average of successful runs.
		if typ == 0 {
			c.typ[o.name] = d
		} else {
			c.typ[o.name] = (3*typ + d) / 4
		}
	}
	c.counts[o.name] = cnt
	c.log.Info("op", "i", i, "vm", v.Name, "op", o.name, "args", strings.Join(o.args, " "), "took", d.Round(time.Millisecond), "killed", killed, "err", err)
	if err != nil && !killed {
		c.log.Debug("output", "out", out.String())
	}
}

// docker runs the docker CLI inside VM v, against the VM's own engine.
func (c *campaign) docker(v vm, args ...string) (string, error) {
	cmd := v.in(append([]string{"docker"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

func (c *campaign) cleanup() {
	for _, v := range c.f.VMs {
		ids := c.containers(v)
		if len(ids) > 0 {
			if out, err := c.plugin(v, append([]string{"rm"}, ids...)...); err != nil {
				c.log.Warn("cleanup rm", "err", err, "out", out)
			}
		}
		for _, nw := range networks {
			_, _ = c.plugin(v, "pool", "drain", "--network", nw)
		}
		_, _ = c.plugin(v, "gc", "--grace=0s")
	}
	for _, nw := range append(networks, "kc-x") {
		_, _ = c.plugin(c.f.VMs[0], "delete", "network", nw)
	}
}

// requestSettle is how long a cloud API request sent by a killed command
// may still take to complete.
const requestSettle = 3 * time.Second
