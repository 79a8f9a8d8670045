package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nsPrefix starts the name of every namespace the tests make:
// ce2e-PID-RAND-NAME.
const nsPrefix = "ce2e-"

// required reports whether the environment asks the tests to run: with
// CHATTER_E2E=1 a missing prerequisite is a failure, not a skip.
func required() bool { return os.Getenv("CHATTER_E2E") == "1" }

// skipOrFail skips t for reason, or fails it when CHATTER_E2E=1.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if required() {
		t.Fatalf("CHATTER_E2E=1 but %s", reason)
	}
	t.Skip(reason + " (with CHATTER_E2E=1 this fails instead)")
}

// gate skips (or fails) unless the tests can build namespaces here: Linux,
// root and iproute2.
func gate(t testing.TB) {
	t.Helper()
	switch {
	case runtime.GOOS != "linux":
		skipOrFail(t, "end-to-end tests need Linux network namespaces")
	case os.Geteuid() != 0:
		skipOrFail(t, "end-to-end tests need root to create network namespaces")
	case testing.Short() && !required():
		t.Skip("end-to-end tests skipped in -short mode")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "end-to-end tests need the ip command (iproute2)")
	}
}

// host is one namespace of the topology that runs a node.
type host struct {
	name   string // a1, b2, …
	ns     string
	subnet string // "a" or "b"
	ip     string // 198.18.S.X
	iface  string // its veth, inside its namespace
}

// topology is the network of namespaces: a router namespace holding one
// bridge per subnet, and one namespace per node attached to its subnet's
// bridge by a veth pair.
type topology struct {
	run    string // ce2e-PID-RAND
	router string
	hosts  map[string]*host
	made   []string // namespaces made, in order

	mu       sync.Mutex
	torn     bool
	stoppers []func() // stop the processes started in the namespaces
}

var (
	activeMu sync.Mutex
	active   = map[*topology]bool{}
)

// teardownAll tears down every topology still up: TestMain calls it at the
// end and on SIGINT/SIGTERM.
func teardownAll() {
	activeMu.Lock()
	var ts []*topology
	for t := range active {
		ts = append(ts, t)
	}
	activeMu.Unlock()
	for _, t := range ts {
		t.teardown()
	}
}

// subnetSpec is what newTopology builds: subnet letter → number of nodes.
var subnetSpec = []struct {
	letter string
	octet  int
	nodes  int
}{{"a", 1, 4}, {"b", 2, 3}}

// ipCmd runs ip with args, bounded in time.
func ipCmd(args ...string) error {
	return runCmd(10*time.Second, "ip", args...)
}

func runCmd(limit time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newTopology builds the network. It always returns the topology, even with
// an error, so that the caller can tear down what was made (teardown is
// idempotent, and TestMain calls it too).
func newTopology() (*topology, error) {
	sweepStale()
	var rb [2]byte
	rand.Read(rb[:]) // never fails (crypto/rand)
	tp := &topology{run: fmt.Sprintf("%s%d-%s", nsPrefix, os.Getpid(), hex.EncodeToString(rb[:])), hosts: map[string]*host{}}
	activeMu.Lock()
	active[tp] = true
	activeMu.Unlock()
	tp.router = tp.run + "-r"
	if err := tp.addNS(tp.router); err != nil {
		return tp, err
	}
	if err := runCmd(10*time.Second, "ip", "netns", "exec", tp.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return tp, err
	}
	for _, s := range subnetSpec {
		br := "br-" + s.letter
		gw := fmt.Sprintf("198.18.%d.1", s.octet)
		for _, args := range [][]string{
			// No IGMP snooping: the bridge floods the group to every
			// port; the router's IP stack does not route multicast.
			{"-n", tp.router, "link", "add", br, "type", "bridge", "mcast_snooping", "0"},
			{"-n", tp.router, "addr", "add", gw + "/24", "dev", br},
			{"-n", tp.router, "link", "set", br, "up"},
		} {
			if err := ipCmd(args...); err != nil {
				return tp, err
			}
		}
		for i := 1; i <= s.nodes; i++ {
			h := &host{name: fmt.Sprintf("%s%d", s.letter, i), subnet: s.letter, ip: fmt.Sprintf("198.18.%d.%d", s.octet, 10+i), iface: "eth0"}
			h.ns = tp.run + "-" + h.name
			port := "v" + h.name // the bridge's end, in the router namespace
			if err := tp.addNS(h.ns); err != nil {
				return tp, err
			}
			for _, args := range [][]string{
				// Both ends are made inside their namespaces: nothing
				// ever appears in the host's.
				{"-n", h.ns, "link", "add", h.iface, "type", "veth", "peer", "name", port, "netns", tp.router},
				{"-n", tp.router, "link", "set", port, "master", br},
				{"-n", tp.router, "link", "set", port, "up"},
				{"-n", h.ns, "addr", "add", h.ip + "/24", "dev", h.iface},
				{"-n", h.ns, "link", "set", h.iface, "up"},
				{"-n", h.ns, "route", "add", "default", "via", gw},
			} {
				if err := ipCmd(args...); err != nil {
					return tp, err
				}
			}
			tp.hosts[h.name] = h
		}
	}
	return tp, nil
}

// addNS makes one namespace with lo up.
func (tp *topology) addNS(name string) error {
	if err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	tp.mu.Lock()
	tp.made = append(tp.made, name)
	tp.mu.Unlock()
	return ipCmd("-n", name, "link", "set", "lo", "up")
}

// onTeardown registers fn to run first when the topology is torn down.
func (tp *topology) onTeardown(fn func()) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.stoppers = append(tp.stoppers, fn)
}

// teardown stops the processes, then deletes every namespace made, which
// deletes their veths, bridges and nftables rules with them. It is
// idempotent and keeps going past errors.
func (tp *topology) teardown() []error {
	tp.mu.Lock()
	if tp.torn {
		tp.mu.Unlock()
		return nil
	}
	tp.torn = true
	stoppers, made := tp.stoppers, tp.made
	tp.mu.Unlock()
	for i := len(stoppers) - 1; i >= 0; i-- {
		stoppers[i]()
	}
	var errs []error
	for i := len(made) - 1; i >= 0; i-- {
		if err := ipCmd("netns", "del", made[i]); err != nil {
			errs = append(errs, err)
		}
	}
	activeMu.Lock()
	delete(active, tp)
	activeMu.Unlock()
	return errs
}

// sweepStale deletes the namespaces of earlier runs whose test process is
// gone (a run killed before its cleanup): their names carry the PID.
func sweepStale() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(f[0], nsPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			ipCmd("netns", "del", f[0])
		}
	}
}
