// Package migrate is the overload-migration controller: it watches the nodes' reported load
// (edge.CPULoadAnnotation / edge.MemLoadAnnotation) and, once a node stays above the threshold
// for the sustain period, taints it edgechaos.io/overloaded:NoSchedule and then evicts pods from
// it through the Eviction API (PodDisruptionBudgets apply). Their controllers recreate them and
// the scheduler places the replacements elsewhere: the taint keeps every scheduler (the default
// one too) from putting them back, and EdgePlacement scores the node lowest as soon as its
// load is reported. The taint comes off once the load is at or under the threshold again. It is the minimal stand-in for the descheduler's LowNodeUtilization,
// which judges nodes by requests or metrics-server usage rather than by the reported load.
package migrate

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

// Options of one controller.
type Options struct {
	Args     edge.MigrateArgs
	Interval time.Duration
	// Namespace limits evictions to one namespace ("" = all but kube-system).
	Namespace string
}

// Controller evicts pods from nodes that stay overloaded.
type Controller struct {
	client kubernetes.Interface
	opts   Options
	state  *edge.Overload
	now    func() time.Time
}

func New(client kubernetes.Interface, opts Options) *Controller {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	return &Controller{client: client, opts: opts, state: edge.NewOverload(), now: time.Now}
}

// Run watches nodes and pods and decides every Interval until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	f := informers.NewSharedInformerFactory(c.client, 0)
	nodes := f.Core().V1().Nodes().Lister()
	pods := f.Core().V1().Pods()
	if err := pods.Informer().AddIndexers(cache.Indexers{"node": podNode}); err != nil {
		return fmt.Errorf("pod index: %w", err)
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache for %v did not sync", typ)
		}
	}
	klog.InfoS("overload migration running", "threshold", c.opts.Args.Threshold, "target", c.opts.Args.Target,
		"sustain", c.opts.Args.Sustain, "cooldown", c.opts.Args.Cooldown)
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		list, err := nodes.List(labels.Everything())
		if err != nil {
			return fmt.Errorf("list nodes: %w", err)
		}
		for _, n := range list {
			c.reconcile(ctx, n, pods.Informer().GetIndexer())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// podNode indexes pods by the node they are bound to.
func podNode(obj interface{}) ([]string, error) {
	p, ok := obj.(*v1.Pod)
	if !ok || p.Spec.NodeName == "" {
		return nil, nil
	}
	return []string{p.Spec.NodeName}, nil
}

func (c *Controller) reconcile(ctx context.Context, n *v1.Node, podIndex cache.Indexer) {
	cpu, _ := edge.ParseLoad(n.Annotations[edge.CPULoadAnnotation])
	mem, _ := edge.ParseLoad(n.Annotations[edge.MemLoadAnnotation])
	load := max(cpu, mem)
	now := c.now()
	step := c.state.Step(c.opts.Args, n.Name, load, HasOverloadTaint(n.Spec.Taints), now)
	if step.Untaint {
		if err := c.setOverloadTaint(ctx, n.Name, false); err != nil {
			klog.ErrorS(err, "remove the overloaded taint", "node", n.Name)
		} else {
			klog.InfoS("node no longer overloaded: taint removed", "node", n.Name, "load", load)
		}
	}
	if step.Taint {
		// Taint before evicting: a replacement scheduled before the taint reached the
		// scheduler could land right back here. No taint, no eviction (retried next tick).
		if err := c.setOverloadTaint(ctx, n.Name, true); err != nil {
			klog.ErrorS(err, "taint overloaded node", "node", n.Name)
			return
		}
		klog.InfoS("overloaded node tainted NoSchedule", "node", n.Name, "load", load)
	}
	if !step.Evict {
		return
	}
	objs, err := podIndex.ByIndex("node", n.Name)
	if err != nil {
		klog.ErrorS(err, "pods on node", "node", n.Name)
		return
	}
	allocCPU := n.Status.Allocatable.Cpu().MilliValue()
	byName := map[string]*v1.Pod{}
	var cands []edge.Candidate
	for _, o := range objs {
		p, ok := o.(*v1.Pod)
		if !ok || !c.evictable(p) {
			continue
		}
		key := p.Namespace + "/" + p.Name
		byName[key] = p
		var req int64
		for _, ctr := range p.Spec.Containers {
			req += ctr.Resources.Requests.Cpu().MilliValue()
		}
		share := 0.0
		if allocCPU > 0 {
			share = float64(req) / float64(allocCPU)
		}
		var prio int32
		if p.Spec.Priority != nil {
			prio = *p.Spec.Priority
		}
		cands = append(cands, edge.Candidate{Name: key, Priority: prio, CPUShare: share, Created: p.CreationTimestamp.Time})
	}
	victims := edge.PickVictims(c.opts.Args, load, cands)
	if len(victims) == 0 {
		return
	}
	c.state.Evicted(n.Name, now)
	for _, v := range victims {
		p := byName[v.Name]
		err := c.client.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		})
		switch {
		case err == nil:
			klog.InfoS("evicted from overloaded node", "pod", klog.KObj(p), "node", n.Name, "load", load)
		case apierrors.IsNotFound(err):
		default:
			klog.ErrorS(err, "evict", "pod", klog.KObj(p), "node", n.Name)
		}
	}
}

// OverloadTaint is the taint the controller puts on a node it drains.
func OverloadTaint() v1.Taint {
	return v1.Taint{Key: edge.OverloadedTaintKey, Value: "true", Effect: v1.TaintEffectNoSchedule}
}

// HasOverloadTaint reports whether taints include the overloaded NoSchedule taint.
func HasOverloadTaint(taints []v1.Taint) bool {
	for _, t := range taints {
		if t.Key == edge.OverloadedTaintKey && t.Effect == v1.TaintEffectNoSchedule {
			return true
		}
	}
	return false
}

// WithOverloadTaint returns taints with the overloaded taint added (on) or removed (off), and
// whether that changed anything. Other taints are kept in order; the input is not modified.
func WithOverloadTaint(taints []v1.Taint, on bool) ([]v1.Taint, bool) {
	if on == HasOverloadTaint(taints) {
		return taints, false
	}
	out := make([]v1.Taint, 0, len(taints)+1)
	for _, t := range taints {
		if t.Key == edge.OverloadedTaintKey && t.Effect == v1.TaintEffectNoSchedule {
			continue
		}
		out = append(out, t)
	}
	if on {
		out = append(out, OverloadTaint())
	}
	return out, true
}

// setOverloadTaint adds or removes the taint on the live node object (read-modify-write,
// retried on a conflict with the node's heartbeat or another writer).
func (c *Controller) setOverloadTaint(ctx context.Context, name string, on bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints, changed := WithOverloadTaint(n.Spec.Taints, on)
		if !changed {
			return nil
		}
		n = n.DeepCopy()
		n.Spec.Taints = taints
		_, err = c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// evictable: a running pod that some controller will recreate, not a DaemonSet's or mirror pod,
// not already terminating, in the configured namespace.
func (c *Controller) evictable(p *v1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
		return false
	}
	if c.opts.Namespace != "" && p.Namespace != c.opts.Namespace {
		return false
	}
	if c.opts.Namespace == "" && p.Namespace == metav1.NamespaceSystem {
		return false
	}
	if _, mirror := p.Annotations[v1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.Kind != "DaemonSet"
}
