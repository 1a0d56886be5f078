package neutrond

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func get(t *testing.T, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// /healthz and /readyz on both addresses, /metrics only on the metrics
// address with per-route counts and latency histograms, a request id in
// X-Openstack-Request-Id that the access log names with user and project.
func TestOperatorEndpoints(t *testing.T) {
	ownOnly(t, "health and metrics endpoints")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	maddr := freePort(t)
	s := c.start(t, nb, "--metrics-listen="+maddr)
	for _, base := range []string{s.URL, "http://" + maddr} {
		for _, p := range []string{"/healthz", "/readyz"} {
			if code, _, body := get(t, base+p, nil); code != 200 || body != "ok\n" {
				t.Errorf("GET %s%s: %d %q, want 200 ok", base, p, code, body)
			}
		}
	}
	if code, _, body := get(t, s.URL+"/metrics", nil); code == 200 && strings.Contains(body, "ovn_neutrond_") {
		t.Errorf("/metrics is served on the tenant-facing address")
	}
	tok := token(t, s, "demo")
	code, hdr, _ := get(t, s.URL+"/v2.0/networks", map[string]string{"X-Auth-Token": tok})
	if code != 200 {
		t.Fatalf("list networks: %d", code)
	}
	reqID := hdr.Get("X-Openstack-Request-Id")
	if !strings.HasPrefix(reqID, "req-") {
		t.Errorf("X-Openstack-Request-Id %q, want req-<uuid>", reqID)
	}
	get(t, s.URL+"/v2.0/networks/8f1a2b3c-0000-4000-8000-000000000000", map[string]string{"X-Auth-Token": tok})
	_, _, metrics := get(t, "http://"+maddr+"/metrics", nil)
	for _, want := range []string{
		`ovn_neutrond_http_requests_total{code="200",method="GET",route="/v2.0/networks"} 1`,
		`ovn_neutrond_http_requests_total{code="404",method="GET",route="/v2.0/networks/{id}"} 1`,
		`ovn_neutrond_http_request_duration_seconds_count{method="GET",route="/v2.0/networks"} 1`,
		`ovn_neutrond_http_request_duration_seconds_bucket{method="GET",route="/v2.0/networks",le="+Inf"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	s.stop(t)
	var line map[string]any
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, reqID) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access log line names request %s", reqID)
	}
	for _, k := range []string{"user", "project"} {
		if v, _ := line[k].(string); v == "" {
			t.Errorf("access log line %v has no %s", line, k)
		}
	}
	if line["path"] != "/v2.0/networks" || line["status"] != float64(200) {
		t.Errorf("access log line %v", line)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ovn-neutrond test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	ownOnly(t, "TLS listener")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	cert, key, pool := selfSigned(t)
	s := c.start(t, nb, "--tls-cert="+cert, "--tls-key="+key)
	url := "https://" + strings.TrimPrefix(s.URL, "http://")
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := cl.Get(url + "/readyz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("GET /readyz over HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}

	// Half a TLS configuration, or a key that is not the certificate's,
	// is refused at start, naming the flags.
	other, _, _ := selfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert=" + cert}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert=" + other, "--tls-key=" + key}, "--tls-cert " + other},
	} {
		args := append([]string{"serve", "--nb=" + nb, "--listen=127.0.0.1:0", "--metrics-listen=", "--identity=" + c.identity, "--signing-key=" + c.key}, tc.args...)
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("serve %v: err %v, output %q; want a failure saying %q", tc.args, err, out, tc.want)
		}
	}
}
