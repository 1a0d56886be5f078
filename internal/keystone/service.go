package keystone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultTokenTTL is the token lifetime when Config.TokenTTL is zero.
const DefaultTokenTTL = time.Hour

// Config configures a Service.
type Config struct {
	Identity *Identity
	// SigningKey is the HMAC key; processes with the same key accept each
	// other's tokens. At least MinSigningKeyLen bytes.
	SigningKey []byte
	// TokenTTL is the lifetime of issued tokens; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// PublicURL is the base URL clients use to reach this server, e.g.
	// "http://169.254.169.1:9696". Empty: derived from each request
	// (scheme + Host header). The catalog's "network" endpoint is the base
	// (clients append /v2.0) and its "identity" endpoint is <base>/v3.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Throttle limits password guessing; zero fields take the defaults.
	Throttle ThrottleConfig
	// Revocations records revoked tokens where every replica sees them
	// (ovn-neutrond: in NB). Nil keeps them in this process only.
	Revocations Revocations
}

// Revocations stores revoked tokens by audit id (the token's nonce).
type Revocations interface {
	// RevokeToken records the revocation of a token valid until expires;
	// once it returns, TokenRevoked reports it.
	RevokeToken(ctx context.Context, auditID string, expires time.Time) error
	TokenRevoked(auditID string) bool
}

// memRevocations keeps revocations in one process (for a single server
// and tests); expired entries are dropped as new ones come.
type memRevocations struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (r *memRevocations) RevokeToken(_ context.Context, auditID string, expires time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for id, exp := range r.m {
		if exp.Before(now) {
			delete(r.m, id)
		}
	}
	r.m[auditID] = expires
	return nil
}

func (r *memRevocations) TokenRevoked(auditID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[auditID]
	return ok
}

// Service issues and validates tokens.
type Service struct {
	identity  *Identity
	key       []byte
	ttl       time.Duration
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	// dummyHash is verified against when the user is unknown, so that the
	// response time does not tell which user names exist.
	dummyHash passwordHash
	verified  *verifyCache
	throttle  *loginThrottle
	revoked   Revocations
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Identity == nil {
		return nil, errors.New("keystone: Config.Identity is required")
	}
	if len(cfg.SigningKey) < MinSigningKeyLen {
		return nil, fmt.Errorf("keystone: signing key is %d bytes; at least %d are required", len(cfg.SigningKey), MinSigningKeyLen)
	}
	if cfg.TokenTTL < 0 {
		return nil, fmt.Errorf("keystone: token TTL %s is negative; use a positive duration or 0 for the default %s", cfg.TokenTTL, DefaultTokenTTL)
	}
	s := &Service{
		identity: cfg.Identity,
		key:      bytes.Clone(cfg.SigningKey),
		ttl:      cfg.TokenTTL,
		log:      cfg.Logger,
		now:      cfg.Now,
		throttle: newLoginThrottle(cfg.Throttle),
		revoked:  cfg.Revocations,
	}
	if s.revoked == nil {
		s.revoked = &memRevocations{m: map[string]time.Time{}}
	}
	if s.ttl == 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("keystone: public URL %q is not an absolute http:// or https:// URL without query", cfg.PublicURL)
		}
		s.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	// No password matches a zero key in practice; only the work counts.
	s.dummyHash = passwordHash{iterations: hashIterations, salt: make([]byte, saltLen), key: make([]byte, keyLen)}
	vc, err := newVerifyCache()
	if err != nil {
		return nil, err
	}
	s.verified = vc
	return s, nil
}

// LoadSigningKey reads an HMAC key file. Trailing newlines are dropped so
// that `openssl rand -hex 32 > key` works. Errors name the path only.
func LoadSigningKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	key := bytes.TrimRight(data, "\r\n")
	if len(key) < MinSigningKeyLen {
		return nil, fmt.Errorf("signing key file %s holds %d bytes; at least %d are required (e.g. `openssl rand -hex 32 > %s`)", path, len(key), MinSigningKeyLen, path)
	}
	return key, nil
}

// Authenticate validates the request's X-Auth-Token. Errors wrap
// ErrUnauthorized and say why, without quoting the token.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	p, _, err := s.validate(r.Header.Get("X-Auth-Token"))
	return p, err
}

// validate checks a token and resolves it against the current identity.
func (s *Service) validate(token string) (Principal, tokenPayload, error) {
	tp, err := verify(s.key, token, s.now())
	if err != nil {
		return Principal{}, tokenPayload{}, err
	}
	if s.revoked.TokenRevoked(tp.auditID()) {
		return Principal{}, tokenPayload{}, fmt.Errorf("%w: token revoked", ErrUnauthorized)
	}
	p, err := s.principal(tp.UserID, tp.ProjectID, tp.expires())
	if err != nil {
		return Principal{}, tokenPayload{}, err
	}
	return p, tp, nil
}

// principal resolves ids against the identity; a user that lost its last
// role on the project is refused like an unknown one.
func (s *Service) principal(userID, projectID string, expires time.Time) (Principal, error) {
	u, ok := s.identity.users[userID]
	if !ok {
		return Principal{}, fmt.Errorf("%w: unknown user id %q", ErrUnauthorized, userID)
	}
	pr, ok := s.identity.projects[projectID]
	if !ok {
		return Principal{}, fmt.Errorf("%w: unknown project id %q", ErrUnauthorized, projectID)
	}
	roles := u.roles[projectID]
	if len(roles) == 0 {
		return Principal{}, fmt.Errorf("%w: user %q has no role on project %q", ErrUnauthorized, userID, projectID)
	}
	return Principal{
		UserID: u.ID, UserName: u.Name, UserDomainID: u.DomainID,
		ProjectID: pr.ID, ProjectName: pr.Name, ProjectDomainID: pr.DomainID,
		Roles:     append([]string(nil), roles...),
		ExpiresAt: expires,
	}, nil
}
