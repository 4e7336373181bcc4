package hub

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func batch(node string, ids ...string) *wire.SyncRequest {
	req := &wire.SyncRequest{Node: node}
	for i, id := range ids {
		req.Records = append(req.Records, wire.SyncRecord{Seq: uint64(i + 1), ID: id, TS: int64(i), Payload: json.RawMessage(`{"v":1}`)})
	}
	return req
}

func TestIngestDedupesPerNode(t *testing.T) {
	s := openTest(t)
	steps := []struct {
		name                 string
		req                  *wire.SyncRequest
		wantStored, wantDups int
		wantAcked            uint64
		wantErr              error
	}{
		{"new batch", batch("n1", "a", "b", "c"), 3, 0, 3, nil},
		{"resend of the same batch", batch("n1", "a", "b", "c"), 0, 3, 3, nil},
		{"overlapping batch", batch("n1", "c", "d"), 1, 1, 2, nil},
		{"same ids from another node", batch("n2", "a", "b"), 2, 0, 2, nil},
		{"duplicate inside one batch", batch("n3", "x", "x"), 1, 1, 2, nil},
		{"empty node", batch("", "a"), 0, 0, 0, ErrBadBatch},
		{"empty id", batch("n1", ""), 0, 0, 0, ErrBadBatch},
	}
	for _, st := range steps {
		resp, err := s.Ingest(st.req)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
		}
		if err != nil {
			continue
		}
		if resp.Stored != st.wantStored || resp.Deduped != st.wantDups || resp.Acked != st.wantAcked {
			t.Fatalf("%s: got %+v, want stored %d dups %d acked %d", st.name, resp, st.wantStored, st.wantDups, st.wantAcked)
		}
	}
	if s.Rows() != 7 {
		t.Fatalf("rows = %d, want 7", s.Rows())
	}
}

func TestNoDedupeOnlyInDefectsBuild(t *testing.T) {
	s := openTest(t)
	s.noDedupe = true // what HUB_DEFECT=no-dedupe sets in the defects build
	for range 2 {
		if _, err := s.Ingest(batch("n1", "a")); err != nil {
			t.Fatal(err)
		}
	}
	want := uint64(1)
	if defectsBuild {
		want = 2
	}
	if s.Rows() != want {
		t.Fatalf("rows = %d, want %d (defectsBuild=%v)", s.Rows(), want, defectsBuild)
	}
}

