// Package hub implements the cloud hub: the durable sync ledger with
// per-node dedupe, and the versioned config the edges long-poll.
package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgechaos/edgechaos/stack/internal/boltx"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

var (
	bucketRows   = []byte("rows")   // row (8 bytes BE) -> row doc
	bucketDedupe = []byte("dedupe") // node 0x00 id -> row
	bucketByNode = []byte("bynode") // node 0x00 row -> nil
	bucketNodes  = []byte("nodes")  // node -> highest seq acked (8 bytes BE)
	bucketMeta   = []byte("meta")
	keyConfig    = []byte("config")
)

// ErrBadBatch marks a sync request the edge must not retry unchanged (HTTP 400).
var ErrBadBatch = errors.New("bad sync batch")

// Store is the hub's durable state.
type Store struct {
	db       *bolt.DB
	noDedupe bool // only settable by the defects build
	rows     atomic.Uint64

	mu      sync.Mutex
	config  wire.Config
	changed chan struct{} // closed and replaced on every new config version
}

// OpenStore opens (creating if needed) the hub store in dir.
func OpenStore(dir string) (*Store, error) {
	s := &Store{changed: make(chan struct{})}
	buckets := [][]byte{bucketRows, bucketDedupe, bucketByNode, bucketNodes, bucketMeta}
	db, err := boltx.Open(dir, "hub.db", buckets, func(tx *bolt.Tx) error {
		s.rows.Store(tx.Bucket(bucketRows).Sequence())
		if v := tx.Bucket(bucketMeta).Get(keyConfig); v != nil {
			if err := json.Unmarshal(v, &s.config); err != nil {
				return fmt.Errorf("decode stored config: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.db = db
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close hub store: %w", err)
	}
	return nil
}

func be8(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// validate checks a decoded batch before any write.
func validate(req *wire.SyncRequest) error {
	if req.Node == "" || strings.IndexByte(req.Node, 0) >= 0 {
		return fmt.Errorf("%w: node must be non-empty and contain no NUL", ErrBadBatch)
	}
	for i, r := range req.Records {
		if r.ID == "" {
			return fmt.Errorf("%w: record %d: empty id", ErrBadBatch, i)
		}
		if len(r.Payload) == 0 {
			return fmt.Errorf("%w: record %q: missing payload", ErrBadBatch, r.ID)
		}
	}
	return nil
}

func rowDoc(node []byte, r wire.SyncRecord, row uint64) []byte {
	b := make([]byte, 0, 66+len(node)+len(r.ID)+len(r.Payload))
	b = append(b, `{"node":`...)
	b = append(b, node...)
	b = wire.AppendRecordFields(b, r.ID, r.TS, r.Payload)
	b = append(b, `,"row":`...)
	b = strconv.AppendUint(b, row, 10)
	return append(b, '}')
}

// Ingest stores a batch in one durable transaction, skipping every (node, id)
// already held, and acknowledges up to the highest seq of the batch.
func (s *Store) Ingest(req *wire.SyncRequest) (wire.SyncResponse, error) {
	resp := wire.SyncResponse{Received: len(req.Records)}
	if err := validate(req); err != nil {
		return resp, err
	}
	nodeJSON, _ := json.Marshal(req.Node)
	prefix := append([]byte(req.Node), 0)
	var last uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		rows, dd, byNode := tx.Bucket(bucketRows), tx.Bucket(bucketDedupe), tx.Bucket(bucketByNode)
		resp.Stored, resp.Deduped, resp.Acked = 0, 0, 0
		for _, r := range req.Records {
			resp.Acked = max(resp.Acked, r.Seq)
			key := append(prefix[:len(prefix):len(prefix)], r.ID...)
			if !(defectsBuild && s.noDedupe) && dd.Get(key) != nil {
				resp.Deduped++
				continue
			}
			row, err := rows.NextSequence()
			if err != nil {
				return fmt.Errorf("next row: %w", err)
			}
			rk := be8(row)
			if err := rows.Put(rk, rowDoc(nodeJSON, r, row)); err != nil {
				return fmt.Errorf("put row %d: %w", row, err)
			}
			if err := dd.Put(key, rk); err != nil {
				return fmt.Errorf("put dedupe key: %w", err)
			}
			if err := byNode.Put(append(prefix[:len(prefix):len(prefix)], rk...), nil); err != nil {
				return fmt.Errorf("put node index: %w", err)
			}
			resp.Stored++
			last = row
		}
		nodes := tx.Bucket(bucketNodes)
		if v := nodes.Get([]byte(req.Node)); len(v) != 8 || binary.BigEndian.Uint64(v) < resp.Acked {
			return nodes.Put([]byte(req.Node), be8(resp.Acked))
		}
		return nil
	})
	if err != nil {
		return wire.SyncResponse{}, fmt.Errorf("ingest %d records from %s: %w", len(req.Records), req.Node, err)
	}
	if last > 0 {
		for {
			cur := s.rows.Load()
			if last <= cur || s.rows.CompareAndSwap(cur, last) {
				break
			}
		}
	}
	return resp, nil
}

// NodeCursor is the highest seq the hub acknowledged to one node.
type NodeCursor struct {
	Node     string `json:"node"`
	AckedSeq uint64 `json:"ackedSeq"`
}

// Nodes lists every node that synced, with its acknowledged cursor.
func (s *Store) Nodes() ([]NodeCursor, error) {
	out := []NodeCursor{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNodes).ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("node %q: bad cursor value", k)
			}
			out = append(out, NodeCursor{Node: string(k), AckedSeq: binary.BigEndian.Uint64(v)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return out, nil
}

// Rows is the number of rows stored.
func (s *Store) Rows() uint64 { return s.rows.Load() }

// List calls emit with the docs of the rows after row `after` in row order,
// restricted to node when non-empty: at most limit rows, and no further row
// once maxBytes of docs were emitted. next is the cursor for the following
// page, 0 when there is no further row now.
func (s *Store) List(node string, after uint64, limit, maxBytes int, emit func(doc []byte) error) (next uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		rows := tx.Bucket(bucketRows)
		n, size := 0, 0
		var last uint64
		// visit handles one row; it reports false when the page is full
		// (and sets next, since this row exists).
		visit := func(rk, doc []byte) (bool, error) {
			if n == limit || size >= maxBytes {
				next = last
				return false, nil
			}
			if err := emit(doc); err != nil {
				return false, err
			}
			last = binary.BigEndian.Uint64(rk)
			n, size = n+1, size+len(doc)
			return true, nil
		}
		if node == "" {
			c := rows.Cursor()
			for k, v := c.Seek(be8(after + 1)); k != nil; k, v = c.Next() {
				if more, err := visit(k, v); !more || err != nil {
					return err
				}
			}
			return nil
		}
		prefix := append([]byte(node), 0)
		c := tx.Bucket(bucketByNode).Cursor()
		for k, _ := c.Seek(append(prefix[:len(prefix):len(prefix)], be8(after+1)...)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rk := k[len(prefix):]
			v := rows.Get(rk)
			if v == nil {
				return fmt.Errorf("node index points at missing row %x", rk)
			}
			if more, err := visit(rk, v); !more || err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list rows after %d: %w", after, err)
	}
	return next, nil
}

// Config returns the current config.
func (s *Store) Config() wire.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config
}

// PublishConfig durably stores data as the next config version.
func (s *Store) PublishConfig(data json.RawMessage) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := wire.Config{Version: s.config.Version + 1, Data: data}
	b, err := json.Marshal(c)
	if err != nil {
		return 0, fmt.Errorf("encode config v%d: %w", c.Version, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyConfig, b) }); err != nil {
		return 0, fmt.Errorf("persist config v%d: %w", c.Version, err)
	}
	s.config = c
	close(s.changed)
	s.changed = make(chan struct{})
	return c.Version, nil
}

// WaitConfig returns the current config as soon as its version exceeds
// after, or when wait expires or ctx ends (then with the current one).
func (s *Store) WaitConfig(ctx context.Context, after int64, wait time.Duration) wire.Config {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		c, ch := s.config, s.changed
		s.mu.Unlock()
		if c.Version > after {
			return c
		}
		select {
		case <-ch:
		case <-timer.C:
			return c
		case <-ctx.Done():
			return c
		}
	}
}
