// Command edge-agent is the reference edge node of the edgechaos stack
// contract (see stack/contract/README.md).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgechaos/edgechaos/stack/internal/edge"
	"github.com/edgechaos/edgechaos/stack/internal/env"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "edge-agent:", err)
		os.Exit(1)
	}
}

func run() error {
	log := env.OS.Logger("EDGE_LOG_LEVEL")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := edge.LoadConfig(env.OS)
	if err != nil {
		return err
	}
	def, err := edge.LoadDefects(env.OS)
	if err != nil {
		return err
	}
	a, err := edge.New(cfg, def, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = a.Close()
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	serr := a.Serve(ctx, ln)
	if cerr := a.Close(); cerr != nil && serr == nil {
		serr = cerr
	}
	if serr == nil {
		log.Info("edge agent stopped cleanly")
	}
	return serr
}
