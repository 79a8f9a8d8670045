package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatter-go/chatter"
)

// event is one line a node printed, with when the test read it.
type event struct {
	T      time.Time
	Node   string // the process's label: a1, b2, …
	Event  string `json:"event"`
	ID     string `json:"id"`
	Origin string `json:"origin"`
	From   string `json:"from"`
	Via    string `json:"via"`
	Text   string `json:"text"`
	Op     string `json:"op"`
	Err    string `json:"err"`
	Peers  int    `json:"peers"`
	Stats  *chatter.Stats
	Raw    string // a line that is not JSON
}

// eventLog is the shared, bounded log of every node's events.
type eventLog struct {
	start time.Time
	mu    sync.Mutex
	evs   []event
	lost  int
}

const maxEvents = 50000

func (l *eventLog) add(e event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.evs) >= maxEvents {
		l.lost++
		return
	}
	l.evs = append(l.evs, e)
}

// snapshot returns the events that match keep.
func (l *eventLog) snapshot(keep func(*event) bool) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for i := range l.evs {
		if keep(&l.evs[i]) {
			out = append(out, l.evs[i])
		}
	}
	return out
}

// arrivals returns, for text, each receiver's first message event.
func (l *eventLog) arrivals(text string) map[string]event {
	out := map[string]event{}
	for _, e := range l.snapshot(func(e *event) bool { return e.Event == "message" && e.Text == text }) {
		if _, ok := out[e.Node]; !ok {
			out[e.Node] = e
		}
	}
	return out
}

// messagesTo returns the message events node printed after since.
func (l *eventLog) messagesTo(node string, since time.Time) []event {
	return l.snapshot(func(e *event) bool { return e.Event == "message" && e.Node == node && !e.T.Before(since) })
}

// format renders the last n events, times relative to the log's start.
func (l *eventLog) format(n int) string {
	l.mu.Lock()
	evs := l.evs[max(0, len(l.evs)-n):]
	lost := l.lost
	l.mu.Unlock()
	var b strings.Builder
	if lost > 0 {
		fmt.Fprintf(&b, "(%d events beyond the log's bound were not kept)\n", lost)
	}
	for _, e := range evs {
		fmt.Fprintf(&b, "%8.3fs %-3s ", e.T.Sub(l.start).Seconds(), e.Node)
		switch {
		case e.Raw != "":
			fmt.Fprintf(&b, "raw %q\n", e.Raw)
		case e.Event == "message":
			fmt.Fprintf(&b, "message %q origin %s from %s via %s\n", e.Text, e.Origin, e.From, e.Via)
		case e.Event == "ready":
			fmt.Fprintf(&b, "ready %s\n", e.ID)
		case e.Event == "ctl":
			fmt.Fprintf(&b, "ctl %q err %q\n", e.Op, e.Err)
		default:
			fmt.Fprintf(&b, "%s peers %d\n", e.Event, e.Peers)
		}
	}
	return b.String()
}

// tail keeps the last lines written to it, bounded in count and length.
type tail struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	onLine  func(string)
}

const (
	tailLines = 40
	maxLine   = 256 << 10
)

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) > maxLine {
				w.line(string(w.partial) + " [cut]")
				w.partial = w.partial[:0]
			}
			break
		}
		w.line(string(append(w.partial, p[:i]...)))
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (w *tail) line(s string) {
	if w.onLine != nil {
		w.onLine(s)
	}
	if len(s) > 2000 {
		s = s[:2000] + " [cut]"
	}
	w.lines = append(w.lines, s)
	if len(w.lines) > tailLines {
		w.lines = slices.Delete(w.lines, 0, len(w.lines)-tailLines)
	}
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(slices.Clone(w.lines), string(w.partial)), "\n")
}

// proc is one node process running in a namespace.
type proc struct {
	label  string
	host   *host
	id     string // IP:PORT, its NetID
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *tail
	stderr *tail
	ready  chan struct{}
	exited chan struct{}
	err    error // after exited
}

// cluster runs node processes on a topology and keeps their events.
type cluster struct {
	tp   *topology
	bin  string // the chatter binary
	self string // this test binary, for helper processes
	dir  string // key files
	log  *eventLog

	mu    sync.Mutex
	procs map[string]*proc // live or dead, by label
	ids   map[string]string
}

// nodeOpts describes one node to start.
type nodeOpts struct {
	label   string   // the process's name in the event log
	host    string   // the host's name; default label
	helper  bool     // run this test binary's helper node instead of chatter
	port    int      // TCP and group port
	group   string   // group address
	keyFile string   // path
	peers   []string // IP:PORT
	debug   bool     // --debug-addr 127.0.0.1:6060 (chatter only)
}

