// Package edge implements the edge agent: a local durable record store that
// serves clients with or without the cloud, an uplink that syncs the outbox
// to the hub and a downlink that long-polls the hub's config.
package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/httpx"
)

// Defects selects deliberately broken behaviour for the harness's own tests.
// Only a binary built with the `defects` tag can set any of them.
type Defects struct {
	memoryOutbox, resend, refuseOffline, noDownlink, slowStart, bloat, chatty bool
}

// Agent is one edge node.
type Agent struct {
	cfg  Config
	def  Defects
	st   Store
	link *link
	m    *metrics
	up   *uplink
	down *downlink
	log  *slog.Logger
	hold [][]byte // memory held by the bloat defect
}

// New opens the node's store and prepares the sync loops.
func New(cfg Config, def Defects, log *slog.Logger) (*Agent, error) {
	a := &Agent{cfg: cfg, def: def, m: &metrics{}, log: log}
	a.link = &link{forcedOffline: cfg.Mode == ModeOffline, log: log}
	st, err := defectStore(def)
	if err != nil {
		return nil, err
	}
	if st == nil {
		if st, err = OpenBoltStore(cfg.DataDir, cfg.CommitDelay); err != nil {
			return nil, fmt.Errorf("edge store: %w", err)
		}
	}
	a.st = st
	if cfg.Mode != ModeOffline {
		a.up = newUplink(cfg, st, a.link, a.cloudClient(&a.m.syncSent, &a.m.syncRecv, 4), a.m, log)
		a.up.pingClient = a.cloudClient(&a.m.downSent, &a.m.downRecv, 1)
		a.down = &downlink{cfg: cfg, st: st, link: a.link, client: a.cloudClient(&a.m.downSent, &a.m.downRecv, 1), log: log}
	}
	a.applyDefects()
	return a, nil
}

func (a *Agent) cloudClient(sent, recv *atomic.Uint64, conns int) *http.Client {
	d := &countingDialer{d: net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}}
	d.sent, d.recv = sent, recv
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}}
}

// Serve serves the API on ln and runs the sync loops until ctx is done.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if a.up != nil {
		wg.Go(func() { a.up.run(ctx) })
		wg.Go(func() { a.up.heartbeat(ctx) })
		if !(defectsBuild && a.def.noDownlink) {
			wg.Go(func() { a.down.run(ctx) })
		}
	}
	a.log.Info("edge agent serving", "node", a.cfg.NodeID, "addr", ln.Addr().String(), "mode", string(a.cfg.Mode), "cloud", a.cfg.CloudURL)
	err := httpx.Serve(ctx, ln, a.routes(), 5*time.Second, a.log)
	cancel()
	wg.Wait()
	return err
}

// Close releases the store.
func (a *Agent) Close() error { return a.st.Close() }

func (a *Agent) notify() {
	if a.up != nil {
		a.up.notify()
	}
}
