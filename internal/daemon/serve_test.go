package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

// slowAttach holds Reserve until release is closed.
type slowAttach struct {
	fakeAttach
	started, release chan struct{}
}

func (a *slowAttach) Reserve(ctx context.Context, r attach.ReserveRequest) (attach.Entry, error) {
	close(a.started)
	<-a.release
	return a.fakeAttach.Reserve(ctx, r)
}

// TestServeDrains: on shutdown the socket goes at once, and a request in
// flight (an attach) is finished and answered before Run returns.
func TestServeDrains(t *testing.T) {
	d, _, _, b := newDriver()
	sa := &slowAttach{started: make(chan struct{}), release: make(chan struct{})}
	d.Attach = sa
	b.ids[keyPoolPrefix+"10.1.0.0/24"] = "net-1 sub-1"
	sock := filepath.Join(t.TempDir(), "plugins", "ovn.sock")
	s := &Server{Driver: d, Socket: sock, Drain: 10 * time.Second, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}}}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no socket")
		}
	}
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := client.Post("http://plugin/IpamDriver.RequestAddress", "application/json", strings.NewReader(`{"PoolID":"10.1.0.0/24"}`))
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{code: resp.StatusCode, body: string(b)}
	}()
	<-sa.started
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket stayed after shutdown began")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(sa.release)
	a := <-answers
	if a.err != nil || a.code != http.StatusOK || !strings.Contains(a.body, `"Address":"10.1.0.10/24"`) {
		t.Errorf("the request in flight got %+v", a)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

type fakePool struct {
	mu     sync.Mutex
	status []attach.PoolStatus
	fills  []string
}

func (p *fakePool) PoolStatus(context.Context) ([]attach.PoolStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, nil
}

// TopUpPool tops the pool up to its target (the fake's status).
func (p *fakePool) TopUpPool(_ context.Context, network string, _ []string) (attach.PoolStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.status {
		if p.status[i].NetworkID == network {
			p.fills = append(p.fills, fmt.Sprintf("%s %d", network, p.status[i].Target))
			p.status[i].Ready = p.status[i].Target
		}
	}
	return attach.PoolStatus{}, nil
}

func TestRefill(t *testing.T) {
	p := &fakePool{status: []attach.PoolStatus{
		{NetworkID: "low", Ready: 1, Target: 4},              // at a quarter: refilled
		{NetworkID: "half", Ready: 1, Pending: 1, Target: 4}, // at half, counting those being made: refilled
		{NetworkID: "fine", Ready: 3, Target: 4},             // above half: left
		{NetworkID: "none", Ready: 0, Target: 0},             // no pool
		{NetworkID: "cli", Ready: 0, Target: 4},              // not a Docker network of this daemon: the CLI's
	}}
	served := func(context.Context) (map[string]bool, error) {
		return map[string]bool{"low": true, "half": true, "fine": true, "none": true}, nil
	}
	s := &Server{Pool: p, Refill: 5 * time.Millisecond, Served: served, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.refill(ctx) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if diff := cmp.Diff([]string{"low 4", "half 4"}, p.fills); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
}
