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
	// refuseOfflineLate refuses requests only once the cloud has been
	// silent for refuseLateAfter: a stack that notices slowly and then fails.
	refuseOfflineLate bool
	// ackBeforeFsync acknowledges writes from the page cache: the store
	// never fsyncs, so a process kill loses nothing and a power cut does.
	ackBeforeFsync bool
	// dropOnFull answers 201 to a write the full disk could not store.
	dropOnFull bool
	// syncGiveUp stops syncing for good after a batch fails mid-flight
	// (reset, EOF or timeout once a connection carried it): no retry.
	syncGiveUp bool
	// wallClockOrder keys the outbox by wall-clock time instead of a
	// counter: a clock stepped back puts new records behind the synced
	// cursor (never sent) and equal readings overwrite each other.
	wallClockOrder bool
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
	srv  *httpx.Server
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
	if bs, ok := st.(*boltStore); ok && defectsBuild {
		if def.ackBeforeFsync {
			bs.db.NoSync = true
		}
		if def.wallClockOrder {
			bs.wallSeq = func() uint64 { return uint64(time.Now().UnixMicro()) }
		}
	}
	a.st = st
	if cfg.Mode != ModeOffline {
		a.up = newUplink(cfg, st, a.link, a.cloudClient(&a.m.syncSent, &a.m.syncRecv, 4), a.m, log)
		a.up.pingClient = a.cloudClient(&a.m.downSent, &a.m.downRecv, 1)
		a.up.giveUp = defectsBuild && def.syncGiveUp
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
	a.srv = httpx.NewServer(ln, a.routes(), a.cfg.HTTP, a.log)
	err := a.srv.Serve(ctx)
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
