package codec

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/chatter-go/chatter/core"
)

// Kind is a frame kind: which message the body holds and how it travels.
// It is the core package's MessageKind, numbered as on the wire.
type Kind = core.MessageKind

// Frame kinds, as docs/wire-format.md numbers them.
const (
	KindGossip          = core.MsgGossip
	KindMulticastGossip = core.MsgMulticastGossip
	KindAck             = core.MsgAck
	KindAnnouncement    = core.MsgAnnouncement
	KindRepairRequest   = core.MsgRepairRequest
	KindRepaired        = core.MsgRepaired
)

// Limits of the lists a body holds, checked by encoder and decoder.
const (
	// MaxAckIDs bounds the BroadcastIDs of one Ack.
	MaxAckIDs = 4096
	// MaxRepairRanges bounds the ranges of one RepairRequest.
	MaxRepairRanges = 64
)

// Body is the decoded content of a frame: its NetID table and, by Kind, one
// message. Only the field that Kind selects is meaningful.
//
// A Body is reused across decodes to save allocations: decoding overwrites
// every slice it holds, and the payload and table may alias the frame that
// was opened. Copy what must outlive the next decode. The decoded lists of
// NetIDs (Others, PayloadIDs, a group's Members) may share the table's
// entries: treat them as read-only (appending to one copies it).
type Body struct {
	Kind  Kind
	Table core.NetIDTable

	Gossip       core.Gossip        // KindGossip, KindMulticastGossip, KindRepaired
	Ack          core.Ack           // KindAck
	Announcement core.Announcement  // KindAnnouncement
	Repair       core.RepairRequest // KindRepairRequest

	// Scratch for decoding, reused.
	ids   []core.NetID
	lists []core.NetID // the lists of more than one span
	spans []span
	used  []uint64
	raw   []byte
}

// AppendNetIDs appends every NetID the message of b names to dst, so a
// caller can build the table: core.NewNetIDTable(b.AppendNetIDs(nil)...).
func (b *Body) AppendNetIDs(dst []core.NetID) []core.NetID {
	switch {
	case b.Kind.IsGossip():
		return b.Gossip.AppendNetIDs(dst)
	case b.Kind == KindAck:
		return b.Ack.AppendNetIDs(dst)
	case b.Kind == KindAnnouncement:
		return b.Announcement.AppendNetIDs(dst)
	}
	return dst
}

// bodyEncoder holds the scratch an encoder reuses between bodies. It is not
// safe for concurrent use.
type bodyEncoder struct {
	spans []span
	idx   []int
	seen  []seenRef
}

// ref returns the index of id in t, or an error when the table lacks it.
func ref(t core.NetIDTable, id core.NetID, what string) (int, error) {
	i, ok := t.Index(id)
	if !ok {
		return 0, fmt.Errorf("%w: %s %s not in the NetID table", ErrTableRef, what, id)
	}
	return i, nil
}

// list fills e.spans with the spans of the table entries ids and reports a
// missing or repeated NetID. guess, not negative, is where the first one
// likely is.
func (e *bodyEncoder) list(t core.NetIDTable, ids []core.NetID, guess int, what string) error {
	e.spans = e.spans[:0]
	lo, hi := guess, guess // the current run of entries, lo to hi-1
	for j := 0; j < len(ids); j++ {
		// Lists are mostly runs of consecutive table entries: the
		// entries after the run are checked first.
		k := matchRun(t, hi, ids[j:])
		hi += k
		j += k
		if j == len(ids) {
			break
		}
		i, ok := t.IndexNear(ids[j], hi) // lists mostly ascend
		if !ok {
			return fmt.Errorf("%w: %s %s not in the NetID table", ErrTableRef, what, ids[j])
		}
		if hi > lo {
			e.spans = append(e.spans, span{lo, hi})
			if i < hi {
				return e.unsortedList(t, ids[j:], what)
			}
		}
		lo, hi = i, i+1
	}
	if hi > lo {
		e.spans = append(e.spans, span{lo, hi})
	}
	return nil
}

