package edge

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantErr     bool
		wantPayload string
		wantTS      int64
	}{
		{"valid object payload is compacted", `{"id":"a","ts":17,"payload":{ "x" : [1, 2] }}`, false, `{"x":[1,2]}`, 17},
		{"null payload is a value", `{"id":"a","ts":1,"payload":null}`, false, `null`, 1},
		{"string payload", `{"id":"a","ts":-5,"payload":"hi"}`, false, `"hi"`, -5},
		{"128 multibyte chars", `{"id":"` + strings.Repeat("é", 128) + `","ts":1,"payload":1}`, false, `1`, 1},
		{"missing id", `{"ts":1,"payload":1}`, true, "", 0},
		{"empty id", `{"id":"","ts":1,"payload":1}`, true, "", 0},
		{"129 chars", `{"id":"` + strings.Repeat("x", 129) + `","ts":1,"payload":1}`, true, "", 0},
		{"missing ts", `{"id":"a","payload":1}`, true, "", 0},
		{"null ts", `{"id":"a","ts":null,"payload":1}`, true, "", 0},
		{"string ts", `{"id":"a","ts":"1","payload":1}`, true, "", 0},
		{"fractional ts", `{"id":"a","ts":1.5,"payload":1}`, true, "", 0},
		{"missing payload", `{"id":"a","ts":1}`, true, "", 0},
		{"bad JSON", `{"id":"a",`, true, "", 0},
		{"trailing data", `{"id":"a","ts":1,"payload":1} {}`, true, "", 0},
		{"not an object", `[1,2]`, true, "", 0},
		{"id not a string", `{"id":5,"ts":1,"payload":1}`, true, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if string(r.Payload) != tt.wantPayload || r.TS != tt.wantTS {
				t.Fatalf("got payload %s ts %d, want %s %d", r.Payload, r.TS, tt.wantPayload, tt.wantTS)
			}
		})
	}
}

func TestDocEncoding(t *testing.T) {
	tests := []struct {
		name string
		seq  uint64
		rec  Record
		want string
	}{
		{"plain", 3, Record{ID: "a", TS: 9, Payload: []byte(`{"x":1}`)}, `{"seq":3,"id":"a","ts":9,"payload":{"x":1}}`},
		{"id needing escapes", 1, Record{ID: "q\"<\x01", TS: 0, Payload: []byte(`null`)}, `{"seq":1,"id":"q\"\u003c\u0001","ts":0,"payload":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := encodeDoc(tt.seq, tt.rec)
			if string(doc) != tt.want {
				t.Fatalf("encodeDoc = %s, want %s", doc, tt.want)
			}
			same, err := sameContent(doc, tt.rec)
			if err != nil || !same {
				t.Fatalf("sameContent = %v, %v", same, err)
			}
			other := tt.rec
			other.TS++
			if same, _ := sameContent(doc, other); same {
				t.Fatal("a different ts compared equal")
			}
			if got := string(withSynced(doc, true)); got != tt.want[:len(tt.want)-1]+`,"synced":true}` {
				t.Fatalf("withSynced = %s", got)
			}
		})
	}
}
