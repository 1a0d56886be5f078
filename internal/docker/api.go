package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiVersion is the newest engine API version this client speaks; an
// older engine's own version is used instead (negotiation, as the CLI does).
const apiVersion = "1.41"

// apiMinVersion is the oldest engine API the plugin's requests work with
// (AutoRemove and label filters are older; 1.25 is Docker 1.13).
const apiMinVersion = "1.25"

// requestTimeout bounds one engine request; a cancelled ctx does not cut a
// request short (see Client.output).
const requestTimeout = 2 * time.Minute

// engine talks to the engine API over its unix socket.
type engine struct {
	sock string
	hc   *http.Client

	mu      sync.Mutex
	version string // negotiated; "" until the first ping
}

func newEngine(sock string) *engine {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &engine{sock: sock, hc: &http.Client{Transport: tr}}
}

// apiError is an engine answer other than 2xx.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// do sends one request (path without the version prefix) and decodes a
// JSON answer into out (if non-nil). The request is not cancelled with
// ctx: the engine would carry it out anyway.
func (e *engine) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	v, err := e.negotiate(ctx)
	if err != nil {
		return err
	}
	return e.send(ctx, method, "/v"+v+path, query, body, out, nil)
}

func (e *engine) send(ctx context.Context, method, path string, query url.Values, body, out any, hdr *http.Header) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://docker" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at unix://%s: is dockerd running? (set DOCKER_HOST for another engine): %v", ErrUnreachable, e.sock, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the Docker engine's answer to %s %s: %w", method, path, err)
	}
	if hdr != nil {
		*hdr = resp.Header
	}
	if resp.StatusCode/100 != 2 {
		var m struct{ Message string }
		if json.Unmarshal(data, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(data))
		}
		return &apiError{status: resp.StatusCode, msg: m.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the Docker engine's answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// negotiate pings the engine once and settles on the API version: the
// engine's own if it is older than ours.
func (e *engine) negotiate(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.version != "" {
		return e.version, nil
	}
	var hdr http.Header
	if err := e.send(ctx, http.MethodGet, "/_ping", nil, nil, nil, &hdr); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return "", fmt.Errorf("%w at unix://%s: ping: %s", ErrUnreachable, e.sock, ae.msg)
		}
		return "", err
	}
	v := apiVersion
	if sv := hdr.Get("API-Version"); sv != "" && versionLess(sv, v) {
		v = sv
	}
	if versionLess(v, apiMinVersion) {
		return "", fmt.Errorf("the Docker engine at unix://%s speaks API %s; ovn-docker needs %s or newer", e.sock, v, apiMinVersion)
	}
	e.version = v
	return v, nil
}

// versionLess compares API versions "1.41" numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// socketPath returns the engine's unix socket if the docker CLI, run with
// env, would talk to one without help (DOCKER_HOST=unix://…, or no
// DOCKER_HOST and the default context), else "" (tcp/ssh hosts, TLS and
// contexts stay with the CLI).
func socketPath(env []string) string {
	get := func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
	if h := get("DOCKER_HOST"); h != "" {
		p, ok := strings.CutPrefix(h, "unix://")
		if !ok || p == "" {
			return ""
		}
		return p
	}
	if c := get("DOCKER_CONTEXT"); c != "" && c != "default" {
		return ""
	}
	cfgDir := get("DOCKER_CONFIG")
	if cfgDir == "" {
		if home := get("HOME"); home != "" {
			cfgDir = filepath.Join(home, ".docker")
		}
	}
	if cfgDir != "" {
		if b, err := os.ReadFile(filepath.Join(cfgDir, "config.json")); err == nil {
			var cfg struct{ CurrentContext string }
			if json.Unmarshal(b, &cfg) != nil || (cfg.CurrentContext != "" && cfg.CurrentContext != "default") {
				return ""
			}
		}
	}
	return "/var/run/docker.sock"
}

// notFound: the engine answered 404 (no such container or image).
func notFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}

// wrap turns an engine error into the client's errors.
func wrap(err error, what string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	if ae.status == http.StatusNotFound && strings.Contains(strings.ToLower(ae.msg), "no such container") {
		return fmt.Errorf("%w: %s", ErrNoSuchContainer, ae.msg)
	}
	return fmt.Errorf("docker %s: %s", what, ae.msg)
}

// rawContainer is the part of GET /containers/{id}/json the plugin reads.
type rawContainer struct {
	ID      string `json:"Id"`
	Name    string
	Created string // RFC 3339
	State   struct {
		Pid        int
		Running    bool
		Status     string
		StartedAt  string // RFC 3339; the zero time if never started
		FinishedAt string
	}
	Config struct {
		Labels map[string]string
	}
	HostConfig struct {
		NetworkMode   string
		RestartPolicy struct {
			Name string
		}
	}
	NetworkSettings struct {
		Networks map[string]struct{ EndpointID string }
	}
}

func (r rawContainer) container() Container {
	c := Container{
		ID: r.ID, Name: strings.TrimPrefix(r.Name, "/"), Pid: r.State.Pid, Running: r.State.Running,
		Status: r.State.Status, Labels: r.Config.Labels, NetMode: r.HostConfig.NetworkMode,
		RestartPolicy: r.HostConfig.RestartPolicy.Name,
	}
	c.Created, _ = time.Parse(time.RFC3339Nano, r.Created)
	c.StartedAt, _ = time.Parse(time.RFC3339Nano, r.State.StartedAt)
	for name, n := range r.NetworkSettings.Networks {
		if n.EndpointID != "" {
			if c.Endpoints == nil {
				c.Endpoints = map[string]string{}
			}
			c.Endpoints[n.EndpointID] = name
		}
	}
	return c
}

