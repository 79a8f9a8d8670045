package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
)

// nodeEnv is what `chatter node` takes from its process: stdin, the
// environment, and where to read a key file.
type nodeEnv struct {
	stdin    io.Reader
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	// ready, if set, is called with the node's NetID once it listens.
	ready func(chatter.NetID)
}

// nodeFlags are the flags of `chatter node`; the CHATTER_* environment
// variables fill what flags do not set.
type nodeFlags struct {
	listen, group, iface, key, keyFile, debugAddr string
	ttl                                           int
	peers                                         []string
	json, noMulticast, loopback, ttlSet           bool
}

type peerList struct{ list *[]string }

func (p peerList) String() string {
	if p.list == nil {
		return ""
	}
	return strings.Join(*p.list, ",")
}
func (p peerList) Set(s string) error { *p.list = append(*p.list, s); return nil }

// runNode runs one real node: each line on stdin is broadcast to every
// known peer, each arrival is printed.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer, env nodeEnv) int {
	fs := flag.NewFlagSet("chatter node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f nodeFlags
	fs.StringVar(&f.listen, "listen", "", "the node's TCP address IP:PORT, its NetID (env CHATTER_ADDRESS, CHATTER_PORT; default: the host's first IPv4 address, port 29999)")
	fs.StringVar(&f.group, "group", "", "multicast group IP:PORT (env CHATTER_MULTICAST_ADDRESS, CHATTER_MULTICAST_PORT; default 224.1.1.1:29999)")
	fs.StringVar(&f.iface, "iface", "", "network interface for multicast (default: the one holding the node's address)")
	fs.IntVar(&f.ttl, "ttl", chatter.DefaultTTL, "multicast TTL, 0 keeps datagrams on this host (env CHATTER_MULTICAST_TTL)")
	fs.StringVar(&f.key, "key", "", "group secret (env CHATTER_KEY; prefer --key-file or the environment: argv is visible to other users)")
	fs.StringVar(&f.keyFile, "key-file", "", "file holding the group secret")
	fs.Var(peerList{&f.peers}, "peer", "a node to broadcast to, IP:PORT (repeatable): how to reach other networks before learning them")
	fs.BoolVar(&f.json, "json", false, "print events as JSON lines")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve expvar (the node's Stats) on this address, e.g. 127.0.0.1:6060")
	fs.BoolVar(&f.noMulticast, "no-multicast", false, "run on TCP alone (networks without multicast)")
	fs.BoolVar(&f.loopback, "loopback", false, "deliver multicast to other nodes on this host")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chatter node: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "ttl" {
			f.ttlSet = true
		}
	})
	cfg, peers, err := nodeConfig(f, env)
	if err != nil {
		fmt.Fprintf(stderr, "chatter node: %v\n", err)
		return 2
	}
	out := &printer{w: stdout, json: f.json}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := chatter.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "chatter node: %v\n", err)
		return 1
	}
	defer node.Close()
	if err := chatter.Register(node, lineHandler(func(m Line, d chatter.Delivery) {
		out.message(d, m.Text)
	})); err != nil {
		fmt.Fprintf(stderr, "chatter node: %v\n", err)
		return 1
	}
	if f.debugAddr != "" {
		stop, err := serveDebug(f.debugAddr, node)
		if err != nil {
			fmt.Fprintf(stderr, "chatter node: debug address: %v\n", err)
			return 1
		}
		defer stop()
	}
	out.ready(node.LocalID())
	if env.ready != nil {
		env.ready(node.LocalID())
	}

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(env.stdin)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return 0
		case err := <-readErr:
			if err != nil {
				fmt.Fprintf(stderr, "chatter node: stdin: %v\n", err)
				return 1
			}
			// End of input: let the last broadcast leave, then close.
			time.Sleep(200 * time.Millisecond)
			return 0
		case text := <-lines:
			dests := append(node.Peers(), peers...)
			if _, err := chatter.Broadcast(ctx, node, dests, Line{Text: text}); err != nil {
				fmt.Fprintf(stderr, "chatter node: broadcast: %v\n", err)
			}
		}
	}
}

