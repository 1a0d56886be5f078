package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/manpage"
	"github.com/ovn-docker/ovn-docker/internal/version"
)

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{getenv: os.Getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	defer a.close()
	root := newRoot(a)
	// `run` passes the user's docker run line through untouched, and
	// docker's flags (--network!) overlap ours: split it off before cobra
	// sees it, at the first non-flag argument.
	if globals, rest, ok := splitRun(root, args); ok {
		a.runArgs = rest
		args = append(globals, "run")
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

// splitRun finds the subcommand position; if it is "run", it returns the
// global flags before it and the arguments after it.
func splitRun(root *cobra.Command, args []string) (globals, rest []string, ok bool) {
	for i := 0; i < len(args); i++ {
		s := args[i]
		if !strings.HasPrefix(s, "-") {
			if s == "run" {
				return args[:i:i], args[i+1:], true
			}
			return nil, nil, false
		}
		name := strings.TrimLeft(s, "-")
		if strings.Contains(name, "=") {
			continue
		}
		var f = root.PersistentFlags().Lookup(name)
		if f == nil && len(name) == 1 {
			f = root.PersistentFlags().ShorthandLookup(name)
		}
		if f != nil && f.Value.Type() != "bool" {
			i++ // its value
		}
	}
	return nil, nil, false
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ovn-docker",
		Short: "Connect containers in this VM to OVN logical networks (Neutron ports nested in the VM's port)",
		Long: `ovn-docker runs inside a tenant VM. Each container gets its own Neutron
port, a child of the VM's port (--vif-id) on the chosen network, told apart on
the VM's NIC by a VLAN tag unique inside the VM.

Credentials: --cred TOKEN (a Keystone token from "openstack token issue"; also
OVN_DOCKER_CRED or --cred-file, which keep it out of ps) with OS_AUTH_URL or
--os-cloud for the identity endpoint; or the usual OS_* password variables or
a clouds.yaml entry (--os-cloud / OS_CLOUD); or none at all, where the
hypervisor runs ovn-docker-proxy: it acts for this VM on its own containers'
ports (--proxy, else found at ` + cloud.DefaultProxyURL + `).`,
		Example: `  TOKEN=$(openstack token issue -f value -c id)
  ovn-docker --cred=$TOKEN create network LS1
  ovn-docker --cred=$TOKEN --network=LS1 run -d busybox:local sleep 1d
  ovn-docker --cred=$TOKEN ps
  ovn-docker --cred=$TOKEN rm CONTAINER`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			if a.debug {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			return checkOutput(a.output)
		},
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.cred, "cred", "", "Keystone token (prefer OVN_DOCKER_CRED or --cred-file: arguments are visible in ps)")
	pf.StringVar(&a.credFile, "cred-file", "", "file holding the Keystone token")
	pf.StringVar(&a.osCloud, "os-cloud", "", "clouds.yaml entry (default $OS_CLOUD)")
	pf.StringVar(&a.proxy, "proxy", a.envDefault("OVN_DOCKER_PROXY", ""), "URL of the hypervisor's VM proxy (ovn-docker-proxy), which acts for this VM with no credentials in it (default $OVN_DOCKER_PROXY; without any credentials "+cloud.DefaultProxyURL+" is tried)")
	pf.StringVar(&a.vifID, "vif-id", a.envDefault("OS_VIF_ID", ""), "the VM's Neutron port id (default $OS_VIF_ID; else found by the VM NIC's MAC)")
	pf.StringVar(&a.portMode, "port-mode", a.envDefault("OVN_DOCKER_PORT_MODE", "auto"),
		"how container ports become children of the VM's port: trunk (subports of the VM port's trunk), binding-profile (binding:profile parent_name/tag; real Neutron forbids it to members and does not check the parent's owner), or auto (trunk where Neutron has the trunk extension)")
	pf.StringVar(&a.network, "network", a.envDefault("OVN_DOCKER_NETWORK", ""), "network (name or id) for run and attach")
	pf.StringArrayVar(&a.securityGroups, "security-group", nil,
		"security group (name or id, of your project) of the container's port for run, attach and pool fill; repeat for several; default: the project's default group")
	pf.StringVar(&a.ovsdb, "ovsdb", a.envDefault("OVN_DOCKER_OVSDB", "unix:/var/run/openvswitch/db.sock"), "the VM's OVSDB")
	pf.StringVar(&a.bridge, "bridge", a.envDefault("OVN_DOCKER_BRIDGE", ""), "the VM's OVS bridge (default: the only one)")
	pf.StringVar(&a.dockerBin, "docker", a.envDefault("OVN_DOCKER_DOCKER", "docker"), "docker CLI to run (DOCKER_HOST etc. apply)")
	pf.StringVar(&a.pauseImage, "pause-image", a.envDefault("OVN_DOCKER_PAUSE_IMAGE", ""), "image for the network-holding containers (default: made from this executable)")
	pf.DurationVar(&a.wait, "wait", 60*time.Second, "how long to wait for a port to become ACTIVE")
	pf.BoolVar(&a.debug, "debug", false, "log what is done")
	pf.StringVarP(&a.output, "output", "o", outTable, "output format: "+strings.Join(outputFormats, ", ")+" (wide: every column of ps)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("network", a.completeNetworks)
	_ = root.RegisterFlagCompletionFunc("port-mode", cobra.FixedCompletions([]string{"auto", "trunk", "binding-profile"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(newCreateCmd(a), newListCmd(a), newDeleteCmd(a), newRunCmd(a), newRmCmd(a),
		newAttachCmd(a), newDetachCmd(a), newPsCmd(a), newGCCmd(a), newPoolCmd(a), newDoctorCmd(a), newPauseCmd(), newDaemonCmd(a), manpage.Command())
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		load := map[string]string{
			"bash":       "source <(ovn-docker completion bash)",
			"zsh":        "source <(ovn-docker completion zsh)",
			"fish":       "ovn-docker completion fish | source",
			"powershell": "ovn-docker completion powershell | Out-String | Invoke-Expression",
		}
		for _, sh := range c.Commands() {
			sh.Example = fmt.Sprintf("  %s   # this shell only\n  ovn-docker completion %s > FILE   # every shell: FILE as described above", load[sh.Name()], sh.Name())
		}
	}
	return root
}
