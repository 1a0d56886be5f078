package e2e

// Data-path tests of the sandbox itself and of nested container ports made by
// hand: what the plugin will automate (VM bridge access port with a VLAN tag +
// a Logical_Switch_Port with parent_name and tag_request) must carry traffic,
// and only under those conditions.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// nested is a container done by hand: a netns whose eth0 is a veth to an
// access port of a VM bridge.
type nested struct {
	Netns  string // the container's namespace
	VMPort string // the veth end on the VM bridge
	LSP    string // its logical port's name
	IP     string
	MAC    string
}

// newNested creates a container netns attached to vm's bridge as an access
// port with VLAN tag, addressed ip (on the VMs' /24) and mac. It makes no
// logical port; see (*Sandbox).addNestedLSP.
func (s *Sandbox) newNested(t *testing.T, vm VM, what string, tag int, ip, mac string) nested {
	t.Helper()
	n := nested{
		Netns:  s.NewNetns(t, what),
		VMPort: s.uniqueName(t, "vmport/"+what),
		LSP:    s.uniqueName(t, "lsp/"+what),
		IP:     ip,
		MAC:    mac,
	}
	// Both ends made where they belong; the netns cleanup removes the pair.
	mustRun(t, "ip", "link", "add", "eth0", "netns", n.Netns, "type", "veth", "peer", "name", n.VMPort, "netns", vm.Netns)
	MustInNetns(t, n.Netns, "ip", "link", "set", "eth0", "address", mac, "mtu", strconv.Itoa(s.Network.MTU))
	MustInNetns(t, n.Netns, "ip", "addr", "add", ip+"/24", "dev", "eth0")
	MustInNetns(t, n.Netns, "ip", "link", "set", "eth0", "up")
	MustInNetns(t, vm.Netns, "ip", "link", "set", n.VMPort, "up")
	// Userspace datapath: with TX checksum offload on, TCP would hang.
	MustInNetns(t, n.Netns, "ethtool", "-K", "eth0", "tx", "off")
	MustInNetns(t, vm.Netns, "ethtool", "-K", n.VMPort, "tx", "off")
	// Replaces a port left over by a killed run of the same test.
	vm.VSCtl(t, "--if-exists", "del-port", vm.Bridge, n.VMPort, "--", "add-port", vm.Bridge, n.VMPort, "tag="+strconv.Itoa(tag))
	t.Cleanup(func() { vm.VSCtl(t, "--if-exists", "del-port", vm.Bridge, n.VMPort) })
	return n
}

// addNestedLSP creates n's logical port on the VMs' network, a child of
// parent's port with tag_request tag (none when tag is 0), and waits until
// the hypervisors have applied it.
func (s *Sandbox) addNestedLSP(t *testing.T, n nested, parent VM, tag int) {
	t.Helper()
	// A port left over by a killed run of the same test goes first, in its
	// own transaction: ovn-nbctl checks addresses against the state before.
	s.NBCtl(t, "--if-exists", "lsp-del", n.LSP)
	args := []string{"lsp-add", s.Network.Name, n.LSP}
	if tag != 0 {
		args = append(args, parent.VIFID, strconv.Itoa(tag))
	}
	args = append(args, "--", "lsp-set-addresses", n.LSP, n.MAC+" "+n.IP)
	if tag == 0 {
		args = append(args, "--", "set", "Logical_Switch_Port", n.LSP, "parent_name="+parent.VIFID)
	}
	t.Cleanup(func() { s.NBCtl(t, "--if-exists", "lsp-del", n.LSP) })
	s.NBCtlWait(t, args...)
	// The VMs' ports are in their project's default security group (as
	// Neutron gives them), which lets in only members: the nested port
	// joins the parent's groups, as a port made through Neutron would.
	parentLSP := s.NBCtl(t, "--bare", "--columns=_uuid", "find", "Logical_Switch_Port", "name="+parent.VIFID)
	lsp := s.NBCtl(t, "--bare", "--columns=_uuid", "find", "Logical_Switch_Port", "name="+n.LSP)
	for _, pg := range strings.Fields(s.NBCtl(t, "--bare", "--columns=name", "find", "Port_Group", "ports{>=}"+parentLSP)) {
		if pg != "neutron_pg_drop" {
			s.NBCtlWait(t, "add", "Port_Group", pg, "ports", lsp)
		}
	}
}

