package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBoundsFor(t *testing.T) {
	tests := []struct {
		nodes, subnets int
		want           bounds
	}{
		{2, 1, bounds{RoundsUnicastOnly: 1, RoundsMulticast: 1, DataPackets: 1, DataPacketsSafetyNet: 2, CopiesPerNode: 1}},
		{3, 2, bounds{RoundsUnicastOnly: 2, RoundsMulticast: 2, DataPackets: 3, DataPacketsSafetyNet: 5, CopiesPerNode: 1}},
		{32, 4, bounds{RoundsUnicastOnly: 5, RoundsMulticast: 3, DataPackets: 7, DataPacketsSafetyNet: 11, CopiesPerNode: 1}},
		{256, 8, bounds{RoundsUnicastOnly: 8, RoundsMulticast: 4, DataPackets: 15, DataPacketsSafetyNet: 23, CopiesPerNode: 1}},
		{257, 9, bounds{RoundsUnicastOnly: 9, RoundsMulticast: 5, DataPackets: 17, DataPacketsSafetyNet: 26, CopiesPerNode: 1}},
		{1000, 1, bounds{RoundsUnicastOnly: 10, RoundsMulticast: 1, DataPackets: 1, DataPacketsSafetyNet: 2, CopiesPerNode: 1}},
		{1024, 1024, bounds{RoundsUnicastOnly: 10, RoundsMulticast: 11, DataPackets: 2047, DataPacketsSafetyNet: 3071, CopiesPerNode: 1}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, boundsFor(tt.nodes, tt.subnets)); diff != "" {
			t.Errorf("boundsFor(%d, %d) (-want +got):\n%s", tt.nodes, tt.subnets, diff)
		}
	}
}

func TestCeilLog2(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 8: 3, 9: 4, 255: 8, 256: 8, 257: 9, 130000: 17} {
		if got := ceilLog2(n); got != want {
			t.Errorf("ceilLog2(%d) = %d, want %d", n, got, want)
		}
	}
}
