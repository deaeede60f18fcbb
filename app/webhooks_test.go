package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/config"
	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/mapping/gdt"
	"github.com/praxisbote/praxisbote/pipelines/delivery"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// webhookBundle is an app seeded as the cases README's "Seed state" says,
// with its webhook endpoint served over real HTTP.
type webhookBundle struct {
	a     *App
	clock *SimClock
	srv   *httptest.Server
	sb    *sandbox.Server
	ctx   context.Context
	wamid map[string]string // W1..W5 → delivery id
	ids   map[string]int64
}

const testSecret = "test-webhook-secret"

func berlinTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func newWebhookBundle(t *testing.T) *webhookBundle {
	t.Helper()
	return newWebhookBundleWith(t, true)
}

// newWebhookBundleWith seeds the SMS deliveries S1 and S2 only when
// seedSMS is set; without them a test can watch the fallback being made.
func newWebhookBundleWith(t *testing.T, seedSMS bool) *webhookBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clock := &SimClock{t: berlinTime(t, "2027-01-02T09:00:00+01:00")}
	a, err := Open(ctx, config.Default(), t.TempDir(), Options{Now: clock.Now, WebhookSecret: testSecret})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	for _, f := range []string{"appointments/termine_ds_cp1252.csv", "anamnesis/anamnese_6310_gdt21_latin1.gdt",
		"anamnesis/anamnese_6310_gdt30_cp437.gdt", "anamnesis/anamnese_questionnaireresponse_r4.json"} {
		data, err := os.ReadFile(filepath.Join("..", "fixtures", f))
		require.NoError(t, err)
		_, err = a.Ingest(ctx, filepath.Base(f), data)
		require.NoError(t, err, f)
	}
	b := &webhookBundle{a: a, clock: clock, ctx: ctx, ids: map[string]int64{}}
	// Staff consent for 10020 and 10007, as the seed state says.
	for _, ext := range []string{"10020", "10007"} {
		ref, err := a.Store.FindPatient(ctx, "praxis-dr-beispiel", "pms", ext)
		require.NoError(t, err)
		_, _, err = a.Store.AppendConsent(ctx, "praxis-dr-beispiel", ref.ID, "", schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
			Purposes: []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}, Action: schemas.ConsentGranted,
			Source: schemas.SourceStaff, OccurredAt: berlinTime(t, "2027-01-02T09:00:00+01:00")}, "staff:test")
		require.NoError(t, err)
	}
	seed := []struct{ ref, wamid, to, appt, sentAt string }{
		{"W1", "wamid.HBgMNDkxNzEzOTIwMDA2FQIAERgSNUZBNTc0RjcyNkU5NDI1NDU2AA==", "+491713920006", "10006-20270113T1400", "2027-01-11T13:00:00+01:00"},
		{"W2", "wamid.HBgMNDkxNzEzOTIwMDAxFQIAERgSQTEyNTkxNjgzQUNGMjE3QzM0AA==", "+491713920001", "10001-20270111T0800", "2027-01-09T13:00:00+01:00"},
		{"W3", "wamid.HBgNNDkxNzYwNDA2OTAyMBUCABEYEjE3QzUyNDUyQzFGRDg5Rjg1QQA=", "+4917604069020", "10020-20270202T1530", "2027-01-31T18:43:50+01:00"},
		{"W4", "wamid.HBgMNDkxNzEzOTIwMDA1FQIAERgSQ0UwOTMwNDUxOTRFN0JBQzY1AA==", "+491713920005", "10005-20270112T1100", "2027-01-10T13:00:00+01:00"},
		{"W5", "wamid.HBgMNDkxNzEzOTIwMDA3FQIAERgSRTc5NjkwRjlGMEUzMjdERUEyAA==", "+491713920007", "10007-20270113T1430", "2027-01-11T13:30:30+01:00"},
	}
	for _, s := range seed {
		appt, err := a.Store.AppointmentByExternalID(ctx, "praxis-dr-beispiel", s.appt)
		require.NoError(t, err, s.appt)
		d, err := a.Store.CreateDelivery(ctx, store.Delivery{PracticeID: "praxis-dr-beispiel", AppointmentID: appt.ID, PatientID: appt.PatientID,
			Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentReminder, ToIndex: a.Store.BlindIndex(s.to)})
		require.NoError(t, err)
		ok, err := a.Store.MarkSending(ctx, d.ID, schemas.ChannelWhatsApp)
		require.NoError(t, err)
		require.True(t, ok)
		saved := clock.Now()
		clock.t = berlinTime(t, s.sentAt)
		require.NoError(t, a.Store.MarkSent(ctx, d.ID, s.wamid))
		clock.t = saved
		b.ids[s.ref] = d.ID
	}
	if seedSMS {
		for _, s := range []struct {
			ref, id, sentAt string
			purpose         schemas.Purpose
			fallbackOf      int64
		}{
			{"S1", "77100000001", "2027-01-10T13:02:10+01:00", schemas.PurposeAppointmentReminder, b.ids["W4"]},
			{"S2", "77100000002", "2027-01-11T09:15:30+01:00", schemas.PurposeAppointmentChange, 0},
		} {
			appt, err := a.Store.AppointmentByExternalID(ctx, "praxis-dr-beispiel", "10005-20270112T1100")
			require.NoError(t, err)
			d, err := a.Store.CreateDelivery(ctx, store.Delivery{PracticeID: "praxis-dr-beispiel", AppointmentID: appt.ID, PatientID: appt.PatientID,
				FallbackOf: s.fallbackOf, Channel: schemas.ChannelSMS, Purpose: s.purpose, ToIndex: a.Store.BlindIndex("+491713920005")})
			require.NoError(t, err)
			_, err = a.Store.MarkSending(ctx, d.ID, schemas.ChannelSMS)
			require.NoError(t, err)
			saved := clock.Now()
			clock.t = berlinTime(t, s.sentAt)
			require.NoError(t, a.Store.MarkSent(ctx, d.ID, s.id))
			clock.t = saved
			b.ids[s.ref] = d.ID
		}
	}
	b.srv = httptest.NewServer(a.Handler())
	t.Cleanup(b.srv.Close)
	// The providers are the sandbox, so that a fallback really goes out.
	b.sb = sandbox.New(sandbox.Options{APIKey: "k", SevenAPIKey: "k", WebhookURL: b.srv.URL + "/webhooks/360dialog",
		WebhookHeaders: map[string]string{WebhookSecretHeader: testSecret}, SevenWebhookURL: b.srv.URL + "/webhooks/seven?token=" + testSecret, Now: clock.Now})
	sbSrv := httptest.NewServer(b.sb.Handler())
	t.Cleanup(sbSrv.Close)
	wa, err := whatsapp.New(whatsapp.Config{BaseURL: sbSrv.URL, APIKey: "k"})
	require.NoError(t, err)
	a.UseWhatsApp(wa)
	sc, err := sms.New(sms.Config{BaseURL: sbSrv.URL, APIKey: "k"})
	require.NoError(t, err)
	a.UseSMS(sc)
	require.NoError(t, a.Start(ctx))
	return b
}

