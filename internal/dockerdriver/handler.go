package dockerdriver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// NetworkDriver is what the network driver's calls need.
type NetworkDriver interface {
	CreateNetwork(ctx context.Context, req CreateNetworkRequest) error
	DeleteNetwork(ctx context.Context, req DeleteNetworkRequest) error
	CreateEndpoint(ctx context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error)
	DeleteEndpoint(ctx context.Context, req DeleteEndpointRequest) error
	EndpointInfo(ctx context.Context, req EndpointInfoRequest) (EndpointInfoResponse, error)
	Join(ctx context.Context, req JoinRequest) (JoinResponse, error)
	Leave(ctx context.Context, req LeaveRequest) error
}

// IPAMDriver is what the IPAM driver's calls need.
type IPAMDriver interface {
	RequestPool(ctx context.Context, req RequestPoolRequest) (RequestPoolResponse, error)
	ReleasePool(ctx context.Context, req ReleasePoolRequest) error
	RequestAddress(ctx context.Context, req RequestAddressRequest) (RequestAddressResponse, error)
	ReleaseAddress(ctx context.Context, req ReleaseAddressRequest) error
}

// AddressSpace is the one address space of the IPAM driver: Neutron's
// subnets of the tenant, local to the VM as far as Docker knows.
const AddressSpace = "ovn"

// contentType is the plugin protocol's.
const contentType = "application/vnd.docker.plugins.v1+json"

// Log keys.
const (
	logMethod  = "method"
	logRequest = "request_id"
	logTook    = "took"
	logErr     = "err"
)

// Handler serves both drivers' calls. Every request is logged with a
// request id and its duration; a driver error goes back to the engine
// as {"Err": message}, which `docker` prints.
func Handler(nd NetworkDriver, ipam IPAMDriver, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	handle := func(method string, f func(ctx context.Context, body []byte) (any, error)) {
		mux.HandleFunc("POST /"+method, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := requestID()
			l := log.With(logMethod, method, logRequest, id)
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			var resp any
			switch {
			case err != nil:
			case len(bytes.TrimSpace(body)) == 0 && gives[method]:
				// Docker goes on whatever a call that gives something
				// back answers; what this one gave back was freed at
				// the daemon's start or is by the calls that follow.
				l.Warn("empty request: a call resent after the plugin restarted; answered done", logTook, time.Since(start))
				writeJSON(w, http.StatusOK, struct{}{})
				return
			default:
				resp, err = f(context.WithValue(r.Context(), requestIDKey{}, id), body)
			}
			if err != nil {
				l.Warn("request failed", logTook, time.Since(start), logErr, err)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"Err": err.Error()})
				return
			}
			l.Info("request", logTook, time.Since(start))
			writeJSON(w, http.StatusOK, resp)
		})
	}
	empty := struct{}{}
	handle("Plugin.Activate", func(context.Context, []byte) (any, error) {
		return map[string][]string{"Implements": {"NetworkDriver", "IpamDriver"}}, nil
	})
	handle("NetworkDriver.GetCapabilities", func(context.Context, []byte) (any, error) {
		// local: each VM's engine has its own view; the Neutron network
		// is what VMs share.
		return map[string]string{"Scope": "local", "ConnectivityScope": "global"}, nil
	})
	handle("NetworkDriver.CreateNetwork", call(nd.CreateNetwork))
	handle("NetworkDriver.DeleteNetwork", call(nd.DeleteNetwork))
	handle("NetworkDriver.CreateEndpoint", callR(nd.CreateEndpoint))
	handle("NetworkDriver.DeleteEndpoint", call(nd.DeleteEndpoint))
	handle("NetworkDriver.EndpointOperInfo", callR(nd.EndpointInfo))
	handle("NetworkDriver.Join", callR(nd.Join))
	handle("NetworkDriver.Leave", call(nd.Leave))
	for _, m := range []string{"DiscoverNew", "DiscoverDelete", "ProgramExternalConnectivity", "RevokeExternalConnectivity"} {
		// Nothing to do: OVN needs no peer discovery, and the network's
		// router (a Neutron router) is its external connectivity.
		handle("NetworkDriver."+m, func(context.Context, []byte) (any, error) { return empty, nil })
	}
	handle("IpamDriver.GetCapabilities", func(context.Context, []byte) (any, error) {
		return map[string]bool{"RequiresMACAddress": false, "RequiresRequestReplay": false}, nil
	})
	handle("IpamDriver.GetDefaultAddressSpaces", func(context.Context, []byte) (any, error) {
		return map[string]string{"LocalDefaultAddressSpace": AddressSpace, "GlobalDefaultAddressSpace": AddressSpace}, nil
	})
	handle("IpamDriver.RequestPool", callR(ipam.RequestPool))
	handle("IpamDriver.ReleasePool", call(ipam.ReleasePool))
	handle("IpamDriver.RequestAddress", callR(ipam.RequestAddress))
	handle("IpamDriver.ReleaseAddress", call(ipam.ReleaseAddress))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Warn("unknown call", logMethod, r.URL.Path)
		writeJSON(w, http.StatusNotFound, map[string]string{"Err": fmt.Sprintf("%s %s: not a call of the ovn plugin", r.Method, r.URL.Path)})
	})
	return mux
}

// ErrBadRequest: the engine's request could not be decoded.
var ErrBadRequest = errors.New("malformed request")

// ErrEmptyRequest: the engine sent a call without its body. Docker's
// plugin client does so when it sends a call again because the plugin's
// connection broke while serving it (the daemon was killed or restarted):
// the retry reuses the buffer the first attempt drained
// (moby pkg/plugins.Client.callWithRetry). The daemon that got the first
// attempt is gone, and what it left half made was freed when this one
// started.
var ErrEmptyRequest = errors.New("empty request: Docker sent this call again without its body, as it does when the plugin " +
	"restarted while serving it; nothing of it was done: run the command again")

// gives: the calls that give something back. Docker only logs their
// errors and goes on, so an empty one (ErrEmptyRequest) is answered done:
// an endpoint's veth and address, and a pool, are freed by the calls
// Docker makes next (DeleteEndpoint is followed by ReleaseAddress,
// DeleteNetwork by ReleasePool) or, if the restarted daemon found them
// half given back, at its start.
var gives = map[string]bool{
	"NetworkDriver.DeleteNetwork":  true,
	"NetworkDriver.DeleteEndpoint": true,
	"NetworkDriver.Leave":          true,
	"IpamDriver.ReleaseAddress":    true,
	"IpamDriver.ReleasePool":       true,
}

func decode[Req any](body []byte) (Req, error) {
	var req Req
	if len(bytes.TrimSpace(body)) == 0 {
		return req, ErrEmptyRequest
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return req, nil
}

func call[Req any](f func(context.Context, Req) error) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, body []byte) (any, error) {
		req, err := decode[Req](body)
		if err != nil {
			return nil, err
		}
		return struct{}{}, f(ctx, req)
	}
}

func callR[Req, Resp any](f func(context.Context, Req) (Resp, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, body []byte) (any, error) {
		req, err := decode[Req](body)
		if err != nil {
			return nil, err
		}
		return f(ctx, req)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// requestIDKey carries a call's request id in its context.
type requestIDKey struct{}

// RequestID is the id of the engine's call ctx belongs to ("" outside
// one): the handler logs it with the call, and a logger whose handler
// asks for it (daemon.WithRequestIDs) with every line logged for the call.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func requestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
