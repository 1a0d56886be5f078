package keystone

import (
	"net/http"
	"testing"
)

func BenchmarkIssuePasswordCached(b *testing.B) {
	s := newTestService(b, nil)
	h := s.Handler()
	body := passwordBody("demo", "Default", pwDemo, "demo")
	for b.Loop() {
		if w := do(h, "POST", "/v3/auth/tokens", body, nil); w.Code != http.StatusCreated {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkIssueToken(b *testing.B) {
	s := newTestService(b, nil)
	tok := issueToken(b, s, "demo", "Default", pwDemo, "demo")
	h := s.Handler()
	body := `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + tok + `"}}}}`
	for b.Loop() {
		if w := do(h, "POST", "/v3/auth/tokens?nocatalog", body, nil); w.Code != http.StatusCreated {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	s := newTestService(b, nil)
	r := authRequestWith(issueToken(b, s, "demo", "Default", pwDemo, "demo"))
	for b.Loop() {
		if _, err := s.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPasswordDefaultCost(b *testing.B) {
	h, err := HashPassword("pw")
	if err != nil {
		b.Fatal(err)
	}
	ph, err := parsePasswordHash(h)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !ph.verify("pw") {
			b.Fatal("no match")
		}
	}
}
