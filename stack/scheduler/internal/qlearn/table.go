package qlearn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
)

// TableKind and TableVersion identify a Q-table file.
const (
	TableKind    = "edge-qlearn-table"
	TableVersion = 1
)

// Buckets are the state aggregation: a node, seen for the pod being placed, is the triple
// (CPU utilisation bucket, memory utilisation bucket, latency bucket). Utilisations are the
// ones EdgePlacement's headroom uses (edge.Utilisation: reported load + the share of capacity
// requested, including this pod, clamped to [0, 1]). A value x falls in bucket i when
// edges[i-1] ≤ x < edges[i] (bucket 0 below the first edge, len(edges) at or above the last).
// Latency has len(LatencyMs)+1 measured buckets, then one for "unmeasured" and one for "the pod
// names no data source".
type Buckets struct {
	CPU       []float64 `json:"cpuEdges"`
	Mem       []float64 `json:"memEdges"`
	LatencyMs []float64 `json:"latencyEdgesMs"`
}

// DefaultBuckets: CPU in tenths (the benchmark's background loads are 0.05–0.3 and 0.55–0.8, a
// pod adds 0.025), memory in fifths (it moves less: 0.1–0.4 background, 1/64 per pod), latency
// near (< 5 ms: the own site, 2 ms in the benchmark) / 5–25 / 25–50 / 50–75 / ≥ 75 ms (other sites
// are 20–80 ms away), unmeasured, no source: 10 × 5 × 7 = 350 states.
func DefaultBuckets() Buckets {
	return Buckets{
		CPU:       []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9},
		Mem:       []float64{0.2, 0.4, 0.6, 0.8},
		LatencyMs: []float64{5, 25, 50, 75},
	}
}

// Bucket is the index of the bucket holding x.
func Bucket(x float64, edges []float64) int {
	return sort.Search(len(edges), func(i int) bool { return edges[i] > x })
}

// LatencyBucket is the latency bucket of a node for a pod: measured buckets, then unmeasured,
// then no data source.
func (b Buckets) LatencyBucket(hasSource bool, ms float64, ok bool) int {
	switch {
	case !hasSource:
		return len(b.LatencyMs) + 2
	case !ok:
		return len(b.LatencyMs) + 1
	}
	return Bucket(ms, b.LatencyMs)
}

// Dims is the number of buckets of each component.
func (b Buckets) Dims() (cpu, mem, lat int) {
	return len(b.CPU) + 1, len(b.Mem) + 1, len(b.LatencyMs) + 3
}

// Table is a learned Q-table: one value per state (the value of placing the pod on a node in
// that state), and how often training updated it.
type Table struct {
	Buckets
	Q      []float64 // flat, index (cpu·memDims + mem)·latDims + lat
	Visits []int64
	// Training records how the table was made (informational; not needed to use it).
	Training *TrainInfo
}

// TrainInfo is the training run's parameters and inputs, kept in the table file.
type TrainInfo struct {
	Params Params   `json:"params"`
	Traces []string `json:"traces"`
}

// NewTable is an all-zero, never-visited table.
func NewTable(b Buckets) *Table {
	c, m, l := b.Dims()
	return &Table{Buckets: b, Q: make([]float64, c*m*l), Visits: make([]int64, c*m*l)}
}

// State is the state index of a node for a pod, as the cluster stands.
func (t *Table) State(c *Cluster, p *Pod, node int) int {
	load := c.Load(p, node)
	cpu := Bucket(utilCPU(load), t.CPU)
	mem := Bucket(utilMem(load), t.Mem)
	lat, ok := c.Latency(p, node)
	return t.index(cpu, mem, t.LatencyBucket(p.HasSource, lat, ok))
}

func (t *Table) index(cpu, mem, lat int) int {
	_, m, l := t.Dims()
	return (cpu*m+mem)*l + lat
}

// Learned is the learned policy: the feasible node whose state has the highest value, ties to
// the lowest node index like the heuristic's (or, with ties set, to a uniformly random one).
// The value of a state is its Q-value if training visited it; an unvisited state (its Q is the
// initial 0, which would beat the learned, mostly negative, values) backs off to the
// visit-weighted mean Q of the visited states with the same CPU and latency buckets (any memory
// bucket); if there are none it ranks below every state with a value. Without the back-off a
// node whose state never occurred in training is never chosen, however idle it is.
type Learned struct {
	t     *Table
	value []float64
	known []bool
	ties  *rand.Rand
}

// NewLearned prepares the policy of a table; ties nil breaks ties to the lowest node index.
func NewLearned(t *Table, ties *rand.Rand) *Learned {
	l := &Learned{t: t, value: make([]float64, len(t.Q)), known: make([]bool, len(t.Q)), ties: ties}
	c, m, lat := t.Dims()
	for i := 0; i < c; i++ {
		for k := 0; k < lat; k++ {
			sum, n := 0.0, int64(0)
			for j := 0; j < m; j++ {
				s := t.index(i, j, k)
				sum += t.Q[s] * float64(t.Visits[s])
				n += t.Visits[s]
			}
			for j := 0; j < m; j++ {
				s := t.index(i, j, k)
				switch {
				case t.Visits[s] > 0:
					l.value[s], l.known[s] = t.Q[s], true
				case n > 0:
					l.value[s], l.known[s] = sum/float64(n), true
				}
			}
		}
	}
	return l
}

func (*Learned) Name() string { return "learned" }

