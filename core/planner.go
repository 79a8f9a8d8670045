package core

import (
	"cmp"
	"slices"
)

// The planner: plain functions over values. The engine calls them with its
// knowledge; tests call them with small literal inputs.

// Send is one TCP send a plan asks for: the target and the distribution list
// it is handed. Chunk is the part of the plan the target is responsible
// for, with the target first, so a failed target can be replaced by the next
// node of its chunk.
type Send struct {
	To    NetID
	List  []Group
	Chunk []Group
}

// SplitLog cuts groups logarithmically: the first send gets ceil(n/2) of
// the groups, the next ceil(half) of the rest, and so on down to one. Each
// send goes to the entry of the first group of its chunk, which receives its
// own group's members (as a group whose entry is itself) and the chunk's
// other groups. The groups are used in the order given: shuffle them first.
func SplitLog(groups []Group) []Send {
	var sends []Send
	for len(groups) > 0 {
		k := (len(groups) + 1) / 2
		chunk := groups[:k:k]
		groups = groups[k:]
		sends = append(sends, SendFor(chunk))
	}
	return sends
}

// PlaceLone reorders groups, already shuffled, for SplitLog: the lone
// groups (an entry without members) take the leaf slots of the plan that lie
// deepest, in their order (the first lone group gets the deepest leaf), and
// the other groups fill the remaining slots in theirs.
//
// A group with members ends its branch with its entry's multicast, one hop
// after the entry; a lone node ends it on arrival. Put in the deepest slots,
// lone nodes take that last hop off the plan: with 15 groups and a safety
// net, the one slot SplitLog reaches at hop 4 goes to the safety net, and
// every group's members have the message at hop 4 instead of 5. Only leaf
// slots (a target handed no other group) are used while there are enough,
// so a lone node is still sent an empty list. The depths are those of the
// plan as this node cuts it; each target re-places what it is handed.
func PlaceLone(groups []Group) {
	lone := 0
	for _, g := range groups {
		if len(g.Members) == 0 {
			lone++
		}
	}
	if lone == 0 {
		return
	}
	hop, leaf := planSlots(len(groups))
	slots := make([]int, len(groups))
	for i := range slots {
		slots[i] = i
	}
	// Leaves first, deepest first, then last first: of two slots as deep,
	// the later is sent later, and a lone node leads nowhere.
	slices.SortFunc(slots, func(a, b int) int {
		if leaf[a] != leaf[b] {
			if leaf[a] {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(hop[b], hop[a]), cmp.Compare(b, a))
	})
	placed := make([]Group, len(groups)) // a slot is free while its entry is zero
	next := 0                            // the next lone group
	for _, i := range slots[:lone] {
		for len(groups[next].Members) > 0 {
			next++
		}
		placed[i] = groups[next]
		next++
	}
	next = 0 // the next group with members
	for i := range placed {
		if placed[i].Entry.IsValid() {
			continue
		}
		for len(groups[next].Members) == 0 {
			next++
		}
		placed[i] = groups[next]
		next++
	}
	copy(groups, placed)
}

// planSlots returns, for n groups cut by SplitLog and each chunk re-cut by
// its target, the hop at which each position's entry is reached (1 for this
// node's own sends) and whether it is a leaf: a target handed no other group.
func planSlots(n int) (hop []int, leaf []bool) {
	hop, leaf = make([]int, n), make([]bool, n)
	var walk func(lo, n, h int)
	walk = func(lo, n, h int) {
		for n > 0 {
			k := (n + 1) / 2
			hop[lo], leaf[lo] = h, k == 1
			walk(lo+1, k-1, h+1)
			lo, n = lo+k, n-k
		}
	}
	walk(0, n, 1)
	return hop, leaf
}

// SendFor returns the send that hands chunk to the entry of its first group.
func SendFor(chunk []Group) Send {
	first := chunk[0]
	list := make([]Group, 0, len(chunk))
	if len(first.Members) > 0 {
		list = append(list, first)
	}
	list = append(list, chunk[1:]...)
	return Send{To: first.Entry, List: list, Chunk: chunk}
}

// NextInChunk returns the chunk without its first node (its target): the
// first member of the first group becomes that group's entry, or, when the
// group has no members, the next group takes over. It reports false when
// nothing is left.
func NextInChunk(chunk []Group) ([]Group, bool) {
	if len(chunk) == 0 {
		return nil, false
	}
	first := chunk[0]
	if len(first.Members) > 0 {
		next := make([]Group, len(chunk))
		copy(next, chunk)
		next[0] = Group{Entry: first.Members[0], Members: first.Members[1:]}
		return next, true
	}
	if len(chunk) == 1 {
		return nil, false
	}
	return chunk[1:], true
}

// Shuffle permutes groups in place with r (Fisher–Yates).
func Shuffle[T any](r Rand, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// GroupBy groups ids by key, in the order each key first appears, each
// group's entry drawn at random among its nodes. key returns false for a
// node with no known domain: it is a group of its own.
func GroupBy(r Rand, ids []NetID, key func(NetID) (NetID, bool)) []Group {
	var groups []Group
	index := make(map[NetID]int)
	for _, id := range ids {
		k, ok := key(id)
		if !ok {
			groups = append(groups, Group{Entry: id})
			continue
		}
		if i, seen := index[k]; seen {
			groups[i].Members = append(groups[i].Members, id)
			continue
		}
		index[k] = len(groups)
		groups = append(groups, Group{Entry: id})
	}
	for i := range groups {
		g := &groups[i]
		if len(g.Members) == 0 {
			continue
		}
		// Draw the entry among all the group's nodes.
		if j := r.IntN(len(g.Members) + 1); j < len(g.Members) {
			g.Entry, g.Members[j] = g.Members[j], g.Entry
		}
	}
	return groups
}

// Singletons returns each id as a group of its own.
func Singletons(ids []NetID) []Group {
	groups := make([]Group, len(ids))
	for i, id := range ids {
		groups[i] = Group{Entry: id}
	}
	return groups
}

// Flatten returns every node of groups, entries first within each group.
func Flatten(groups []Group) []NetID {
	var ids []NetID
	for _, g := range groups {
		ids = append(ids, g.Entry)
		ids = append(ids, g.Members...)
	}
	return ids
}
