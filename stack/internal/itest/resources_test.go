package itest

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// procStats reads VmRSS (bytes) and user+system CPU time of pid from /proc.
func procStats(pid int) (rss int64, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("parse VmRSS: %w", err)
			}
			rss = kb << 10
		}
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read stat: %w", err)
	}
	// Fields after the ")" that closes the command name; utime and stime
	// are fields 14 and 15 of the whole line, in clock ticks (100 Hz).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("parse cpu times: %v %v", err1, err2)
	}
	return rss, time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func TestStartupAndResourceDefects(t *testing.T) {
	needBinaries(t)
	tests := []struct {
		name  string
		bin   func() string
		env   []string
		check func(t *testing.T, start time.Duration, rss int64, cpu time.Duration)
	}{
		{"reference starts fast and idles small", func() string { return bins.edge }, nil,
			func(t *testing.T, start time.Duration, rss int64, cpu time.Duration) {
				if start > time.Second || rss > 40<<20 || cpu > 150*time.Millisecond {
					t.Errorf("start %v, RSS %d MiB, CPU %v over 1 s idle", start, rss>>20, cpu)
				}
			}},
		{"slow-start is late to /healthz", func() string { return bins.edgeDefects }, []string{"EDGE_DEFECT=slow-start"},
			func(t *testing.T, start time.Duration, _ int64, _ time.Duration) {
				if start < 1500*time.Millisecond {
					t.Errorf("first 200 after %v, want >= 1.5 s", start)
				}
			}},
		{"bloat holds memory and burns CPU", func() string { return bins.edgeDefects }, []string{"EDGE_DEFECT=bloat"},
			func(t *testing.T, _ time.Duration, rss int64, cpu time.Duration) {
				// Lenient on CPU: other work on a busy test machine takes its share.
				if rss < 140<<20 || cpu < 300*time.Millisecond {
					t.Errorf("RSS %d MiB, CPU %v over 1 s; want >= 140 MiB and >= 0.3 s", rss>>20, cpu)
				}
			}},
	}
	hub := newHub(t, bins.hub)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &edgeNode{t: t, bin: tt.bin(), node: "r1", cloud: hub.url(), addr: freeAddr(t), dir: t.TempDir(), env: tt.env}
			start := e.start()
			_, cpu0, err := procStats(e.p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			rss, cpu1, err := procStats(e.p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("start %v, RSS %.1f MiB, CPU %v over 1 s", start, float64(rss)/(1<<20), cpu1-cpu0)
			tt.check(t, start, rss, cpu1-cpu0)
		})
	}
}

// countingProxy forwards TCP to target and counts client→server bytes: the
// edge's uplink traffic as a link counter would see it. It can throttle the
// uplink (rate, bytes/s) and black-hole both directions like a DROP rule.
type countingProxy struct {
	ln        net.Listener
	sent      atomic.Int64
	blackhole atomic.Bool
	wg        sync.WaitGroup
	rate      int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	return newThrottledProxy(t, target, 0)
}

// pipe copies src to dst chunk by chunk, dropping chunks while black-holed
// and pacing them at rate bytes/s when rate > 0; it returns the bytes passed.
func (p *countingProxy) pipe(dst io.Writer, src io.Reader, rate int) int64 {
	buf := make([]byte, 1024)
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackhole.Load() {
			if rate > 0 {
				time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total
			}
			total += int64(n)
		}
		if err != nil {
			return total
		}
	}
}

