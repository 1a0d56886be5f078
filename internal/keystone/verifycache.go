package keystone

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
)

// maxVerified bounds the cache; when full it is emptied, which only costs
// a slow verification per user again.
const maxVerified = 1024

// verifyCache remembers successful password verifications so that a
// client that logs in for every command (as the CLI does) pays for the
// slow hash once per process lifetime, not every time. Entries are keyed by
// an HMAC under a random per-process key, so the cache holds nothing that
// helps guess a password.
type verifyCache struct {
	key []byte
	mu  sync.Mutex
	ok  map[[sha256.Size]byte]struct{}
}

func newVerifyCache() (*verifyCache, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("read random cache key: %w", err)
	}
	return &verifyCache{key: key, ok: map[[sha256.Size]byte]struct{}{}}, nil
}

func (c *verifyCache) entry(userID, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [sha256.Size]byte
	copy(k[:], m.Sum(nil))
	return k
}

// verify checks password against the user's hash, consulting the cache.
// The identity is immutable, so a cached success never goes stale.
func (c *verifyCache) verify(u *user, password string) bool {
	k := c.entry(u.ID, password)
	c.mu.Lock()
	_, hit := c.ok[k]
	c.mu.Unlock()
	if hit {
		return true
	}
	if !u.hash.verify(password) {
		return false
	}
	c.mu.Lock()
	if len(c.ok) >= maxVerified {
		clear(c.ok)
	}
	c.ok[k] = struct{}{}
	c.mu.Unlock()
	return true
}
