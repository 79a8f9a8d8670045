package sim

import (
	"testing"
	"time"

	"github.com/chatter-go/chatter/core"
)

func TestSmoke(t *testing.T) {
	start := time.Now()
	res, err := Run(Params{Nodes: 1024, Subnets: 16, Broadcasts: 10, Warmup: 20, Strategies: []core.Strategy{core.StrategyChatter}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		r.Curve = nil
		t.Logf("%+v", r)
	}
	t.Log(time.Since(start))
}