// nodeConfig builds the node's Config: flags beat CHATTER_* variables,
// which beat the defaults.
func nodeConfig(f nodeFlags, env nodeEnv) (chatter.Config, []chatter.NetID, error) {
	var cfg chatter.Config
	listen, err := addrPort("--listen", f.listen, env.getenv("CHATTER_ADDRESS"), env.getenv("CHATTER_PORT"), chatter.DefaultPort, true)
	if err != nil {
		return cfg, nil, err
	}
	group, err := addrPort("--group", f.group, env.getenv("CHATTER_MULTICAST_ADDRESS"), env.getenv("CHATTER_MULTICAST_PORT"), chatter.DefaultPort, false)
	if err != nil {
		return cfg, nil, err
	}
	if !group.Addr().IsValid() {
		group = chatter.DefaultMulticastGroup
	}
	ttl := f.ttl
	if !f.ttlSet {
		if s := env.getenv("CHATTER_MULTICAST_TTL"); s != "" {
			if ttl, err = strconv.Atoi(s); err != nil || ttl < 0 || ttl > 255 {
				return cfg, nil, fmt.Errorf("CHATTER_MULTICAST_TTL %q: want 0..255", s)
			}
		}
	}
	if ttl < 0 || ttl > 255 {
		return cfg, nil, fmt.Errorf("--ttl %d: want 0..255", ttl)
	}
	if ttl == 0 {
		ttl = chatter.HostOnlyTTL
	}
	key := []byte(f.key)
	if f.keyFile != "" {
		b, err := env.readFile(f.keyFile)
		if err != nil {
			return cfg, nil, fmt.Errorf("--key-file: %w", err)
		}
		key = []byte(strings.TrimRight(string(b), "\r\n"))
	}
	if len(key) == 0 {
		key = []byte(env.getenv("CHATTER_KEY"))
	}
	if len(key) == 0 {
		return cfg, nil, errors.New("a key is required: --key-file FILE, CHATTER_KEY or --key")
	}
	var peers []chatter.NetID
	for _, p := range f.peers {
		ap, err := netip.ParseAddrPort(p)
		if err != nil {
			return cfg, nil, fmt.Errorf("--peer %q: %w", p, err)
		}
		id, err := core.NetIDFromAddrPort(ap)
		if err != nil {
			return cfg, nil, fmt.Errorf("--peer %q: %w", p, err)
		}
		peers = append(peers, id)
	}
	cfg = chatter.Config{Addr: listen, MulticastGroup: group, TTL: ttl, Key: key, Interface: f.iface,
		NoMulticast: f.noMulticast, MulticastLoopback: f.loopback}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	return cfg, peers, nil
}

// addrPort resolves one address from a flag (IP:PORT) or from the pair of
// environment variables; detect finds the host's IPv4 address when neither
// names one.
func addrPort(flagName, flagValue, envAddr, envPort string, defPort uint16, detect bool) (netip.AddrPort, error) {
	if flagValue != "" {
		ap, err := netip.ParseAddrPort(flagValue)
		if err != nil {
			return ap, fmt.Errorf("%s %q: %w", flagName, flagValue, err)
		}
		return ap, nil
	}
	port := defPort
	if envPort != "" {
		p, err := strconv.ParseUint(envPort, 10, 16)
		if err != nil || p == 0 {
			return netip.AddrPort{}, fmt.Errorf("port %q: want 1..65535", envPort)
		}
		port = uint16(p)
	}
	var addr netip.Addr
	if envAddr != "" {
		a, err := netip.ParseAddr(envAddr)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: %w", envAddr, err)
		}
		addr = a
	} else if detect {
		a, err := hostIPv4()
		if err != nil {
			return netip.AddrPort{}, err
		}
		addr = a
	}
	return netip.AddrPortFrom(addr, port), nil
}

// hostIPv4 returns the first IPv4 address of an up, non-loopback interface,
// as the seed does when no address is configured.
func hostIPv4() (netip.Addr, error) {
	ifis, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ifi := range ifis {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if p, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap().Is4() {
					return ip.Unmap(), nil
				}
			}
		}
	}
	return netip.Addr{}, errors.New("no IPv4 address found on this host: set --listen")
}

// printer writes events, as text or JSON lines, one at a time.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (p *printer) emit(text string, v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(v)
		p.w.Write(append(b, '\n'))
		return
	}
	fmt.Fprintln(p.w, text)
}

func (p *printer) ready(id chatter.NetID) {
	p.emit("ready "+id.String(), map[string]string{"event": "ready", "id": id.String()})
}

func (p *printer) message(d chatter.Delivery, text string) {
	via := viaName(d.Via)
	p.emit(fmt.Sprintf("%s via %s from %s: %s", d.ID.Origin, via, d.From, text),
		map[string]string{"event": "message", "origin": d.ID.Origin.String(), "from": d.From.String(), "via": via, "text": text})
}

// serveDebug serves the node's Stats as expvar on addr, which must be a
// loopback address unless given explicitly.
func serveDebug(addr string, node *chatter.Node) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	vars := new(expvar.Map).Init()
	vars.Set("stats", expvar.Func(func() any { return node.Stats() }))
	vars.Set("id", expvar.Func(func() any { return node.LocalID().String() }))
	vars.Set("peers", expvar.Func(func() any { return len(node.Peers()) }))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/vars", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, "{%q: %s}\n", "chatter", vars.String())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	return func() { srv.Close(); <-done }, nil
}
