package ipam

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pool(start, end string) Pool {
	return Pool{netip.MustParseAddr(start), netip.MustParseAddr(end)}
}

func addrOrZero(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestDefaultPools(t *testing.T) {
	tests := []struct {
		prefix, gateway string
		want            []Pool
	}{
		{"10.0.0.0/24", "10.0.0.1", []Pool{pool("10.0.0.2", "10.0.0.254")}},
		{"10.0.0.0/24", "", []Pool{pool("10.0.0.1", "10.0.0.254")}},
		{"10.0.0.0/24", "10.0.0.254", []Pool{pool("10.0.0.1", "10.0.0.253")}},
		{"10.0.0.0/24", "10.0.0.100", []Pool{pool("10.0.0.1", "10.0.0.99"), pool("10.0.0.101", "10.0.0.254")}},
		{"10.0.0.0/24", "192.168.0.1", []Pool{pool("10.0.0.1", "10.0.0.254")}}, // gateway outside: nothing to cut
		{"10.0.0.0/30", "10.0.0.1", []Pool{pool("10.0.0.2", "10.0.0.2")}},
		{"10.0.0.0/8", "10.0.0.1", []Pool{pool("10.0.0.2", "10.255.255.254")}},
		{"fd00::/64", "fd00::1", []Pool{pool("fd00::2", "fd00::ffff:ffff:ffff:ffff")}},
		{"fd00::/126", "fd00::1", []Pool{pool("fd00::2", "fd00::3")}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"/"+tt.gateway, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			got := DefaultPools(p, addrOrZero(tt.gateway))
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("DefaultPools mismatch (-want +got):\n%s", diff)
			}
			if err := ValidatePools(p, addrOrZero(tt.gateway), got); err != nil {
				t.Errorf("default pools do not validate: %v", err)
			}
		})
	}
}

func TestValidatePools(t *testing.T) {
	tests := []struct {
		name, prefix, gateway string
		pools                 []Pool
		wantErr               error
		names                 []string
	}{
		{name: "ok", prefix: "10.0.0.0/24", gateway: "10.0.0.1", pools: []Pool{pool("10.0.0.10", "10.0.0.20"), pool("10.0.0.30", "10.0.0.254")}},
		{name: "empty", prefix: "10.0.0.0/24", gateway: "10.0.0.1"},
		{name: "single", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.5", "10.0.0.5")}},
		{name: "v6 last address", prefix: "fd00::/64", pools: []Pool{pool("fd00::2", "fd00::ffff:ffff:ffff:ffff")}},
		{name: "start after end", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.20", "10.0.0.10")},
			wantErr: ErrInvalid, names: []string{"10.0.0.20-10.0.0.10", "start is after end"}},
		{name: "network", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.0", "10.0.0.10")},
			wantErr: ErrInvalid, names: []string{"10.0.0.0-10.0.0.10", "10.0.0.1-10.0.0.254"}},
		{name: "broadcast", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.10", "10.0.0.255")},
			wantErr: ErrInvalid, names: []string{"10.0.0.10-10.0.0.255", "10.0.0.1-10.0.0.254"}},
		{name: "outside", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.1.10", "10.0.1.20")},
			wantErr: ErrInvalid, names: []string{"10.0.1.10-10.0.1.20", "10.0.0.0/24"}},
		{name: "v6 anycast", prefix: "fd00::/64", pools: []Pool{pool("fd00::", "fd00::10")},
			wantErr: ErrInvalid, names: []string{"fd00::-fd00::10", "fd00::1-fd00::ffff:ffff:ffff:ffff"}},
		{name: "family", prefix: "10.0.0.0/24", pools: []Pool{pool("fd00::1", "fd00::2")},
			wantErr: ErrInvalid, names: []string{"fd00::1-fd00::2", "IP version"}},
		{name: "mixed family", prefix: "fd00::/64", pools: []Pool{pool("fd00::1", "10.0.0.2")},
			wantErr: ErrInvalid, names: []string{"fd00::1-10.0.0.2"}},
		{name: "missing end", prefix: "10.0.0.0/24", pools: []Pool{{Start: netip.MustParseAddr("10.0.0.2")}},
			wantErr: ErrInvalid, names: []string{"allocation pool 0", "start and end"}},
		{name: "overlap", prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.50", "10.0.0.60"), pool("10.0.0.10", "10.0.0.50")},
			wantErr: ErrInvalid, names: []string{"10.0.0.10-10.0.0.50", "10.0.0.50-10.0.0.60", "overlap"}},
		{name: "gateway in pool", prefix: "10.0.0.0/24", gateway: "10.0.0.15", pools: []Pool{pool("10.0.0.10", "10.0.0.20")},
			wantErr: ErrInvalid, names: []string{"10.0.0.15", "10.0.0.10-10.0.0.20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePools(netip.MustParsePrefix(tt.prefix), addrOrZero(tt.gateway), tt.pools)
			checkErr(t, err, tt.wantErr, tt.names...)
		})
	}
}

func TestPoolJSON(t *testing.T) {
	pools := []Pool{pool("10.0.0.2", "10.0.0.254"), pool("fd00::2", "fd00::ff")}
	b, err := json.Marshal(pools)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"start":"10.0.0.2","end":"10.0.0.254"},{"start":"fd00::2","end":"fd00::ff"}]`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
	}
	var back []Pool
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pools, back, addrCmp); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`{"start":"10.0.0.300","end":"10.0.0.4"}`), new(Pool)); err == nil {
		t.Error("Unmarshal of a bad address succeeded")
	}
}
