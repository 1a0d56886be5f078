package docker

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ResolvConf is the /etc/resolv.conf old with its nameserver lines
// replaced by servers; search, options and comments are kept.
func ResolvConf(old string, servers []netip.Addr) string {
	var b strings.Builder
	for _, s := range servers {
		b.WriteString("nameserver " + s.String() + "\n")
	}
	for _, line := range strings.Split(old, "\n") {
		if f := strings.Fields(line); len(f) == 0 || f[0] == "nameserver" {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// SetNameservers makes servers the resolvers of the container whose
// process is pid, in its /etc/resolv.conf seen through /proc/PID/root.
// Like the hosts file (AppendHosts), it is the engine's bind-mounted file
// shared by the containers joining the namespace, so it is rewritten in
// place, never replaced.
func SetNameservers(pid int, servers []netip.Addr) error {
	path := "/proc/" + strconv.Itoa(pid) + "/root/etc/resolv.conf"
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the container's /etc/resolv.conf: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing the container's /etc/resolv.conf: %w", err)
	}
	if _, err := f.WriteString(ResolvConf(string(old), servers)); err != nil {
		f.Close()
		return fmt.Errorf("writing the container's /etc/resolv.conf: %w", err)
	}
	return f.Close()
}
