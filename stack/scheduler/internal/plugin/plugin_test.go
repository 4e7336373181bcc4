package plugin

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

func node(name string, ann map[string]string) *v1.Node {
	rl := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("4"),
		v1.ResourceMemory: resource.MustParse("4Gi"),
		v1.ResourcePods:   resource.MustParse("32"),
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Status:     v1.NodeStatus{Capacity: rl, Allocatable: rl},
	}
}

func pod(name string, labels map[string]string, cpu string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("0"),
			}},
		}}},
	}
}

func nodeInfo(n *v1.Node, pods ...*v1.Pod) fwk.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(n)
	return ni
}

func newPlacement(t *testing.T, raw string) *Placement {
	t.Helper()
	var obj runtime.Object
	if raw != "" {
		obj = &runtime.Unknown{Raw: []byte(raw), ContentType: runtime.ContentTypeJSON}
	}
	p, err := NewPlacement(context.Background(), obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Placement)
}

func TestPlacementScore(t *testing.T) {
	src := map[string]string{edge.DataSourceLabel: "plant-a"}
	for _, tc := range []struct {
		name string
		args string
		pod  *v1.Pod
		ni   fwk.NodeInfo
		want int64
	}{
		{"idle node next to the source", "", pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.LatencyKey("plant-a"): "0"})), 100},
		{"latency to another source does not count", "", pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.LatencyKey("plant-b"): "0"})), 33},
		{"reported load lowers the score", "", pod("p", nil, "0"),
			nodeInfo(node("n", map[string]string{edge.CPULoadAnnotation: "60%", edge.MemLoadAnnotation: "0.2"})), 60},
		{"the pod's own request and the node's pods count", "", pod("p", nil, "1"),
			nodeInfo(node("n", nil), pod("q", nil, "1")), 75},
		{"weights from args", `{"loadWeight":1,"latencyWeight":1,"maxLatencyMs":10}`, pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.LatencyKey("plant-a"): "5"})), 75},
		{"overloaded node next to the source scores lowest", "", pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.CPULoadAnnotation: "0.97", edge.LatencyKey("plant-a"): "0"})), 0},
		{"overload threshold from args", `{"overloadThreshold":0.98}`, pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.CPULoadAnnotation: "0.97", edge.MemLoadAnnotation: "0", edge.LatencyKey("plant-a"): "0"})), 84},
		{"garbage annotations count as unreported", "", pod("p", src, "0"),
			nodeInfo(node("n", map[string]string{edge.CPULoadAnnotation: "x", edge.LatencyKey("plant-a"): "y"})), 33},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st := newPlacement(t, tc.args).Score(context.Background(), nil, tc.pod, tc.ni)
			if !st.IsSuccess() {
				t.Fatal(st)
			}
			if got != tc.want {
				t.Errorf("score = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPlacementRejectsBadArgs(t *testing.T) {
	for _, raw := range []string{`{"loadWeight":-1}`, `{"maxLatencyMs":"far"}`} {
		obj := &runtime.Unknown{Raw: []byte(raw), ContentType: runtime.ContentTypeJSON}
		if _, err := NewPlacement(context.Background(), obj, nil); err == nil {
			t.Errorf("args %s accepted", raw)
		}
	}
}

func TestUplinkFilter(t *testing.T) {
	needs := map[string]string{edge.NeedsCloudLabel: "true"}
	down := map[string]string{edge.UplinkAnnotation: "down"}
	for _, tc := range []struct {
		name string
		pod  *v1.Pod
		node *v1.Node
		want fwk.Code
	}{
		{"needs cloud on a partitioned node", pod("p", needs, "0"), node("n", down), fwk.Unschedulable},
		{"needs cloud, uplink up", pod("p", needs, "0"), node("n", map[string]string{edge.UplinkAnnotation: "up"}), fwk.Success},
		{"local pod on a partitioned node", pod("p", nil, "0"), node("n", down), fwk.Success},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := (&Uplink{}).Filter(context.Background(), nil, tc.pod, nodeInfo(tc.node))
			if st.Code() != tc.want {
				t.Errorf("code = %v (%v), want %v", st.Code(), st.Message(), tc.want)
			}
		})
	}
}

func TestUplinkRequeueHint(t *testing.T) {
	needs := pod("p", map[string]string{edge.NeedsCloudLabel: "true"}, "0")
	for _, tc := range []struct {
		name string
		obj  interface{}
		want fwk.QueueingHint
	}{
		{"uplink back up", node("n", map[string]string{edge.UplinkAnnotation: "up"}), fwk.Queue},
		{"still down", node("n", map[string]string{edge.UplinkAnnotation: "down"}), fwk.QueueSkip},
		{"unknown object", "x", fwk.Queue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := isSchedulableAfterNodeChange(klog.Background(), needs, nil, tc.obj)
			if err != nil || got != tc.want {
				t.Errorf("hint = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
