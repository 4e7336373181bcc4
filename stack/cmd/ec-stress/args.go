package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config is what ec-stress runs. The flags are the subset of stress-ng's that edgechaos's cpu-stress
// and memory-stress faults use, spelled the same, so a board without stress-ng runs the same argv
// with only the program name changed.
type Config struct {
	CPUWorkers int           // --cpu N: busy workers (0: none)
	CPULoad    int           // --cpu-load P: percent busy per worker, 1..100
	VMWorkers  int           // --vm N: memory workers sharing VMBytes
	VMBytes    int64         // --vm-bytes B: total bytes the memory workers allocate, touch and hold
	Timeout    time.Duration // --timeout D: stop after D (0: until signalled)
}

const maxBytes = int64(1) << 46

// ParseArgs parses stress-ng style arguments (`--cpu 2 --cpu-load 50 --timeout 60s`,
// `--vm 1 --vm-bytes 256M --vm-keep`). --cpu-method and --vm-keep are accepted for compatibility:
// the workers always spin on integer arithmetic and always keep their memory.
func ParseArgs(args []string) (Config, error) {
	fs := flag.NewFlagSet("ec-stress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c Config
	var vmBytes, timeout, method string
	fs.IntVar(&c.CPUWorkers, "cpu", 0, "busy CPU workers")
	fs.IntVar(&c.CPULoad, "cpu-load", 100, "percent busy per CPU worker (1..100)")
	fs.StringVar(&method, "cpu-method", "int64", "accepted for stress-ng compatibility")
	fs.IntVar(&c.VMWorkers, "vm", 0, "memory workers")
	fs.StringVar(&vmBytes, "vm-bytes", "", "total bytes the memory workers hold (B, K, M, G suffixes)")
	fs.Bool("vm-keep", true, "accepted for stress-ng compatibility (memory is always kept)")
	fs.StringVar(&timeout, "timeout", "", "stop after this long (60, 60s, 2m, 1h)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.CPUWorkers < 0 || c.CPUWorkers > 1024 {
		return c, fmt.Errorf("--cpu must be 0..1024, got %d", c.CPUWorkers)
	}
	if c.CPULoad < 1 || c.CPULoad > 100 {
		return c, fmt.Errorf("--cpu-load must be 1..100, got %d", c.CPULoad)
	}
	if c.VMWorkers < 0 || c.VMWorkers > 1024 {
		return c, fmt.Errorf("--vm must be 0..1024, got %d", c.VMWorkers)
	}
	if vmBytes != "" {
		b, err := ParseBytes(vmBytes)
		if err != nil {
			return c, fmt.Errorf("--vm-bytes: %w", err)
		}
		c.VMBytes = b
	}
	if c.VMWorkers > 0 && c.VMBytes == 0 {
		return c, errors.New("--vm needs --vm-bytes")
	}
	if c.VMBytes > 0 && c.VMWorkers == 0 {
		c.VMWorkers = 1
	}
	if timeout != "" {
		d, err := ParseTimeout(timeout)
		if err != nil {
			return c, fmt.Errorf("--timeout: %w", err)
		}
		c.Timeout = d
	}
	if c.CPUWorkers == 0 && c.VMWorkers == 0 {
		return c, errors.New("nothing to do: give --cpu N and/or --vm N --vm-bytes B")
	}
	return c, nil
}

// ParseBytes reads 4096, 64k, 256M, 1g, 1.5G (binary units; a trailing B is allowed).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1<<10, t[:n-1]
		case 'm':
			mult, t = 1<<20, t[:n-1]
		case 'g':
			mult, t = 1<<30, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("not a positive size: %q", s)
	}
	b := int64(v * float64(mult))
	if b <= 0 || b > maxBytes {
		return 0, fmt.Errorf("size out of range: %q", s)
	}
	return b, nil
}

// ParseTimeout reads stress-ng's forms: plain seconds (60), or a number with s, m, h or d.
func ParseTimeout(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	unit := time.Second
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 's':
			t = t[:n-1]
		case 'm':
			unit, t = time.Minute, t[:n-1]
		case 'h':
			unit, t = time.Hour, t[:n-1]
		case 'd':
			unit, t = 24*time.Hour, t[:n-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("not a positive duration: %q", s)
	}
	return time.Duration(v) * unit, nil
}
