package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// downlink long-polls the hub's config and stores each newer version durably.
type downlink struct {
	cfg    Config
	st     Store
	link   *link
	client *http.Client
	log    *slog.Logger
}

func (d *downlink) run(ctx context.Context) {
	bo := newBackoff(d.cfg.BackoffBase, d.cfg.BackoffMax)
	for ctx.Err() == nil {
		held := d.st.Config().Version
		c, err := d.poll(ctx, held)
		if errors.Is(err, errReconnected) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.link.failure(err)
			d.log.Debug("config poll failed", "err", err)
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		bo.reset()
		d.link.success()
		if c.Version > held {
			if err := d.st.SetConfig(c); err != nil {
				d.log.Error("store config", "version", c.Version, "err", err)
				if !sleep(ctx, bo.next()) {
					return
				}
				continue
			}
			d.log.Info("config updated", "version", c.Version)
		}
	}
}

func (d *downlink) poll(ctx context.Context, after int64) (wire.Config, error) {
	var c wire.Config
	rctx, stop := d.link.untilReconnect(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(rctx, d.cfg.ConfigWait+d.cfg.CloudTimeout)
	defer cancel()
	u := d.cfg.CloudURL + wire.ConfigPath + "?after=" + strconv.FormatInt(after, 10) + "&wait=" + d.cfg.ConfigWait.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return c, fmt.Errorf("build config poll: %w", err)
	}
	req.Header.Set(wire.NodeHeader, d.cfg.NodeID)
	resp, err := d.client.Do(req)
	if err != nil {
		return c, fmt.Errorf("config poll: %w", reconnectErr(rctx, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("config poll: hub answered %s", resp.Status)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode config: %w", err)
	}
	return c, nil
}
