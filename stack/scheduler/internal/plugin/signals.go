package plugin

import (
	"math"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

// nodeSignals is what the edge plugins read from one Node's annotations, parsed once per Node
// object instead of once per pod and node.
//
// Why: with a latency annotation per data source (200 sources at 1,000 nodes in the benchmark),
// each Node carries a map of ~200 annotations, and looking three keys up in it cost ~2 µs per
// node in the running scheduler (cache misses across 1,000 such maps; 0.3 µs in a hot-cache
// micro-benchmark) — 0.9 ms per pod over the 420 nodes a cycle scores at 1,000 nodes, more
// than all default score plugins together (CPU profile, `edgechaos bench scheduling --profile`).
type nodeSignals struct {
	cpu, mem   float64 // reported loads; 0 when not reported (as edge.ParseLoad)
	uplinkDown bool
	// latency by source index (signalCache.sourceIndex); NaN: not measured (or malformed).
	latency []float64
}

// latencyTo is the node's latency to the source with index i, ok=false when unmeasured.
func (s *nodeSignals) latencyTo(i int) (float64, bool) {
	if i < 0 || i >= len(s.latency) || math.IsNaN(s.latency[i]) {
		return 0, false
	}
	return s.latency[i], true
}

// signalCache holds the parsed signals of the Node objects in use, keyed by the object itself
// (an update of a Node brings a new object, hence a miss and a parse; the entry of the object it
// replaced is dropped then), and numbers the data sources so a node's latencies are a dense
// slice rather than a map. Safe for the framework's parallel Filter/Score calls. A pointer key,
// not the node's name: the lookup hashes 8 bytes instead of reading the name's bytes, which at
// 1,000 nodes were one more cache miss per node and cycle (measured with sync.Map by name:
// 0.2 ms per pod).
type signalCache struct {
	mu      sync.RWMutex
	sources map[string]int
	byNode  map[*v1.Node]*nodeSignals
	current map[string]*v1.Node // name → the object byNode holds for it
}

func newSignalCache() *signalCache {
	return &signalCache{sources: map[string]int{}, byNode: map[*v1.Node]*nodeSignals{}, current: map[string]*v1.Node{}}
}

// sourceIndex numbers a data source, adding it when new. A Node parsed before a source got its
// number carried no annotation for it (parsing numbers every source a Node names), so an index
// past the end of a node's latency slice means unmeasured.
func (c *signalCache) sourceIndex(source string) int {
	c.mu.RLock()
	i, ok := c.sources[source]
	c.mu.RUnlock()
	if ok {
		return i
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sourceIndexLocked(source)
}

func (c *signalCache) sourceIndexLocked(source string) int {
	if i, ok := c.sources[source]; ok {
		return i
	}
	i := len(c.sources)
	c.sources[source] = i
	return i
}

// get returns the node's signals, parsing its annotations when this Node object is new.
func (c *signalCache) get(node *v1.Node) *nodeSignals {
	c.mu.RLock()
	s, ok := c.byNode[node]
	c.mu.RUnlock()
	if ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.byNode[node]; ok {
		return s
	}
	s = c.parseLocked(node)
	if old, ok := c.current[node.Name]; ok {
		delete(c.byNode, old)
	}
	c.byNode[node], c.current[node.Name] = s, node
	return s
}

// forget drops a deleted node's entry.
func (c *signalCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.current[name]; ok {
		delete(c.byNode, old)
		delete(c.current, name)
	}
}

func (c *signalCache) parseLocked(node *v1.Node) *nodeSignals {
	s := &nodeSignals{}
	ann := node.Annotations
	s.cpu, _ = edge.ParseLoad(ann[edge.CPULoadAnnotation])
	s.mem, _ = edge.ParseLoad(ann[edge.MemLoadAnnotation])
	s.uplinkDown = edge.UplinkIsDown(ann)
	for k, v := range ann {
		source, ok := strings.CutPrefix(k, edge.LatencyAnnotationPrefix)
		if !ok || source == "" {
			continue
		}
		i := c.sourceIndexLocked(source)
		for len(s.latency) <= i {
			s.latency = append(s.latency, math.NaN())
		}
		if ms, ok := edge.ParseLatency(v); ok {
			s.latency[i] = ms
		}
	}
	return s
}

// signals is shared by the plugins of every profile in the process: Node objects are the
// scheduler's, not a profile's.
var signals = newSignalCache()
