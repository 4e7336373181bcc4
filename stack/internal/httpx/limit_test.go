package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve runs h under lim on a loopback port until the test ends.
func serve(t *testing.T, h http.Handler, lim Limits) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ln, h, lim, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitClosed reads c until the server closes it, failing after limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %v", limit)
	}
}

func readAll(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func TestShouldCutClientsThatTrickleTheirRequest(t *testing.T) {
	lim := Limits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, Grace: time.Second}
	s, addr := serve(t, http.HandlerFunc(readAll), lim)
	cases := map[string]string{
		"silent":    "",
		"slow-head": "POST /v1/records HTTP/1.1\r\nHost: x\r\n",
		"slow-body": "POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"id\":",
	}
	conns := map[string]net.Conn{}
	for name, prefix := range cases {
		c := dial(t, addr)
		if _, err := io.WriteString(c, prefix); err != nil {
			t.Fatal(err)
		}
		conns[name] = c
	}
	// A keep-alive connection that went idle after a complete request.
	idle := dial(t, addr)
	if _, err := io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("idle client's request: %v %v", resp, err)
	}
	conns["idle"] = idle
	for name, c := range conns {
		t.Run(name, func(t *testing.T) { waitClosed(t, c, 10*time.Second) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Conns().Open != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Conns(); st.Open != 0 {
		t.Fatalf("open connections after the timeouts: %+v", st)
	}
}

func TestShouldCapConnectionsAndKeepServingWellBehavedClients(t *testing.T) {
	const capN = 4
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /v1/records", readAll)
	mux.HandleFunc("POST /hold", func(w http.ResponseWriter, _ *http.Request) {
		<-release // a client that never finishes: held until the test lets go
		_, _ = w.Write([]byte("released\n"))
	})
	lim := DefaultLimits
	lim.MaxConns = capN
	s, addr := serve(t, mux, lim)
	if got := s.Conns().Cap; got != capN {
		t.Fatalf("cap = %d, want %d", got, capN)
	}

	// A well-behaved client with one keep-alive connection.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	get := func() {
		t.Helper()
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("healthz of the well-behaved client: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()

	// Fill the rest of the cap with clients whose requests never end.
	for range capN - 1 {
		c := dial(t, addr)
		if _, err := io.WriteString(c, "POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Conns().Open < capN && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Conns(); st.Open != capN {
		t.Fatalf("open = %+v, want the cap reached", st)
	}

	// One more client: it waits in the backlog instead of being served.
	extra := dial(t, addr)
	if _, err := io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(extra)
	_ = extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a connection beyond the cap was served")
	}

	// The well-behaved client still gets health checks and writes through.
	get()
	resp, err := client.Post("http://"+addr+"/v1/records", "application/json", strings.NewReader(`{"id":"a","ts":1,"payload":{}}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("write of the well-behaved client at the cap: %v %v", resp, err)
	}
	resp.Body.Close()

	// Once the holders go, the waiting client is served.
	close(release)
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	r2, err := http.ReadResponse(br, nil)
	if err != nil || r2.StatusCode != http.StatusOK {
		t.Fatalf("waiting client after the cap freed: %v %v", r2, err)
	}
	if st := s.Conns(); st.Peak > capN {
		t.Fatalf("peak %d connections over the cap %d", st.Peak, capN)
	}
}

func TestShouldKeepTheConnectionCapUnderTheOpenFileLimit(t *testing.T) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Max open files") {
		t.Fatalf("no open-file limit in /proc/self/limits")
	}
	if got := EffectiveMaxConns(1 << 30); got >= 1<<30 || got < 1 {
		t.Fatalf("EffectiveMaxConns(2^30) = %d: not bounded by the open-file limit", got)
	}
	if got := EffectiveMaxConns(16); got != 16 {
		t.Fatalf("EffectiveMaxConns(16) = %d, want 16", got)
	}
}
