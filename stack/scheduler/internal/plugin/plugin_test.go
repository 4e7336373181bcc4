package plugin

import (
	"context"
	"fmt"
	"math"
	"sync"
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
			p := newPlacement(t, tc.args)
			// As the framework calls it: PreScore once per cycle, then Score per node.
			state := framework.NewCycleState()
			if st := p.PreScore(context.Background(), state, tc.pod, []fwk.NodeInfo{tc.ni}); !st.IsSuccess() {
				t.Fatal(st)
			}
			got, st := p.Score(context.Background(), state, tc.pod, tc.ni)
			if !st.IsSuccess() {
				t.Fatal(st)
			}
			if got != tc.want {
				t.Errorf("score = %d, want %d", got, tc.want)
			}
			// Without PreScore's state (a caller that skipped it) the score is the same.
			if got, _ := p.Score(context.Background(), nil, tc.pod, tc.ni); got != tc.want {
				t.Errorf("score without PreScore = %d, want %d", got, tc.want)
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
			st := (&Uplink{signals: newSignalCache()}).Filter(context.Background(), nil, tc.pod, nodeInfo(tc.node))
			if st.Code() != tc.want {
				t.Errorf("code = %v (%v), want %v", st.Code(), st.Message(), tc.want)
			}
		})
	}
}

func TestUplinkPreFilterSkipsPodsThatDoNotNeedTheCloud(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   fwk.Code
	}{
		{"needs cloud", map[string]string{edge.NeedsCloudLabel: "true"}, fwk.Success},
		{"needs cloud (yes)", map[string]string{edge.NeedsCloudLabel: "Yes"}, fwk.Success},
		{"local pod", nil, fwk.Skip},
		{"explicitly local", map[string]string{edge.NeedsCloudLabel: "false"}, fwk.Skip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, st := (&Uplink{signals: newSignalCache()}).PreFilter(context.Background(), framework.NewCycleState(), pod("p", tc.labels, "0"), nil)
			if st.Code() != tc.want {
				t.Errorf("code = %v, want %v", st.Code(), tc.want)
			}
		})
	}
}

// benchNodes: n distinct nodes shaped like the 1,000-node benchmark's (200 latency annotations
// each) — distinct maps, so the lookups miss the CPU cache as they do in the running scheduler.
func benchNodes(n int) []fwk.NodeInfo {
	nodes := make([]fwk.NodeInfo, n)
	for i := range nodes {
		ann := map[string]string{edge.CPULoadAnnotation: "0.3", edge.MemLoadAnnotation: "0.2", edge.UplinkAnnotation: "up"}
		for s := 0; s < 200; s++ {
			ann[edge.LatencyKey(fmt.Sprintf("site-%d", s))] = fmt.Sprint(20 + (i+s)%60)
		}
		nodes[i] = nodeInfo(node(fmt.Sprintf("edge-%d", i), ann), pod("q", nil, "100m"))
	}
	return nodes
}

// BenchmarkScore1000Nodes: one cycle's scoring of 1,000 nodes as the framework runs it
// (PreScore once, Score per node), with the node signals parsed once (the cache) and, for
// comparison, three annotation lookups per node in every call (what Score did before).
func BenchmarkScore1000Nodes(b *testing.B) {
	nodes := benchNodes(1000)
	p := pod("p", map[string]string{edge.DataSourceLabel: "site-7"}, "100m")
	pl := &Placement{args: edge.DefaultArgs(), signals: newSignalCache()}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			state := framework.NewCycleState()
			pl.PreScore(context.Background(), state, p, nodes)
			for _, ni := range nodes {
				if _, st := pl.Score(context.Background(), state, p, ni); !st.IsSuccess() {
					b.Fatal(st)
				}
			}
		}
	})
	b.Run("annotations-per-call", func(b *testing.B) {
		b.ReportAllocs()
		key := edge.LatencyKey(p.Labels[edge.DataSourceLabel])
		for i := 0; i < b.N; i++ {
			t := pl.termsOf(p)
			for _, ni := range nodes {
				ann := ni.Node().Annotations
				sig := &nodeSignals{latency: []float64{math.NaN()}}
				sig.cpu, _ = edge.ParseLoad(ann[edge.CPULoadAnnotation])
				sig.mem, _ = edge.ParseLoad(ann[edge.MemLoadAnnotation])
				if ms, ok := edge.ParseLatency(ann[key]); ok {
					sig.latency[0] = ms
				}
				pl.scoreNode(&podTerms{milliCPU: t.milliCPU, memory: t.memory, hasSource: true, source: 0}, sig,
					ni.GetRequested(), ni.GetAllocatable())
			}
		}
	})
}

func TestSignalCache(t *testing.T) {
	c := newSignalCache()
	n := node("n", map[string]string{
		edge.CPULoadAnnotation: "40%", edge.MemLoadAnnotation: "0.2", edge.UplinkAnnotation: " Down ",
		edge.LatencyKey("a"): "3.5", edge.LatencyKey("b"): "x", edge.LatencyKey(""): "1",
	})
	s := c.get(n)
	if s.cpu != 0.4 || s.mem != 0.2 || !s.uplinkDown {
		t.Errorf("signals = %+v", s)
	}
	if ms, ok := s.latencyTo(c.sourceIndex("a")); !ok || ms != 3.5 {
		t.Errorf("latency to a = %v, %v", ms, ok)
	}
	if _, ok := s.latencyTo(c.sourceIndex("b")); ok {
		t.Error("a malformed latency counts as measured")
	}
	// A source numbered after the node was parsed: the node had no annotation for it.
	if _, ok := s.latencyTo(c.sourceIndex("c")); ok {
		t.Error("a source the node does not name counts as measured")
	}
	if c.get(n) != s {
		t.Error("the same Node object was parsed again")
	}
	// An update brings a new object: parsed again, the new values win.
	n2 := n.DeepCopy()
	n2.Annotations[edge.LatencyKey("c")] = "7"
	n2.Annotations[edge.UplinkAnnotation] = "up"
	s2 := c.get(n2)
	if ms, ok := s2.latencyTo(c.sourceIndex("c")); !ok || ms != 7 || s2.uplinkDown {
		t.Errorf("after the update: latency to c %v, %v, uplink down %v", ms, ok, s2.uplinkDown)
	}
	if _, ok := c.byNode[n]; ok {
		t.Error("the replaced object's entry is still there")
	}
	c.forget("n")
	if len(c.byNode) != 0 || len(c.current) != 0 {
		t.Error("forget kept the entry")
	}
}

// The framework scores nodes from 16 goroutines: the cache must give every goroutine the same
// answers as a fresh parse while Nodes are being replaced (run with -race).
func TestSignalCacheConcurrentScores(t *testing.T) {
	nodes := benchNodes(50)
	pl := &Placement{args: edge.DefaultArgs(), signals: newSignalCache()}
	fresh := &Placement{args: edge.DefaultArgs(), signals: newSignalCache()}
	p := pod("p", map[string]string{edge.DataSourceLabel: "site-3"}, "100m")
	want := make([]int64, len(nodes))
	for i, ni := range nodes {
		want[i], _ = fresh.Score(context.Background(), nil, p, ni)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				for i, ni := range nodes {
					if r%5 == 0 && g == 0 {
						// A node update: same values, a new object.
						ni = nodeInfo(ni.Node().DeepCopy(), pod("q", nil, "100m"))
					}
					if got, _ := pl.Score(context.Background(), nil, p, ni); got != want[i] {
						errs <- fmt.Sprintf("node %d: %d, want %d", i, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
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
