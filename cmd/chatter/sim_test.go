package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// smallSim returns the flags of a configuration that runs in milliseconds.
func smallSim() []string {
	return []string{"--nodes", "32", "--subnets", "4", "--broadcasts", "2", "--warmup", "2", "--strategy", "chatter,tcp-log"}
}

// runSimTest runs `chatter sim` with smallSim and extra.
func runSimTest(t *testing.T, env simEnv, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = runSim(context.Background(), append(smallSim(), extra...), &out, &errw, env)
	return code, out.String(), errw.String()
}

type row struct{ Strategy, Phase string }

func TestSimTable(t *testing.T) {
	code, stdout, stderr := runSimTest(t, simEnv{})
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	if want := "chatter sim: 32 nodes, 4 subnets, 256 B payload, latency 1ms, bandwidth 1Gbit/s, mcast-loss 0, tcp-loss 0, crash 0, 2 broadcasts (warm-up 2), seed 1"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}
	// The table runs from the column names to the next empty line.
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "strategy ") })
	if start < 0 {
		t.Fatalf("no column names:\n%s", stdout)
	}
	header := lines[start]
	table := lines[start+1:]
	if end := slices.Index(table, ""); end >= 0 {
		table = table[:end]
	}
	var rows []row
	for _, l := range table {
		f := strings.Fields(l)
		rows = append(rows, row{f[0], f[1]})
		// The columns line up: every row is as wide as the column names.
		if len(l) != len(header) {
			t.Errorf("row %q is %d wide, header %d", l, len(l), len(header))
		}
	}
	for _, col := range []string{"delivery", "rounds max", "rounds p50", "time-to-last ms", "origin sends", "wire packets", "wire bytes", "ack packets", "announce/node/s", "copies/node"} {
		if !strings.Contains(header, col) {
			t.Errorf("header %q lacks column %q", header, col)
		}
	}
	want := []row{{"chatter", "cold"}, {"chatter", "warm"}, {"tcp-log", "cold"}, {"tcp-log", "warm"}, {"bound", "unicast"}, {"bound", "multicast"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s\n%s", diff, stdout)
	}
	for _, s := range []string{" 7 / 11 ", "ceil(log2 N) = 5", "1 + ceil(log2 S) = 3", "2S-1 = 7", "3S-1 = 11"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, stdout)
		}
	}
}

func TestSimJSON(t *testing.T) {
	code, stdout, stderr := runSimTest(t, simEnv{}, "--json", "--seed", "7", "--bandwidth", "100Mbit", "--latency", "2ms")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value on stdout")
	}
	var got struct {
		Params  map[string]any
		Bounds  map[string]any
		Results []map[string]any
	}
	for k, p := range map[string]any{"params": &got.Params, "bounds": &got.Bounds, "results": &got.Results} {
		if err := json.Unmarshal(top[k], p); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if diff := cmp.Diff([]string{"bounds", "params", "results"}, sortedKeys(top)); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	wantParams := map[string]any{
		"nodes": 32.0, "subnets": 4.0, "payload_bytes": 256.0, "latency_ms": 2.0, "bandwidth_bytes_per_s": 12.5e6,
		"mcast_loss": 0.0, "tcp_loss": 0.0, "crash": 0.0, "broadcasts": 2.0, "warmup": 2.0, "seed": 7.0,
		"strategies": []any{"chatter", "tcp-log"},
	}
	if diff := cmp.Diff(wantParams, got.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	wantBounds := map[string]any{"rounds_unicast_only": 5.0, "rounds_multicast": 3.0, "data_packets": 7.0, "data_packets_safety_net": 11.0, "copies_per_node": 1.0}
	if diff := cmp.Diff(wantBounds, got.Bounds); diff != "" {
		t.Errorf("bounds (-want +got):\n%s", diff)
	}
	wantKeys := []string{"ack_packets", "announce_per_node_s", "copies_per_node", "delivery_ratio", "origin_sends", "phase",
		"rounds_max", "rounds_p50", "strategy", "time_to_last_ms", "wire_bytes", "wire_packets"}
	var rows []row
	for _, r := range got.Results {
		if diff := cmp.Diff(wantKeys, sortedKeys(r)); diff != "" {
			t.Errorf("result keys (-want +got):\n%s", diff)
		}
		rows = append(rows, row{r["strategy"].(string), r["phase"].(string)})
		if d := r["delivery_ratio"].(float64); d != 1 {
			t.Errorf("%v %v: delivery ratio %v without loss or crashes", r["strategy"], r["phase"], d)
		}
	}
	if diff := cmp.Diff([]row{{"chatter", "cold"}, {"chatter", "warm"}, {"tcp-log", "cold"}, {"tcp-log", "warm"}}, rows); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSimPlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.svg")
	code, stdout, stderr := runSimTest(t, simEnv{}, "--plot", path)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasSuffix(stdout, "\nplot: "+path+"\n") {
		t.Errorf("stdout does not end with the plot's path:\n%s", stdout)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"chatter", "tcp-log"}, polylines(t, svg)); diff != "" {
		t.Errorf("polylines (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the plot's directory holds %d files, want 1", len(entries))
	}
}

