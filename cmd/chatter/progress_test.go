package main

import (
	"bytes"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	now := time.Unix(0, 0)
	var b bytes.Buffer
	p := newProgressLine(&b, time.Second, func() time.Time { return now })
	p.update(1, 200)
	if b.Len() != 0 {
		t.Fatalf("shown before a second: %q", b.String())
	}
	now = now.Add(time.Second)
	p.update(9, 200)
	p.update(10, 200)
	p.update(200, 200)
	p.stop()
	p.update(200, 200) // after stop: nothing
	p.stop()
	want := "\rsim: 9/200 broadcasts\rsim: 10/200 broadcasts\rsim: 200/200 broadcasts\r                       \r"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
