package keystone

import (
	"context"
	"slices"
	"time"
)

// Principal is who a validated token speaks for.
type Principal struct {
	UserID, UserName, UserDomainID          string
	ProjectID, ProjectName, ProjectDomainID string
	// Roles on ProjectID, sorted, as the identity says now (not as when
	// the token was issued).
	Roles     []string
	ExpiresAt time.Time
}

// IsAdmin reports whether the principal has the admin role.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Roles, RoleAdmin) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p, as Middleware does.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by Middleware or WithPrincipal.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
