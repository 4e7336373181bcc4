// Package plugin adapts the edge placement policy (internal/edge) to the kube-scheduler
// framework: EdgePlacement scores nodes by CPU+memory headroom and latency to the pod's data
// source; UplinkFilter keeps pods that need the cloud off nodes whose uplink is down.
package plugin

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	args edge.Args
}

var (
	_ fwk.ScorePlugin = (*Placement)(nil)
	_ fwk.SignPlugin  = (*Placement)(nil)
)

// NewPlacement is the framework factory; args come from pluginConfig as JSON/YAML.
func NewPlacement(_ context.Context, obj runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	var a edge.Args
	if err := frameworkruntime.DecodeInto(obj, &a); err != nil {
		return nil, fmt.Errorf("%s args: %w", PlacementName, err)
	}
	a, err := a.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PlacementName, err)
	}
	return &Placement{args: a}, nil
}

func (p *Placement) Name() string { return PlacementName }

// Score rates one feasible node for the pod (0..100).
func (p *Placement) Score(_ context.Context, _ fwk.CycleState, pod *v1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	node := ni.Node()
	if node == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	return ScoreNode(p.args, pod, node, ni.GetRequested(), ni.GetAllocatable()), nil
}

// ScoreNode is Score without the framework types around it (used by tests and Score).
func ScoreNode(a edge.Args, pod *v1.Pod, node *v1.Node, requested, allocatable fwk.Resource) int64 {
	ann := node.Annotations
	cpuLoad, _ := edge.ParseLoad(ann[edge.CPULoadAnnotation])
	memLoad, _ := edge.ParseLoad(ann[edge.MemLoadAnnotation])
	reqCPU, reqMem := podRequests(pod)
	load := edge.NodeLoad{
		CPUReported:         cpuLoad,
		MemReported:         memLoad,
		RequestedMilliCPU:   requested.GetMilliCPU() + reqCPU,
		RequestedMemory:     requested.GetMemory() + reqMem,
		AllocatableMilliCPU: allocatable.GetMilliCPU(),
		AllocatableMemory:   allocatable.GetMemory(),
	}
	source := pod.Labels[edge.DataSourceLabel]
	lat, ok := 0.0, false
	if source != "" {
		lat, ok = edge.ParseLatency(ann[edge.LatencyKey(source)])
	}
	return edge.Score(a, load, source != "", lat, ok)
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
type Uplink struct{}

var (
	_ fwk.FilterPlugin      = (*Uplink)(nil)
	_ fwk.EnqueueExtensions = (*Uplink)(nil)
	_ fwk.SignPlugin        = (*Uplink)(nil)
)

// NewUplink is the framework factory.
func NewUplink(_ context.Context, _ runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	return &Uplink{}, nil
}

func (u *Uplink) Name() string { return UplinkName }

// ErrReasonUplinkDown is the reason shown in the pod's FailedScheduling event.
const ErrReasonUplinkDown = "node(s) had their uplink down and the pod needs the cloud"

func (u *Uplink) Filter(_ context.Context, _ fwk.CycleState, pod *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	node := ni.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	if edge.UplinkDownFor(pod.Labels, node.Annotations) {
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
