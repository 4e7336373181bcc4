package qlearn

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/edgechaos/edgechaos/stack/scheduler/internal/edge"
)

const usage = `usage:
  edge-scheduler qlearn train --trace F [--trace F ...] --out table.json [--episodes N --seed S ...]
  edge-scheduler qlearn eval --table table.json --trace F [--trace F ...] [--format text|markdown]
      [--tie-runs N] [--heuristic-args '{"cpuWeight":1,"memoryWeight":0}']
`

// Main runs `edge-scheduler qlearn …` (args after "qlearn"); the exit code is 0, 1 (failure) or
// 2 (usage).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "train":
		return runTrain(args[1:], stdout, stderr)
	case "eval":
		return runEval(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "edge-scheduler qlearn: unknown subcommand %q\n%s", args[0], usage)
	return 2
}

type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edge-scheduler qlearn train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var traces fileList
	d := DefaultParams()
	fs.Var(&traces, "trace", "a training trace (repeat for more)")
	out := fs.String("out", "", "write the Q-table here")
	fs.IntVar(&d.Episodes, "episodes", 0, "episodes (one trace replay each; 0: 200 per trace)")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed")
	fs.Float64Var(&d.Alpha, "alpha", d.Alpha, "learning rate")
	fs.Float64Var(&d.Gamma, "gamma", d.Gamma, "discount per placed pod")
	fs.Float64Var(&d.EpsilonStart, "epsilon-start", d.EpsilonStart, "exploration rate of the first episode")
	fs.Float64Var(&d.EpsilonEnd, "epsilon-end", d.EpsilonEnd, "exploration rate of the last episode")
	fs.Float64Var(&d.ImbalanceWeight, "imbalance-weight", d.ImbalanceWeight, "reward weight of the CPU imbalance a placement adds")
	fs.Float64Var(&d.NotLowestPenalty, "not-lowest-penalty", d.NotLowestPenalty, "reward penalty for a pod not on a lowest-latency eligible node")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(traces) == 0 || *out == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edge-scheduler qlearn train: need --trace and --out (and no other arguments)\n%s", usage)
		return 2
	}
	ts, err := loadTraces(traces)
	if err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn train: %v\n", err)
		return 1
	}
	tab, err := Train(ts, DefaultBuckets(), d)
	if err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn train: %v\n", err)
		return 1
	}
	if err := tab.Save(*out); err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn train: %v\n", err)
		return 1
	}
	visited := 0
	for _, v := range tab.Visits {
		if v > 0 {
			visited++
		}
	}
	fmt.Fprintf(stdout, "trained on %d trace(s), %d episodes (seed %d): %d of %d states visited; wrote %s\n",
		len(ts), tab.Training.Params.Episodes, d.Seed, visited, len(tab.Visits), *out)
	return 0
}

