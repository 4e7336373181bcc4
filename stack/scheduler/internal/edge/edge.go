// Package edge holds the placement policy of the edge scheduler as pure functions of plain
// values: parsing the load/latency/uplink signals from node annotations, the node score and
// the uplink filter decision. It imports nothing from Kubernetes, so it is unit-tested (with
// -race) in seconds; internal/plugin adapts it to the scheduler framework.
package edge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The signals the edge scheduler reads. They are written onto Node objects by whoever measures
// them — on a real cluster a small reporter next to the edge agent (CPU/memory from the node's
// cgroup root, latency from a prober that pings each data source, uplink from the agent's
// online/offline mode); on the embedded kwok cluster, the harness itself (edgechaos bench
// scheduling, the integration tests).
const (
	// CPULoadAnnotation is the node's measured CPU utilisation: a fraction "0.42" or a percentage "42%".
	CPULoadAnnotation = "edgechaos.io/cpu-load"
	// MemLoadAnnotation is the node's measured memory utilisation, same format.
	MemLoadAnnotation = "edgechaos.io/mem-load"
	// LatencyAnnotationPrefix + <source> is the round-trip time in ms from the node to a data source,
	// e.g. edgechaos.io/latency-ms.plant-a: "3.5".
	LatencyAnnotationPrefix = "edgechaos.io/latency-ms."
	// UplinkAnnotation is "up" or "down": whether the node currently reaches the cloud.
	UplinkAnnotation = "edgechaos.io/uplink"
	// DataSourceLabel on a pod names the data source it reads (the suffix of a latency annotation).
	DataSourceLabel = "edgechaos.io/data-source"
	// NeedsCloudLabel "true" on a pod asks for a node whose uplink is not down.
	NeedsCloudLabel = "edgechaos.io/needs-cloud"
	// UplinkDown is the UplinkAnnotation value that filters nodes out for pods needing the cloud.
	UplinkDown = "down"
	// OverloadedTaintKey is the NoSchedule taint the overload-migration controller puts on a node
	// before it evicts pods from it (and removes once the node's load is back under the
	// threshold), so no scheduler places the evicted pods' replacements back onto it.
	OverloadedTaintKey = "edgechaos.io/overloaded"
)

// MaxScore is the framework's maximum node score (fwk.MaxNodeScore).
const MaxScore = 100

// Args are the score weights, set per profile in the KubeSchedulerConfiguration
// (pluginConfig[].args of EdgePlacement). Zero values take the defaults.
type Args struct {
	// LoadWeight and LatencyWeight weigh CPU+memory headroom against closeness to the data source.
	LoadWeight    float64 `json:"loadWeight"`
	LatencyWeight float64 `json:"latencyWeight"`
	// CPUWeight and MemoryWeight weigh the two resources inside the headroom term.
	CPUWeight    float64 `json:"cpuWeight"`
	MemoryWeight float64 `json:"memoryWeight"`
	// MaxLatencyMs is the latency that scores 0 (and what an unmeasured node counts as).
	MaxLatencyMs float64 `json:"maxLatencyMs"`
	// OverloadThreshold: a node whose reported CPU or memory load is above this scores 0 (the
	// lowest) whatever its latency — the same threshold the overload-migration controller
	// evicts at, so new work does not join a node that is being drained. ≥ 1 turns it off
	// (0 in the config means the default, 0.85).
	OverloadThreshold float64 `json:"overloadThreshold"`
}

// DefaultArgs: closeness to the data source counts twice as much as headroom, so a pod stays
// near its data unless the near nodes are ~0.35 busier (utilisation) than a far one that is
// 20 ms away.
func DefaultArgs() Args {
	return Args{LoadWeight: 1, LatencyWeight: 2, CPUWeight: 1, MemoryWeight: 1, MaxLatencyMs: 100, OverloadThreshold: 0.85}
}

// WithDefaults fills unset (zero) fields from DefaultArgs and rejects negative or all-zero weights.
func (a Args) WithDefaults() (Args, error) {
	d := DefaultArgs()
	out := a
	if out.LoadWeight == 0 && out.LatencyWeight == 0 {
		out.LoadWeight, out.LatencyWeight = d.LoadWeight, d.LatencyWeight
	}
	if out.CPUWeight == 0 && out.MemoryWeight == 0 {
		out.CPUWeight, out.MemoryWeight = d.CPUWeight, d.MemoryWeight
	}
	if out.MaxLatencyMs == 0 {
		out.MaxLatencyMs = d.MaxLatencyMs
	}
	if out.OverloadThreshold == 0 {
		out.OverloadThreshold = d.OverloadThreshold
	}
	for name, v := range map[string]float64{
		"loadWeight": out.LoadWeight, "latencyWeight": out.LatencyWeight,
		"cpuWeight": out.CPUWeight, "memoryWeight": out.MemoryWeight, "maxLatencyMs": out.MaxLatencyMs,
		"overloadThreshold": out.OverloadThreshold,
	} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Args{}, fmt.Errorf("edge scheduler args: %s must be a finite number ≥ 0, got %v", name, v)
		}
	}
	return out, nil
}

