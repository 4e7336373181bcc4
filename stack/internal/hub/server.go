package hub

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/httpx"
	"github.com/edgechaos/edgechaos/stack/internal/promtext"
	"github.com/edgechaos/edgechaos/stack/internal/wire"
)

// Config is the hub configuration, read from the environment.
type Config struct {
	Listen       string // HUB_LISTEN, default ":8080"
	DataDir      string // HUB_DATA_DIR, default "./hub-data"
	MaxSyncBytes int    // HUB_MAX_SYNC_BYTES: largest decompressed sync body
	// MaxBodyBytes bounds a sync body as received (HUB_MAX_BODY_BYTES).
	MaxBodyBytes int
	// HTTP holds the API server's limits: HUB_READ_HEADER_TIMEOUT_MS,
	// HUB_READ_TIMEOUT_MS (whole request: a sync batch over a slow link),
	// HUB_IDLE_TIMEOUT_MS and HUB_MAX_CONNS.
	HTTP httpx.Limits
}

// LoadConfig reads the configuration from l.
func LoadConfig(l env.Lookup) (Config, error) {
	c := Config{Listen: l.String("HUB_LISTEN", ":8080"), DataDir: l.String("HUB_DATA_DIR", "./hub-data")}
	var err error
	var errs []error
	num := func(key string, dst *int, def, min, max int) {
		if *dst, err = l.Int(key, def, min, max); err != nil {
			errs = append(errs, err)
		}
	}
	ms := func(key string, dst *time.Duration, def, min, max time.Duration) {
		if *dst, err = l.Millis(key, def, min, max); err != nil {
			errs = append(errs, err)
		}
	}
	num("HUB_MAX_SYNC_BYTES", &c.MaxSyncBytes, 256<<20, 1024, 4<<30)
	num("HUB_MAX_BODY_BYTES", &c.MaxBodyBytes, 256<<20, 1024, 4<<30)
	c.HTTP = httpx.DefaultLimits
	ms("HUB_READ_HEADER_TIMEOUT_MS", &c.HTTP.ReadHeaderTimeout, 5*time.Second, 10*time.Millisecond, time.Hour)
	// Longer than the longest config long-poll (MaxWait): the read deadline
	// also runs while a handler waits, and ending it cancels the request.
	ms("HUB_READ_TIMEOUT_MS", &c.HTTP.ReadTimeout, 2*time.Minute, MaxWait+10*time.Second, time.Hour)
	ms("HUB_IDLE_TIMEOUT_MS", &c.HTTP.IdleTimeout, 2*time.Minute, 10*time.Millisecond, time.Hour)
	num("HUB_MAX_CONNS", &c.HTTP.MaxConns, 4096, 1, 1<<20)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("hub config: %w", errors.Join(errs...))
	}
	return c, nil
}

// Limits of GET /v1/records and of the config long-poll.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
	MaxWait      = 60 * time.Second
	// PageBytes bounds one page of GET /v1/records: a page ends early (with
	// a next cursor) once its rows reach this size.
	PageBytes = 8 << 20
)

// Server is the hub's HTTP API.
type Server struct {
	cfg Config
	st  *Store
	log *slog.Logger

	syncRequests, syncErrors, syncBytes atomic.Uint64
	recordsIn, deduped                  atomic.Uint64
	waiters                             atomic.Int64
}

// NewServer wires the API around st.
func NewServer(cfg Config, st *Store, log *slog.Logger) *Server {
	return &Server{cfg: cfg, st: st, log: log}
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("POST "+wire.SyncPath, s.sync)
	mux.HandleFunc("GET /v1/records", s.list)
	mux.HandleFunc("GET "+wire.ConfigPath, s.getConfig)
	mux.HandleFunc("PUT "+wire.ConfigPath, s.putConfig)
	mux.HandleFunc("GET /v1/nodes", s.nodes)
	mux.HandleFunc("GET /metrics", s.metrics)
	return mux
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	s.syncRequests.Add(1)
	var raw io.Reader = r.Body
	if s.cfg.MaxBodyBytes > 0 {
		raw = http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxBodyBytes))
	}
	cr := &countingReader{r: raw}
	defer func() { s.syncBytes.Add(uint64(cr.n)) }()
	var body io.Reader = cr
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(cr)
		if err != nil {
			s.fail(w, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err))
			return
		}
		defer zr.Close()
		body = zr
	default:
		s.fail(w, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding")))
		return
	}
	lr := &io.LimitedReader{R: body, N: int64(s.cfg.MaxSyncBytes) + 1}
	var req wire.SyncRequest
	if err := json.NewDecoder(bufio.NewReaderSize(lr, 64<<10)).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if lr.N <= 0 || errors.As(err, &tooBig) {
			s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("sync body over %d bytes", s.cfg.MaxSyncBytes))
			return
		}
		s.fail(w, http.StatusBadRequest, fmt.Errorf("decode sync body: %w", err))
		return
	}
	resp, err := s.st.Ingest(&req)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBadBatch) {
			status = http.StatusBadRequest
		}
		s.fail(w, status, err)
		return
	}
	s.recordsIn.Add(uint64(resp.Received))
	s.deduped.Add(uint64(resp.Deduped))
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) fail(w http.ResponseWriter, status int, err error) {
	s.syncErrors.Add(1)
	s.log.Warn("sync rejected", "status", status, "err", err)
	httpx.Error(w, status, err.Error())
}

