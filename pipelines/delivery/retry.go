package delivery

import (
	"math"
	"sync"
	"time"
)

// RetryPolicy decides when a transiently failed delivery is tried again.
// Retries are parked in the store with their time rather than slept on, so
// a wait holds nothing open and survives a restart.
type RetryPolicy struct {
	// MaxAttempts is the retry budget, counting the first attempt.
	MaxAttempts int `yaml:"max_attempts"`
	// Base is the wait after the first failure; it doubles per attempt.
	Base time.Duration `yaml:"base"`
	// Max caps the wait.
	Max time.Duration `yaml:"max"`
	// Jitter spreads waits by ±this fraction so retries do not bunch.
	Jitter float64 `yaml:"jitter"`
}

// DefaultRetryPolicy tries six times over about a quarter of an hour.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, Base: 30 * time.Second, Max: 30 * time.Minute, Jitter: 0.2}
}

// Next returns when to make the next attempt after attempts failed ones,
// honouring the provider's Retry-After when it asks for longer. ok is
// false when the budget is spent. rnd returns a number in [0, 1).
func (p RetryPolicy) Next(attempts int, now time.Time, retryAfter time.Duration, rnd func() float64) (time.Time, bool) {
	if attempts >= p.MaxAttempts {
		return time.Time{}, false
	}
	wait := time.Duration(float64(p.Base) * math.Pow(2, float64(attempts-1)))
	if wait > p.Max || wait <= 0 {
		wait = p.Max
	}
	if p.Jitter > 0 && rnd != nil {
		wait = time.Duration(float64(wait) * (1 + p.Jitter*(2*rnd()-1)))
	}
	if retryAfter > wait {
		wait = retryAfter
	}
	return now.Add(wait), true
}

// Limiter spaces sends on one sending number: at most Rate per second.
// WhatsApp allows 80 messages per second per business number by default.
type Limiter struct {
	mu   sync.Mutex
	next time.Time
	gap  time.Duration
}

// NewLimiter allows rate sends per second (0: unlimited).
func NewLimiter(rate float64) *Limiter {
	if rate <= 0 {
		return &Limiter{}
	}
	return &Limiter{gap: time.Duration(float64(time.Second) / rate)}
}

// Wait blocks until the next send is allowed. The wait is at most one gap
// per caller queued ahead, a few milliseconds at 80/s.
func (l *Limiter) Wait() {
	if l.gap == 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.gap)
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}
