package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

func rec(id string, payload string) Record {
	return Record{ID: id, TS: 1, Payload: json.RawMessage(payload)}
}

func openTestStore(t *testing.T, dir string) Store {
	t.Helper()
	s, err := OpenBoltStore(dir, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStorePutIsIdempotent(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	steps := []struct {
		name        string
		rec         Record
		wantSeq     uint64
		wantCreated bool
		wantErr     error
	}{
		{"first write", rec("a", `1`), 1, true, nil},
		{"second id", rec("b", `2`), 2, true, nil},
		{"retry of a", rec("a", `1`), 1, false, nil},
		{"a with other payload", rec("a", `9`), 1, false, ErrConflict},
		{"a with other ts", Record{ID: "a", TS: 2, Payload: json.RawMessage(`1`)}, 1, false, ErrConflict},
		{"third id", rec("c", `3`), 3, true, nil},
	}
	for _, st := range steps {
		res, err := s.Put(st.rec)
		if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if res.Seq != st.wantSeq || res.Created != st.wantCreated {
			t.Fatalf("%s: got %+v, want seq %d created %v", st.name, res, st.wantSeq, st.wantCreated)
		}
	}
	if s.LastSeq() != 3 {
		t.Fatalf("LastSeq = %d", s.LastSeq())
	}
}

func TestStoreConcurrentPutsShareCommitsAndKeepSeqsUnique(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	seqs := make([]uint64, 400)
	for i := range 400 {
		wg.Go(func() {
			// Every id is written twice concurrently: one must create, one must find it.
			res, err := s.Put(rec(fmt.Sprintf("id-%d", i/2), `{"k":1}`))
			if err != nil {
				t.Error(err)
			}
			seqs[i] = res.Seq
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i := 0; i < 400; i += 2 {
		if seqs[i] != seqs[i+1] {
			t.Fatalf("id-%d got seqs %d and %d", i/2, seqs[i], seqs[i+1])
		}
		if seen[seqs[i]] {
			t.Fatalf("seq %d assigned twice", seqs[i])
		}
		seen[seqs[i]] = true
	}
	if s.LastSeq() != 200 {
		t.Fatalf("LastSeq = %d, want 200", s.LastSeq())
	}
}

func TestStoreReadBatchLimits(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	for i := range 10 {
		if _, err := s.Put(rec(fmt.Sprintf("r%d", i), `"0123456789"`)); err != nil {
			t.Fatal(err)
		}
	}
	docLen := len(encodeDoc(1, rec("r0", `"0123456789"`)))
	tests := []struct {
		name          string
		after         uint64
		max, maxBytes int
		wantLast      uint64
		wantN         int
	}{
		{"all", 0, 100, 1 << 20, 10, 10},
		{"record cap", 0, 4, 1 << 20, 4, 4},
		{"after cursor", 7, 100, 1 << 20, 10, 3},
		{"byte cap", 0, 100, 3*docLen + 3, 3, 3},
		{"one oversized doc still goes", 0, 100, 1, 1, 1},
		{"nothing after the end", 10, 100, 1 << 20, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var docs []storedDoc
			last, n, err := s.ReadBatch(tt.after, tt.max, tt.maxBytes, func(doc []byte) error {
				var d storedDoc
				if err := json.Unmarshal(doc, &d); err != nil {
					return err
				}
				docs = append(docs, d)
				return nil
			})
			if err != nil || last != tt.wantLast || n != tt.wantN || len(docs) != n {
				t.Fatalf("got last %d n %d (%d docs) err %v; want %d %d", last, n, len(docs), err, tt.wantLast, tt.wantN)
			}
			for i, d := range docs {
				if d.Seq != tt.after+uint64(i)+1 {
					t.Fatalf("doc %d has seq %d", i, d.Seq)
				}
			}
		})
	}
}

func TestStoreStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.Put(rec(id, `true`)); err != nil {
			t.Fatal(err)
		}
	}
	at := time.UnixMilli(1700000000123)
	if err := s.Ack(2, at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConfig(wire.Config{Version: 4, Data: json.RawMessage(`{"m":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	if s.LastSeq() != 3 || s.Cursor() != 2 || !s.LastSync().Equal(at) {
		t.Fatalf("reopened: lastSeq %d cursor %d lastSync %v", s.LastSeq(), s.Cursor(), s.LastSync())
	}
	if c := s.Config(); c.Version != 4 || string(c.Data) != `{"m":"x"}` {
		t.Fatalf("reopened config %+v", c)
	}
	doc, seq, found, err := s.Get("b")
	if err != nil || !found || seq != 2 || string(doc) != `{"seq":2,"id":"b","ts":1,"payload":true}` {
		t.Fatalf("Get(b) = %s %d %v %v", doc, seq, found, err)
	}
	if _, _, found, _ := s.Get("zz"); found {
		t.Fatal("found an unknown id")
	}
	if res, err := s.Put(rec("d", `1`)); err != nil || res.Seq != 4 {
		t.Fatalf("seq after reopen = %d, %v; want 4", res.Seq, err)
	}
}