func newThrottledProxy(t *testing.T, target string, rate int) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, rate: rate}
	var mu sync.Mutex
	var conns []net.Conn
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			p.wg.Go(func() { p.sent.Add(p.pipe(u, c, rate)); u.Close() })
			p.wg.Go(func() { p.pipe(c, u, 0); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) url() string { return "http://" + p.ln.Addr().String() }

func TestChattyDefectCostsWireBytes(t *testing.T) {
	needBinaries(t)
	perRecord := map[string]float64{}
	tests := []struct {
		name string
		bin  func() string
		env  []string
	}{
		{"reference", func() string { return bins.edge }, nil},
		{"chatty", func() string { return bins.edgeDefects }, []string{"EDGE_DEFECT=chatty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := newHub(t, bins.hub)
			proxy := newCountingProxy(t, hub.addr)
			edge := newEdge(t, tt.bin(), "c1", proxy.url(), tt.env...)
			h := newHistory()
			var took time.Duration
			// Five waves, each synced before the next: a stack that re-sends
			// its whole outbox pays for every earlier wave again.
			for wave := range 5 {
				h.writeN(edge.url(), fmt.Sprintf("c%d", wave), 30, 4)
				v, ok, d := converge(edge, hub.url(), h, 20*time.Second, 0)
				if !ok || len(v.lost)+len(v.dup)+len(v.unknown) != 0 {
					t.Fatalf("wave %d: want exactly-once (hub dedupe), got %s converged=%v", wave, v, ok)
				}
				took += d
			}
			edge.p.kill9() // close its connections so the proxy counts settle
			time.Sleep(50 * time.Millisecond)
			perRecord[tt.name] = float64(proxy.sent.Load()) / 150
			t.Logf("%s: %.0f uplink wire bytes per record, converged in %v", tt.name, perRecord[tt.name], took)
		})
	}
	if perRecord["chatty"] < 5*perRecord["reference"] {
		t.Errorf("chatty %.0f B/record vs reference %.0f B/record: want at least 5x", perRecord["chatty"], perRecord["reference"])
	}
}

// TestSlowLinkConverges queues records while the hub is down, then heals it
// behind a 40 KB/s link with a 400 ms request timeout: a full batch cannot
// cross in time, so the agent must shrink its batches to make progress.
func TestSlowLinkConverges(t *testing.T) {
	needBinaries(t)
	hub := newHub(t, bins.hub)
	proxy := newThrottledProxy(t, hub.addr, 40_000)
	edge := newEdge(t, bins.edge, "s1", proxy.url(), "EDGE_CLOUD_TIMEOUT_MS=400", "EDGE_BACKOFF_MAX_MS=200")
	hub.p.kill9()
	h := newHistory()
	h.writeN(edge.url(), "slow", 6000, 16)
	hub.start()
	v, ok, took := converge(edge, hub.url(), h, 30*time.Second, 0)
	errs, _ := metric(edge.url(), "edge_sync_errors_total")
	batches, _ := metric(edge.url(), "edge_sync_batches_total")
	t.Logf("%s; converged=%v in %v; %.0f sync errors, %.0f batches", v, ok, took, errs, batches)
	if !ok || len(v.lost)+len(v.dup)+len(v.unknown) != 0 {
		t.Fatalf("not converged exactly once over the slow link: %s", v)
	}
}

// TestSilentPartitionIsDetectedAndHealed black-holes the edge↔hub link (no
// RST, no FIN: what a DROP rule does): the agent must report offline while
// serving locally, and after heal deliver the backlog and the config
// published meanwhile within seconds, not after its request timeouts.
func TestSilentPartitionIsDetectedAndHealed(t *testing.T) {
	needBinaries(t)
	hub := newHub(t, bins.hub)
	proxy := newCountingProxy(t, hub.addr)
	edge := newEdge(t, bins.edge, "d1", proxy.url())
	h := newHistory()
	h.writeN(edge.url(), "pre", 100, 4)
	if v, ok, _ := converge(edge, hub.url(), h, 10*time.Second, 0); !ok {
		t.Fatalf("no initial sync: %s", v)
	}

	proxy.blackhole.Store(true)
	cut := time.Now()
	h.writeN(edge.url(), "cut", 100, 4)
	if h.ackedCount() != 200 {
		t.Fatalf("writes during the silent partition: %d of 100 acknowledged", h.ackedCount()-100)
	}
	detect, err := waitFor(8*time.Second, func() bool { s, err := edge.status(); return err == nil && s.Mode == "offline" })
	if err != nil {
		t.Fatalf("status.mode still online %v into a silent partition", time.Since(cut))
	}
	version := putConfig(t, hub.url(), "during-cut")
	time.Sleep(time.Second)

	proxy.blackhole.Store(false)
	v, ok, took := converge(edge, hub.url(), h, 15*time.Second, 0)
	cfgTook, cfgErr := waitFor(15*time.Second, func() bool { s, err := edge.status(); return err == nil && s.ConfigVersion == version })
	t.Logf("offline detected after %v; after heal: records converged=%v in %v (%s), config v%d in %v", detect, ok, took, v, version, cfgTook)
	if !ok || len(v.lost)+len(v.dup)+len(v.unknown) != 0 {
		t.Fatalf("not converged exactly once after heal: %s", v)
	}
	if took > 5*time.Second || cfgErr != nil || cfgTook > 5*time.Second {
		t.Fatalf("recovery too slow: records %v, config %v (%v)", took, cfgTook, cfgErr)
	}
}
