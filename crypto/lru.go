package crypto

// lru is a map with a recency list, bounded by its capacity. Nodes are
// reused on eviction, so a full lru inserts without allocating. It is not
// safe for concurrent use.
//
// A node is never removed, only reused: at any time every node holds the
// entry of its key. A pointer to a node kept across an insert is therefore
// still the entry of n.key, which may have become another key: check n.key
// before using it.
type lru[K comparable, V any] struct {
	m    map[K]*lruNode[K, V]
	head lruNode[K, V] // sentinel: head.next is the most recent, head.prev the least
	cap  int
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](capacity int) *lru[K, V] {
	l := &lru[K, V]{m: make(map[K]*lruNode[K, V]), cap: capacity}
	l.head.prev, l.head.next = &l.head, &l.head
	return l
}

// len returns the number of entries.
func (l *lru[K, V]) len() int { return len(l.m) }

// peek returns the node of k without changing its recency.
func (l *lru[K, V]) peek(k K) *lruNode[K, V] { return l.m[k] }

// oldest returns the node that insert would evict, or nil when l is not
// full.
func (l *lru[K, V]) oldest() *lruNode[K, V] {
	if len(l.m) >= l.cap && l.head.prev != &l.head {
		return l.head.prev
	}
	return nil
}

// touch makes n the most recent node.
func (l *lru[K, V]) touch(n *lruNode[K, V]) {
	if l.head.next == n {
		return
	}
	l.unlink(n)
	l.pushFront(n)
}

// insert adds k, which must be absent, as the most recent node and returns
// it. When l is full it evicts the least recent node and reuses it; the
// returned node's val is then the evicted one's, for the caller to reset.
func (l *lru[K, V]) insert(k K) *lruNode[K, V] {
	var n *lruNode[K, V]
	if len(l.m) >= l.cap && l.head.prev != &l.head {
		n = l.head.prev
		l.unlink(n)
		delete(l.m, n.key)
	} else {
		n = new(lruNode[K, V])
	}
	n.key = k
	l.m[k] = n
	l.pushFront(n)
	return n
}

func (l *lru[K, V]) unlink(n *lruNode[K, V]) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

func (l *lru[K, V]) pushFront(n *lruNode[K, V]) {
	n.prev = &l.head
	n.next = l.head.next
	l.head.next.prev = n
	l.head.next = n
}
