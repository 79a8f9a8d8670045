package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/internal/sim"
)

// simEnv is what `chatter sim` learns from its surroundings rather than its
// flags, so tests can set it.
type simEnv struct {
	// progress enables the progress line on stderr (stderr is a terminal).
	progress bool
	// progressAfter is how long the run goes before the line appears.
	progressAfter time.Duration
}

// simOutput is the JSON object `chatter sim --json` prints.
type simOutput struct {
	Params  simParamsJSON `json:"params"`
	Bounds  bounds        `json:"bounds"`
	Results []sim.Result  `json:"results"`
}

// simParamsJSON is sim.Params as `chatter sim --json` reports them.
type simParamsJSON struct {
	Nodes              int      `json:"nodes"`
	Subnets            int      `json:"subnets"`
	PayloadBytes       int      `json:"payload_bytes"`
	LatencyMs          float64  `json:"latency_ms"`
	BandwidthBytesPerS float64  `json:"bandwidth_bytes_per_s"`
	McastLoss          float64  `json:"mcast_loss"`
	TCPLoss            float64  `json:"tcp_loss"`
	Crash              float64  `json:"crash"`
	Broadcasts         int      `json:"broadcasts"`
	Warmup             int      `json:"warmup"`
	Seed               uint64   `json:"seed"`
	Strategies         []string `json:"strategies"`
}

func paramsJSON(p sim.Params) simParamsJSON {
	names := make([]string, len(p.Strategies))
	for i, s := range p.Strategies {
		names[i] = s.String()
	}
	return simParamsJSON{
		Nodes:              p.Nodes,
		Subnets:            p.Subnets,
		PayloadBytes:       p.Payload,
		LatencyMs:          float64(p.Latency) / float64(time.Millisecond),
		BandwidthBytesPerS: p.Bandwidth,
		McastLoss:          p.McastLoss,
		TCPLoss:            p.TCPLoss,
		Crash:              p.Crash,
		Broadcasts:         p.Broadcasts,
		Warmup:             max(p.Warmup, 0), // sim.Params: negative for none
		Seed:               p.Seed,
		Strategies:         names,
	}
}

// paramsLines describes p in two lines, for the plot's subtitle: the
// cluster, then the faults and the run.
func paramsLines(p sim.Params) []string {
	return []string{
		fmt.Sprintf("%d nodes, %d subnets, %d B payload, latency %v, bandwidth %s",
			p.Nodes, p.Subnets, p.Payload, p.Latency, formatBandwidth(p.Bandwidth)),
		fmt.Sprintf("mcast-loss %g, tcp-loss %g, crash %g, %d broadcasts (warm-up %d), seed %d",
			p.McastLoss, p.TCPLoss, p.Crash, p.Broadcasts, max(p.Warmup, 0), p.Seed),
	}
}

// paramsSummary describes p in one line, heading the table.
func paramsSummary(p sim.Params) string { return strings.Join(paramsLines(p), ", ") }

// allStrategies returns every strategy core knows, the baselines first and
// chatter last, for comparison.
func allStrategies() []core.Strategy {
	var list []core.Strategy
	for i := range 256 {
		s := core.Strategy(i)
		if t, err := core.ParseStrategy(s.String()); err != nil || t != s {
			break
		}
		if s != core.StrategyChatter {
			list = append(list, s)
		}
	}
	return append(list, core.StrategyChatter)
}

// strategyFlag is the --strategy flag: all, or a comma list of names.
type strategyFlag struct {
	list []core.Strategy
	text string
}

func (f *strategyFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *strategyFlag) Set(s string) error {
	if strings.TrimSpace(s) == "all" {
		f.list, f.text = allStrategies(), "all"
		return nil
	}
	var list []core.Strategy
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		st, err := core.ParseStrategy(name)
		if err != nil {
			var names []string
			for _, a := range allStrategies() {
				names = append(names, a.String())
			}
			return fmt.Errorf("unknown strategy %q (want all, or a comma list of %s)", name, strings.Join(names, ", "))
		}
		for _, t := range list {
			if t == st {
				return fmt.Errorf("strategy %q named twice", name)
			}
		}
		list = append(list, st)
	}
	f.list, f.text = list, s
	return nil
}

// simFlags are the parsed flags of `chatter sim`.
type simFlags struct {
	params     sim.Params
	json       bool
	plot       string
	cpuProfile string
	memProfile string
	finish     func() // copies the values of the custom flags into params
}

