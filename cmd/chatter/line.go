package main

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/chatter-go/chatter"
	"github.com/chatter-go/chatter/core"
)

// Line is the message `chatter node` and `chatter demo` broadcast: one line
// of text.
type Line struct{ Text string }

// maxLine bounds a line's bytes.
const maxLine = 64 << 10

var errLine = errors.New("chatter: not a line of UTF-8 text")

// lineHandler returns the handler of Line messages; arrive is called for
// each one.
func lineHandler(arrive func(Line, chatter.Delivery)) chatter.Handler[Line] {
	return chatter.Handler[Line]{
		Name: "chatter.line",
		Encode: func(dst []byte, m Line, _ core.NetIDTable) ([]byte, error) {
			if len(m.Text) > maxLine || !utf8.ValidString(m.Text) {
				return dst, errLine
			}
			return append(dst, m.Text...), nil
		},
		Decode: func(p []byte, _ core.NetIDTable) (Line, error) {
			if len(p) > maxLine || !utf8.Valid(p) {
				return Line{}, errLine
			}
			return Line{Text: string(p)}, nil
		},
		Dispatch: func(_ context.Context, m Line, d chatter.Delivery) (Line, error) {
			arrive(m, d)
			return m, nil
		},
		AtMostOnce: true,
	}
}

// viaName names how a message came, as the JSON output spells it: a
// repaired multicast frame came by TCP.
func viaName(v core.Via) string {
	if v == core.ViaMulticast {
		return "mcast"
	}
	return "tcp"
}
