package vswitch

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/ovn-docker/ovn-docker/internal/netdev"
)

// End to end inside one "VM" namespace running ovs-vswitchd (netdev
// datapath): a container attached by ClaimVLAN + netdev.CreateVeth reaches,
// over ICMP and TCP, a host on its VLAN behind the bridge's trunk uplink,
// while a container on another VLAN in the same subnet does not. The far
// side of the uplink is a second bridge with an access port on VLAN 1,
// standing in for the hypervisor's OVN.
func TestAttachedContainerTrafficIsTagged(t *testing.T) {
	ep := testDB(t)
	const vm = "vst-vm1"
	addBridge(t, ep, "br-vm")
	addBridge(t, ep, "br-hv")
	startVSwitchd(t, ep, vm)
	ctx := testCtx(t)
	c := dial(t, ep)

	// Trunk uplink br-vm <-> br-hv.
	run(t, "ip", "-n", vm, "link", "add", "vstup0", "type", "veth", "peer", "name", "vstup1")
	for _, l := range []string{"vstup0", "vstup1"} {
		run(t, "ip", "-n", vm, "link", "set", l, "up")
		run(t, "ip", "netns", "exec", vm, "ethtool", "-K", l, "tx", "off")
	}
	vsctl(t, ep, "add-port", "br-vm", "vstup0")
	vsctl(t, ep, "add-port", "br-hv", "vstup1")

	nd := netdev.New(testLogger(t))
	attach := func(netnsName, addr string) AccessPort {
		t.Helper()
		run(t, "ip", "netns", "add", netnsName)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", netnsName).Run() })
		a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"ovn-docker:netns": netnsName}, nil)
		if err != nil {
			t.Fatal(err)
		}
		inNetns(t, "/var/run/netns/"+vm, func() error {
			return nd.CreateVeth(ctx, a.Name, "/var/run/netns/"+netnsName, netdev.IfaceConfig{
				Name:              "eth0",
				Addresses:         []netip.Prefix{netip.MustParsePrefix(addr)},
				MTU:               1442,
				DisableTxChecksum: true,
			})
		})
		waitUp(t, c, a.Name)
		return a
	}
	a := attach("vst-ca", "10.50.0.5/24")
	b := attach("vst-cb", "10.50.0.6/24")
	if a.VLAN != 1 || b.VLAN != 2 {
		t.Fatalf("VLANs %d and %d, want 1 and 2", a.VLAN, b.VLAN)
	}
	// The "remote host" on VLAN 1, i.e. container a's. (Its tag counts as
	// taken for later claims: VLANs are unique in the whole VM.)
	vsctl(t, ep, "add-port", "br-hv", "vsthv1", "tag=1", "--", "set", "interface", "vsthv1", "type=internal")
	waitUp(t, c, "vsthv1")
	run(t, "ip", "-n", vm, "addr", "add", "10.50.0.1/24", "dev", "vsthv1")
	run(t, "ip", "-n", vm, "link", "set", "vsthv1", "up")
	run(t, "ip", "netns", "exec", vm, "ethtool", "-K", "vsthv1", "tx", "off")

	if out, err := exec.Command("ip", "netns", "exec", "vst-ca", "ping", "-c1", "-W3", "10.50.0.1").CombinedOutput(); err != nil {
		t.Errorf("VLAN 1 container cannot ping the VLAN 1 host: %v\n%s", err, out)
	}
	if out, err := exec.Command("ip", "netns", "exec", "vst-cb", "ping", "-c1", "-W1", "10.50.0.1").CombinedOutput(); err == nil {
		t.Errorf("VLAN 2 container reached the VLAN 1 host:\n%s", out)
	}

	// 1 MiB over TCP: with TX checksum offload left on, the netdev datapath
	// forwards segments with bad checksums and the connection never opens
	// (checked: the dial times out).
	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	var ln net.Listener
	inNetns(t, "/var/run/netns/"+vm, func() (err error) { ln, err = net.Listen("tcp", "10.50.0.1:0"); return err })
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		data, _ := io.ReadAll(conn)
		got <- data
	}()
	inNetns(t, "/var/run/netns/vst-ca", func() error {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Write(payload)
		return err
	})
	if data := <-got; !bytes.Equal(data, payload) {
		t.Errorf("TCP from the container delivered %d of %d bytes intact", len(data), len(payload))
	}
}

func waitUp(t *testing.T, c *Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A port added by ovs-vsctl reaches this client's cache a moment later.
	for {
		err := c.WaitInterfaceUp(ctx, name)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrNotFound) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inNetns(t *testing.T, path string, f func() error) {
	t.Helper()
	target, err := ns.GetNS(path)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := target.Do(func(ns.NetNS) error { return f() }); err != nil {
		t.Fatalf("in %s: %v", path, err)
	}
}