// start runs a node in its host's namespace and waits for its ready event.
func (c *cluster) start(t testing.TB, o nodeOpts) *proc {
	t.Helper()
	if o.host == "" {
		o.host = o.label
	}
	h := c.tp.hosts[o.host]
	if h == nil {
		t.Fatalf("no host %s", o.host)
	}
	id := fmt.Sprintf("%s:%d", h.ip, o.port)
	args := []string{"--listen", id, "--group", fmt.Sprintf("%s:%d", o.group, o.port), "--iface", h.iface,
		"--ttl", "1", "--key-file", o.keyFile, "--json"}
	for _, p := range o.peers {
		args = append(args, "--peer", p)
	}
	bin := c.bin
	var env []string
	if o.helper {
		bin = c.self
		env = helperEnviron("node")
	} else {
		args = append([]string{"node"}, args...)
		if o.debug {
			args = append(args, "--debug-addr", "127.0.0.1:6060")
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{label: o.label, host: h, id: id, stdin: w, stderr: &tail{}, ready: make(chan struct{}), exited: make(chan struct{})}
	var readyOnce sync.Once
	p.stdout = &tail{onLine: func(s string) {
		e := event{T: time.Now(), Node: o.label}
		if err := json.Unmarshal([]byte(s), &e); err != nil || e.Event == "" {
			e.Raw = s
		}
		e.T, e.Node = time.Now(), o.label
		c.log.add(e)
		if e.Event == "ready" {
			readyOnce.Do(func() { close(p.ready) })
		}
	}}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", h.ns, bin}, args...)...)
	p.cmd.Env = env
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = r, p.stdout, p.stderr
	// ip netns exec execs the node in place: if this test process dies,
	// the kernel kills the node.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatalf("start %s: %v", o.label, err)
	}
	r.Close()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	c.mu.Lock()
	c.procs[o.label] = p
	c.ids[id] = o.label
	c.mu.Unlock()
	c.tp.onTeardown(func() { p.kill() })
	select {
	case <-p.ready:
	case <-p.exited:
		t.Fatalf("node %s exited before it was ready: %v\nstderr:\n%s", o.label, p.err, p.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("node %s not ready after 15s\nstderr:\n%s", o.label, p.stderr)
	}
	return p
}

// send writes one line to the node's stdin: a broadcast, or a control line
// for a helper node.
func (p *proc) send(t testing.TB, line string) {
	t.Helper()
	p.stdin.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.stdin.WriteString(line + "\n"); err != nil {
		t.Fatalf("write to %s: %v", p.label, err)
	}
}

// kill ends the process at once.
func (p *proc) kill() {
	p.stdin.Close()
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// stop closes stdin, which ends the node cleanly, and kills it if it does
// not exit.
func (p *proc) stop() {
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

// stopAll stops the nodes labelled labels, all at once.
func (c *cluster) stopAll(t testing.TB, labels []string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, l := range labels {
		p := c.proc(t, l)
		wg.Go(p.stop)
	}
	wg.Wait()
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// proc returns the process labelled label.
func (c *cluster) proc(t testing.TB, label string) *proc {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[label]
	if p == nil {
		t.Fatalf("no process %s", label)
	}
	return p
}

// label names the node whose NetID is id.
func (c *cluster) label(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.ids[id]; ok {
		return l
	}
	return id
}

// waitFor polls cond every 20ms until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// missing returns, for each text, the receivers in want (without the
// text's origin) that have not printed it.
func (c *cluster) missing(texts map[string]string, want []string) map[string][]string {
	out := map[string][]string{}
	for text, origin := range texts {
		got := c.log.arrivals(text)
		for _, w := range want {
			if _, ok := got[w]; !ok && w != origin {
				out[text] = append(out[text], w)
			}
		}
	}
	return out
}

// waitDelivered waits until every text reached every node of want but its
// origin, and returns what is still missing after limit.
func (c *cluster) waitDelivered(texts map[string]string, want []string, limit time.Duration) map[string][]string {
	var miss map[string][]string
	waitFor(limit, func() bool {
		miss = c.missing(texts, want)
		return len(miss) == 0
	})
	return miss
}

// helperEnviron is the environment of a helper process: this test binary
// in the given mode, without the race detector's one-second wait at exit.
func helperEnviron(mode string) []string {
	race := "atexit_sleep_ms=0"
	if g := os.Getenv("GORACE"); g != "" {
		race = g + " " + race
	}
	return append(os.Environ(), helperEnv+"="+mode, "GORACE="+race)
}

// debugVars is what a chatter node's --debug-addr serves.
type debugVars struct {
	Chatter struct {
		ID    string        `json:"id"`
		Peers int           `json:"peers"`
		Stats chatter.Stats `json:"stats"`
	} `json:"chatter"`
}

// stats reads a chatter node's expvar from inside its namespace, through
// this test binary's fetch helper.
func (c *cluster) stats(t testing.TB, label string) debugVars {
	t.Helper()
	p := c.proc(t, label)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", p.host.ns, c.self, "http://127.0.0.1:6060/debug/vars")
	cmd.Env = helperEnviron("fetch")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("stats of %s: %v: %s", label, err, errb.String())
	}
	var v debugVars
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("stats of %s: %v: %s", label, err, out.String())
	}
	return v
}

// dump logs every process's output tails and the event log's tail.
func (c *cluster) dump(t testing.TB) {
	c.mu.Lock()
	var labels []string
	for l := range c.procs {
		labels = append(labels, l)
	}
	procs := c.procs
	c.mu.Unlock()
	sort.Strings(labels)
	var b strings.Builder
	for _, l := range labels {
		p := procs[l]
		state := "running"
		if !p.alive() {
			state = fmt.Sprintf("exited: %v", p.err)
		}
		fmt.Fprintf(&b, "=== %s %s in %s (%s)\n--- stderr tail:\n%s\n--- stdout tail:\n%s\n", l, p.id, p.host.ns, state, p.stderr, p.stdout)
	}
	fmt.Fprintf(&b, "=== event log (last 400):\n%s", c.log.format(400))
	t.Logf("failure dump:\n%s", b.String())
}

// writeKey writes a fresh 32-byte secret (hex characters) to a file.
func writeKey(t testing.TB, dir, name string) string {
	t.Helper()
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, fmt.Appendf(nil, "%x\n", k), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