// parseUint parses an optional non-negative integer query parameter.
func parseUint(v string, def uint64) (uint64, error) {
	if v == "" {
		return def, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseUint(q.Get("after"), 0)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, "after: want the next cursor of the previous page")
		return
	}
	limit, err := parseUint(q.Get("limit"), DefaultLimit)
	if err != nil || limit < 1 {
		httpx.Error(w, http.StatusBadRequest, "limit: want an integer in 1..10000")
		return
	}
	limit = min(limit, MaxLimit)
	// The page is assembled in memory and written after the read
	// transaction ended: a slow client must not hold a bbolt read
	// transaction open (that would stall the file growth writers need).
	var buf bytes.Buffer
	buf.WriteString(`{"records":[`)
	first := true
	next, err := s.st.List(q.Get("node"), after, int(limit), PageBytes, func(doc []byte) error {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(doc)
		return nil
	})
	if err != nil {
		s.log.Error("list rows", "err", err)
		httpx.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	buf.WriteString(`],"next":`)
	if next == 0 {
		buf.WriteString("null}\n")
	} else {
		buf.WriteString(`"` + strconv.FormatUint(next, 10) + `"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

// parseWait accepts a Go duration ("25s", "500ms") or a number of seconds.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil {
			return 0, fmt.Errorf("wait=%q: want a duration like 25s: %w", v, err)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("wait=%q: negative", v)
	}
	return min(d, MaxWait), nil
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wait, err := parseWait(q.Get("wait"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	c := s.st.Config()
	if q.Has("after") && wait > 0 {
		after, err := strconv.ParseInt(q.Get("after"), 10, 64)
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, "after: want an integer version")
			return
		}
		s.waiters.Add(1)
		c = s.st.WaitConfig(r.Context(), after, wait)
		s.waiters.Add(-1)
	}
	if c.Data == nil {
		c.Data = json.RawMessage("null")
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&in); err != nil {
		httpx.Error(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if len(in.Data) == 0 {
		httpx.Error(w, http.StatusBadRequest, "missing field data")
		return
	}
	v, err := s.st.PublishConfig(in.Data)
	if err != nil {
		s.log.Error("publish config", "err", err)
		httpx.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("config published", "version", v)
	httpx.WriteJSON(w, http.StatusOK, map[string]int64{"version": v})
}

// nodes lists the nodes that synced and the cursor acknowledged to each
// (diagnostics; not part of the contract).
func (s *Server) nodes(w http.ResponseWriter, _ *http.Request) {
	ns, err := s.st.Nodes()
	if err != nil {
		httpx.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"nodes": ns})
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_ = promtext.Write(w, []promtext.Metric{
		{Name: "hub_rows", Help: "Rows stored in the ledger.", Type: "gauge", Value: float64(s.st.Rows())},
		{Name: "hub_sync_requests_total", Help: "Sync requests received.", Type: "counter", Value: float64(s.syncRequests.Load())},
		{Name: "hub_sync_errors_total", Help: "Sync requests rejected or failed.", Type: "counter", Value: float64(s.syncErrors.Load())},
		{Name: "hub_sync_bytes_received_total", Help: "Sync request body bytes as received (compressed).", Type: "counter", Value: float64(s.syncBytes.Load())},
		{Name: "hub_sync_records_received_total", Help: "Records received in sync batches (resends included).", Type: "counter", Value: float64(s.recordsIn.Load())},
		{Name: "hub_sync_records_deduped_total", Help: "Received records skipped because (node, id) was already stored.", Type: "counter", Value: float64(s.deduped.Load())},
		{Name: "hub_config_version", Help: "Current config version.", Type: "gauge", Value: float64(s.st.Config().Version)},
		{Name: "hub_config_waiters", Help: "Open config long-polls.", Type: "gauge", Value: float64(s.waiters.Load())},
	})
}