// icmpFrame is what tcpdump -e showed of one ICMP echo frame.
type icmpFrame struct {
	VLAN     int
	Src, Dst string
	Kind     string // "request" or "reply"
}

var icmpLine = regexp.MustCompile(`vlan (\d+),.* (\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): ICMP echo (request|reply)`)

// icmpFrames parses tcpdump -e -n lines into the distinct tagged ICMP echo
// frames seen, sorted; untagged or other lines are ignored.
func icmpFrames(lines []string) []icmpFrame {
	var out []icmpFrame
	for _, l := range lines {
		m := icmpLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		vlan, _ := strconv.Atoi(m[1])
		f := icmpFrame{VLAN: vlan, Src: m[2], Dst: m[3], Kind: m[4]}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return sortFrames(out)
}

func sortFrames(fs []icmpFrame) []icmpFrame {
	slices.SortFunc(fs, func(a, b icmpFrame) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	return fs
}

// echo is the frames of one ping from → to seen on a trunk with vlan.
func echo(vlan int, from, to string) []icmpFrame {
	return []icmpFrame{{vlan, from, to, "request"}, {vlan, to, from, "reply"}}
}

// handMadeLSPs is why the tests of hand-made nested ports need ovn-neutrond:
// their Logical_Switch_Ports are written into NB beside Neutron, and on the
// openstack cloud the VM ports' default security group (ingress only from
// its members' addresses) drops traffic from addresses Neutron never gave
// out; ovn-neutrond has no security groups.
const handMadeLSPs = "hand-made LSPs outside Neutron; the openstack cloud's default security group drops their traffic at the VM ports"

// VLAN tags of the hand-made nested ports: high, to stay clear of what the
// plugin's allocator hands out first when its tests share the sandbox.
const (
	tagA = 4010
	tagB = 4020
	tagC = 4011
)

func TestVMPingsVMAcrossLogicalSwitch(t *testing.T) {
	s := needSandbox(t)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	PingEventually(t, vm1.Netns, vm2.IP)
	PingEventually(t, vm2.Netns, vm1.IP)
}

func TestNestedContainerReachesVMOverVLAN(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, handMadeLSPs)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	c := s.newNested(t, vm1, "c", tagA, "10.0.0.101", "fa:16:3e:ee:00:01")
	s.addNestedLSP(t, c, vm1, tagA)

	PingEventually(t, c.Netns, vm2.IP)

	capture := StartCapture(t, vm1.Netns, vm1.NIC, "vlan and icmp")
	PingEventually(t, c.Netns, vm2.IP)
	got := icmpFrames(capture.Stop())
	if len(got) == 0 {
		t.Fatalf("no tagged ICMP frame seen on %s's NIC %s", vm1.Name, vm1.NIC)
	}
	if diff := cmp.Diff(sortFrames(echo(tagA, c.IP, vm2.IP)), got); diff != "" {
		t.Errorf("tagged ICMP frames on %s's NIC (-want +got):\n%s", vm1.Name, diff)
	}
}

func TestPortSecurityDropsSpoofedSource(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, handMadeLSPs)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	const spoofed = "10.0.0.203"
	c := s.newNested(t, vm1, "c", tagC, "10.0.0.103", "fa:16:3e:ee:00:03")
	s.addNestedLSP(t, c, vm1, tagC)
	// The spoofed address is among the port's addresses, so that the
	// security group of vm2 (ingress from its members' addresses) lets it
	// in and only port_security tells it apart.
	s.NBCtlWait(t, "lsp-set-addresses", c.LSP, c.MAC+" "+c.IP+" "+spoofed)
	PingEventually(t, c.Netns, vm2.IP)

	setIP := func(ip string) {
		MustInNetns(t, c.Netns, "ip", "addr", "flush", "dev", "eth0")
		MustInNetns(t, c.Netns, "ip", "addr", "add", ip+"/24", "dev", "eth0")
	}
	// Control: without port_security the spoofed source is answered, so the
	// silence below is port_security's doing.
	setIP(spoofed)
	PingEventually(t, c.Netns, vm2.IP)

	s.NBCtlWait(t, "lsp-set-port-security", c.LSP, c.MAC+" "+c.IP)
	PingNever(t, c.Netns, vm2.IP, 3)

	// The port's own address still passes.
	setIP(c.IP)
	PingEventually(t, c.Netns, vm2.IP)
}

