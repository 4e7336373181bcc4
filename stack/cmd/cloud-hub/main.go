// Command cloud-hub is the reference cloud side of the edgechaos stack
// contract (see stack/contract/README.md).
package main

import (
	"context"
	"log/slog"

	"github.com/edgechaos/edgechaos/stack/internal/cmdutil"
	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/httpx"
	"github.com/edgechaos/edgechaos/stack/internal/hub"
)

func main() {
	cmdutil.Serve("cloud-hub", "HUB_LOG_LEVEL", run)
}

func run(ctx context.Context, log *slog.Logger) error {
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
	ln, err := httpx.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("cloud hub serving", "addr", ln.Addr().String(), "rows", st.Rows(), "configVersion", st.Config().Version)
	if err := httpx.Serve(ctx, ln, hub.NewServer(cfg, st, log).Handler(), cfg.HTTP, log); err != nil {
		return err
	}
	log.Info("cloud hub stopped cleanly")
	return nil
}
