package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ServeCNI serves c on the unix socket until ctx ends, then waits up to
// drain for the calls in flight (an ADD is never cut short). The socket
// is root's only: the daemon acts with the project's credentials.
func ServeCNI(ctx context.Context, socket string, c *CNI, drain time.Duration, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return fmt.Errorf("CNI socket directory: %w", err)
	}
	if conn, err := net.Dial("unix", socket); err == nil {
		conn.Close()
		return fmt.Errorf("%s: another daemon is serving it", socket)
	}
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("CNI socket: %w", err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("CNI socket: %w", err)
	}
	srv := &http.Server{
		Handler:           c.Handler(),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("serving CNI", "socket", socket)
	select {
	case err := <-done:
		os.Remove(socket)
		return fmt.Errorf("serving %s: %w", socket, err)
	case <-ctx.Done():
	}
	os.Remove(socket)
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("CNI calls still in flight after %s: %w", drain, err)
	}
	return nil
}
