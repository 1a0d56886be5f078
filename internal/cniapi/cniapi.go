package cniapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
)

// DefaultSocket is where the daemon serves CNI calls inside the VM.
const DefaultSocket = "/run/ovn-docker/cni.sock"

// Path is the HTTP path of CNI calls on the socket.
const Path = "/cni/v1"

// Commands (CNI_COMMAND) the daemon serves; VERSION is the shim's own.
const (
	CmdAdd    = "ADD"
	CmdDel    = "DEL"
	CmdCheck  = "CHECK"
	CmdGC     = "GC"
	CmdStatus = "STATUS"
)

// Request is one CNI call as the runtime made it.
type Request struct {
	Command     string `json:"command"`
	ContainerID string `json:"containerID,omitempty"`
	Netns       string `json:"netns,omitempty"`
	IfName      string `json:"ifName,omitempty"`
	Args        string `json:"args,omitempty"`
	// Config is the network configuration (the plugin's stdin), as given.
	Config json.RawMessage `json:"config"`
}

// Response is the answer: Result (the CNI result, in the configuration's
// cniVersion) or Error.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *types.Error    `json:"error,omitempty"`
}

// NetConf is the plugin's network configuration.
type NetConf struct {
	types.NetConf
	// Network is the Neutron network, by name or id.
	Network string `json:"network"`
	// Socket is the daemon's socket ("": DefaultSocket).
	Socket string `json:"socket,omitempty"`
	// MTU, if set, must equal the MTU the network's interfaces get.
	MTU int `json:"mtu,omitempty"`
}

// ParseConf decodes and checks a network configuration: CNI code 6 when
// it is not JSON, 7 when a field is missing or wrong.
func ParseConf(b []byte) (NetConf, *types.Error) {
	var c NetConf
	if err := json.Unmarshal(b, &c); err != nil {
		return c, types.NewError(types.ErrDecodingFailure, "network configuration is not valid JSON", err.Error())
	}
	switch {
	case strings.TrimSpace(c.Network) == "":
		return c, types.NewError(types.ErrInvalidNetworkConfig, `network configuration has no "network"`, `name the Neutron network: "network": "NAME" or "network": "ID"`)
	case c.MTU < 0 || c.MTU > 65535:
		return c, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(`"mtu" %d is out of range`, c.MTU), "omit it, or give the network's MTU (68 to 65535)")
	case c.Socket != "" && !strings.HasPrefix(c.Socket, "/"):
		return c, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(`"socket" %q is not an absolute path`, c.Socket), "omit it for "+DefaultSocket)
	}
	return c, nil
}

// Call sends req to the daemon on socket. A daemon that cannot be reached
// is CNI's "try again later" (11); for STATUS, "plugin not available"
// (50).
func Call(ctx context.Context, socket string, req Request) ([]byte, *types.Error) {
	if socket == "" {
		socket = DefaultSocket
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "encoding the request", err.Error())
	}
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ovn-docker"+Path, bytes.NewReader(body))
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "making the request", err.Error())
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(hreq)
	if err != nil {
		code := uint(types.ErrTryAgainLater)
		if req.Command == CmdStatus {
			code = types.ErrPluginNotAvailable
		}
		return nil, types.NewError(code, "ovn-docker daemon is not reachable on "+socket, fmt.Sprintf("%v (is `ovn-docker daemon` running in this VM?)", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, types.NewError(types.ErrTryAgainLater, "reading the daemon's answer", err.Error())
	}
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, types.NewError(types.ErrInternal, fmt.Sprintf("the daemon answered HTTP %d with no CNI answer", resp.StatusCode), strings.TrimSpace(string(raw)))
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

// Timeout bounds a call: an ADD from an empty pool creates a Neutron
// port and waits for it to be ACTIVE and forwarding.
const Timeout = 2 * time.Minute

// AsError is err as a CNI error (999, internal, when it is not one).
func AsError(err error) *types.Error {
	var te *types.Error
	if errors.As(err, &te) {
		return te
	}
	return types.NewError(types.ErrInternal, err.Error(), "")
}
