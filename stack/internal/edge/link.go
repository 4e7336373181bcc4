package edge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link tracks whether the cloud is reachable, from the outcome of real
// exchanges (sync, heartbeat, config poll).
type link struct {
	forcedOffline bool
	online        atomic.Bool
	lastContact   atomic.Int64 // unix nanos of the last successful exchange
	onReconnect   func()       // called on each offline→online transition
	log           *slog.Logger

	mu   sync.Mutex
	upCh chan struct{} // closed on the next offline→online transition
}

// errReconnected cancels requests still in flight when the cloud comes back:
// after a silent partition they may hang on a dead connection until their
// timeout, so they are retried at once on a fresh one instead.
var errReconnected = errors.New("cloud reachable again: retrying on a fresh connection")

func (l *link) success() {
	l.lastContact.Store(time.Now().UnixNano())
	if !l.online.Swap(true) {
		l.log.Info("cloud reachable: mode online")
		l.mu.Lock()
		if l.upCh != nil {
			close(l.upCh)
			l.upCh = nil
		}
		l.mu.Unlock()
		if l.onReconnect != nil {
			l.onReconnect()
		}
	}
}

func (l *link) failure(err error) {
	if l.online.Swap(false) {
		l.log.Warn("cloud unreachable: mode offline, serving locally", "err", err)
	}
}

// untilReconnect derives a context that is also cancelled, with cause
// errReconnected, when the link next turns online.
func (l *link) untilReconnect(ctx context.Context) (context.Context, context.CancelFunc) {
	l.mu.Lock()
	if l.upCh == nil {
		l.upCh = make(chan struct{})
	}
	up := l.upCh
	l.mu.Unlock()
	c, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-up:
			cancel(errReconnected)
		case <-c.Done():
		}
	}()
	return c, func() { cancel(context.Canceled) }
}

// reconnectErr returns errReconnected when ctx was cut by a reconnect, else err.
func reconnectErr(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errReconnected) {
		return errReconnected
	}
	return err
}

func (l *link) sinceContact() time.Duration {
	return time.Since(time.Unix(0, l.lastContact.Load()))
}

// mode is what /v1/status reports: the observed state, not the configured one.
func (l *link) mode() string {
	if l.forcedOffline || !l.online.Load() {
		return "offline"
	}
	return "online"
}

// backoff is capped exponential backoff with jitter: attempt n waits a
// uniformly random duration in [d/2, d], d = min(max, base·2^n).
type backoff struct {
	base, max time.Duration
	attempt   int
	rand      func(n int64) int64
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, rand: rand.Int64N}
}

func (b *backoff) next() time.Duration {
	d := b.max
	if b.attempt < 32 {
		if e := b.base << b.attempt; e > 0 && e < b.max {
			d = e
		}
	}
	b.attempt++
	half := d / 2
	return half + time.Duration(b.rand(int64(d-half)+1))
}

func (b *backoff) reset() { b.attempt = 0 }

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// countingDialer counts the bytes written to and read from its connections:
// the wire bytes of the edge↔cloud link including HTTP framing.
type countingDialer struct {
	d          net.Dialer
	sent, recv *atomic.Uint64
}

func (c *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, sent: c.sent, recv: c.recv}, nil
}

type countingConn struct {
	net.Conn
	sent, recv *atomic.Uint64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(uint64(n))
	return n, err
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.recv.Add(uint64(n))
	return n, err
}
