package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// TestFaultsEndDeliveredOrDeadThenReplayOnce drives the reminders of the
// bundled export through a sandbox that fails 30% of the calls
// transiently, with a small retry budget so that some deliveries die;
// then the faults stop and a replay delivers each dead one exactly once.
func TestFaultsEndDeliveredOrDeadThenReplayOnce(t *testing.T) {
	t.Parallel()
	b := newWebhookBundleWith(t, false)
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	b.a.Cfg.Delivery.Retry.MaxAttempts = 2
	b.a.Cfg.Delivery.RecipientSpacing = 0
	b.sb.Fault(sandbox.Fault{Rate: 0.3, Mixed: true, Seed: 7})
	seeded := map[int64]bool{}
	for _, id := range b.ids {
		seeded[id] = true
	}
	settle := func() {
		for i := 0; i < 3; i++ {
			require.NoError(t, b.a.WaitIdle(ctx))
			require.NoError(t, b.sb.Wait(ctx))
		}
	}
	settle()
	// Walk the calendar until deliveries have died; support replays them
	// right away, while their appointments are still ahead.
	end := berlinTime(t, "2027-12-31T00:00:00+01:00")
	for {
		next, err := b.a.NextWork(ctx)
		require.NoError(t, err)
		if next.IsZero() || next.After(end) {
			break
		}
		b.clock.Set(next)
		_, err = b.a.Tick(ctx)
		require.NoError(t, err)
		settle()
		n, err := b.a.Store.Count(ctx, "deliveries", "state = 'dead'")
		require.NoError(t, err)
		if n >= 2 {
			break
		}
	}
	all, err := b.a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: "praxis-dr-beispiel"})
	require.NoError(t, err)
	var dead []int64
	outcomes := map[string]int{}
	for _, d := range all {
		if seeded[d.ID] {
			continue
		}
		outcomes[d.State]++
		switch d.State {
		case store.DeliveryDelivered, store.DeliveryRead, store.DeliverySkippedNoConsent, store.DeliveryCancelled:
		case store.DeliveryDead:
			require.Contains(t, d.Reason, "gave up after 2 attempts", "a dead delivery says why")
			require.Empty(t, d.ProviderMessageID)
			dead = append(dead, d.ID)
		case store.DeliveryFailed:
			// 10005's WhatsApp is refused (131026 is not injected here), so
			// nothing else may end failed.
			t.Fatalf("delivery %d failed: %s", d.ID, d.Reason)
		case store.DeliveryScheduled:
			require.True(t, d.SentAt.IsZero())
			outcomes["waiting"]++ // a retry due after the end of the window
		default:
			t.Fatalf("delivery %d still %s", d.ID, d.State)
		}
	}
	require.NotEmpty(t, dead, "with a budget of 2 and 30%% faults some deliveries die (seeded): %v", outcomes)
	require.Positive(t, outcomes[store.DeliveryRead]+outcomes[store.DeliveryDelivered])
	before := len(b.sb.Messages())

	b.sb.Fault(sandbox.Fault{})
	res, err := b.a.Replay(ctx, dead)
	require.NoError(t, err)
	for _, r := range res {
		require.True(t, r.Queued, r.Reason)
	}
	settle()
	replayedSent := 0
	for _, id := range dead {
		d, err := b.a.Store.Delivery(ctx, id)
		require.NoError(t, err)
		if d.State == store.DeliveryCancelled {
			// Replay re-checks: the appointment passed, or a later reminder
			// about it already reached the patient.
			require.Regexp(t, "past|superseded", d.Reason)
			continue
		}
		replayedSent++
		require.Contains(t, []string{store.DeliveryDelivered, store.DeliveryRead}, d.State, "delivery %d: %s", id, d.Reason)
		require.Equal(t, 1, d.ReplayCount)
	}
	require.Positive(t, replayedSent, "some replayed reminders were still ahead of their appointments")
	// Replaying again sends nothing: the provider accepted them.
	res, err = b.a.Replay(ctx, dead)
	require.NoError(t, err)
	for _, r := range res {
		require.False(t, r.Queued)
	}
	settle()
	msgs := b.sb.Messages()
	seen := map[string]bool{}
	for _, m := range msgs {
		require.False(t, seen[m.ID])
		seen[m.ID] = true
	}
	sentAfter := 0
	for _, id := range dead {
		d, err := b.a.Store.Delivery(ctx, id)
		require.NoError(t, err)
		if d.ProviderMessageID != "" {
			sentAfter++
			require.True(t, seen[d.ProviderMessageID])
		}
	}
	require.Equal(t, before+sentAfter, len(msgs), "each dead delivery was sent exactly once by the replay")
}