// matchRun returns how many NetIDs at the start of ids are the entries of t
// from i on, 0 when i is past the table: list's inner loop, bounded once
// rather than at each entry.
func matchRun(t core.NetIDTable, i int, ids []core.NetID) int {
	n := min(len(ids), t.Len()-i)
	for k := range n {
		if t.At(i+k) != ids[k] {
			return k
		}
	}
	return max(n, 0)
}

// unsortedList is list after an entry of ids, the ones not yet in e.spans,
// came before an earlier one: it sorts the indexes and checks for repeats.
func (e *bodyEncoder) unsortedList(t core.NetIDTable, ids []core.NetID, what string) error {
	e.idx = e.idx[:0]
	for _, s := range e.spans {
		for i := s.start; i < s.end; i++ {
			e.idx = append(e.idx, i)
		}
	}
	for _, id := range ids {
		i, ok := t.Index(id)
		if !ok {
			return fmt.Errorf("%w: %s %s not in the NetID table", ErrTableRef, what, id)
		}
		e.idx = append(e.idx, i)
	}
	slices.Sort(e.idx)
	for j := 1; j < len(e.idx); j++ {
		if e.idx[j] == e.idx[j-1] {
			return fmt.Errorf("%w: %s names %s twice", ErrMalformed, what, t.At(e.idx[j]))
		}
	}
	e.spans = spansOf(e.spans[:0], e.idx)
	return nil
}

// tableList fills e.spans with the spans in t of the entries of p, which
// are in order, so their indexes are too.
func (e *bodyEncoder) tableList(t, p core.NetIDTable) error {
	e.spans = e.spans[:0]
	next := 0
	for i := range p.Len() {
		// The entry at next is checked first, as IndexNear does; the
		// search then halves the table rather than walking out from
		// next, as payload NetIDs are often far apart.
		id := p.At(i)
		j, ok := next, next < t.Len() && t.At(next) == id
		if !ok {
			j, ok = t.Index(id)
		}
		if !ok {
			return fmt.Errorf("%w: payload NetID %s not in the NetID table", ErrTableRef, id)
		}
		e.spans = appendSpan(e.spans, j, j+1)
		next = j + 1
	}
	return nil
}

// contains reports whether one of the spans sp, which ascend, holds entry
// i. It looks from the first: a group's entry usually comes just before
// its members.
func contains(sp []span, i int) bool {
	for _, s := range sp {
		if i < s.end {
			return i >= s.start
		}
	}
	return false
}

// seenRef is a seen-list entry by table index.
type seenRef struct {
	idx int
	seq core.MulticastSeq
}

// seenRefs fills e.seen with the seen list by table index, in table order,
// and e.spans with the spans of the indexes.
func (e *bodyEncoder) seenRefs(t core.NetIDTable, seen []core.SeenEntry) error {
	e.seen = e.seen[:0]
	next, ascending := 0, true
	for _, s := range seen {
		i, ok := t.IndexNear(s.Node, next)
		if !ok {
			return fmt.Errorf("%w: seen node %s not in the NetID table", ErrTableRef, s.Node)
		}
		ascending = ascending && i >= next
		e.seen = append(e.seen, seenRef{i, s.Seq})
		next = i + 1
	}
	if !ascending {
		slices.SortFunc(e.seen, func(a, b seenRef) int { return a.idx - b.idx })
	}
	e.spans = e.spans[:0]
	for j, s := range e.seen {
		if j > 0 && s.idx == e.seen[j-1].idx {
			return fmt.Errorf("%w: seen list names %s twice", ErrMalformed, t.At(s.idx))
		}
		e.spans = appendSpan(e.spans, s.idx, s.idx+1)
	}
	return nil
}

// appendBody appends the encoding of b (table, then message) to dst.
func (e *bodyEncoder) appendBody(dst []byte, b *Body) ([]byte, error) {
	if !b.Kind.IsValid() {
		return dst, fmt.Errorf("%w: %s", ErrMalformed, b.Kind)
	}
	t := b.Table
	dst = AppendNetIDTable(dst, t)
	var err error
	switch {
	case b.Kind.IsGossip():
		dst, err = e.appendGossip(dst, b.Kind, t, &b.Gossip)
	case b.Kind == KindAck:
		dst, err = e.appendAck(dst, t, &b.Ack)
	case b.Kind == KindAnnouncement:
		dst = binary.AppendUvarint(dst, uint64(b.Announcement.LastSeq))
		if dst, err = e.appendSeen(dst, t, b.Announcement.Seen); err == nil {
			dst, err = e.appendDistribution(dst, t, b.Announcement.Groups)
		}
	case b.Kind == KindRepairRequest:
		dst, err = appendRepair(dst, &b.Repair)
	}
	return dst, err
}

