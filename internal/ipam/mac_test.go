package ipam

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMACGenerator(t *testing.T) {
	for _, base := range []string{"fa:16:3e", "02", "fa:16:3e:00:01", "FA:16:3E"} {
		t.Run(base, func(t *testing.T) {
			g, err := NewMACGenerator(base)
			if err != nil {
				t.Fatal(err)
			}
			format := regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`)
			seen := map[string]bool{}
			for range 1000 {
				mac := g.Next()
				s := mac.String()
				if !format.MatchString(s) {
					t.Fatalf("Next() = %q, want 6 lower-case hex octets", s)
				}
				if !strings.HasPrefix(s, strings.ToLower(base)) {
					t.Fatalf("Next() = %q, want prefix %q", s, base)
				}
				if _, err := ParseMAC(s); err != nil {
					t.Fatalf("generated %s is not acceptable: %v", s, err)
				}
				seen[s] = true
			}
			// A 1-octet tail has 256 values; longer tails should not repeat in 1000 draws.
			if min := 200; len(seen) < min {
				t.Errorf("only %d distinct addresses in 1000 draws", len(seen))
			}
		})
	}
}

func TestMACGeneratorConcurrent(t *testing.T) {
	g, err := NewMACGenerator("fa:16:3e")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if mac := g.Next(); len(mac) != 6 {
					t.Errorf("Next() = %v, want 6 octets", mac)
				}
			}
		})
	}
	wg.Wait()
}

func TestNewMACGeneratorErrors(t *testing.T) {
	tests := []struct {
		base  string
		names []string
	}{
		{"", []string{`""`, "1 to 5"}},
		{"fa:16:3e:00:00:00", []string{"fa:16:3e:00:00:00", "1 to 5"}},
		{"01:00:5e", []string{"01:00:5e", "multicast"}},
		{"fa:16:3", []string{"fa:16:3", `"3"`}},
		{"fa:16:zz", []string{"fa:16:zz", `"zz"`}},
		{"fa-16-3e", []string{"fa-16-3e"}},
		{"fa:16:", []string{"fa:16:", `""`}},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			_, err := NewMACGenerator(tt.base)
			checkErr(t, err, ErrInvalid, tt.names...)
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in    string
		want  string
		names []string
	}{
		{in: "fa:16:3e:12:34:56", want: "fa:16:3e:12:34:56"},
		{in: "FA-16-3E-12-34-56", want: "fa:16:3e:12:34:56"},
		{in: "02:00:00:00:00:01", want: "02:00:00:00:00:01"},
		{in: "00:00:00:00:00:00", names: []string{"00:00:00:00:00:00", "all zeros"}},
		{in: "ff:ff:ff:ff:ff:ff", names: []string{"ff:ff:ff:ff:ff:ff", "unicast"}},
		{in: "01:00:5e:00:00:01", names: []string{"01:00:5e:00:00:01", "unicast"}},
		{in: "fa:16:3e:12:34:56:78:9a", names: []string{"fa:16:3e:12:34:56:78:9a", "want 6"}},
		{in: "fa:16:3e:12:34", names: []string{"fa:16:3e:12:34"}},
		{in: "not-a-mac", names: []string{"not-a-mac"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMAC(tt.in)
			if tt.want == "" {
				checkErr(t, err, ErrInvalid, tt.names...)
				return
			}
			checkErr(t, err, nil)
			if diff := cmp.Diff(tt.want, got.String()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
