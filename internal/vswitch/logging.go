package vswitch

import (
	"context"
	"log/slog"
)

// libovsdbHandler adapts the caller's handler for libovsdb: its V(0)
// messages (connect, reconnect) become Debug, its verbose levels (every
// transaction's operations, at V(4)) are dropped, warnings and errors pass
// unchanged. Otherwise a debug log would carry a dump of each claim.
type libovsdbHandler struct{ inner slog.Handler }

func (h libovsdbHandler) level(l slog.Level) (slog.Level, bool) {
	switch {
	case l < slog.LevelInfo:
		return l, false
	case l < slog.LevelWarn:
		return slog.LevelDebug, true
	}
	return l, true
}

func (h libovsdbHandler) Enabled(ctx context.Context, l slog.Level) bool {
	l, ok := h.level(l)
	return ok && h.inner.Enabled(ctx, l)
}

func (h libovsdbHandler) Handle(ctx context.Context, r slog.Record) error {
	l, ok := h.level(r.Level)
	if !ok {
		return nil
	}
	r.Level = l
	return h.inner.Handle(ctx, r)
}

func (h libovsdbHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return libovsdbHandler{h.inner.WithAttrs(a)}
}

func (h libovsdbHandler) WithGroup(g string) slog.Handler {
	return libovsdbHandler{h.inner.WithGroup(g)}
}
