package itest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReferenceBuildHasNoDefectCodePath(t *testing.T) {
	needBinaries(t)
	tests := []struct {
		bin, marker string
		want        bool
	}{
		{bins.edge, "EDGE_DEFECT", false},
		{bins.hub, "HUB_DEFECT", false},
		{bins.edgeDefects, "EDGE_DEFECT", true},
		{bins.hubDefects, "HUB_DEFECT", true},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(tt.bin)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(tt.marker)); got != tt.want {
			t.Errorf("%s contains %s = %v, want %v", tt.bin, tt.marker, got, tt.want)
		}
	}
}

func TestShouldSyncServeLocallyAndPickUpConfig(t *testing.T) {
	needBinaries(t)
	hub := newHub(t, bins.hub)
	edge := newEdge(t, bins.edge, "n1", hub.url())
	h := newHistory()
	h.writeN(edge.url(), "a", 300, 8)
	if h.ackedCount() != 300 {
		t.Fatalf("acked %d of 300 writes (codes %v)", h.ackedCount(), h.codes)
	}
	v, ok, took := converge(edge, hub.url(), h, 10*time.Second, 0)
	if !ok || len(v.lost)+len(v.dup)+len(v.unknown) != 0 || v.rows != 300 {
		t.Fatalf("not converged exactly once after %v: %s", took, v)
	}

	// The record is served locally with its sync state.
	var rec struct {
		ID      string          `json:"id"`
		Seq     uint64          `json:"seq"`
		Payload json.RawMessage `json:"payload"`
		Synced  bool            `json:"synced"`
	}
	if err := getJSON(edge.url()+"/v1/records/a-7", &rec); err != nil || !rec.Synced || rec.ID != "a-7" {
		t.Fatalf("GET a-7 = %+v, %v", rec, err)
	}

	// Idempotent retry and conflicting reuse of an id.
	tests := []struct {
		name, body string
		want       int
	}{
		{"retry is answered 200", h.payload["a-7"], http.StatusOK},
		{"different payload is a conflict", `{"id":"a-7","ts":1,"payload":"other"}`, http.StatusConflict},
		{"missing payload is rejected", `{"id":"x","ts":1}`, http.StatusBadRequest},
		{"bad JSON is rejected", `{"id":`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		resp, err := httpc.Post(edge.url()+"/v1/records", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var out struct {
			Seq uint64 `json:"seq"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && out.Seq != rec.Seq {
			t.Errorf("%s: seq %d, want %d", tt.name, out.Seq, rec.Seq)
		}
	}

	// Downlink: a published config reaches the online edge quickly.
	v1 := putConfig(t, hub.url(), map[string]any{"model": "m1"})
	lat, err := waitFor(3*time.Second, func() bool { s, err := edge.status(); return err == nil && s.ConfigVersion == v1 })
	if err != nil {
		t.Fatalf("edge did not pick up config v%d: %v", v1, err)
	}
	t.Logf("config v%d reached the edge in %v", v1, lat)
	var cfg struct {
		Version int64 `json:"version"`
		Data    struct {
			Model string `json:"model"`
		} `json:"data"`
	}
	if err := getJSON(edge.url()+"/v1/config", &cfg); err != nil || cfg.Version != v1 || cfg.Data.Model != "m1" {
		t.Fatalf("edge config = %+v, %v", cfg, err)
	}

	if err := edge.p.term(5 * time.Second); err != nil {
		t.Errorf("edge SIGTERM: %v", err)
	}
	if err := hub.p.term(5 * time.Second); err != nil {
		t.Errorf("hub SIGTERM: %v", err)
	}
}

// partitionResult is what the "write, cut the hub, write more, kill -9 the
// agent, restart, heal" scenario observed.
type partitionResult struct {
	verdict         verdict
	converged       bool
	convergeTook    time.Duration
	offlineOK       int // acknowledged writes while the hub was down
	offlineAttempts int
	offlineReads    int // successful local reads during the partition
	modeDuringCut   string
	configAfterHeal int64
	published       int64
}

func runPartitionScenario(t *testing.T, edgeBin, hubBin string, edgeEnv, hubEnv []string, timeout, settle time.Duration) partitionResult {
	t.Helper()
	var r partitionResult
	hub := newHub(t, hubBin, hubEnv...)
	edge := newEdge(t, edgeBin, "p1", hub.url(), append([]string{"EDGE_BACKOFF_MAX_MS=300"}, edgeEnv...)...)
	putConfig(t, hub.url(), "v1")
	h := newHistory()
	h.writeN(edge.url(), "before", 200, 4)
	_, _ = waitFor(5*time.Second, func() bool { s, err := edge.status(); return err == nil && s.Pending == 0 })

	hub.p.kill9() // partition: the hub is gone
	before := h.ackedCount()
	h.writeN(edge.url(), "cut", 200, 4)
	r.offlineAttempts, r.offlineOK = 200, h.ackedCount()-before
	for i := range 20 {
		if err := getJSON(fmt.Sprintf("%s/v1/records/before-%d", edge.url(), i), &json.RawMessage{}); err == nil {
			r.offlineReads++
		}
	}
	if s, err := edge.status(); err == nil {
		r.modeDuringCut = s.Mode
	}

	edge.p.kill9()
	edge.start()
	before = h.ackedCount()
	h.writeN(edge.url(), "restarted", 100, 4)
	r.offlineAttempts += 100
	r.offlineOK += h.ackedCount() - before

	hub.start() // heal
	r.published = putConfig(t, hub.url(), "v2")
	r.verdict, r.converged, r.convergeTook = converge(edge, hub.url(), h, timeout, settle)
	_, _ = waitFor(2*time.Second, func() bool { s, err := edge.status(); return err == nil && s.ConfigVersion == r.published })
	if s, err := edge.status(); err == nil {
		r.configAfterHeal = s.ConfigVersion
	}
	return r
}

func TestPartitionKillRestartHeal(t *testing.T) {
	needBinaries(t)
	type want func(t *testing.T, r partitionResult)
	exactlyOnce := func(t *testing.T, r partitionResult) {
		t.Helper()
		if !r.converged || len(r.verdict.lost) != 0 || len(r.verdict.dup) != 0 || len(r.verdict.unknown) != 0 {
			t.Errorf("want exactly-once delivery, got converged=%v %s", r.converged, r.verdict)
		}
	}
	tests := []struct {
		name            string
		edgeBin, hubBin func() string
		edgeEnv, hubEnv []string
		timeout, settle time.Duration
		want            want
	}{
		{
			name: "reference stack delivers every acknowledged write exactly once", timeout: 10 * time.Second,
			edgeBin: func() string { return bins.edge }, hubBin: func() string { return bins.hub },
			want: func(t *testing.T, r partitionResult) {
				exactlyOnce(t, r)
				if r.offlineOK != r.offlineAttempts || r.offlineReads != 20 {
					t.Errorf("offline: %d/%d writes and %d/20 reads succeeded", r.offlineOK, r.offlineAttempts, r.offlineReads)
				}
				if r.modeDuringCut != "offline" {
					t.Errorf("status.mode during the cut = %q, want offline", r.modeDuringCut)
				}
				if r.configAfterHeal != r.published {
					t.Errorf("config after heal = v%d, want v%d", r.configAfterHeal, r.published)
				}
			},
		},
		{
			name: "resending edge is harmless against the deduplicating hub", timeout: 10 * time.Second, settle: time.Second,
			edgeBin: func() string { return bins.edgeDefects }, hubBin: func() string { return bins.hub },
			edgeEnv: []string{"EDGE_DEFECT=resend"},
			want:    exactlyOnce,
		},
		{
			name: "memory-outbox loses acknowledged writes on kill -9", timeout: 3 * time.Second,
			edgeBin: func() string { return bins.edgeDefects }, hubBin: func() string { return bins.hub },
			edgeEnv: []string{"EDGE_DEFECT=memory-outbox"},
			want: func(t *testing.T, r partitionResult) {
				if len(r.verdict.lost) < 150 || len(r.verdict.dup) != 0 {
					t.Errorf("want the ~200 writes acknowledged during the cut lost, got %s", r.verdict)
				}
			},
		},
		{
			name: "resend + no-dedupe duplicates rows in the ledger", timeout: 10 * time.Second, settle: time.Second,
			edgeBin: func() string { return bins.edgeDefects }, hubBin: func() string { return bins.hubDefects },
			edgeEnv: []string{"EDGE_DEFECT=resend"}, hubEnv: []string{"HUB_DEFECT=no-dedupe"},
			want: func(t *testing.T, r partitionResult) {
				if len(r.verdict.dup) < 150 || len(r.verdict.lost) != 0 {
					t.Errorf("want the 200 pre-cut records duplicated and nothing lost, got %s", r.verdict)
				}
			},
		},
		{
			name: "refuse-offline fails requests while the hub is down", timeout: 10 * time.Second,
			edgeBin: func() string { return bins.edgeDefects }, hubBin: func() string { return bins.hub },
			edgeEnv: []string{"EDGE_DEFECT=refuse-offline"},
			want: func(t *testing.T, r partitionResult) {
				if r.offlineOK > r.offlineAttempts/10 || r.offlineReads != 0 {
					t.Errorf("want offline requests refused, got %d/%d writes and %d/20 reads ok", r.offlineOK, r.offlineAttempts, r.offlineReads)
				}
				exactlyOnce(t, r) // what it did acknowledge it delivers
			},
		},
		{
			name: "no-downlink never takes a config", timeout: 10 * time.Second,
			edgeBin: func() string { return bins.edgeDefects }, hubBin: func() string { return bins.hub },
			edgeEnv: []string{"EDGE_DEFECT=no-downlink"},
			want: func(t *testing.T, r partitionResult) {
				exactlyOnce(t, r)
				if r.configAfterHeal != 0 {
					t.Errorf("configVersion = %d, want 0", r.configAfterHeal)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPartitionScenario(t, tt.edgeBin(), tt.hubBin(), tt.edgeEnv, tt.hubEnv, tt.timeout, tt.settle)
			t.Logf("%s; converged=%v in %v; offline writes %d/%d; mode during cut %q; config v%d/v%d",
				r.verdict, r.converged, r.convergeTook, r.offlineOK, r.offlineAttempts, r.modeDuringCut, r.configAfterHeal, r.published)
			tt.want(t, r)
		})
	}
}

// killLoop kills the edge agent (or the hub) with SIGKILL at random moments
// while writers run and the edge syncs in small batches, then heals and
// checks the ledger.
func killLoop(t *testing.T, iterations int, killHub bool) {
	hub := newHub(t, bins.hub)
	edge := newEdge(t, bins.edge, "k1", hub.url(), "EDGE_BATCH_MAX=40", "EDGE_BACKOFF_MAX_MS=100")
	h := newHistory()
	var retry []string
	next := 0
	for it := range iterations {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		work := append([]string(nil), retry...) // indeterminate writes are retried first
		for range 8 {
			wg.Go(func() {
				for ctx.Err() == nil {
					mu.Lock()
					var id string
					if len(work) > 0 {
						id, work = work[0], work[1:]
					} else {
						id = fmt.Sprintf("k-%d", next)
						next++
					}
					mu.Unlock()
					h.write(ctx, edge.url(), id)
				}
			})
		}
		time.Sleep(time.Duration(10+rand.IntN(60)) * time.Millisecond)
		if killHub {
			hub.p.kill9()
		} else {
			edge.p.kill9()
		}
		cancel()
		wg.Wait()
		if killHub {
			hub.start()
		} else {
			edge.start()
		}
		h.mu.Lock()
		retry = retry[:0]
		for id := range h.maybe {
			retry = append(retry, id)
		}
		h.mu.Unlock()
		if it%10 == 9 {
			t.Logf("iteration %d: %d acknowledged, %d indeterminate", it+1, h.ackedCount(), len(retry))
		}
	}
	// Resolve the indeterminate writes: a retry must be idempotent.
	for _, id := range retry {
		h.write(context.Background(), edge.url(), id)
	}
	v, ok, took := converge(edge, hub.url(), h, 20*time.Second, 200*time.Millisecond)
	deduped, _ := metric(hub.url(), "hub_sync_records_deduped_total")
	t.Logf("after %d kills: %s; converged=%v in %v; codes %v; records resent and deduped by the hub since its last start: %.0f",
		iterations, v, ok, took, h.codes, deduped)
	if !ok || len(v.lost) != 0 || len(v.dup) != 0 || len(v.unknown) != 0 {
		t.Fatalf("exactly-once violated: %s (converged=%v)", v, ok)
	}
	if !killHub && deduped == 0 {
		t.Fatalf("no batch was ever resent: no kill landed between the hub's commit and the edge's cursor update")
	}
	if len(h.seqBad) != 0 {
		t.Fatalf("retries answered with a different seq: %v", h.seqBad)
	}
	if h.ackedCount() < iterations*5 {
		t.Fatalf("only %d writes acknowledged in %d iterations: the test did not exercise the agent", h.ackedCount(), iterations)
	}
	// Every acknowledged write is still served locally by the restarted agent.
	h.mu.Lock()
	defer h.mu.Unlock()
	missing := 0
	for id := range h.acked {
		resp, err := httpc.Get(edge.url() + "/v1/records/" + id)
		if err != nil {
			t.Fatalf("GET %s: %v", id, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged records not served locally after restart", missing)
	}
}

func TestEdgeKill9MidSyncLoop(t *testing.T) {
	needBinaries(t)
	killLoop(t, 60, false)
}

func TestHubKill9MidSyncLoop(t *testing.T) {
	needBinaries(t)
	killLoop(t, 20, true)
}
