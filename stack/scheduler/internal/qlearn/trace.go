// Package qlearn evaluates a learned placement policy against the edge scheduler's heuristic,
// offline, on recorded runs of `edgechaos bench scheduling` ("traces"): a tabular Q-learning
// policy over node-load and latency buckets, trained in episodes that replay the training
// traces, and a simulator that replays a trace's pods against its nodes with either policy.
// The placement-quality metrics are computed exactly like src/scheduling/quality.ts, so the
// recorded placements of a trace can be replayed through them and checked against the
// benchmark's own figures. It imports internal/edge (the heuristic as the plugin computes it)
// and nothing from Kubernetes. See stack/scheduler/README.md, "Learned policy (Q-learning)".
package qlearn

import (
	"fmt"
	"os"
)

// TraceKind and TraceVersion identify the trace format written by `edgechaos bench scheduling`.
const (
	TraceKind    = "scheduling-trace"
	TraceVersion = 1
)

// Capacity is every node's allocatable (the benchmark's nodes are all one profile).
type Capacity struct {
	MilliCPU int64
	Memory   int64
	Pods     int64
}

// Node is one node and the signals the harness reported for it.
type Node struct {
	Name       string
	Zone       int64
	CPULoad    float64 // reported background utilisation, 0..1
	MemLoad    float64
	UplinkDown bool
	LatencyMs  map[string]float64 // to each data source; a missing source is unmeasured
}

// Pod is one pod in creation order.
type Pod struct {
	Name       string
	Source     string // the data source; "" when the pod names none
	HasSource  bool
	NeedsCloud bool
	MilliCPU   int64
	Memory     int64
}

// Binding is one placement: pod name → node name.
type Binding struct {
	Pod  string
	Node string
}

// Trace is one recorded round of one scheduler.
type Trace struct {
	File       string // as given to LoadTrace (for messages)
	Scheduler  string
	Capacity   Capacity
	Nodes      []Node
	Pods       []Pod     // creation order
	Placements []Binding // binding order, as recorded

	nodeIndex map[string]int
	podIndex  map[string]int
}

// NodeIndex is the index of a node by name.
func (t *Trace) NodeIndex(name string) (int, bool) {
	i, ok := t.nodeIndex[name]
	return i, ok
}

// PodIndex is the index of a pod by name.
func (t *Trace) PodIndex(name string) (int, bool) {
	i, ok := t.podIndex[name]
	return i, ok
}

// LoadTrace reads and validates a trace file; an error names the file and the field.
func LoadTrace(file string) (*Trace, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", file, err)
	}
	t, err := ParseTrace(data)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", file, err)
	}
	t.File = file
	return t, nil
}

// ParseTrace decodes and validates a trace document (errors name the field, not the file).
func ParseTrace(data []byte) (*Trace, error) {
	root, err := decodeHeader(data, TraceKind, TraceVersion)
	if err != nil {
		return nil, err
	}
	t := &Trace{}
	if t.Scheduler, err = root.str("scheduler"); err != nil {
		return nil, err
	}
	if t.Scheduler == "" {
		return nil, errAt("scheduler", "must not be empty")
	}
	if t.Capacity, err = parseCapacity(root); err != nil {
		return nil, err
	}
	if t.Nodes, t.nodeIndex, err = parseNodes(root); err != nil {
		return nil, err
	}
	if t.Pods, t.podIndex, err = parsePods(root); err != nil {
		return nil, err
	}
	if t.Placements, err = parsePlacements(root, t); err != nil {
		return nil, err
	}
	return t, nil
}

func parseCapacity(root object) (Capacity, error) {
	c, err := root.object("capacity")
	if err != nil {
		return Capacity{}, err
	}
	var out Capacity
	if out.MilliCPU, err = c.integer("milliCPU", 1); err != nil {
		return Capacity{}, err
	}
	if out.Memory, err = c.integer("memory", 1); err != nil {
		return Capacity{}, err
	}
	if out.Pods, err = c.integer("pods", 1); err != nil {
		return Capacity{}, err
	}
	return out, nil
}

