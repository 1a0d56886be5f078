package main

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

func TestCheckOutput(t *testing.T) {
	for _, o := range outputFormats {
		if err := checkOutput(o); err != nil {
			t.Errorf("checkOutput(%q): %v", o, err)
		}
	}
	err := checkOutput("yml")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `"yml"`) || !strings.Contains(err.Error(), "table, wide, json, yaml, value") {
		t.Errorf("checkOutput(yml) = %v; want errUsage naming the value and the allowed ones", err)
	}
}

func testNetworks() []cloud.Network {
	return []cloud.Network{
		{ID: "11111111-aaaa", Name: "LS1", MTU: 1442, Status: "ACTIVE", Subnets: []cloud.Subnet{{CIDR: netip.MustParsePrefix("10.1.0.0/24")}}},
		{ID: "22222222-bbbb", Name: "LS2", MTU: 1442, Status: "ACTIVE"},
	}
}

func TestPrintList(t *testing.T) {
	for _, tc := range []struct {
		name   string
		output string
		lf     listFlags
		want   string
	}{
		{name: "table", output: outTable, want: "NAME  ID             SUBNETS      MTU   STATUS\nLS1   11111111-aaaa  10.1.0.0/24  1442  ACTIVE\nLS2   22222222-bbbb  -            1442  ACTIVE\n"},
		{name: "value", output: outValue, want: "LS1 11111111-aaaa 10.1.0.0/24 1442 ACTIVE\nLS2 22222222-bbbb  1442 ACTIVE\n"},
		{name: "quiet", output: outTable, lf: listFlags{quiet: true}, want: "11111111-aaaa\n22222222-bbbb\n"},
		{name: "format", output: outJSON, lf: listFlags{format: "{{.Name}}={{.MTU}}"}, want: "LS1=1442\nLS2=1442\n"},
		{name: "table format", output: outTable, lf: listFlags{format: `table {{.Name}}\t{{.Status}}`}, want: "NAME  STATUS\nLS1   ACTIVE\nLS2   ACTIVE\n"},
		{name: "json func", output: outTable, lf: listFlags{format: "{{json .Name}}"}, want: "\"LS1\"\n\"LS2\"\n"},
		{name: "yaml", output: outYAML, want: "- id: 11111111-aaaa\n  mtu: 1442\n  name: LS1\n  project_id: \"\"\n  shared: false\n  status: ACTIVE\n  subnets:\n    - cidr: 10.1.0.0/24\n      enable_dhcp: false\n      gateway_ip: \"\"\n      id: \"\"\n      ip_version: 0\n      network_id: \"\"\n- id: 22222222-bbbb\n  mtu: 1442\n  name: LS2\n  project_id: \"\"\n  shared: false\n  status: ACTIVE\n  subnets: null\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a := &app{output: tc.output, stdout: &out}
			if err := a.printList(networkListing(testNetworks()), tc.lf); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, out.String()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestPrintListBadFormat(t *testing.T) {
	var out bytes.Buffer
	a := &app{output: outTable, stdout: &out}
	for _, f := range []string{"{{.Name", "{{.NoSuchField}}"} {
		if err := a.printList(networkListing(testNetworks()), listFlags{format: f}); !errors.Is(err, errUsage) {
			t.Errorf("--format %q: %v, want errUsage", f, err)
		}
	}
}

// TestPsTableWidth: the default ps table fits 100 columns with long
// names, several addresses and a NO-NETWORK cause (which only -o wide
// shows).
func TestPsTableWidth(t *testing.T) {
	atts := []attach.Attachment{{
		PortName: "ovd001c6c5292a8", VLAN: 4094, ContainerID: strings.Repeat("h", 64), IfName: "eth0",
		NetworkID: "200cad2a-d28d-4d28-b03f-b1d09245b5df", NetworkName: "a-rather-long-network-name",
		PortID: "e029b2db-9216-47a5-8d21-8bac58abc51f", MAC: "fa:16:3e:64:b6:91",
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.123.234.111/24"), netip.MustParsePrefix("fd00:1234::1/64")},
		Status:    noNetwork + "veth ovd001c6c5292a8 gone; no eth0 in the container's namespace; run `ovn-docker gc` to re-plug it",
	}}
	users := map[string][]docker.Summary{strings.Repeat("h", 64): {{ID: strings.Repeat("c", 64), Name: "a-container-with-a-very-long-name", Status: "running"}}}
	states := map[string]string{}
	var out, errOut bytes.Buffer
	a := &app{output: outTable, stdout: &out, stderr: &errOut}
	if err := a.printAttachments(atts, users, states, listFlags{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if n := len([]rune(l)); n > 100 {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	if !strings.Contains(out.String(), "NO-NETWORK") || !strings.Contains(errOut.String(), "-o wide") {
		t.Errorf("table %q, stderr %q: want NO-NETWORK and a pointer to -o wide", out.String(), errOut.String())
	}
	out.Reset()
	a.output = outWide
	if err := a.printAttachments(atts, users, states, listFlags{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "veth ovd001c6c5292a8 gone") || !strings.Contains(out.String(), "a-container-with-a-very-long-name") {
		t.Errorf("-o wide lacks the cause or the full name:\n%s", out.String())
	}
}

func TestWantsHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--help"}, true},
		{[]string{"-h"}, true},
		{[]string{"-d", "--help", "img"}, true},
		{[]string{"-h", "myhost", "img"}, false},
		{[]string{"img", "sh", "--help"}, false},
		{[]string{"-d", "--help"}, true},
	} {
		if got := wantsHelp(tc.args); got != tc.want {
			t.Errorf("wantsHelp(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
