package edge

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgechaos/edgechaos/stack/internal/boltx"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// ErrConflict means the id exists with a different ts or payload (HTTP 409).
var ErrConflict = errors.New("record id already exists with different content")

// PutResult tells whether Put created the record or found an identical one.
type PutResult struct {
	Seq     uint64
	Created bool
}

// Store is the node-local durable state: records by id, the outbox by seq,
// the acked cursor and the config held.
type Store interface {
	// Put stores r durably and returns its seq; idempotent on r.ID.
	Put(r Record) (PutResult, error)
	// Get returns the stored doc of id.
	Get(id string) (doc []byte, seq uint64, found bool, err error)
	// ReadBatch calls fn with the docs of seq in (after, ...], at most
	// maxRecords of them and about maxBytes; doc is only valid during fn.
	ReadBatch(after uint64, maxRecords, maxBytes int, fn func(doc []byte) error) (last uint64, n int, err error)
	// Ack durably sets the acked cursor and the time of the last sync.
	Ack(cursor uint64, at time.Time) error
	LastSeq() uint64
	Cursor() uint64
	LastSync() time.Time
	Config() wire.Config
	SetConfig(c wire.Config) error
	Close() error
}

var (
	bucketLog  = []byte("log")  // seq (8 bytes BE) -> doc
	bucketIDs  = []byte("ids")  // id -> seq (8 bytes BE)
	bucketMeta = []byte("meta") // keyCursor, keyLastSync, keyConfig
	keyCursor  = []byte("cursor")
	keyLastSyn = []byte("lastSync")
	keyConfig  = []byte("config")
)

type boltStore struct {
	db       *bolt.DB
	lastSeq  atomic.Uint64
	cursor   atomic.Uint64
	lastSync atomic.Int64 // unix ms, 0 = never
	config   atomic.Pointer[wire.Config]
	// wallSeq, set only by the wall-clock-order defect, replaces the
	// outbox counter with a clock reading.
	wallSeq func() uint64
}

// OpenBoltStore opens (creating if needed) the store in dir. commitDelay is
// the group-commit window of db.Batch.
func OpenBoltStore(dir string, commitDelay time.Duration) (Store, error) {
	s := &boltStore{}
	db, err := boltx.Open(dir, "edge.db", [][]byte{bucketLog, bucketIDs, bucketMeta}, func(tx *bolt.Tx) error {
		s.lastSeq.Store(tx.Bucket(bucketLog).Sequence())
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyCursor); len(v) == 8 {
			s.cursor.Store(binary.BigEndian.Uint64(v))
		}
		if v := meta.Get(keyLastSyn); len(v) == 8 {
			s.lastSync.Store(int64(binary.BigEndian.Uint64(v)))
		}
		c := wire.Config{}
		if v := meta.Get(keyConfig); v != nil {
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode stored config: %w", err)
			}
		}
		s.config.Store(&c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = commitDelay
	db.MaxBatchSize = 1000
	s.db = db
	return s, nil
}

func be8(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func (s *boltStore) lookup(r Record) (PutResult, bool, error) {
	var res PutResult
	var found bool
	var err error
	verr := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(r.ID))
		if k == nil {
			return nil
		}
		found = true
		res.Seq = binary.BigEndian.Uint64(k)
		same, e := sameContent(tx.Bucket(bucketLog).Get(k), r)
		if e != nil {
			return e
		}
		if !same {
			err = ErrConflict
		}
		return nil
	})
	if verr != nil {
		return res, true, fmt.Errorf("lookup %q: %w", r.ID, verr)
	}
	return res, found, err
}

func (s *boltStore) Put(r Record) (PutResult, error) {
	// Fast path for retries: no write transaction needed.
	if res, found, err := s.lookup(r); found || err != nil {
		return res, err
	}
	var res PutResult
	var conflict bool
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this function more than once: reset the outputs.
		res, conflict = PutResult{}, false
		ids := tx.Bucket(bucketIDs)
		lg := tx.Bucket(bucketLog)
		if k := ids.Get([]byte(r.ID)); k != nil {
			same, err := sameContent(lg.Get(k), r)
			if err != nil {
				return err
			}
			res.Seq, conflict = binary.BigEndian.Uint64(k), !same
			return nil
		}
		seq, err := lg.NextSequence()
		if err != nil {
			return fmt.Errorf("next seq: %w", err)
		}
		if defectsBuild && s.wallSeq != nil {
			// The defect: order by the clock. Keep the bucket's sequence at
			// the highest key so LastSeq survives a restart.
			seq = s.wallSeq()
			if err := lg.SetSequence(max(seq, lg.Sequence()-1)); err != nil {
				return fmt.Errorf("set seq: %w", err)
			}
		}
		key := be8(seq)
		if err := lg.Put(key, encodeDoc(seq, r)); err != nil {
			return fmt.Errorf("put log %d: %w", seq, err)
		}
		if err := ids.Put([]byte(r.ID), key); err != nil {
			return fmt.Errorf("put id %q: %w", r.ID, err)
		}
		res = PutResult{Seq: seq, Created: true}
		return nil
	})
	if err != nil {
		return PutResult{}, fmt.Errorf("commit record %q: %w", r.ID, err)
	}
	if conflict {
		return res, ErrConflict
	}
	if res.Created {
		for {
			cur := s.lastSeq.Load()
			if res.Seq <= cur || s.lastSeq.CompareAndSwap(cur, res.Seq) {
				break
			}
		}
	}
	return res, nil
}

func (s *boltStore) Get(id string) ([]byte, uint64, bool, error) {
	var doc []byte
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(id))
		if k == nil {
			return nil
		}
		seq = binary.BigEndian.Uint64(k)
		v := tx.Bucket(bucketLog).Get(k)
		if v == nil {
			return fmt.Errorf("index points at missing seq %d", seq)
		}
		doc = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("get %q: %w", id, err)
	}
	return doc, seq, doc != nil, nil
}

func (s *boltStore) ReadBatch(after uint64, maxRecords, maxBytes int, fn func(doc []byte) error) (uint64, int, error) {
	var last uint64
	var n, size int
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(be8(after + 1)); k != nil && n < maxRecords && (n == 0 || size+len(v) <= maxBytes); k, v = c.Next() {
			if err := fn(v); err != nil {
				return err
			}
			last = binary.BigEndian.Uint64(k)
			n++
			size += len(v) + 1
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read batch after %d: %w", after, err)
	}
	return last, n, nil
}

func (s *boltStore) Ack(cursor uint64, at time.Time) error {
	ms := at.UnixMilli()
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyCursor, be8(cursor)); err != nil {
			return err
		}
		return meta.Put(keyLastSyn, be8(uint64(ms)))
	})
	if err != nil {
		return fmt.Errorf("persist cursor %d: %w", cursor, err)
	}
	s.cursor.Store(cursor)
	s.lastSync.Store(ms)
	return nil
}

func (s *boltStore) LastSeq() uint64 { return s.lastSeq.Load() }
func (s *boltStore) Cursor() uint64  { return s.cursor.Load() }

func (s *boltStore) LastSync() time.Time {
	if ms := s.lastSync.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

func (s *boltStore) Config() wire.Config { return *s.config.Load() }

func (s *boltStore) SetConfig(c wire.Config) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config v%d: %w", c.Version, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyConfig, b) }); err != nil {
		return fmt.Errorf("persist config v%d: %w", c.Version, err)
	}
	s.config.Store(&c)
	return nil
}

func (s *boltStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
