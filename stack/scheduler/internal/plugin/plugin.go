// Package plugin adapts the edge placement policy (internal/edge) to the kube-scheduler
// framework: EdgePlacement scores nodes by CPU+memory headroom and latency to the pod's data
// source; UplinkFilter keeps pods that need the cloud off nodes whose uplink is down.
package plugin

import (
	"context"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

const (
	// PlacementName is the score plugin's name in a KubeSchedulerConfiguration.
	PlacementName = "EdgePlacement"
	// UplinkName is the filter plugin's name.
	UplinkName = "UplinkFilter"
)

// Placement scores nodes; see edge.Score.
type Placement struct {
	args    edge.Args
	signals *signalCache
}

var (
	_ fwk.PreScorePlugin = (*Placement)(nil)
	_ fwk.ScorePlugin    = (*Placement)(nil)
	_ fwk.SignPlugin     = (*Placement)(nil)
)

// placementStateKey is where PreScore leaves the pod's part of the score for Score.
const placementStateKey fwk.StateKey = "edgechaos.io/" + PlacementName

// podTerms is everything the score needs from the pod, computed once per scheduling cycle
// (PreScore) instead of once per node: its requests and the number of its data source.
type podTerms struct {
	milliCPU, memory int64
	hasSource        bool
	source           int // signalCache.sourceIndex
}

// Clone: podTerms is never modified after PreScore.
func (t *podTerms) Clone() fwk.StateData { return t }

func (p *Placement) termsOf(pod *v1.Pod) *podTerms {
	cpu, mem := podRequests(pod)
	t := &podTerms{milliCPU: cpu, memory: mem, source: -1}
	if source := pod.Labels[edge.DataSourceLabel]; source != "" {
		t.hasSource, t.source = true, p.signals.sourceIndex(source)
	}
	return t
}

// NewPlacement is the framework factory; args come from pluginConfig as JSON/YAML.
func NewPlacement(_ context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	var a edge.Args
	if err := frameworkruntime.DecodeInto(obj, &a); err != nil {
		return nil, fmt.Errorf("%s args: %w", PlacementName, err)
	}
	a, err := a.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PlacementName, err)
	}
	forgetDeletedNodes(h)
	return &Placement{args: a, signals: signals}, nil
}

var forgetOnce sync.Once

// forgetDeletedNodes drops a deleted Node's parsed signals (once per process; no-op without a
// framework handle, as in unit tests).
func forgetDeletedNodes(h fwk.Handle) {
	if h == nil || h.SharedInformerFactory() == nil {
		return
	}
	forgetOnce.Do(func() {
		_, err := h.SharedInformerFactory().Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj interface{}) {
				switch n := obj.(type) {
				case *v1.Node:
					signals.forget(n.Name)
				case cache.DeletedFinalStateUnknown:
					if n, ok := n.Obj.(*v1.Node); ok {
						signals.forget(n.Name)
					}
				}
			},
		})
		if err != nil {
			klog.ErrorS(err, "edge plugins: cannot watch node deletions; a deleted node's parsed signals stay cached")
		}
	})
}

func (p *Placement) Name() string { return PlacementName }

// PreScore computes the pod's part of the score once per cycle; Score reads it for every node.
func (p *Placement) PreScore(_ context.Context, state fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	state.Write(placementStateKey, p.termsOf(pod))
	return nil
}

// Score rates one feasible node for the pod (0..100).
func (p *Placement) Score(_ context.Context, state fwk.CycleState, pod *v1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	node := ni.Node()
	if node == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	return p.scoreNode(p.termsFrom(state, pod), p.signals.get(node), ni.GetRequested(), ni.GetAllocatable()), nil
}

// termsFrom reads what PreScore stored; without it (a caller that skipped PreScore) it
// computes the same from the pod.
func (p *Placement) termsFrom(state fwk.CycleState, pod *v1.Pod) *podTerms {
	if state != nil {
		if d, err := state.Read(placementStateKey); err == nil {
			if t, ok := d.(*podTerms); ok {
				return t
			}
		}
	}
	return p.termsOf(pod)
}

