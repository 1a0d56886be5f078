package daemon

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/dockerdriver"
)

// Every line logged for an engine call carries the call's request id.
func TestLogRequestIDs(t *testing.T) {
	d, _, _, _ := newDriver()
	var buf bytes.Buffer
	log := slog.New(WithRequestIDs(slog.NewJSONHandler(&buf, nil)))
	d.Log = log
	h := dockerdriver.Handler(d, d, log)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/IpamDriver.RequestPool", strings.NewReader(`{"Pool":"10.7.0.0/24"}`)))
	if rec.Code != http.StatusOK {
		t.Fatalf("RequestPool: %d %s", rec.Code, rec.Body)
	}
	ids := map[string]string{} // msg -> request id
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		id, _ := r["request_id"].(string)
		ids[r["msg"].(string)] = id
	}
	if ids["request"] == "" || ids["pool"] != ids["request"] {
		t.Errorf("request ids by line: %v; want the driver's line (pool) with the call's (request)", ids)
	}
}
