package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/env"
)

func lookup(m map[string]string) env.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfig(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"EDGE_NODE_ID": "n1", "CLOUD_URL": "http://127.0.0.1:9/"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{"defaults", base(nil), "", func(t *testing.T, c Config) {
			if c.Mode != ModeAuto || c.BatchMax != 5000 || c.BackoffMax != 2*time.Second || c.CloudURL != "http://127.0.0.1:9" || c.CommitDelay != time.Millisecond {
				t.Errorf("unexpected defaults %+v", c)
			}
		}},
		{"tuning", base(map[string]string{"EDGE_BATCH_MAX": "10", "EDGE_SYNC_INTERVAL_MS": "50", "EDGE_COMMIT_DELAY_US": "0"}), "", func(t *testing.T, c Config) {
			if c.BatchMax != 10 || c.SyncInterval != 50*time.Millisecond || c.CommitDelay != 0 {
				t.Errorf("tuning not applied %+v", c)
			}
		}},
		{"http limits", base(map[string]string{"EDGE_READ_TIMEOUT_MS": "500", "EDGE_MAX_CONNS": "64"}), "", func(t *testing.T, c Config) {
			if c.HTTP.ReadTimeout != 500*time.Millisecond || c.HTTP.MaxConns != 64 || c.HTTP.ReadHeaderTimeout != 5*time.Second || c.HTTP.IdleTimeout != time.Minute {
				t.Errorf("http limits not applied %+v", c.HTTP)
			}
		}},
		{"no connection cap of 0", base(map[string]string{"EDGE_MAX_CONNS": "0"}), "EDGE_MAX_CONNS", nil},
		{"offline needs no cloud", map[string]string{"EDGE_NODE_ID": "n", "EDGE_MODE": "offline"}, "", nil},
		{"missing node", map[string]string{"CLOUD_URL": "http://x:1"}, "EDGE_NODE_ID is required", nil},
		{"auto needs cloud", map[string]string{"EDGE_NODE_ID": "n"}, "CLOUD_URL is required", nil},
		{"bad cloud url", base(map[string]string{"CLOUD_URL": "localhost"}), "want http://host:port", nil},
		{"bad mode", base(map[string]string{"EDGE_MODE": "sometimes"}), "EDGE_MODE", nil},
		{"non-numeric", base(map[string]string{"EDGE_BATCH_MAX": "lots"}), "EDGE_BATCH_MAX", nil},
		{"out of range", base(map[string]string{"EDGE_BATCH_MAX": "0"}), "out of range", nil},
		{"backoff max below base", base(map[string]string{"EDGE_BACKOFF_BASE_MS": "500", "EDGE_BACKOFF_MAX_MS": "100"}), "EDGE_BACKOFF_MAX_MS", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(lookup(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestReferenceBuildIgnoresEdgeDefect(t *testing.T) {
	if defectsBuild {
		t.Skip("defects build")
	}
	d, err := LoadDefects(lookup(map[string]string{"EDGE_DEFECT": "memory-outbox,bloat"}))
	if err != nil || d != (Defects{}) {
		t.Fatalf("reference build took defects %+v, %v", d, err)
	}
}
