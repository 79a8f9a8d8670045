package transporttest

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// LeakTimeout is how long LeakCheck waits for goroutines to end.
const LeakTimeout = 5 * time.Second

// LeakCheck records how many goroutines are running and returns a function
// that fails t unless the count comes back down to that within LeakTimeout.
// Call the function once everything the test opened is closed:
//
//	check := transporttest.LeakCheck(t)
//	tr := open()
//	...
//	tr.Close()
//	check()
//
// It counts goroutines, so the test must not run in parallel with tests
// that start or end goroutines (t.Parallel tests wait until the sequential
// ones are done, so a sequential test is safe).
func LeakCheck(t testing.TB) func() {
	t.Helper()
	baseline := runtime.NumGoroutine()
	return func() {
		t.Helper()
		if err := WaitGoroutines(baseline, LeakTimeout); err != nil {
			t.Error(err)
		}
	}
}

// WaitGoroutines polls until at most baseline goroutines run, or timeout
// passes; then it returns an error with every goroutine's stack.
func WaitGoroutines(baseline int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("%d goroutines still running %v after close, %d before; stacks:\n%s",
				n, timeout, baseline, buf)
		}
		time.Sleep(delay)
	}
}