func (p *Placement) scoreNode(t *podTerms, sig *nodeSignals, requested, allocatable fwk.Resource) int64 {
	load := edge.NodeLoad{
		CPUReported:         sig.cpu,
		MemReported:         sig.mem,
		RequestedMilliCPU:   requested.GetMilliCPU() + t.milliCPU,
		RequestedMemory:     requested.GetMemory() + t.memory,
		AllocatableMilliCPU: allocatable.GetMilliCPU(),
		AllocatableMemory:   allocatable.GetMemory(),
	}
	lat, ok := 0.0, false
	if t.hasSource {
		lat, ok = sig.latencyTo(t.source)
	}
	return edge.Score(p.args, load, t.hasSource, lat, ok)
}

// podRequests sums the containers' requests (init containers are short-lived and ignored here;
// NodeResourcesFit still enforces them).
func podRequests(pod *v1.Pod) (milliCPU, memory int64) {
	for _, c := range pod.Spec.Containers {
		milliCPU += c.Resources.Requests.Cpu().MilliValue()
		memory += c.Resources.Requests.Memory().Value()
	}
	return milliCPU, memory
}

func (p *Placement) ScoreExtensions() fwk.ScoreExtensions { return nil }

// SignPod lets identical pods share a scheduling result (opportunistic batching, KEP-5598):
// the score depends on the pod only through its data source and its requests.
func (p *Placement) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	cpu, mem := podRequests(pod)
	return []fwk.SignFragment{
		{Key: "edgechaos.io/EdgePlacement.DataSource()", Value: pod.Labels[edge.DataSourceLabel]},
		{Key: "edgechaos.io/EdgePlacement.Requests()", Value: [2]int64{cpu, mem}},
	}, nil
}

// Uplink filters out nodes whose uplink is down for pods labelled as needing the cloud.
type Uplink struct {
	signals *signalCache
}

var (
	_ fwk.PreFilterPlugin   = (*Uplink)(nil)
	_ fwk.FilterPlugin      = (*Uplink)(nil)
	_ fwk.EnqueueExtensions = (*Uplink)(nil)
	_ fwk.SignPlugin        = (*Uplink)(nil)
)

// NewUplink is the framework factory.
func NewUplink(_ context.Context, _ runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	forgetDeletedNodes(h)
	return &Uplink{signals: signals}, nil
}

func (u *Uplink) Name() string { return UplinkName }

// ErrReasonUplinkDown is the reason shown in the pod's FailedScheduling event.
const ErrReasonUplinkDown = "node(s) had their uplink down and the pod needs the cloud"

// PreFilter skips the filter for a pod that does not need the cloud: no node is filtered out for
// it, so its cycle need not ask every node.
func (u *Uplink) PreFilter(_ context.Context, _ fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if !edge.NeedsCloud(pod.Labels) {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	return nil, nil
}

func (u *Uplink) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

func (u *Uplink) Filter(_ context.Context, _ fwk.CycleState, pod *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	node := ni.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	if edge.NeedsCloud(pod.Labels) && u.signals.get(node).uplinkDown {
		return fwk.NewStatus(fwk.Unschedulable, ErrReasonUplinkDown)
	}
	return nil
}

// EventsToRegister: a pod rejected because every uplink was down becomes schedulable when a
// node's annotations change (uplink back) or a node is added.
func (u *Uplink) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{
			Event:          fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeAnnotation},
			QueueingHintFn: isSchedulableAfterNodeChange,
		},
	}, nil
}

func isSchedulableAfterNodeChange(_ klog.Logger, pod *v1.Pod, _, newObj interface{}) (fwk.QueueingHint, error) {
	n, ok := newObj.(*v1.Node)
	if !ok {
		return fwk.Queue, nil
	}
	if edge.UplinkDownFor(pod.Labels, n.Annotations) {
		return fwk.QueueSkip, nil
	}
	return fwk.Queue, nil
}

func (u *Uplink) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return []fwk.SignFragment{{Key: "edgechaos.io/UplinkFilter.NeedsCloud()", Value: edge.NeedsCloud(pod.Labels)}}, nil
}
