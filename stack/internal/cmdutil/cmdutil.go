// Package cmdutil holds what the stack's commands share: their exit on error, their signal
// handling and a repeatable flag.
package cmdutil

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgechaos/edgechaos/stack/internal/env"
)

// Exit prints a non-nil err after the command's name and exits with status 1.
func Exit(name string, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Serve runs a long-lived command with the process logger at the level in logLevelKey, until
// SIGTERM or Ctrl-C cancels its context, and exits as Exit does.
func Serve(name, logLevelKey string, run func(ctx context.Context, log *slog.Logger) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, env.OS.Logger(logLevelKey))
	stop()
	Exit(name, err)
}

// ListFlag is a repeatable string flag.
type ListFlag []string

func (l *ListFlag) String() string     { return strings.Join(*l, ",") }
func (l *ListFlag) Set(v string) error { *l = append(*l, v); return nil }
