// Package httpx holds the small HTTP helpers shared by the edge agent and the hub.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encode response"}`, http.StatusInternalServerError)
		return
	}
	WriteRaw(w, status, b)
}

// WriteRaw writes an already encoded JSON body.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

// Error writes {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// ConnStats are the open and peak connection counts of a served listener.
type ConnStats struct{ Open, Peak, Cap int64 }

// Server serves h on an already bound listener under lim.
type Server struct {
	ln  *limitListener
	h   http.Handler
	lim Limits
	log *slog.Logger
}

// NewServer wraps ln in the connection cap of lim.
func NewServer(ln net.Listener, h http.Handler, lim Limits, log *slog.Logger) *Server {
	n := EffectiveMaxConns(lim.MaxConns)
	if lim.MaxConns <= 0 {
		n = EffectiveMaxConns(1 << 30)
	}
	return &Server{ln: newLimitListener(ln, n), h: h, lim: lim, log: log}
}

// Conns reports the open, peak and maximum connection counts.
func (s *Server) Conns() ConnStats {
	return ConnStats{Open: s.ln.open.Load(), Peak: s.ln.peak.Load(), Cap: int64(cap(s.ln.sem))}
}

// Serve serves h on ln under lim until ctx is cancelled (see Server.Serve).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, lim Limits, log *slog.Logger) error {
	return NewServer(ln, h, lim, log).Serve(ctx)
}

// Serve serves until ctx is cancelled, then shuts down gracefully
// (in-flight requests get up to lim.Grace to finish).
func (s *Server) Serve(ctx context.Context) error {
	ln, h, grace, log := s.ln, s.h, s.lim.Grace, s.log
	// Connections that were accepted but have not sent a request yet: net/http's Shutdown counts them
	// as active for their first 5 s, which would hold shutdown for the whole grace period. They carry
	// no request (nothing was acknowledged on them), so they are closed at once on shutdown.
	var mu sync.Mutex
	fresh := map[net.Conn]struct{}{}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.lim.ReadHeaderTimeout,
		ReadTimeout:       s.lim.ReadTimeout,
		WriteTimeout:      s.lim.WriteTimeout,
		IdleTimeout:       s.lim.IdleTimeout,
		MaxHeaderBytes:    s.lim.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnState: func(c net.Conn, st http.ConnState) {
			mu.Lock()
			defer mu.Unlock()
			if st == http.StateNew {
				fresh[c] = struct{}{}
			} else {
				delete(fresh, c)
			}
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down http server", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	// Shutdown has stopped accepting; connections still without a request now never get one.
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	for c := range fresh {
		_ = c.Close()
	}
	mu.Unlock()
	if err := <-shut; err != nil {
		_ = srv.Close()
		return fmt.Errorf("http shutdown %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errClosed(err) {
		return fmt.Errorf("http serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Listen opens the TCP listener a server's configured address names.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