// polylines parses svg as XML, checks it is a self-contained SVG document,
// and returns the strategies of its polylines.
func polylines(t *testing.T, svg []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var names []string
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if first {
			first = false
			if se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("root element %v, want svg in the SVG namespace", se.Name)
			}
		}
		for _, a := range se.Attr {
			if a.Name.Local == "href" || strings.Contains(a.Value, "url(") {
				t.Errorf("<%s> refers elsewhere: %s=%q", se.Name.Local, a.Name.Local, a.Value)
			}
		}
		if se.Name.Local == "polyline" {
			for _, a := range se.Attr {
				if a.Name.Local == "data-strategy" {
					names = append(names, a.Value)
				}
			}
		}
	}
	return names
}

func TestSimProgress(t *testing.T) {
	code, _, stderr := runSimTest(t, simEnv{progress: true})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := "\rsim: 1/8 broadcasts"
	if !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "\rsim: 8/8 broadcasts") {
		t.Errorf("stderr = %q, want progress from 1/8 to 8/8", stderr)
	}
	if clear := "\r" + strings.Repeat(" ", len("sim: 8/8 broadcasts")) + "\r"; !strings.HasSuffix(stderr, clear) {
		t.Errorf("stderr = %q, want it to end by clearing the line", stderr)
	}
	// Not shown on a short run.
	code, _, stderr = runSimTest(t, simEnv{progress: true, progressAfter: defaultProgressAfter * 60})
	if code != 0 || stderr != "" {
		t.Errorf("exit %d, stderr %q; want no progress on a short run", code, stderr)
	}
}

func TestSimInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := runSim(ctx, smallSim(), &stdout, &stderr, simEnv{}); code != 130 || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q; want 130 and nothing", code, stdout.String())
	}
}

func TestSimBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--nodes", "x"}, `invalid value "x" for flag -nodes`},
		{[]string{"--strategy", "nope"}, `unknown strategy "nope" (want all, or a comma list of unicast, tcp-log, gossip, classic, chatter)`},
		{[]string{"--strategy", "chatter,"}, `unknown strategy ""`},
		{[]string{"--strategy", "chatter,chatter"}, `strategy "chatter" named twice`},
		{[]string{"--mcast-loss", "2"}, "--mcast-loss 2: want 0 to 1"},
		{[]string{"--mcast-loss", "NaN"}, "--mcast-loss NaN"},
		{[]string{"--tcp-loss", "1"}, "--tcp-loss 1"},
		{[]string{"--crash", "-0.1"}, "--crash -0.1"},
		{[]string{"--bandwidth", "fast"}, `invalid value "fast" for flag -bandwidth: want bytes per second`},
		{[]string{"--bandwidth", "0"}, `invalid value "0" for flag -bandwidth: must be positive`},
		{[]string{"--nodes", "1"}, "--nodes 1: want 2 to 130000"},
		{[]string{"--subnets", "0"}, "--subnets 0"},
		{[]string{"--subnets", "33"}, "--subnets 33: want 1 to --nodes (32)"},
		{[]string{"--payload", "0"}, "--payload 0"},
		{[]string{"--latency", "0s"}, "--latency 0s"},
		{[]string{"--latency", "fast"}, `invalid value "fast" for flag -latency`},
		{[]string{"--broadcasts", "0"}, "--broadcasts 0"},
		{[]string{"--warmup", "-1"}, "--warmup -1"},
		{[]string{"--seed", "0"}, "--seed 0"},
		{[]string{"--seed", "-1"}, `invalid value "-1" for flag -seed`},
		{[]string{"--plot", "out.png"}, "--plot out.png: want a file name ending in .svg"},
		{[]string{"--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runSimTest(t, simEnv{}, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want empty", stdout)
			}
			if !strings.HasPrefix(stderr, "chatter sim: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr = %q, want one line starting chatter sim:", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
		})
	}
}

func TestSimPlotUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "out.svg")
	code, stdout, stderr := runSimTest(t, simEnv{}, "--plot", path)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "chatter sim: --plot: ") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and an error before the run", code, stdout, stderr)
	}
}

func TestStrategyFlag(t *testing.T) {
	var f strategyFlag
	if err := f.Set("all"); err != nil {
		t.Fatal(err)
	}
	want := []core.Strategy{core.StrategyUnicast, core.StrategyTCPLog, core.StrategyGossip, core.StrategyClassic, core.StrategyChatter}
	if diff := cmp.Diff(want, f.list); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	if err := f.Set(" gossip , chatter"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]core.Strategy{core.StrategyGossip, core.StrategyChatter}, f.list); diff != "" {
		t.Errorf("gossip,chatter (-want +got):\n%s", diff)
	}
}

func TestPhysicalMemory(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo")
	}
	if m := physicalMemory(); m < 64<<20 {
		t.Errorf("physicalMemory() = %d, want the machine's memory", m)
	}
	if got := limitMemory(func(string) string { return "1GiB" }); got != 0 {
		t.Errorf("limitMemory with GOMEMLIMIT set = %d, want 0 (the user's limit stands)", got)
	}
}
