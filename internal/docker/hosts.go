package docker

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// HostsEntry is one line of a container's /etc/hosts: an address and the
// names it answers to.
type HostsEntry struct {
	Addr  netip.Addr
	Names []string
}

// HostsNames are the names of a container's own addresses in /etc/hosts,
// as Docker writes them on its own networks: the fully qualified name
// first, then the short one.
func HostsNames(hostname, domainname string) []string {
	if hostname == "" {
		return nil
	}
	if domainname != "" {
		return []string{hostname + "." + domainname, hostname}
	}
	return []string{hostname}
}

// AppendHosts adds entries to the /etc/hosts of the container whose
// process is pid, seen through /proc/PID/root: that file is the engine's
// bind-mounted hosts file, shared by every container joining the
// namespace (--net=container:), so it is written in place, never
// replaced. Lines already there are not written twice.
func AppendHosts(pid int, entries []HostsEntry) error {
	path := "/proc/" + strconv.Itoa(pid) + "/root/etc/hosts"
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the container's /etc/hosts: %w", err)
	}
	var b strings.Builder
	for _, e := range entries {
		if !e.Addr.IsValid() || len(e.Names) == 0 {
			continue
		}
		line := e.Addr.String() + "\t" + strings.Join(e.Names, " ") + "\n"
		if strings.Contains("\n"+string(old), "\n"+line) {
			continue
		}
		b.WriteString(line)
	}
	if b.Len() == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("writing the container's /etc/hosts: %w", err)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		b2 := "\n" + b.String()
		b.Reset()
		b.WriteString(b2)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("writing the container's /etc/hosts: %w", err)
	}
	return f.Close()
}
