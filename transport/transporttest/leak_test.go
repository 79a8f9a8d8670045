package transporttest_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/chatter-go/chatter/transport/transporttest"
)

func TestWaitGoroutines(t *testing.T) {
	stop := make(chan struct{})
	exited := make(chan struct{})
	check := transporttest.LeakCheck(t) // what the goroutine below must not outlive
	baseline := runtime.NumGoroutine()
	// WaitGoroutines sees a goroutine that does not end...
	go func() {
		<-stop
		close(exited)
	}()
	if err := transporttest.WaitGoroutines(baseline, 20*time.Millisecond); err == nil {
		t.Fatal("WaitGoroutines = nil with a goroutine still running")
	}
	// ...and returns once it has.
	close(stop)
	<-exited
	if err := transporttest.WaitGoroutines(baseline, time.Second); err != nil {
		t.Fatalf("WaitGoroutines after the goroutine ended: %v", err)
	}
	check()
}