func (b *webhookBundle) post(t *testing.T, file string, secret string) int {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "fixtures", "webhooks", "360dialog", file))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/webhooks/360dialog", bytes.NewReader(body))
	require.NoError(t, err)
	if secret != "" {
		req.Header.Set(WebhookSecretHeader, secret)
	}
	return b.do(t, req)
}

func (b *webhookBundle) postSeven(t *testing.T, file string, token string) int {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "fixtures", "webhooks", "seven", file))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/webhooks/seven?token="+token, bytes.NewReader(body))
	require.NoError(t, err)
	return b.do(t, req)
}

func (b *webhookBundle) do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		require.NoError(t, b.a.WaitIdle(ctx))
		require.NoError(t, b.sb.Wait(ctx))
	}
	return resp.StatusCode
}

func (b *webhookBundle) state(t *testing.T, ref string) string {
	t.Helper()
	d, err := b.a.Store.Delivery(b.ctx, b.ids[ref])
	require.NoError(t, err)
	return d.State
}

func (b *webhookBundle) appt(t *testing.T, ext string) schemas.AppointmentStatus {
	t.Helper()
	a, err := b.a.Store.AppointmentByExternalID(b.ctx, "praxis-dr-beispiel", ext)
	require.NoError(t, err)
	return a.Status
}

func (b *webhookBundle) writebacks(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(b.a.Dirs.Writeback)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(b.a.Dirs.Writeback, e.Name()))
		require.NoError(t, err)
		out = append(out, string(data))
	}
	return out
}

