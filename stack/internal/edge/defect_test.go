package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/edgechaos/edgechaos/stack/internal/hub"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// Each test runs the reference (Defects{}) and one defect. In the reference
// build the defect switch is inert and both behave like the reference; in
// the defects build (-tags defects) the defect shows its intended flaw.

func post(t *testing.T, url, id, payload string) int {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"ts":1,"payload":%s}`, id, payload)
	resp, err := http.Post(url+"/v1/records", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func getCode(t *testing.T, url, id string) int {
	t.Helper()
	resp, err := http.Get(url + "/v1/records/" + id)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// cachestat(2) (Linux 6.5): page-cache state of a file range.
type cachestatRange struct{ off, len uint64 }
type cachestat struct{ cache, dirty, writeback, evicted, recentlyEvicted uint64 }

const sysCachestat = 451

// dirtyPages is the number of pages of path written but not yet on disk:
// exactly what a power cut would lose.
func dirtyPages(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == 0x01021994 { // TMPFS_MAGIC: pages are never written back there
		t.Fatalf("%s is on tmpfs: set TMPDIR to a directory on a disk filesystem", path)
	}
	var rng cachestatRange
	var cs cachestat
	if _, _, e := syscall.Syscall6(sysCachestat, f.Fd(), uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&cs)), 0, 0, 0); e != 0 {
		t.Fatalf("cachestat %s: %v (needs Linux 6.5 or later)", path, e)
	}
	return cs.dirty
}

func TestAckBeforeFsyncLeavesAcknowledgedWritesInThePageCache(t *testing.T) {
	payload := `{"blob":"` + strings.Repeat("x", 8000) + `"}`
	for _, tc := range []struct {
		name string
		def  Defects
		lose bool
	}{
		{"reference", Defects{}, false},
		{"ack-before-fsync", Defects{ackBeforeFsync: true}, defectsBuild},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, url := startAgent(t, nil, tc.def, dir)
			for i := range 5 {
				if code := post(t, url, fmt.Sprintf("r%d", i), payload); code != http.StatusCreated {
					t.Fatalf("write r%d: %d", i, code)
				}
			}
			dirty := dirtyPages(t, filepath.Join(dir, "edge.db"))
			if lose := dirty > 0; lose != tc.lose {
				t.Fatalf("%d dirty pages of edge.db after 5 acknowledged writes; want lost-on-power-cut=%v", dirty, tc.lose)
			}
		})
	}
}

// mountTmpfs mounts a tmpfs of size at a new directory (root only).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the disk-full test mounts a size-limited tmpfs: run it as root (sudo go test ./internal/edge)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mount tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestShouldRefuseWritesCleanlyWhenTheDiskIsFull(t *testing.T) {
	payload := `{"blob":"` + strings.Repeat("y", 16000) + `"}`
	for _, tc := range []struct {
		name string
		def  Defects
		drop bool
	}{
		{"reference", Defects{}, false},
		{"drop-on-full", Defects{dropOnFull: true}, defectsBuild},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mountTmpfs(t, "512k")
			_, url := startAgent(t, nil, tc.def, dir)
			var acked []string
			var full string
			for i := range 200 {
				id := fmt.Sprintf("f%d", i)
				code := post(t, url, id, payload)
				if code == http.StatusCreated && getCode(t, url, id) == http.StatusOK {
					acked = append(acked, id)
					continue
				}
				full = id
				if tc.drop {
					if code != http.StatusCreated || getCode(t, url, id) != http.StatusNotFound {
						t.Fatalf("drop-on-full: %s answered %d; want a 201 for a record that is not stored", id, code)
					}
					return
				}
				if code != http.StatusInsufficientStorage {
					t.Fatalf("write %s on a full disk answered %d, want 507", id, code)
				}
				break
			}
			if full == "" || len(acked) == 0 {
				t.Fatalf("the 512k tmpfs never filled (%d acknowledged)", len(acked))
			}
			// No side effect, reads go on, retries of stored ids are still 200.
			if code := getCode(t, url, full); code != http.StatusNotFound {
				t.Fatalf("refused %s is readable (%d): the refusal had a side effect", full, code)
			}
			for _, id := range acked {
				if code := getCode(t, url, id); code != http.StatusOK {
					t.Fatalf("acknowledged %s unreadable on a full disk: %d", id, code)
				}
			}
			if code := post(t, url, acked[0], payload); code != http.StatusOK {
				t.Fatalf("retry of acknowledged %s on a full disk: %d, want 200", acked[0], code)
			}
			if s := getStatus(t, url); s.Pending != uint64(len(acked)) {
				t.Fatalf("pending = %d, want the %d acknowledged", s.Pending, len(acked))
			}
			// Space returns: the refused write now succeeds.
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=8m"); err != nil {
				t.Fatal(err)
			}
			if code := post(t, url, full, payload); code != http.StatusCreated {
				t.Fatalf("write %s after space returned: %d, want 201", full, code)
			}
			if code := getCode(t, url, full); code != http.StatusOK {
				t.Fatalf("%s unreadable after it was stored: %d", full, code)
			}
		})
	}
}

// resetOnce serves the hub, but resets the connection of the first sync
// request after part of its body arrived: a lossy link cutting a batch.
type resetOnce struct {
	h     http.Handler
	syncs atomic.Int64
}

func (r *resetOnce) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == wire.SyncPath && r.syncs.Add(1) == 1 {
		_, _ = io.ReadFull(req.Body, make([]byte, 8))
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
		return
	}
	r.h.ServeHTTP(w, req)
}

func TestSyncGiveUpStopsSyncingAfterAResetMidBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		def    Defects
		giveUp bool
	}{
		{"reference", Defects{}, false},
		{"sync-give-up", Defects{syncGiveUp: true}, defectsBuild},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := hub.OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			h := &resetOnce{h: hub.NewServer(hub.Config{MaxSyncBytes: 64 << 20}, st, quiet).Handler()}
			srv := &http.Server{Handler: h}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			a, url := startAgent(t, map[string]string{
				"EDGE_MODE": "auto", "CLOUD_URL": "http://" + ln.Addr().String(),
				"EDGE_BACKOFF_MAX_MS": "100", "EDGE_HEARTBEAT_MS": "100", "EDGE_SYNC_LINGER_MS": "0",
			}, tc.def, "")
			for i := range 10 {
				if code := post(t, url, fmt.Sprintf("s%d", i), `{}`); code != http.StatusCreated {
					t.Fatalf("write s%d: %d", i, code)
				}
			}
			if !tc.giveUp {
				waitUntil(t, "sync after the reset", func() bool { return getStatus(t, url).Pending == 0 })
				if st.Rows() != 10 || h.syncs.Load() < 2 {
					t.Fatalf("hub rows %d after %d sync requests, want 10 after a retry", st.Rows(), h.syncs.Load())
				}
				return
			}
			waitUntil(t, "the uplink to give up", a.up.gaveUp.Load)
			if p := getStatus(t, url).Pending; p != 10 || h.syncs.Load() != 1 || st.Rows() != 0 {
				t.Fatalf("after giving up: pending %d, %d sync requests, %d hub rows; want 10, 1, 0", p, h.syncs.Load(), st.Rows())
			}
		})
	}
}

func TestWallClockOrderLosesRecordsWrittenAfterTheClockSteppedBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  bool
		lose bool
	}{
		{"reference", false, false},
		{"wall-clock-order", true, defectsBuild},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t, t.TempDir())
			defer s.Close()
			clock := uint64(1_700_000_000_000_000) // unix µs
			if tc.def {
				s.(*boltStore).wallSeq = func() uint64 { clock++; return clock }
			}
			for _, id := range []string{"a", "b", "c"} {
				if _, err := s.Put(rec(id, `1`)); err != nil {
					t.Fatal(err)
				}
			}
			// The uplink sends everything and persists the hub's ack.
			last, n, err := s.ReadBatch(s.Cursor(), 100, 1<<20, func([]byte) error { return nil })
			if err != nil || n != 3 {
				t.Fatalf("first batch: %d records, %v", n, err)
			}
			if err := s.Ack(last, time.Now()); err != nil {
				t.Fatal(err)
			}
			clock -= 60_000_000 // NTP steps the clock back a minute
			for _, id := range []string{"d", "e"} {
				if _, err := s.Put(rec(id, `2`)); err != nil {
					t.Fatal(err)
				}
			}
			var sent []string
			_, _, err = s.ReadBatch(s.Cursor(), 100, 1<<20, func(doc []byte) error {
				sent = append(sent, string(doc))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if lost := len(sent) == 0; lost != tc.lose || (!lost && len(sent) != 2) {
				t.Fatalf("records after the step back still to sync: %d (%q); want lost=%v", len(sent), sent, tc.lose)
			}
		})
	}
}