func (e *bodyEncoder) appendGossip(dst []byte, kind Kind, t core.NetIDTable, g *core.Gossip) ([]byte, error) {
	origin, err := ref(t, g.ID.Origin, "origin")
	if err != nil {
		return dst, err
	}
	dst = binary.AppendUvarint(dst, uint64(origin))
	dst = binary.AppendUvarint(dst, uint64(g.ID.Number))
	if kind != KindGossip {
		if g.MulticastSeq == 0 {
			return dst, fmt.Errorf("%w: %s without a multicast sequence", ErrMalformed, kind)
		}
		dst = binary.AppendUvarint(dst, uint64(g.MulticastSeq))
	}
	if dst, err = e.appendSeen(dst, t, g.Seen); err != nil {
		return dst, err
	}
	if len(g.Others) > core.MaxOthers {
		return dst, fmt.Errorf("%w: %d others, at most %d", ErrListTooLong, len(g.Others), core.MaxOthers)
	}
	if err := e.list(t, g.Others, 0, "others"); err != nil {
		return dst, err
	}
	dst = appendList(dst, e.spans)
	if kind == KindGossip {
		if dst, err = e.appendDistribution(dst, t, g.Distribution); err != nil {
			return dst, err
		}
	} else if len(g.Distribution) != 0 {
		return dst, fmt.Errorf("%w: %s with a distribution list", ErrMalformed, kind)
	}
	if err := e.tableList(t, g.PayloadIDs); err != nil {
		return dst, err
	}
	dst = appendList(dst, e.spans)
	dst = binary.BigEndian.AppendUint32(dst, uint32(g.Tag))
	return append(dst, g.Payload...), nil
}

func (e *bodyEncoder) appendSeen(dst []byte, t core.NetIDTable, seen []core.SeenEntry) ([]byte, error) {
	if err := e.seenRefs(t, seen); err != nil {
		return dst, err
	}
	dst = appendList(dst, e.spans)
	for _, s := range e.seen {
		dst = binary.AppendUvarint(dst, uint64(s.seq))
	}
	return dst, nil
}

func (e *bodyEncoder) appendDistribution(dst []byte, t core.NetIDTable, groups []core.Group) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(groups)))
	next := 0 // a group often starts after the previous one
	for _, g := range groups {
		entry, ok := t.IndexNear(g.Entry, next)
		if !ok {
			return dst, fmt.Errorf("%w: distribution entry %s not in the NetID table", ErrTableRef, g.Entry)
		}
		// Members are mostly the entries right after their entry: one
		// run, written without building and checking spans.
		if k := matchRun(t, entry+1, g.Members); k == len(g.Members) {
			dst = binary.AppendUvarint(dst, uint64(entry))
			dst = appendRun(dst, entry+1, k)
			next = entry + 1 + k
			continue
		}
		if err := e.list(t, g.Members, entry+1, "distribution members"); err != nil {
			return dst, err
		}
		if contains(e.spans, entry) {
			return dst, fmt.Errorf("%w: group entry %s is also a member", ErrMalformed, g.Entry)
		}
		dst = binary.AppendUvarint(dst, uint64(entry))
		dst = appendList(dst, e.spans)
		next = entry + 1
		if len(e.spans) > 0 {
			next = max(next, e.spans[len(e.spans)-1].end)
		}
	}
	return dst, nil
}

func (e *bodyEncoder) appendAck(dst []byte, t core.NetIDTable, a *core.Ack) ([]byte, error) {
	if len(a.IDs) > MaxAckIDs {
		return dst, fmt.Errorf("%w: %d acknowledged IDs, at most %d", ErrListTooLong, len(a.IDs), MaxAckIDs)
	}
	dst = binary.AppendUvarint(dst, uint64(len(a.IDs)))
	for _, id := range a.IDs {
		origin, err := ref(t, id.Origin, "acknowledged origin")
		if err != nil {
			return dst, err
		}
		dst = binary.AppendUvarint(dst, uint64(origin))
		dst = binary.AppendUvarint(dst, uint64(id.Number))
	}
	return e.appendSeen(dst, t, a.Seen)
}