func TestWebhookStatusesMoveForwardOnly(t *testing.T) {
	t.Parallel()
	orders := [][]string{
		{"status_sent.json", "status_delivered.json", "status_read.json"},
		{"status_read.json", "status_delivered.json", "status_sent.json"},
		{"status_delivered.json", "status_read.json", "status_sent.json"},
	}
	for _, order := range orders {
		b := newWebhookBundle(t)
		for _, f := range order {
			require.Equal(t, http.StatusOK, b.post(t, f, testSecret))
		}
		require.Equal(t, store.DeliveryRead, b.state(t, "W1"), "order %v", order)
		d, err := b.a.Store.Delivery(b.ctx, b.ids["W1"])
		require.NoError(t, err)
		require.Equal(t, "2027-01-11T13:00:03+01:00", d.DeliveredAt.In(berlin(t)).Format(time.RFC3339))
		require.Equal(t, "2027-01-11T13:05:20+01:00", d.ReadAt.In(berlin(t)).Format(time.RFC3339))
	}
	b := newWebhookBundle(t)
	require.Equal(t, http.StatusOK, b.post(t, "status_order_1_read_arrives_first.json", testSecret))
	require.Equal(t, http.StatusOK, b.post(t, "status_order_2_delivered_arrives_second.json", testSecret))
	require.Equal(t, store.DeliveryRead, b.state(t, "W5"), "a late delivered never moves read backwards")
	require.Equal(t, http.StatusOK, b.post(t, "status_batch_two_statuses.json", testSecret))
	require.Equal(t, store.DeliveryDelivered, b.state(t, "W2"))
	require.Equal(t, store.DeliveryRead, b.state(t, "W3"))
	require.Equal(t, http.StatusOK, b.post(t, "status_failed_131026.json", testSecret))
	require.Equal(t, store.DeliveryFailed, b.state(t, "W4"))
	d, err := b.a.Store.Delivery(b.ctx, b.ids["W4"])
	require.NoError(t, err)
	require.Equal(t, "131026", d.ProviderCode)
}

func TestFailed131026FallsBackToSMSOnce(t *testing.T) {
	t.Parallel()
	b := newWebhookBundleWith(t, false)
	require.Equal(t, http.StatusOK, b.post(t, "status_failed_131026.json", testSecret))
	require.Equal(t, http.StatusOK, b.post(t, "status_failed_131026.json", testSecret))
	require.Equal(t, store.DeliveryFailed, b.state(t, "W4"))
	all, err := b.a.Store.Deliveries(b.ctx, sqlite.DeliveryFilter{PracticeID: "praxis-dr-beispiel", ToIndex: b.a.Store.BlindIndex("+491713920005")})
	require.NoError(t, err)
	var fallbacks []store.Delivery
	for _, d := range all {
		if d.Channel == schemas.ChannelSMS {
			fallbacks = append(fallbacks, d)
		}
	}
	require.Len(t, fallbacks, 1, "exactly one SMS for the failed WhatsApp reminder, however often the failure arrives")
	require.Equal(t, b.ids["W4"], fallbacks[0].FallbackOf)
	require.Equal(t, store.DeliveryDelivered, fallbacks[0].State)
	msgs := b.sb.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "sms", msgs[0].Channel)
	require.Equal(t, "+491713920005", msgs[0].To)
	require.Contains(t, msgs[0].Text, "12.01.2027")
	require.Contains(t, msgs[0].Text, "11:00")
	require.NotContains(t, msgs[0].Text, "Kontrolle", "no clinical detail in a message")
}

