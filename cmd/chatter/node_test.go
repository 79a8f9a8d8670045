package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/google/go-cmp/cmp"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNodeConfig(t *testing.T) {
	files := map[string]string{"/k": "file secret 0123456789abcdef012\n"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	for _, tc := range []struct {
		name    string
		f       nodeFlags
		env     map[string]string
		addr    string
		group   string
		ttl     int
		key     string
		wantErr string
	}{
		{name: "flags", f: nodeFlags{listen: "127.0.0.5:7000", group: "239.255.1.1:7001", key: "k1", ttl: 2, ttlSet: true},
			addr: "127.0.0.5:7000", group: "239.255.1.1:7001", ttl: 2, key: "k1"},
		{name: "environment", f: nodeFlags{ttl: 4},
			env:  map[string]string{"CHATTER_ADDRESS": "127.0.0.6", "CHATTER_PORT": "7002", "CHATTER_MULTICAST_ADDRESS": "239.255.1.2", "CHATTER_MULTICAST_PORT": "7003", "CHATTER_MULTICAST_TTL": "1", "CHATTER_KEY": "envkey"},
			addr: "127.0.0.6:7002", group: "239.255.1.2:7003", ttl: 1, key: "envkey"},
		{name: "flags beat environment", f: nodeFlags{listen: "127.0.0.7:7004", key: "flagkey", ttl: 3, ttlSet: true},
			env:  map[string]string{"CHATTER_ADDRESS": "127.0.0.6", "CHATTER_PORT": "7002", "CHATTER_KEY": "envkey", "CHATTER_MULTICAST_TTL": "1"},
			addr: "127.0.0.7:7004", group: "224.1.1.1:29999", ttl: 3, key: "flagkey"},
		{name: "key file", f: nodeFlags{listen: "127.0.0.8:7005", keyFile: "/k", ttl: 4}, addr: "127.0.0.8:7005", group: "224.1.1.1:29999", ttl: 4, key: "file secret 0123456789abcdef012"},
		{name: "ttl 0 stays on the host", f: nodeFlags{listen: "127.0.0.8:7005", key: "k", ttl: 0, ttlSet: true}, addr: "127.0.0.8:7005", group: "224.1.1.1:29999", ttl: chatter.HostOnlyTTL, key: "k"},
		{name: "no key", f: nodeFlags{listen: "127.0.0.5:7000", ttl: 4}, wantErr: "a key is required"},
		{name: "unreadable key file", f: nodeFlags{listen: "127.0.0.5:7000", keyFile: "/missing", ttl: 4}, wantErr: "--key-file"},
		{name: "bad listen", f: nodeFlags{listen: "nope", key: "k", ttl: 4}, wantErr: "--listen"},
		{name: "bad port", f: nodeFlags{key: "k", ttl: 4}, env: map[string]string{"CHATTER_ADDRESS": "127.0.0.1", "CHATTER_PORT": "99999"}, wantErr: "port"},
		{name: "bad ttl", f: nodeFlags{listen: "127.0.0.5:7000", key: "k", ttl: 300, ttlSet: true}, wantErr: "--ttl"},
		{name: "bad peer", f: nodeFlags{listen: "127.0.0.5:7000", key: "k", ttl: 4, peers: []string{"x"}}, wantErr: "--peer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := nodeConfig(tc.f, nodeEnv{getenv: envOf(tc.env), readFile: readFile})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{cfg.Addr.String(), cfg.MulticastGroup.String(), string(cfg.Key)}
			if diff := cmp.Diff([]string{tc.addr, tc.group, tc.key}, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cfg.TTL != tc.ttl {
				t.Errorf("TTL %d, want %d", cfg.TTL, tc.ttl)
			}
		})
	}
}

func TestNodeBadUsage(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"--listen", "127.0.0.1:1"}, {"extra"}} {
		var stderr bytes.Buffer
		code := runNode(context.Background(), args, io.Discard, &stderr, nodeEnv{stdin: strings.NewReader(""), getenv: envOf(nil), readFile: os.ReadFile})
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
		if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); args[0] != "--nope" && n != 0 {
			t.Errorf("%v: %d-line error, want one line: %q", args, n+1, stderr.String())
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1 for the moment.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTwoNodes runs two real nodes on loopback, multicast on lo only (TTL
// 0): a line typed into one arrives at the other, in JSON.
func TestTwoNodes(t *testing.T) {
	port := freePort(t)
	group := netip.AddrPortFrom(netip.MustParseAddr("239.255.78.1"), uint16(port)).String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type running struct {
		out   *syncBuffer
		in    *io.PipeWriter
		ready chan chatter.NetID
		done  chan int
	}
	start := func(host string, peers ...string) running {
		r := running{out: &syncBuffer{}, ready: make(chan chatter.NetID, 1), done: make(chan int, 1)}
		pr, pw := io.Pipe()
		r.in = pw
		args := []string{"--listen", host + ":" + itoa(port), "--group", group, "--iface", "lo", "--ttl", "0", "--loopback", "--json"}
		for _, p := range peers {
			args = append(args, "--peer", p)
		}
		env := nodeEnv{stdin: pr, getenv: envOf(map[string]string{"CHATTER_KEY": "a test secret for two nodes"}), readFile: os.ReadFile,
			ready: func(id chatter.NetID) { r.ready <- id }}
		go func() { r.done <- runNode(ctx, args, r.out, io.Discard, env) }()
		select {
		case <-r.ready:
		case code := <-r.done:
			t.Fatalf("node %s exited %d", host, code)
		case <-time.After(5 * time.Second):
			t.Fatalf("node %s not ready", host)
		}
		return r
	}
	a := start("127.0.0.41")
	b := start("127.0.0.42", "127.0.0.41:"+itoa(port))
	time.Sleep(300 * time.Millisecond)
	io.WriteString(b.in, "hello from b\n")
	deadline := time.Now().Add(5 * time.Second)
	var msg map[string]string
	for time.Now().Before(deadline) && msg == nil {
		sc := bufio.NewScanner(strings.NewReader(a.out.String()))
		for sc.Scan() {
			var m map[string]string
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] == "message" {
				msg = m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if msg == nil {
		t.Fatalf("a printed no message; a's output:\n%s", a.out.String())
	}
	want := map[string]string{"event": "message", "origin": "127.0.0.42:" + itoa(port), "from": "127.0.0.42:" + itoa(port), "via": msg["via"], "text": "hello from b"}
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(a.out.String(), `{"event":"ready","id":"127.0.0.41:`) {
		t.Errorf("a's first line is not the ready event: %q", a.out.String())
	}
	// End of input closes a node cleanly.
	a.in.Close()
	b.in.Close()
	for _, r := range []running{a, b} {
		select {
		case code := <-r.done:
			if code != 0 {
				t.Errorf("exit %d at end of input", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("node did not exit at end of input")
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
