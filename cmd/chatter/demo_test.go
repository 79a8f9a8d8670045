package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestDemo runs the demo small: real nodes on loopback, multicast on lo
// only with TTL 0, every broadcast reaching every node.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--subnets", "2", "--nodes", "2", "--broadcasts", "2", "--port", strconv.Itoa(freePort(t))}
	if code := runDemo(context.Background(), args, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	got := out.String()
	for _, want := range []string{"broadcast 1 from 127.0.0.11:", "broadcast 2 from 127.0.0.11:", "3 of 3 nodes", "multicast datagrams"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "2 of 3 nodes") || strings.Contains(got, "1 of 3 nodes") || strings.Contains(got, "0 of 3 nodes") {
		t.Errorf("a broadcast missed nodes:\n%s", got)
	}
	if !strings.Contains(got, "mcast") || !strings.Contains(got, "tcp") {
		t.Errorf("the demo did not show both transports:\n%s", got)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--subnets", "0"}, {"--nodes", "10"}, {"--port", "0"}, {"--nope"}} {
		if code := runDemo(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
