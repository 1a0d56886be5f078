package neutron

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// ifMatch reads Neutron's revision-if-match constraint, the entity tag
// "revision_number=N" of an If-Match header, into ctx: an update or
// delete of a resource whose revision_number is not N then fails with
// 412 RevisionNumberConstraintFailed. Other entity tags are ignored, as
// Neutron ignores them.
func ifMatch(ctx context.Context, r *http.Request) (context.Context, error) {
	var rev *int64
	for _, h := range r.Header.Values("If-Match") {
		for _, tag := range strings.Split(h, ",") {
			tag = strings.Trim(strings.TrimSpace(tag), `"`)
			v, ok := strings.CutPrefix(tag, "revision_number=")
			if !ok {
				continue
			}
			if rev != nil {
				return ctx, badReq("Multiple revision_number etags are not supported.")
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ctx, badReq("Revision number etag must be in the format of revision_number=<int>")
			}
			rev = &n
		}
	}
	if rev == nil || (r.Method != http.MethodPut && r.Method != http.MethodDelete) {
		return ctx, nil
	}
	return ovn.WithRevision(ctx, *rev), nil
}