func TestSevenHooks(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	require.Equal(t, http.StatusUnauthorized, b.postSeven(t, "dlr_delivered.json", "wrong"))
	require.Equal(t, store.DeliverySent, b.state(t, "S1"), "an unauthenticated hook changes nothing")
	require.Equal(t, http.StatusOK, b.postSeven(t, "dlr_delivered.json", testSecret))
	require.Equal(t, store.DeliveryDelivered, b.state(t, "S1"))
	d, err := b.a.Store.Delivery(b.ctx, b.ids["S1"])
	require.NoError(t, err)
	require.Equal(t, "2027-01-10T13:02:19+01:00", d.DeliveredAt.In(berlin(t)).Format(time.RFC3339))

	require.Equal(t, http.StatusOK, b.postSeven(t, "dlr_notdelivered.json", testSecret))
	require.Equal(t, store.DeliveryFailed, b.state(t, "S2"))
	require.Empty(t, b.sb.Messages(), "a permanent SMS failure is not retried")

	require.Equal(t, http.StatusOK, b.postSeven(t, "sms_mo_1.json", testSecret))
	require.Equal(t, schemas.StatusConfirmedByPatient, b.appt(t, "10005-20270112T1100"))
	require.Len(t, b.writebacks(t), 1)
	require.Equal(t, http.StatusOK, b.postSeven(t, "sms_mo_1.json", testSecret))
	require.Len(t, b.writebacks(t), 1, "the same hook twice is applied once")

	require.Equal(t, http.StatusOK, b.postSeven(t, "sms_mo_stop.json", testSecret))
	ref, err := b.a.Store.FindPatient(b.ctx, "praxis-dr-beispiel", "pms", "10005")
	require.NoError(t, err)
	hist, err := b.a.Store.ConsentHistory(b.ctx, ref.ID)
	require.NoError(t, err)
	last := hist[len(hist)-1]
	require.Equal(t, schemas.ConsentWithdrawn, last.Action)
	require.Equal(t, schemas.ChannelSMS, last.Channel)
	require.Equal(t, schemas.SourceChatKeyword, last.Source)
	require.Equal(t, "2027-01-11T09:30:02+01:00", last.OccurredAt.In(berlin(t)).Format(time.RFC3339))
	require.False(t, delivery.Decide(hist, schemas.ChannelSMS, schemas.PurposeAppointmentReminder).Granted)
	require.True(t, delivery.Decide(hist, schemas.ChannelWhatsApp, schemas.PurposeAppointmentReminder).Granted, "WhatsApp consent of 10005 is unchanged")
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func TestWebhookRepliesReachThePMS(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)

	require.Equal(t, http.StatusUnauthorized, b.post(t, "inbound_text_ja.json", ""), "no secret, no entry")
	require.Equal(t, http.StatusUnauthorized, b.post(t, "inbound_text_ja.json", "wrong"))
	require.Equal(t, schemas.StatusBooked, b.appt(t, "10006-20270113T1400"), "an unauthenticated request changes nothing")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_text_ja.json", testSecret))
	require.Equal(t, schemas.StatusConfirmedByPatient, b.appt(t, "10006-20270113T1400"))
	wb := b.writebacks(t)
	require.Len(t, wb, 1)
	require.Equal(t, "practice_id;patient_id;appointment_id;action;time\r\npraxis-dr-beispiel;10006;10006-20270113T1400;confirmed;2027-01-11T13:07:41+01:00\r\n", wb[0])
	require.Equal(t, http.StatusOK, b.post(t, "inbound_text_ja.json", testSecret))
	require.Len(t, b.writebacks(t), 1, "the same message twice is applied once")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_text_stopp.json", testSecret))
	require.Equal(t, schemas.StatusConfirmedByPatient, b.appt(t, "10006-20270113T1400"), "STOP leaves the appointment alone")
	ref, err := b.a.Store.FindPatient(b.ctx, "praxis-dr-beispiel", "pms", "10006")
	require.NoError(t, err)
	hist, err := b.a.Store.ConsentHistory(b.ctx, ref.ID)
	require.NoError(t, err)
	last := hist[len(hist)-1]
	require.Equal(t, schemas.ConsentWithdrawn, last.Action)
	require.Equal(t, schemas.ChannelWhatsApp, last.Channel)
	require.Equal(t, schemas.SourceChatKeyword, last.Source)
	require.Equal(t, "2027-01-11T13:09:12+01:00", last.OccurredAt.In(berlin(t)).Format(time.RFC3339))
	require.ElementsMatch(t, schemas.Purposes, last.Purposes)
	require.Contains(t, last.Evidence, "wamid.")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_button_confirm.json", testSecret))
	require.Equal(t, schemas.StatusConfirmedByPatient, b.appt(t, "10001-20270111T0800"))
	require.Equal(t, schemas.StatusBooked, b.appt(t, "10001-20270415T1030"), "the patient's other appointment is unchanged")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_interactive_button_reply.json", testSecret))
	require.Equal(t, schemas.StatusCancelRequested, b.appt(t, "10020-20270202T1530"))
	require.Equal(t, schemas.StatusBooked, b.appt(t, "10021-20270202T1600"), "the child sharing the number is unchanged")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_optin_anmelden.json", testSecret))
	kaethe, err := b.a.Store.FindPatient(b.ctx, "praxis-dr-beispiel", "pms", "10002")
	require.NoError(t, err)
	hist, err = b.a.Store.ConsentHistory(b.ctx, kaethe.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, schemas.ConsentGranted, hist[0].Action)
	require.Equal(t, schemas.SourceQRCode, hist[0].Source)
	require.Equal(t, kaethe.ID, hist[0].PatientID)
	require.Equal(t, b.a.Store.BlindIndex("+491713920002"), hist[0].PhoneIndex)
	require.Equal(t, "2027-01-08T10:02:17+01:00", hist[0].OccurredAt.In(berlin(t)).Format(time.RFC3339))
	require.Contains(t, hist[0].Evidence, "wamid.")
	require.Contains(t, hist[0].Evidence, "PRAXIS-7F3K")
	require.Equal(t, "EW-2026-11", hist[0].TextVersion)
	var confirmations []sandbox.Message
	for _, m := range b.sb.Messages() {
		if m.Type == "text" {
			confirmations = append(confirmations, m)
		}
	}
	require.Len(t, confirmations, 2, "one answer to the STOPP, one to the opt-in")
	require.Equal(t, "+491713920006", confirmations[0].To)
	require.Contains(t, confirmations[0].Text, "abgemeldet")
	require.Equal(t, "+491713920002", confirmations[1].To)
	require.Contains(t, confirmations[1].Text, "STOP", "the confirmation says how to withdraw")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_reaction.json", testSecret))
	require.Equal(t, schemas.StatusBooked, b.appt(t, "10007-20270113T1430"), "a reaction is not a confirmation")
	inbox, err := b.a.Store.Inbox(b.ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	require.Len(t, inbox, 1)
	require.Equal(t, "reaction", inbox[0].Type)
	require.Equal(t, "\U0001F44D", inbox[0].Body)

	require.Len(t, b.writebacks(t), 3, "confirm, button confirm, cancel request")
}

func TestGDTWritebackAndStopCancelsQueued(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	b.a.Cfg.Writeback.Format = "gdt"
	// A reminder to Erika waits for a retry when she sends STOPP.
	appt, err := b.a.Store.AppointmentByExternalID(b.ctx, "praxis-dr-beispiel", "10006-20270113T1400")
	require.NoError(t, err)
	queued, err := b.a.Store.CreateDelivery(b.ctx, store.Delivery{PracticeID: "praxis-dr-beispiel", AppointmentID: appt.ID, PatientID: appt.PatientID,
		Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentReminder, ToIndex: b.a.Store.BlindIndex("+491713920006")})
	require.NoError(t, err)
	require.NoError(t, b.a.Store.ScheduleRetry(b.ctx, queued.ID, berlinTime(t, "2027-01-12T13:00:00+01:00"), "503", "503"))

	require.Equal(t, http.StatusOK, b.post(t, "inbound_text_ja.json", testSecret))
	entries, err := os.ReadDir(b.a.Dirs.Writeback)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, ".gdt", filepath.Ext(entries[0].Name()))
	data, err := os.ReadFile(filepath.Join(b.a.Dirs.Writeback, entries[0].Name()))
	require.NoError(t, err)
	recs, problems, err := gdt.Decode(data)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, []string{"10006"}, recs[0].Values("3000"))
	require.Contains(t, recs[0].Values("6228"), "Termin vom Patienten bestätigt")

	require.Equal(t, http.StatusOK, b.post(t, "inbound_text_stopp.json", testSecret))
	d, err := b.a.Store.Delivery(b.ctx, queued.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCancelled, d.State, "STOP cancels what is queued for that channel")
}