// Value is the value the policy gives a state, and whether it has one.
func (l *Learned) Value(s int) (float64, bool) { return l.value[s], l.known[s] }

func (l *Learned) Choose(c *Cluster, p *Pod, feasible []int) int {
	best, bestV, bestKnown, ties := -1, 0.0, false, 0
	for _, j := range feasible {
		s := l.t.State(c, p, j)
		known, v := l.known[s], l.value[s]
		switch {
		case best < 0 || (known && !bestKnown) || (known == bestKnown && v > bestV):
			best, bestV, bestKnown, ties = j, v, known, 1
		case known == bestKnown && v == bestV && l.ties != nil:
			ties++
			if l.ties.IntN(ties) == 0 {
				best = j
			}
		}
	}
	return best
}

// tableFile is the JSON layout: values and visits nested [cpu][mem][latency].
type tableFile struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	Buckets
	Values   [][][]float64 `json:"values"`
	Visits   [][][]int64   `json:"visits"`
	Training *TrainInfo    `json:"training,omitempty"`
}

// Save writes the table as JSON.
func (t *Table) Save(file string) error {
	c, m, l := t.Dims()
	f := tableFile{Kind: TableKind, Version: TableVersion, Buckets: t.Buckets, Training: t.Training,
		Values: make([][][]float64, c), Visits: make([][][]int64, c)}
	for i := 0; i < c; i++ {
		f.Values[i], f.Visits[i] = make([][]float64, m), make([][]int64, m)
		for j := 0; j < m; j++ {
			k := t.index(i, j, 0)
			f.Values[i][j] = t.Q[k : k+l]
			f.Visits[i][j] = t.Visits[k : k+l]
		}
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("table %s: %w", file, err)
	}
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("table %s: %w", file, err)
	}
	return nil
}

// LoadTable reads and validates a table file; an error names the file and the field.
func LoadTable(file string) (*Table, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", file, err)
	}
	t, err := ParseTable(data)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", file, err)
	}
	return t, nil
}

// ParseTable decodes and validates a table document.
func ParseTable(data []byte) (*Table, error) {
	root, err := decodeHeader(data, TableKind, TableVersion)
	if err != nil {
		return nil, err
	}
	var b Buckets
	if b.CPU, err = edges(root, "cpuEdges", 0, 1); err != nil {
		return nil, err
	}
	if b.Mem, err = edges(root, "memEdges", 0, 1); err != nil {
		return nil, err
	}
	if b.LatencyMs, err = edges(root, "latencyEdgesMs", 0, math.Inf(1)); err != nil {
		return nil, err
	}
	t := NewTable(b)
	c, m, l := b.Dims()
	values, err := root.array("values")
	if err != nil {
		return nil, err
	}
	visits, err := root.array("visits")
	if err != nil {
		return nil, err
	}
	err = walk3(values, "values", c, m, l, func(i, j, k int, v any, path string) error {
		q, err := asNumber(v, path)
		t.Q[t.index(i, j, k)] = q
		return err
	})
	if err != nil {
		return nil, err
	}
	err = walk3(visits, "visits", c, m, l, func(i, j, k int, v any, path string) error {
		n, err := asInteger(v, path, 0)
		t.Visits[t.index(i, j, k)] = n
		return err
	})
	if err != nil {
		return nil, err
	}
	if raw, ok := root.get("training"); ok && raw != nil {
		if _, err := asObject(raw, "training"); err != nil {
			return nil, err
		}
		// Informational only; decoded leniently.
		if enc, err := json.Marshal(raw); err == nil {
			var info TrainInfo
			if json.Unmarshal(enc, &info) == nil {
				t.Training = &info
			}
		}
	}
	return t, nil
}

// edges reads a strictly increasing array of bucket edges, each in the open interval (lo, hi).
func edges(root object, key string, lo, hi float64) ([]float64, error) {
	arr, err := root.array(key)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(arr))
	for i, v := range arr {
		path := indexPath(key, i)
		if out[i], err = asNumber(v, path); err != nil {
			return nil, err
		}
		if out[i] <= lo || out[i] >= hi {
			return nil, errAt(path, "must be in (%v, %v), got %v", lo, hi, out[i])
		}
		if i > 0 && out[i] <= out[i-1] {
			return nil, errAt(path, "must be greater than %s[%d] (%v), got %v", key, i-1, out[i-1], out[i])
		}
	}
	return out, nil
}

// walk3 checks that v is a [c][m][l] nested array and calls f on every element.
func walk3(v []any, path string, c, m, l int, f func(i, j, k int, v any, path string) error) error {
	if len(v) != c {
		return errAt(path, "must have %d entries (CPU buckets), got %d", c, len(v))
	}
	for i, vi := range v {
		pi := indexPath(path, i)
		ai, ok := vi.([]any)
		if !ok || len(ai) != m {
			return errAt(pi, "must be an array of %d entries (memory buckets), got %s", m, describeLen(vi))
		}
		for j, vj := range ai {
			pj := indexPath(pi, j)
			aj, ok := vj.([]any)
			if !ok || len(aj) != l {
				return errAt(pj, "must be an array of %d entries (latency buckets), got %s", l, describeLen(vj))
			}
			for k, vk := range aj {
				if err := f(i, j, k, vk, indexPath(pj, k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func describeLen(v any) string {
	if a, ok := v.([]any); ok {
		return fmt.Sprintf("%d", len(a))
	}
	return describe(v)
}
