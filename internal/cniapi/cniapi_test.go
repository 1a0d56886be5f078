package cniapi

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/google/go-cmp/cmp"
)

func TestParseConf(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		code       uint // 0: valid
		network    string
	}{
		{"valid", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"LS1"}`, 0, "LS1"},
		{"with socket and mtu", `{"cniVersion":"1.0.0","name":"n","type":"ovn-cni","network":"LS1","socket":"/run/x.sock","mtu":1442}`, 0, "LS1"},
		{"not JSON", `{"cniVersion":`, types.ErrDecodingFailure, ""},
		{"no network", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni"}`, types.ErrInvalidNetworkConfig, ""},
		{"blank network", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"  "}`, types.ErrInvalidNetworkConfig, ""},
		{"negative mtu", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"a","mtu":-1}`, types.ErrInvalidNetworkConfig, ""},
		{"relative socket", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"a","socket":"x.sock"}`, types.ErrInvalidNetworkConfig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConf([]byte(tc.conf))
			var code uint
			if err != nil {
				code = err.Code
				if err.Msg == "" {
					t.Error("error without message")
				}
			}
			if diff := cmp.Diff(tc.code, code); diff != "" {
				t.Fatalf("code (-want +got):\n%s (%v)", diff, err)
			}
			if err == nil && c.Network != tc.network {
				t.Errorf("network %q, want %q", c.Network, tc.network)
			}
		})
	}
}

func TestCallWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for cmd, want := range map[string]uint{CmdAdd: types.ErrTryAgainLater, CmdDel: types.ErrTryAgainLater, CmdStatus: types.ErrPluginNotAvailable} {
		_, err := Call(context.Background(), sock, Request{Command: cmd})
		if err == nil || err.Code != want {
			t.Errorf("%s without daemon: %v, want code %d", cmd, err, want)
		}
	}
}
