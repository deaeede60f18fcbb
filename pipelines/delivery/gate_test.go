package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
)

func ev(id int64, at string, ch schemas.Channel, action schemas.ConsentAction, purposes ...schemas.Purpose) store.ConsentRecord {
	t, _ := time.Parse(time.RFC3339, at)
	return store.ConsentRecord{ID: id, ConsentEvent: schemas.ConsentEvent{Channel: ch, Action: action, Purposes: purposes, OccurredAt: t}}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	rem := schemas.PurposeAppointmentReminder
	wa, sms := schemas.ChannelWhatsApp, schemas.ChannelSMS
	grant := ev(1, "2027-01-08T19:15:30+01:00", wa, schemas.ConsentGranted, rem, schemas.PurposeAppointmentChange)
	refuseSMS := ev(2, "2027-01-08T19:15:30+01:00", sms, schemas.ConsentWithdrawn, rem, schemas.PurposeAppointmentChange)
	stop := ev(3, "2027-01-11T13:09:12+01:00", wa, schemas.ConsentWithdrawn, schemas.Purposes...)
	regrant := ev(4, "2027-01-12T10:00:00+01:00", wa, schemas.ConsentGranted, rem)
	cases := []struct {
		name    string
		history []store.ConsentRecord
		ch      schemas.Channel
		purpose schemas.Purpose
		want    bool
	}{
		{"no events", nil, wa, rem, false},
		{"granted", []store.ConsentRecord{grant}, wa, rem, true},
		{"explicit refusal", []store.ConsentRecord{grant, refuseSMS}, sms, rem, false},
		{"recall not covered by the text", []store.ConsentRecord{grant}, wa, schemas.PurposeRecall, false},
		{"stop wins", []store.ConsentRecord{grant, stop}, wa, rem, false},
		{"order by occurrence, not by input", []store.ConsentRecord{stop, grant}, wa, rem, false},
		{"grant after stop", []store.ConsentRecord{grant, stop, regrant}, wa, rem, true},
		{"other channel untouched by stop", []store.ConsentRecord{grant, stop, ev(5, "2027-01-09T08:12:33+01:00", sms, schemas.ConsentGranted, rem)}, sms, rem, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Decide(tc.history, tc.ch, tc.purpose).Granted)
		})
	}
}

func TestEligible(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	ok, _ := Eligible(store.Appointment{Status: schemas.StatusBooked, Start: now.Add(time.Hour)}, now)
	require.True(t, ok)
	ok, why := Eligible(store.Appointment{Status: schemas.StatusCancelled, Start: now.Add(time.Hour)}, now)
	require.False(t, ok)
	require.Contains(t, why, "cancelled")
	ok, why = Eligible(store.Appointment{Status: schemas.StatusBooked, Start: now.Add(-time.Hour)}, now)
	require.False(t, ok)
	require.Contains(t, why, "past")
}

func TestChooseAndFallback(t *testing.T) {
	t.Parallel()
	rem := schemas.PurposeAppointmentReminder
	wa, sms := schemas.ChannelWhatsApp, schemas.ChannelSMS
	both := []schemas.Channel{wa, sms}
	waOnly := []store.ConsentRecord{ev(1, "2027-01-08T19:15:30+01:00", wa, schemas.ConsentGranted, rem)}
	waAndSMS := append(append([]store.ConsentRecord{}, waOnly...), ev(2, "2027-01-08T19:15:30+01:00", sms, schemas.ConsentGranted, rem))
	smsOnly := []store.ConsentRecord{ev(3, "2027-01-08T19:15:30+01:00", sms, schemas.ConsentGranted, rem)}

	c, ok := Choose(waAndSMS, wa, rem, both)
	require.True(t, ok)
	require.Equal(t, wa, c, "the preferred channel wins when consented")
	c, ok = Choose(waAndSMS, sms, rem, both)
	require.True(t, ok)
	require.Equal(t, sms, c)
	c, ok = Choose(smsOnly, wa, rem, both)
	require.True(t, ok)
	require.Equal(t, sms, c, "another consented channel when the preferred one has no consent")
	_, ok = Choose(smsOnly, wa, rem, []schemas.Channel{wa})
	require.False(t, ok, "never a channel that is not available")
	_, ok = Choose(nil, wa, rem, both)
	require.False(t, ok, "nothing without consent")

	c, ok = Fallback(waAndSMS, wa, rem, both)
	require.True(t, ok)
	require.Equal(t, sms, c)
	_, ok = Fallback(waOnly, wa, rem, both)
	require.False(t, ok, "no fallback to a channel without consent")
}
