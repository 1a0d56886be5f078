package adapters

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGARP(t *testing.T) {
	mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 1, 2, 3}
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x16, 0x3e, 1, 2, 3, 0x08, 0x06, // Ethernet, ARP
		0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet/IPv4, request
		0xfa, 0x16, 0x3e, 1, 2, 3, 10, 1, 0, 5, // sender
		0, 0, 0, 0, 0, 0, 10, 1, 0, 5, // target: the same address
	}
	want = append(want, make([]byte, 60-len(want))...)
	if d := cmp.Diff(want, garp(mac, [4]byte{10, 1, 0, 5})); d != "" {
		t.Errorf("frame (-want +got):\n%s", d)
	}
}
