package itest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins are the binaries under test, built once by TestMain.
var bins struct {
	edge, hub, edgeDefects, hubDefects string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() || os.Getenv("ITEST_SKIP") == "1" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "edgechaos-itest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "itest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "itest:", err)
		return 1
	}
	builds := []struct {
		out  *string
		name string
		tags string
	}{
		{&bins.edge, "edge-agent", ""},
		{&bins.hub, "cloud-hub", ""},
		{&bins.edgeDefects, "edge-agent", "defects"},
		{&bins.hubDefects, "cloud-hub", "defects"},
	}
	for _, b := range builds {
		out := filepath.Join(dir, b.name)
		if b.tags != "" {
			out += "-" + b.tags
		}
		args := []string{"build", "-trimpath", "-o", out}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.Command(goBin, append(args, "./cmd/"+b.name)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "itest: build %s: %v\n%s", out, err, msg)
			return 1
		}
		*b.out = out
	}
	return m.Run()
}

func needBinaries(t *testing.T) {
	t.Helper()
	if bins.edge == "" {
		t.Skip("integration tests skipped (-short)")
	}
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		s.b.Reset()
		s.b.WriteString("[earlier output dropped]\n")
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a child process in its own process group; t.Cleanup kills it.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan struct{}
	waitErr error
	started time.Time
}

func startProc(t *testing.T, name, bin string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill9()
		if t.Failed() {
			out := p.out.String()
			if len(out) > 3000 {
				out = "…" + out[len(out)-3000:]
			}
			t.Logf("--- %s output (pid %d) ---\n%s", p.name, p.cmd.Process.Pid, out)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill9 sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill9() {
	if !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.done
}

// term sends SIGTERM and waits up to timeout; it returns the exit error.
func (p *proc) term(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(timeout):
		p.kill9()
		return fmt.Errorf("%s did not exit %v after SIGTERM", p.name, timeout)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var httpc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// waitHealthy polls url/healthz until 200; it returns the time since start.
func waitHealthy(t *testing.T, p *proc, url string, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited before becoming healthy: %v\n%s", p.name, p.waitErr, p.out.String())
		}
		resp, err := httpc.Get(url + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.started)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%s not healthy after %v", p.name, timeout)
	return 0
}

// hubNode is a restartable hub at a fixed address and data dir.
type hubNode struct {
	t    *testing.T
	bin  string
	env  []string
	addr string
	dir  string
	p    *proc
}

func newHub(t *testing.T, bin string, extraEnv ...string) *hubNode {
	h := &hubNode{t: t, bin: bin, addr: freeAddr(t), dir: t.TempDir(), env: extraEnv}
	h.start()
	return h
}

func (h *hubNode) url() string { return "http://" + h.addr }

func (h *hubNode) start() {
	h.t.Helper()
	env := append([]string{"HUB_LISTEN=" + h.addr, "HUB_DATA_DIR=" + h.dir, "HUB_LOG_LEVEL=warn"}, h.env...)
	h.p = startProc(h.t, "cloud-hub", h.bin, env)
	waitHealthy(h.t, h.p, h.url(), 10*time.Second)
}

// edgeNode is a restartable edge agent at a fixed address and data dir.
type edgeNode struct {
	t     *testing.T
	bin   string
	node  string
	env   []string
	addr  string
	dir   string
	cloud string
	p     *proc
}

func newEdge(t *testing.T, bin, node, cloudURL string, extraEnv ...string) *edgeNode {
	e := &edgeNode{t: t, bin: bin, node: node, cloud: cloudURL, addr: freeAddr(t), dir: t.TempDir(), env: extraEnv}
	e.start()
	return e
}

func (e *edgeNode) url() string { return "http://" + e.addr }

func (e *edgeNode) start() time.Duration {
	e.t.Helper()
	env := append([]string{
		"EDGE_NODE_ID=" + e.node, "EDGE_LISTEN=" + e.addr, "CLOUD_URL=" + e.cloud,
		"EDGE_DATA_DIR=" + e.dir, "EDGE_LOG_LEVEL=warn",
	}, e.env...)
	e.p = startProc(e.t, "edge-agent "+e.node, e.bin, env)
	return waitHealthy(e.t, e.p, e.url(), 10*time.Second)
}

type status struct {
	Node          string  `json:"node"`
	Mode          string  `json:"mode"`
	Pending       int     `json:"pending"`
	LastSyncAt    *string `json:"lastSyncAt"`
	ConfigVersion int64   `json:"configVersion"`
}

func getJSON(url string, v any) error {
	resp, err := httpc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", url, err)
	}
	return nil
}

func (e *edgeNode) status() (status, error) {
	var s status
	err := getJSON(e.url()+"/v1/status", &s)
	return s, err
}

func putConfig(t *testing.T, hubURL string, data any) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": data})
	req, _ := http.NewRequest(http.MethodPut, hubURL+"/v1/config", bytes.NewReader(body))
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("PUT config: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Version int64 `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT config: %s %v", resp.Status, err)
	}
	return out.Version
}

