package qlearn

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

// Params are the Q-learning hyper-parameters (kept in the table file).
type Params struct {
	// Episodes: one episode replays one training trace from an empty cluster; the traces are
	// taken in a seeded random order, each once per pass. 0 means 200 per training trace.
	Episodes int `json:"episodes"`
	// Seed of the only random source (trace order, ε draws, exploratory actions).
	Seed uint64 `json:"seed"`
	// Alpha is the learning rate, Gamma the discount (per placed pod).
	Alpha float64 `json:"alpha"`
	Gamma float64 `json:"gamma"`
	// Epsilon falls linearly from EpsilonStart (first episode) to EpsilonEnd (last).
	EpsilonStart float64 `json:"epsilonStart"`
	EpsilonEnd   float64 `json:"epsilonEnd"`
	// Reward weights, see Reward.
	ImbalanceWeight  float64 `json:"imbalanceWeight"`
	NotLowestPenalty float64 `json:"notLowestPenalty"`
}

// DefaultParams: α 0.1 (a running average over the last ~10 updates of a state: the reward of
// a state varies with everything the buckets do not show), γ 0.5 (a placement's effect on the
// next few pods: the capacity it uses near a data source), ε 0.2 → 0.01, imbalance weight 0.25,
// not-lowest penalty 0.5. γ and the imbalance weight were chosen on synthetic traces of the
// benchmark's topology generator (train seeds 1–2, validate seeds 3 and 6; γ ∈ {0, 0.5, 0.9} ×
// weight ∈ {0.25, 0.5, 1}): larger weights or γ 0.9 traded latency for spread, 0.25 kept the
// latency figures equal to the heuristic's. Not tuned on the recorded traces.
func DefaultParams() Params {
	return Params{Seed: 1, Alpha: 0.1, Gamma: 0.5, EpsilonStart: 0.2, EpsilonEnd: 0.01,
		ImbalanceWeight: 0.25, NotLowestPenalty: 0.5}
}

// Reward of placing p on node (before it is placed):
//
//	r = −latNorm − NotLowestPenalty·[not on a lowest-latency eligible node] − ImbalanceWeight·imbalance
//
// latNorm = min(L, maxLatencyMs)/maxLatencyMs (1 when unmeasured, 0 for a pod without a data
// source); "eligible" is the metrics' eligibility (pod slot, CPU, uplink); imbalance = ΔS/δ, the
// change in S = Σ (u_i − ū)² over all nodes (u = background CPU load + requested/capacity, as
// cpuSpread) per unit δ = the pod's CPU share, = 2(u_node − ū) + δ(1 − 1/N). Summed over an
// episode (γ = 1) the three terms are −(mean latency/maxLatencyMs)·pods, −penalty·(1 −
// lowLatencyShare)·pods and −weight/δ·N·(cpuSpread²_end − cpuSpread²_start): the reward
// expresses the evaluation metrics.
func Reward(c *Cluster, p *Pod, node int, prm Params) float64 {
	t := c.T
	r := 0.0
	if p.HasSource {
		maxLat := edge.DefaultArgs().MaxLatencyMs
		if lat, ok := c.Latency(p, node); ok {
			r -= math.Min(lat, maxLat) / maxLat
		} else {
			r--
		}
		best := math.Inf(1)
		for j := range t.Nodes {
			fits := c.UsedPods[j] < t.Capacity.Pods && c.UsedCPU[j]+p.MilliCPU <= t.Capacity.MilliCPU
			if fits && !(p.NeedsCloud && t.Nodes[j].UplinkDown) {
				best = math.Min(best, latencyOrInf(&t.Nodes[j], p.Source))
			}
		}
		if latencyOrInf(&t.Nodes[node], p.Source) > best {
			r -= prm.NotLowestPenalty
		}
	}
	n := float64(len(t.Nodes))
	mean := 0.0
	for j := range t.Nodes {
		mean += cpuUtil(c, j)
	}
	mean /= n
	delta := float64(p.MilliCPU) / float64(t.Capacity.MilliCPU)
	r -= prm.ImbalanceWeight * (2*(cpuUtil(c, node)-mean) + delta*(1-1/n))
	return r
}

