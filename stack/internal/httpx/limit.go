package httpx

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits bound what one client can hold on a server: how long it may take to
// send a request, how long an idle connection is kept, and how many
// connections are open at once.
type Limits struct {
	// ReadHeaderTimeout bounds the time to read a request's headers (and a
	// fresh connection's wait for its first request).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request, body included:
	// a client that trickles its body is cut when it runs out.
	ReadTimeout time.Duration
	// WriteTimeout bounds handling plus writing a response (0 = none).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once; a connection beyond the
	// cap waits in the listen backlog until one closes. It is lowered to
	// what the open-file limit leaves after FDReserve.
	MaxConns int
	// Grace is how long in-flight requests get to finish on shutdown.
	Grace time.Duration
}

// FDReserve is the number of file descriptors kept out of the connection cap
// for everything else the process opens (its store, its own outgoing
// connections, logs): accepting must never starve them.
const FDReserve = 128

// DefaultLimits are the reference stack's defaults.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    64 << 10,
	MaxConns:          4096,
	Grace:             5 * time.Second,
}

// EffectiveMaxConns is max lowered to the open-file limit minus FDReserve
// (at least 1).
func EffectiveMaxConns(want int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(1<<31) {
		want = min(want, int(rl.Cur)-FDReserve)
	}
	return max(want, 1)
}

// limitListener accepts at most n connections at once: Accept waits for a
// slot before taking the next connection from the kernel's backlog, so the
// process never runs out of file descriptors however many clients arrive.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	open      atomic.Int64
	peak      atomic.Int64
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	n := l.open.Add(1)
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.sem
	})
	return err
}

// Unwrap gives net/http's sendfile/splice paths the underlying connection.
func (c *limitConn) Unwrap() net.Conn { return c.Conn }

// errClosed reports a listener closed by shutdown.
func errClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