func loadTraces(files []string) ([]*Trace, error) {
	out := make([]*Trace, 0, len(files))
	for _, f := range files {
		t, err := LoadTrace(f)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// group is the traces of one benchmark run: the same nodes and pod sequence, one trace per
// scheduler.
type group struct {
	traces []*Trace
}

// runKey identifies a run by capacity, nodes and pods (not the recorded placements or scheduler).
func runKey(t *Trace) string {
	h := sha256.New()
	type pod struct {
		Source     string
		HasSource  bool
		NeedsCloud bool
		MilliCPU   int64
		Memory     int64
	}
	pods := make([]pod, len(t.Pods))
	for i, p := range t.Pods {
		pods[i] = pod{p.Source, p.HasSource, p.NeedsCloud, p.MilliCPU, p.Memory}
	}
	_ = json.NewEncoder(h).Encode([]any{t.Capacity, t.Nodes, pods})
	return string(h.Sum(nil))
}

func groupTraces(ts []*Trace) []*group {
	var out []*group
	byKey := map[string]*group{}
	for _, t := range ts {
		k := runKey(t)
		g := byKey[k]
		if g == nil {
			g = &group{}
			byKey[k] = g
			out = append(out, g)
		}
		g.traces = append(g.traces, t)
	}
	return out
}

// row is one line of an evaluation table.
type row struct {
	name     string
	q        Quality
	unplaced int
}

// band is the range of the figures over runs of a policy with random tie-breaking.
type band struct {
	name     string
	runs     int
	min, max Quality
}

func (b *band) add(q Quality) {
	if b.runs == 0 {
		b.min, b.max = q, q
	}
	b.runs++
	b.min.LowLatencyShare = math.Min(b.min.LowLatencyShare, q.LowLatencyShare)
	b.max.LowLatencyShare = math.Max(b.max.LowLatencyShare, q.LowLatencyShare)
	b.min.MeanLatencyMs = math.Min(b.min.MeanLatencyMs, q.MeanLatencyMs)
	b.max.MeanLatencyMs = math.Max(b.max.MeanLatencyMs, q.MeanLatencyMs)
	b.min.CPUSpread = math.Min(b.min.CPUSpread, q.CPUSpread)
	b.max.CPUSpread = math.Max(b.max.CPUSpread, q.CPUSpread)
	b.min.OnDownUplink = min(b.min.OnDownUplink, q.OnDownUplink)
	b.max.OnDownUplink = max(b.max.OnDownUplink, q.OnDownUplink)
	b.min.MemSpread = math.Min(b.min.MemSpread, q.MemSpread)
	b.max.MemSpread = math.Max(b.max.MemSpread, q.MemSpread)
}

// Evaluation is the figures for one run (group of traces).
type Evaluation struct {
	Files     []string
	Nodes     int
	Pods      int
	Recorded  []row
	Heuristic row
	Learned   row
	// HeuristicTies and LearnedTies: the same policies with ties broken at random (as
	// kube-scheduler does), over several seeds — the noise band.
	HeuristicTies, LearnedTies band
}

// Evaluate replays the recorded placements and simulates both policies on each run (and each
// tieRuns more times with random tie-breaking, seeds 1..tieRuns). args nil: the heuristic with
// the plugin's default args.
func Evaluate(tab *Table, ts []*Trace, tieRuns int, args *edge.Args) []Evaluation {
	hname := "heuristic"
	if args != nil {
		hname += " " + argsDiff(*args)
	}
	var out []Evaluation
	for _, g := range groupTraces(ts) {
		t := g.traces[0]
		ev := Evaluation{Nodes: len(t.Nodes), Pods: len(t.Pods)}
		for _, tr := range g.traces {
			ev.Files = append(ev.Files, tr.File)
			ev.Recorded = append(ev.Recorded, row{
				name: "recorded " + tr.Scheduler, q: PlacementQuality(tr, tr.Placements),
				unplaced: len(tr.Pods) - len(tr.Placements),
			})
		}
		h := Simulate(t, Heuristic{Args: args})
		ev.Heuristic = row{name: hname + " (simulated)", q: PlacementQuality(t, h.Placements), unplaced: len(h.Unplaced)}
		l := Simulate(t, NewLearned(tab, nil))
		ev.Learned = row{name: "learned (simulated)", q: PlacementQuality(t, l.Placements), unplaced: len(l.Unplaced)}
		ev.HeuristicTies.name = fmt.Sprintf("%s, random ties ×%d", hname, tieRuns)
		ev.LearnedTies.name = fmt.Sprintf("learned, random ties ×%d", tieRuns)
		for k := 1; k <= tieRuns; k++ {
			r := Simulate(t, Heuristic{Args: args, Ties: rand.New(rand.NewPCG(uint64(k), 0x7469657321))})
			ev.HeuristicTies.add(PlacementQuality(t, r.Placements))
			r = Simulate(t, NewLearned(tab, rand.New(rand.NewPCG(uint64(k), 0x7469657321))))
			ev.LearnedTies.add(PlacementQuality(t, r.Placements))
		}
		out = append(out, ev)
	}
	return out
}

func runEval(argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edge-scheduler qlearn eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var traces fileList
	fs.Var(&traces, "trace", "a trace to evaluate on (repeat for more; traces of one run are shown together)")
	tableFile := fs.String("table", "", "the Q-table (from qlearn train)")
	format := fs.String("format", "text", "text or markdown")
	tieRuns := fs.Int("tie-runs", 20, "also simulate both policies this many times with random tie-breaking (the noise band)")
	heuristicArgs := fs.String("heuristic-args", "", `EdgePlacement args for the heuristic as JSON, e.g. '{"memoryWeight": 0}' (default: the plugin's defaults)`)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if len(traces) == 0 || *tableFile == "" || fs.NArg() > 0 || (*format != "text" && *format != "markdown") || *tieRuns < 0 {
		fmt.Fprintf(stderr, "edge-scheduler qlearn eval: need --table and --trace, --format text|markdown\n%s", usage)
		return 2
	}
	tab, err := LoadTable(*tableFile)
	if err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn eval: %v\n", err)
		return 1
	}
	ts, err := loadTraces(traces)
	if err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn eval: %v\n", err)
		return 1
	}
	var args *edge.Args
	if *heuristicArgs != "" {
		var a edge.Args
		dec := json.NewDecoder(strings.NewReader(*heuristicArgs))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			fmt.Fprintf(stderr, "edge-scheduler qlearn eval: --heuristic-args: %v\n", err)
			return 2
		}
		a, err := a.WithDefaults()
		if err != nil {
			fmt.Fprintf(stderr, "edge-scheduler qlearn eval: --heuristic-args: %v\n", err)
			return 2
		}
		args = &a
	}
	evs := Evaluate(tab, ts, *tieRuns, args)
	if *format == "markdown" {
		err = writeMarkdown(stdout, evs)
	} else {
		err = writeText(stdout, evs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "edge-scheduler qlearn eval: %v\n", err)
		return 1
	}
	return 0
}