// ledger reads every hub row of node (all pages) and counts rows per id.
func ledger(hubURL, node string) (map[string]int, int, error) {
	counts := map[string]int{}
	rows, after := 0, ""
	for {
		var page struct {
			Records []struct {
				Node string `json:"node"`
				ID   string `json:"id"`
				Row  int64  `json:"row"`
			} `json:"records"`
			Next *string `json:"next"`
		}
		u := hubURL + "/v1/records?limit=10000&node=" + node
		if after != "" {
			u += "&after=" + after
		}
		if err := getJSON(u, &page); err != nil {
			return nil, 0, err
		}
		for _, r := range page.Records {
			counts[r.ID]++
			rows++
		}
		if page.Next == nil {
			return counts, rows, nil
		}
		after = *page.Next
	}
}

// history is the client's view of its writes (Jepsen "set" style).
type history struct {
	mu      sync.Mutex
	acked   map[string]uint64 // id -> seq the edge acknowledged
	maybe   map[string]bool   // no answer: indeterminate
	payload map[string]string
	failed  int         // definite non-2xx answers
	codes   map[int]int // status code histogram
	seqBad  []string    // retries answered with another seq
}

func newHistory() *history {
	return &history{acked: map[string]uint64{}, maybe: map[string]bool{}, payload: map[string]string{}, codes: map[int]int{}}
}

// write POSTs one record and records the outcome.
func (h *history) write(ctx context.Context, edgeURL, id string) {
	h.mu.Lock()
	body, ok := h.payload[id]
	if !ok {
		body = fmt.Sprintf(`{"id":%q,"ts":%d,"payload":{"v":%q,"n":[1,2,3]}}`, id, time.Now().UnixMilli(), id)
		h.payload[id] = body
	}
	h.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, edgeURL+"/v1/records", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if _, done := h.acked[id]; !done {
			h.maybe[id] = true
		}
		return
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
		resp.Body.Close()
	}()
	h.codes[resp.StatusCode]++
	var out struct {
		Seq uint64 `json:"seq"`
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			h.maybe[id] = true
			return
		}
		if prev, done := h.acked[id]; done && prev != out.Seq {
			h.seqBad = append(h.seqBad, fmt.Sprintf("%s: seq %d then %d", id, prev, out.Seq))
		}
		h.acked[id] = out.Seq
		delete(h.maybe, id)
		return
	}
	h.failed++
}

// writeN writes n fresh ids prefix-0..n-1 with conc writers.
func (h *history) writeN(edgeURL, prefix string, n, conc int) {
	ids := make(chan string)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for id := range ids {
				h.write(context.Background(), edgeURL, id)
			}
		})
	}
	for i := range n {
		ids <- prefix + "-" + strconv.Itoa(i)
	}
	close(ids)
	wg.Wait()
}

// verdict compares the history with the ledger.
type verdict struct {
	lost, dup, unknown []string
	rows               int
}

func (v verdict) String() string {
	f := func(s []string) string {
		if len(s) > 5 {
			return fmt.Sprintf("%v…(%d)", s[:5], len(s))
		}
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("rows=%d lost=%s duplicated=%s unknown=%s", v.rows, f(v.lost), f(v.dup), f(v.unknown))
}

func (h *history) check(counts map[string]int, rows int) verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := verdict{rows: rows}
	for id := range h.acked {
		if counts[id] == 0 {
			v.lost = append(v.lost, id)
		}
	}
	for id, n := range counts {
		if n > 1 {
			v.dup = append(v.dup, id)
		}
		if _, ok := h.acked[id]; !ok && !h.maybe[id] {
			v.unknown = append(v.unknown, id)
		}
	}
	return v
}

func (h *history) ackedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.acked)
}

// converge waits until every acknowledged id is in the ledger and the edge
// reports nothing pending, then waits settle and returns the final verdict.
func converge(e *edgeNode, hubURL string, h *history, timeout, settle time.Duration) (verdict, bool, time.Duration) {
	start := time.Now()
	var v verdict
	ok := false
	for time.Since(start) < timeout {
		counts, rows, err := ledger(hubURL, e.node)
		if err == nil {
			v = h.check(counts, rows)
			if s, err := e.status(); err == nil && s.Pending == 0 && len(v.lost) == 0 {
				ok = true
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(settle)
	if counts, rows, err := ledger(hubURL, e.node); err == nil {
		v = h.check(counts, rows)
	}
	return v, ok, took
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), errors.New("timed out")
}

// metric reads one unlabelled sample from a Prometheus text endpoint.
func metric(url, name string) (float64, error) {
	resp, err := httpc.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found at %s", name, url)
}
