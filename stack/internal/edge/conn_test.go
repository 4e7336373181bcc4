package edge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startAgent serves an agent built from env (plus EDGE_NODE_ID and an
// offline mode unless given) with data in dir ("" = a temp dir).
func startAgent(t *testing.T, env map[string]string, def Defects, dir string) (*Agent, string) {
	t.Helper()
	full := map[string]string{"EDGE_NODE_ID": "n1", "EDGE_MODE": "offline"}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := LoadConfig(lookup(full))
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	cfg.DataDir = dir
	a, err := New(cfg, def, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a, "http://" + ln.Addr().String()
}

// TestShouldCutSlowBodyClientsOfTheAgent: the agent's API ends a request whose
// body trickles in once EDGE_READ_TIMEOUT_MS has passed, and keeps serving.
func TestShouldCutSlowBodyClientsOfTheAgent(t *testing.T) {
	a, url := startAgent(t, map[string]string{"EDGE_READ_TIMEOUT_MS": "300", "EDGE_READ_HEADER_TIMEOUT_MS": "200"}, Defects{}, "")
	addr := strings.TrimPrefix(url, "http://")
	var slow []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":"); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	for i, c := range slow {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("slow client %d still held by the agent: %v", i, err)
		}
	}
	waitUntil(t, "slow connections released", func() bool { return a.srv.Conns().Open == 0 })
	resp, err := http.Post(url+"/v1/records", "application/json", strings.NewReader(`{"id":"ok","ts":1,"payload":{}}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("write after the slow clients: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestShouldStayUpUnderTenThousandConnections: 10,000 client connections
// open at once (each sending one write), far over a small connection cap:
// every write is answered, and every acknowledged id is readable.
func TestShouldStayUpUnderTenThousandConnections(t *testing.T) {
	const total, workers, capN = 10000, 32, 256
	a, url := startAgent(t, map[string]string{"EDGE_MAX_CONNS": fmt.Sprint(capN)}, Defects{}, "")
	addr := strings.TrimPrefix(url, "http://")
	conns := make([]net.Conn, total)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < total; i += workers {
				c, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				conns[i] = c
				body := fmt.Sprintf(`{"id":"c%d","ts":%d,"payload":{"i":%d}}`, i, i, i)
				req := fmt.Sprintf("POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				if _, err := io.WriteString(c, req); err != nil {
					errs <- fmt.Errorf("write %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	acked := 0
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_ = c.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("write c%d: %s", i, resp.Status)
		}
		acked++
	}
	if st := a.srv.Conns(); st.Peak > capN {
		t.Fatalf("peak %d connections over the cap %d", st.Peak, capN)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range acked {
		resp, err := client.Get(fmt.Sprintf("%s/v1/records/c%d", url, i))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("acknowledged c%d: %s", i, resp.Status)
		}
	}
}
