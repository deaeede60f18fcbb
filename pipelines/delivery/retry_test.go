package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 4, Base: 30 * time.Second, Max: 2 * time.Minute}
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		attempts   int
		retryAfter time.Duration
		want       time.Duration
		ok         bool
	}{
		{attempts: 1, want: 30 * time.Second, ok: true},
		{attempts: 2, want: time.Minute, ok: true},
		{attempts: 3, want: 2 * time.Minute, ok: true},
		{attempts: 3, retryAfter: 5 * time.Minute, want: 5 * time.Minute, ok: true},
		{attempts: 1, retryAfter: time.Second, want: 30 * time.Second, ok: true},
		{attempts: 4, ok: false},
	}
	for _, tc := range cases {
		at, ok := p.Next(tc.attempts, now, tc.retryAfter, nil)
		require.Equal(t, tc.ok, ok, "attempts %d", tc.attempts)
		if ok {
			require.Equal(t, tc.want, at.Sub(now), "attempts %d retry-after %s", tc.attempts, tc.retryAfter)
		}
	}
	p.Jitter = 0.2
	lo, _ := p.Next(1, now, 0, func() float64 { return 0 })
	hi, _ := p.Next(1, now, 0, func() float64 { return 0.999999 })
	require.Equal(t, 24*time.Second, lo.Sub(now))
	require.InDelta(t, float64(36*time.Second), float64(hi.Sub(now)), float64(time.Millisecond))
}

func TestLimiterSpacesSends(t *testing.T) {
	t.Parallel()
	l := NewLimiter(200)
	start := time.Now()
	for i := 0; i < 21; i++ {
		l.Wait()
	}
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond-time.Millisecond, "21 sends at 200/s take at least 20 gaps of 5 ms")
	NewLimiter(0).Wait()
}
