// Package fusefs is the edge data dir's fault layer: a go-fuse loopback
// (pass-through) file system that can slow down or fail reads, writes and
// fsyncs by probability, and that keeps every write made since the file's
// last successful fsync revocable, so a simulated power cut can drop it (as
// Jepsen's LazyFS does).
package fusefs

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Op is a file operation a rule applies to.
type Op string

const (
	OpRead  Op = "read"
	OpWrite Op = "write"
	OpFsync Op = "fsync"
)

// Ops lists the operations rules can target, in a stable order.
var Ops = []Op{OpRead, OpWrite, OpFsync}

// Rule is one injection: with probability Prob, an operation is delayed by
// Delay (io-latency) or fails with Errno (io-error).
type Rule struct {
	Prob  float64
	Delay time.Duration
	Errno syscall.Errno
}

// Kind of a rule set.
type Kind string

const (
	KindLatency Kind = "io-latency"
	KindError   Kind = "io-error"
)

// Injector holds the active rules and counts what it injected.
type Injector struct {
	mu       sync.Mutex
	rules    map[Kind]map[Op]Rule
	rnd      *rand.Rand
	injected map[string]int64
}

// NewInjector returns an injector with no rules; seed makes its draws repeatable.
func NewInjector(seed uint64) *Injector {
	return &Injector{
		rules:    map[Kind]map[Op]Rule{KindLatency: {}, KindError: {}},
		rnd:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		injected: map[string]int64{},
	}
}

// Set installs a rule for the given ops.
func (in *Injector) Set(k Kind, ops []Op, r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, op := range ops {
		in.rules[k][op] = r
	}
}

// Clear removes the rules of kind k for ops (all ops when empty).
func (in *Injector) Clear(k Kind, ops []Op) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(ops) == 0 {
		in.rules[k] = map[Op]Rule{}
		return
	}
	for _, op := range ops {
		delete(in.rules[k], op)
	}
}

// Before runs before op: it sleeps when a latency rule fires and returns the
// errno of an error rule that fires (0 otherwise).
func (in *Injector) Before(op Op) syscall.Errno {
	in.mu.Lock()
	var delay time.Duration
	var errno syscall.Errno
	if r, ok := in.rules[KindLatency][op]; ok && in.rnd.Float64() < r.Prob {
		delay = r.Delay
		in.injected[string(KindLatency)+"."+string(op)]++
	}
	if r, ok := in.rules[KindError][op]; ok && in.rnd.Float64() < r.Prob {
		errno = r.Errno
		in.injected[string(KindError)+"."+string(op)]++
	}
	in.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	return errno
}

// Status is one line per active rule and injection counter (sorted).
func (in *Injector) Status() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for _, k := range []Kind{KindLatency, KindError} {
		for _, op := range Ops {
			if r, ok := in.rules[k][op]; ok {
				out = append(out, fmt.Sprintf("rule %s op=%s prob=%g delay=%s errno=%d", k, op, r.Prob, r.Delay, int(r.Errno)))
			}
		}
	}
	keys := make([]string, 0, len(in.injected))
	for k := range in.injected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, fmt.Sprintf("injected %s %d", k, in.injected[k]))
	}
	return out
}

var errnos = map[string]syscall.Errno{
	"EIO":    syscall.EIO,
	"ENOSPC": syscall.ENOSPC,
	"EROFS":  syscall.EROFS,
	"EDQUOT": syscall.EDQUOT,
	"EAGAIN": syscall.EAGAIN,
}

// ParseRule reads `op=write[,fsync|all] prob=0.3 [delay=200ms] [errno=EIO]`
// (the arguments of `set <kind>`); every error names the field.
func ParseRule(k Kind, args []string) ([]Op, Rule, error) {
	r := Rule{Prob: 1, Errno: syscall.EIO}
	var ops []Op
	seen := map[string]bool{}
	for _, a := range args {
		key, val, ok := strings.Cut(a, "=")
		if !ok {
			return nil, r, fmt.Errorf("%s: %q is not key=value", k, a)
		}
		if seen[key] {
			return nil, r, fmt.Errorf("%s: %s given twice", k, key)
		}
		seen[key] = true
		switch key {
		case "op":
			for _, o := range strings.Split(val, ",") {
				switch Op(o) {
				case OpRead, OpWrite, OpFsync:
					ops = append(ops, Op(o))
				default:
					if o != "all" {
						return nil, r, fmt.Errorf("%s: op %q is not read, write, fsync or all", k, o)
					}
					ops = append(ops, Ops...)
				}
			}
		case "prob":
			p, err := strconv.ParseFloat(val, 64)
			if err != nil || p < 0 || p > 1 {
				return nil, r, fmt.Errorf("%s: prob %q must be a number in [0, 1]", k, val)
			}
			r.Prob = p
		case "delay":
			if k != KindLatency {
				return nil, r, fmt.Errorf("%s: delay only applies to %s", k, KindLatency)
			}
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 || d > time.Minute {
				return nil, r, fmt.Errorf("%s: delay %q must be a duration in (0, 1m]", k, val)
			}
			r.Delay = d
		case "errno":
			if k != KindError {
				return nil, r, fmt.Errorf("%s: errno only applies to %s", k, KindError)
			}
			e, ok := errnos[val]
			if !ok {
				return nil, r, fmt.Errorf("%s: errno %q is not one of EIO, ENOSPC, EROFS, EDQUOT, EAGAIN", k, val)
			}
			r.Errno = e
		default:
			return nil, r, fmt.Errorf("%s: unknown field %q", k, key)
		}
	}
	if len(ops) == 0 {
		return nil, r, fmt.Errorf("%s: op is required (read, write, fsync, all)", k)
	}
	if k == KindLatency && r.Delay == 0 {
		return nil, r, fmt.Errorf("%s: delay is required", k)
	}
	return ops, r, nil
}