func newSimFlagSet(f *simFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("chatter sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	p := &f.params
	fs.IntVar(&p.Nodes, "nodes", 256, "nodes in the cluster, at least 2")
	fs.IntVar(&p.Subnets, "subnets", 8, "multicast domains (subnets) the nodes are spread over, 1 to --nodes")
	fs.IntVar(&p.Payload, "payload", 256, "payload bytes per broadcast, at least 1")
	fs.DurationVar(&p.Latency, "latency", time.Millisecond, "one-way link latency")
	bw := &bandwidthFlag{bytesPerSec: 125e6}
	fs.Var(bw, "bandwidth", "each node's egress `RATE`: bytes per second, or with a unit such as 1Gbit, 100Mbit, 125MB")
	fs.Float64Var(&p.McastLoss, "mcast-loss", 0, "probability a multicast datagram is lost, per receiver, in [0, 1]")
	fs.Float64Var(&p.TCPLoss, "tcp-loss", 0, "probability a TCP frame is lost, in [0, 1)")
	fs.Float64Var(&p.Crash, "crash", 0, "fraction of nodes down during the measured broadcasts, in [0, 1)")
	fs.IntVar(&p.Broadcasts, "broadcasts", 20, "measured broadcasts per strategy and phase, at least 1")
	fs.IntVar(&p.Warmup, "warmup", 40, "warm-up broadcasts before the warm phase")
	fs.Uint64Var(&p.Seed, "seed", 1, "random seed, at least 1: one seed gives one run")
	st := &strategyFlag{list: allStrategies(), text: "all"}
	fs.Var(st, "strategy", "strategies to compare, a `LIST`: all, or a comma list of chatter, unicast, tcp-log, gossip, classic")
	fs.BoolVar(&f.json, "json", false, "print one JSON object instead of the table")
	fs.StringVar(&f.plot, "plot", "", "also write an SVG plot of delivery over time (warm phase) to `FILE.svg`")
	fs.IntVar(&p.Parallel, "parallel", 0, "strategy-phase worlds simulated at once; 0 for one per CPU (memory grows with it; results do not change)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (for go tool pprof)")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile at the end of the run to `FILE` (for go tool pprof)")
	f.finish = func() {
		p.Bandwidth = bw.bytesPerSec
		p.Strategies = st.list
	}
	return fs
}

// validate checks what the flags' types do not; sim.Run would otherwise
// take some zero values for its defaults.
func (f *simFlags) validate() error {
	p := f.params
	switch {
	case p.Nodes < 2 || p.Nodes > 130000:
		return fmt.Errorf("--nodes %d: want 2 to 130000", p.Nodes)
	case p.Subnets < 1 || p.Subnets > p.Nodes:
		return fmt.Errorf("--subnets %d: want 1 to --nodes (%d)", p.Subnets, p.Nodes)
	case p.Payload < 1:
		return fmt.Errorf("--payload %d: want at least 1", p.Payload)
	case p.Latency <= 0:
		return fmt.Errorf("--latency %v: want a positive duration", p.Latency)
	case !(p.McastLoss >= 0 && p.McastLoss <= 1):
		return fmt.Errorf("--mcast-loss %g: want 0 to 1", p.McastLoss)
	case !(p.TCPLoss >= 0 && p.TCPLoss < 1):
		return fmt.Errorf("--tcp-loss %g: want at least 0 and below 1", p.TCPLoss)
	case !(p.Crash >= 0 && p.Crash < 1):
		return fmt.Errorf("--crash %g: want at least 0 and below 1", p.Crash)
	case p.Broadcasts < 1:
		return fmt.Errorf("--broadcasts %d: want at least 1", p.Broadcasts)
	case p.Warmup < 0:
		return fmt.Errorf("--warmup %d: want at least 0", p.Warmup)
	case p.Parallel < 0:
		return fmt.Errorf("--parallel %d: want at least 0", p.Parallel)
	case p.Seed < 1:
		return fmt.Errorf("--seed %d: want at least 1", p.Seed)
	case f.plot != "" && strings.ToLower(filepath.Ext(f.plot)) != ".svg":
		return fmt.Errorf("--plot %s: want a file name ending in .svg", f.plot)
	}
	return nil
}

func simUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: chatter sim [flags]")
	fmt.Fprintln(w, "\nCompares broadcast strategies in a deterministic simulation of the real engine and codec.")
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// runSim is `chatter sim`.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer, env simEnv) int {
	var f simFlags
	fs := newSimFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			simUsage(stdout, fs)
			return 0
		}
		fmt.Fprintf(stderr, "chatter sim: %v\n", err)
		return 2
	}
	f.finish()
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chatter sim: unexpected argument %q (flags only; see chatter sim -h)\n", fs.Arg(0))
		return 2
	}
	if err := f.validate(); err != nil {
		fmt.Fprintf(stderr, "chatter sim: %v\n", err)
		return 2
	}

	// Open the plot's file first, so a bad path fails before a long run.
	var plotFile *os.File
	if f.plot != "" {
		var err error
		plotFile, err = os.CreateTemp(filepath.Dir(f.plot), ".chatter-plot-*.svg")
		if err != nil {
			fmt.Fprintf(stderr, "chatter sim: --plot: %v\n", err)
			return 1
		}
		defer func() {
			if plotFile != nil { // not renamed into place
				plotFile.Close()
				os.Remove(plotFile.Name())
			}
		}()
	}

	p := f.params
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "chatter sim: interrupted")
		return 130
	}
	var prog *progressLine
	if env.progress {
		prog = newProgressLine(stderr, env.progressAfter, time.Now)
		p.Progress = prog.update
	}
	type outcome struct {
		results []sim.Result
		err     error
	}
	done := make(chan outcome, 1)
	if p.Warmup == 0 {
		p.Warmup = -1 // sim.Params: zero means the default, negative none
	}
	limitMemory(os.Getenv)
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		fmt.Fprintf(stderr, "chatter sim: %v\n", err)
		return 1
	}
	go func() {
		r, err := sim.Run(p)
		done <- outcome{r, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		// sim.Run cannot be stopped; the process is about to exit.
		if prog != nil {
			prog.stop()
		}
		fmt.Fprintln(stderr, "chatter sim: interrupted")
		return 130
	}
	if prog != nil {
		prog.stop()
	}
	if err := stopProfiles(); err != nil {
		fmt.Fprintf(stderr, "chatter sim: %v\n", err)
		return 1
	}
	if out.err != nil {
		fmt.Fprintf(stderr, "chatter sim: %v\n", out.err)
		return 1
	}
	p.Progress = nil

	if plotFile != nil {
		if err := writeSimPlot(plotFile, p, out.results); err != nil {
			fmt.Fprintf(stderr, "chatter sim: --plot: %v\n", err)
			return 1
		}
		if err := plotFile.Close(); err != nil {
			fmt.Fprintf(stderr, "chatter sim: --plot: %v\n", err)
			return 1
		}
		if err := os.Rename(plotFile.Name(), f.plot); err != nil {
			fmt.Fprintf(stderr, "chatter sim: --plot: %v\n", err)
			return 1
		}
		plotFile = nil
	}

	b := boundsFor(p.Nodes, p.Subnets)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(simOutput{Params: paramsJSON(p), Bounds: b, Results: out.results}); err != nil {
			fmt.Fprintf(stderr, "chatter sim: %v\n", err)
			return 1
		}
		return 0
	}
	if err := writeSimTable(stdout, p, b, out.results); err != nil {
		fmt.Fprintf(stderr, "chatter sim: %v\n", err)
		return 1
	}
	if f.plot != "" {
		fmt.Fprintf(stdout, "\nplot: %s\n", f.plot)
	}
	return 0
}

