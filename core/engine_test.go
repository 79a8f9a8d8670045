package core_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/mock/gomock"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/internal/mocks"
)

// The engine under test is self, nid(1). Test nodes by number:
//
//	 2..9   nodes of no known domain (cold)
//	11..19  self's own multicast domain (first-hand reports)
//	21..29  remote domain B (Domain key nid(21))
//	31..39  remote domain C (Domain key nid(31))
//	50..59  senders of received frames
//	60      an origin
var (
	t0        = time.Date(2026, time.January, 1, 12, 0, 0, 0, time.UTC)
	self      = nid(1)
	selfEpoch = core.NewEpoch(t0.Add(-time.Hour), 0x5e1f)
	peerEpoch = core.NewEpoch(t0.Add(-2*time.Hour), 0xbeef)
	keyB      = nid(21)
	keyC      = nid(31)

	testTag     = core.TagOf("test")
	testIDs     = core.NewNetIDTable(nid(99))
	testPayload = []byte("hello")
)

// firstID is the BroadcastID of self's first broadcast.
var firstID = core.BroadcastID{Origin: self, Number: core.MessageNumber(selfEpoch.StartMicros) + 1}

// actionOpts compares actions, ignoring the rotating seen lists and
// others, and the driver's Meta.
var actionOpts = cmp.Options{
	planOpts,
	cmpopts.IgnoreFields(core.Action{}, "Meta"),
	cmpopts.IgnoreFields(core.Gossip{}, "Seen", "Others"),
	cmpopts.IgnoreFields(core.Ack{}, "Seen"),
	cmpopts.IgnoreFields(core.Announcement{}, "Seen"),
}

// knowledge is what the mocked peer store answers.
type knowledge struct {
	reports map[core.NetID]core.Report
	domains map[core.NetID]core.NetID
	peers   []core.NetID
	samples []core.Group // what SampleGroups returns
}

// fresh is a first-hand report that arrived a second before t0, not lagging.
var fresh = core.Report{At: t0.Add(-time.Second)}

// warm is the knowledge of the warm broadcast: fresh reports from 11, 12
// and 13, domain B = {21, 22, 23}, domain C = {31, 32}.
func warm() knowledge {
	return knowledge{
		reports: map[core.NetID]core.Report{nid(11): fresh, nid(12): fresh, nid(13): fresh},
		domains: map[core.NetID]core.NetID{nid(21): keyB, nid(22): keyB, nid(23): keyB, nid(31): keyC, nid(32): keyC},
		peers:   nids(11, 12, 13, 21, 22, 23, 31, 32),
	}
}

// expectQueries makes store answer Report, Domain and Peers from k, as
// often as asked.
func expectQueries(store *mocks.MockPeerStore, k knowledge) {
	expectLookups(store, k)
	store.EXPECT().SampleGroups(gomock.Any(), gomock.Any()).Return(k.samples).AnyTimes()
}

// expectLookups answers the store's per-node questions from k, leaving
// SampleGroups to the test.
func expectLookups(store *mocks.MockPeerStore, k knowledge) {
	store.EXPECT().Report(gomock.Any()).DoAndReturn(func(id core.NetID) (core.Report, bool) {
		r, ok := k.reports[id]
		return r, ok
	}).AnyTimes()
	store.EXPECT().Domain(gomock.Any()).DoAndReturn(func(id core.NetID) (core.NetID, bool) {
		d, ok := k.domains[id]
		return d, ok
	}).AnyTimes()
	store.EXPECT().Peers(gomock.Any()).DoAndReturn(func(time.Time) []core.NetID { return slices.Clone(k.peers) }).AnyTimes()
}

// allowLearning lets the engine feed store observations freely.
func allowLearning(store *mocks.MockPeerStore) {
	store.EXPECT().ObserveDestinations(gomock.Any(), gomock.Any()).AnyTimes()
	store.EXPECT().Observe(gomock.Any()).AnyTimes()
	store.EXPECT().Expire(gomock.Any()).AnyTimes()
}

// sizer returns a mocked Sizer answering fits for gossip (and true for
// announcements), which checks that it is only asked about multicast
// messages: gossip with no distribution list and a sequence.
func sizer(t *testing.T, ctrl *gomock.Controller, fits bool) *mocks.MockSizer {
	s := mocks.NewMockSizer(ctrl)
	s.EXPECT().MulticastFits(gomock.Any()).DoAndReturn(func(m *core.Message) bool {
		switch m.Kind {
		case core.MsgAnnouncement:
			return true
		case core.MsgMulticastGossip:
			if g := &m.Gossip; len(g.Distribution) > 0 || g.MulticastSeq == 0 {
				t.Errorf("MulticastFits asked about a gossip with list %v and sequence %d", g.Distribution, g.MulticastSeq)
			}
		default:
			t.Errorf("MulticastFits asked about a %s", m.Kind)
		}
		return fits
	}).AnyTimes()
	return s
}

