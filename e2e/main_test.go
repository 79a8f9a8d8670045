package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/crypto"
)

// helperEnv selects what the test binary does when the tests run it as a
// child process inside a namespace: "node" (a Chatter node whose keys can
// be rotated from stdin) or "fetch" (print a URL's body).
const helperEnv = "CHATTER_E2E_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "node":
		os.Exit(helperNode(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	case "fetch":
		os.Exit(helperFetch(os.Args[1:], os.Stdout, os.Stderr))
	}
	// An interrupted run still removes its namespaces.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		teardownAll()
		fmt.Fprintf(os.Stderr, "e2e: %v: namespaces removed\n", s)
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(sigs)
	teardownAll()
	os.Exit(code)
}

// helperFetch prints the body of the URL in args[0]: it reads a node's
// expvar from inside the node's namespace.
func helperFetch(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "fetch: want one URL")
		return 2
	}
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "fetch:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "fetch:", resp.Status)
		return 1
	}
	if _, err := io.Copy(stdout, io.LimitReader(resp.Body, 1<<20)); err != nil {
		fmt.Fprintln(stderr, "fetch:", err)
		return 1
	}
	return 0
}

// ctlPrefix starts a control line of the helper node; other lines are
// broadcast.
const ctlPrefix = "#ctl "

// helperNode is `chatter node` with the same flags, line handler and JSON
// output, plus control lines on stdin that the CLI lacks:
//
//	#ctl add ID KEYFILE   Keyring().Add(ID, key from KEYFILE)
//	#ctl use ID           Keyring().Use(ID)
//	#ctl remove ID        Keyring().Remove(ID)
//	#ctl stats            print {"event":"stats","peers":N,"stats":{...}}
//
// Each control line answers {"event":"ctl","op":...,"err":...}.
func helperNode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("e2e node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "IP:PORT")
	group := fs.String("group", "", "multicast group IP:PORT")
	iface := fs.String("iface", "", "multicast interface")
	ttl := fs.Int("ttl", 1, "multicast TTL")
	keyFile := fs.String("key-file", "", "key file")
	var peerArgs []string
	fs.Func("peer", "IP:PORT (repeatable)", func(s string) error { peerArgs = append(peerArgs, s); return nil })
	fs.Bool("json", true, "ignored: output is always JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *iface == "" {
		// Multicast only on a link inside the test's namespace, named.
		fmt.Fprintln(stderr, "e2e node: --iface is required")
		return 2
	}
	addr, err := netip.ParseAddrPort(*listen)
	if err != nil {
		fmt.Fprintln(stderr, "e2e node: --listen:", err)
		return 2
	}
	grp, err := netip.ParseAddrPort(*group)
	if err != nil {
		fmt.Fprintln(stderr, "e2e node: --group:", err)
		return 2
	}
	key, err := readSecret(*keyFile)
	if err != nil {
		fmt.Fprintln(stderr, "e2e node:", err)
		return 2
	}
	var peers []chatter.NetID
	for _, p := range peerArgs {
		ap, err := netip.ParseAddrPort(p)
		if err != nil {
			fmt.Fprintln(stderr, "e2e node: --peer:", err)
			return 2
		}
		id, err := core.NetIDFromAddrPort(ap)
		if err != nil {
			fmt.Fprintln(stderr, "e2e node: --peer:", err)
			return 2
		}
		peers = append(peers, id)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := chatter.New(chatter.Config{Addr: addr, MulticastGroup: grp, Interface: *iface, TTL: *ttl, Key: key, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "e2e node:", err)
		return 1
	}
	defer node.Close()
	var mu sync.Mutex
	emit := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			b, _ = json.Marshal(map[string]string{"event": "error", "err": err.Error()})
		}
		mu.Lock()
		defer mu.Unlock()
		stdout.Write(append(b, '\n'))
	}
	if err := chatter.Register(node, lineHandler(func(text string, d chatter.Delivery) {
		via := "tcp"
		if d.Via == core.ViaMulticast {
			via = "mcast"
		}
		emit(map[string]string{"event": "message", "origin": d.ID.Origin.String(), "from": d.From.String(), "via": via, "text": text})
	})); err != nil {
		fmt.Fprintln(stderr, "e2e node:", err)
		return 1
	}
	emit(map[string]string{"event": "ready", "id": node.LocalID().String()})

	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 4096), 64<<10)
	ctx := context.Background()
	for sc.Scan() {
		line := sc.Text()
		if cmd, ok := strings.CutPrefix(line, ctlPrefix); ok {
			f := strings.Fields(cmd)
			if len(f) == 1 && f[0] == "stats" {
				emit(map[string]any{"event": "stats", "peers": len(node.Peers()), "stats": node.Stats()})
				continue
			}
			emit(map[string]string{"event": "ctl", "op": cmd, "err": errText(control(node, f))})
			continue
		}
		if _, err := chatter.Broadcast(ctx, node, append(node.Peers(), peers...), line); err != nil {
			fmt.Fprintln(stderr, "e2e node: broadcast:", err)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the last broadcast leave
	return 0
}

// control applies one key operation to the node's keyring.
func control(node *chatter.Node, f []string) error {
	if len(f) < 2 {
		return errors.New("want OP ID [KEYFILE]")
	}
	id, err := strconv.ParseUint(f[1], 10, 8)
	if err != nil {
		return err
	}
	ring := node.Keyring()
	switch {
	case f[0] == "add" && len(f) == 3:
		secret, err := readSecret(f[2])
		if err != nil {
			return err
		}
		k, err := crypto.KeyFromSecret(secret, nil)
		if err != nil {
			return err
		}
		return ring.Add(crypto.KeyID(id), k)
	case f[0] == "use" && len(f) == 2:
		return ring.Use(crypto.KeyID(id))
	case f[0] == "remove" && len(f) == 2:
		return ring.Remove(crypto.KeyID(id))
	}
	return fmt.Errorf("unknown control %q", strings.Join(f, " "))
}

func readSecret(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) == 0 {
		return nil, errors.New("key file: empty")
	}
	return b, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// lineHandler is the handler of `chatter node`'s line messages (same name,
// so the same wire tag, and the same encoding: the text's bytes).
func lineHandler(arrive func(string, chatter.Delivery)) chatter.Handler[string] {
	const maxLine = 64 << 10
	bad := errors.New("not a line of UTF-8 text")
	return chatter.Handler[string]{
		Name: "chatter.line",
		Encode: func(dst []byte, m string, _ core.NetIDTable) ([]byte, error) {
			if len(m) > maxLine || !utf8.ValidString(m) {
				return dst, bad
			}
			return append(dst, m...), nil
		},
		Decode: func(p []byte, _ core.NetIDTable) (string, error) {
			if len(p) > maxLine || !utf8.Valid(p) {
				return "", bad
			}
			return string(p), nil
		},
		Dispatch: func(_ context.Context, m string, d chatter.Delivery) (string, error) {
			arrive(m, d)
			return m, nil
		},
		AtMostOnce: true,
	}
}
