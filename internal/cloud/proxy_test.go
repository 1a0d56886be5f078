package cloud

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestConnectProxy(t *testing.T) {
	var sawToken bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != "" {
			sawToken = true
		}
		switch r.URL.Path {
		case "/" + WhoAmIPath:
			_, _ = w.Write([]byte(`{"vif_id": "vif-1", "project_id": "p-1", "network_id": "n-1"}`))
		case "/v2.0/ports/x":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"NeutronError": {"type": "PolicyNotAuthorized", "message": "not yours"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := ConnectProxy(t.Context(), srv.URL, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if c.VIFID() != "vif-1" || c.ProjectID() != "p-1" || !c.ViaProxy() {
		t.Errorf("client: vif %q project %q via proxy %v", c.VIFID(), c.ProjectID(), c.ViaProxy())
	}
	if err := c.DeletePort(t.Context(), "x"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a refusal of the proxy: %v, want ErrForbidden", err)
	}
	if sawToken {
		t.Errorf("a token was sent to the proxy")
	}
	if _, err := ConnectProxy(t.Context(), "ftp://x", 0, slog.New(slog.DiscardHandler)); err == nil {
		t.Errorf("a non-HTTP proxy URL was accepted")
	}
}