func appendRepair(dst []byte, rq *core.RepairRequest) ([]byte, error) {
	if len(rq.Ranges) > MaxRepairRanges {
		return dst, fmt.Errorf("%w: %d repair ranges, at most %d", ErrListTooLong, len(rq.Ranges), MaxRepairRanges)
	}
	dst, _ = rq.Epoch.AppendBinary(dst)
	dst = binary.AppendUvarint(dst, uint64(len(rq.Ranges)))
	for _, r := range rq.Ranges {
		if r.First == 0 || r.Last < r.First {
			return dst, fmt.Errorf("%w: repair range %d..%d", ErrMalformed, r.First, r.Last)
		}
		dst = binary.AppendUvarint(dst, uint64(r.First))
		dst = binary.AppendUvarint(dst, uint64(r.Last-r.First))
	}
	return dst, nil
}

// decodeBody decodes a body of the given kind into b, reusing b's storage.
// The payload and nothing else aliases p.
func decodeBody(kind Kind, p []byte, b *Body) error {
	r := newReader(p)
	b.Kind = kind
	b.lists = b.lists[:0]
	b.Table, b.ids = r.tableReusing(b.ids)
	if r.err != nil {
		return r.err
	}
	n := b.Table.Len()
	switch {
	case kind.IsGossip():
		decodeGossip(&r, kind, b, n)
	case kind == KindAck:
		decodeAck(&r, b, n)
	case kind == KindAnnouncement:
		b.Announcement.LastSeq = core.MulticastSeq(r.uvarint("last multicast sequence"))
		b.Announcement.Seen = decodeSeen(&r, b, n, b.Announcement.Seen[:0])
		b.Announcement.Groups = decodeDistribution(&r, b, n, b.Announcement.Groups[:0])
	case kind == KindRepairRequest:
		decodeRepair(&r, &b.Repair)
	default:
		return fmt.Errorf("%w: %s", ErrMalformed, kind)
	}
	if kind.IsGossip() {
		return r.err // the payload takes every remaining byte
	}
	return r.done(kind.String())
}

func decodeGossip(r *reader, kind Kind, b *Body, n int) {
	g := &b.Gossip
	origin, ok := r.varint1()
	if !ok {
		origin = r.uvarint("origin index")
	}
	number := r.uvarint("message number")
	if r.err != nil {
		return
	}
	id, ok := b.Table.Lookup(origin)
	if !ok {
		r.failf(ErrTableRef, "origin index %d of %d", origin, n)
		return
	}
	g.ID = core.BroadcastID{Origin: id, Number: core.MessageNumber(number)}
	g.MulticastSeq = 0
	if kind != KindGossip {
		g.MulticastSeq = core.MulticastSeq(r.uvarint("multicast sequence"))
		if r.err == nil && g.MulticastSeq == 0 {
			r.failf(ErrMalformed, "multicast sequence 0")
		}
	}
	g.Seen = decodeSeen(r, b, n, g.Seen[:0])
	if s, ok := r.oneRun(n, core.MaxOthers); ok {
		g.Others = b.ids[s.start:s.end:s.end]
	} else {
		b.spans, _ = r.spans("others", n, core.MaxOthers, b.spans)
		g.Others = b.listOf(b.spans)
	}
	g.Distribution = g.Distribution[:0]
	if kind == KindGossip {
		g.Distribution = decodeDistribution(r, b, n, g.Distribution)
	}
	b.spans, _ = r.spans("payload NetIDs", n, n, b.spans)
	// Ascending indexes into a sorted table give sorted NetIDs.
	g.PayloadIDs, _ = core.NetIDTableFromSorted(b.listOf(b.spans))
	g.Tag = core.TypeTag(r.uint32be("type tag"))
	g.Payload = r.rest()
}