func writeText(w io.Writer, evs []Evaluation) error {
	for i, ev := range evs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: %d nodes, %d pods\n", strings.Join(ev.Files, ", "), ev.Nodes, ev.Pods)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "policy\tplaced\tunplaced\tlowLatencyShare\tmeanLatencyMs\tcpuSpread\tonDownUplink\t(memSpread)\t")
		for _, r := range append(append([]row{}, ev.Recorded...), ev.Heuristic, ev.Learned) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t\n", r.name, r.q.Placed, r.unplaced,
				num(r.q.LowLatencyShare, 3), num(r.q.MeanLatencyMs, 1), num(r.q.CPUSpread, 3), r.q.OnDownUplink, num(r.q.MemSpread, 3))
		}
		for _, b := range ev.bands() {
			fmt.Fprintf(tw, "%s\t\t\t%s\t%s\t%s\t%s\t%s\t\n", b.name, b.lowLatencyShare(), b.meanLatencyMs(), b.cpuSpread(), b.onDownUplink(), b.memSpread())
		}
		h, l := ev.Heuristic.q, ev.Learned.q
		fmt.Fprintf(tw, "learned/heuristic\t\t\t%s\t%s\t%s\t%s\t%s\t\n", ratio(l.LowLatencyShare, h.LowLatencyShare),
			ratio(l.MeanLatencyMs, h.MeanLatencyMs), ratio(l.CPUSpread, h.CPUSpread),
			ratio(float64(l.OnDownUplink), float64(h.OnDownUplink)), ratio(l.MemSpread, h.MemSpread))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	writeSummary(w, evs, false)
	return nil
}

func writeMarkdown(w io.Writer, evs []Evaluation) error {
	fmt.Fprintln(w, "| run | policy | placed | lowLatencyShare | meanLatencyMs | cpuSpread | onDownUplink | (memSpread) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, ev := range evs {
		name := fmt.Sprintf("%s (%d nodes, %d pods)", runName(ev.Files), ev.Nodes, ev.Pods)
		for _, r := range append(append([]row{}, ev.Recorded...), ev.Heuristic, ev.Learned) {
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %d | %s |\n", name, r.name, r.q.Placed,
				num(r.q.LowLatencyShare, 3), num(r.q.MeanLatencyMs, 1), num(r.q.CPUSpread, 3), r.q.OnDownUplink, num(r.q.MemSpread, 3))
		}
		for _, b := range ev.bands() {
			fmt.Fprintf(w, "| %s | %s | | %s | %s | %s | %s | %s |\n", name, b.name, b.lowLatencyShare(), b.meanLatencyMs(), b.cpuSpread(), b.onDownUplink(), b.memSpread())
		}
		h, l := ev.Heuristic.q, ev.Learned.q
		fmt.Fprintf(w, "| %s | **learned/heuristic** | | %s | %s | %s | %s | %s |\n", name,
			ratio(l.LowLatencyShare, h.LowLatencyShare), ratio(l.MeanLatencyMs, h.MeanLatencyMs),
			ratio(l.CPUSpread, h.CPUSpread), ratio(float64(l.OnDownUplink), float64(h.OnDownUplink)), ratio(l.MemSpread, h.MemSpread))
	}
	fmt.Fprintln(w)
	writeSummary(w, evs, true)
	return nil
}

// runName names a run by the common prefix of its trace files' base names ("n50-s3" for
// n50-s3-edge-scheduler.trace.json and n50-s3-bench-default-scheduler.trace.json), or the first
// base name.
func runName(files []string) string {
	if len(files) == 0 {
		return ""
	}
	prefix := filepath.Base(files[0])
	if len(files) == 1 {
		return prefix
	}
	for _, f := range files[1:] {
		b := filepath.Base(f)
		n := 0
		for n < len(prefix) && n < len(b) && prefix[n] == b[n] {
			n++
		}
		prefix = prefix[:n]
	}
	if prefix = strings.TrimRight(prefix, "-_."); prefix == "" {
		return filepath.Base(files[0])
	}
	return prefix
}

