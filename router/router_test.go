package router_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/router"
)

// opts compares NetIDs by value and payload tables by their entries.
var opts = cmp.Options{
	cmpopts.EquateComparable(core.NetID{}),
	cmp.Comparer(func(a, b core.NetIDTable) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

var (
	alice = core.MustParseNetID("192.0.2.1:29999")
	bob   = core.MustParseNetID("192.0.2.2:29999")
	carol = core.MustParseNetID("192.0.2.3:29999")
)

func delivery(n core.MessageNumber) router.Delivery {
	return router.Delivery{ID: core.BroadcastID{Origin: alice, Number: n}, From: bob, Via: core.ViaTCP}
}

// helloHandler returns a complete Hello handler whose Dispatch is dispatch.
func helloHandler(dispatch func(context.Context, Hello, router.Delivery) (Hello, error)) router.Handler[Hello] {
	return router.Handler[Hello]{Name: "test.Hello", Encode: encodeHello, Decode: decodeHello, NetIDs: helloNetIDs, Dispatch: dispatch}
}

func echo(_ context.Context, m Hello, _ router.Delivery) (Hello, error) { return m, nil }

// collision returns two distinct names with the same CRC-32, found by a
// birthday search over some 10^5 pseudo-random names. (Names that differ in
// a few decimal digits never collide: CRC-32 detects short bursts.)
func collision(t *testing.T) (string, string) {
	t.Helper()
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
	seen := map[uint32]string{}
	x := uint64(1)
	for range 1 << 20 {
		x += 0x9e3779b97f4a7c15 // splitmix64
		z := (x ^ x>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		b := []byte("type.")
		for range 10 {
			b = append(b, alphabet[z&63])
			z >>= 6
		}
		sum := crc32.ChecksumIEEE(b)
		if other, ok := seen[sum]; ok && other != string(b) {
			return other, string(b)
		}
		seen[sum] = string(b)
	}
	t.Fatal("no collision found")
	return "", ""
}

type other struct{ N int }

func otherHandler(name string) router.Handler[other] {
	return router.Handler[other]{
		Name:     name,
		Encode:   func(dst []byte, m other, _ core.NetIDTable) ([]byte, error) { return append(dst, byte(m.N)), nil },
		Decode:   func(p []byte, _ core.NetIDTable) (other, error) { return other{N: int(p[0])}, nil },
		Dispatch: func(_ context.Context, m other, _ router.Delivery) (other, error) { return m, nil },
	}
}

func TestRegister(t *testing.T) {
	c1, c2 := collision(t)
	if core.TagOf(c1) != core.TagOf(c2) || c1 == c2 {
		t.Fatalf("%q and %q do not collide", c1, c2)
	}
	t.Logf("colliding names %q and %q, tag %#08x", c1, c2, uint32(core.TagOf(c1)))

	full := helloHandler(echo)
	without := func(f func(h *router.Handler[Hello])) router.Handler[Hello] {
		h := full
		f(&h)
		return h
	}
	tests := []struct {
		name  string
		first func(r *router.Router) error // registered before, must succeed
		reg   func(r *router.Router) error
		want  error
	}{{
		name: "complete",
		reg:  func(r *router.Router) error { return router.Register(r, full) },
	}, {
		name: "without NetIDs",
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.NetIDs = nil }))
		},
	}, {
		name: "no name",
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Name = "" }))
		},
		want: router.ErrInvalidHandler,
	}, {
		name: "no Encode",
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Encode = nil }))
		},
		want: router.ErrInvalidHandler,
	}, {
		name: "no Decode",
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Decode = nil }))
		},
		want: router.ErrInvalidHandler,
	}, {
		name: "no Dispatch",
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Dispatch = nil }))
		},
		want: router.ErrInvalidHandler,
	}, {
		name:  "same name twice",
		first: func(r *router.Router) error { return router.Register(r, otherHandler("test.Hello")) },
		reg:   func(r *router.Router) error { return router.Register(r, full) },
		want:  router.ErrDuplicateTag,
	}, {
		name:  "names with equal CRC-32",
		first: func(r *router.Router) error { return router.Register(r, otherHandler(c1)) },
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Name = c2 }))
		},
		want: router.ErrDuplicateTag,
	}, {
		name:  "one Go type twice",
		first: func(r *router.Router) error { return router.Register(r, full) },
		reg: func(r *router.Router) error {
			return router.Register(r, without(func(h *router.Handler[Hello]) { h.Name = "test.Hello2" }))
		},
		want: router.ErrDuplicateType,
	}, {
		name:  "two types",
		first: func(r *router.Router) error { return router.Register(r, otherHandler("test.Other")) },
		reg:   func(r *router.Router) error { return router.Register(r, full) },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := router.New(router.Config{})
			if tt.first != nil {
				if err := tt.first(r); err != nil {
					t.Fatalf("first registration: %v", err)
				}
			}
			err := tt.reg(r)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Register = %v, want %v", err, tt.want)
			}
			if err != nil {
				t.Log(err)
				return
			}
			// Registered: it encodes and dispatches.
			tag, ids, payload, err := router.EncodeMessage(r, Hello{Text: "x"})
			if err != nil {
				t.Fatalf("EncodeMessage: %v", err)
			}
			if _, err := r.Dispatch(context.Background(), tag, ids, payload, delivery(1)); err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
		})
	}
}

