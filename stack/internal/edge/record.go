package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// MaxIDLen is the longest record id accepted, in characters.
const MaxIDLen = 128

// Record is a validated client record; Payload is compact JSON.
type Record struct {
	ID      string
	TS      int64
	Payload json.RawMessage
}

// ErrInvalid marks a request the client must fix (HTTP 400).
var ErrInvalid = errors.New("invalid record")

// ParseRecord decodes and validates a POST /v1/records body.
func ParseRecord(body []byte) (Record, error) {
	var in struct {
		ID      *string         `json:"id"`
		TS      json.RawMessage `json:"ts"`
		Payload json.RawMessage `json:"payload"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return Record{}, fmt.Errorf("%w: bad JSON: %w", ErrInvalid, err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("%w: trailing data after JSON object", ErrInvalid)
	}
	if in.ID == nil {
		return Record{}, fmt.Errorf("%w: missing field id", ErrInvalid)
	}
	if n := utf8.RuneCountInString(*in.ID); n < 1 || n > MaxIDLen {
		return Record{}, fmt.Errorf("%w: id must be 1..%d characters, got %d", ErrInvalid, MaxIDLen, n)
	}
	if len(in.TS) == 0 || string(in.TS) == "null" {
		return Record{}, fmt.Errorf("%w: missing field ts", ErrInvalid)
	}
	ts, err := strconv.ParseInt(string(in.TS), 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("%w: ts must be an integer (unix ms): %s", ErrInvalid, in.TS)
	}
	if len(in.Payload) == 0 {
		return Record{}, fmt.Errorf("%w: missing field payload", ErrInvalid)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, in.Payload); err != nil {
		return Record{}, fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	return Record{ID: *in.ID, TS: ts, Payload: compact.Bytes()}, nil
}

// encodeDoc renders the stored form of a record, which is also its sync form:
// {"seq":N,"id":"...","ts":T,"payload":P}.
func encodeDoc(seq uint64, r Record) []byte {
	b := make([]byte, 0, 50+len(r.ID)+len(r.Payload))
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = wire.AppendRecordFields(b, r.ID, r.TS, r.Payload)
	return append(b, '}')
}

// storedDoc is the decoded stored form.
type storedDoc struct {
	Seq     uint64          `json:"seq"`
	ID      string          `json:"id"`
	TS      int64           `json:"ts"`
	Payload json.RawMessage `json:"payload"`
}

// sameContent reports whether a stored doc holds the same ts and payload as r.
func sameContent(doc []byte, r Record) (bool, error) {
	var d storedDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return false, fmt.Errorf("decode stored record %q: %w", r.ID, err)
	}
	return d.TS == r.TS && bytes.Equal(d.Payload, r.Payload), nil
}

// withSynced appends the "synced" field to a stored doc for GET responses.
func withSynced(doc []byte, synced bool) []byte {
	out := make([]byte, 0, len(doc)+16)
	out = append(out, doc[:len(doc)-1]...)
	out = append(out, `,"synced":`...)
	out = strconv.AppendBool(out, synced)
	return append(out, '}')
}