func listAll(t *testing.T, s *Store, node string, limit, maxBytes int) ([]string, []uint64) {
	t.Helper()
	var ids []string
	var cursors []uint64
	after := uint64(0)
	for {
		next, err := s.List(node, after, limit, maxBytes, func(doc []byte) error {
			var r struct {
				Node, ID string
				Row      uint64
			}
			if err := json.Unmarshal(doc, &r); err != nil {
				return err
			}
			if node != "" && r.Node != node {
				return fmt.Errorf("row of node %s in listing of %s", r.Node, node)
			}
			ids = append(ids, r.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, next)
		if next == 0 {
			return ids, cursors
		}
		after = next
	}
}

func TestListPaginates(t *testing.T) {
	s := openTest(t)
	for _, req := range []*wire.SyncRequest{batch("n1", "a", "b", "c"), batch("n2", "a", "b"), batch("n1", "d", "e")} {
		if _, err := s.Ingest(req); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name            string
		node            string
		limit, maxBytes int
		wantIDs         string
		wantCursors     string
	}{
		{"all rows in one page", "", 100, 1 << 20, "[a b c a b d e]", "[0]"},
		{"all rows by 3", "", 3, 1 << 20, "[a b c a b d e]", "[3 6 0]"},
		{"exact page boundary", "", 7, 1 << 20, "[a b c a b d e]", "[0]"},
		{"one node by 2", "n1", 2, 1 << 20, "[a b c d e]", "[2 6 0]"},
		{"other node", "n2", 1, 1 << 20, "[a b]", "[4 0]"},
		{"unknown node", "zz", 10, 1 << 20, "[]", "[0]"},
		{"byte cap ends pages early", "", 100, 100, "[a b c a b d e]", "[2 4 6 0]"},
		{"tiny byte cap still returns a row per page", "n1", 100, 1, "[a b c d e]", "[1 2 3 6 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, cursors := listAll(t, s, tt.node, tt.limit, tt.maxBytes)
			if fmt.Sprint(ids) != tt.wantIDs || fmt.Sprint(cursors) != tt.wantCursors {
				t.Fatalf("ids %v cursors %v, want %s %s", ids, cursors, tt.wantIDs, tt.wantCursors)
			}
		})
	}
}

func TestConfigVersionsAndLongPoll(t *testing.T) {
	s := openTest(t)
	if c := s.WaitConfig(context.Background(), 0, 10*time.Millisecond); c.Version != 0 {
		t.Fatalf("empty hub version %d", c.Version)
	}
	got := make(chan wire.Config, 1)
	go func() { got <- s.WaitConfig(context.Background(), 0, 10*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	v, err := s.PublishConfig(json.RawMessage(`{"m":1}`))
	if err != nil || v != 1 {
		t.Fatalf("publish = %d, %v", v, err)
	}
	select {
	case c := <-got:
		if c.Version != 1 || string(c.Data) != `{"m":1}` {
			t.Fatalf("woken with %+v", c)
		}
		t.Logf("long-poll woke %v after publish", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("long-poll not woken by publish")
	}
	if v, _ := s.PublishConfig(json.RawMessage(`2`)); v != 2 {
		t.Fatalf("second version %d", v)
	}
	if c := s.WaitConfig(context.Background(), 1, time.Hour); c.Version != 2 {
		t.Fatalf("after=1 returned v%d", c.Version)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c := s.WaitConfig(ctx, 5, time.Hour); c.Version != 2 {
		t.Fatalf("cancelled wait returned v%d", c.Version)
	}
}

func TestParseWait(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"25s", 25 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"2", 2 * time.Second, false},
		{"5m", MaxWait, false},
		{"-1s", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := parseWait(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseWait(%q) = %v, %v; want %v err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHTTPAPI(t *testing.T) {
	s := openTest(t)
	srv := httptest.NewServer(NewServer(Config{MaxSyncBytes: 4096}, s, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	good := `{"node":"n1","records":[{"seq":1,"id":"a","ts":1,"payload":{"x":1}},{"seq":2,"id":"b","ts":2,"payload":null}]}`
	tests := []struct {
		name, method, path, encoding string
		body                         []byte
		wantStatus                   int
		wantBody                     string
	}{
		{"gzip sync", "POST", "/v1/sync", "gzip", gz(t, good), 200, `{"acked":2,"stored":2,"deduped":0,"received":2}`},
		{"plain resend is deduped", "POST", "/v1/sync", "", []byte(good), 200, `{"acked":2,"stored":0,"deduped":2,"received":2}`},
		{"corrupt gzip", "POST", "/v1/sync", "gzip", []byte("nope"), 400, ""},
		{"unknown encoding", "POST", "/v1/sync", "br", []byte(good), 415, ""},
		{"bad JSON", "POST", "/v1/sync", "", []byte(`{"node":`), 400, ""},
		{"missing node", "POST", "/v1/sync", "", []byte(`{"records":[]}`), 400, ""},
		{"body over the limit", "POST", "/v1/sync", "gzip", gz(t, `{"node":"n1","records":[{"seq":1,"id":"a","ts":1,"payload":"`+string(bytes.Repeat([]byte("x"), 5000))+`"}]}`), 413, ""},
		{"list", "GET", "/v1/records?node=n1", "", nil, 200, `{"records":[{"node":"n1","id":"a","ts":1,"payload":{"x":1},"row":1},{"node":"n1","id":"b","ts":2,"payload":null,"row":2}],"next":null}`},
		{"list page", "GET", "/v1/records?limit=1", "", nil, 200, `{"records":[{"node":"n1","id":"a","ts":1,"payload":{"x":1},"row":1}],"next":"1"}`},
		{"list after", "GET", "/v1/records?after=1&limit=1", "", nil, 200, `{"records":[{"node":"n1","id":"b","ts":2,"payload":null,"row":2}],"next":null}`},
		{"list bad limit", "GET", "/v1/records?limit=0", "", nil, 400, ""},
		{"config empty", "GET", "/v1/config", "", nil, 200, `{"version":0,"data":null}`},
		{"config put", "PUT", "/v1/config", "", []byte(`{"data":{"model":"m"}}`), 200, `{"version":1}`},
		{"config put without data", "PUT", "/v1/config", "", []byte(`{}`), 400, ""},
		{"config get", "GET", "/v1/config?after=0&wait=1s", "", nil, 200, `{"version":1,"data":{"model":"m"}}`},
		{"config bad wait", "GET", "/v1/config?after=0&wait=soon", "", nil, 400, ""},
		{"nodes and their cursors", "GET", "/v1/nodes", "", nil, 200, `{"nodes":[{"node":"n1","ackedSeq":2}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(tt.body))
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantBody != "" && string(bytes.TrimSpace(b)) != tt.wantBody {
				t.Fatalf("body %s\nwant %s", b, tt.wantBody)
			}
		})
	}
	start := time.Now()
	resp, err := srv.Client().Get(srv.URL + "/v1/config?after=1&wait=200ms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("long-poll with nothing new returned after %v", d)
	}
}

func TestLoadConfigLimits(t *testing.T) {
	lk := func(m map[string]string) env.Lookup {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	c, err := LoadConfig(lk(map[string]string{"HUB_MAX_CONNS": "100", "HUB_MAX_BODY_BYTES": "2048"}))
	if err != nil || c.HTTP.MaxConns != 100 || c.MaxBodyBytes != 2048 || c.HTTP.ReadTimeout != 2*time.Minute {
		t.Fatalf("LoadConfig = %+v, %v", c, err)
	}
	// The read deadline also runs during the config long-poll: it must outlast MaxWait.
	if _, err := LoadConfig(lk(map[string]string{"HUB_READ_TIMEOUT_MS": "30000"})); err == nil || !strings.Contains(err.Error(), "HUB_READ_TIMEOUT_MS") {
		t.Fatalf("read timeout below the long-poll accepted: %v", err)
	}
}
