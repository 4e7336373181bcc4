// Command edge-agent is the reference edge node of the edgechaos stack
// contract (see stack/contract/README.md).
package main

import (
	"context"
	"log/slog"

	"github.com/edgechaos/edgechaos/stack/internal/cmdutil"
	"github.com/edgechaos/edgechaos/stack/internal/edge"
	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/httpx"
)

func main() {
	cmdutil.Serve("edge-agent", "EDGE_LOG_LEVEL", run)
}

func run(ctx context.Context, log *slog.Logger) error {
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
	ln, err := httpx.Listen(cfg.Listen)
	if err != nil {
		_ = a.Close()
		return err
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
