package vswitch

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLibovsdbHandlerLevels(t *testing.T) {
	tests := []struct {
		in   slog.Level
		want string // "" = dropped
	}{
		{slog.LevelDebug, ""},
		{slog.LevelInfo - 4, ""},
		{slog.LevelInfo, "level=DEBUG"},
		{slog.LevelWarn, "level=WARN"},
		{slog.LevelError, "level=ERROR"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		h := libovsdbHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}
		slog.New(h).Log(context.Background(), tt.in, "m")
		got := buf.String()
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("level %v logged %q, want %q", tt.in, got, tt.want)
		}
	}
}