func TestSignedWebhooks(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	b.a.signing = "signing-secret"
	body, err := os.ReadFile(filepath.Join("..", "fixtures", "webhooks", "360dialog", "status_delivered.json"))
	require.NoError(t, err)
	send := func(sig string) int {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/webhooks/360dialog", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(WebhookSecretHeader, testSecret)
		if sig != "" {
			req.Header.Set("x-360dialog-signature", sig)
		}
		return b.do(t, req)
	}
	require.Equal(t, http.StatusUnauthorized, send(""), "a signing secret makes the signature mandatory")
	require.Equal(t, http.StatusUnauthorized, send(hex.EncodeToString(whatsapp.Sign([]byte("other"), "signing-secret"))))
	require.Equal(t, store.DeliverySent, b.state(t, "W1"))
	require.Equal(t, http.StatusOK, send(hex.EncodeToString(whatsapp.Sign(body, "signing-secret"))))
	require.Equal(t, store.DeliveryDelivered, b.state(t, "W1"))
}

func TestUndeliveredWhatsAppFallsBackToSMS(t *testing.T) {
	t.Parallel()
	b := newWebhookBundleWith(t, false)
	smsSent := func() []sandbox.Message {
		for j := 0; j < 3; j++ {
			require.NoError(t, b.a.WaitIdle(b.ctx))
			require.NoError(t, b.sb.Wait(b.ctx))
		}
		var out []sandbox.Message
		for _, m := range b.sb.Messages() {
			if m.Channel == "sms" {
				out = append(out, m)
			}
		}
		return out
	}
	b.clock.Set(berlinTime(t, "2027-01-10T16:59:00+01:00"))
	_, err := b.a.Tick(b.ctx)
	require.NoError(t, err)
	require.Empty(t, smsSent(), "not yet: W4 was sent less than 4 hours ago")

	b.clock.Set(berlinTime(t, "2027-01-10T17:30:00+01:00"))
	_, err = b.a.Tick(b.ctx)
	require.NoError(t, err)
	msgs := smsSent()
	require.Len(t, msgs, 1, "only 10005 consented to SMS; everyone else keeps waiting on WhatsApp")
	require.Equal(t, "+491713920005", msgs[0].To)
	_, err = b.a.Tick(b.ctx)
	require.NoError(t, err)
	require.Len(t, smsSent(), 1, "one fallback per message")
}