// listOf returns the table entries of the spans sp. A list of one span,
// the common case, is the table's own entries, capped so that an append
// copies them; a longer one is copied to b.lists.
func (b *Body) listOf(sp []span) []core.NetID {
	if len(sp) == 1 {
		s := sp[0]
		return b.ids[s.start:s.end:s.end]
	}
	if need := spansLen(sp); cap(b.lists)-len(b.lists) < need {
		// The lists of a body are drawn from its table, the distribution
		// list's with no entry twice: room for the table at once spares
		// growing b.lists list by list (an announcement's hints copy
		// about a thousand NetIDs into it).
		b.lists = slices.Grow(b.lists, max(need, len(b.ids)-len(b.lists)))
	}
	start := len(b.lists)
	for _, s := range sp {
		if s.end-s.start == 1 { // a lone entry, without a call to copy it
			b.lists = append(b.lists, b.ids[s.start])
		} else {
			b.lists = append(b.lists, b.ids[s.start:s.end]...)
		}
	}
	return b.lists[start:len(b.lists):len(b.lists)]
}

func decodeSeen(r *reader, b *Body, n int, seen []core.SeenEntry) []core.SeenEntry {
	b.spans, _ = r.spans("seen list", n, n, b.spans)
	// One allocation for a fresh Body: as many entries as the spans
	// name, each with a sequence of a byte at least still to read.
	seen = slices.Grow(seen, min(spansLen(b.spans), r.remaining()))
	ids := b.ids // in a register: the appends could alias b's fields
	for _, s := range b.spans {
		for _, id := range ids[s.start:s.end] {
			seq, ok := r.varint1()
			if !ok {
				if seq = r.uvarint("seen sequence"); r.err != nil {
					return seen[:0]
				}
			}
			seen = append(seen, core.SeenEntry{Node: id, Seq: core.MulticastSeq(seq)})
		}
	}
	return seen
}

func decodeDistribution(r *reader, b *Body, n int, groups []core.Group) []core.Group {
	// A group takes at least two bytes: its entry and an empty list.
	count := r.count("distribution groups", uint64(n), 2)
	// used marks the table entries already in the list: no node may
	// appear twice. One bit per table entry, reused across decodes.
	words := (n + 63) / 64
	b.used = slices.Grow(b.used[:0], words)[:words]
	used, ids := b.used, b.ids // in registers: the loop's stores could alias b's fields
	clear(used)
	// count is 0 when r.err is set, and every error below returns.
	for left := count; left > 0; left-- {
		// The common groups, read by runGroups, then one by the reader.
		before := len(groups)
		var size, twice int
		groups, size, twice = runGroups(r.b[r.off:], ids, used, groups, left)
		r.off += size
		if twice >= 0 {
			r.failf(ErrMalformed, "distribution list names %s twice", ids[twice])
			return groups[:0]
		}
		if left -= len(groups) - before; left == 0 {
			break
		}
		entry, ok := r.varint1()
		if !ok {
			if entry = r.uvarint("group entry"); r.err != nil {
				return groups[:0]
			}
		}
		if entry >= uint64(len(ids)) { // len(ids) is n
			r.failf(ErrTableRef, "group entry %d of %d", entry, n)
			return groups[:0]
		}
		if w, bit := entry/64, uint64(1)<<(entry%64); used[w]&bit == 0 {
			used[w] |= bit
		} else {
			r.failf(ErrMalformed, "distribution list names %s twice", ids[entry])
			return groups[:0]
		}
		b.spans, _ = r.spans("group members", n, n, b.spans)
		if r.err != nil {
			return groups[:0]
		}
		for _, s := range b.spans {
			if twice := mark(used, s); twice >= 0 {
				r.failf(ErrMalformed, "distribution list names %s twice", ids[twice])
				return groups[:0]
			}
		}
		groups = appendGroup(groups, ids[entry], b.listOf(b.spans))
	}
	return groups
}

