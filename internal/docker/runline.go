package docker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrRunLine: the docker run command line is not one the plugin can run.
var ErrRunLine = errors.New("invalid docker run command line")

// boolFlags of `docker run` take no value (long names; short ones below).
var boolFlags = map[string]bool{
	"detach": true, "disable-content-trust": true, "help": true, "init": true,
	"interactive": true, "no-healthcheck": true, "oom-kill-disable": true,
	"privileged": true, "publish-all": true, "read-only": true, "rm": true,
	"sig-proxy": true, "tty": true, "quiet": true, "use-api-socket": true,
}

// valueFlags of `docker run` take a value.
var valueFlags = map[string]bool{
	"add-host": true, "annotation": true, "attach": true, "blkio-weight": true, "blkio-weight-device": true,
	"cap-add": true, "cap-drop": true, "cgroup-parent": true, "cgroupns": true, "cidfile": true,
	"cpu-count": true, "cpu-percent": true, "cpu-period": true, "cpu-quota": true, "cpu-rt-period": true,
	"cpu-rt-runtime": true, "cpu-shares": true, "cpus": true, "cpuset-cpus": true, "cpuset-mems": true,
	"detach-keys": true, "device": true, "device-cgroup-rule": true, "device-read-bps": true,
	"device-read-iops": true, "device-write-bps": true, "device-write-iops": true, "dns": true,
	"dns-option": true, "dns-opt": true, "dns-search": true, "domainname": true, "entrypoint": true, "env": true,
	"env-file": true, "expose": true, "gpus": true, "group-add": true, "health-cmd": true,
	"health-interval": true, "health-retries": true, "health-start-interval": true, "health-start-period": true,
	"health-timeout": true, "hostname": true, "ip": true, "ip6": true, "ipc": true, "isolation": true,
	"kernel-memory": true, "label": true, "label-file": true, "link": true, "link-local-ip": true,
	"log-driver": true, "log-opt": true, "mac-address": true, "memory": true, "memory-reservation": true,
	"memory-swap": true, "memory-swappiness": true, "mount": true, "name": true, "net": true,
	"net-alias": true, "network": true, "network-alias": true, "oom-score-adj": true, "pid": true,
	"pids-limit": true, "platform": true, "publish": true, "pull": true, "restart": true, "runtime": true,
	"security-opt": true, "shm-size": true, "stop-signal": true, "stop-timeout": true, "storage-opt": true,
	"sysctl": true, "tmpfs": true, "ulimit": true, "user": true, "userns": true, "uts": true, "volume": true,
	"volume-driver": true, "volumes-from": true, "workdir": true,
	// ovn-docker's own, taken out of the line before docker sees it.
	OptSecurityGroup: true,
}

// OptSecurityGroup is ovn-docker's --security-group, which a run line
// may carry among docker's options: see TakeOpts.
const OptSecurityGroup = "security-group"

// TakeOpts removes the options named name from the line and returns
// their values, in order.
func (r RunLine) TakeOpts(name string) (RunLine, []string) {
	var vals []string
	opts := make([]Opt, 0, len(r.Opts))
	for _, o := range r.Opts {
		if o.Name == name {
			vals = append(vals, o.Value)
			continue
		}
		opts = append(opts, o)
	}
	r.Opts = opts
	return r, vals
}

var shortBool = map[byte]string{'d': "detach", 'i': "interactive", 't': "tty", 'P': "publish-all", 'q': "quiet"}

var shortValue = map[byte]string{
	'a': "attach", 'c': "cpu-shares", 'e': "env", 'h': "hostname", 'l': "label", 'm': "memory",
	'p': "publish", 'u': "user", 'v': "volume", 'w': "workdir",
}

// Options the container's network decides: they conflict with sharing the
// holder's namespace, and the plugin (Neutron) sets them instead.
var refused = map[string]string{
	"ip": "Neutron allocates the address", "ip6": "Neutron allocates the address",
	"mac-address": "Neutron allocates the MAC", "link": "links need Docker's own networks",
	"link-local-ip": "Docker's own networks only", "network-alias": "Docker's own networks only",
	"net-alias": "Docker's own networks only", "publish": "the container is reached at its own IP",
	"publish-all": "the container is reached at its own IP", "expose": "the container is reached at its own IP",
}

