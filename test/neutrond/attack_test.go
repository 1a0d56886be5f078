package neutrond

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Hostile requests against a real ovn-neutrond on a real NB. Every row
// asserts the status, the error's type and message, that NB is unchanged
// (unless the row is meant to change it), and that another tenant's
// requests made meanwhile all succeed.

const (
	attackHeaderTimeout = 2 * time.Second
	attackPerHost       = 100
)

type attackFixture struct {
	fixture
	peer        *server // a second replica on the same NB
	foreign     string  // a well-formed token signed with another key
	expired     string  // a token that expired
	altPort     string
	altSubnet   string
	revokeMe    string // a demo token to revoke
	attackerSrc string // loopback address the slow clients come from
}

func attackSetup(t *testing.T) *attackFixture {
	t.Helper()
	f := &attackFixture{attackerSrc: "127.0.0.2"}
	f.nb = ovsdbtest.StartNB(t)
	c := newCloud(t)
	f.srv = c.start(t, f.nb, "--read-header-timeout="+attackHeaderTimeout.String(), "--idle-timeout=5s",
		fmt.Sprintf("--max-connections-per-host=%d", attackPerHost))
	f.peer = c.start(t, f.nb)
	f.demo, f.alt, f.admin = token(t, f.srv, "demo"), token(t, f.srv, "alt"), token(t, f.srv, "admin")
	f.revokeMe = token(t, f.srv, "demo")
	fx := &f.fixture
	f.net = mustCreate(t, fx, f.demo, "/v2.0/networks", `{"network": {"name": "n1"}}`, "network")["id"].(string)
	f.subnet = mustCreate(t, fx, f.demo, "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.20.0.0/24"}}`, f.net), "subnet")["id"].(string)
	f.vm = mustCreate(t, fx, f.demo, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "vm"}}`, f.net), "port")["id"].(string)
	f.altNet = mustCreate(t, fx, f.alt, "/v2.0/networks", `{"network": {"name": "alt"}}`, "network")["id"].(string)
	f.altSubnet = mustCreate(t, fx, f.alt, "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.30.0.0/24"}}`, f.altNet), "subnet")["id"].(string)
	f.altPort = mustCreate(t, fx, f.alt, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, f.altNet), "port")["id"].(string)

	// A token signed with another key, by a server with its own key.
	other := newCloud(t)
	if err := os.WriteFile(other.key, []byte(strings.Repeat("0th3r-k3y", 6)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.foreign = token(t, other.start(t, ovsdbtest.StartNB(t)), "demo")
	// A token of this cloud that expired.
	short := c.start(t, f.nb, "--token-ttl=1s")
	f.expired = token(t, short, "demo")
	short.stop(t)
	time.Sleep(1100 * time.Millisecond)
	return f
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorOf returns the type and message of a NeutronError or Keystone
// error body ("" when neither).
func (r reply) errorOf() (typ, msg string) {
	var b struct {
		NeutronError *struct{ Type, Message string }
		Error        *struct {
			Code    int
			Title   string
			Message string
		}
	}
	if json.Unmarshal(r.body, &b) != nil {
		return "", ""
	}
	switch {
	case b.NeutronError != nil:
		return b.NeutronError.Type, b.NeutronError.Message
	case b.Error != nil:
		return fmt.Sprint("keystone:", b.Error.Code), b.Error.Message
	}
	return "", ""
}

func send(t *testing.T, s *server, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, data}
}

func jsonHdr(tok string) map[string]string {
	return map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
}

// bystander makes alt's requests (list and show its network) until
// stopped and counts those that did not succeed.
type bystander struct {
	stop          chan struct{}
	done          sync.WaitGroup
	ok, failed    atomic.Int64
	firstFailures sync.Map
}

func startBystander(t *testing.T, f *attackFixture) *bystander {
	b := &bystander{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	b.done.Add(1)
	go func() {
		defer b.done.Done()
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			default:
			}
			path := "/v2.0/networks/" + f.altNet
			if i%2 == 1 {
				path = "/v2.0/ports?network_id=" + f.altNet
			}
			req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
			req.Header.Set("X-Auth-Token", f.alt)
			resp, err := client.Do(req)
			if err != nil {
				b.failed.Add(1)
				b.firstFailures.LoadOrStore(err.Error(), true)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.failed.Add(1)
				b.firstFailures.LoadOrStore(resp.Status, true)
			} else {
				b.ok.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return b
}

func (b *bystander) finish(t *testing.T) {
	t.Helper()
	close(b.stop)
	b.done.Wait()
	if n := b.failed.Load(); n > 0 {
		var why []string
		b.firstFailures.Range(func(k, _ any) bool { why = append(why, k.(string)); return true })
		t.Errorf("another tenant's requests failed meanwhile: %d failed, %d ok (%s)", n, b.ok.Load(), strings.Join(why, "; "))
	}
	if b.ok.Load() == 0 {
		t.Errorf("another tenant's requests: none completed meanwhile")
	}
}

func TestAttackTable(t *testing.T) {
	ownOnly(t, "answers to hostile requests and its resource limits")
	f := attackSetup(t)
	nul := `"a\u0000b"`
	long := `"` + strings.Repeat("n", 256) + `"`
	portBody := func(extra string) string { return fmt.Sprintf(`{"port": {"network_id": %q%s}}`, f.net, extra) }
	tampered := f.demo[:len(f.demo)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(f.demo, "AAA")]

	type row struct {
		name      string
		do        func(t *testing.T) reply
		status    int
		typ       string // NeutronError type, or "keystone:<code>"
		msg       string // substring of the message
		changesNB bool
		repeat    int // times to send it (a burst); default 1
	}
	req := func(method, path, tok, body string) func(t *testing.T) reply {
		return func(t *testing.T) reply { return send(t, f.srv, method, path, jsonHdr(tok), body) }
	}
	rows := []row{
		// (5) strings NB cannot store, in every string attribute; a burst.
		{name: "NUL in network name", do: req("POST", "/v2.0/networks", f.demo, `{"network": {"name": `+nul+`}}`),
			status: 400, typ: "InvalidInput", msg: "Invalid input for name. Reason: the value contains a NUL character; strings must be valid UTF-8 without NUL characters.", repeat: 30},
		{name: "NUL in port name", do: req("POST", "/v2.0/ports", f.demo, portBody(`, "name": `+nul)), status: 400, typ: "InvalidInput", msg: "Invalid input for name.", repeat: 30},
		{name: "NUL in network description", do: req("POST", "/v2.0/networks", f.demo, `{"network": {"description": `+nul+`}}`), status: 400, typ: "InvalidInput", msg: "Invalid input for description."},
		{name: "NUL in device_owner", do: req("POST", "/v2.0/ports", f.demo, portBody(`, "device_owner": `+nul)), status: 400, typ: "InvalidInput", msg: "Invalid input for device_owner."},
		{name: "NUL in device_id on update", do: req("PUT", "/v2.0/ports/"+f.vm, f.demo, `{"port": {"device_id": `+nul+`}}`), status: 400, typ: "InvalidInput", msg: "Invalid input for device_id."},
		{name: "NUL in binding:profile", do: req("POST", "/v2.0/ports", f.demo, portBody(`, "binding:profile": {"parent_name": `+nul+`, "tag": 9}`)), status: 400, typ: "InvalidInput", msg: "Invalid input for binding:profile."},
		{name: "NUL in subnet name", do: req("PUT", "/v2.0/subnets/"+f.subnet, f.demo, `{"subnet": {"name": `+nul+`}}`), status: 400, typ: "InvalidInput", msg: "Invalid input for name."},
		{name: "invalid UTF-8 in port description", do: req("POST", "/v2.0/ports", f.demo, portBody(`, "description": "a`+"\xff"+`b"`)), status: 400, typ: "InvalidInput", msg: "not valid UTF-8"},
		// (12) names of any length.
		{name: "256-character network name", do: req("POST", "/v2.0/networks", f.demo, `{"network": {"name": `+long+`}}`), status: 400, typ: "HTTPBadRequest", msg: "more than the maximum of 255"},
		{name: "256-character port description", do: req("PUT", "/v2.0/ports/"+f.vm, f.demo, `{"port": {"description": `+long+`}}`), status: 400, typ: "HTTPBadRequest", msg: "more than the maximum of 255"},
		// (12) content types.
		{name: "text/plain body", do: func(t *testing.T) reply {
			return send(t, f.srv, "POST", "/v2.0/networks", map[string]string{"X-Auth-Token": f.demo, "Content-Type": "text/plain"}, `{"network": {"name": "x"}}`)
		}, status: 415, typ: "InvalidContentType", msg: "Content-Type: application/json"},
		{name: "form body", do: func(t *testing.T) reply {
			return send(t, f.srv, "PUT", "/v2.0/networks/"+f.net, map[string]string{"X-Auth-Token": f.demo, "Content-Type": "application/x-www-form-urlencoded"}, `name=x`)
		}, status: 415, typ: "InvalidContentType", msg: "Invalid content type application/x-www-form-urlencoded"},
		// Oversized body.
		{name: "2 MiB body", do: req("POST", "/v2.0/networks", f.demo, `{"network": {"name": "`+strings.Repeat("x", 2<<20)+`"}}`), status: 400, typ: "BadRequest", msg: "larger than 1048576 bytes"},
		// Cross-project access on every endpoint and filter.
		{name: "read another project's network", do: req("GET", "/v2.0/networks/"+f.altNet, f.demo, ""), status: 404, typ: "NetworkNotFound", msg: f.altNet},
		{name: "rename another project's network", do: req("PUT", "/v2.0/networks/"+f.altNet, f.demo, `{"network": {"name": "mine"}}`), status: 404, typ: "NetworkNotFound"},
		{name: "delete another project's network", do: req("DELETE", "/v2.0/networks/"+f.altNet, f.demo, ""), status: 404, typ: "NetworkNotFound"},
		{name: "read another project's subnet", do: req("GET", "/v2.0/subnets/"+f.altSubnet, f.demo, ""), status: 404, typ: "SubnetNotFound"},
		{name: "update another project's subnet", do: req("PUT", "/v2.0/subnets/"+f.altSubnet, f.demo, `{"subnet": {"name": "mine"}}`), status: 404, typ: "SubnetNotFound"},
		{name: "delete another project's subnet", do: req("DELETE", "/v2.0/subnets/"+f.altSubnet, f.demo, ""), status: 404, typ: "SubnetNotFound"},
		{name: "read another project's port", do: req("GET", "/v2.0/ports/"+f.altPort, f.demo, ""), status: 404, typ: "PortNotFound"},
		{name: "update another project's port", do: req("PUT", "/v2.0/ports/"+f.altPort, f.demo, `{"port": {"name": "mine"}}`), status: 404, typ: "PortNotFound"},
		{name: "delete another project's port", do: req("DELETE", "/v2.0/ports/"+f.altPort, f.demo, ""), status: 404, typ: "PortNotFound"},
		{name: "port on another project's network", do: req("POST", "/v2.0/ports", f.demo, fmt.Sprintf(`{"port": {"network_id": %q}}`, f.altNet)), status: 404, typ: "NetworkNotFound"},
		{name: "subnet on another project's network", do: req("POST", "/v2.0/subnets", f.demo, fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.99.0.0/24"}}`, f.altNet)), status: 404, typ: "NetworkNotFound"},
		{name: "child of another project's port", do: req("POST", "/v2.0/ports", f.demo, portBody(fmt.Sprintf(`, "binding:profile": {"parent_name": %q, "tag": 9}`, f.altPort))), status: 404, typ: "PortNotFound"},
		{name: "network into another project", do: req("POST", "/v2.0/networks", f.demo, fmt.Sprintf(`{"network": {"name": "x", "project_id": %q}}`, projAlt)), status: 400, typ: "HTTPBadRequest", msg: "requires admin privileges"},
		// Tokens.
		{name: "no token", do: req("GET", "/v2.0/networks", "", ""), status: 401, typ: "keystone:401", msg: "requires authentication"},
		{name: "tampered token", do: req("GET", "/v2.0/networks", tampered, ""), status: 401, typ: "keystone:401"},
		{name: "expired token", do: req("GET", "/v2.0/networks", f.expired, ""), status: 401, typ: "keystone:401"},
		{name: "token signed with another key", do: req("GET", "/v2.0/networks", f.foreign, ""), status: 401, typ: "keystone:401"},
		{name: "tampered token on POST", do: req("POST", "/v2.0/networks", tampered, `{"network": {"name": "x"}}`), status: 401, typ: "keystone:401"},
		{name: "validate a token signed with another key", do: func(t *testing.T) reply {
			return send(t, f.srv, "GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": f.demo, "X-Subject-Token": f.foreign}, "")
		}, status: 404, typ: "keystone:404", msg: "Could not find token."},
		{name: "revoke another user's token", do: func(t *testing.T) reply {
			return send(t, f.srv, "DELETE", "/v3/auth/tokens", map[string]string{"X-Auth-Token": f.demo, "X-Subject-Token": f.alt}, "")
		}, status: 403, typ: "keystone:403"},
		// (12) revocation, held across replicas.
		{name: "revoke own token", do: func(t *testing.T) reply {
			return send(t, f.srv, "DELETE", "/v3/auth/tokens", map[string]string{"X-Auth-Token": f.demo, "X-Subject-Token": f.revokeMe}, "")
		}, status: 204, changesNB: true},
		{name: "revoked token on Neutron", do: req("GET", "/v2.0/networks", f.revokeMe, ""), status: 401, typ: "keystone:401"},
		{name: "revoked token validated", do: func(t *testing.T) reply {
			return send(t, f.srv, "GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": f.demo, "X-Subject-Token": f.revokeMe}, "")
		}, status: 404, typ: "keystone:404", msg: "Could not find token."},
		{name: "revoked token on the other replica", do: func(t *testing.T) reply {
			var r reply
			_ = waitFor(func() bool {
				r = send(t, f.peer, "GET", "/v2.0/networks", map[string]string{"X-Auth-Token": f.revokeMe}, "")
				return r.status == 401
			})
			return r
		}, status: 401, typ: "keystone:401"},
		{name: "revoked token HEAD on the other replica", do: func(t *testing.T) reply {
			return send(t, f.peer, "HEAD", "/v3/auth/tokens", map[string]string{"X-Auth-Token": f.demo, "X-Subject-Token": f.revokeMe}, "")
		}, status: 404},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := f.srv.nbState(t, f.nb)
			by := startBystander(t, f)
			n := max(r.repeat, 1)
			var got reply
			for range n {
				got = r.do(t)
				if got.status != r.status {
					break
				}
			}
			by.finish(t)
			if got.status != r.status {
				t.Fatalf("status %d, want %d; body %s", got.status, r.status, clipBody(got.body))
			}
			typ, msg := got.errorOf()
			if typ != r.typ {
				t.Errorf("error type %q, want %q; body %s", typ, r.typ, clipBody(got.body))
			}
			if !strings.Contains(msg, r.msg) {
				t.Errorf("message %q lacks %q", msg, r.msg)
			}
			if after := f.srv.nbState(t, f.nb); !r.changesNB && after != before {
				t.Errorf("NB changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// (7) Password guessing: after a few failures a user name is throttled
// with 429 and Retry-After, whether or not the user exists; other users
// log in meanwhile. Reports the guesses per second the server let through.
func TestAttackPasswordGuessing(t *testing.T) {
	ownOnly(t, "rate limit on password guessing")
	f := attackSetup(t)
	login := func(user, pw string) reply {
		body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"name": "Default"}, "password": %q}}}, "scope": {"project": {"name": %q, "domain": {"name": "Default"}}}}}`, user, pw, user)
		return send(t, f.srv, "POST", "/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	}
	for _, user := range []string{"demo", "no-such-user"} {
		var statuses []int
		start := time.Now()
		guesses := 0
		for range 30 {
			r := login(user, "guess")
			statuses = append(statuses, r.status)
			switch r.status {
			case 401:
				guesses++
			case 429:
				if r.header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				if typ, msg := r.errorOf(); typ != "keystone:429" || !strings.Contains(msg, "Too many failed logins") {
					t.Fatalf("429 body %s", r.body)
				}
			default:
				t.Fatalf("wrong password for %s: status %d %s", user, r.status, r.body)
			}
		}
		rate := float64(guesses) / time.Since(start).Seconds()
		t.Logf("%s: %d attempts in %s, %d of them checked (%.1f guesses/s), the rest 429", user, len(statuses),
			time.Since(start).Round(time.Millisecond), guesses, rate)
		if guesses > 6 {
			t.Errorf("%s: %d of 30 guesses checked; want throttling after 5", user, guesses)
		}
		if !slices.Contains(statuses, 429) {
			t.Errorf("%s: never throttled: %v", user, statuses)
		}
	}
	// One more failure (checked or not) leaves demo throttled for at
	// least the base delay: now even the right password is refused.
	login("demo", "guess")
	if r := login("demo", password); r.status != 429 {
		t.Errorf("right password of a throttled user: %d, want 429", r.status)
	}
	if r := login("alt", password); r.status != 201 {
		t.Errorf("another user's login while demo is throttled: %d %s", r.status, r.body)
	}
}

// (6) Slow clients: connections that never finish their headers are
// closed within the read-header timeout, connections over the per-host
// cap are refused at once, and another tenant is served meanwhile.
func TestAttackSlowClients(t *testing.T) {
	ownOnly(t, "timeouts on slow clients")
	f := attackSetup(t)
	fds := func() int {
		ents, _ := os.ReadDir(filepath.Join("/proc", fmt.Sprint(f.srv.cmd.Process.Pid), "fd"))
		return len(ents)
	}
	base := fds()
	by := startBystander(t, f)
	const slow = 3 * attackPerHost
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(f.attackerSrc)}, Timeout: 2 * time.Second}
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	var conns []net.Conn
	for range slow {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			continue
		}
		// Half a request line, then nothing (slowloris).
		_, _ = c.Write([]byte("GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		conns = append(conns, c)
	}
	start := time.Now()
	time.Sleep(300 * time.Millisecond)
	held := fds()
	t.Logf("fds: %d before, %d with %d slow connections attempted (per-host cap %d)", base, held, slow, attackPerHost)
	if held-base > attackPerHost+20 {
		t.Errorf("server holds %d more fds with %d slow connections; want at most about the per-host cap %d", held-base, slow, attackPerHost)
	}
	var wg sync.WaitGroup
	var closedLate atomic.Int64
	var maxClose atomic.Int64
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(attackHeaderTimeout + 3*time.Second))
			_, err := io.Copy(io.Discard, c)
			el := time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				closedLate.Add(1)
			}
			if int64(el) > maxClose.Load() {
				maxClose.Store(int64(el))
			}
		}()
	}
	wg.Wait()
	by.finish(t)
	t.Logf("all slow connections closed by the server within %s; fds after: %d", time.Duration(maxClose.Load()).Round(10*time.Millisecond), fds())
	if n := closedLate.Load(); n > 0 {
		t.Errorf("%d slow connections were still open %s after they started", n, attackHeaderTimeout+3*time.Second)
	}
	if got := fds(); got > base+10 {
		t.Errorf("fds after the attack: %d, before: %d", got, base)
	}
	// The server still answers normally.
	if r := send(t, f.srv, "GET", "/v2.0/networks", map[string]string{"X-Auth-Token": f.demo}, ""); r.status != 200 {
		t.Errorf("after the attack: %d", r.status)
	}
}
