package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/httpx"
	"github.com/edgechaos/edgechaos/stack/internal/hub"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runHub serves a hub on addr ("" = any port) until the returned stop is called.
func runHub(t *testing.T, addr, dir string) (string, func()) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := hub.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = httpx.Serve(ctx, ln, hub.NewServer(hub.Config{MaxSyncBytes: 64 << 20}, st, quiet).Handler(), httpx.Limits{Grace: time.Second}, quiet)
		_ = st.Close()
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func getStatus(t *testing.T, url string) Status {
	t.Helper()
	resp, err := http.Get(url + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAgentInProcess runs agent and hub in this process so the race detector
// sees the API, uplink, downlink and store interleave.
func TestAgentInProcess(t *testing.T) {
	hubDir := t.TempDir()
	hubAddr, stopHub := runHub(t, "", hubDir)
	// EDGE_MODE empty: the default (online) mode instead of startAgent's offline one.
	_, url := startAgent(t, map[string]string{
		"EDGE_MODE": "", "CLOUD_URL": "http://" + hubAddr, "EDGE_BATCH_MAX": "7",
		"EDGE_BACKOFF_MAX_MS": "100", "EDGE_HEARTBEAT_MS": "100", "EDGE_CONFIG_WAIT_MS": "500",
	}, Defects{}, "")

	write := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Go(func() {
				body := fmt.Sprintf(`{"id":"r%d","ts":%d,"payload":{"i":%d}}`, i, i, i)
				resp, err := http.Post(url+"/v1/records", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("write r%d: %s", i, resp.Status)
				}
			})
		}
		wg.Wait()
	}
	write(0, 100)
	waitUntil(t, "first sync", func() bool { s := getStatus(t, url); return s.Pending == 0 && s.Mode == "online" })

	stopHub()
	write(100, 200)
	waitUntil(t, "offline mode", func() bool { return getStatus(t, url).Mode == "offline" })
	if s := getStatus(t, url); s.Pending != 100 {
		t.Fatalf("pending while offline = %d, want 100", s.Pending)
	}

	_, stopHub = runHub(t, hubAddr, hubDir)
	waitUntil(t, "resync after heal", func() bool { s := getStatus(t, url); return s.Pending == 0 && s.Mode == "online" })
	defer stopHub()

	resp, err := http.Get("http://" + hubAddr + "/v1/records?node=n1&limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Records []struct{ ID string } `json:"records"`
		Next    *string               `json:"next"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	seen := map[string]int{}
	for _, r := range page.Records {
		seen[r.ID]++
	}
	if len(page.Records) != 200 || len(seen) != 200 || page.Next != nil {
		t.Fatalf("hub holds %d rows, %d distinct ids, next %v; want 200/200/nil", len(page.Records), len(seen), page.Next)
	}

}
