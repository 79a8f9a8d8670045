package peerstore_test

import (
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/peerstore"
)

// TestObserveReportsLearning checks Observe's answer, which the engine uses
// to slow its intake of announced hints once they stop teaching.
func TestObserveReportsLearning(t *testing.T) {
	self := core.MustParseNetID("198.18.0.1:1")
	a, b, c := core.MustParseNetID("198.18.1.1:1"), core.MustParseNetID("198.18.1.2:1"), core.MustParseNetID("198.18.1.3:1")
	s := peerstore.New(peerstore.Config{Self: self})
	now := time.Unix(1000, 0)
	steps := []struct {
		name string
		o    core.Observation
		want bool
	}{
		{"a new sender", core.Observation{From: a, Via: core.ViaTCP, Now: now}, true},
		{"the same sender again", core.Observation{From: a, Via: core.ViaTCP, Now: now.Add(time.Second)}, false},
		{"a hint grouping a with b", core.Observation{From: a, Via: core.ViaTCP, Now: now, Groups: []core.Group{{Entry: a, Members: []core.NetID{b}}}}, true},
		{"the same hint again", core.Observation{From: a, Via: core.ViaTCP, Now: now, Groups: []core.Group{{Entry: a, Members: []core.NetID{b}}}}, false},
		{"a hint adding c to the group", core.Observation{From: a, Via: core.ViaTCP, Now: now, Groups: []core.Group{{Entry: b, Members: []core.NetID{c}}}}, true},
		{"a multicast from a: a joins the local domain", core.Observation{From: a, Via: core.ViaMulticast, Now: now}, true},
		{"another multicast from a", core.Observation{From: a, Via: core.ViaMulticast, Now: now}, false},
	}
	for _, st := range steps {
		if got := s.Observe(st.o); got != st.want {
			t.Errorf("%s: Observe = %v, want %v", st.name, got, st.want)
		}
	}
}
