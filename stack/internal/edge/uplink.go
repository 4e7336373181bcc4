package edge

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// uplink ships the outbox to the hub: batches of the records after the
// durable acked cursor, gzip-compressed, one hub transaction per batch.
type uplink struct {
	cfg    Config
	st     Store
	link   *link
	client *http.Client
	// pingClient has its own connections: a probe must not queue behind a
	// stuck sync request nor reuse its dead connection.
	pingClient *http.Client
	m          *metrics
	kick       chan struct{}
	log        *slog.Logger
	nodeTag    []byte // JSON-encoded node id

	buf bytes.Buffer
	gz  *gzip.Writer

	// syncFn sends one batch; the chatty defect replaces it.
	syncFn func(context.Context) error
	// limit is the current batch size: halved after a timed-out batch (a
	// slow link), doubled back after each success, within [1, BatchMax].
	limit int
	// giveUp (sync-give-up defect) ends the loop after a batch failed in
	// flight; gaveUp records that it did.
	giveUp bool
	gaveUp atomic.Bool
}

func newUplink(cfg Config, st Store, l *link, client *http.Client, m *metrics, log *slog.Logger) *uplink {
	tag, _ := json.Marshal(cfg.NodeID)
	gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // level is valid
	u := &uplink{cfg: cfg, st: st, link: l, client: client, m: m, kick: make(chan struct{}, 1), log: log, nodeTag: tag, gz: gz}
	u.syncFn = u.syncOnce
	u.limit = cfg.BatchMax
	return u
}

// notify wakes the loop after a write; it never blocks.
func (u *uplink) notify() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func (u *uplink) run(ctx context.Context) {
	bo := newBackoff(u.cfg.BackoffBase, u.cfg.BackoffMax)
	idle := time.NewTimer(0)
	defer idle.Stop()
	var lastSync time.Time
	for ctx.Err() == nil {
		var err error
		switch {
		case u.st.LastSeq() > u.st.Cursor():
			// A small backlog right after a sync waits out the linger, so frequent writes share one
			// request instead of paying HTTP/TCP framing each; a full batch goes at once.
			if wait := u.cfg.SyncLinger - time.Since(lastSync); wait > 0 && u.st.LastSeq()-u.st.Cursor() < uint64(u.cfg.BatchMax) {
				if !sleep(ctx, wait) {
					return
				}
			}
			lastSync = time.Now()
			err = u.syncFn(ctx)
		default:
			idle.Reset(u.cfg.SyncInterval)
			select {
			case <-ctx.Done():
				return
			case <-u.kick:
			case <-idle.C:
			}
			continue
		}
		if err == nil || errors.Is(err, errReconnected) {
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		u.m.syncErrors.Add(1)
		u.link.failure(err)
		if defectsBuild && u.giveUp && cutInFlight(err) {
			u.gaveUp.Store(true)
			u.log.Warn("DEFECT sync-give-up: batch cut in flight, syncing stops", "err", err)
			return
		}
		u.log.Debug("sync attempt failed", "err", err)
		if !sleep(ctx, bo.next()) {
			return
		}
	}
}

// syncOnce sends one batch and persists the cursor the hub acknowledged.
func (u *uplink) syncOnce(ctx context.Context) error {
	cursor := u.st.Cursor()
	u.buf.Reset()
	u.gz.Reset(&u.buf)
	w := u.gz
	_, _ = w.Write([]byte(`{"node":`))
	_, _ = w.Write(u.nodeTag)
	_, _ = w.Write([]byte(`,"records":[`))
	first := true
	last, n, err := u.st.ReadBatch(cursor, u.limit, u.cfg.BatchBytes, func(doc []byte) error {
		if !first {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		first = false
		_, err := w.Write(doc)
		return err
	})
	if err != nil {
		return fmt.Errorf("build batch: %w", err)
	}
	if n == 0 {
		return nil
	}
	_, _ = w.Write([]byte(`]}`))
	if err := w.Close(); err != nil {
		return fmt.Errorf("gzip batch: %w", err)
	}
	key := fmt.Sprintf("%s:%d-%d", u.cfg.NodeID, cursor+1, last)
	resp, err := u.post(ctx, u.buf.Bytes(), true, key)
	u.limit = adaptBatch(u.limit, u.cfg.BatchMax, err)
	if err != nil {
		return fmt.Errorf("sync %d records (seq %d..%d, %d bytes gzip): %w", n, cursor+1, last, u.buf.Len(), err)
	}
	if resp.Acked < cursor || resp.Acked > last {
		return fmt.Errorf("sync seq %d..%d: hub acked %d outside the batch", cursor+1, last, resp.Acked)
	}
	if err := u.st.Ack(resp.Acked, time.Now()); err != nil {
		return err
	}
	u.m.syncBatches.Add(1)
	u.m.syncRecords.Add(uint64(n))
	u.link.success()
	return nil
}

// post sends one sync body and decodes the acknowledgement. The request is
// marked idempotent (it is: the hub dedupes), which lets net/http resend it
// on a fresh connection when a pooled one turns out dead, e.g. after a hub
// restart, instead of failing the attempt.
func (u *uplink) post(ctx context.Context, body []byte, gzipped bool, key string) (wire.SyncResponse, error) {
	var out wire.SyncResponse
	rctx, stop := u.link.untilReconnect(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(rctx, u.cfg.CloudTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.cfg.CloudURL+wire.SyncPath, bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set(wire.NodeHeader, u.cfg.NodeID)
	req.Header.Set("Idempotency-Key", key)
	resp, err := u.client.Do(req)
	if err != nil {
		return out, fmt.Errorf("post %s: %w", wire.SyncPath, reconnectErr(rctx, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, fmt.Errorf("read sync response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("hub answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("decode sync response: %w", err)
	}
	return out, nil
}

// heartbeat probes the hub whenever no exchange succeeded for
// cfg.Heartbeat, so that a lost cloud is noticed even while a sync request
// hangs on a silently dropped connection, and a recovered one while idle.
func (u *uplink) heartbeat(ctx context.Context) {
	bo := newBackoff(u.cfg.BackoffBase, u.cfg.BackoffMax)
	for ctx.Err() == nil {
		if wait := u.cfg.Heartbeat - u.link.sinceContact(); wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		if err := u.ping(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			u.m.heartbeatErrors.Add(1)
			u.link.failure(err)
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		bo.reset()
	}
}

func (u *uplink) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(time.Second, u.cfg.CloudTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.cfg.CloudURL+wire.HealthPath, nil)
	if err != nil {
		return fmt.Errorf("build heartbeat: %w", err)
	}
	resp, err := u.pingClient.Do(req)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heartbeat: hub answered %s", resp.Status)
	}
	u.link.success()
	return nil
}

// cutInFlight reports an error of a request that had a connection: a reset,
// an early EOF or a timeout, not a failure to connect.
func cutInFlight(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// adaptBatch returns the next batch size: half after a timeout (the batch
// did not make it across the link in time), double after a success.
func adaptBatch(limit, most int, err error) int {
	var ne net.Error
	switch {
	case err == nil:
		return min(most, limit*2)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return max(1, limit/2)
	default:
		return limit
	}
}
