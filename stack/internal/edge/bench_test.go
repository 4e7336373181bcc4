package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkPostRecord measures acknowledged (durable) writes through the HTTP
// API with parallel clients and no cloud.
func BenchmarkPostRecord(b *testing.B) {
	cfg, err := LoadConfig(lookup(map[string]string{"EDGE_NODE_ID": "b", "EDGE_MODE": "offline"}))
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = b.TempDir()
	a, err := New(cfg, Defects{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.routes())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"id":"r-%d","ts":%d,"payload":{"temp":21.5,"note":"hello world"}}`, i, i)
			resp, err := client.Post(srv.URL+"/v1/records", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