// ParseLoad reads a utilisation annotation: "0.42", "42%". ok is false when absent or malformed;
// the result is clamped to [0, 1].
func ParseLoad(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	scale := 1.0
	if strings.HasSuffix(s, "%") {
		s, scale = strings.TrimSpace(strings.TrimSuffix(s, "%")), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return clamp01(v / scale), true
}

// ParseLatency reads a latency annotation in ms; ok is false when absent, malformed or negative.
func ParseLatency(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// LatencyKey is the node annotation holding the latency to `source`.
func LatencyKey(source string) string { return LatencyAnnotationPrefix + source }

// NodeLoad is one node as the score sees it: the reported utilisation and the scheduler's own
// accounting of requests (including the pod being placed).
type NodeLoad struct {
	CPUReported, MemReported float64 // fractions; 0 when not reported
	RequestedMilliCPU        int64
	RequestedMemory          int64
	AllocatableMilliCPU      int64
	AllocatableMemory        int64
}

// Utilisation is the reported utilisation plus the share of allocatable already requested by
// pods the scheduler placed, clamped to [0, 1]. Adding requests keeps a burst of pods arriving
// between two reports from piling onto the one node that looked idle; the reported part covers
// what requests do not show (system daemons, non-Kubernetes work, pods using more than they ask).
func Utilisation(reported float64, requested, allocatable int64) float64 {
	if allocatable <= 0 {
		return 1
	}
	return clamp01(reported + float64(requested)/float64(allocatable))
}

// HeadroomScore is 0..MaxScore: MaxScore on an idle node, 0 on a full one.
func HeadroomScore(a Args, n NodeLoad) float64 {
	cpu := Utilisation(n.CPUReported, n.RequestedMilliCPU, n.AllocatableMilliCPU)
	mem := Utilisation(n.MemReported, n.RequestedMemory, n.AllocatableMemory)
	busy := (a.CPUWeight*cpu + a.MemoryWeight*mem) / (a.CPUWeight + a.MemoryWeight)
	return MaxScore * (1 - busy)
}

// LatencyScore is 0..MaxScore: MaxScore at 0 ms, falling linearly to 0 at MaxLatencyMs.
// An unmeasured latency (ok=false) scores 0, like the worst measured one.
func LatencyScore(a Args, latencyMs float64, ok bool) float64 {
	if !ok {
		return 0
	}
	return MaxScore * (1 - math.Min(latencyMs, a.MaxLatencyMs)/a.MaxLatencyMs)
}

// Overloaded reports whether a node's reported CPU or memory load is above the overload
// threshold (the pods' requests do not count: this is the reporter's signal, the one the
// overload-migration controller acts on).
func Overloaded(a Args, n NodeLoad) bool {
	return a.OverloadThreshold > 0 && a.OverloadThreshold < 1 && max(n.CPUReported, n.MemReported) > a.OverloadThreshold
}

// Score combines headroom and latency with the weights; a pod naming no data source is scored
// on headroom alone. An overloaded node scores 0, the lowest: closeness to the data source must
// not pull pods (least of all the replacements of pods just evicted from it) onto it.
func Score(a Args, n NodeLoad, hasSource bool, latencyMs float64, latencyOK bool) int64 {
	if Overloaded(a, n) {
		return 0
	}
	h := HeadroomScore(a, n)
	if !hasSource || a.LatencyWeight == 0 {
		if a.LoadWeight == 0 {
			return 0
		}
		return int64(math.Round(h))
	}
	l := LatencyScore(a, latencyMs, latencyOK)
	return int64(math.Round((a.LoadWeight*h + a.LatencyWeight*l) / (a.LoadWeight + a.LatencyWeight)))
}

// NeedsCloud reports whether a pod's labels ask for cloud connectivity.
func NeedsCloud(podLabels map[string]string) bool {
	v := strings.ToLower(strings.TrimSpace(podLabels[NeedsCloudLabel]))
	return v == "true" || v == "yes" || v == "1"
}

// UplinkDownFor reports whether a node must be filtered out for a pod: the pod needs the cloud
// and the node's uplink annotation says down. A node without the annotation is assumed up.
func UplinkDownFor(podLabels, nodeAnnotations map[string]string) bool {
	return NeedsCloud(podLabels) && UplinkIsDown(nodeAnnotations)
}

// UplinkIsDown reports whether a node's uplink annotation says down.
func UplinkIsDown(nodeAnnotations map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(nodeAnnotations[UplinkAnnotation]), UplinkDown)
}

func clamp01(v float64) float64 {
	return math.Max(0, math.Min(1, v))
}