func TestNestedPortsOnDifferentVLANsAreDistinct(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, handMadeLSPs)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	a := s.newNested(t, vm1, "a", tagA, "10.0.0.104", "fa:16:3e:ee:00:04")
	b := s.newNested(t, vm1, "b", tagB, "10.0.0.105", "fa:16:3e:ee:00:05")
	s.addNestedLSP(t, a, vm1, tagA)
	s.addNestedLSP(t, b, vm1, tagB)
	PingEventually(t, a.Netns, vm2.IP)
	PingEventually(t, b.Netns, vm2.IP)

	capture := StartCapture(t, vm1.Netns, vm1.NIC, "vlan and icmp")
	PingEventually(t, a.Netns, vm2.IP)
	PingEventually(t, b.Netns, vm2.IP)
	got := icmpFrames(capture.Stop())
	want := sortFrames(slices.Concat(echo(tagA, a.IP, vm2.IP), echo(tagB, b.IP, vm2.IP)))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tagged ICMP frames on %s's NIC (-want +got):\n%s", vm1.Name, diff)
	}

	// vm2 learnt each container's own MAC for its own IP.
	neigh := MustInNetns(t, vm2.Netns, "ip", "-4", "neigh", "show", "dev", vm2.Bridge)
	for _, n := range []nested{a, b} {
		if !regexp.MustCompile(regexp.QuoteMeta(n.IP) + ` lladdr ` + regexp.QuoteMeta(n.MAC)).MatchString(neigh) {
			t.Errorf("%s's neighbours lack %s at %s:\n%s", vm2.Name, n.IP, n.MAC, neigh)
		}
	}

	// Two children of one VM reach each other: OVN hairpins between tags.
	PingEventually(t, a.Netns, b.IP)
}

func TestNestedPortWithoutTagGetsNoReply(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, handMadeLSPs)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	c := s.newNested(t, vm1, "c", tagA, "10.0.0.106", "fa:16:3e:ee:00:06")
	s.addNestedLSP(t, c, vm1, 0) // parent_name set, no tag_request
	if got := s.NBCtl(t, "get", "Logical_Switch_Port", c.LSP, "tag_request"); got != "[]" {
		t.Fatalf("tag_request of %s = %s, want none", c.LSP, got)
	}
	PingNever(t, c.Netns, vm2.IP, 3)

	// The same port with its tag: the subject of the test is the tag alone.
	s.NBCtlWait(t, "set", "Logical_Switch_Port", c.LSP, "tag_request="+strconv.Itoa(tagA))
	PingEventually(t, c.Netns, vm2.IP)
}

// TCP breaks where ping does not when TX checksum offload is left on with the
// userspace datapath; this guards the sandbox's ethtool settings.
func TestTCPAcrossLogicalSwitch(t *testing.T) {
	s := needSandbox(t)
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	const port = "5701"
	srv := StartInNetns(t, vm2.Netns, "busybox", "nc", "-l", "-p", port)
	want := "hello over tcp from " + vm1.Name
	var err error
	for range pingTries {
		if _, err = InNetns(t.Context(), vm1.Netns, "sh", "-c",
			"echo '"+want+"' | busybox timeout 5 busybox nc "+vm2.IP+" "+port); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("TCP from %s to %s:%s: %v", vm1.Name, vm2.IP, port, err)
	}
	got, err := srv.Wait(5 * time.Second)
	if err != nil {
		t.Fatalf("listener in %s: %v", vm2.Name, err)
	}
	if diff := cmp.Diff(want, strings.TrimSpace(got)); diff != "" {
		t.Errorf("received by %s (-want +got):\n%s", vm2.Name, diff)
	}
}
