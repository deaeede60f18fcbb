package app

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConsentVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper []string
		want   string
	}{
		{name: "untouched"},
		{name: "edited action", tamper: []string{`UPDATE consent_events SET action = 'granted' WHERE id = 2`}, want: "event 2: content does not match its hash"},
		{name: "edited time", tamper: []string{`UPDATE consent_events SET occurred_at = '2027-01-01T00:00:00.000Z' WHERE id = 3`}, want: "event 3: content does not match its hash"},
		{name: "deleted", tamper: []string{`DELETE FROM consent_events WHERE id = 2`}, want: "event 3: does not follow"},
		{name: "reordered", tamper: []string{
			`UPDATE consent_events SET id = 1000 WHERE id = 2`, `UPDATE consent_events SET id = 2 WHERE id = 3`, `UPDATE consent_events SET id = 3 WHERE id = 1000`,
		}, want: "does not follow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newWebhookBundle(t)
			before, err := b.a.VerifyConsent(b.ctx, "praxis-dr-beispiel")
			require.NoError(t, err)
			require.True(t, before.OK, before.Problems)
			require.GreaterOrEqual(t, before.Events, 5)
			if tc.tamper == nil {
				return
			}
			// Someone with write access to the database file removes the
			// append-only triggers first.
			_, err = b.a.db.Exec(`DROP TRIGGER consent_events_no_update; DROP TRIGGER consent_events_no_delete`)
			require.NoError(t, err)
			for _, q := range tc.tamper {
				_, err := b.a.db.Exec(q)
				require.NoError(t, err, q)
			}
			after, err := b.a.VerifyConsent(b.ctx, "praxis-dr-beispiel")
			require.NoError(t, err)
			require.False(t, after.OK)
			require.Contains(t, after.Problems[0], tc.want)
		})
	}
}

func TestReplayNeverResendsWhatTheProviderAccepted(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	require.Equal(t, 200, b.post(t, "status_failed_131026.json", testSecret))
	require.Equal(t, "failed", b.state(t, "W4"))
	res, err := b.a.Replay(b.ctx, []int64{b.ids["W4"], 99999})
	require.NoError(t, err)
	require.False(t, res[0].Queued)
	require.Contains(t, res[0].Reason, "not sent twice")
	require.False(t, res[1].Queued)
	require.Equal(t, "no such delivery", res[1].Reason)
	require.Equal(t, "failed", b.state(t, "W4"))
}
