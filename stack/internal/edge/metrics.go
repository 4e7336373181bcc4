package edge

import (
	"net/http"
	"sync/atomic"

	"github.com/edgechaos/edgechaos/stack/internal/httpx"
	"github.com/edgechaos/edgechaos/stack/internal/promtext"
)

type metrics struct {
	acked, retried, conflicts   atomic.Uint64
	diskFull                    atomic.Uint64 // writes refused with 507
	syncBatches, syncRecords    atomic.Uint64
	syncErrors, heartbeatErrors atomic.Uint64
	syncSent, syncRecv          atomic.Uint64 // wire bytes of the sync connections
	downSent, downRecv          atomic.Uint64 // wire bytes of the config long-poll
}

func (a *Agent) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	m := a.m
	online := 0.0
	if a.link.mode() == "online" {
		online = 1
	}
	var conns httpx.ConnStats
	if a.srv != nil {
		conns = a.srv.Conns()
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_ = promtext.Write(w, []promtext.Metric{
		{Name: "edge_http_connections_open", Help: "Client connections open on the API.", Type: "gauge", Value: float64(conns.Open)},
		{Name: "edge_http_connections_peak", Help: "Most client connections open at once.", Type: "gauge", Value: float64(conns.Peak)},
		{Name: "edge_http_connections_max", Help: "Connection cap (more wait in the listen backlog).", Type: "gauge", Value: float64(conns.Cap)},
		{Name: "edge_records_acked_total", Help: "Records created and acknowledged durably (201).", Type: "counter", Value: float64(m.acked.Load())},
		{Name: "edge_records_retried_total", Help: "Idempotent retries answered with the existing seq (200).", Type: "counter", Value: float64(m.retried.Load())},
		{Name: "edge_records_conflicts_total", Help: "Writes rejected because the id exists with other content (409).", Type: "counter", Value: float64(m.conflicts.Load())},
		{Name: "edge_records_disk_full_total", Help: "Writes refused because the disk was full (507, nothing stored).", Type: "counter", Value: float64(m.diskFull.Load())},
		{Name: "edge_records_pending", Help: "Records not yet acknowledged by the hub.", Type: "gauge", Value: float64(a.pending())},
		{Name: "edge_sync_bytes_sent_total", Help: "Wire bytes written on edge-to-hub sync connections (HTTP framing included).", Type: "counter", Value: float64(m.syncSent.Load())},
		{Name: "edge_sync_bytes_received_total", Help: "Wire bytes read on sync connections.", Type: "counter", Value: float64(m.syncRecv.Load())},
		{Name: "edge_downlink_bytes_sent_total", Help: "Wire bytes written on config long-poll and heartbeat connections.", Type: "counter", Value: float64(m.downSent.Load())},
		{Name: "edge_downlink_bytes_received_total", Help: "Wire bytes read on config long-poll and heartbeat connections.", Type: "counter", Value: float64(m.downRecv.Load())},
		{Name: "edge_sync_batches_total", Help: "Sync batches acknowledged by the hub.", Type: "counter", Value: float64(m.syncBatches.Load())},
		{Name: "edge_sync_records_sent_total", Help: "Records sent in acknowledged batches (resends included).", Type: "counter", Value: float64(m.syncRecords.Load())},
		{Name: "edge_sync_errors_total", Help: "Failed sync attempts.", Type: "counter", Value: float64(m.syncErrors.Load())},
		{Name: "edge_heartbeat_errors_total", Help: "Failed heartbeat probes of the hub.", Type: "counter", Value: float64(m.heartbeatErrors.Load())},
		{Name: "edge_config_version", Help: "Config version held by the node (0 = none).", Type: "gauge", Value: float64(a.st.Config().Version)},
		{Name: "edge_online", Help: "1 when the cloud is reachable, else 0.", Type: "gauge", Value: online},
	})
}
