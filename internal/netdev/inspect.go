package netdev

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// LinkInNetns reports whether the namespace at netnsPath has a link named
// name. A missing namespace is not an error: it has no links.
func (n *Netlink) LinkInNetns(ctx context.Context, netnsPath, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		var notExist ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		if errors.As(err, &notExist) || errors.As(err, &notNS) || errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("open network namespace %s: %w", netnsPath, err)
	}
	defer target.Close()
	found := false
	err = target.Do(func(ns.NetNS) error {
		_, err := netlink.LinkByName(name)
		if isNotFound(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("looking for %s in %s: %w", name, netnsPath, err)
	}
	return found, nil
}
