package env

import (
	"log/slog"
	"os"
	"strings"
)

// Logger returns a text logger on stderr at the level named by key
// (debug, info, warn, error; default info).
func (l Lookup) Logger(key string) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(l.String(key, "info")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