func TestMovedAppointmentIsAnnouncedOnce(t *testing.T) {
	t.Parallel()
	b := newWebhookBundleWith(t, false)
	raw, err := os.ReadFile(filepath.Join("..", "fixtures", "appointments", "termine_utf8_bom.csv"))
	require.NoError(t, err)
	_, err = b.a.Ingest(b.ctx, "appointments.csv", raw)
	require.NoError(t, err)
	require.NoError(t, b.a.WaitIdle(b.ctx))
	ref, err := b.a.Store.FindPatient(b.ctx, "praxis-dr-beispiel", "pms", "20001")
	require.NoError(t, err)
	_, _, err = b.a.Store.AppendConsent(b.ctx, "praxis-dr-beispiel", ref.ID, "", schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
		Purposes: []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}, Action: schemas.ConsentGranted,
		Source: schemas.SourceStaff, OccurredAt: berlinTime(t, "2027-01-02T09:00:00+01:00")}, "staff:test")
	require.NoError(t, err)
	// The export has real appointment ids: A-2027-0201 moves from 08:00 to
	// 10:00 in the next export.
	moved := bytes.Replace(raw, []byte("A-2027-0201,2027-02-15,08:00,08:30"), []byte("A-2027-0201,2027-02-15,10:00,10:30"), 1)
	require.NotEqual(t, raw, moved)
	for i, data := range [][]byte{moved, append(append([]byte{}, moved...), '\n')} {
		_, err = b.a.Ingest(b.ctx, fmt.Sprintf("appointments-%d.csv", i), data)
		require.NoError(t, err)
		for j := 0; j < 3; j++ {
			require.NoError(t, b.a.WaitIdle(b.ctx))
			require.NoError(t, b.sb.Wait(b.ctx))
		}
	}
	var notices []sandbox.Message
	for _, m := range b.sb.Messages() {
		if m.TemplateName == "termin_verschoben" {
			notices = append(notices, m)
		}
	}
	require.Len(t, notices, 1, "one change notice per new start, however often the export repeats it")
	require.Equal(t, "+4917604069031", notices[0].To)
	require.Contains(t, notices[0].BodyParams, "10:00")
	appt, err := b.a.Store.AppointmentByExternalID(b.ctx, "praxis-dr-beispiel", "A-2027-0201")
	require.NoError(t, err)
	require.Equal(t, schemas.StatusMoved, appt.Status)
	rems, err := b.a.Store.Reminders(b.ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	pending := 0
	for _, r := range rems {
		if r.AppointmentID == appt.ID {
			if r.State == store.ReminderPending {
				pending++
				want := map[string]string{"48h": "2027-02-13T10:00:00+01:00", "day-before-13": "2027-02-14T13:00:00+01:00"}[r.RuleID]
				require.Equal(t, want, r.DueAt.In(berlin(t)).Format(time.RFC3339))
			} else {
				require.Equal(t, store.ReminderCancelled, r.State, "the old start's reminders are cancelled")
			}
		}
	}
	require.Equal(t, 2, pending, "new reminders for the new start")
}

