package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/chatter-go/chatter/core"
)

// Sentinel errors, for errors.Is.
var (
	// ErrInvalidHandler reports a Handler without a Name, Encode, Decode
	// or Dispatch.
	ErrInvalidHandler = errors.New("router: invalid handler")
	// ErrDuplicateTag reports a Handler whose name's type tag is taken:
	// the same name registered twice, or two names with the same CRC-32.
	ErrDuplicateTag = errors.New("router: type tag already registered")
	// ErrDuplicateType reports a second Handler for one Go type.
	ErrDuplicateType = errors.New("router: Go type already registered")
	// ErrNotRegistered reports a message of a Go type without a handler.
	ErrNotRegistered = errors.New("router: no handler for the type")
	// ErrUnknownTag reports a payload whose type tag has no handler.
	ErrUnknownTag = errors.New("router: unknown type tag")
	// ErrDecode reports a payload its handler's Decode refused.
	ErrDecode = errors.New("router: payload does not decode")
	// ErrHandler reports a handler's Dispatch or Encode that returned an
	// error.
	ErrHandler = errors.New("router: handler failed")
	// ErrPanic reports a handler function that panicked; the error is a
	// *PanicError.
	ErrPanic = errors.New("router: handler panicked")
)

// PanicError is the error of a handler function that panicked: the router
// recovered, and the message is forwarded as received.
type PanicError struct {
	Name  string // the handler's name
	Func  string // "Decode", "Dispatch", "NetIDs" or "Encode"
	Value any    // what the function panicked with
	Stack []byte // the goroutine's stack when it panicked
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("router: handler %q: %s panicked: %v", e.Name, e.Func, e.Value)
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Delivery is what a handler learns about one arrival of a message.
type Delivery struct {
	// ID is the origin's BroadcastID: the message's identity across hops.
	ID core.BroadcastID
	// From is the node the message came from (the frame's authenticated
	// sender), not necessarily its origin.
	From core.NetID
	// Via says how it came.
	Via core.Via
}

// Handler handles the messages of one Go type T. Name, Encode, Decode and
// Dispatch are required; NetIDs is optional. Each function may be called
// concurrently with itself and the others.
type Handler[T any] struct {
	// Name is the type's name; its CRC-32 (core.TagOf) is the wire tag.
	Name string
	// Encode appends m's encoding to dst and returns the extended slice.
	// ids is the payload table, built from NetIDs(m): Encode writes each
	// NetID of m as its index in ids (core.NetIDTable.Index).
	Encode func(dst []byte, m T, ids core.NetIDTable) ([]byte, error)
	// Decode decodes a payload, which names NetIDs by their index in ids
	// (core.NetIDTable.Lookup). It must not keep p, and must return an
	// error, not panic, on any input it cannot decode.
	Decode func(p []byte, ids core.NetIDTable) (T, error)
	// NetIDs returns the NetIDs m refers to. Nil means none: the payload
	// table is empty.
	NetIDs func(m T) []core.NetID
	// Dispatch handles a received message and returns the message to pass
	// on, which may differ from m (merge semantics: add what this node
	// knows). An error means: forward the message as it was received. It
	// runs on the caller's goroutine and should return when ctx ends.
	Dispatch func(ctx context.Context, m T, d Delivery) (T, error)
	// AtMostOnce asks for Dispatch to be called at most once per origin
	// BroadcastID, within the router's memory of Config.DedupSize IDs.
	AtMostOnce bool
}

// DefaultDedupSize is the default of Config.DedupSize.
const DefaultDedupSize = 65536

// Config configures a Router.
type Config struct {
	// DedupSize is how many BroadcastIDs the router remembers for
	// at-most-once dispatch; when full, the oldest is forgotten. Zero or
	// negative means DefaultDedupSize.
	DedupSize int
}

// Stats counts what Dispatch did. Every Dispatch call counts at most one of
// UnknownTag, DecodeErrors, Duplicates and Dispatched; a dispatched message
// may also count one of HandlerErrors and Panics.
type Stats struct {
	Dispatched    uint64 // handler Dispatch calls
	Duplicates    uint64 // messages not dispatched again under AtMostOnce
	UnknownTag    uint64 // payloads with no handler for their tag
	DecodeErrors  uint64 // payloads that did not decode
	HandlerErrors uint64 // Dispatch or the re-encoding returned an error
	Panics        uint64 // a handler function panicked (Decode included)
}

// Result is what to forward after a Dispatch.
type Result struct {
	// Payload and IDs are the payload and its payload table to forward:
	// the handler's re-encoded message, or the received ones (the same
	// slice and table, not copies) when anything failed.
	Payload []byte
	IDs     core.NetIDTable
	// Forward says the message is to be forwarded. The router never
	// stops a message, so it is true on every path.
	Forward bool
	// Dispatched says the handler's Dispatch was called (whether or not it
	// then failed).
	Dispatched bool
}

// Router is a registry of handlers by type tag. It is safe for concurrent
// use; Register may run concurrently with Dispatch.
type Router struct {
	mu  sync.Mutex               // serialises Register
	reg atomic.Pointer[registry] // copied on write: Dispatch reads without a lock

	dedup dedup

	dispatched, duplicates, unknownTag, decodeErrors, handlerErrors, panics atomic.Uint64
}

// registry is an immutable set of handlers.
type registry struct {
	byTag  map[core.TypeTag]handler
	byType map[reflect.Type]handler
}

// handler is a Handler[T] with T erased.
type handler interface {
	name() string
	dispatch(ctx context.Context, r *Router, tag core.TypeTag, ids core.NetIDTable, payload []byte, d Delivery) (Result, error)
}

// New returns a Router without handlers.
func New(cfg Config) *Router {
	if cfg.DedupSize <= 0 {
		cfg.DedupSize = DefaultDedupSize
	}
	r := &Router{dedup: dedup{size: cfg.DedupSize}}
	r.reg.Store(&registry{byTag: map[core.TypeTag]handler{}, byType: map[reflect.Type]handler{}})
	return r
}

// Register adds h, the handler of T's messages. It returns an error matching
// ErrInvalidHandler when a required field is missing, ErrDuplicateTag when
// the tag of h.Name is taken, and ErrDuplicateType when T has a handler.
func Register[T any](r *Router, h Handler[T]) error {
	var missing []string
	if h.Name == "" {
		missing = append(missing, "Name")
	}
	if h.Encode == nil {
		missing = append(missing, "Encode")
	}
	if h.Decode == nil {
		missing = append(missing, "Decode")
	}
	if h.Dispatch == nil {
		missing = append(missing, "Dispatch")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w %q: no %v", ErrInvalidHandler, h.Name, missing)
	}
	tag := core.TagOf(h.Name)
	typ := reflect.TypeFor[T]()

	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.reg.Load()
	if other, ok := old.byTag[tag]; ok {
		return fmt.Errorf("%w: %q has tag %#08x, like %q", ErrDuplicateTag, h.Name, uint32(tag), other.name())
	}
	if other, ok := old.byType[typ]; ok {
		return fmt.Errorf("%w: %q is for %v, like %q", ErrDuplicateType, h.Name, typ, other.name())
	}
	t := &typed[T]{h: h, tag: tag}
	next := &registry{byTag: maps.Clone(old.byTag), byType: maps.Clone(old.byType)}
	next.byTag[tag] = t
	next.byType[typ] = t
	r.reg.Store(next)
	return nil
}

// EncodeMessage encodes m with the handler registered for its Go type T
// (found by reflect.Type, so T must be the registered type itself, not an
// interface it satisfies): the type tag, the payload table built from
// NetIDs(m), and the payload. It returns ErrNotRegistered when T has no
// handler, the error of Encode, or a *PanicError.
func EncodeMessage[T any](r *Router, m T) (tag core.TypeTag, ids core.NetIDTable, payload []byte, err error) {
	h, ok := r.reg.Load().byType[reflect.TypeFor[T]()]
	if !ok {
		return 0, core.NetIDTable{}, nil, fmt.Errorf("%w: %v", ErrNotRegistered, reflect.TypeFor[T]())
	}
	t := h.(*typed[T])
	ids, payload, err = t.encode(m)
	if err != nil {
		return 0, core.NetIDTable{}, nil, err
	}
	return t.tag, ids, payload, nil
}

// Dispatch hands a received payload to the handler of tag and returns what
// to forward. On success that is the message the handler returned, encoded
// again with a payload table of its NetIDs, and err is nil. Otherwise the
// result holds payload and ids as received, and err says why: ErrUnknownTag,
// ErrDecode, ErrHandler or ErrPanic (a *PanicError). A duplicate under
// AtMostOnce is not an error: its result has Dispatched false.
//
// Dispatch calls the handler on the caller's goroutine with ctx; see the
// package documentation. payload must not change until Dispatch returns, and
// the result may share it.
func (r *Router) Dispatch(ctx context.Context, tag core.TypeTag, ids core.NetIDTable, payload []byte, d Delivery) (Result, error) {
	h, ok := r.reg.Load().byTag[tag]
	if !ok {
		r.unknownTag.Add(1)
		return Result{Payload: payload, IDs: ids, Forward: true}, fmt.Errorf("%w %#08x", ErrUnknownTag, uint32(tag))
	}
	return h.dispatch(ctx, r, tag, ids, payload, d)
}

// Stats returns a snapshot of the counters.
func (r *Router) Stats() Stats {
	return Stats{
		Dispatched:    r.dispatched.Load(),
		Duplicates:    r.duplicates.Load(),
		UnknownTag:    r.unknownTag.Load(),
		DecodeErrors:  r.decodeErrors.Load(),
		HandlerErrors: r.handlerErrors.Load(),
		Panics:        r.panics.Load(),
	}
}

// typed is a registered Handler[T].
type typed[T any] struct {
	h   Handler[T]
	tag core.TypeTag
}

func (t *typed[T]) name() string { return t.h.Name }

func (t *typed[T]) dispatch(ctx context.Context, r *Router, tag core.TypeTag, ids core.NetIDTable, payload []byte, d Delivery) (Result, error) {
	res := Result{Payload: payload, IDs: ids, Forward: true}
	key := dedupKey{tag: tag, id: d.ID}
	if t.h.AtMostOnce && r.dedup.contains(key) {
		r.duplicates.Add(1)
		return res, nil
	}
	m, err := t.decode(payload, ids)
	if err != nil {
		r.count(err, &r.decodeErrors)
		return res, err
	}
	if t.h.AtMostOnce && !r.dedup.add(key) {
		r.duplicates.Add(1) // a concurrent Dispatch of the same ID won
		return res, nil
	}
	r.dispatched.Add(1)
	res.Dispatched = true
	out, err := t.call(ctx, m, d)
	if err == nil {
		var newIDs core.NetIDTable
		var newPayload []byte
		newIDs, newPayload, err = t.encode(out)
		if err == nil {
			res.Payload, res.IDs = newPayload, newIDs
			return res, nil
		}
	}
	r.count(err, &r.handlerErrors)
	return res, err
}

// count counts err as a panic or in c.
func (r *Router) count(err error, c *atomic.Uint64) {
	if errors.Is(err, ErrPanic) {
		r.panics.Add(1)
		return
	}
	c.Add(1)
}

// decode runs Decode, a panic recovered.
func (t *typed[T]) decode(payload []byte, ids core.NetIDTable) (m T, err error) {
	defer t.recover("Decode", &err)
	m, err = t.h.Decode(payload, ids)
	if err != nil {
		return m, fmt.Errorf("%w: %q: %w", ErrDecode, t.h.Name, err)
	}
	return m, nil
}

// call runs Dispatch, a panic recovered.
func (t *typed[T]) call(ctx context.Context, m T, d Delivery) (out T, err error) {
	defer t.recover("Dispatch", &err)
	out, err = t.h.Dispatch(ctx, m, d)
	if err != nil {
		return out, fmt.Errorf("%w: %q: %w", ErrHandler, t.h.Name, err)
	}
	return out, nil
}

// encode builds m's payload table and payload, a panic recovered.
func (t *typed[T]) encode(m T) (ids core.NetIDTable, payload []byte, err error) {
	if t.h.NetIDs != nil {
		defer t.recover("NetIDs", &err)
		ids = core.NewNetIDTable(t.h.NetIDs(m)...)
	}
	defer t.recover("Encode", &err)
	payload, err = t.h.Encode(nil, m, ids)
	if err != nil {
		return ids, nil, fmt.Errorf("%w: %q: encode: %w", ErrHandler, t.h.Name, err)
	}
	return ids, payload, nil
}

// recover turns a panic of the handler function fn into *err.
func (t *typed[T]) recover(fn string, err *error) {
	if v := recover(); v != nil {
		*err = &PanicError{Name: t.h.Name, Func: fn, Value: v, Stack: debug.Stack()}
	}
}

// dedupKey identifies one message for at-most-once dispatch. The tag is part
// of it so that handlers never share an ID by mistake.
type dedupKey struct {
	tag core.TypeTag
	id  core.BroadcastID
}

// dedup is a bounded set of the last size keys added.
type dedup struct {
	mu   sync.Mutex
	size int
	set  map[dedupKey]struct{}
	ring []dedupKey // keys in the order added, a circular buffer once full
	next int        // the oldest key's position once the ring is full
}

func (s *dedup) contains(k dedupKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[k]
	return ok
}

// add adds k and reports whether it was new, forgetting the oldest key when
// the set is full.
func (s *dedup) add(k dedupKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[k]; ok {
		return false
	}
	if s.set == nil {
		s.set = make(map[dedupKey]struct{})
	}
	if len(s.ring) < s.size {
		s.ring = append(s.ring, k)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % s.size
	}
	s.set[k] = struct{}{}
	return true
}
