package ovn

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRuleMatchAsACLPy(t *testing.T) {
	const g = "5e6f1a2b-0000-4e8f-a0b1-c2d3e4f5a6b7"
	const pg = "pg_5e6f1a2b_0000_4e8f_a0b1_c2d3e4f5a6b7"
	tests := []struct {
		name string
		rule SecurityGroupRule
		want string
	}{
		{"egress any", SecurityGroupRule{Direction: "egress", EtherType: "IPv4"}, "inport == @" + pg + " && ip4"},
		{"ingress from the group", SecurityGroupRule{Direction: "ingress", EtherType: "IPv6", RemoteGroupID: g},
			"outport == @" + pg + " && ip6 && ip6.src == $" + pg + "_ip6"},
		{"one TCP port from a prefix", SecurityGroupRule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortMin: ptr(22), PortMax: ptr(22), RemoteIPPrefix: "192.0.2.0/24"},
			"outport == @" + pg + " && ip4 && ip4.src == 192.0.2.0/24 && tcp && tcp.dst == 22"},
		{"UDP range by number", SecurityGroupRule{Direction: "egress", EtherType: "IPv4", Protocol: "17", PortMin: ptr(1000), PortMax: ptr(2000), RemoteIPPrefix: "10.0.0.0/8"},
			"inport == @" + pg + " && ip4 && ip4.dst == 10.0.0.0/8 && udp && udp.dst >= 1000 && udp.dst <= 2000"},
		{"a prefix with host bits matches its network", SecurityGroupRule{Direction: "ingress", EtherType: "IPv4", RemoteIPPrefix: "192.0.2.7/24"},
			"outport == @" + pg + " && ip4 && ip4.src == 192.0.2.0/24"},
		{"a bare address is its /32", SecurityGroupRule{Direction: "egress", EtherType: "IPv4", RemoteIPPrefix: "192.0.2.7"},
			"inport == @" + pg + " && ip4 && ip4.dst == 192.0.2.7/32"},
		{"ICMP type and code", SecurityGroupRule{Direction: "ingress", EtherType: "IPv4", Protocol: "icmp", PortMin: ptr(8), PortMax: ptr(0)},
			"outport == @" + pg + " && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0"},
		{"other protocol", SecurityGroupRule{Direction: "ingress", EtherType: "IPv4", Protocol: "vrrp"}, "outport == @" + pg + " && ip4 && ip.proto == 112"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.GroupID = g
			if err := ValidateRule(&r); err != nil {
				t.Fatalf("ValidateRule: %v", err)
			}
			if diff := cmp.Diff(tt.want, ruleMatch(&r)); diff != "" {
				t.Fatalf("match (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRuleRefusesAsNeutron(t *testing.T) {
	tests := []struct {
		name string
		rule SecurityGroupRule
		typ  string
	}{
		{"min above max", SecurityGroupRule{Direction: "ingress", Protocol: "tcp", PortMin: ptr(90), PortMax: ptr(80)}, "SecurityGroupInvalidPortRange"},
		{"only min", SecurityGroupRule{Direction: "ingress", Protocol: "tcp", PortMin: ptr(90)}, "SecurityGroupInvalidPortRange"},
		{"port 0", SecurityGroupRule{Direction: "ingress", Protocol: "udp", PortMin: ptr(0), PortMax: ptr(5)}, "SecurityGroupInvalidPortValue"},
		{"port too large", SecurityGroupRule{Direction: "ingress", Protocol: "tcp", PortMin: ptr(1), PortMax: ptr(65536)}, "SecurityGroupInvalidPortValue"},
		{"ports without protocol", SecurityGroupRule{Direction: "ingress", PortMin: ptr(1), PortMax: ptr(2)}, "SecurityGroupProtocolRequiredWithPorts"},
		{"ports for GRE", SecurityGroupRule{Direction: "ingress", Protocol: "gre", PortMin: ptr(1), PortMax: ptr(2)}, "SecurityGroupInvalidProtocolForPort"},
		{"ICMP code without type", SecurityGroupRule{Direction: "ingress", Protocol: "icmp", PortMax: ptr(1)}, "SecurityGroupMissingIcmpType"},
		{"ICMP type 256", SecurityGroupRule{Direction: "ingress", Protocol: "icmp", PortMin: ptr(256)}, "SecurityGroupInvalidIcmpValue"},
		{"protocol 256", SecurityGroupRule{Direction: "ingress", Protocol: "256"}, "SecurityGroupRuleInvalidProtocol"},
		{"ICMPv6 over IPv4", SecurityGroupRule{Direction: "ingress", Protocol: "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"},
		{"IPv6 prefix on IPv4", SecurityGroupRule{Direction: "ingress", RemoteIPPrefix: "fd00::/8"}, "SecurityGroupRuleParameterConflict"},
		{"prefix and group", SecurityGroupRule{Direction: "ingress", RemoteIPPrefix: "10.0.0.0/8", RemoteGroupID: "x"}, "SecurityGroupMultipleRemoteEntites"},
		{"bad prefix", SecurityGroupRule{Direction: "ingress", RemoteIPPrefix: "10.0.0.0/33"}, "InvalidCIDR"},
		{"bad direction", SecurityGroupRule{Direction: "up"}, "HTTPBadRequest"},
		{"bad ethertype", SecurityGroupRule{Direction: "ingress", EtherType: "ipv4"}, "SecurityGroupRuleInvalidEtherType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			err := ValidateRule(&r)
			var oe *Error
			if !errors.As(err, &oe) || oe.Type != tt.typ || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateRule = %v, want %s", err, tt.typ)
			}
		})
	}
	// A full port range is Neutron's canonical "any port".
	r := SecurityGroupRule{Direction: "ingress", Protocol: "tcp", PortMin: ptr(1), PortMax: ptr(65535)}
	if err := ValidateRule(&r); err != nil || r.PortMin != nil || r.PortMax != nil {
		t.Fatalf("full range: %v, ports %v %v, want none", err, r.PortMin, r.PortMax)
	}
}

// Neutron compares remote_ip_prefix as given (its normalized_cidr is
// only what the ACL matches), any address of a family being no prefix.
func TestSameRuleAsNeutronsRuleKey(t *testing.T) {
	rule := func(prefix string) *SecurityGroupRule {
		return &SecurityGroupRule{Direction: "ingress", EtherType: "IPv4", RemoteIPPrefix: prefix}
	}
	tests := []struct {
		a, b string
		same bool
	}{
		{"192.0.2.7/24", "192.0.2.7/24", true},
		{"192.0.2.7/24", "192.0.2.0/24", false},
		{"0.0.0.0/0", "", true},
		{"::/0", "", true},
		{"10.0.0.0/8", "", false},
	}
	for _, tt := range tests {
		if got := sameRule(rule(tt.a), rule(tt.b)); got != tt.same {
			t.Errorf("sameRule(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}