// parseNamed reads the non-empty array `key` of objects with unique non-empty names, each
// through `parse`; it returns them in order and name → index.
func parseNamed[T any](root object, key, what string, parse func(o object, name string) (T, error)) ([]T, map[string]int, error) {
	arr, err := root.array(key)
	if err != nil {
		return nil, nil, err
	}
	if len(arr) == 0 {
		return nil, nil, errAt(key, "must name at least one %s", what)
	}
	out := make([]T, len(arr))
	index := make(map[string]int, len(arr))
	for i, v := range arr {
		o, err := asObject(v, indexPath(key, i))
		if err != nil {
			return nil, nil, err
		}
		name, err := o.str("name")
		if err != nil {
			return nil, nil, err
		}
		if name == "" {
			return nil, nil, errAt(joinPath(o.path, "name"), "must not be empty")
		}
		if j, dup := index[name]; dup {
			return nil, nil, errAt(joinPath(o.path, "name"), "%q is also %s[%d]", name, key, j)
		}
		index[name] = i
		if out[i], err = parse(o, name); err != nil {
			return nil, nil, err
		}
	}
	return out, index, nil
}

func parseNodes(root object) ([]Node, map[string]int, error) {
	return parseNamed(root, "nodes", "node", parseNode)
}

func parseNode(o object, name string) (Node, error) {
	n := Node{Name: name}
	var err error
	if n.Zone, err = o.integer("zone", 0); err != nil {
		return Node{}, err
	}
	if n.CPULoad, err = loadField(o, "cpuLoad"); err != nil {
		return Node{}, err
	}
	if n.MemLoad, err = loadField(o, "memLoad"); err != nil {
		return Node{}, err
	}
	if n.UplinkDown, err = o.boolean("uplinkDown"); err != nil {
		return Node{}, err
	}
	lat, err := o.object("latencyMs")
	if err != nil {
		return Node{}, err
	}
	n.LatencyMs = make(map[string]float64, len(lat.m))
	for _, src := range lat.sortedKeys() {
		path := joinPath(lat.path, src)
		if src == "" {
			return Node{}, errAt(path, "a data source name must not be empty")
		}
		ms, err := asNumber(lat.m[src], path)
		if err != nil {
			return Node{}, err
		}
		if ms < 0 {
			return Node{}, errAt(path, "must be ≥ 0 ms (omit an unmeasured latency), got %v", ms)
		}
		n.LatencyMs[src] = ms
	}
	return n, nil
}

// loadField reads a reported utilisation: a fraction in [0, 1].
func loadField(o object, key string) (float64, error) {
	v, err := o.number(key)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 1 {
		return 0, errAt(joinPath(o.path, key), "must be a fraction in [0, 1], got %v", v)
	}
	return v, nil
}

func parsePods(root object) ([]Pod, map[string]int, error) {
	return parseNamed(root, "pods", "pod", parsePod)
}

func parsePod(o object, name string) (Pod, error) {
	p := Pod{Name: name}
	var err error
	if src, ok := o.get("source"); ok {
		if p.Source, err = asString(src, joinPath(o.path, "source")); err != nil {
			return Pod{}, err
		}
		if p.Source == "" {
			return Pod{}, errAt(joinPath(o.path, "source"), "must not be empty (omit it for a pod without a data source)")
		}
		p.HasSource = true
	}
	if p.NeedsCloud, err = o.boolean("needsCloud"); err != nil {
		return Pod{}, err
	}
	if p.MilliCPU, err = o.integer("milliCPU", 0); err != nil {
		return Pod{}, err
	}
	if p.Memory, err = o.integer("memory", 0); err != nil {
		return Pod{}, err
	}
	return p, nil
}

func parsePlacements(root object, t *Trace) ([]Binding, error) {
	arr, err := root.array("placements")
	if err != nil {
		return nil, err
	}
	out := make([]Binding, len(arr))
	seen := make(map[string]int, len(arr))
	for i, v := range arr {
		o, err := asObject(v, indexPath("placements", i))
		if err != nil {
			return nil, err
		}
		b := &out[i]
		if b.Pod, err = o.str("pod"); err != nil {
			return nil, err
		}
		if _, ok := t.podIndex[b.Pod]; !ok {
			return nil, errAt(joinPath(o.path, "pod"), "%q is not one of the trace's pods", b.Pod)
		}
		if j, dup := seen[b.Pod]; dup {
			return nil, errAt(joinPath(o.path, "pod"), "%q was already placed by placements[%d]", b.Pod, j)
		}
		seen[b.Pod] = i
		if b.Node, err = o.str("node"); err != nil {
			return nil, err
		}
		if _, ok := t.nodeIndex[b.Node]; !ok {
			return nil, errAt(joinPath(o.path, "node"), "%q is not one of the trace's nodes", b.Node)
		}
	}
	return out, nil
}
