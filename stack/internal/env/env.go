// Package env reads typed settings from environment variables with defaults.
package env

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Lookup returns the value of an environment variable; tests substitute it.
type Lookup func(key string) (string, bool)

// OS is the process environment.
var OS Lookup = os.LookupEnv

// String returns the value of key, or def when unset or empty.
func (l Lookup) String(key, def string) string {
	if v, ok := l(key); ok && v != "" {
		return v
	}
	return def
}

// Int returns key parsed as a base-10 integer in [min, max], or def when unset.
func (l Lookup) Int(key string, def, min, max int) (int, error) {
	v, ok := l(key)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("env %s=%q: %w", key, v, err)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("env %s=%d: out of range [%d, %d]", key, n, min, max)
	}
	return n, nil
}

// Millis returns key as a duration given in milliseconds, or def when unset.
func (l Lookup) Millis(key string, def time.Duration, min, max time.Duration) (time.Duration, error) {
	n, err := l.Int(key, int(def/time.Millisecond), int(min/time.Millisecond), int(max/time.Millisecond))
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Millisecond, nil
}