func TestNewBookingConfirmedOnlyAfterTheFirstExport(t *testing.T) {
	t.Parallel()
	b := newWebhookBundleWith(t, false)
	b.a.Cfg.Reminders.ConfirmNewBookings = true
	raw, err := os.ReadFile(filepath.Join("..", "fixtures", "appointments", "termine_utf8_bom.csv"))
	require.NoError(t, err)
	// Staff consent for Łukasz Wiśniewski (20001) before any export lists him.
	_, _, err = b.a.Store.UpsertPatient(b.ctx, "praxis-dr-beispiel", "pms", schemas.Patient{ExternalID: "20001"})
	require.NoError(t, err)
	ref, err := b.a.Store.FindPatient(b.ctx, "praxis-dr-beispiel", "pms", "20001")
	require.NoError(t, err)
	_, _, err = b.a.Store.AppendConsent(b.ctx, "praxis-dr-beispiel", ref.ID, "", schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
		Purposes: []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}, Action: schemas.ConsentGranted,
		Source: schemas.SourceStaff, OccurredAt: berlinTime(t, "2027-01-02T09:00:00+01:00")}, "staff:test")
	require.NoError(t, err)
	settle := func() {
		for j := 0; j < 3; j++ {
			require.NoError(t, b.a.WaitIdle(b.ctx))
			require.NoError(t, b.sb.Wait(b.ctx))
		}
	}
	_, err = b.a.Ingest(b.ctx, "first.csv", raw)
	require.NoError(t, err)
	settle()
	require.Empty(t, b.sb.Messages(), "the first export lists existing bookings: nobody is messaged")
	booked := append(append([]byte{}, raw...), []byte("A-2027-0299,2027-03-01,09:00,09:30,20001,Wiśniewski,Łukasz,1990-05-17,+4917604069031,,Dr. Beispiel,Kontrolle,booked\n")...)
	_, err = b.a.Ingest(b.ctx, "second.csv", booked)
	require.NoError(t, err)
	settle()
	msgs := b.sb.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "termin_gebucht", msgs[0].TemplateName)
	require.Equal(t, "+4917604069031", msgs[0].To)
	require.Contains(t, msgs[0].BodyParams, "Mo. 01.03.2027")
	require.Contains(t, msgs[0].BodyParams, "09:00")
}

func TestButtonPayloadNamesTheDelivery(t *testing.T) {
	t.Parallel()
	b := newWebhookBundle(t)
	// The payload names W1's delivery; the number is Erika's.
	_, err := b.sb.ReplyButton(b.ctx, "+491713920006", payload("CANCEL", "10006-20270113T1400", b.ids["W1"]), "Termin absagen", "")
	require.NoError(t, err)
	for j := 0; j < 3; j++ {
		require.NoError(t, b.a.WaitIdle(b.ctx))
		require.NoError(t, b.sb.Wait(b.ctx))
	}
	require.Equal(t, schemas.StatusCancelRequested, b.appt(t, "10006-20270113T1400"))
	// A payload naming somebody else's delivery is not applied.
	_, err = b.sb.ReplyButton(b.ctx, "+491713920006", payload("CONFIRM", "10001-20270111T0800", b.ids["W2"]), "Termin bestätigen", "")
	require.NoError(t, err)
	for j := 0; j < 3; j++ {
		require.NoError(t, b.a.WaitIdle(b.ctx))
		require.NoError(t, b.sb.Wait(b.ctx))
	}
	require.Equal(t, schemas.StatusBooked, b.appt(t, "10001-20270111T0800"))
}
