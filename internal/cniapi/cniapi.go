package cniapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
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
//
// The call is one HTTP/1.0 POST on a new connection, whose answer ends
// where the connection does (the daemon's net/http server closes it).
// The shim does not link net/http: it starts once per CNI call, and
// net/http's packages make every start about 4 ms slower.
func Call(ctx context.Context, socket string, req Request) ([]byte, *types.Error) {
	if socket == "" {
		socket = DefaultSocket
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "encoding the request", err.Error())
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		code := uint(types.ErrTryAgainLater)
		if req.Command == CmdStatus {
			code = types.ErrPluginNotAvailable
		}
		return nil, types.NewError(code, "ovn-docker daemon is not reachable on "+socket, fmt.Sprintf("%v (is `ovn-docker daemon` running in this VM?)", err))
	}
	defer conn.Close()
	// The context's end interrupts a write or read in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	head := fmt.Sprintf("POST %s HTTP/1.0\r\nHost: ovn-docker\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", Path, len(body))
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		return nil, types.NewError(types.ErrTryAgainLater, "sending the call to the daemon on "+socket, err.Error())
	}
	raw, err := io.ReadAll(io.LimitReader(conn, maxAnswer))
	if err != nil {
		return nil, types.NewError(types.ErrTryAgainLater, "reading the daemon's answer", err.Error())
	}
	status, payload, err := splitHTTPAnswer(raw)
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "the daemon's answer is not HTTP", err.Error())
	}
	var r Response
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, types.NewError(types.ErrInternal, fmt.Sprintf("the daemon answered HTTP %d with no CNI answer", status), strings.TrimSpace(string(payload)))
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

// maxAnswer bounds the daemon's answer (a CNI result is a few KB).
const maxAnswer = 1 << 20

// splitHTTPAnswer splits a whole HTTP/1.x answer into its status code and
// body (the bytes after the blank line that ends the header).
func splitHTTPAnswer(raw []byte) (int, []byte, error) {
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		return 0, nil, fmt.Errorf("no end of header in %q", truncate(raw))
	}
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	proto, rest, _ := strings.Cut(string(line), " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, nil, fmt.Errorf("status line %q", truncate(line))
	}
	return status, body, nil
}

func truncate(b []byte) []byte { return b[:min(len(b), 200)] }

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