// forwarded options belong to the network namespace's owner: they are
// moved to the holder container, whose hostname, /etc/hosts and
// resolv.conf the user's container then shares.
var forwarded = map[string]bool{
	"hostname": true, "domainname": true, "dns": true, "dns-option": true, "dns-opt": true,
	"dns-search": true, "add-host": true,
}

// Opt is one parsed option.
type Opt struct {
	Name  string // long name
	Value string // "" for booleans given without a value
	Args  []string
}

// RunLine is a parsed `docker run` command line.
type RunLine struct {
	Opts    []Opt    // options before the image, in order
	Image   string   // the image
	Command []string // the command and its arguments
}

// ParseRun parses the arguments after `docker run`.
func ParseRun(args []string) (RunLine, error) {
	var r RunLine
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			switch {
			case boolFlags[name]:
				r.Opts = append(r.Opts, Opt{Name: name, Value: val, Args: []string{a}})
			case valueFlags[name]:
				if hasVal {
					r.Opts = append(r.Opts, Opt{Name: name, Value: val, Args: []string{a}})
					continue
				}
				if i+1 >= len(args) {
					return RunLine{}, fmt.Errorf("%w: option --%s needs a value", ErrRunLine, name)
				}
				r.Opts = append(r.Opts, Opt{Name: name, Value: args[i+1], Args: []string{a, args[i+1]}})
				i++
			default:
				if hasVal {
					// Unknown to this version, but unambiguous.
					r.Opts = append(r.Opts, Opt{Name: name, Value: val, Args: []string{a}})
					continue
				}
				return RunLine{}, fmt.Errorf("%w: unknown option --%s (see `docker run --help`; write --%s=VALUE if it takes a value)", ErrRunLine, name, name)
			}
			continue
		}
		// A cluster of short options: -dit, -e FOO=1, -eFOO=1.
		for j := 1; j < len(a); j++ {
			c := a[j]
			if long, ok := shortBool[c]; ok {
				r.Opts = append(r.Opts, Opt{Name: long, Args: []string{"-" + string(c)}})
				continue
			}
			long, ok := shortValue[c]
			if !ok {
				return RunLine{}, fmt.Errorf("%w: unknown option -%c in %q (see `docker run --help`)", ErrRunLine, c, a)
			}
			val := strings.TrimPrefix(a[j+1:], "=")
			if j+1 < len(a) {
				r.Opts = append(r.Opts, Opt{Name: long, Value: val, Args: []string{"-" + string(c), val}})
			} else {
				if i+1 >= len(args) {
					return RunLine{}, fmt.Errorf("%w: option -%c needs a value", ErrRunLine, c)
				}
				r.Opts = append(r.Opts, Opt{Name: long, Value: args[i+1], Args: []string{"-" + string(c), args[i+1]}})
				i++
			}
			break
		}
	}
	if i >= len(args) {
		return RunLine{}, fmt.Errorf("%w: no image given (usage: ovn-docker run [docker run options] IMAGE [COMMAND [ARG...]])", ErrRunLine)
	}
	r.Image = args[i]
	r.Command = args[i+1:]
	return r, nil
}

// Last returns the value of the last occurrence of option name.
func (r RunLine) Last(name string) (string, bool) {
	v, ok := "", false
	for _, o := range r.Opts {
		if o.Name == name {
			v, ok = o.Value, true
		}
	}
	return v, ok
}

// Bool reports whether a boolean option is on.
func (r RunLine) Bool(name string) bool {
	v, ok := r.Last(name)
	return ok && v != "false" && v != "0"
}

// dockerNetworkModes are the values of --net/--network that name one of
// Docker's own network modes rather than an OVN network.
var dockerNetworkModes = map[string]string{
	"host":    "the container would share the VM's own network",
	"bridge":  "Docker's bridge is not an OVN network (and the sandboxed engine has none)",
	"default": "Docker's default network is its bridge, not an OVN network",
}

// IsDockerNetworkMode reports whether v (a --net/--network value) is one of
// Docker's own modes (host, bridge, default, container:X), which the
// plugin cannot honour.
func IsDockerNetworkMode(v string) bool {
	return dockerNetworkModes[v] != "" || strings.HasPrefix(v, "container:")
}