// writeSummary counts, over the runs, where the learned policy is better, equal or worse than
// the heuristic per metric, where it is better or worse than every run of the heuristic with
// random ties (beyond the tie-breaking noise), and the mean of each metric.
func writeSummary(w io.Writer, evs []Evaluation, markdown bool) {
	type metric struct {
		name   string
		get    func(Quality) float64
		higher bool // higher is better
	}
	ms := []metric{
		{"lowLatencyShare", func(q Quality) float64 { return q.LowLatencyShare }, true},
		{"meanLatencyMs", func(q Quality) float64 { return q.MeanLatencyMs }, false},
		{"cpuSpread", func(q Quality) float64 { return q.CPUSpread }, false},
		{"onDownUplink", func(q Quality) float64 { return float64(q.OnDownUplink) }, false},
		{"(memSpread)", func(q Quality) float64 { return q.MemSpread }, false},
	}
	fmt.Fprintf(w, "learned vs heuristic over %d run(s):\n", len(evs))
	var tw *tabwriter.Writer
	line := func(cells ...string) {
		if markdown {
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		} else {
			fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
		}
	}
	if markdown {
		fmt.Fprintln(w)
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	line("metric", "learned better", "equal", "worse", "better beyond tie band", "worse beyond tie band", "mean heuristic", "mean learned")
	if markdown {
		line("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:")
	}
	for _, m := range ms {
		better, equal, worse, bb, wb := 0, 0, 0, 0, 0
		sh, sl := 0.0, 0.0
		for _, ev := range evs {
			h, l := m.get(ev.Heuristic.q), m.get(ev.Learned.q)
			sh, sl = sh+h, sl+l
			switch {
			case h == l:
				equal++
			case (l > h) == m.higher:
				better++
			default:
				worse++
			}
			if b := ev.HeuristicTies; b.runs > 0 {
				lo, hi := m.get(b.min), m.get(b.max)
				if m.higher && l > hi || !m.higher && l < lo {
					bb++
				}
				if m.higher && l < lo || !m.higher && l > hi {
					wb++
				}
			}
		}
		n := float64(len(evs))
		line(m.name, strconv.Itoa(better), strconv.Itoa(equal), strconv.Itoa(worse), strconv.Itoa(bb), strconv.Itoa(wb), num(sh/n, 3), num(sl/n, 3))
	}
	if tw != nil {
		_ = tw.Flush()
	}
}

func num(x float64, prec int) string {
	if math.IsInf(x, 1) {
		return "inf"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

func ratio(a, b float64) string {
	if b == 0 || math.IsInf(a, 0) || math.IsInf(b, 0) {
		if a == b {
			return "1"
		}
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 3, 64)
}

func (ev *Evaluation) bands() []*band {
	var out []*band
	for _, b := range []*band{&ev.HeuristicTies, &ev.LearnedTies} {
		if b.runs > 0 {
			out = append(out, b)
		}
	}
	return out
}

func span(lo, hi string) string {
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

func (b *band) lowLatencyShare() string {
	return span(num(b.min.LowLatencyShare, 3), num(b.max.LowLatencyShare, 3))
}
func (b *band) meanLatencyMs() string {
	return span(num(b.min.MeanLatencyMs, 1), num(b.max.MeanLatencyMs, 1))
}
func (b *band) cpuSpread() string { return span(num(b.min.CPUSpread, 3), num(b.max.CPUSpread, 3)) }
func (b *band) memSpread() string { return span(num(b.min.MemSpread, 3), num(b.max.MemSpread, 3)) }
func (b *band) onDownUplink() string {
	return span(strconv.Itoa(b.min.OnDownUplink), strconv.Itoa(b.max.OnDownUplink))
}

// argsDiff shows the args that differ from the plugin's defaults, e.g. {"memoryWeight":0}.
func argsDiff(a edge.Args) string {
	var got, def map[string]any
	for _, x := range []struct {
		v   edge.Args
		out *map[string]any
	}{{a, &got}, {edge.DefaultArgs(), &def}} {
		data, _ := json.Marshal(x.v)
		_ = json.Unmarshal(data, x.out)
	}
	for k, v := range got {
		if def[k] == v {
			delete(got, k)
		}
	}
	data, _ := json.Marshal(got) // sorted keys
	return string(data)
}
