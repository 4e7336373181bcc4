package migrate

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

var t0 = time.Unix(1_000_000, 0)

func testNode(load string, taints ...v1.Taint) *v1.Node {
	rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("4Gi")}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-0", Annotations: map[string]string{edge.CPULoadAnnotation: load}},
		Spec:       v1.NodeSpec{Taints: taints},
		Status:     v1.NodeStatus{Capacity: rl, Allocatable: rl},
	}
}

// testPod is a pod on edge-0 requesting cpu, owned by a controller of kind owner ("" = none).
func testPod(name, cpu, owner string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "work", CreationTimestamp: metav1.NewTime(t0)},
		Spec: v1.PodSpec{NodeName: "edge-0", Containers: []v1.Container{{
			Name:      "c",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}},
		}}},
		Status: v1.PodStatus{Phase: v1.PodRunning},
	}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: owner, Name: "x", UID: "u", Controller: &yes}}
	}
	return p
}

var otherTaint = v1.Taint{Key: "example.com/maintenance", Effect: v1.TaintEffectNoExecute}

func TestReconcile(t *testing.T) {
	terminating := testPod("terminating", "1", "ReplicaSet")
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	pods := []*v1.Pod{
		testPod("rs-a", "400m", "ReplicaSet"),
		testPod("rs-b", "400m", "ReplicaSet"),
		testPod("rs-small", "100m", "ReplicaSet"),
		testPod("daemon", "1", "DaemonSet"),
		testPod("bare", "1", ""),
		terminating,
	}
	args := edge.MigrateArgs{Threshold: 0.85, Target: 0.8, Sustain: 2 * time.Second, Cooldown: 10 * time.Second, MaxPerRound: 5}
	for _, tc := range []struct {
		name string
		node *v1.Node
		// overSince: the node was first seen overloaded this long ago (nil = not before).
		overSince *time.Duration
		// evictedAgo: the last eviction from the node was this long ago (nil = never).
		evictedAgo *time.Duration
		failUpdate bool
		wantTaints []v1.Taint
		wantEvict  []string
	}{
		{name: "idle node: nothing happens", node: testNode("0.3"),
			wantTaints: nil, wantEvict: nil},
		{name: "overload not sustained yet: no taint, no eviction", node: testNode("0.97"),
			wantTaints: nil, wantEvict: nil},
		{name: "sustained overload: tainted, then the largest controller-owned pods evicted down to the target",
			node: testNode("0.97", otherTaint), overSince: ptr(3 * time.Second),
			// 0.97 - 0.1 (rs-a) = 0.87 > 0.8; - 0.1 (rs-b) = 0.77: stop. DaemonSet, bare and terminating pods never.
			wantTaints: []v1.Taint{otherTaint, OverloadTaint()}, wantEvict: []string{"work/rs-a", "work/rs-b"}},
		{name: "already tainted, still overloaded, in the cooldown: taint kept, no eviction",
			node: testNode("0.97", OverloadTaint()), overSince: ptr(30 * time.Second), evictedAgo: ptr(5 * time.Second),
			wantTaints: []v1.Taint{OverloadTaint()}, wantEvict: nil},
		{name: "already tainted, cooldown over: evicts again without re-tainting",
			node: testNode("0.9", OverloadTaint()), overSince: ptr(30 * time.Second), evictedAgo: ptr(11 * time.Second),
			wantTaints: []v1.Taint{OverloadTaint()}, wantEvict: []string{"work/rs-a"}},
		{name: "load back under the threshold: our taint removed, others kept",
			node: testNode("0.4", otherTaint, OverloadTaint()), overSince: ptr(30 * time.Second),
			wantTaints: []v1.Taint{otherTaint}, wantEvict: nil},
		{name: "tainting fails: nothing is evicted",
			node: testNode("0.97"), overSince: ptr(3 * time.Second), failUpdate: true,
			wantTaints: nil, wantEvict: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{tc.node.DeepCopy()}
			client := fake.NewClientset(objs...)
			var evicted []string
			client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "eviction" {
					return false, nil, nil
				}
				e := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
				evicted = append(evicted, e.Namespace+"/"+e.Name)
				return true, nil, nil
			})
			if tc.failUpdate {
				client.PrependReactor("update", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("apiserver unavailable")
				})
			}
			c := New(client, Options{Args: args})
			c.now = func() time.Time { return t0 }
			if tc.overSince != nil {
				c.state.Observe(args, "edge-0", 1, t0.Add(-*tc.overSince))
			}
			if tc.evictedAgo != nil {
				c.state.Evicted("edge-0", t0.Add(-*tc.evictedAgo))
			}
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{"node": podNode})
			for _, p := range pods {
				if err := idx.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			c.reconcile(context.Background(), tc.node, idx)

			got, err := client.CoreV1().Nodes().Get(context.Background(), "edge-0", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Spec.Taints, tc.wantTaints) {
				t.Errorf("taints = %v, want %v", got.Spec.Taints, tc.wantTaints)
			}
			sort.Strings(evicted)
			if !reflect.DeepEqual(evicted, tc.wantEvict) {
				t.Errorf("evicted = %v, want %v", evicted, tc.wantEvict)
			}
			if len(tc.wantEvict) > 0 {
				// The taint must be in place before the first eviction.
				taintAt, evictAt := -1, -1
				for i, a := range client.Actions() {
					if a.GetVerb() == "update" && a.GetResource().Resource == "nodes" && taintAt < 0 {
						taintAt = i
					}
					if a.GetSubresource() == "eviction" && evictAt < 0 {
						evictAt = i
					}
				}
				if !HasOverloadTaint(tc.node.Spec.Taints) && (taintAt < 0 || taintAt > evictAt) {
					t.Errorf("taint (action %d) must precede the first eviction (action %d)", taintAt, evictAt)
				}
			}
		})
	}
}

func TestWithOverloadTaint(t *testing.T) {
	ours := OverloadTaint()
	preferNo := v1.Taint{Key: edge.OverloadedTaintKey, Effect: v1.TaintEffectPreferNoSchedule}
	for _, tc := range []struct {
		name    string
		in      []v1.Taint
		on      bool
		want    []v1.Taint
		changed bool
	}{
		{"add to none", nil, true, []v1.Taint{ours}, true},
		{"add keeps others first", []v1.Taint{otherTaint}, true, []v1.Taint{otherTaint, ours}, true},
		{"add when present: no change", []v1.Taint{ours}, true, []v1.Taint{ours}, false},
		{"remove keeps others", []v1.Taint{ours, otherTaint}, false, []v1.Taint{otherTaint}, true},
		{"remove when absent: no change", []v1.Taint{otherTaint}, false, []v1.Taint{otherTaint}, false},
		{"same key, another effect is not ours", []v1.Taint{preferNo}, true, []v1.Taint{preferNo, ours}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]v1.Taint(nil), tc.in...)
			got, changed := WithOverloadTaint(in, tc.on)
			if changed != tc.changed || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("= %v, %v; want %v, %v", got, changed, tc.want, tc.changed)
			}
			if !reflect.DeepEqual(in, tc.in) && !(len(in) == 0 && len(tc.in) == 0) {
				t.Errorf("input modified: %v", in)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