// runGroups reads from p at most max groups of the common case: a one-byte
// entry and a member list of one run, as runOf checks it. It marks their
// nodes in used and appends the groups, and returns them and the bytes they
// took. It stops at the first group of another form, for the reader to take
// (which also reports every error but one). That one is a node named twice:
// runGroups stops there, with size at the offset that names it, and returns
// its table index as twice (otherwise -1).
//
// It is decodeDistribution's loop for the common case, apart and without
// calls, so that the loop keeps its values in registers.
func runGroups(p []byte, ids []core.NetID, used []uint64, groups []core.Group, max int) (_ []core.Group, size, twice int) {
	// Room for every group counted, so that appending calls nothing; the
	// count is bounded by the bytes (two a group) and the table.
	groups = slices.Grow(groups, max)
	n, end := uint(len(ids)), len(groups)+max
	q := p
	for len(groups) < end {
		// A one-byte entry, then runAt's case. The bitmap is read as one
		// word, so the case needs eight bytes after the list's head (a
		// payload follows: they are there).
		if len(q) < 11 || q[0] >= 0x80 || uint(q[0]) >= n {
			break
		}
		from, to, nb, ok := runOf(q[1], q[2], binary.LittleEndian.Uint64(q[3:11]), n)
		if !ok {
			break
		}
		entry := uint(q[0])
		if w, bit := entry/64, uint64(1)<<(entry&63); used[w]&bit == 0 {
			used[w] |= bit
		} else {
			return groups, len(p) - len(q) + 1, int(entry)
		}
		if w := from / 64; w == (to-1)/64 { // within a word, the common case, without mark's loop
			mask := (^uint64(0) >> ((64 - (to - from)) & 63)) << (from & 63)
			if dup := used[w] & mask; dup != 0 {
				return groups, len(p) - len(q) + 3 + int(nb), int(w*64) + bits.TrailingZeros64(dup)
			}
			used[w] |= mask
		} else if dup := mark(used, span{int(from), int(to)}); dup >= 0 {
			return groups, len(p) - len(q) + 3 + int(nb), dup
		}
		q = q[3+nb:]
		groups = groups[:len(groups)+1]
		g := &groups[len(groups)-1]
		g.Entry, g.Members = ids[entry], ids[from:to:to]
	}
	return groups, len(p) - len(q), -1
}

// appendGroup appends the group of entry and members to groups. It grows
// groups a field at a time: appending a Group value would copy it with a
// call, for its pointer.
func appendGroup(groups []core.Group, entry core.NetID, members []core.NetID) []core.Group {
	if len(groups) < cap(groups) {
		groups = groups[:len(groups)+1]
	} else {
		groups = append(groups, core.Group{})
	}
	g := &groups[len(groups)-1]
	g.Entry = entry
	g.Members = members
	return groups
}

// mark sets the bits of the entries of s in used, a bitmap over the table,
// a word at a time. It returns the first entry whose bit was already set,
// or -1.
func mark(used []uint64, s span) int {
	// Unsigned, with the shift counts masked: both are in range, and the
	// compiler then needs no code for negative or oversized ones.
	for i, end := uint(s.start), uint(s.end); i < end; {
		w := i / 64
		e := min(end, (w+1)*64) // the end of s within word w
		mask := (^uint64(0) >> ((64 - (e - i)) & 63)) << (i & 63)
		if twice := used[w] & mask; twice != 0 {
			return int(w*64) + bits.TrailingZeros64(twice)
		}
		used[w] |= mask
		i = e
	}
	return -1
}

func decodeAck(r *reader, b *Body, n int) {
	// An acknowledged ID takes at least two bytes.
	count := r.count("acknowledged IDs", MaxAckIDs, 2)
	ids := b.Ack.IDs[:0]
	for range count {
		origin := r.uvarint("acknowledged origin")
		number := r.uvarint("acknowledged number")
		if r.err != nil {
			break
		}
		id, ok := b.Table.Lookup(origin)
		if !ok {
			r.failf(ErrTableRef, "acknowledged origin %d of %d", origin, n)
			break
		}
		ids = append(ids, core.BroadcastID{Origin: id, Number: core.MessageNumber(number)})
	}
	b.Ack.IDs = ids
	b.Ack.Seen = decodeSeen(r, b, n, b.Ack.Seen[:0])
}

