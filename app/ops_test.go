package app

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
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
		{name: "newest deleted", tamper: []string{`DELETE FROM consent_events WHERE id = (SELECT MAX(id) FROM consent_events)`}, want: "events deleted or added at the end"},
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

func TestSupportAPI(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	require.Equal(t, 200, b.post(t, "status_failed_131026.json", testSecret))
	require.Equal(t, 200, b.post(t, "inbound_reaction.json", testSecret))
	get := func(path, token string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, body
	}
	code, _ := get("/api/deliveries", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = get("/api/deliveries", "wrong")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body := get("/api/deliveries?status=failed", b.a.APIToken())
	require.Equal(t, http.StatusOK, code, string(body))
	var ds []DeliveryView
	require.NoError(t, json.Unmarshal(body, &ds))
	require.Len(t, ds, 1)
	require.Equal(t, b.ids["W4"], ds[0].ID)
	require.Equal(t, "131026", ds[0].ProviderCode)
	require.Equal(t, "10005", ds[0].Patient)
	require.NotContains(t, string(body), "491713920005", "no phone number in the support API")

	code, body = get("/api/inbox", b.a.APIToken())
	require.Equal(t, http.StatusOK, code)
	var inbox []InboxView
	require.NoError(t, json.Unmarshal(body, &inbox))
	require.Len(t, inbox, 1)
	require.Equal(t, "reaction", inbox[0].Type)
	require.Contains(t, inbox[0].Patient, "10007")

	post := func(body string) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/api/deliveries/replay", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+b.a.APIToken())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	code, body = post(`{"ids":[` + strconv.FormatInt(b.ids["W4"], 10) + `]}`)
	require.Equal(t, http.StatusOK, code, string(body))
	var res []ReplayResult
	require.NoError(t, json.Unmarshal(body, &res))
	require.False(t, res[0].Queued, "a message the provider accepted is never replayed")
	code, _ = post(`{}`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = post(`{"ids":[1],"colour":"red"}`)
	require.Equal(t, http.StatusBadRequest, code)
}

func TestInterruptedSendIsNotRepeated(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	appt, err := b.a.Store.AppointmentByExternalID(b.ctx, "praxis-dr-beispiel", "10001-20270415T1030")
	require.NoError(t, err)
	d, err := b.a.Store.CreateDelivery(b.ctx, store.Delivery{PracticeID: "praxis-dr-beispiel", AppointmentID: appt.ID, PatientID: appt.PatientID,
		Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentReminder, ToIndex: b.a.Store.BlindIndex("+491713920001")})
	require.NoError(t, err)
	// A crash after the mark and before the outcome leaves it "sending".
	ok, err := b.a.Store.MarkSending(b.ctx, d.ID, schemas.ChannelWhatsApp)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.a.Store.Tx(b.ctx, func(_ *sqlite.Q, tx *sql.Tx) error {
		return b.a.publishTx(tx, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
	}))
	require.NoError(t, b.a.WaitIdle(b.ctx))
	got, err := b.a.Store.Delivery(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryDead, got.State)
	require.Contains(t, got.Reason, "may have reached the patient")
	require.Empty(t, b.sb.Messages(), "nothing is sent a second time on a guess")
}

func TestReplayOfAnOvertakenReminderSendsNothing(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	appt, err := b.a.Store.AppointmentByExternalID(b.ctx, "praxis-dr-beispiel", "10001-20270111T0800")
	require.NoError(t, err)
	// An older reminder about the appointment died; W2 (sent 9 January)
	// reached the patient since.
	d, err := b.a.Store.CreateDelivery(b.ctx, store.Delivery{PracticeID: "praxis-dr-beispiel", AppointmentID: appt.ID, PatientID: appt.PatientID,
		Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentReminder, ToIndex: b.a.Store.BlindIndex("+491713920001")})
	require.NoError(t, err)
	require.NoError(t, b.a.Store.MarkEnded(b.ctx, d.ID, store.DeliveryDead, "gave up after 6 attempts: 503", "503"))
	b.clock.Set(berlinTime(t, "2027-01-10T09:00:00+01:00"))
	res, err := b.a.Replay(b.ctx, []int64{d.ID})
	require.NoError(t, err)
	require.True(t, res[0].Queued)
	require.NoError(t, b.a.WaitIdle(b.ctx))
	got, err := b.a.Store.Delivery(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCancelled, got.State)
	require.Contains(t, got.Reason, "superseded")
	require.Empty(t, b.sb.Messages())
}
