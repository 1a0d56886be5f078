// Command ovn-neutrond serves a Neutron v2.0 API subset and a Keystone v3
// token subset, storing networks, subnets and ports in the OVN Northbound
// database.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/keystone"
	"github.com/ovn-docker/ovn-docker/internal/manpage"
	"github.com/ovn-docker/ovn-docker/internal/version"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ovn-neutrond:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ovn-neutrond",
		Short:         "Neutron-compatible networking API backed by the OVN Northbound DB",
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.AddCommand(newServe(), newHashPassword(), newGenKey(), manpage.Command())
	return root
}

func newHashPassword() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password on stdin and print its hash for the identity file",
		Example: `  ovn-neutrond hash-password < password.txt
  printf %s "$PASSWORD" | ovn-neutrond hash-password`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return keystone.HashPasswordCommand(cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}

func newGenKey() *cobra.Command {
	return &cobra.Command{
		Use:     "gen-key PATH",
		Short:   "Write a new random token signing key to PATH (mode 0600; refuses to overwrite)",
		Example: `  ovn-neutrond gen-key /etc/ovn-neutrond/signing.key   # then copy it to every replica`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			buf := make([]byte, 32)
			if _, err := rand.Read(buf); err != nil {
				return err
			}
			f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("create key file: %w", err)
			}
			if _, err := fmt.Fprintln(f, hex.EncodeToString(buf)); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
}