func decodeRepair(r *reader, rq *core.RepairRequest) {
	rq.Epoch.StartMicros = r.uint64be("epoch start")
	rq.Epoch.Random = r.uint64be("epoch random")
	// A range takes at least two bytes.
	count := r.count("repair ranges", MaxRepairRanges, 2)
	ranges := rq.Ranges[:0]
	for range count {
		first := r.uvarint("range first")
		span := r.uvarint("range length")
		if r.err != nil {
			break
		}
		if first == 0 || first+span < first {
			r.failf(ErrMalformed, "repair range %d+%d", first, span)
			break
		}
		ranges = append(ranges, core.SeqRange{First: core.MulticastSeq(first), Last: core.MulticastSeq(first + span)})
	}
	rq.Ranges = ranges
}

// bodyLen returns the exact length appendBody writes for b, without writing
// it. It fails where appendBody fails.
func (e *bodyEncoder) bodyLen(b *Body) (int, error) {
	if !b.Kind.IsValid() {
		return 0, fmt.Errorf("%w: %s", ErrMalformed, b.Kind)
	}
	t := b.Table
	n := NetIDTableLen(t)
	switch {
	case b.Kind.IsGossip():
		g := &b.Gossip
		if _, err := ref(t, g.ID.Origin, "origin"); err != nil {
			return 0, err
		}
		origin, _ := t.Index(g.ID.Origin)
		n += uvarintLen(uint64(origin)) + uvarintLen(uint64(g.ID.Number))
		if b.Kind != KindGossip {
			n += uvarintLen(uint64(g.MulticastSeq))
		}
		m, err := e.seenLen(t, g.Seen)
		if err != nil {
			return 0, err
		}
		n += m
		if len(g.Others) > core.MaxOthers {
			return 0, fmt.Errorf("%w: %d others, at most %d", ErrListTooLong, len(g.Others), core.MaxOthers)
		}
		if err := e.list(t, g.Others, 0, "others"); err != nil {
			return 0, err
		}
		n += listLen(e.spans)
		if b.Kind == KindGossip {
			m, err := e.distributionLen(t, g.Distribution)
			if err != nil {
				return 0, err
			}
			n += m
		}
		if err := e.tableList(t, g.PayloadIDs); err != nil {
			return 0, err
		}
		n += listLen(e.spans) + 4 + len(g.Payload)
	case b.Kind == KindAck:
		n += uvarintLen(uint64(len(b.Ack.IDs)))
		for _, id := range b.Ack.IDs {
			origin, err := ref(t, id.Origin, "acknowledged origin")
			if err != nil {
				return 0, err
			}
			n += uvarintLen(uint64(origin)) + uvarintLen(uint64(id.Number))
		}
		m, err := e.seenLen(t, b.Ack.Seen)
		if err != nil {
			return 0, err
		}
		n += m
	case b.Kind == KindAnnouncement:
		m, err := e.seenLen(t, b.Announcement.Seen)
		if err != nil {
			return 0, err
		}
		d, err := e.distributionLen(t, b.Announcement.Groups)
		if err != nil {
			return 0, err
		}
		n += uvarintLen(uint64(b.Announcement.LastSeq)) + m + d
	case b.Kind == KindRepairRequest:
		n += core.EpochLen + uvarintLen(uint64(len(b.Repair.Ranges)))
		for _, r := range b.Repair.Ranges {
			n += uvarintLen(uint64(r.First)) + uvarintLen(uint64(r.Last-r.First))
		}
	}
	return n, nil
}

func (e *bodyEncoder) distributionLen(t core.NetIDTable, groups []core.Group) (int, error) {
	n := uvarintLen(uint64(len(groups)))
	for _, grp := range groups {
		entry, err := ref(t, grp.Entry, "distribution entry")
		if err != nil {
			return 0, err
		}
		if err := e.list(t, grp.Members, entry+1, "distribution members"); err != nil {
			return 0, err
		}
		if contains(e.spans, entry) {
			return 0, fmt.Errorf("%w: group entry %s is also a member", ErrMalformed, grp.Entry)
		}
		n += uvarintLen(uint64(entry)) + listLen(e.spans)
	}
	return n, nil
}

func (e *bodyEncoder) seenLen(t core.NetIDTable, seen []core.SeenEntry) (int, error) {
	if err := e.seenRefs(t, seen); err != nil {
		return 0, err
	}
	n := listLen(e.spans)
	for _, s := range seen {
		n += uvarintLen(uint64(s.Seq))
	}
	return n, nil
}
