package edge

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/env"
	"github.com/edgechaos/edgechaos/stack/internal/httpx"
)

// Mode is the configured connectivity mode.
type Mode string

// Configured modes (EDGE_MODE).
const (
	ModeAuto    Mode = "auto"
	ModeOnline  Mode = "online"
	ModeOffline Mode = "offline"
)

// Config is the agent configuration, read from the environment.
type Config struct {
	NodeID       string        // EDGE_NODE_ID (required)
	Listen       string        // EDGE_LISTEN, default ":8080"
	CloudURL     string        // CLOUD_URL (required unless offline)
	Mode         Mode          // EDGE_MODE, default auto
	DataDir      string        // EDGE_DATA_DIR, default "./edge-data"
	SyncInterval time.Duration // EDGE_SYNC_INTERVAL_MS: idle wake-up of the uplink loop
	SyncLinger   time.Duration // EDGE_SYNC_LINGER_MS: gather writes this long after a sync before the next small batch
	Heartbeat    time.Duration // EDGE_HEARTBEAT_MS: probe the cloud when idle this long
	BatchMax     int           // EDGE_BATCH_MAX: records per sync batch
	BatchBytes   int           // EDGE_BATCH_MAX_BYTES: uncompressed bytes per batch
	BackoffBase  time.Duration // EDGE_BACKOFF_BASE_MS
	BackoffMax   time.Duration // EDGE_BACKOFF_MAX_MS
	CloudTimeout time.Duration // EDGE_CLOUD_TIMEOUT_MS: per sync request
	ConfigWait   time.Duration // EDGE_CONFIG_WAIT_MS: downlink long-poll wait
	CommitDelay  time.Duration // EDGE_COMMIT_DELAY_US: group-commit window
	MaxBody      int           // EDGE_MAX_BODY_BYTES: largest POST body
	// HTTP holds the API server's limits: EDGE_READ_HEADER_TIMEOUT_MS,
	// EDGE_READ_TIMEOUT_MS, EDGE_WRITE_TIMEOUT_MS, EDGE_IDLE_TIMEOUT_MS and
	// EDGE_MAX_CONNS (lowered to the open-file limit minus a reserve).
	HTTP httpx.Limits
}

// LoadConfig reads the configuration from l.
func LoadConfig(l env.Lookup) (Config, error) {
	c := Config{
		NodeID:   l.String("EDGE_NODE_ID", ""),
		Listen:   l.String("EDGE_LISTEN", ":8080"),
		CloudURL: strings.TrimRight(l.String("CLOUD_URL", ""), "/"),
		Mode:     Mode(l.String("EDGE_MODE", string(ModeAuto))),
		DataDir:  l.String("EDGE_DATA_DIR", "./edge-data"),
	}
	var errs []error
	if c.NodeID == "" {
		errs = append(errs, errors.New("EDGE_NODE_ID is required"))
	}
	switch c.Mode {
	case ModeAuto, ModeOnline:
		if c.CloudURL == "" {
			errs = append(errs, fmt.Errorf("CLOUD_URL is required in EDGE_MODE=%s", c.Mode))
		} else if u, err := url.Parse(c.CloudURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("CLOUD_URL=%q: want http://host:port", c.CloudURL))
		}
	case ModeOffline:
	default:
		errs = append(errs, fmt.Errorf("EDGE_MODE=%q: want online, offline or auto", c.Mode))
	}
	var err error
	ms := func(key string, dst *time.Duration, def, min, max time.Duration) {
		if *dst, err = l.Millis(key, def, min, max); err != nil {
			errs = append(errs, err)
		}
	}
	num := func(key string, dst *int, def, min, max int) {
		if *dst, err = l.Int(key, def, min, max); err != nil {
			errs = append(errs, err)
		}
	}
	ms("EDGE_SYNC_INTERVAL_MS", &c.SyncInterval, time.Second, 10*time.Millisecond, time.Hour)
	var lingerMs int
	num("EDGE_SYNC_LINGER_MS", &lingerMs, 200, 0, 10000)
	c.SyncLinger = time.Duration(lingerMs) * time.Millisecond
	ms("EDGE_HEARTBEAT_MS", &c.Heartbeat, 2*time.Second, 100*time.Millisecond, time.Hour)
	num("EDGE_BATCH_MAX", &c.BatchMax, 5000, 1, 100000)
	num("EDGE_BATCH_MAX_BYTES", &c.BatchBytes, 4<<20, 1024, 256<<20)
	ms("EDGE_BACKOFF_BASE_MS", &c.BackoffBase, 50*time.Millisecond, time.Millisecond, time.Minute)
	ms("EDGE_BACKOFF_MAX_MS", &c.BackoffMax, 2*time.Second, time.Millisecond, 10*time.Minute)
	ms("EDGE_CLOUD_TIMEOUT_MS", &c.CloudTimeout, 10*time.Second, 50*time.Millisecond, 10*time.Minute)
	ms("EDGE_CONFIG_WAIT_MS", &c.ConfigWait, 25*time.Second, 100*time.Millisecond, time.Minute)
	num("EDGE_MAX_BODY_BYTES", &c.MaxBody, 1<<20, 64, 64<<20)
	var us int
	num("EDGE_COMMIT_DELAY_US", &us, 1000, 0, 1000000)
	c.CommitDelay = time.Duration(us) * time.Microsecond
	c.HTTP = httpx.DefaultLimits
	ms("EDGE_READ_HEADER_TIMEOUT_MS", &c.HTTP.ReadHeaderTimeout, 5*time.Second, 10*time.Millisecond, time.Hour)
	ms("EDGE_READ_TIMEOUT_MS", &c.HTTP.ReadTimeout, 30*time.Second, 10*time.Millisecond, time.Hour)
	ms("EDGE_WRITE_TIMEOUT_MS", &c.HTTP.WriteTimeout, 30*time.Second, 10*time.Millisecond, time.Hour)
	ms("EDGE_IDLE_TIMEOUT_MS", &c.HTTP.IdleTimeout, 60*time.Second, 10*time.Millisecond, time.Hour)
	num("EDGE_MAX_CONNS", &c.HTTP.MaxConns, 4096, 1, 1<<20)
	if c.BackoffMax < c.BackoffBase {
		errs = append(errs, fmt.Errorf("EDGE_BACKOFF_MAX_MS (%v) < EDGE_BACKOFF_BASE_MS (%v)", c.BackoffMax, c.BackoffBase))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("edge config: %w", errors.Join(errs...))
	}
	return c, nil
}
