package adapters

import "context"

// LinkInNetns makes Links an attach.NetnsLinks.
func (l Links) LinkInNetns(ctx context.Context, nsPath, name string) (bool, error) {
	return l.N.LinkInNetns(ctx, nsPath, name)
}

// LinkExists makes Links an attach.LinkInspector.
func (l Links) LinkExists(ctx context.Context, name string) (bool, error) {
	return l.N.LinkExists(ctx, name)
}
