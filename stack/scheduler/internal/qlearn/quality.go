package qlearn

import "math"

// Quality is the placement quality of a run, computed exactly like placementQuality in
// src/scheduling/quality.ts (same eligibility replay, same rounding), so the figures for a
// trace's recorded placements are the benchmark's own.
type Quality struct {
	// Placed is the number of placements counted (on a node of the trace).
	Placed int
	// CPUSpread is the population standard deviation of per-node CPU utilisation (background
	// load + requests / capacity), rounded to 3 decimals.
	CPUSpread float64
	// LowLatencyShare: share of pods with a data source placed on a lowest-latency node among
	// those eligible when it was bound (a pod slot and CPU left, uplink up if it needs the cloud).
	LowLatencyShare float64
	// MeanLatencyMs from each pod's node to its data source (1 decimal; +Inf if any pod sits on a
	// node with no measured latency to its source, as in quality.ts).
	MeanLatencyMs float64
	// OnDownUplink: pods needing the cloud on a node whose uplink is down.
	OnDownUplink int
	// Utilisation per node (trace order), 3 decimals.
	Utilisation []float64
	// MemSpread is not in quality.ts: the same spread for memory (background memLoad + memory
	// requests / capacity), 3 decimals — what a policy that balances CPU alone may give up.
	MemSpread float64
}

// PlacementQuality replays placements (binding order) over the trace's nodes. As in quality.ts,
// eligibility for the lowest-latency test is a free pod slot and enough CPU (requests) at that
// moment and, for a pod needing the cloud, an uplink that is up; memory is not part of it. A
// placement naming an unknown node (or pod) is skipped.
func PlacementQuality(t *Trace, placements []Binding) Quality {
	usedCPU := make([]int64, len(t.Nodes))
	usedMem := make([]int64, len(t.Nodes))
	usedPods := make([]int64, len(t.Nodes))
	withSource, onLowest, onDown, placed := 0, 0, 0, 0
	latSum := 0.0
	for _, b := range placements {
		ni, ok := t.NodeIndex(b.Node)
		if !ok {
			continue
		}
		pi, ok := t.PodIndex(b.Pod)
		if !ok {
			continue
		}
		p, node := &t.Pods[pi], &t.Nodes[ni]
		placed++
		if p.NeedsCloud && node.UplinkDown {
			onDown++
		}
		if p.HasSource {
			best := math.Inf(1)
			for j := range t.Nodes {
				n := &t.Nodes[j]
				fits := usedPods[j] < t.Capacity.Pods && usedCPU[j]+p.MilliCPU <= t.Capacity.MilliCPU
				if !fits || (p.NeedsCloud && n.UplinkDown) {
					continue
				}
				best = math.Min(best, latencyOrInf(n, p.Source))
			}
			lat := latencyOrInf(node, p.Source)
			withSource++
			latSum += lat
			if lat <= best {
				onLowest++
			}
		}
		usedCPU[ni] += p.MilliCPU
		usedMem[ni] += p.Memory
		usedPods[ni]++
	}
	u := make([]float64, len(t.Nodes))
	mu := make([]float64, len(t.Nodes))
	for j := range t.Nodes {
		u[j] = t.Nodes[j].CPULoad + float64(usedCPU[j])/float64(t.Capacity.MilliCPU)
		mu[j] = t.Nodes[j].MemLoad + float64(usedMem[j])/float64(t.Capacity.Memory)
	}
	q := Quality{Placed: placed, CPUSpread: r3(populationSD(u)), OnDownUplink: onDown, MemSpread: r3(populationSD(mu))}
	if withSource > 0 {
		q.LowLatencyShare = r3(float64(onLowest) / float64(withSource))
		q.MeanLatencyMs = math.Round(latSum/float64(withSource)*10) / 10
	}
	q.Utilisation = make([]float64, len(u))
	for j, x := range u {
		q.Utilisation[j] = r3(x)
	}
	return q
}

// populationSD is quality.ts's: mean by a sum in order, then the root of the mean squared deviation.
func populationSD(u []float64) float64 {
	sum := 0.0
	for _, x := range u {
		sum += x
	}
	mean := sum / float64(len(u))
	sq := 0.0
	for _, x := range u {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq / float64(len(u)))
}

// latencyOrInf is `n.latencyMs[src] ?? Infinity`.
func latencyOrInf(n *Node, src string) float64 {
	if ms, ok := n.LatencyMs[src]; ok {
		return ms
	}
	return math.Inf(1)
}

// r3 is quality.ts's Math.round(x * 1000) / 1000 (the values are ≥ 0, where Math.round and
// math.Round agree).
func r3(x float64) float64 { return math.Round(x*1000) / 1000 }