// writeSimTable writes the results as a table for people, the bounds
// beside them.
func writeSimTable(w io.Writer, p sim.Params, b bounds, results []sim.Result) error {
	fmt.Fprintf(w, "chatter sim: %s\n\n", paramsSummary(p))
	nameW, phaseW := len("strategy"), len("multicast")
	for _, r := range results {
		nameW = max(nameW, len(r.Strategy))
		phaseW = max(phaseW, len(r.Phase))
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) {
		cells[0] = fmt.Sprintf("%-*s", nameW, cells[0])
		cells[1] = fmt.Sprintf("%-*s", phaseW, cells[1])
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row("strategy", "phase", "delivery", "rounds max", "rounds p50", "time-to-last ms", "origin sends",
		"wire packets", "wire bytes", "ack packets", "announce/node/s", "copies/node")
	for _, r := range results {
		row(r.Strategy, r.Phase,
			fmt.Sprintf("%.3f", r.DeliveryRatio),
			fmt.Sprintf("%.2f", r.RoundsMax),
			fmt.Sprintf("%.2f", r.RoundsP50),
			fmt.Sprintf("%.3f", r.TimeToLastMs),
			fmt.Sprintf("%.1f", r.OriginSends),
			fmt.Sprintf("%.1f", r.WirePackets),
			fmt.Sprintf("%.0f", r.WireBytes),
			fmt.Sprintf("%.1f", r.AckPackets),
			fmt.Sprintf("%.3f", r.AnnouncePerNodeS),
			fmt.Sprintf("%.3f", r.CopiesPerNode))
	}
	row("bound", "unicast", "1.000", fmt.Sprint(b.RoundsUnicastOnly), "-", "-", "-", "-", "-", "-", "-", fmt.Sprintf("%.3f", b.CopiesPerNode))
	row("bound", "multicast", "1.000", fmt.Sprint(b.RoundsMulticast), "-", "-", "-",
		fmt.Sprintf("%d / %d", b.DataPackets, b.DataPacketsSafetyNet), "-", "-", "-", fmt.Sprintf("%.3f", b.CopiesPerNode))
	if err := tw.Flush(); err != nil {
		return err
	}
	// Right alignment pads the first column on its left too.
	for line := range strings.Lines(table.String()) {
		if _, err := io.WriteString(w, strings.TrimPrefix(line, "  ")); err != nil {
			return err
		}
	}
	n, s := p.Nodes, p.Subnets
	_, err := fmt.Fprintf(w, "\nbounds: rounds ceil(log2 N) = %d with unicast only (N = %d nodes), 1 + ceil(log2 S) = %d with S = %d multicast groups;\n"+
		"        wire packets 2S-1 = %d, 3S-1 = %d with one safety-net member per multicast; copies/node 1.0\n",
		b.RoundsUnicastOnly, n, b.RoundsMulticast, s, b.DataPackets, b.DataPacketsSafetyNet)
	return err
}
