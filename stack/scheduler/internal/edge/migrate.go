package edge

import (
	"sort"
	"time"
)

// MigrateArgs configure the overload-migration controller.
type MigrateArgs struct {
	// Threshold: a node whose reported CPU (or memory) load is above this is overloaded.
	Threshold float64
	// Target: evict until the node's projected load (reported minus the evicted pods' requested
	// share) is at or below this.
	Target float64
	// Sustain: how long the overload must last before anything is evicted (ignores spikes).
	Sustain time.Duration
	// Cooldown: after evicting from a node, wait this long for the reporter to catch up.
	Cooldown time.Duration
	// MaxPerRound caps evictions per node per decision.
	MaxPerRound int
}

// DefaultMigrateArgs are conservative values for a real cluster; the harness shortens them.
func DefaultMigrateArgs() MigrateArgs {
	return MigrateArgs{Threshold: 0.85, Target: 0.7, Sustain: 30 * time.Second, Cooldown: 30 * time.Second, MaxPerRound: 5}
}

// Overload remembers, per node, since when it has been overloaded and when we last evicted.
type Overload struct {
	since map[string]time.Time
	last  map[string]time.Time
}

func NewOverload() *Overload {
	return &Overload{since: map[string]time.Time{}, last: map[string]time.Time{}}
}

// Observe records a load reading of a node at `now` and reports whether the node is due for
// eviction: above the threshold for at least Sustain, and not evicted from within Cooldown.
func (o *Overload) Observe(a MigrateArgs, node string, load float64, now time.Time) bool {
	if load <= a.Threshold {
		delete(o.since, node)
		return false
	}
	s, ok := o.since[node]
	if !ok {
		o.since[node], s = now, now
	}
	if now.Sub(s) < a.Sustain {
		return false
	}
	if l, ok := o.last[node]; ok && now.Sub(l) < a.Cooldown {
		return false
	}
	return true
}

// Step is what the controller does with one node on one tick.
type Step struct {
	// Taint: put the overloaded NoSchedule taint on the node (before evicting, so the
	// replacements of the evicted pods cannot be placed back onto it).
	Taint bool
	// Untaint: the node's load is back at or under the threshold; take the taint off.
	Untaint bool
	// Evict: pick victims (PickVictims) and evict them — only once the node is tainted.
	Evict bool
}

// Step observes a node's load at `now` (see Observe) and decides, given whether the node
// carries the overloaded taint: a node due for eviction is tainted first and evicted from once
// the taint is in place; a tainted node whose load is at or under the threshold is untainted.
// The taint stays through the cooldown while the node is still overloaded.
func (o *Overload) Step(a MigrateArgs, node string, load float64, tainted bool, now time.Time) Step {
	due := o.Observe(a, node, load, now)
	return Step{
		Taint:   due && !tainted,
		Untaint: tainted && load <= a.Threshold,
		Evict:   due,
	}
}

// Evicted records that pods were evicted from node at `now` (starts the cooldown).
func (o *Overload) Evicted(node string, now time.Time) { o.last[node] = now }

// Forget drops a node that no longer exists.
func (o *Overload) Forget(node string) {
	delete(o.since, node)
	delete(o.last, node)
}

// Candidate is a pod the controller may evict.
type Candidate struct {
	Name     string
	Priority int32
	// Share of the node's allocatable CPU the pod requests (0..1).
	CPUShare float64
	Created  time.Time
}

// PickVictims chooses pods to evict from a node at `load`: lowest priority first, then the
// largest requests (fewest moves), then the newest; stops once the projected load reaches
// Target or MaxPerRound pods are chosen. Pods requesting nothing count a nominal 1% each.
func PickVictims(a MigrateArgs, load float64, pods []Candidate) []Candidate {
	sorted := append([]Candidate(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Priority != sorted[j].Priority {
			return sorted[i].Priority < sorted[j].Priority
		}
		if sorted[i].CPUShare != sorted[j].CPUShare {
			return sorted[i].CPUShare > sorted[j].CPUShare
		}
		if !sorted[i].Created.Equal(sorted[j].Created) {
			return sorted[i].Created.After(sorted[j].Created)
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []Candidate
	for _, p := range sorted {
		if load <= a.Target || (a.MaxPerRound > 0 && len(out) >= a.MaxPerRound) {
			break
		}
		out = append(out, p)
		share := p.CPUShare
		if share <= 0 {
			share = 0.01
		}
		load -= share
	}
	return out
}