func (e *engine) inspect(ctx context.Context, idOrName string) (Container, error) {
	var raw rawContainer
	if err := e.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(idOrName)+"/json", nil, nil, &raw); err != nil {
		return Container{}, wrap(err, "inspect "+idOrName)
	}
	return raw.container(), nil
}

// remove force-removes one container (killing it if it runs); a missing
// one is not an error.
func (e *engine) remove(ctx context.Context, id string) error {
	err := e.do(ctx, http.MethodDelete, "/containers/"+url.PathEscape(id), url.Values{"force": {"1"}}, nil, nil)
	if err == nil || notFound(err) {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusConflict && strings.Contains(ae.msg, "already in progress") {
		return nil // the engine is removing it (--rm)
	}
	return wrap(err, "rm "+id)
}

// signal sends a container a signal; one that is gone or not running is
// not an error.
func (e *engine) signal(ctx context.Context, id, sig string) error {
	err := e.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/kill", url.Values{"signal": {sig}}, nil, nil)
	var ae *apiError
	if err == nil || notFound(err) || (errors.As(err, &ae) && ae.status == http.StatusConflict) {
		return nil
	}
	return wrap(err, "kill "+id)
}

func (e *engine) list(ctx context.Context, label string) ([]Summary, error) {
	f, err := json.Marshal(map[string][]string{"label": {label}})
	if err != nil {
		return nil, err
	}
	var raw []struct {
		ID      string `json:"Id"`
		Names   []string
		State   string
		Created int64 // Unix seconds
		Labels  map[string]string
	}
	if err := e.do(ctx, http.MethodGet, "/containers/json", url.Values{"all": {"1"}, "filters": {string(f)}}, nil, &raw); err != nil {
		return nil, wrap(err, "ps")
	}
	res := make([]Summary, 0, len(raw))
	for _, r := range raw {
		name := ""
		if len(r.Names) > 0 {
			name = strings.TrimPrefix(r.Names[0], "/")
		}
		res = append(res, Summary{ID: r.ID, Name: name, Status: r.State, Created: time.Unix(r.Created, 0), Labels: r.Labels})
	}
	return res, nil
}

func (e *engine) imageExists(ctx context.Context, ref string) (bool, error) {
	err := e.do(ctx, http.MethodGet, "/images/"+ref+"/json", nil, nil, nil)
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return false, nil // a bad reference: "no such image" to the caller, as with the CLI
	}
	return false, err
}

// createHolder creates (without starting) the container h describes and
// returns its id. A name in use is ErrNameInUse: nothing was created.
func (e *engine) createHolder(ctx context.Context, h HolderSpec) (string, error) {
	type restartPolicy struct {
		Name string
	}
	type hostConfig struct {
		NetworkMode   string
		DNS           []string       `json:"Dns,omitempty"`
		DNSOptions    []string       `json:"DnsOptions,omitempty"`
		DNSSearch     []string       `json:"DnsSearch,omitempty"`
		ExtraHosts    []string       `json:",omitempty"`
		AutoRemove    bool           `json:",omitempty"`
		RestartPolicy *restartPolicy `json:",omitempty"`
	}
	body := struct {
		Image      string
		Hostname   string `json:",omitempty"`
		Domainname string `json:",omitempty"`
		Labels     map[string]string
		HostConfig hostConfig
	}{
		Image: h.Image, Hostname: h.Hostname, Domainname: h.Domainname, Labels: h.Labels,
		HostConfig: hostConfig{NetworkMode: "none", AutoRemove: h.AutoRemove, DNS: h.DNS, DNSOptions: h.DNSOptions, DNSSearch: h.DNSSearch, ExtraHosts: h.ExtraHosts},
	}
	if h.RestartPolicy != "" {
		body.HostConfig.RestartPolicy = &restartPolicy{Name: h.RestartPolicy}
	}
	var created struct {
		ID string `json:"Id"`
	}
	if err := e.do(ctx, http.MethodPost, "/containers/create", url.Values{"name": {h.Name}}, body, &created); err != nil {
		var ae *apiError
		switch {
		case notFound(err):
			return "", fmt.Errorf("%w: %v", errNoSuchImage, err)
		case errors.As(err, &ae) && ae.status == http.StatusConflict:
			return "", fmt.Errorf("%w: %s", ErrNameInUse, ae.msg)
		}
		return "", wrap(err, "create")
	}
	return created.ID, nil
}

func (e *engine) start(ctx context.Context, id string) error {
	if err := e.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/start", nil, nil, nil); err != nil {
		return wrap(err, "start "+id)
	}
	return nil
}

// errNoSuchImage: creating a container found no image (the CLI pulls it).
var errNoSuchImage = errors.New("no such image")

// events subscribes to the engine's container events matching filters and
// returns a channel closed at the first one. The subscription is in place
// when it returns; it ends with ctx.
func (e *engine) events(ctx context.Context, filters map[string][]string) (<-chan struct{}, error) {
	v, err := e.negotiate(ctx)
	if err != nil {
		return nil, err
	}
	f, err := json.Marshal(filters)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/v"+v+"/events?"+url.Values{"filters": {string(f)}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at unix://%s: %v", ErrUnreachable, e.sock, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("docker events: %s", resp.Status)
	}
	ch := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		var ev struct{ Type string }
		if err := json.NewDecoder(resp.Body).Decode(&ev); err == nil {
			close(ch)
		}
	}()
	return ch, nil
}
