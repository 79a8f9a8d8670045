package sim

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkDependentRead measures what a read of memory not in the caches
// costs on the machine at hand, in working sets up to the size of a
// 10000-node world's peer stores (2.4 GB): a chase through a random cycle
// of cache lines, each read waiting for the one before, as a receipt's
// reads of a node's host, engine, store and entries do. It is the floor
// under the simulator's cost per receipt (docs/benchmarks.md, Scale).
func BenchmarkDependentRead(b *testing.B) {
	for _, mb := range []int{1, 16, 256, 2048} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			const line = 8 // uint64s in a 64-byte cache line
			n := mb << 20 / 64
			next := make([]uint64, n*line) // one slot a line, the rest padding
			perm := rand.New(rand.NewPCG(1, 2)).Perm(n)
			for i := range n {
				next[perm[i]*line] = uint64(perm[(i+1)%n] * line)
			}
			p := uint64(0)
			b.ResetTimer()
			for range b.N {
				p = next[p]
			}
			if p >= uint64(len(next)) {
				b.Fatal("the chase left the array")
			}
		})
	}
}