// CheckNetwork refuses options that would give the container a network
// other than the plugin's: Docker's own network modes (host, bridge,
// container:X), several different networks, and the options that only make
// sense with Docker's networks. --net/--network=none and
// --net/--network=<OVN network> (see Network) are accepted.
func (r RunLine) CheckNetwork() error {
	net := ""
	for _, o := range r.Opts {
		switch {
		case o.Name == "net" || o.Name == "network":
			switch {
			case o.Value == "":
				return fmt.Errorf("%w: --%s needs a value: an OVN network's name or id (see `ovn-docker list networks`), or none", ErrRunLine, o.Name)
			case dockerNetworkModes[o.Value] != "":
				return fmt.Errorf("%w: --%s=%s: %s; give an OVN network (--%s=NAME, see `ovn-docker list networks`) or none", ErrRunLine, o.Name, o.Value, dockerNetworkModes[o.Value], o.Name)
			case strings.HasPrefix(o.Value, "container:"):
				return fmt.Errorf("%w: --%s=%s: ovn-docker gives the container its own OVN port; to share another container's network use `docker run --%s=%s` directly", ErrRunLine, o.Name, o.Value, o.Name, o.Value)
			case o.Value == "none":
			case net != "" && net != o.Value:
				return fmt.Errorf("%w: --%s=%s and --network=%s: run connects one network; connect more with `ovn-docker --network=NET attach CONTAINER`", ErrRunLine, o.Name, o.Value, net)
			default:
				net = o.Value
			}
		case refused[o.Name] != "":
			return fmt.Errorf("%w: --%s cannot be used: %s", ErrRunLine, o.Name, refused[o.Name])
		case o.Name == "cidfile":
			// Used by the plugin itself to learn the container id.
			return fmt.Errorf("%w: --cidfile cannot be used with ovn-docker run", ErrRunLine)
		}
	}
	return nil
}

// Network returns the OVN network the run line names with --net/--network
// (as docker users write it), "" if none does ("none" names none).
func (r RunLine) Network() string {
	net := ""
	for _, o := range r.Opts {
		if (o.Name == "net" || o.Name == "network") && o.Value != "none" {
			net = o.Value
		}
	}
	return net
}

// WithName returns the run line with --name NAME added (for a container
// the user did not name).
func (r RunLine) WithName(name string) RunLine {
	r.Opts = append(slices.Clone(r.Opts), Opt{Name: "name", Value: name, Args: []string{"--name", name}})
	return r
}

// Split returns the options for the holder (forwarded ones) and the user's
// container (all others; --net removed), each as arguments.
func (r RunLine) Split() (holder, user []string) {
	for _, o := range r.Opts {
		switch {
		case o.Name == "net" || o.Name == "network":
		case forwarded[o.Name]:
			holder = append(holder, o.Args...)
		default:
			user = append(user, o.Args...)
		}
	}
	return holder, user
}

// Holder returns the holder container's share of the options (the
// forwarded ones) as a HolderSpec; the caller sets Name, Image, Labels.
func (r RunLine) Holder() HolderSpec {
	var h HolderSpec
	for _, o := range r.Opts {
		switch o.Name {
		case "hostname":
			h.Hostname = o.Value
		case "domainname":
			h.Domainname = o.Value
		case "dns":
			h.DNS = append(h.DNS, o.Value)
		case "dns-option", "dns-opt":
			h.DNSOptions = append(h.DNSOptions, o.Value)
		case "dns-search":
			h.DNSSearch = append(h.DNSSearch, o.Value)
		case "add-host":
			h.ExtraHosts = append(h.ExtraHosts, o.Value)
		}
	}
	return h
}

// WithNetwork returns the run line as `docker run` arguments, with
// --network network in place of any --net/--network.
func (r RunLine) WithNetwork(network string) []string {
	var args []string
	for _, o := range r.Opts {
		if o.Name != "net" && o.Name != "network" {
			args = append(args, o.Args...)
		}
	}
	args = append(args, "--network", network, r.Image)
	return append(args, r.Command...)
}
