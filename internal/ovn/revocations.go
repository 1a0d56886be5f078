package ovn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Revoked Keystone tokens are kept in NB, so that a token revoked through
// one ovn-neutrond is refused by every replica: one external_ids key per
// token on the NB_Global row, "neutron:revoked_token:<audit id>" =
// expiry (Unix seconds). Expired entries are pruned whenever a token is
// revoked; a revoked token is refused anyway once it has expired.
const keyRevokedPrefix = "neutron:revoked_token:"

// maxRevoked bounds the unexpired revocations NB holds (each is a few
// dozen bytes on NB_Global, which every NB client monitors).
const maxRevoked = 50000

// revocations is this process's copy of the revoked tokens, kept current
// by the NB_Global monitor.
type revocations struct {
	mu      sync.RWMutex
	expires map[string]time.Time // audit id → token expiry
	uuid    string               // NB_Global row
	changed chan struct{}
}

func newRevocations() *revocations {
	return &revocations{expires: map[string]time.Time{}, changed: make(chan struct{})}
}

// apply replaces the set from an NB_Global row (nil: the row is gone).
func (r *revocations) apply(g *nbdb.NBGlobal) {
	m := map[string]time.Time{}
	uuid := ""
	if g != nil {
		uuid = g.UUID
		for k, v := range g.ExternalIDs {
			id, ok := strings.CutPrefix(k, keyRevokedPrefix)
			if !ok {
				continue
			}
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			m[id] = time.Unix(sec, 0)
		}
	}
	r.mu.Lock()
	r.expires, r.uuid = m, uuid
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// TokenRevoked reports whether the token with this audit id was revoked.
func (s *Store) TokenRevoked(auditID string) bool {
	s.revoked.mu.RLock()
	defer s.revoked.mu.RUnlock()
	_, ok := s.revoked.expires[auditID]
	return ok
}

// RevokeToken records in NB that the token with this audit id, valid
// until expires, is revoked, and returns once this process refuses it.
func (s *Store) RevokeToken(ctx context.Context, auditID string, expires time.Time) error {
	if auditID == "" || strings.ContainsAny(auditID, "\x00") {
		return newErr(ErrInvalid, "InvalidInput", "Invalid token audit id %q.", auditID)
	}
	now := time.Now()
	r := s.revoked
	r.mu.RLock()
	uuid := r.uuid
	var expired []string
	live := 0
	for id, exp := range r.expires {
		if exp.Before(now) {
			expired = append(expired, keyRevokedPrefix+id)
		} else {
			live++
		}
	}
	r.mu.RUnlock()
	if live >= maxRevoked {
		return fmt.Errorf("%w: %d unexpired revoked tokens are recorded already (at most %d)", ErrUnavailable, live, maxRevoked)
	}
	entry := map[string]string{keyRevokedPrefix + auditID: strconv.FormatInt(expires.Unix()+1, 10)}
	var ops []ovsdb.Operation
	var err error
	if uuid == "" {
		// An NB nobody initialised (ovn-nbctl init) has no NB_Global row;
		// the table holds at most one, so of two racing inserts one fails
		// and is retried as a mutation once its monitor shows the row.
		ops, err = s.nb.Create(&nbdb.NBGlobal{UUID: "g", ExternalIDs: entry})
	} else {
		g := &nbdb.NBGlobal{UUID: uuid}
		muts := []model.Mutation{mutation(&g.ExternalIDs, ovsdb.MutateOperationInsert, entry)}
		if len(expired) > 0 {
			muts = append(muts, mutation(&g.ExternalIDs, ovsdb.MutateOperationDelete, expired))
		}
		ops, err = s.nb.Where(g).Mutate(g, muts...)
	}
	if err != nil {
		return fmt.Errorf("revoke token: build NB operations: %w", err)
	}
	if err := s.transact(ctx, ops); err != nil {
		if uuid == "" {
			// Lost the race to create NB_Global: wait for it, then mutate.
			if werr := s.waitRevocations(ctx, func() bool { return r.uuid != "" }); werr == nil {
				return s.RevokeToken(ctx, auditID, expires)
			}
		}
		return fmt.Errorf("revoke token: %w", err)
	}
	return s.waitRevocations(ctx, func() bool { _, ok := r.expires[auditID]; return ok })
}

// waitRevocations waits (bounded) until cond holds on the revocations,
// evaluated under their lock.
func (s *Store) waitRevocations(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := s.revoked
	for {
		r.mu.RLock()
		ok, ch := cond(), r.changed
		r.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: committed, but NB did not report the revocation back: %v", ErrUnavailable, ctx.Err())
		}
	}
}
