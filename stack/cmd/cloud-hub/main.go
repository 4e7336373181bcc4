// Command cloud-hub is the reference cloud side of the edgechaos stack
// contract (see stack/contract/README.md).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/httpx"
	"github.com/edgechaos/edgechaos/stack/internal/hub"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cloud-hub:", err)
		os.Exit(1)
	}
}

func run() error {
	log := env.OS.Logger("HUB_LOG_LEVEL")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := hub.LoadConfig(env.OS)
	if err != nil {
		return err
	}
	st, err := hub.OpenStore(cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := hub.ApplyDefects(env.OS, st); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	log.Info("cloud hub serving", "addr", ln.Addr().String(), "rows", st.Rows(), "configVersion", st.Config().Version)
	if err := httpx.Serve(ctx, ln, hub.NewServer(cfg, st, log).Handler(), cfg.HTTP, log); err != nil {
		return err
	}
	log.Info("cloud hub stopped cleanly")
	return nil
}
