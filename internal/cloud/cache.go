package cloud

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The authentication cache spares each command the Keystone round trip
// (and a real Keystone's ~100 ms): the token, the Neutron endpoint from the
// catalog, the project and what Neutron's extensions say are kept in one
// file per identity, in a directory only the user can enter, until shortly
// before the token expires. A 401 from Neutron makes the client
// authenticate afresh (see Connect).

// cacheMargin: a cached token is not used in its last minutes, so that it
// does not expire in the middle of a command.
const cacheMargin = 5 * time.Minute

// cacheEntry is the file's content.
type cacheEntry struct {
	// Token is the token issued for password credentials; empty when the
	// caller gave a token (it is not written down again).
	Token string `json:"token,omitempty"`
	// Verifier is a hash of the secret the entry was made with (password
	// or token): other credentials for the same identity do not use it.
	Verifier  string    `json:"verifier"`
	ExpiresAt time.Time `json:"expires_at"`
	// IssuedAt is when the token was asked for: with ExpiresAt, its
	// lifetime, which sets how early it is renewed.
	IssuedAt   time.Time       `json:"issued_at,omitzero"`
	ProjectID  string          `json:"project_id"`
	NetworkURL string          `json:"network_url"`
	Extensions map[string]bool `json:"extensions,omitempty"`
}

func (e cacheEntry) fresh(now time.Time) bool {
	return e.NetworkURL != "" && now.Add(cacheMargin).Before(e.ExpiresAt)
}

// DefaultCacheDir is where the plugin keeps its authentication cache:
// $XDG_RUNTIME_DIR/ovn-docker, else /run/user/<uid>/ovn-docker, else
// /tmp/ovn-docker-<uid>. OVN_DOCKER_CACHE_DIR overrides it; "off" disables
// the cache ("" is returned).
func DefaultCacheDir(getenv func(string) string) string {
	switch d := getenv("OVN_DOCKER_CACHE_DIR"); d {
	case "off":
		return ""
	case "":
	default:
		return d
	}
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		return filepath.Join(x, "ovn-docker")
	}
	uid := strconv.Itoa(os.Getuid())
	if fi, err := os.Stat("/run/user/" + uid); err == nil && fi.IsDir() {
		return filepath.Join("/run/user", uid, "ovn-docker")
	}
	return filepath.Join(os.TempDir(), "ovn-docker-"+uid)
}

// authCache is one identity's cache file.
type authCache struct {
	path     string
	verifier string
}

// newAuthCache: the file for the identity described by parts (auth URL,
// user, project..., never the secret) in dir, which is made 0700 if it
// does not exist and refused unless it is a directory of this user that
// nobody else may enter. secret only feeds the verifier.
func newAuthCache(dir, secret string, parts ...string) (*authCache, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("auth cache: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth cache: %s must be a directory of uid %d with mode 0700 (it is %s): not using it", dir, os.Getuid(), fi.Mode())
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	v := sha256.Sum256([]byte(key + "\x00" + secret))
	return &authCache{path: filepath.Join(dir, "auth-"+key+".json"), verifier: hex.EncodeToString(v[:])}, nil
}

// load returns the entry if it exists, was made with the same secret and
// is not about to expire.
func (c *authCache) load(now time.Time) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Verifier != c.verifier || !e.fresh(now) {
		return cacheEntry{}, false
	}
	return e, true
}

// store writes the entry (mode 0600, atomically: concurrent commands read
// either the old or the new file).
func (c *authCache) store(e cacheEntry) error {
	if c == nil {
		return nil
	}
	e.Verifier = c.verifier
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(c.path), ".auth-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), c.path)
}

// remove forgets the entry (its token was refused).
func (c *authCache) remove() {
	if c == nil {
		return
	}
	if err := os.Remove(c.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
}
