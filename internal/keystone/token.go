package keystone

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Tokens are "<version>.<payload>.<mac>": payload is unpadded URL-safe
// base64 of compact JSON, mac is HMAC-SHA256 over "<version>.<payload>".
// The version prefix lets a later format coexist during an upgrade.
const (
	tokenVersion = "k1"
	// maxTokenLen rejects absurd headers before any decoding work.
	maxTokenLen = 2048
	nonceLen    = 12
	// MinSigningKeyLen is the shortest HMAC key accepted.
	MinSigningKeyLen = 32
)

// tokenPayload holds ids only, nothing secret: a token leaks no more than
// who holds it. Roles are informative; validation recomputes them.
type tokenPayload struct {
	UserID    string   `json:"u"`
	ProjectID string   `json:"p"`
	Roles     []string `json:"r,omitempty"`
	Methods   []string `json:"m,omitempty"`
	IssuedAt  int64    `json:"i"` // Unix microseconds
	ExpiresAt int64    `json:"e"` // Unix microseconds
	Nonce     []byte   `json:"n"`
}

func (p tokenPayload) issued() time.Time  { return time.UnixMicro(p.IssuedAt).UTC() }
func (p tokenPayload) expires() time.Time { return time.UnixMicro(p.ExpiresAt).UTC() }

// auditID names the token in revocations and logs without being usable
// as a credential (Keystone's audit_ids).
func (p tokenPayload) auditID() string { return hex.EncodeToString(p.Nonce) }

func newNonce() ([]byte, error) {
	n := make([]byte, nonceLen)
	if _, err := rand.Read(n); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return n, nil
}

func sign(key []byte, p tokenPayload) (string, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	signed := tokenVersion + "." + base64.RawURLEncoding.EncodeToString(raw)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed)), nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verify checks the signature and expiry. Errors wrap ErrUnauthorized and
// never quote the token.
func verify(key []byte, token string, now time.Time) (tokenPayload, error) {
	if token == "" {
		return tokenPayload{}, fmt.Errorf("%w: no token", ErrUnauthorized)
	}
	if len(token) > maxTokenLen {
		return tokenPayload{}, fmt.Errorf("%w: malformed token (%d bytes)", ErrUnauthorized, len(token))
	}
	version, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || version != tokenVersion {
		return tokenPayload{}, fmt.Errorf("%w: malformed token", ErrUnauthorized)
	}
	gotMAC, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return tokenPayload{}, fmt.Errorf("%w: malformed token signature", ErrUnauthorized)
	}
	if !hmac.Equal(gotMAC, mac(key, version+"."+payload)) {
		return tokenPayload{}, fmt.Errorf("%w: bad token signature", ErrUnauthorized)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return tokenPayload{}, fmt.Errorf("%w: malformed token payload", ErrUnauthorized)
	}
	var p tokenPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return tokenPayload{}, fmt.Errorf("%w: malformed token payload", ErrUnauthorized)
	}
	if !now.Before(p.expires()) {
		return tokenPayload{}, fmt.Errorf("%w: token expired at %s", ErrUnauthorized, p.expires().Format(time.RFC3339))
	}
	return p, nil
}
