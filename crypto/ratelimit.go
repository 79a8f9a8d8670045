package crypto

import "time"

// tokenBucket is a token bucket driven by the caller's clock: it holds at
// most burst tokens and gains rate tokens per second of the times passed to
// take. A time earlier than the last one refills nothing. It is not safe
// for concurrent use.
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
	started     bool
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take removes one token at time now and reports whether there was one.
func (b *tokenBucket) take(now time.Time) bool {
	switch {
	case !b.started:
		b.started, b.last = true, now
	case now.After(b.last):
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
