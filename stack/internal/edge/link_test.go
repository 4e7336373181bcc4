package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		name string
		rand func(n int64) int64
		want []time.Duration
	}{
		{"lowest jitter", func(int64) int64 { return 0 },
			[]time.Duration{25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}},
		{"highest jitter", func(n int64) int64 { return n - 1 },
			[]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &backoff{base: 50 * time.Millisecond, max: 2 * time.Second, rand: tt.rand}
			for i, want := range tt.want {
				if got := b.next(); got != want {
					t.Fatalf("attempt %d: %v, want %v", i, got, want)
				}
			}
			for range 100 { // no overflow far out
				if d := b.next(); d < time.Second || d > 2*time.Second {
					t.Fatalf("late attempt: %v outside [1s, 2s]", d)
				}
			}
			b.reset()
			if got := b.next(); got != tt.want[0] {
				t.Fatalf("after reset: %v, want %v", got, tt.want[0])
			}
		})
	}
}

func TestLinkModeFollowsOutcomes(t *testing.T) {
	reconnects := 0
	l := &link{log: slog.New(slog.NewTextHandler(io.Discard, nil)), onReconnect: func() { reconnects++ }}
	steps := []struct {
		success    bool
		wantMode   string
		reconnects int
	}{
		{false, "offline", 0},
		{true, "online", 1},
		{true, "online", 1},
		{false, "offline", 1},
		{false, "offline", 1},
		{true, "online", 2},
	}
	for i, st := range steps {
		if st.success {
			l.success()
		} else {
			l.failure(errors.New("refused"))
		}
		if l.mode() != st.wantMode || reconnects != st.reconnects {
			t.Fatalf("step %d: mode %s reconnects %d, want %s %d", i, l.mode(), reconnects, st.wantMode, st.reconnects)
		}
	}
	l.forcedOffline = true
	if l.mode() != "offline" {
		t.Fatal("forced offline reported online")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestAdaptBatch(t *testing.T) {
	tests := []struct {
		name        string
		limit, most int
		err         error
		want        int
	}{
		{"success doubles", 100, 5000, nil, 200},
		{"success is capped", 4000, 5000, nil, 5000},
		{"deadline halves", 5000, 5000, fmt.Errorf("post: %w", context.DeadlineExceeded), 2500},
		{"net timeout halves", 3, 5000, &url.Error{Op: "Post", URL: "x", Err: timeoutErr{}}, 1},
		{"never below one", 1, 5000, context.DeadlineExceeded, 1},
		{"refused keeps the size", 800, 5000, errors.New("connection refused"), 800},
	}
	for _, tt := range tests {
		if got := adaptBatch(tt.limit, tt.most, tt.err); got != tt.want {
			t.Errorf("%s: adaptBatch(%d, %d, %v) = %d, want %d", tt.name, tt.limit, tt.most, tt.err, got, tt.want)
		}
	}
}
