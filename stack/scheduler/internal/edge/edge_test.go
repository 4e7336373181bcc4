package edge

import (
	"testing"
	"time"
)

func TestParseLoad(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.42", 0.42, true},
		{" 42% ", 0.42, true},
		{"1.7", 1, true},
		{"-0.2", 0, true},
		{"", 0, false},
		{"busy", 0, false},
		{"NaN", 0, false},
		{"%", 0, false},
	} {
		got, ok := ParseLoad(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseLoad(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseLatency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"3.5", 3.5, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"Inf", 0, false},
	} {
		got, ok := ParseLatency(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	got, err := Args{}.WithDefaults()
	if err != nil || got != DefaultArgs() {
		t.Fatalf("zero args → %+v, %v; want defaults", got, err)
	}
	got, err = Args{LoadWeight: 3}.WithDefaults()
	if err != nil || got.LoadWeight != 3 || got.LatencyWeight != 0 || got.MaxLatencyMs != 100 {
		t.Fatalf("load-only args → %+v, %v", got, err)
	}
	if _, err := (Args{LoadWeight: -1, LatencyWeight: 1}).WithDefaults(); err == nil {
		t.Fatal("a negative weight must be rejected")
	}
}

// rpi4 is a 4-core, 4 GiB node with nothing requested yet.
func rpi4(cpuLoad, memLoad float64, reqMilli int64) NodeLoad {
	return NodeLoad{
		CPUReported: cpuLoad, MemReported: memLoad,
		RequestedMilliCPU: reqMilli, AllocatableMilliCPU: 4000,
		RequestedMemory: 0, AllocatableMemory: 4 << 30,
	}
}

func TestScore(t *testing.T) {
	d := DefaultArgs()
	for _, tc := range []struct {
		name      string
		args      Args
		node      NodeLoad
		hasSource bool
		lat       float64
		latOK     bool
		want      int64
	}{
		{"idle node, no source: full headroom", d, rpi4(0, 0, 0), false, 0, false, 100},
		{"half-busy CPU, idle memory", d, rpi4(0.5, 0, 0), false, 0, false, 75},
		{"requests add to the reported load", d, rpi4(0.25, 0, 1000), false, 0, false, 75},
		{"busy plus requests clamps at zero CPU headroom", d, rpi4(0.8, 0, 2000), false, 0, false, 50},
		{"reported CPU above the overload threshold scores lowest", d, rpi4(0.9, 0, 0), false, 0, false, 0},
		{"even next to the data source", d, rpi4(0.86, 0, 0), true, 0, true, 0},
		{"reported memory above the threshold too", d, rpi4(0, 0.97, 0), true, 0, true, 0},
		{"at the threshold is not above it", d, rpi4(0.85, 0, 0), false, 0, false, 57}, // 57.4999…
		{"requests alone never make a node overloaded", d, rpi4(0, 0, 3900), false, 0, false, 51},
		{"threshold 1 turns it off", Args{LoadWeight: 1, LatencyWeight: 2, CPUWeight: 1, MemoryWeight: 1, MaxLatencyMs: 100, OverloadThreshold: 1}, rpi4(0.97, 0, 0), true, 0, true, 84},
		{"idle and next to the source", d, rpi4(0, 0, 0), true, 0, true, 100},
		{"idle, 50 ms away: latency counts twice", d, rpi4(0, 0, 0), true, 50, true, 67},
		{"beyond max latency scores 0 for latency", d, rpi4(0, 0, 0), true, 500, true, 33},
		{"unmeasured latency is the worst", d, rpi4(0, 0, 0), true, 0, false, 33},
		{"latency only", Args{LatencyWeight: 1, CPUWeight: 1, MaxLatencyMs: 10}, rpi4(0.9, 0.9, 0), true, 5, true, 50},
		{"load only ignores latency", Args{LoadWeight: 1, CPUWeight: 1, MaxLatencyMs: 10}, rpi4(0.3, 0.9, 0), true, 9, true, 70},
		{"memory weighted alone", Args{LoadWeight: 1, MemoryWeight: 1, MaxLatencyMs: 10}, rpi4(0.9, 0.2, 0), false, 0, false, 80},
		{"zero allocatable counts as full", d, NodeLoad{}, false, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Score(tc.args, tc.node, tc.hasSource, tc.lat, tc.latOK); got != tc.want {
				t.Errorf("Score = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScorePrefersNearUnlessMuchBusier(t *testing.T) {
	d := DefaultArgs()
	near := func(load float64) int64 { return Score(d, rpi4(load, 0.1, 0), true, 2, true) }
	far := Score(d, rpi4(0.1, 0.1, 0), true, 20, true)
	if near(0.3) <= far {
		t.Errorf("a near node 0.2 busier should win: near %d, far %d", near(0.3), far)
	}
	if near(0.9) >= far {
		t.Errorf("a near node 0.8 busier should lose: near %d, far %d", near(0.9), far)
	}
}

func TestUplinkDownFor(t *testing.T) {
	down := map[string]string{UplinkAnnotation: "down"}
	up := map[string]string{UplinkAnnotation: "up"}
	needs := map[string]string{NeedsCloudLabel: "true"}
	for _, tc := range []struct {
		name     string
		pod, ann map[string]string
		want     bool
	}{
		{"needs cloud, uplink down", needs, down, true},
		{"needs cloud, uplink up", needs, up, false},
		{"needs cloud, no annotation", needs, nil, false},
		{"local-only pod on a partitioned node", nil, down, false},
		{"case and spaces", map[string]string{NeedsCloudLabel: "Yes"}, map[string]string{UplinkAnnotation: " DOWN"}, true},
		{"explicit false", map[string]string{NeedsCloudLabel: "false"}, down, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UplinkDownFor(tc.pod, tc.ann); got != tc.want {
				t.Errorf("UplinkDownFor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOverloadObserve(t *testing.T) {
	a := MigrateArgs{Threshold: 0.85, Target: 0.7, Sustain: 2 * time.Second, Cooldown: 5 * time.Second, MaxPerRound: 3}
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	o := NewOverload()
	steps := []struct {
		at   float64
		load float64
		want bool
	}{
		{0, 0.9, false},   // overload starts
		{1, 0.95, false},  // not sustained yet
		{1.5, 0.5, false}, // a spike: resets
		{2, 0.9, false},   // starts again
		{4, 0.9, true},    // sustained 2 s
	}
	for i, s := range steps {
		if got := o.Observe(a, "n", s.load, at(s.at)); got != s.want {
			t.Fatalf("step %d (t=%v load=%v) = %v, want %v", i, s.at, s.load, got, s.want)
		}
	}
	o.Evicted("n", at(4))
	if o.Observe(a, "n", 0.9, at(6)) {
		t.Fatal("inside the cooldown nothing is due")
	}
	if !o.Observe(a, "n", 0.9, at(9.5)) {
		t.Fatal("after the cooldown the node is due again")
	}
	if o.Observe(a, "other", 0.99, at(9.5)) {
		t.Fatal("nodes are tracked independently")
	}
}

func TestPickVictims(t *testing.T) {
	a := MigrateArgs{Threshold: 0.85, Target: 0.7, MaxPerRound: 3}
	t0 := time.Unix(0, 0)
	pods := []Candidate{
		{Name: "small-old", CPUShare: 0.05, Created: t0},
		{Name: "big", CPUShare: 0.2, Created: t0},
		{Name: "small-new", CPUShare: 0.05, Created: t0.Add(time.Minute)},
		{Name: "important", Priority: 1000, CPUShare: 0.5, Created: t0},
	}
	names := func(cs []Candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args MigrateArgs
		load float64
		want []string
	}{
		{"biggest first, stop at target", a, 0.9, []string{"big"}},
		{"then newest", a, 0.96, []string{"big", "small-new", "small-old"}},
		{"capped per round", a, 1.0, []string{"big", "small-new", "small-old"}},
		{"high priority last", MigrateArgs{Target: 0.1, MaxPerRound: 10}, 1.0, []string{"big", "small-new", "small-old", "important"}},
		{"already at target", a, 0.7, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(PickVictims(tc.args, tc.load, pods))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestOverloadStep(t *testing.T) {
	a := MigrateArgs{Threshold: 0.85, Target: 0.7, Sustain: 2 * time.Second, Cooldown: 5 * time.Second, MaxPerRound: 3}
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	o := NewOverload()
	for i, s := range []struct {
		at      float64
		load    float64
		tainted bool
		evicted bool // the controller evicted at this step
		want    Step
	}{
		{at: 0, load: 0.9, want: Step{}},                                           // overload starts: nothing yet
		{at: 2, load: 0.9, evicted: true, want: Step{Taint: true, Evict: true}},    // sustained: taint, then evict
		{at: 3, load: 0.9, tainted: true, want: Step{}},                            // cooldown: the taint stays
		{at: 7, load: 0.88, tainted: true, evicted: true, want: Step{Evict: true}}, // cooldown over, still tainted
		{at: 8, load: 0.85, tainted: true, want: Step{Untaint: true}},              // at the threshold: untaint
		{at: 9, load: 0.2, want: Step{}},                                           // idle and untainted
		{at: 10, load: 0.1, tainted: true, want: Step{Untaint: true}},              // a stale taint (e.g. after a restart)
	} {
		got := o.Step(a, "n", s.load, s.tainted, at(s.at))
		if got != s.want {
			t.Fatalf("step %d (t=%v load=%v tainted=%v) = %+v, want %+v", i, s.at, s.load, s.tainted, got, s.want)
		}
		if s.evicted {
			o.Evicted("n", at(s.at))
		}
	}
}
