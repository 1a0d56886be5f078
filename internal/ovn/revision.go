package ovn

import (
	"context"
	"errors"
)

// ErrPrecondition: the request was constrained to a revision_number the
// resource no longer has (Neutron's revision-if-match, HTTP 412).
var ErrPrecondition = errors.New("precondition failed")

type revisionKey struct{}

// WithRevision constrains the updates and deletes made with ctx to a
// resource whose revision_number is rev (from "If-Match:
// revision_number=rev"). The check runs inside the guarded transaction
// attempt, so a concurrent change between check and commit fails the
// guard and is checked again.
func WithRevision(ctx context.Context, rev int64) context.Context {
	return context.WithValue(ctx, revisionKey{}, rev)
}

// checkRevision fails with RevisionNumberConstraintFailed when ctx is
// constrained to another revision than current.
func checkRevision(ctx context.Context, current int64) error {
	want, ok := ctx.Value(revisionKey{}).(int64)
	if !ok || want == current {
		return nil
	}
	return newErr(ErrPrecondition, "RevisionNumberConstraintFailed",
		"Constrained to %d, but current revision is %d", want, current)
}
