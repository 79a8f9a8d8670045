package core

// heard is what a node knows of another node's multicast stream.
type heard struct {
	id      NetID // the zero NetID marks an empty slot
	epoch   Epoch
	highest MulticastSeq
}

// heardSet holds the nodes whose multicast a node receives, with their
// streams. It is looked up for every multicast frame and announcement
// received, so it is an open-addressing hash table with its records inline:
// a sender is found in one probe most of the time, where a map would read
// its control word, then its key, then the record the value points to. It
// is never more than half full. The rotating seen slices walk its slots in
// order.
type heardSet struct {
	slots []heard // len a power of two, or 0
	n     int     // slots in use
	seed  uint64  // varies the hash from node to node
}

// hash returns id's home slot.
func (s *heardSet) hash(id NetID) int {
	x := id.hi ^ id.lo*0x9e3779b97f4a7c15 ^ id.fp*0xc2b2ae3d27d4eb4f ^ s.seed
	x ^= x >> 31
	x *= 0xd6e8feb86659fd93
	x ^= x >> 32
	return int(x & uint64(len(s.slots)-1))
}

// find returns id's record, or nil.
func (s *heardSet) find(id NetID) *heard {
	if s.n == 0 {
		return nil
	}
	mask := len(s.slots) - 1
	for i := s.hash(id); ; i = (i + 1) & mask {
		h := &s.slots[i]
		if h.id == id {
			return h
		}
		if !h.id.IsValid() {
			return nil
		}
	}
}

// add records a node not in the set, with a valid NetID, and returns its
// record.
func (s *heardSet) add(r heard) *heard {
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]heard, max(16, 2*len(old)))
		for i := range old {
			if old[i].id.IsValid() {
				s.put(old[i])
			}
		}
	}
	s.n++
	return s.put(r)
}

// put stores r in the first free slot from its home.
func (s *heardSet) put(r heard) *heard {
	mask := len(s.slots) - 1
	i := s.hash(r.id)
	for s.slots[i].id.IsValid() {
		i = (i + 1) & mask
	}
	s.slots[i] = r
	return &s.slots[i]
}
