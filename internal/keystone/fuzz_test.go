package keystone

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// FuzzAuthBody posts arbitrary bodies to POST /v3/auth/tokens: the answer
// is a Keystone error document with a 4xx code matching the status, or a
// 201 whose token validates for the user it names.
func FuzzAuthBody(f *testing.F) {
	for _, b := range []string{
		passwordBody("demo", "Default", pwDemo, "demo"),
		passwordBody("demo", "Default", "wrong", "demo"),
		passwordBody("nobody", "Nope", "x", ""),
		`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "` + userDemo + `", "password": "` + pwDemo + `"}}}, "scope": "unscoped"}}`,
		`{"auth": {"identity": {"methods": ["token"], "token": {"id": "k1.e30.AAAA"}}, "scope": {"project": {"id": "` + projDemo + `"}}}}`,
		`{"auth": {"identity": {"methods": ["password"]}, "scope": {"domain": {"id": "default"}}}}`,
		`{"auth": null}`, `[]`, `{`, "\x00",
	} {
		f.Add([]byte(b))
	}
	s := newTestService(f, func(c *Config) { c.Throttle.Disabled = true })
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		w := do(h, "POST", "/v3/auth/tokens", string(body), nil)
		switch w.Code {
		case http.StatusCreated:
			tok := w.Header().Get("X-Subject-Token")
			p, _, err := s.validate(tok)
			if err != nil {
				t.Fatalf("issued token does not validate: %v", err)
			}
			var doc struct {
				Token struct {
					User struct{ ID string } `json:"user"`
				} `json:"token"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Token.User.ID != p.UserID {
				t.Fatalf("token document %q does not name user %s", w.Body, p.UserID)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != w.Code || e.Error.Message == "" {
				t.Fatalf("status %d with body %q", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d for body %q", w.Code, body)
		}
	})
}

// FuzzVerifyToken: arbitrary token strings never panic and are accepted
// only when signed with the key.
func FuzzVerifyToken(f *testing.F) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	good, err := sign(testKey, tokenPayload{UserID: userDemo, ProjectID: projDemo, IssuedAt: now.UnixMicro(), ExpiresAt: now.Add(time.Hour).UnixMicro(), Nonce: []byte("123456789012")})
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range []string{good, "", "k1..", "k1.e30.AAAA", good[:len(good)-2], "k2" + good[2:]} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := verify(testKey, tok, now)
		if err != nil {
			return
		}
		version, rest, _ := cutDot(tok)
		payload, _, _ := cutDot(rest)
		if version != tokenVersion || p.expires().Before(now) {
			t.Fatalf("accepted %q", tok)
		}
		if _, err := verify([]byte("another key, 32 bytes long......"), tok, now); err == nil {
			t.Fatalf("token %q (payload %q) verifies under a different key", tok, payload)
		}
	})
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