func TestEncodeMessageNotRegistered(t *testing.T) {
	r := router.New(router.Config{})
	if err := router.Register(r, otherHandler("test.Other")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := router.EncodeMessage(r, Hello{})
	if !errors.Is(err, router.ErrNotRegistered) {
		t.Fatalf("EncodeMessage(Hello) = %v, want ErrNotRegistered", err)
	}
	_, _, _, err = router.EncodeMessage(r, &other{})
	if !errors.Is(err, router.ErrNotRegistered) {
		t.Fatalf("EncodeMessage(*other) = %v, want ErrNotRegistered", err)
	}
}

func TestEncodeMessageErrors(t *testing.T) {
	r := router.New(router.Config{})
	h := helloHandler(echo)
	h.NetIDs = nil // the friends are not in the table: Encode fails
	if err := router.Register(r, h); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := router.EncodeMessage(r, Hello{Friends: []core.NetID{alice}}); !errors.Is(err, router.ErrHandler) {
		t.Errorf("EncodeMessage = %v, want ErrHandler", err)
	}
	tag, ids, payload, err := router.EncodeMessage(r, Hello{Text: "no friends"})
	if err != nil || tag != core.TagOf("test.Hello") || ids.Len() != 0 || len(payload) != 12 {
		t.Errorf("EncodeMessage = %#08x, %v, %q, %v", uint32(tag), ids.IDs(), payload, err)
	}

	r = router.New(router.Config{})
	h = helloHandler(echo)
	h.NetIDs = func(Hello) []core.NetID { panic("boom") }
	if err := router.Register(r, h); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = router.EncodeMessage(r, Hello{})
	var pe *router.PanicError
	if !errors.Is(err, router.ErrPanic) || !errors.As(err, &pe) || pe.Func != "NetIDs" || pe.Value != "boom" {
		t.Errorf("EncodeMessage = %v, want a panic of NetIDs", err)
	}
}

func TestRoundTrip(t *testing.T) {
	r := router.New(router.Config{})
	var got []Hello
	var gotD []router.Delivery
	err := router.Register(r, helloHandler(func(_ context.Context, m Hello, d router.Delivery) (Hello, error) {
		got = append(got, m)
		gotD = append(gotD, d)
		return m, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Hello{
		{},
		{Text: "hi"},
		{Text: "friends, unsorted, one twice", Friends: []core.NetID{carol, alice, bob, alice}},
		{Text: "ipv6", Friends: []core.NetID{core.MustParseNetID("[2001:db8::1]:1"), bob}},
	}
	for i, m := range msgs {
		tag, ids, payload, err := router.EncodeMessage(r, m)
		if err != nil {
			t.Fatalf("EncodeMessage(%+v): %v", m, err)
		}
		if tag != core.TagOf("test.Hello") {
			t.Errorf("tag %#08x, want TagOf(test.Hello)", uint32(tag))
		}
		if diff := cmp.Diff(core.NewNetIDTable(m.Friends...), ids, opts); diff != "" {
			t.Errorf("payload table (-want +got):\n%s", diff)
		}
		d := delivery(core.MessageNumber(i))
		res, err := r.Dispatch(context.Background(), tag, ids, payload, d)
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		// Unchanged by the handler: the same bytes and table go on.
		want := router.Result{Payload: payload, IDs: ids, Forward: true, Dispatched: true}
		if diff := cmp.Diff(want, res, opts); diff != "" {
			t.Errorf("Result (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(m, got[i], opts); diff != "" {
			t.Errorf("dispatched message (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(d, gotD[i], opts); diff != "" {
			t.Errorf("Delivery (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff(router.Stats{Dispatched: uint64(len(msgs))}, r.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	r := router.New(router.Config{})
	err := router.Register(r, helloHandler(func(_ context.Context, m Hello, d router.Delivery) (Hello, error) {
		// Add what this node knows: the sender, and a new text.
		m.Text += "+" + d.From.String()
		m.Friends = append(slices.Clone(m.Friends), d.From, carol)
		return m, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	tag, ids, payload, err := router.EncodeMessage(r, Hello{Text: "hi", Friends: []core.NetID{carol}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Dispatch(context.Background(), tag, ids, payload, delivery(1))
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := core.NewNetIDTable(bob, carol)
	if diff := cmp.Diff(wantIDs, res.IDs, opts); diff != "" {
		t.Errorf("new payload table (-want +got):\n%s", diff)
	}
	next, err := decodeHello(res.Payload, res.IDs)
	if err != nil {
		t.Fatalf("forwarded payload: %v", err)
	}
	want := Hello{Text: "hi+" + bob.String(), Friends: []core.NetID{carol, bob, carol}}
	if diff := cmp.Diff(want, next, opts); diff != "" {
		t.Errorf("forwarded message (-want +got):\n%s", diff)
	}
	if !res.Forward || !res.Dispatched {
		t.Errorf("Result %+v: want Forward and Dispatched", res)
	}
}

func TestAtMostOnce(t *testing.T) {
	type step struct {
		n       core.MessageNumber
		payload []byte // nil: a valid Hello
		want    bool   // dispatched
	}
	tests := []struct {
		name      string
		once      bool
		dedupSize int
		steps     []step
		stats     router.Stats
	}{{
		name:  "once: a second copy is not dispatched",
		once:  true,
		steps: []step{{n: 1, want: true}, {n: 1}, {n: 2, want: true}, {n: 1}, {n: 2}},
		stats: router.Stats{Dispatched: 2, Duplicates: 3},
	}, {
		name:  "without AtMostOnce every copy is dispatched",
		steps: []step{{n: 1, want: true}, {n: 1, want: true}},
		stats: router.Stats{Dispatched: 2},
	}, {
		name:  "a copy that does not decode uses up nothing",
		once:  true,
		steps: []step{{n: 1, payload: []byte{0xff}}, {n: 1, want: true}, {n: 1}},
		stats: router.Stats{Dispatched: 1, Duplicates: 1, DecodeErrors: 1},
	}, {
		name:      "the oldest ID is forgotten beyond DedupSize",
		once:      true,
		dedupSize: 2,
		steps: []step{
			{n: 1, want: true}, {n: 2, want: true}, {n: 1}, {n: 2},
			{n: 3, want: true},                 // forgets 1
			{n: 2}, {n: 3}, {n: 1, want: true}, // forgets 2
			{n: 2, want: true},
		},
		stats: router.Stats{Dispatched: 5, Duplicates: 4},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := router.New(router.Config{DedupSize: tt.dedupSize})
			h := helloHandler(echo)
			h.AtMostOnce = tt.once
			if err := router.Register(r, h); err != nil {
				t.Fatal(err)
			}
			tag, ids, good, err := router.EncodeMessage(r, Hello{Text: "once"})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []bool
			for _, s := range tt.steps {
				p := good
				if s.payload != nil {
					p = s.payload
				}
				res, _ := r.Dispatch(context.Background(), tag, ids, p, delivery(s.n))
				got = append(got, res.Dispatched)
				want = append(want, s.want)
				if !res.Forward {
					t.Errorf("step %d not forwarded", len(got))
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("dispatched (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, r.Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailuresForwardUnchanged: whatever fails, the received payload and
// table are what goes on.
func TestFailuresForwardUnchanged(t *testing.T) {
	errApp := errors.New("app says no")
	tests := []struct {
		name       string
		handler    func(h *router.Handler[Hello])
		tag        core.TypeTag // 0: the handler's
		payload    []byte       // nil: a valid Hello
		want       error
		panicFunc  string
		dispatched bool
		stats      router.Stats
	}{{
		name:  "unknown tag",
		tag:   core.TagOf("nobody.Knows"),
		want:  router.ErrUnknownTag,
		stats: router.Stats{UnknownTag: 1},
	}, {
		name:    "decode error",
		payload: []byte{5, 'a'},
		want:    router.ErrDecode,
		stats:   router.Stats{DecodeErrors: 1},
	}, {
		name:    "index outside the payload table",
		payload: []byte{0, 1, 7},
		want:    router.ErrDecode,
		stats:   router.Stats{DecodeErrors: 1},
	}, {
		name: "Decode panics",
		handler: func(h *router.Handler[Hello]) {
			h.Decode = func([]byte, core.NetIDTable) (Hello, error) { panic("decode boom") }
		},
		want:      router.ErrPanic,
		panicFunc: "Decode",
		stats:     router.Stats{Panics: 1},
	}, {
		name: "Dispatch returns an error",
		handler: func(h *router.Handler[Hello]) {
			h.Dispatch = func(context.Context, Hello, router.Delivery) (Hello, error) {
				return Hello{Text: "ignored"}, errApp
			}
		},
		want:       errApp,
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, HandlerErrors: 1},
	}, {
		name: "Dispatch panics",
		handler: func(h *router.Handler[Hello]) {
			h.Dispatch = func(context.Context, Hello, router.Delivery) (Hello, error) { panic("dispatch boom") }
		},
		want:       router.ErrPanic,
		panicFunc:  "Dispatch",
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, Panics: 1},
	}, {
		name: "Dispatch panics with an error",
		handler: func(h *router.Handler[Hello]) {
			h.Dispatch = func(context.Context, Hello, router.Delivery) (Hello, error) { panic(errApp) }
		},
		want:       router.ErrPanic,
		panicFunc:  "Dispatch",
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, Panics: 1},
	}, {
		name: "re-encoding fails",
		handler: func(h *router.Handler[Hello]) {
			h.Dispatch = func(_ context.Context, m Hello, _ router.Delivery) (Hello, error) {
				m.Friends = []core.NetID{carol}
				return m, nil
			}
			h.NetIDs = nil // carol is not in the new table
		},
		want:       router.ErrHandler,
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, HandlerErrors: 1},
	}, {
		name: "Encode panics",
		handler: func(h *router.Handler[Hello]) {
			h.Encode = func([]byte, Hello, core.NetIDTable) ([]byte, error) { panic("encode boom") }
		},
		want:       router.ErrPanic,
		panicFunc:  "Encode",
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, Panics: 1},
	}, {
		name: "NetIDs panics",
		handler: func(h *router.Handler[Hello]) {
			h.NetIDs = func(Hello) []core.NetID { panic("netids boom") }
		},
		want:       router.ErrPanic,
		panicFunc:  "NetIDs",
		dispatched: true,
		stats:      router.Stats{Dispatched: 1, Panics: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The origin's encoding, made with a plain handler.
			origin := router.New(router.Config{})
			if err := router.Register(origin, helloHandler(echo)); err != nil {
				t.Fatal(err)
			}
			tag, ids, payload, err := router.EncodeMessage(origin, Hello{Text: "hi", Friends: []core.NetID{alice, bob}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.tag != 0 {
				tag = tt.tag
			}
			if tt.payload != nil {
				payload = tt.payload
			}

			r := router.New(router.Config{})
			h := helloHandler(echo)
			if tt.handler != nil {
				tt.handler(&h)
			}
			if err := router.Register(r, h); err != nil {
				t.Fatal(err)
			}
			res, err := r.Dispatch(context.Background(), tag, ids, payload, delivery(1))
			if !errors.Is(err, tt.want) {
				t.Errorf("Dispatch error %v, want %v", err, tt.want)
			}
			t.Log(err)
			var pe *router.PanicError
			if errors.As(err, &pe) != (tt.panicFunc != "") || (pe != nil && (pe.Func != tt.panicFunc || pe.Name != "test.Hello" || len(pe.Stack) == 0)) {
				t.Errorf("PanicError %+v, want one of %q", pe, tt.panicFunc)
			}
			want := router.Result{Payload: payload, IDs: ids, Forward: true, Dispatched: tt.dispatched}
			if diff := cmp.Diff(want, res, opts); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, r.Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContextPassedThrough(t *testing.T) {
	type key struct{}
	r := router.New(router.Config{})
	var got any
	err := router.Register(r, helloHandler(func(ctx context.Context, m Hello, _ router.Delivery) (Hello, error) {
		got = ctx.Value(key{})
		return m, ctx.Err()
	}))
	if err != nil {
		t.Fatal(err)
	}
	tag, ids, payload, _ := router.EncodeMessage(r, Hello{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "deadline holder"))
	cancel()
	_, err = r.Dispatch(ctx, tag, ids, payload, delivery(1))
	if got != "deadline holder" || !errors.Is(err, context.Canceled) || !errors.Is(err, router.ErrHandler) {
		t.Errorf("handler saw %v; Dispatch = %v", got, err)
	}
}

// TestConcurrentDispatch dispatches overlapping IDs from many goroutines
// while handlers are being registered; run it with -race. Each ID reaches
// the at-most-once handler exactly once.
func TestConcurrentDispatch(t *testing.T) {
	r := router.New(router.Config{})
	var mu sync.Mutex
	calls := map[core.BroadcastID]int{}
	h := helloHandler(func(_ context.Context, m Hello, d router.Delivery) (Hello, error) {
		mu.Lock()
		calls[d.ID]++
		mu.Unlock()
		m.Friends = append(m.Friends, d.From)
		return m, nil
	})
	h.AtMostOnce = true
	if err := router.Register(r, h); err != nil {
		t.Fatal(err)
	}
	tag, ids, payload, err := router.EncodeMessage(r, Hello{Text: "race", Friends: []core.NetID{alice}})
	if err != nil {
		t.Fatal(err)
	}
	const workers, nIDs = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range nIDs {
				res, err := r.Dispatch(context.Background(), tag, ids, payload, delivery(core.MessageNumber((i+w)%nIDs)))
				if err != nil || !res.Forward {
					t.Errorf("Dispatch: %+v, %v", res, err)
					return
				}
				if res.Dispatched && res.IDs.Len() != 2 {
					t.Errorf("dispatched result table %v", res.IDs.IDs())
				}
				r.Stats()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			if err := router.Register(r, otherHandler(fmt.Sprint("concurrent", i))); err != nil && !errors.Is(err, router.ErrDuplicateType) {
				t.Errorf("Register: %v", err)
			}
		}
	}()
	wg.Wait()
	if len(calls) != nIDs {
		t.Errorf("%d IDs dispatched, want %d", len(calls), nIDs)
	}
	for id, n := range calls {
		if n != 1 {
			t.Errorf("%s dispatched %d times", id, n)
		}
	}
	if diff := cmp.Diff(router.Stats{Dispatched: nIDs, Duplicates: (workers - 1) * nIDs}, r.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func BenchmarkDispatch(b *testing.B) {
	for _, once := range []bool{false, true} {
		b.Run(fmt.Sprintf("AtMostOnce=%v", once), func(b *testing.B) {
			r := router.New(router.Config{})
			h := helloHandler(echo)
			h.AtMostOnce = once
			if err := router.Register(r, h); err != nil {
				b.Fatal(err)
			}
			tag, ids, payload, err := router.EncodeMessage(r, Hello{Text: "bench", Friends: []core.NetID{alice, bob, carol}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := core.MessageNumber(0)
			for b.Loop() {
				n++
				if _, err := r.Dispatch(context.Background(), tag, ids, payload, delivery(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