// engineWith returns an engine of cfg (Self and Epoch filled in) over store
// and sizer, drawing from seed.
func engineWith(t *testing.T, cfg core.EngineConfig, store core.PeerStore, sz core.Sizer, seed uint64) *core.Engine {
	t.Helper()
	cfg.Self, cfg.Epoch = self, selfEpoch
	e, err := core.NewEngine(cfg, store, seeded(seed), sz)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newEngine is engineWith over a mocked store answering k and learning
// freely, and a sizer saying every multicast fits.
func newEngine(t *testing.T, cfg core.EngineConfig, k knowledge, seed uint64) *core.Engine {
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	expectQueries(store, k)
	allowLearning(store)
	return engineWith(t, cfg, store, sizer(t, ctrl, true), seed)
}

func testGossip(id core.BroadcastID, list ...core.Group) core.Gossip {
	return core.Gossip{ID: id, Distribution: list, Tag: testTag, PayloadIDs: testIDs, Payload: testPayload}
}

func mcastAction(id core.BroadcastID, seq core.MulticastSeq) core.Action {
	g := testGossip(id)
	g.MulticastSeq = seq
	return core.Action{Type: core.ActionMulticast, Message: core.Message{Kind: core.MsgMulticastGossip, Gossip: g}}
}

func sendAction(to core.NetID, id core.BroadcastID, list ...core.Group) core.Action {
	return core.Action{Type: core.ActionSend, To: to, Message: core.Message{Kind: core.MsgGossip, Gossip: testGossip(id, list...)}}
}

func ackAction(to core.NetID, ids ...core.BroadcastID) core.Action {
	return core.Action{Type: core.ActionSend, To: to, Message: core.Message{Kind: core.MsgAck, Ack: core.Ack{IDs: ids}}}
}

func repairRequestAction(to core.NetID, epoch core.Epoch, first, last core.MulticastSeq) core.Action {
	return core.Action{Type: core.ActionSend, To: to, Message: core.Message{Kind: core.MsgRepairRequest,
		Repair: core.RepairRequest{Epoch: epoch, Ranges: []core.SeqRange{{First: first, Last: last}}}}}
}

func announceAction(last core.MulticastSeq) core.Action {
	return core.Action{Type: core.ActionMulticast, Message: core.Message{Kind: core.MsgAnnouncement, Announcement: core.Announcement{LastSeq: last}}}
}

func deliverAction(from core.NetID, via core.Via, kind core.MessageKind, g core.Gossip, token uint64) core.Action {
	return core.Action{Type: core.ActionDeliver, From: from, Via: via, Relay: token != 0, Token: token,
		Message: core.Message{Kind: kind, Gossip: g}}
}

// broadcast has e broadcast the test payload to dests at now and returns the
// BroadcastID and the actions.
func broadcast(e *core.Engine, now time.Time, dests []core.NetID) (core.BroadcastID, []core.Action) {
	id := e.Broadcast(now, dests, testTag, testIDs, testPayload)
	return id, e.Ready()
}

// receiveTCP has e receive by TCP, from from, the test gossip of id with list.
func receiveTCP(e *core.Engine, now time.Time, from core.NetID, id core.BroadcastID, list ...core.Group) {
	m := core.Message{Kind: core.MsgGossip, Gossip: testGossip(id, list...)}
	e.Receive(now, from, peerEpoch, core.ViaTCP, &m, nil)
}

// receiveMcast has e receive id's gossip multicast by from with seq.
func receiveMcast(e *core.Engine, now time.Time, from core.NetID, epoch core.Epoch, id core.BroadcastID, seq core.MulticastSeq) {
	g := testGossip(id)
	g.MulticastSeq = seq
	m := core.Message{Kind: core.MsgMulticastGossip, Gossip: g}
	e.Receive(now, from, epoch, core.ViaMulticast, &m, nil)
}

func diffActions(t *testing.T, what string, want, got []core.Action) {
	t.Helper()
	if diff := cmp.Diff(want, got, actionOpts); diff != "" {
		t.Errorf("%s: actions (-want +got):\n%s\ngot:\n%s", what, diff, describe(got))
	}
}

// describe renders actions one a line, for failure messages.
func describe(as []core.Action) string {
	var b strings.Builder
	for _, a := range as {
		switch a.Type {
		case core.ActionMulticast:
			fmt.Fprintf(&b, "  multicast %s", a.Message.Kind)
		case core.ActionSend:
			fmt.Fprintf(&b, "  send %s to %s", a.Message.Kind, a.To)
		case core.ActionDeliver:
			fmt.Fprintf(&b, "  deliver %s from %s via %s relay=%v token=%d", a.Message.Kind, a.From, a.Via, a.Relay, a.Token)
		}
		if a.Message.Kind.IsGossip() {
			fmt.Fprintf(&b, " id=%s seq=%d list=%v", a.Message.Gossip.ID, a.Message.Gossip.MulticastSeq, a.Message.Gossip.Distribution)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// gossipSends returns the TCP gossip sends among as.
func gossipSends(as []core.Action) []core.Action {
	var out []core.Action
	for _, a := range as {
		if a.Type == core.ActionSend && a.Message.Kind == core.MsgGossip {
			out = append(out, a)
		}
	}
	return out
}

func multicasts(as []core.Action) []core.Action {
	var out []core.Action
	for _, a := range as {
		if a.Type == core.ActionMulticast && a.Message.Kind == core.MsgMulticastGossip {
			out = append(out, a)
		}
	}
	return out
}

// byTo sorts sends by target, for plans whose order is the shuffle's.
func byTo(as []core.Action) []core.Action {
	as = slices.Clone(as)
	slices.SortStableFunc(as, func(a, b core.Action) int { return a.To.Compare(b.To) })
	return as
}

// --- configuration -----------------------------------------------------------

func TestNewEngineConfig(t *testing.T) {
	ctrl := gomock.NewController(t)
	store, sz := mocks.NewMockPeerStore(ctrl), mocks.NewMockSizer(ctrl)
	for _, tc := range []struct {
		name string
		cfg  core.EngineConfig
	}{
		{"no self", core.EngineConfig{Epoch: selfEpoch}},
		{"zero epoch", core.EngineConfig{Self: self}},
		{"unknown strategy", core.EngineConfig{Self: self, Epoch: selfEpoch, Strategy: 99}},
	} {
		if _, err := core.NewEngine(tc.cfg, store, seeded(1), sz); err == nil {
			t.Errorf("%s: NewEngine accepted %+v", tc.name, tc.cfg)
		}
	}
	if _, err := core.NewEngine(core.EngineConfig{Self: self, Epoch: selfEpoch}, nil, seeded(1), sz); err == nil {
		t.Error("NewEngine accepted a nil peer store")
	}
}

// --- broadcast at the origin ---------------------------------------------------

func TestEngineColdBroadcast(t *testing.T) {
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	// Every destination is recorded, once, without self and duplicates.
	store.EXPECT().ObserveDestinations(nids(2, 3, 4, 5, 6, 7), t0).Times(1)
	expectQueries(store, knowledge{})
	e := engineWith(t, core.EngineConfig{}, store, sizer(t, ctrl, true), 1)

	id, got := broadcast(e, t0, []core.NetID{nid(2), nid(3), self, nid(4), nid(5), nid(3), nid(6), nid(7)})
	if id != firstID {
		t.Errorf("Broadcast returned %v, want %v", id, firstID)
	}
	// The six destinations as singletons shuffled (seed 1: 6 7 5 4 2 3),
	// placed by PlaceLone (all lone: in turn into the leaves, deepest and
	// last first, then the rest) and split 3, 2, 1; then one multicast:
	// the chunks lead to further hops, so they go first.
	want := []core.Action{
		sendAction(nid(3), id, grp(5), grp(7)),
		sendAction(nid(2), id, grp(6)),
		sendAction(nid(4), id),
		mcastAction(id, 1),
	}
	diffActions(t, "cold broadcast", want, got)
	if s := e.Stats(); s.Broadcasts != 1 || s.Multicasts != 1 || s.Sends != 3 {
		t.Errorf("Stats = %+v, want 1 broadcast, 1 multicast, 3 sends", s)
	}
	if e.HasReady() {
		t.Error("HasReady after Ready")
	}
}

func TestEngineWarmBroadcast(t *testing.T) {
	e := newEngine(t, core.EngineConfig{}, warm(), 1)
	id, got := broadcast(e, t0, nids(11, 12, 13, 21, 22, 23, 31, 32))
	// The remote domains as two groups, entries drawn at random, and one
	// safety net among the fresh 11, 12, 13, planned as a lone node in
	// the deepest leaf: 32 sends it on with an empty list, at hop 2, as
	// 32's multicast reaches 31. The chunks go first (they lead to
	// further hops), then one multicast.
	want := []core.Action{
		sendAction(nid(32), id, grp(32, 31), grp(13)),
		sendAction(nid(22), id, grp(22, 21, 23)),
		mcastAction(id, 1),
	}
	diffActions(t, "warm broadcast", want, got)

	named, _ := coverage(t, got)
	if own := named[nid(11)] + named[nid(12)] + named[nid(13)]; own != 1 {
		t.Errorf("the fresh own-domain nodes are named %d times, want exactly 1 safety net", own)
	}
}

func TestEngineSafetyNetDrawn(t *testing.T) {
	// Over seeds, the safety net is each fresh node in turn.
	count := map[core.NetID]int{}
	for seed := range uint64(300) {
		e := newEngine(t, core.EngineConfig{}, warm(), seed)
		_, got := broadcast(e, t0, nids(11, 12, 13))
		sends := gossipSends(got)
		if len(sends) != 1 {
			t.Fatalf("seed %d: %d sends, want one safety net:\n%s", seed, len(sends), describe(got))
		}
		count[sends[0].To]++
	}
	for _, id := range nids(11, 12, 13) {
		if count[id] < 60 {
			t.Errorf("safety net %s drawn %d times of 300", id, count[id])
		}
	}
}

func TestEngineFreshness(t *testing.T) {
	const maxAge, maxLag = 5 * time.Second, 4
	for _, tc := range []struct {
		name   string
		report core.Report
		fresh  bool
	}{
		{"new", core.Report{At: t0}, true},
		{"as old as ReportMaxAge", core.Report{At: t0.Add(-maxAge)}, true},
		{"older than ReportMaxAge", core.Report{At: t0.Add(-maxAge - time.Nanosecond)}, false},
		{"lagging ReportMaxLag", core.Report{At: t0, Lag: maxLag}, true},
		{"lagging more than ReportMaxLag", core.Report{At: t0, Lag: maxLag + 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := knowledge{reports: map[core.NetID]core.Report{nid(11): tc.report, nid(12): fresh, nid(13): fresh}}
			e := newEngine(t, core.EngineConfig{ReportMaxAge: maxAge, ReportMaxLag: maxLag}, k, 1)
			_, got := broadcast(e, t0, nids(11, 12, 13))
			if len(multicasts(got)) != 1 {
				t.Fatalf("no multicast:\n%s", describe(got))
			}
			sends := gossipSends(got)
			to11 := slices.ContainsFunc(sends, func(a core.Action) bool { return a.To == nid(11) })
			for _, a := range sends {
				if len(a.Message.Gossip.Distribution) != 0 {
					t.Errorf("own-domain node %s sent a list %v, want it alone", a.To, a.Message.Gossip.Distribution)
				}
			}
			if tc.fresh {
				if len(sends) != 1 {
					t.Errorf("%d sends, want only the safety net:\n%s", len(sends), describe(got))
				}
			} else if len(sends) != 2 || !to11 {
				t.Errorf("want 11 (not fresh) sent alone and one safety net among 12, 13; got:\n%s", describe(got))
			}
		})
	}
}

func TestEngineMulticastTooLarge(t *testing.T) {
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	expectQueries(store, warm())
	allowLearning(store)
	e := engineWith(t, core.EngineConfig{}, store, sizer(t, ctrl, false), 1)
	dests := nids(11, 12, 13, 21, 22, 23, 31, 32)
	id, got := broadcast(e, t0, dests)
	// No multicast, nothing skipped: the eight as singletons, shuffled
	// and split 4, 2, 1, 1.
	want := []core.Action{
		sendAction(nid(13), id, grp(31), grp(12), grp(32)),
		sendAction(nid(22), id, grp(21)),
		sendAction(nid(11), id),
		sendAction(nid(23), id),
	}
	diffActions(t, "too large to multicast", want, got)
	if e.Stats().Multicasts != 0 || e.MulticastSeq() != 0 {
		t.Errorf("a frame too large was counted as multicast: %+v, seq %d", e.Stats(), e.MulticastSeq())
	}
}

// --- relay ----------------------------------------------------------------------

var relayed = core.BroadcastID{Origin: nid(60), Number: 77}

func TestEngineRelay(t *testing.T) {
	k := knowledge{reports: map[core.NetID]core.Report{nid(11): fresh, nid(12): fresh}} // 13: no report
	e := newEngine(t, core.EngineConfig{}, k, 1)
	list := []core.Group{grp(1, 11, 12, 13), grp(21, 22), grp(31)}
	m := core.Message{Kind: core.MsgGossip, Gossip: testGossip(relayed, list...)}
	e.Receive(t0, nid(50), peerEpoch, core.ViaTCP, &m, "cause")
	got := e.Ready()
	diffActions(t, "receive", []core.Action{
		deliverAction(nid(50), core.ViaTCP, core.MsgGossip, testGossip(relayed, list...), 1),
		ackAction(nid(50), relayed),
	}, got)
	if got[0].Meta != "cause" {
		t.Errorf("deliver Meta = %v, want the input's", got[0].Meta)
	}

	// The handler changed the payload: the relay forwards its version,
	// under the origin's BroadcastID.
	newPayload := []byte("hello, and more")
	e.Relay(t0, 1, testIDs, newPayload)
	got = e.Ready()
	mc := mcastAction(relayed, 1)
	mc.Message.Gossip.Payload = newPayload
	want := []core.Action{
		// The other groups first, with the safety net drawn among 11
		// and 12 as a lone node in the deepest leaf: 21 sends it on.
		sendAction(nid(21), relayed, grp(21, 22), grp(11)),
		sendAction(nid(31), relayed),
		mc,                           // into its own group, which has members
		sendAction(nid(13), relayed), // own member without a fresh report: alone
	}
	for i := range want {
		if want[i].Type == core.ActionSend {
			want[i].Message.Gossip.Payload = newPayload
		}
	}
	diffActions(t, "relay", want, got)
	for _, a := range got {
		if a.Meta != "cause" {
			t.Errorf("%v action Meta = %v, want the received frame's", a.Type, a.Meta)
		}
	}

	// A token is used once; an unknown one does nothing.
	e.Relay(t0, 1, testIDs, newPayload)
	e.Relay(t0, 42, testIDs, newPayload)
	if got := e.Ready(); len(got) != 0 {
		t.Errorf("Relay of a spent or unknown token:\n%s", describe(got))
	}
}

func TestEngineRelayWithoutOwnMembers(t *testing.T) {
	// The relay entered no group with members: it does not multicast, and
	// splits the groups it received as groups, so 21 still multicasts
	// into its own domain for 22 and 23.
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	receiveTCP(e, t0, nid(50), relayed, grp(21, 22, 23), grp(31))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	got := e.Ready()
	if mc := multicasts(got); len(mc) != 0 {
		t.Errorf("a relay with no own members multicast:\n%s", describe(got))
	}
	want := []core.Action{
		sendAction(nid(21), relayed, grp(21, 22, 23)),
		sendAction(nid(31), relayed),
	}
	diffActions(t, "relay with no own members (sorted by target)", want, byTo(got))
}

func TestEngineRelayNoSecondMulticast(t *testing.T) {
	// The same message received twice by TCP (a failover after a lost
	// ack): the second relay does not multicast it again.
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	receiveTCP(e, t0, nid(50), relayed, grp(1, 11, 12))
	receiveTCP(e, t0, nid(51), relayed, grp(1, 11, 12))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	if got := multicasts(e.Ready()); len(got) != 1 {
		t.Fatalf("first relay: %d multicasts, want 1", len(got))
	}
	e.Relay(t0, 2, testIDs, testPayload)
	got := e.Ready()
	if mc := multicasts(got); len(mc) != 0 {
		t.Errorf("second relay of one BroadcastID multicast again:\n%s", describe(got))
	}
	// Without its multicast, the relay reaches its own members by TCP,
	// each alone.
	diffActions(t, "second relay (sorted by target)", []core.Action{
		sendAction(nid(11), relayed),
		sendAction(nid(12), relayed),
	}, byTo(got))
}

func TestEngineNoMulticastOfMulticastReceived(t *testing.T) {
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	receiveMcast(e, t0, nid(11), peerEpoch, relayed, 1)
	got := e.Ready()
	g := testGossip(relayed)
	g.MulticastSeq = 1
	// Dispatched, not forwarded, not acknowledged.
	diffActions(t, "multicast receive", []core.Action{deliverAction(nid(11), core.ViaMulticast, core.MsgMulticastGossip, g, 0)}, got)

	receiveTCP(e, t0, nid(50), relayed, grp(1, 12))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	got = e.Ready()
	if mc := multicasts(got); len(mc) != 0 {
		t.Errorf("relay multicast a message it received by multicast:\n%s", describe(got))
	}
	diffActions(t, "relay after multicast receive", []core.Action{sendAction(nid(12), relayed)}, got)
}

func TestEngineOwnKnowledgeBeatsGrouping(t *testing.T) {
	// The sender put 21 at the head of a group, but the relay holds a
	// fresh report from 21: 21 is of its own domain, reached by its
	// multicast (here as the only fresh node, the safety net), and 22
	// enters what is left of the group.
	k := knowledge{reports: map[core.NetID]core.Report{nid(21): fresh}}
	e := newEngine(t, core.EngineConfig{}, k, 1)
	receiveTCP(e, t0, nid(50), relayed, grp(21, 22, 23))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	diffActions(t, "regrouped relay", []core.Action{
		sendAction(nid(22), relayed, grp(22, 23)),
		sendAction(nid(21), relayed), // the lone safety net, in the last slot
		mcastAction(relayed, 1),
	}, e.Ready())
}

func TestEngineHeardIsOwnDomain(t *testing.T) {
	// The origin hears 11's multicast but holds no report from 11: 11 is
	// of its domain (sent alone, never an entry) but not skipped.
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	receiveMcast(e, t0, nid(11), peerEpoch, relayed, 1)
	e.Ready()
	id, got := broadcast(e, t0, nids(11))
	diffActions(t, "broadcast to a node heard", []core.Action{mcastAction(id, 1), sendAction(nid(11), id)}, got)
}

func TestEngineSeenRotates(t *testing.T) {
	e := newEngine(t, core.EngineConfig{SeenPerFrame: 2}, knowledge{}, 1)
	receiveMcast(e, t0, nid(13), peerEpoch, relayed, 1)
	receiveMcast(e, t0, nid(11), peerEpoch, relayed, 3)
	receiveMcast(e, t0, nid(12), peerEpoch, relayed, 5)
	e.Ready()
	// Two a frame, rotating through the three in a fixed cycle: six
	// frames name each node four times, with its highest sequence, in
	// the same order each round.
	var all []core.SeenEntry
	for i := range 6 {
		_, got := broadcast(e, t0, nil)
		mc := multicasts(got)
		if len(mc) != 1 {
			t.Fatalf("broadcast %d: %d multicasts", i, len(mc))
		}
		if n := len(mc[0].Message.Gossip.Seen); n != 2 {
			t.Fatalf("broadcast %d: %d seen entries, want 2", i, n)
		}
		all = append(all, mc[0].Message.Gossip.Seen...)
	}
	round := slices.Clone(all[:3])
	slices.SortFunc(round, func(a, b core.SeenEntry) int { return a.Node.Compare(b.Node) })
	want := []core.SeenEntry{{Node: nid(11), Seq: 3}, {Node: nid(12), Seq: 5}, {Node: nid(13), Seq: 1}}
	if diff := cmp.Diff(want, round, planOpts); diff != "" {
		t.Errorf("first round of the seen slices (-want +got):\n%s", diff)
	}
	for k := 3; k < len(all); k++ {
		if all[k] != all[k-3] {
			t.Errorf("seen entry %d is %v, want %v as a round before: not a fixed cycle %v", k, all[k], all[k-3], all)
		}
	}
}

func TestEngineOthers(t *testing.T) {
	// Every frame carries the store's next sample of one node from each
	// of up to MaxOthers other domains, asked for as SampleGroups(4, 1).
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	allowLearning(store)
	k := warm()
	expectLookups(store, k)
	samples := [][]core.Group{{grp(21), grp(31), grp(41), grp(51)}, {grp(22), grp(32)}}
	next := 0
	store.EXPECT().SampleGroups(core.MaxOthers, 1).DoAndReturn(func(int, int) []core.Group {
		g := samples[next%len(samples)]
		next++
		return g
	}).AnyTimes()
	e := engineWith(t, core.EngineConfig{}, store, sizer(t, ctrl, true), 1)
	_, got := broadcast(e, t0, nids(11, 12, 13, 21, 22, 23, 31, 32))
	if len(got) == 0 {
		t.Fatal("no actions")
	}
	// The multicast frame is built first (it goes out after the chunks),
	// then each send in turn.
	sends := 0
	for i, a := range got {
		n := 0
		if a.Type == core.ActionSend {
			sends++
			n = sends
		}
		want := []core.NetID{}
		for _, g := range samples[n%len(samples)] {
			want = append(want, g.Entry)
		}
		if diff := cmp.Diff(want, a.Message.Gossip.Others, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("action %d (%v to %v): others (-want +got):\n%s", i, a.Type, a.To, diff)
		}
	}
}

func TestEngineNextDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newEngine(t, core.EngineConfig{AckTimeout: timeout, AnnounceInterval: time.Second, TailAnnounce: -1}, knowledge{}, 1)
	e.Tick(t0)
	e.Ready()
	if got, want := e.NextDeadline(), t0.Add(time.Second); !got.Equal(want) {
		t.Errorf("NextDeadline after the first tick = %v, want the next announcement %v", got, want)
	}
	id, _ := broadcast(e, t0.Add(100*time.Millisecond), nids(2))
	if got, want := e.NextDeadline(), t0.Add(100*time.Millisecond+timeout); !got.Equal(want) {
		t.Errorf("NextDeadline with a send pending = %v, want its ack deadline %v", got, want)
	}
	ack := core.Message{Kind: core.MsgAck, Ack: core.Ack{IDs: []core.BroadcastID{id}}}
	e.Receive(t0.Add(200*time.Millisecond), nid(2), peerEpoch, core.ViaTCP, &ack, nil)
	if got, want := e.NextDeadline(), t0.Add(time.Second); !got.Equal(want) {
		t.Errorf("NextDeadline after the ack = %v, want the next announcement %v", got, want)
	}
}

func TestEngineMaxPendingRelays(t *testing.T) {
	e := newEngine(t, core.EngineConfig{MaxPendingRelays: 2}, knowledge{}, 1)
	for i := range 3 {
		receiveTCP(e, t0, nid(50), core.BroadcastID{Origin: nid(60), Number: core.MessageNumber(i + 1)}, grp(21))
	}
	var relays []bool
	for _, a := range e.Ready() {
		if a.Type == core.ActionDeliver {
			relays = append(relays, a.Relay)
		}
	}
	// The third is delivered (and acknowledged) but not held for relay.
	if diff := cmp.Diff([]bool{true, true, false}, relays); diff != "" {
		t.Errorf("relay flags (-want +got):\n%s", diff)
	}
}

func TestEngineRepairedNotRelayed(t *testing.T) {
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	g := testGossip(relayed)
	g.MulticastSeq = 3
	m := core.Message{Kind: core.MsgRepaired, Gossip: g}
	e.Receive(t0, nid(11), peerEpoch, core.ViaRepair, &m, nil)
	diffActions(t, "repaired receive", []core.Action{deliverAction(nid(11), core.ViaRepair, core.MsgRepaired, g, 0)}, e.Ready())
}

func TestEngineIgnoresSelf(t *testing.T) {
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	receiveTCP(e, t0, self, relayed, grp(21))
	if got := e.Ready(); len(got) != 0 {
		t.Errorf("a frame from self caused:\n%s", describe(got))
	}
}

// --- acknowledgements and failover ---------------------------------------------

func TestEngineAcks(t *testing.T) {
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	id2 := core.BroadcastID{Origin: nid(61), Number: 5}
	id3 := core.BroadcastID{Origin: nid(62), Number: 9}
	receiveTCP(e, t0, nid(50), relayed)
	receiveTCP(e, t0, nid(51), id3)
	receiveTCP(e, t0, nid(50), id2)
	receiveMcast(e, t0, nid(11), peerEpoch, core.BroadcastID{Origin: nid(11), Number: 1}, 1)
	got := e.Ready()
	var acks []core.Action
	for _, a := range got {
		if a.Message.Kind == core.MsgAck {
			acks = append(acks, a)
		}
	}
	// One ack per sender, in the order senders first sent, coalescing;
	// none for the multicast.
	diffActions(t, "acks", []core.Action{ackAction(nid(50), relayed, id2), ackAction(nid(51), id3)}, acks)
	if n := len(got); n != 6 {
		t.Errorf("%d actions, want 4 deliveries and 2 acks:\n%s", n, describe(got))
	}
	if got := e.Ready(); len(got) != 0 {
		t.Errorf("acks sent twice:\n%s", describe(got))
	}
	if s := e.Stats(); s.Acks != 2 || s.Delivered != 4 {
		t.Errorf("Stats = %+v, want 2 acks, 4 delivered", s)
	}
}

// groupB6 is a warm store with one remote domain B of six nodes, 21..26.
func groupB6() knowledge {
	k := knowledge{domains: map[core.NetID]core.NetID{}}
	for i := 21; i <= 26; i++ {
		k.domains[nid(i)] = keyB
	}
	return k
}

// b6Broadcast broadcasts to domain B and returns the id and the group as
// the first send carries it.
func b6Broadcast(t *testing.T, e *core.Engine) (core.BroadcastID, core.Group) {
	t.Helper()
	id, got := broadcast(e, t0, nids(21, 22, 23, 24, 25, 26))
	sends := gossipSends(got)
	if len(sends) != 1 || len(sends[0].Message.Gossip.Distribution) != 1 {
		t.Fatalf("broadcast to one domain, want one send with its group:\n%s", describe(got))
	}
	g := sends[0].Message.Gossip.Distribution[0]
	if g.Entry != sends[0].To || len(g.Members) != 5 {
		t.Fatalf("send to %s with group %v", sends[0].To, g)
	}
	return id, g
}

func TestEngineAckCancelsFailover(t *testing.T) {
	const timeout = time.Second
	e := newEngine(t, core.EngineConfig{AckTimeout: timeout}, groupB6(), 1)
	id, g := b6Broadcast(t, e)
	ack := core.Message{Kind: core.MsgAck, Ack: core.Ack{IDs: []core.BroadcastID{id}}}
	e.Receive(t0.Add(timeout/2), g.Entry, peerEpoch, core.ViaTCP, &ack, nil)
	e.Tick(t0.Add(3 * timeout))
	if got := gossipSends(e.Ready()); len(got) != 0 {
		t.Errorf("acknowledged send failed over:\n%s", describe(got))
	}
	if s := e.Stats(); s.Failovers != 0 || s.GaveUp != 0 {
		t.Errorf("Stats = %+v, want no failover", s)
	}
}

func TestEngineFailoverOnTimeout(t *testing.T) {
	const timeout = time.Second
	e := newEngine(t, core.EngineConfig{AckTimeout: timeout, MaxFailover: 2}, groupB6(), 1)
	id, g := b6Broadcast(t, e)
	m := g.Members

	e.Tick(t0.Add(timeout - time.Nanosecond))
	if got := gossipSends(e.Ready()); len(got) != 0 {
		t.Fatalf("failover before the timeout:\n%s", describe(got))
	}
	// At the timeout, the first member enters the group instead.
	e.Tick(t0.Add(timeout))
	diffActions(t, "first failover", []core.Action{
		sendAction(m[0], id, core.Group{Entry: m[0], Members: m[1:]}),
	}, gossipSends(e.Ready()))
	e.Tick(t0.Add(2 * timeout))
	diffActions(t, "second failover", []core.Action{
		sendAction(m[1], id, core.Group{Entry: m[1], Members: m[2:]}),
	}, gossipSends(e.Ready()))
	// MaxFailover 2: the third timeout gives up.
	e.Tick(t0.Add(3 * timeout))
	if got := gossipSends(e.Ready()); len(got) != 0 {
		t.Errorf("failover beyond MaxFailover:\n%s", describe(got))
	}
	if s := e.Stats(); s.Failovers != 2 || s.GaveUp != 1 {
		t.Errorf("Stats = %+v, want 2 failovers, gave up once", s)
	}
}

func TestEngineFailoverWholeChunk(t *testing.T) {
	// With the default bound, every node of the chunk is tried in turn,
	// then the engine gives up.
	const timeout = time.Second
	e := newEngine(t, core.EngineConfig{AckTimeout: timeout}, groupB6(), 1)
	_, g := b6Broadcast(t, e)
	var tried []core.NetID
	for i := 1; i <= 7; i++ {
		e.Tick(t0.Add(time.Duration(i) * timeout))
		for _, a := range gossipSends(e.Ready()) {
			tried = append(tried, a.To)
		}
	}
	if diff := cmp.Diff(g.Members, tried, planOpts); diff != "" {
		t.Errorf("failover order (-members +tried):\n%s", diff)
	}
	if s := e.Stats(); s.Failovers != 5 || s.GaveUp != 1 {
		t.Errorf("Stats = %+v, want 5 failovers, gave up once", s)
	}
}

func TestEngineUnreachable(t *testing.T) {
	const timeout = time.Second
	e := newEngine(t, core.EngineConfig{AckTimeout: timeout}, groupB6(), 1)
	id, g := b6Broadcast(t, e)
	m := g.Members

	e.Unreachable(t0, nid(99)) // no send pending to it
	if got := e.Ready(); len(got) != 0 {
		t.Errorf("Unreachable of a stranger:\n%s", describe(got))
	}
	at := t0.Add(timeout / 4)
	e.Unreachable(at, g.Entry)
	diffActions(t, "unreachable", []core.Action{
		sendAction(m[0], id, core.Group{Entry: m[0], Members: m[1:]}),
	}, e.Ready())
	// The replacement's timer runs from the failover.
	e.Tick(at.Add(timeout - time.Nanosecond))
	if got := gossipSends(e.Ready()); len(got) != 0 {
		t.Errorf("the replaced send or its replacement timed out early:\n%s", describe(got))
	}
	e.Tick(at.Add(timeout))
	diffActions(t, "timeout after unreachable", []core.Action{
		sendAction(m[1], id, core.Group{Entry: m[1], Members: m[2:]}),
	}, gossipSends(e.Ready()))
}

// --- repair ----------------------------------------------------------------------

func TestEngineRepairRequests(t *testing.T) {
	s := nid(11)
	otherID := func(n int) core.BroadcastID { return core.BroadcastID{Origin: s, Number: core.MessageNumber(n)} }
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)

	receiveMcast(e, t0, s, peerEpoch, otherID(1), 1)
	if got := e.Ready(); len(gossipSends(got)) != 0 || len(got) != 1 {
		t.Fatalf("first frame:\n%s", describe(got))
	}
	// Seq 4 after 1: 2..3 are missing.
	receiveMcast(e, t0, s, peerEpoch, otherID(4), 4)
	got := e.Ready()
	g := testGossip(otherID(4))
	g.MulticastSeq = 4
	diffActions(t, "gap", []core.Action{
		repairRequestAction(s, peerEpoch, 2, 3),
		deliverAction(s, core.ViaMulticast, core.MsgMulticastGossip, g, 0),
	}, got)

	// Seq 5: no gap.
	receiveMcast(e, t0, s, peerEpoch, otherID(5), 5)
	if got := e.Ready(); len(got) != 1 {
		t.Errorf("no gap, want the delivery only:\n%s", describe(got))
	}

	// An announcement of last sequence 7: 6..7 are missing, to the end.
	ann := core.Message{Kind: core.MsgAnnouncement, Announcement: core.Announcement{LastSeq: 7}}
	e.Receive(t0, s, peerEpoch, core.ViaMulticast, &ann, nil)
	diffActions(t, "announcement beyond", []core.Action{repairRequestAction(s, peerEpoch, 6, 7)}, e.Ready())

	// The same announcement again: nothing new is missing.
	e.Receive(t0, s, peerEpoch, core.ViaMulticast, &ann, nil)
	if got := e.Ready(); len(got) != 0 {
		t.Errorf("announcement of a sequence already asked for:\n%s", describe(got))
	}

	// A new epoch of the sender starts over: no request for its past.
	newEpoch := core.NewEpoch(t0, 1)
	receiveMcast(e, t0, s, newEpoch, otherID(9), 3)
	if got := e.Ready(); len(got) != 1 {
		t.Errorf("first frame of a new epoch:\n%s", describe(got))
	}
	receiveMcast(e, t0, s, newEpoch, otherID(10), 5)
	if got := e.Ready(); len(got) != 2 || got[0].Message.Kind != core.MsgRepairRequest ||
		!cmp.Equal(got[0].Message.Repair, core.RepairRequest{Epoch: newEpoch, Ranges: []core.SeqRange{{First: 4, Last: 4}}}) {
		t.Errorf("gap in the new epoch, want a request for 4:\n%s", describe(got))
	}
}

func TestEngineRepairIgnoresSequenceZero(t *testing.T) {
	// Multicast sequences start at 1: a multicast gossip claiming 0 (a
	// buggy or hostile member) must not make the receiver ask for
	// anything, least of all for sequences near 2^64.
	e := newEngine(t, core.EngineConfig{}, knowledge{}, 1)
	s := nid(11)
	receiveMcast(e, t0, s, peerEpoch, relayed, 3)
	e.Ready()
	receiveMcast(e, t0, s, peerEpoch, core.BroadcastID{Origin: s, Number: 2}, 0)
	for _, a := range e.Ready() {
		if a.Message.Kind == core.MsgRepairRequest {
			t.Errorf("sequence 0 after 3 asked for repair of %+v", a.Message.Repair.Ranges)
		}
	}
}

func TestEngineRepairRequestBounded(t *testing.T) {
	// A gap longer than the repair buffer asks for the most recent
	// buffer's worth only.
	e := newEngine(t, core.EngineConfig{RepairBuffer: 8}, knowledge{}, 1)
	s := nid(11)
	receiveMcast(e, t0, s, peerEpoch, relayed, 1)
	e.Ready()
	ann := core.Message{Kind: core.MsgAnnouncement, Announcement: core.Announcement{LastSeq: 100}}
	e.Receive(t0, s, peerEpoch, core.ViaMulticast, &ann, nil)
	diffActions(t, "long gap", []core.Action{repairRequestAction(s, peerEpoch, 93, 100)}, e.Ready())
}

// repaired returns self's multicast gossip as a repaired answer to to.
func repaired(to core.NetID, mc core.Action) core.Action {
	return core.Action{Type: core.ActionSend, To: to, Message: core.Message{Kind: core.MsgRepaired, Gossip: mc.Message.Gossip}}
}

func TestEngineAnswerRepair(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    core.EngineConfig
		epoch  core.Epoch
		ranges []core.SeqRange
		want   []int // indexes of the multicasts answered
	}{
		{"both", core.EngineConfig{}, selfEpoch, []core.SeqRange{{First: 1, Last: 2}}, []int{0, 1}},
		{"beyond the last", core.EngineConfig{}, selfEpoch, []core.SeqRange{{First: 2, Last: 9}}, []int{1}},
		{"two ranges", core.EngineConfig{}, selfEpoch, []core.SeqRange{{First: 2, Last: 2}, {First: 1, Last: 1}}, []int{1, 0}},
		{"older epoch", core.EngineConfig{}, peerEpoch, []core.SeqRange{{First: 1, Last: 2}}, nil},
		{"budget", core.EngineConfig{MaxRepairPerRequest: 1}, selfEpoch, []core.SeqRange{{First: 1, Last: 2}}, []int{0}},
		{"sequence 0 does not exist", core.EngineConfig{}, selfEpoch, []core.SeqRange{{First: 0, Last: 2}}, []int{0, 1}},
		{"empty range", core.EngineConfig{}, selfEpoch, []core.SeqRange{{First: 2, Last: 1}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.cfg, knowledge{}, 1)
			var mcs []core.Action
			for range 2 {
				_, got := broadcast(e, t0, nil)
				mcs = append(mcs, multicasts(got)...)
			}
			if len(mcs) != 2 {
				t.Fatalf("want 2 multicasts, got %d", len(mcs))
			}
			rq := core.Message{Kind: core.MsgRepairRequest, Repair: core.RepairRequest{Epoch: tc.epoch, Ranges: tc.ranges}}
			e.Receive(t0, nid(11), peerEpoch, core.ViaTCP, &rq, nil)
			var want []core.Action
			for _, i := range tc.want {
				want = append(want, repaired(nid(11), mcs[i]))
			}
			// The answer is the frame as multicast, seen list included.
			if diff := cmp.Diff(want, e.Ready(), planOpts, cmpopts.IgnoreFields(core.Action{}, "Meta")); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEngineRepairBufferWraps(t *testing.T) {
	e := newEngine(t, core.EngineConfig{RepairBuffer: 4}, knowledge{}, 1)
	var mcs []core.Action
	for range 10 {
		_, got := broadcast(e, t0, nil)
		mcs = append(mcs, multicasts(got)...)
	}
	rq := core.Message{Kind: core.MsgRepairRequest, Repair: core.RepairRequest{Epoch: selfEpoch, Ranges: []core.SeqRange{{First: 1, Last: 10}}}}
	e.Receive(t0, nid(11), peerEpoch, core.ViaTCP, &rq, nil)
	want := []core.Action{repaired(nid(11), mcs[6]), repaired(nid(11), mcs[7]), repaired(nid(11), mcs[8]), repaired(nid(11), mcs[9])}
	if diff := cmp.Diff(want, e.Ready(), planOpts, cmpopts.IgnoreFields(core.Action{}, "Meta")); diff != "" {
		t.Errorf("answer from a wrapped buffer (-want +got):\n%s", diff)
	}
}

// --- announcements -------------------------------------------------------------

func TestEngineAnnouncements(t *testing.T) {
	// Periodic announcements alone (TestEngineTailAnnouncements has the
	// tail ones).
	e := newEngine(t, core.EngineConfig{AnnounceInterval: time.Second, TailAnnounce: -1}, knowledge{}, 1)
	steps := []struct {
		at   time.Duration
		want []core.Action
	}{
		{0, []core.Action{announceAction(0)}},
		{500 * time.Millisecond, nil},
		{999 * time.Millisecond, nil},
		{time.Second, []core.Action{announceAction(0)}},
		// A data multicast at 1.5s says the same: no announcement at 2s.
		{2 * time.Second, nil},
		{2500 * time.Millisecond, nil},
		{3 * time.Second, []core.Action{announceAction(1)}},
		{4 * time.Second, []core.Action{announceAction(1)}},
	}
	for _, s := range steps {
		if s.at == 2*time.Second {
			if _, got := broadcast(e, t0.Add(1500*time.Millisecond), nil); len(multicasts(got)) != 1 {
				t.Fatalf("broadcast to nobody still multicasts:\n%s", describe(got))
			}
		}
		e.Tick(t0.Add(s.at))
		diffActions(t, fmt.Sprintf("tick at +%v", s.at), s.want, e.Ready())
	}
	if n := e.Stats().Announcements; n != 4 {
		t.Errorf("%d announcements, want 4", n)
	}
}

func TestEngineTailAnnouncements(t *testing.T) {
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	allowLearning(store)
	hints := []core.Group{grp(21, 22)}
	expectQueries(store, knowledge{samples: hints})
	e := engineWith(t, core.EngineConfig{AnnounceInterval: time.Second, TailAnnounce: 100 * time.Millisecond}, store, sizer(t, ctrl, true), 1)
	periodic := func(last core.MulticastSeq) core.Action {
		a := announceAction(last)
		a.Message.Announcement.Groups = hints
		return a
	}
	ms := time.Millisecond
	steps := []struct {
		at        time.Duration
		broadcast bool // a data multicast at this time, before the tick
		want      []core.Action
		next      time.Duration // NextDeadline after the tick
	}{
		{at: 0, want: []core.Action{periodic(0)}, next: time.Second},
		// A data frame at 200ms: tails at 300, 500 and 900ms (delays
		// 100, 200, 400ms); the next, at 1700ms, would come after the
		// periodic one's time (1200ms), so there is none. The tails
		// carry the sequence, no hints.
		{at: 200 * ms, broadcast: true, next: 300 * ms},
		{at: 299 * ms, next: 300 * ms},
		{at: 300 * ms, want: []core.Action{announceAction(1)}, next: 500 * ms},
		{at: 500 * ms, want: []core.Action{announceAction(1)}, next: 900 * ms},
		{at: 900 * ms, want: []core.Action{announceAction(1)}, next: time.Second},
		// Less than a second after the data frame: the periodic one is
		// skipped, as before.
		{at: time.Second, next: 2 * time.Second},
		{at: 2 * time.Second, want: []core.Action{periodic(1)}, next: 3 * time.Second},
		// Data frames closer than the delay send no tail between them:
		// the series starts again from the last one.
		{at: 2050 * ms, broadcast: true, next: 2150 * ms},
		{at: 2100 * ms, broadcast: true, next: 2200 * ms},
		{at: 2150 * ms, next: 2200 * ms},
		{at: 2200 * ms, want: []core.Action{announceAction(3)}, next: 2400 * ms},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		if s.broadcast {
			if _, got := broadcast(e, now, nil); len(multicasts(got)) != 1 {
				t.Fatalf("+%v: broadcast to nobody did not multicast:\n%s", s.at, describe(got))
			}
		}
		e.Tick(now)
		diffActions(t, fmt.Sprintf("tick at +%v", s.at), s.want, e.Ready())
		if got, want := e.NextDeadline(), t0.Add(s.next); !got.Equal(want) {
			t.Errorf("+%v: NextDeadline = +%v, want +%v", s.at, got.Sub(t0), s.next)
		}
	}
}

func TestEngineAnnouncementHintsAskForWhatFits(t *testing.T) {
	// The store offers as many groups as asked for; a datagram holds 5.
	// The engine asks for 16 (the default), sends 5, then asks for 5
	// until hintRetry (8) announcements fit, and then tries 6.
	ctrl := gomock.NewController(t)
	store := mocks.NewMockPeerStore(ctrl)
	allowLearning(store)
	expectLookups(store, knowledge{})
	var asked []int
	store.EXPECT().SampleGroups(gomock.Any(), 64).DoAndReturn(func(max, members int) []core.Group {
		asked = append(asked, max)
		out := make([]core.Group, max)
		for i := range out {
			out[i] = grp(100 + i)
		}
		return out
	}).AnyTimes()
	var sent []int
	sz := mocks.NewMockSizer(ctrl)
	sz.EXPECT().MulticastFits(gomock.Any()).DoAndReturn(func(m *core.Message) bool {
		return len(m.Announcement.Groups) <= 5
	}).AnyTimes()
	e := engineWith(t, core.EngineConfig{AnnounceInterval: time.Second}, store, sz, 1)
	for i := range 11 {
		e.Tick(t0.Add(time.Duration(i) * time.Second))
		for _, a := range e.Ready() {
			sent = append(sent, len(a.Message.Announcement.Groups))
		}
	}
	if diff := cmp.Diff([]int{16, 5, 5, 5, 5, 5, 5, 5, 5, 6, 5}, asked); diff != "" {
		t.Errorf("groups asked for (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, sent); diff != "" {
		t.Errorf("groups announced (-want +got):\n%s", diff)
	}
}

func TestEngineHintIntake(t *testing.T) {
	// Announcements from one neighbour every 10ms. Hints are taken about
	// every AnnounceInterval/4 (250ms) while they teach, every twice as
	// long after each intake that teaches nothing, up to 4
	// AnnounceIntervals, and every 250ms again once they teach. Each gap
	// is drawn from [d/2, 3d/2) around its interval d: the gaps vary and
	// never lock onto a neighbour's announcements.
	const tick = 10 * time.Millisecond
	for _, tc := range []struct {
		name    string
		span    time.Duration
		teaches func(intake int) bool
		min     int // intakes at least
	}{
		{"teaching nothing", 100 * time.Second, func(int) bool { return false }, 25},
		{"teaching always", 20 * time.Second, func(int) bool { return true }, 60},
		{"teaching every 6th", 100 * time.Second, func(i int) bool { return i%6 == 5 }, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			store := mocks.NewMockPeerStore(ctrl)
			expectQueries(store, knowledge{})
			store.EXPECT().ObserveDestinations(gomock.Any(), gomock.Any()).AnyTimes()
			store.EXPECT().Expire(gomock.Any()).AnyTimes()
			var took []time.Time
			store.EXPECT().Observe(gomock.Any()).DoAndReturn(func(o core.Observation) bool {
				if len(o.Groups) == 0 {
					return false
				}
				took = append(took, o.Now)
				return tc.teaches(len(took) - 1)
			}).AnyTimes()
			e := engineWith(t, core.EngineConfig{AnnounceInterval: time.Second}, store, sizer(t, ctrl, true), 1)
			ann := core.Message{Kind: core.MsgAnnouncement, Announcement: core.Announcement{LastSeq: 1, Groups: []core.Group{grp(21, 22)}}}
			for at := time.Duration(0); at < tc.span; at += tick {
				e.Receive(t0.Add(at), nid(11), peerEpoch, core.ViaMulticast, &ann, nil)
				e.Ready()
			}
			if len(took) < tc.min {
				t.Fatalf("%d intakes in %v, want at least %d", len(took), tc.span, tc.min)
			}
			// want: the interval each gap is drawn around; got: the same
			// when the gap is within [d/2, 3d/2), up to one tick late.
			var want, got []time.Duration
			d := 250 * time.Millisecond
			gaps := map[time.Duration]bool{}
			for i := 1; i < len(took); i++ {
				if tc.teaches(i - 1) {
					d = 250 * time.Millisecond
				} else {
					d = min(2*d, 4*time.Second)
				}
				gap := took[i].Sub(took[i-1])
				gaps[gap] = true
				want = append(want, d)
				if gap >= d/2 && gap < d*3/2+tick {
					got = append(got, d)
				} else {
					got = append(got, gap)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("intervals (-want +got gaps out of their draw):\n%s", diff)
			}
			if len(gaps) < 10 {
				t.Errorf("%d intakes with %d distinct gaps; want varying gaps", len(took), len(gaps))
			}
		})
	}
}

func TestEngineNoAnnouncementsWithoutMulticast(t *testing.T) {
	for _, cfg := range []core.EngineConfig{{NoMulticast: true}, {Strategy: core.StrategyUnicast}, {Strategy: core.StrategyTCPLog}, {Strategy: core.StrategyGossip}} {
		e := newEngine(t, cfg, knowledge{}, 1)
		for i := range 5 {
			e.Tick(t0.Add(time.Duration(i) * time.Second))
		}
		if got := e.Ready(); len(got) != 0 {
			t.Errorf("%+v: ticks without multicast:\n%s", cfg, describe(got))
		}
	}
}

// --- strategies ------------------------------------------------------------------

func TestStrategyUnicast(t *testing.T) {
	e := newEngine(t, core.EngineConfig{Strategy: core.StrategyUnicast}, warm(), 1)
	dests := nids(11, 12, 21, 22, 31, 4)
	id, got := broadcast(e, t0, dests)
	var want []core.Action
	for _, d := range dests {
		want = append(want, sendAction(d, id))
	}
	diffActions(t, "unicast", want, got)
}

func TestStrategyTCPLog(t *testing.T) {
	e := newEngine(t, core.EngineConfig{Strategy: core.StrategyTCPLog}, warm(), 1)
	id, got := broadcast(e, t0, nids(11, 12, 21, 22, 31, 4))
	// Singletons whatever the store knows, no multicast, split 3, 2, 1.
	want := []core.Action{
		sendAction(nid(31), id, grp(4), grp(22)),
		sendAction(nid(21), id, grp(11)),
		sendAction(nid(12), id),
	}
	diffActions(t, "tcp-log", want, got)

	// A relay splits its list and does not multicast.
	receiveTCP(e, t0, nid(50), relayed, grp(2), grp(3), grp(4))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	got = e.Ready()
	if len(multicasts(got)) != 0 || len(got) != 2 {
		t.Errorf("tcp-log relay of 3 singletons, want 2 sends:\n%s", describe(got))
	}
}

func TestStrategyClassic(t *testing.T) {
	// Classic skips every node that ever reported, stale or not.
	k := warm()
	k.reports[nid(12)] = core.Report{At: t0.Add(-time.Hour), Lag: 1000}
	e := newEngine(t, core.EngineConfig{Strategy: core.StrategyClassic}, k, 1)
	id, got := broadcast(e, t0, nids(11, 12, 13, 21, 22))
	if len(multicasts(got)) != 1 {
		t.Errorf("classic origin did not multicast:\n%s", describe(got))
	}
	// 11..13 skipped but one random node of the list added back.
	want := []core.Action{
		mcastAction(id, 1),
		sendAction(nid(12), id), // the one added back, alone: no known domain
		sendAction(nid(22), id, grp(22, 21)),
	}
	diffActions(t, "classic origin", want, got)

	// Every relay multicasts, under a BroadcastID of its own.
	receiveTCP(e, t0, nid(50), relayed, grp(1, 2), grp(31, 32))
	e.Ready()
	e.Relay(t0, 1, testIDs, testPayload)
	got = e.Ready()
	mcs := multicasts(got)
	if len(mcs) != 1 {
		t.Fatalf("classic relay: %d multicasts, want 1:\n%s", len(mcs), describe(got))
	}
	newID := mcs[0].Message.Gossip.ID
	if newID.Origin != self || newID == relayed || newID == id {
		t.Errorf("classic relay multicast under %v, want a new id of its own", newID)
	}
	for _, a := range gossipSends(got) {
		if a.Message.Gossip.ID != newID {
			t.Errorf("classic relay sent %v to %s, want the new id %v", a.Message.Gossip.ID, a.To, newID)
		}
		if a.To == self || slices.Contains(core.Flatten(a.Message.Gossip.Distribution), self) {
			t.Errorf("classic relay sends to itself: to %s, list %v", a.To, a.Message.Gossip.Distribution)
		}
	}
	covered := map[core.NetID]bool{}
	for _, a := range gossipSends(got) {
		covered[a.To] = true
		for _, id := range core.Flatten(a.Message.Gossip.Distribution) {
			covered[id] = true
		}
	}
	for _, id := range nids(2, 31, 32) {
		if !covered[id] {
			t.Errorf("classic relay lost %s:\n%s", id, describe(got))
		}
	}
}

func TestStrategyGossip(t *testing.T) {
	k := knowledge{peers: nids(2, 3, 4, 5, 6, 7, 8, 9, 60)}
	e := newEngine(t, core.EngineConfig{Strategy: core.StrategyGossip}, k, 1)
	dests := nids(2, 3, 4, 5, 6, 7, 8, 9)
	id, got := broadcast(e, t0, dests)
	checkFanout := func(what string, got []core.Action, id core.BroadcastID, from []core.NetID) {
		t.Helper()
		if len(got) != 3 || len(multicasts(got)) != 0 {
			t.Fatalf("%s: want 3 sends, no multicast:\n%s", what, describe(got))
		}
		seen := map[core.NetID]bool{}
		for _, a := range got {
			if a.Type != core.ActionSend || a.Message.Kind != core.MsgGossip || a.Message.Gossip.ID != id ||
				len(a.Message.Gossip.Distribution) != 0 || !slices.Contains(from, a.To) || seen[a.To] {
				t.Errorf("%s: unexpected action:\n%s", what, describe([]core.Action{a}))
			}
			seen[a.To] = true
		}
	}
	checkFanout("origin", got, id, dests)

	// A first receive is relayed to Fanout peers, never the origin or self;
	// a second is delivered only.
	receiveTCP(e, t0, nid(50), relayed)
	got = e.Ready()
	if len(got) != 2 || !got[0].Relay {
		t.Fatalf("first gossip receive:\n%s", describe(got))
	}
	e.Relay(t0, got[0].Token, testIDs, testPayload)
	checkFanout("relay", e.Ready(), relayed, nids(2, 3, 4, 5, 6, 7, 8, 9))
	receiveTCP(e, t0, nid(51), relayed)
	got = e.Ready()
	if len(got) != 2 || got[0].Type != core.ActionDeliver || got[0].Relay {
		t.Errorf("second gossip receive, want a delivery without relay and an ack:\n%s", describe(got))
	}
}

func TestStrategyGossipDraws(t *testing.T) {
	// A relay draws Fanout distinct peers uniformly, never the origin or
	// itself; with fewer eligible peers, it sends to all of them.
	relayOnce := func(peers []core.NetID, seed uint64) []core.NetID {
		e := newEngine(t, core.EngineConfig{Strategy: core.StrategyGossip}, knowledge{peers: peers}, seed)
		receiveTCP(e, t0, nid(50), relayed)
		e.Relay(t0, e.Ready()[0].Token, testIDs, testPayload)
		var to []core.NetID
		for _, a := range e.Ready() {
			to = append(to, a.To)
		}
		return to
	}
	origin := relayed.Origin
	if got := relayOnce([]core.NetID{origin, self, nid(7)}, 1); !cmp.Equal(got, nids(7)) {
		t.Errorf("pool of the origin, self and 7: sends to %v, want [7]", got)
	}
	peers := append(nids(2, 3, 4, 5, 6, 7, 8, 9), origin, self)
	count := map[core.NetID]int{}
	const runs = 4000
	for seed := range uint64(runs) {
		to := relayOnce(peers, seed)
		if len(to) != 3 {
			t.Fatalf("seed %d: %d sends, want 3", seed, len(to))
		}
		for i, id := range to {
			if id == origin || id == self || slices.Contains(to[:i], id) {
				t.Fatalf("seed %d: sends to %v", seed, to)
			}
			count[id]++
		}
	}
	// Each of the 8 eligible peers is drawn 3/8 of the time.
	for _, id := range nids(2, 3, 4, 5, 6, 7, 8, 9) {
		if f := float64(count[id]) / runs; f < 0.33 || f > 0.42 {
			t.Errorf("peer %v drawn in %.3f of the relays, want about 0.375", id, f)
		}
	}
}

// --- properties --------------------------------------------------------------------

// randomKnowledge returns random peer-store knowledge of ids: each in
// self's domain (with a fresh, stale or lagging report), in one of a few
// remote domains, or of no known domain.
func randomKnowledge(r *rand.Rand, ids []core.NetID) knowledge {
	k := knowledge{reports: map[core.NetID]core.Report{}, domains: map[core.NetID]core.NetID{}}
	for _, id := range ids {
		switch r.IntN(4) {
		case 0: // own domain
			switch r.IntN(3) {
			case 0:
				k.reports[id] = fresh
			case 1:
				k.reports[id] = core.Report{At: t0.Add(-time.Minute)}
			default:
				k.reports[id] = core.Report{At: t0, Lag: 1000}
			}
		case 1: // unknown
		default:
			k.domains[id] = nid(10000 + r.IntN(6))
		}
	}
	k.peers = slices.Clone(ids)
	return k
}

// isFresh reports whether k holds a fresh report of id under the default
// ReportMaxAge and ReportMaxLag.
func (k knowledge) isFresh(id core.NetID) bool {
	rep, ok := k.reports[id]
	return ok && t0.Sub(rep.At) <= 10*time.Second && rep.Lag <= 32
}

// coverage returns how many times each node is named by TCP sends (target
// and list; a target heading its own group counted once), and whether
// the actions hold a gossip multicast.
func coverage(t *testing.T, as []core.Action) (map[core.NetID]int, bool) {
	t.Helper()
	named := map[core.NetID]int{}
	for _, a := range gossipSends(as) {
		ids := slices.Compact(append([]core.NetID{a.To}, core.Flatten(a.Message.Gossip.Distribution)...))
		for _, id := range ids {
			named[id]++
		}
	}
	return named, len(multicasts(as)) > 0
}

func TestEngineCoversEveryDestination(t *testing.T) {
	for seed := range uint64(500) {
		r := seeded(seed)
		dests := make([]core.NetID, 1+r.IntN(60))
		for i := range dests {
			dests[i] = nid(100 + i)
		}
		k := randomKnowledge(r, dests)
		fits := r.IntN(10) > 0
		ctrl := gomock.NewController(t)
		store := mocks.NewMockPeerStore(ctrl)
		expectQueries(store, k)
		allowLearning(store)
		e := engineWith(t, core.EngineConfig{}, store, sizer(t, ctrl, fits), seed)

		_, got := broadcast(e, t0, dests)
		named, mc := coverage(t, got)
		if mc != fits {
			t.Fatalf("seed %d: multicast %v, fits %v:\n%s", seed, mc, fits, describe(got))
		}
		checkCoverage(t, seed, got, dests, named, mc, func(id core.NetID) bool { _, ok := k.reports[id]; return ok }, k)
		if named[self] != 0 {
			t.Fatalf("seed %d: the origin sends to itself", seed)
		}
	}
}

// checkCoverage checks that every node of dests is named by exactly one
// send, or skipped as a fresh node of the sender's own domain when the
// sender multicast, all of those but one safety net; and that own-domain
// nodes are sent alone.
func checkCoverage(t *testing.T, seed uint64, got []core.Action, dests []core.NetID, named map[core.NetID]int, mc bool, own func(core.NetID) bool, k knowledge) {
	t.Helper()
	fresh, skipped := 0, 0
	for _, id := range dests {
		isFresh := own(id) && k.isFresh(id)
		if isFresh {
			fresh++
		}
		switch {
		case named[id] > 1:
			t.Fatalf("seed %d: %s named by %d sends:\n%s", seed, id, named[id], describe(got))
		case named[id] == 1:
		case mc && isFresh:
			skipped++ // reached by the multicast
		default:
			t.Fatalf("seed %d: %s lost by the plan (own %v, fresh %v, multicast %v):\n%s", seed, id, own(id), isFresh, mc, describe(got))
		}
		if own(id) && named[id] == 1 && mc {
			for _, a := range gossipSends(got) {
				if a.To == id && len(a.Message.Gossip.Distribution) != 0 {
					t.Fatalf("seed %d: own-domain %s sent a list %v\n%s", seed, id, a.Message.Gossip.Distribution, describe(got))
				}
			}
		}
	}
	if mc && fresh > 0 && skipped != fresh-1 {
		t.Fatalf("seed %d: %d of %d fresh nodes skipped, want all but the safety net:\n%s", seed, skipped, fresh, describe(got))
	}
}

func TestRelayCoversItsList(t *testing.T) {
	for seed := range uint64(500) {
		r := seeded(seed)
		list := randomGroups(r, 200, 12, 6)
		// Half the time, self enters its own group with some members.
		ownGroup := r.IntN(2) == 0
		if ownGroup {
			list[0].Entry = self
		}
		var dests []core.NetID
		for _, id := range core.Flatten(list) {
			if id != self {
				dests = append(dests, id)
			}
		}
		k := randomKnowledge(r, dests)
		ctrl := gomock.NewController(t)
		store := mocks.NewMockPeerStore(ctrl)
		expectQueries(store, k)
		allowLearning(store)
		e := engineWith(t, core.EngineConfig{}, store, sizer(t, ctrl, true), seed)
		receiveTCP(e, t0, nid(50), relayed, list...)
		e.Ready()
		e.Relay(t0, 1, testIDs, testPayload)
		got := e.Ready()
		named, mc := coverage(t, got)
		// Its own domain: the members of its group, and the nodes it
		// holds a first-hand report of.
		own := func(id core.NetID) bool {
			_, ok := k.reports[id]
			return ok || ownGroup && slices.Contains(list[0].Members, id)
		}
		anyOwn := slices.ContainsFunc(dests, own)
		if mc != anyOwn {
			t.Fatalf("seed %d: relay multicast %v, own-domain nodes in its list %v:\n%s", seed, mc, anyOwn, describe(got))
		}
		checkCoverage(t, seed, got, dests, named, mc, own, k)
		if named[self] != 0 {
			t.Fatalf("seed %d: the relay sends to itself:\n%s", seed, describe(got))
		}
	}
}
