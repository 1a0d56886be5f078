package docker

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEngine serves a small engine API (version 1.40, older than the
// client's) on a unix socket and records the requests.
type fakeEngine struct {
	mu         sync.Mutex
	die        chan struct{} // an event is sent on /events when closed
	reqs       []string
	containers map[string]rawContainer
	created    map[string]any
}

func startFakeEngine(t *testing.T) (*fakeEngine, *Client) {
	t.Helper()
	f := &fakeEngine{containers: map[string]rawContainer{}, created: map[string]any{}, die: make(chan struct{})}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, &Client{Bin: "/nonexistent/docker", Env: []string{"DOCKER_HOST=unix://" + sock}}
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1.40/events" {
		if r.URL.Query().Get("filters") != `{"event":["die"],"label":["ovn-docker.holder=h1"],"type":["container"]}` {
			http.Error(w, `{"message":"bad filters"}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-f.die:
			_, _ = w.Write([]byte(`{"Type":"container","Action":"die"}` + "\n"))
		case <-r.Context().Done():
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/_ping" {
		w.Header().Set("API-Version", "1.40")
		_, _ = w.Write([]byte("OK"))
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1.40")
	if !ok {
		http.Error(w, `{"message":"wrong version"}`, http.StatusBadRequest)
		return
	}
	notFound := func(what string) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": what})
	}
	switch {
	case r.Method == http.MethodPost && path == "/containers/create":
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["Image"] != "pause:1" {
			notFound("No such image: " + r.URL.Query().Get("name"))
			return
		}
		id := "id-" + r.URL.Query().Get("name")
		if _, ok := f.created[id]; ok {
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": `Conflict. The container name "/` + r.URL.Query().Get("name") + `" is already in use by container "` + id + `".`})
			return
		}
		f.created[id] = body
		_ = json.NewEncoder(w).Encode(map[string]string{"Id": id})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/kill"):
		if r.URL.Query().Get("signal") != "SIGTERM" {
			http.Error(w, `{"message":"bad signal"}`, http.StatusBadRequest)
			return
		}
		if _, ok := f.containers[strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/kill")]; !ok {
			notFound("No such container")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/start"):
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete:
		id := strings.TrimPrefix(path, "/containers/")
		if _, ok := f.containers[id]; !ok || r.URL.Query().Get("force") != "1" {
			notFound("No such container: " + id)
			return
		}
		delete(f.containers, id)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && path == "/containers/json":
		if r.URL.Query().Get("filters") != `{"label":["ovn-docker.holder"]}` || r.URL.Query().Get("all") != "1" {
			http.Error(w, `{"message":"bad filters"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`[{"Id":"u1","Names":["/web"],"State":"running","Labels":{"ovn-docker.holder":"h1"}}]`))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json"):
		c, ok := f.containers[strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json")]
		if !ok {
			notFound("No such container: x")
			return
		}
		_ = json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodGet && path == "/images/pause:1/json":
		_, _ = w.Write([]byte(`{"Id":"sha256:1"}`))
	default:
		notFound("no such image")
	}
}

func TestEngineAPI(t *testing.T) {
	ctx := context.Background()
	f, c := startFakeEngine(t)
	var web rawContainer
	web.ID, web.Name, web.State.Pid, web.State.Running, web.State.Status = "abc", "/web", 42, true, "running"
	web.Config.Labels = map[string]string{LabelHolder: "h1"}
	web.HostConfig.NetworkMode = "container:h1"
	f.containers["abc"] = web

	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.Inspect(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	want := Container{ID: "abc", Name: "web", Pid: 42, Running: true, Status: "running", Labels: map[string]string{LabelHolder: "h1"}, NetMode: "container:h1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Inspect (-want +got):\n%s", d)
	}
	if _, err := c.Inspect(ctx, "gone"); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Inspect of a missing container: want ErrNoSuchContainer, got %v", err)
	}
	if err := c.Stop(ctx, "abc"); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := c.Stop(ctx, "gone"); err != nil {
		t.Errorf("Stop of a missing container: %v", err)
	}
	if err := c.Remove(ctx, "abc", "gone"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if _, ok := f.containers["abc"]; ok {
		t.Errorf("Remove left the container")
	}
	list, err := c.List(ctx, LabelHolder)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Summary{{ID: "u1", Name: "web", Status: "running", Created: time.Unix(0, 0), Labels: map[string]string{LabelHolder: "h1"}}}, list); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	for ref, want := range map[string]bool{"pause:1": true, "pause:2": false} {
		if ok, err := c.ImageExists(ctx, ref); err != nil || ok != want {
			t.Errorf("ImageExists(%s) = %v, %v; want %v", ref, ok, err, want)
		}
	}
	id, err := c.CreateHolder(ctx, HolderSpec{Name: "h", Image: "pause:1", Labels: map[string]string{LabelRole: RoleHolder}, Hostname: "web", DNS: []string{"10.0.0.2"}, AutoRemove: true})
	if err != nil || id != "id-h" {
		t.Fatalf("CreateHolder = %q, %v", id, err)
	}
	if err := c.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	b, _ := json.Marshal(f.created["id-h"])
	wantBody := `{"HostConfig":{"AutoRemove":true,"Dns":["10.0.0.2"],"NetworkMode":"none"},"Hostname":"web","Image":"pause:1","Labels":{"ovn-docker.role":"holder"}}`
	if d := cmp.Diff(wantBody, string(b)); d != "" {
		t.Errorf("create body (-want +got):\n%s", d)
	}
	// A name in use: ErrNameInUse, so that the caller removes nothing.
	if _, err := c.CreateHolder(ctx, HolderSpec{Name: "h", Image: "pause:1"}); !errors.Is(err, ErrNameInUse) {
		t.Errorf("CreateHolder of a name in use: want ErrNameInUse, got %v", err)
	}
	// The holder gets the restart policy asked for.
	if _, err := c.CreateHolder(ctx, HolderSpec{Name: "h3", Image: "pause:1", RestartPolicy: "unless-stopped"}); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(f.created["id-h3"])
	wantBody = `{"HostConfig":{"NetworkMode":"none","RestartPolicy":{"Name":"unless-stopped"}},"Image":"pause:1","Labels":null}`
	if d := cmp.Diff(wantBody, string(b)); d != "" {
		t.Errorf("create body with a restart policy (-want +got):\n%s", d)
	}
	// An image the engine lacks goes to the CLI (which pulls); here there
	// is none.
	if _, err := c.CreateHolder(ctx, HolderSpec{Name: "h2", Image: "other:1"}); !errors.Is(err, ErrNoDockerCLI) {
		t.Errorf("CreateHolder of a missing image: want the CLI to be tried, got %v", err)
	}
	if d := cmp.Diff("GET /_ping", f.reqs[0]); d != "" {
		t.Errorf("first request (-want +got):\n%s", d)
	}
	for _, r := range f.reqs {
		if r == "GET /_ping" && r != f.reqs[0] {
			t.Errorf("pinged more than once: %v", f.reqs)
		}
	}
}

func TestOnDie(t *testing.T) {
	f, c := startFakeEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	died, err := c.OnDie(ctx, LabelHolder+"=h1")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-died:
		t.Fatal("closed before any event")
	case <-time.After(50 * time.Millisecond):
	}
	close(f.die)
	select {
	case <-died:
	case <-time.After(5 * time.Second):
		t.Fatal("not closed after the event")
	}
	// Without the engine API (the CLI for everything): never closed.
	cli := &Client{Env: []string{"DOCKER_HOST=ssh://x"}}
	if ch, err := cli.OnDie(ctx, "x=y"); ch != nil || err != nil {
		t.Errorf("OnDie over the CLI = %v, %v; want nil, nil", ch, err)
	}
}

func TestEngineUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	c := &Client{Env: []string{"DOCKER_HOST=unix://" + sock}}
	err := c.Ping(context.Background())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("want ErrUnreachable naming the socket and DOCKER_HOST, got %v", err)
	}
}

func TestSocketPath(t *testing.T) {
	home := t.TempDir()
	ctxHome := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctxHome, ".docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxHome, ".docker", "config.json"), []byte(`{"currentContext":"remote"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"default", []string{"HOME=" + home}, "/var/run/docker.sock"},
		{"unix DOCKER_HOST", []string{"DOCKER_HOST=unix:///tmp/d.sock"}, "/tmp/d.sock"},
		{"tcp DOCKER_HOST", []string{"DOCKER_HOST=tcp://10.0.0.1:2376"}, ""},
		{"ssh DOCKER_HOST", []string{"DOCKER_HOST=ssh://me@host"}, ""},
		{"DOCKER_CONTEXT", []string{"HOME=" + home, "DOCKER_CONTEXT=remote"}, ""},
		{"default DOCKER_CONTEXT", []string{"HOME=" + home, "DOCKER_CONTEXT=default"}, "/var/run/docker.sock"},
		{"current context in config.json", []string{"HOME=" + ctxHome}, ""},
		{"DOCKER_HOST beats the context", []string{"HOME=" + ctxHome, "DOCKER_HOST=unix:///d.sock"}, "/d.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, socketPath(tc.env)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestHolderSpecArgs(t *testing.T) {
	h := HolderSpec{Name: "n", Image: "img", AutoRemove: true, Labels: map[string]string{"b": "2", "a": "1"}, Hostname: "h", Domainname: "d",
		DNS: []string{"1.1.1.1"}, DNSOptions: []string{"ndots:1"}, DNSSearch: []string{"x"}, ExtraHosts: []string{"a:1.2.3.4"}}
	want := []string{"--net=none", "--name", "n", "--rm", "--label", "a=1", "--label", "b=2", "--hostname", "h", "--domainname", "d",
		"--dns", "1.1.1.1", "--dns-option", "ndots:1", "--dns-search", "x", "--add-host", "a:1.2.3.4", "img"}
	if d := cmp.Diff(want, h.args()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"1.40", "1.41", true}, {"1.41", "1.41", false}, {"1.9", "1.41", true}, {"2.0", "1.41", false}} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