// cpuUtil is a node's utilisation as cpuSpread counts it (not clamped).
func cpuUtil(c *Cluster, j int) float64 {
	return c.T.Nodes[j].CPULoad + float64(c.UsedCPU[j])/float64(c.T.Capacity.MilliCPU)
}

// utilCPU and utilMem are the utilisations EdgePlacement's headroom uses.
func utilCPU(l edge.NodeLoad) float64 {
	return edge.Utilisation(l.CPUReported, l.RequestedMilliCPU, l.AllocatableMilliCPU)
}

func utilMem(l edge.NodeLoad) float64 {
	return edge.Utilisation(l.MemReported, l.RequestedMemory, l.AllocatableMemory)
}

// Update is one Q-learning step for state s with reward r: Q(s) += α (r + γ·next − Q(s)), where
// next is max Q over the next pod's feasible nodes (terminal: no next term).
func (t *Table) Update(s int, r, next float64, terminal bool, alpha, gamma float64) {
	target := r
	if !terminal {
		target += gamma * next
	}
	t.Q[s] += alpha * (target - t.Q[s])
	t.Visits[s]++
}

// Train learns a table from the traces (see Params). Deterministic for a given seed.
func Train(traces []*Trace, b Buckets, prm Params) (*Table, error) {
	if len(traces) == 0 {
		return nil, errors.New("no training traces")
	}
	if prm.Episodes <= 0 {
		prm.Episodes = 200 * len(traces)
	}
	if !(prm.Alpha > 0 && prm.Alpha <= 1) || !(prm.Gamma >= 0 && prm.Gamma < 1) ||
		!(prm.EpsilonStart >= 0 && prm.EpsilonStart <= 1) || !(prm.EpsilonEnd >= 0 && prm.EpsilonEnd <= 1) ||
		!(prm.ImbalanceWeight >= 0) || !(prm.NotLowestPenalty >= 0) {
		return nil, errors.New("need 0 < alpha ≤ 1, 0 ≤ gamma < 1, epsilons in [0, 1], reward weights ≥ 0")
	}
	tab := NewTable(b)
	rng := rand.New(rand.NewPCG(prm.Seed, 0x9e3779b97f4a7c15))
	var perm []int
	var feasible, states []int
	for e := 0; e < prm.Episodes; e++ {
		if e%len(traces) == 0 {
			perm = rng.Perm(len(traces))
		}
		tr := traces[perm[e%len(traces)]]
		eps := prm.EpsilonStart
		if prm.Episodes > 1 {
			eps += (prm.EpsilonEnd - prm.EpsilonStart) * float64(e) / float64(prm.Episodes-1)
		}
		c := NewCluster(tr)
		prev, prevR := -1, 0.0
		for i := range tr.Pods {
			p := &tr.Pods[i]
			feasible = c.FeasibleNodes(p, feasible)
			if len(feasible) == 0 {
				continue // unschedulable here; the episode goes on with the next pod
			}
			states = states[:0]
			greedy := 0
			for k, j := range feasible {
				states = append(states, tab.State(c, p, j))
				if tab.Q[states[k]] > tab.Q[states[greedy]] {
					greedy = k
				}
			}
			if prev >= 0 {
				tab.Update(prev, prevR, tab.Q[states[greedy]], false, prm.Alpha, prm.Gamma)
			}
			pick := greedy
			if rng.Float64() < eps {
				pick = rng.IntN(len(feasible))
			}
			node := feasible[pick]
			prevR = Reward(c, p, node, prm)
			prev = states[pick]
			c.Place(p, node)
		}
		if prev >= 0 {
			tab.Update(prev, prevR, 0, true, prm.Alpha, prm.Gamma)
		}
	}
	tab.Training = &TrainInfo{Params: prm}
	for _, tr := range traces {
		tab.Training.Traces = append(tab.Training.Traces, tr.File)
	}
	return tab, nil
}
