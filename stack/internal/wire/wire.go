// Package wire defines the edge↔hub sync protocol shared by the agent and the hub.
//
// Uplink: the edge POSTs a batch of records (strictly increasing seq, all after
// its durable acked cursor) to SyncPath as JSON, gzip-compressed
// (Content-Encoding: gzip). The hub stores the batch in one durable
// transaction, deduplicating on (node, id), and answers with the highest seq
// of the batch; the edge then persists that as its new cursor. A batch cut at
// any point is simply resent: the hub skips the rows it already holds. The
// request carries an Idempotency-Key header (node:firstSeq-lastSeq) so that
// HTTP clients may replay it on a fresh connection by themselves.
//
// Downlink: the edge long-polls ConfigPath?after=<held version>&wait=<dur>; the
// hub answers as soon as it holds a newer version (or when wait expires, with
// the current one).
package wire

import (
	"encoding/json"
	"strconv"
)

// Paths and headers of the protocol.
const (
	SyncPath   = "/v1/sync"
	ConfigPath = "/v1/config"
	HealthPath = "/healthz"
	// NodeHeader repeats the node id so proxies and logs can see it cheaply.
	NodeHeader = "X-Edge-Node"
)

// SyncRecord is one record in a sync batch.
type SyncRecord struct {
	Seq     uint64          `json:"seq"`
	ID      string          `json:"id"`
	TS      int64           `json:"ts"`
	Payload json.RawMessage `json:"payload"`
}

// SyncRequest is the (decompressed) body of a sync POST.
type SyncRequest struct {
	Node    string       `json:"node"`
	Records []SyncRecord `json:"records"`
}

// SyncResponse acknowledges a batch: every record with seq <= Acked is durable
// in the hub.
type SyncResponse struct {
	Acked    uint64 `json:"acked"`
	Stored   int    `json:"stored"`
	Deduped  int    `json:"deduped"`
	Received int    `json:"received"`
}

// Config is a versioned config/model document. Version 0 means none.
type Config struct {
	Version int64           `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// AppendRecordFields appends the fields a record keeps in every stored and synced form,
// `,"id":<id>,"ts":<ts>,"payload":<payload>` (payload is raw JSON), to b.
func AppendRecordFields(b []byte, id string, ts int64, payload json.RawMessage) []byte {
	quoted, _ := json.Marshal(id) // marshalling a string cannot fail
	b = append(b, `,"id":`...)
	b = append(b, quoted...)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"payload":`...)
	return append(b, payload...)
}
