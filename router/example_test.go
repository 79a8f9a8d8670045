package router_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/router"
)

// Hello is an application message that names nodes.
type Hello struct {
	Text    string
	Friends []core.NetID
}

// helloNetIDs returns the NetIDs a Hello refers to: they go into the
// payload table.
func helloNetIDs(m Hello) []core.NetID { return m.Friends }

// encodeHello writes the text, then each friend as its index in the payload
// table, all as uvarints.
func encodeHello(dst []byte, m Hello, ids core.NetIDTable) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(m.Text)))
	dst = append(dst, m.Text...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Friends)))
	for _, f := range m.Friends {
		i, ok := ids.Index(f)
		if !ok {
			return nil, fmt.Errorf("hello: friend %s not in the payload table", f)
		}
		dst = binary.AppendUvarint(dst, uint64(i))
	}
	return dst, nil
}

var errHello = errors.New("hello: malformed")

// decodeHello reads what encodeHello wrote, checking every length and index
// before using it.
func decodeHello(p []byte, ids core.NetIDTable) (Hello, error) {
	var m Hello
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return Hello{}, fmt.Errorf("%w: text length", errHello)
	}
	m.Text, p = string(p[k:k+int(n)]), p[k+int(n):]
	n, k = binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) { // an index takes at least a byte
		return Hello{}, fmt.Errorf("%w: friend count", errHello)
	}
	p = p[k:]
	if n > 0 {
		m.Friends = make([]core.NetID, 0, n)
	}
	for range n {
		i, k := binary.Uvarint(p)
		if k <= 0 {
			return Hello{}, fmt.Errorf("%w: friend index", errHello)
		}
		id, ok := ids.Lookup(i)
		if !ok {
			return Hello{}, fmt.Errorf("%w: friend index %d of %d", errHello, i, ids.Len())
		}
		m.Friends = append(m.Friends, id)
		p = p[k:]
	}
	if len(p) != 0 {
		return Hello{}, fmt.Errorf("%w: %d trailing bytes", errHello, len(p))
	}
	return m, nil
}

// A typed handler: the origin encodes a Hello, a relay dispatches it, adds
// itself to the friends (merge semantics), and forwards the result.
func Example() {
	origin := core.MustParseNetID("192.0.2.1:29999")
	relay := core.MustParseNetID("192.0.2.7:29999")

	newRouter := func(self core.NetID) *router.Router {
		r := router.New(router.Config{})
		err := router.Register(r, router.Handler[Hello]{
			Name:   "example.Hello",
			Encode: encodeHello,
			Decode: decodeHello,
			NetIDs: helloNetIDs,
			Dispatch: func(ctx context.Context, m Hello, d router.Delivery) (Hello, error) {
				fmt.Printf("%s got %q from %s via %s, friends %v\n", self, m.Text, d.From, d.Via, m.Friends)
				if !slices.Contains(m.Friends, self) {
					m.Friends = append(m.Friends, self)
				}
				return m, nil
			},
			AtMostOnce: true,
		})
		if err != nil {
			panic(err)
		}
		return r
	}

	// At the origin: the tag, payload table and payload a gossip carries.
	tag, ids, payload, err := router.EncodeMessage(newRouter(origin), Hello{Text: "world", Friends: []core.NetID{origin}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("tag %#08x, payload table %v, %d payload bytes\n", uint32(tag), ids.IDs(), len(payload))

	// At a relay: dispatch, then forward the result.
	r := newRouter(relay)
	d := router.Delivery{ID: core.BroadcastID{Origin: origin, Number: 1}, From: origin, Via: core.ViaTCP}
	res, err := r.Dispatch(context.Background(), tag, ids, payload, d)
	if err != nil {
		panic(err)
	}
	fmt.Printf("forward %v, payload table %v\n", res.Forward, res.IDs.IDs())
	next, _ := decodeHello(res.Payload, res.IDs)
	fmt.Printf("forwarded %+v\n", next)

	// The same message again, by multicast: not dispatched twice.
	d.Via = core.ViaMulticast
	res, _ = r.Dispatch(context.Background(), tag, ids, payload, d)
	fmt.Printf("again: dispatched %v, %+v\n", res.Dispatched, r.Stats())
	// Output:
	// tag 0x29911147, payload table [192.0.2.1:29999], 8 payload bytes
	// 192.0.2.7:29999 got "world" from 192.0.2.1:29999 via tcp, friends [192.0.2.1:29999]
	// forward true, payload table [192.0.2.1:29999 192.0.2.7:29999]
	// forwarded {Text:world Friends:[192.0.2.1:29999 192.0.2.7:29999]}
	// again: dispatched false, {Dispatched:1 Duplicates:1 UnknownTag:0 DecodeErrors:0 HandlerErrors:0 Panics:0}
}
