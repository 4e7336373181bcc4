package qlearn

import (
	"math/rand/v2"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

// Cluster is the simulator's state while a trace's pods are placed: the requests already
// placed on each node (the scheduler's own accounting; the reported loads stay as recorded).
type Cluster struct {
	T        *Trace
	UsedCPU  []int64
	UsedMem  []int64
	UsedPods []int64
}

// NewCluster is the trace's nodes with nothing placed.
func NewCluster(t *Trace) *Cluster {
	n := len(t.Nodes)
	return &Cluster{T: t, UsedCPU: make([]int64, n), UsedMem: make([]int64, n), UsedPods: make([]int64, n)}
}

// Feasible is what the filters allow: a free pod slot, CPU and memory requests within the
// capacity (NodeResourcesFit), and no down uplink for a pod that needs the cloud (UplinkFilter).
func (c *Cluster) Feasible(p *Pod, node int) bool {
	cp := c.T.Capacity
	if c.UsedPods[node] >= cp.Pods || c.UsedCPU[node]+p.MilliCPU > cp.MilliCPU || c.UsedMem[node]+p.Memory > cp.Memory {
		return false
	}
	return !(p.NeedsCloud && c.T.Nodes[node].UplinkDown)
}

// FeasibleNodes lists the feasible nodes in index order (appending to buf).
func (c *Cluster) FeasibleNodes(p *Pod, buf []int) []int {
	buf = buf[:0]
	for j := range c.T.Nodes {
		if c.Feasible(p, j) {
			buf = append(buf, j)
		}
	}
	return buf
}

// Place accounts a pod's requests on a node.
func (c *Cluster) Place(p *Pod, node int) {
	c.UsedCPU[node] += p.MilliCPU
	c.UsedMem[node] += p.Memory
	c.UsedPods[node]++
}

// Load is the node as EdgePlacement scores it for pod p: reported loads, and the requests of the
// pods already placed plus p's own (plugin.scoreNode: requested + the pod's requests).
func (c *Cluster) Load(p *Pod, node int) edge.NodeLoad {
	n := &c.T.Nodes[node]
	return edge.NodeLoad{
		CPUReported:         n.CPULoad,
		MemReported:         n.MemLoad,
		RequestedMilliCPU:   c.UsedCPU[node] + p.MilliCPU,
		RequestedMemory:     c.UsedMem[node] + p.Memory,
		AllocatableMilliCPU: c.T.Capacity.MilliCPU,
		AllocatableMemory:   c.T.Capacity.Memory,
	}
}

// Latency is the node's latency to the pod's data source (ok=false: unmeasured or no source).
func (c *Cluster) Latency(p *Pod, node int) (float64, bool) {
	if !p.HasSource {
		return 0, false
	}
	ms, ok := c.T.Nodes[node].LatencyMs[p.Source]
	return ms, ok
}

// HeuristicScore is EdgePlacement's score of a node for a pod, with the default args.
func (c *Cluster) HeuristicScore(p *Pod, node int) int64 {
	return c.heuristicScore(edge.DefaultArgs(), p, node)
}

func (c *Cluster) heuristicScore(a edge.Args, p *Pod, node int) int64 {
	lat, ok := c.Latency(p, node)
	return edge.Score(a, c.Load(p, node), p.HasSource, lat, ok)
}

// Policy chooses a node for a pod among the feasible ones (never empty, index order).
type Policy interface {
	Name() string
	Choose(c *Cluster, p *Pod, feasible []int) int
}

// Heuristic is the edge scheduler's policy: the highest EdgePlacement score wins, ties to the
// lowest node index. With Ties set, ties are broken uniformly at random instead, as
// kube-scheduler's selectHost does (reservoir sampling): how much the figures move with the
// tie-breaking is the noise band the learned policy has to beat. Args nil means the plugin's
// defaults (edge.DefaultArgs), otherwise the args of a profile's pluginConfig (after
// WithDefaults).
type Heuristic struct {
	Args *edge.Args
	Ties *rand.Rand
}

func (Heuristic) Name() string { return "heuristic" }

func (h Heuristic) Choose(c *Cluster, p *Pod, feasible []int) int {
	a := edge.DefaultArgs()
	if h.Args != nil {
		a = *h.Args
	}
	best, bestScore, ties := -1, int64(-1), 0
	for _, j := range feasible {
		s := c.heuristicScore(a, p, j)
		switch {
		case s > bestScore:
			best, bestScore, ties = j, s, 1
		case s == bestScore && h.Ties != nil:
			ties++
			if h.Ties.IntN(ties) == 0 {
				best = j
			}
		}
	}
	return best
}

// SimResult is a simulated run: placements in binding (= creation) order and the pods no node
// could take.
type SimResult struct {
	Placements []Binding
	Unplaced   []string
}

// Simulate replays the trace's pods in creation order, one at a time (as the scheduling queue
// does for pods of one priority), each onto the node the policy chooses among the feasible ones.
func Simulate(t *Trace, pol Policy) SimResult {
	c := NewCluster(t)
	var res SimResult
	var feasible []int
	for i := range t.Pods {
		p := &t.Pods[i]
		feasible = c.FeasibleNodes(p, feasible)
		if len(feasible) == 0 {
			res.Unplaced = append(res.Unplaced, p.Name)
			continue
		}
		j := pol.Choose(c, p, feasible)
		c.Place(p, j)
		res.Placements = append(res.Placements, Binding{Pod: p.Name, Node: t.Nodes[j].Name})
	}
	return res
}
