package cloud

import (
	"context"
	"errors"
	"maps"
)

// HasExtension reports whether Neutron lists the extension alias (e.g.
// ExtTrunk) in /v2.0/extensions. The list is asked once and kept with the
// authentication cache.
func (c *Client) HasExtension(ctx context.Context, alias string) (bool, error) {
	c.mu.Lock()
	ext := c.entry.Extensions
	c.mu.Unlock()
	if ext == nil {
		var body struct {
			Extensions []struct {
				Alias string `json:"alias"`
			} `json:"extensions"`
		}
		if _, err := c.net.Get(ctx, c.net.ServiceURL("extensions"), &body, nil); err != nil {
			// A server without the extensions resource has none.
			if err = c.apiError("listing Neutron's extensions", err); !errors.Is(err, ErrNotFound) {
				return false, err
			}
		}
		ext = map[string]bool{}
		for _, e := range body.Extensions {
			ext[e.Alias] = true
		}
		c.mu.Lock()
		c.entry.Extensions = ext
		e := c.entry
		e.Extensions = maps.Clone(ext)
		c.mu.Unlock()
		if err := c.cache.store(e); err != nil {
			c.log.Warn("caching Neutron's extensions failed", "err", err)
		}
	}
	return ext[alias], nil
}
