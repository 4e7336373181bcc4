// Command edge-scheduler is kube-scheduler built with the edgechaos plugins EdgePlacement
// (score: CPU+memory headroom from the nodes' reported load, latency to the pod's data source)
// and UplinkFilter (filter: no node with its uplink down for pods that need the cloud). Enable
// them in a profile of a KubeSchedulerConfiguration (see stack/scheduler/README.md); every
// kube-scheduler flag works as usual.
//
// `edge-scheduler migrate [flags]` runs the overload-migration controller instead.
// `edge-scheduler qlearn train|eval …` trains/evaluates the offline learned-policy experiment
// (internal/qlearn; not part of the scheduler).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
	"github.com/edgechaos/edgechaos/stack/scheduler/internal/migrate"
	"github.com/edgechaos/edgechaos/stack/scheduler/internal/plugin"
	"github.com/edgechaos/edgechaos/stack/scheduler/internal/qlearn"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		os.Exit(runMigrate(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "qlearn" {
		os.Exit(qlearn.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	cmd := app.NewSchedulerCommand(
		app.WithPlugin(plugin.PlacementName, plugin.NewPlacement),
		app.WithPlugin(plugin.UplinkName, plugin.NewUplink),
	)
	cmd.Use = "edge-scheduler"
	os.Exit(cli.Run(cmd))
}

func runMigrate(argv []string) int {
	d := edge.DefaultMigrateArgs()
	fs := flag.NewFlagSet("edge-scheduler migrate", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig (default: in-cluster)")
	threshold := fs.Float64("threshold", d.Threshold, "reported load (0..1) above which a node is overloaded")
	target := fs.Float64("target", d.Target, "evict until the projected load is at or below this")
	sustain := fs.Duration("sustain", d.Sustain, "how long the overload must last before evicting")
	cooldown := fs.Duration("cooldown", d.Cooldown, "pause per node after evicting")
	maxPer := fs.Int("max-per-round", d.MaxPerRound, "evictions per node per decision")
	interval := fs.Duration("interval", time.Second, "decision period")
	ns := fs.String("namespace", "", "only evict in this namespace (default: all but kube-system)")
	klog.InitFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *threshold <= 0 || *threshold > 1 || *target < 0 || *target >= *threshold {
		fmt.Fprintf(os.Stderr, "edge-scheduler migrate: need 0 ≤ target < threshold ≤ 1 (got %v, %v)\n", *target, *threshold)
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge-scheduler migrate: kubeconfig: %v\n", err)
		return 1
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge-scheduler migrate: client: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := migrate.New(client, migrate.Options{
		Args:      edge.MigrateArgs{Threshold: *threshold, Target: *target, Sustain: *sustain, Cooldown: *cooldown, MaxPerRound: *maxPer},
		Interval:  *interval,
		Namespace: *ns,
	})
	if err := c.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "edge-scheduler migrate: %v\n", err)
		return 1
	}
	return 0
}
