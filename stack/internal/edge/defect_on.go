//go:build defects

package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// defectsBuild is true only in test-fixture binaries (-tags defects).
const defectsBuild = true

// LoadDefects reads EDGE_DEFECT, a comma-separated list of defect names.
func LoadDefects(l env.Lookup) (Defects, error) {
	var d Defects
	for _, name := range strings.Split(l.String("EDGE_DEFECT", ""), ",") {
		switch strings.TrimSpace(name) {
		case "":
		case "memory-outbox":
			d.memoryOutbox = true
		case "resend":
			d.resend = true
		case "refuse-offline":
			d.refuseOffline = true
		case "refuse-offline-late":
			d.refuseOfflineLate = true
		case "no-downlink":
			d.noDownlink = true
		case "slow-start":
			d.slowStart = true
		case "bloat":
			d.bloat = true
		case "chatty":
			d.chatty = true
		case "ack-before-fsync":
			d.ackBeforeFsync = true
		case "drop-on-full":
			d.dropOnFull = true
		case "sync-give-up":
			d.syncGiveUp = true
		case "wall-clock-order":
			d.wallClockOrder = true
		default:
			return Defects{}, fmt.Errorf("EDGE_DEFECT: unknown defect %q", name)
		}
	}
	return d, nil
}

// defectStore: memory-outbox keeps everything in memory and acknowledges
// writes that no disk has seen.
func defectStore(d Defects) (Store, error) {
	if d.memoryOutbox {
		return &memStore{ids: map[string]uint64{}}, nil
	}
	return nil, nil
}

func (a *Agent) applyDefects() {
	if a.def.slowStart {
		a.log.Warn("DEFECT slow-start: sleeping 1.5s before serving")
		time.Sleep(1500 * time.Millisecond)
	}
	if a.def.memoryOutbox {
		a.log.Warn("DEFECT memory-outbox: records are acknowledged from memory only")
	}
	for _, w := range []struct {
		on   bool
		what string
	}{
		{a.def.ackBeforeFsync, "ack-before-fsync: writes are acknowledged before any fsync"},
		{a.def.dropOnFull, "drop-on-full: a write the full disk refused is answered 201"},
		{a.def.syncGiveUp, "sync-give-up: the first batch cut mid-flight stops syncing for good"},
		{a.def.wallClockOrder, "wall-clock-order: the outbox is ordered by wall-clock time"},
	} {
		if w.on {
			a.log.Warn("DEFECT " + w.what)
		}
	}
	if a.def.resend {
		a.log.Warn("DEFECT resend: the acked cursor is rewound on every reconnect")
		rs := &resendStore{Store: a.st}
		a.st = rs
		if a.up != nil {
			a.up.st, a.down.st = rs, rs
		}
		a.link.onReconnect = func() {
			rs.epoch.Add(1)
			if err := rs.Store.Ack(0, time.Now()); err != nil {
				a.log.Error("rewind cursor", "err", err)
			}
		}
	}
	if a.def.chatty && a.up != nil {
		a.log.Warn("DEFECT chatty: one uncompressed request per record, full outbox every round")
		a.up.syncFn = a.up.chattySync
	}
	if a.def.bloat {
		a.log.Warn("DEFECT bloat: holding 150 MB and burning every CPU")
		for range 150 {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			a.hold = append(a.hold, b)
		}
		for range runtime.NumCPU() {
			go burn()
		}
	}
}

// burn spins forever; the process exits around it.
func burn() {
	x := uint64(1)
	for {
		for range 1 << 20 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 0 {
			fmt.Print("")
		}
	}
}

// chattySync re-sends the whole outbox, one uncompressed record per request.
func (u *uplink) chattySync(ctx context.Context) error {
	last := u.st.LastSeq()
	for seq := uint64(1); seq <= last; seq++ {
		var doc []byte
		if _, _, err := u.st.ReadBatch(seq-1, 1, 1<<30, func(d []byte) error { doc = slices.Clone(d); return nil }); err != nil {
			return err
		}
		if doc == nil {
			continue
		}
		body := append(append(append([]byte(`{"node":`), u.nodeTag...), `,"records":[`...), doc...)
		body = append(body, "]}"...)
		if _, err := u.post(ctx, body, false, fmt.Sprintf("%s:%d", u.cfg.NodeID, seq)); err != nil {
			return fmt.Errorf("chatty sync seq %d: %w", seq, err)
		}
		u.m.syncBatches.Add(1)
		u.m.syncRecords.Add(1)
	}
	if err := u.st.Ack(last, time.Now()); err != nil {
		return err
	}
	u.link.success()
	return nil
}

// resendStore is the resend defect's store: the cursor goes back to 0 on
// every reconnect, and the acknowledgement of a batch read before that
// rewind is dropped so the rewind sticks (everything is sent again).
type resendStore struct {
	Store
	epoch     atomic.Uint64 // bumped by each rewind
	readEpoch atomic.Uint64 // epoch when the batch being synced was read
}

func (s *resendStore) ReadBatch(after uint64, maxRecords, maxBytes int, fn func([]byte) error) (uint64, int, error) {
	s.readEpoch.Store(s.epoch.Load())
	return s.Store.ReadBatch(after, maxRecords, maxBytes, fn)
}

func (s *resendStore) Ack(cursor uint64, at time.Time) error {
	if s.readEpoch.Load() != s.epoch.Load() {
		return nil
	}
	return s.Store.Ack(cursor, at)
}

// memStore is the memory-outbox defect's store.
type memStore struct {
	mu       sync.Mutex
	ids      map[string]uint64
	docs     [][]byte // index seq-1
	cursor   uint64
	lastSync time.Time
	config   wire.Config
}

func (s *memStore) Put(r Record) (PutResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq, ok := s.ids[r.ID]; ok {
		same, err := sameContent(s.docs[seq-1], r)
		if err != nil {
			return PutResult{}, err
		}
		if !same {
			return PutResult{Seq: seq}, ErrConflict
		}
		return PutResult{Seq: seq}, nil
	}
	seq := uint64(len(s.docs) + 1)
	s.docs = append(s.docs, encodeDoc(seq, r))
	s.ids[r.ID] = seq
	return PutResult{Seq: seq, Created: true}, nil
}

func (s *memStore) Get(id string) ([]byte, uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, ok := s.ids[id]
	if !ok {
		return nil, 0, false, nil
	}
	return slices.Clone(s.docs[seq-1]), seq, true, nil
}

func (s *memStore) ReadBatch(after uint64, maxRecords, maxBytes int, fn func([]byte) error) (uint64, int, error) {
	s.mu.Lock()
	docs := s.docs
	s.mu.Unlock()
	var last uint64
	n, size := 0, 0
	for seq := after + 1; seq <= uint64(len(docs)) && n < maxRecords && (n == 0 || size+len(docs[seq-1]) <= maxBytes); seq++ {
		if err := fn(docs[seq-1]); err != nil {
			return 0, 0, err
		}
		last, n, size = seq, n+1, size+len(docs[seq-1])+1
	}
	return last, n, nil
}

func (s *memStore) Ack(cursor uint64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor, s.lastSync = cursor, at
	return nil
}

func (s *memStore) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.docs))
}

func (s *memStore) Cursor() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

func (s *memStore) LastSync() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSync
}

func (s *memStore) Config() wire.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config
}

func (s *memStore) SetConfig(c wire.Config) error {
	if _, err := json.Marshal(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config = c
	return nil
}

func (s *memStore) Close() error { return nil }
