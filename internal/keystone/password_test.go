package keystone

import (
	"bytes"
	"strings"
	"testing"
)

func TestHashPasswordVerify(t *testing.T) {
	h1, err := HashPasswordIterations("s3cret", minIterations)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPasswordIterations("s3cret", minIterations)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Error("two hashes of the same password are equal; the salt is not random")
	}
	if strings.Contains(h1, "s3cret") {
		t.Error("hash contains the password")
	}
	ph, err := parsePasswordHash(h1)
	if err != nil {
		t.Fatalf("parsePasswordHash(HashPassword()): %v", err)
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"s3cret", true},
		{"s3cret ", false},
		{"S3cret", false},
		{"", false},
		{strings.Repeat("x", maxPasswordLen+1), false},
	} {
		if got := ph.verify(tt.password); got != tt.want {
			t.Errorf("verify(%.10q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestHashPasswordRejects(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", maxPasswordLen+1)} {
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("HashPassword(len %d) succeeded; want error", len(pw))
		}
	}
	for _, n := range []int{minIterations - 1, maxIterations + 1} {
		if _, err := HashPasswordIterations("pw", n); err == nil {
			t.Errorf("HashPasswordIterations(%d) succeeded; want error", n)
		}
	}
}

func TestHashPasswordDefaultCost(t *testing.T) {
	h, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	ph, err := parsePasswordHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if ph.iterations != hashIterations || len(ph.salt) != saltLen {
		t.Errorf("default hash has %d iterations and %d salt bytes; want %d and %d", ph.iterations, len(ph.salt), hashIterations, saltLen)
	}
}

func TestParsePasswordHashErrors(t *testing.T) {
	good, err := HashPasswordIterations("pw", minIterations)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ":")
	tests := []struct{ name, in, wantErr string }{
		{"plain", "secret", "not of the form"},
		{"other scheme", "bcrypt:" + strings.Join(parts[1:], ":"), "not of the form"},
		{"few iterations", "pbkdf2-sha256:10:" + parts[2] + ":" + parts[3], "iterations must be"},
		{"huge iterations", "pbkdf2-sha256:999999999:" + parts[2] + ":" + parts[3], "iterations must be"},
		{"bad salt", "pbkdf2-sha256:100000:***:" + parts[3], "salt must be"},
		{"short key", "pbkdf2-sha256:100000:" + parts[2] + ":AAAA", "key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePasswordHash(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePasswordHash(%q) error = %v; want %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestHashPasswordCommand(t *testing.T) {
	tests := []struct {
		name, stdin string
		wantErr     bool
	}{
		{"crlf", "hunter2\r\n", false},
		{"no newline", "hunter2", false},
		{"only first line", "hunter2\nignored\n", false},
		{"empty", "", true},
		{"empty line", "\n", true},
		{"too long", strings.Repeat("x", maxPasswordLen+10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := HashPasswordCommand(strings.NewReader(tt.stdin), &out)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("succeeded with output %q; want error", out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			line, ok := strings.CutSuffix(out.String(), "\n")
			if !ok || strings.Contains(line, "\n") {
				t.Fatalf("output %q is not one line", out.String())
			}
			h, err := parsePasswordHash(line)
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if !h.verify("hunter2") {
				t.Error("hash does not verify the password")
			}
		})
	}
}
