package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/pipelines/inbound"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// maxWebhookBody bounds what a webhook may post; Meta's bodies are small.
const maxWebhookBody = 1 << 20

// Handler serves the provider webhooks and a health check.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/360dialog", a.serveWhatsAppWebhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.db.PingContext(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// serveWhatsAppWebhook authenticates, queues the raw body durably and
// answers 200; processing happens on the bus, so the provider gets its
// answer fast and a crash after the answer loses nothing.
func (a *App) serveWhatsAppWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := whatsapp.Authenticate(r, body, whatsapp.AuthConfig{SharedSecretHeader: WebhookSecretHeader, SharedSecret: a.secret}); err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if _, err := whatsapp.ParseWebhook(body); err != nil {
		http.Error(w, "not a WhatsApp webhook body", http.StatusBadRequest)
		return
	}
	msg := message.NewMessage(watermill.NewUUID(), body)
	msg.Metadata.Set("provider", "360dialog")
	if err := a.pub.Publish(TopicWebhookReceived, msg); err != nil {
		a.Log.Error("webhook not queued", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) handleWebhook(msg *message.Message) error {
	n, err := whatsapp.ParseWebhook(msg.Payload)
	if err != nil {
		a.Log.Error("unreadable webhook dropped", "err", err)
		return nil
	}
	q, _, err := a.handlerTx(msg)
	if err != nil {
		return err
	}
	ctx := msg.Context()
	for _, st := range n.Statuses {
		if err := a.applyStatus(ctx, q, st); err != nil {
			return err
		}
	}
	for _, m := range n.Messages {
		if err := a.applyMessage(ctx, msg, q, m); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) applyStatus(ctx context.Context, q *sqlite.Q, st whatsapp.Status) error {
	d, err := q.DeliveryByProviderID(ctx, st.MessageID)
	if err == store.ErrNotFound {
		a.Log.Warn("status for an unknown message", "status", st.Status)
		return nil
	}
	if err != nil {
		return err
	}
	code := ""
	if st.ErrorCode != 0 {
		code = fmt.Sprint(st.ErrorCode)
	}
	_, err = q.ApplyStatus(ctx, d, st.Status, st.Timestamp, code)
	return err
}

// applyMessage understands one patient message and acts on it.
func (a *App) applyMessage(ctx context.Context, msg *message.Message, q *sqlite.Q, m whatsapp.InboundMessage) error {
	practice := a.Cfg.Practice.ID
	from, err := phone.ParseInternational(m.From)
	if err != nil {
		a.Log.Warn("message from an unreadable number dropped", "type", m.Type)
		return nil
	}
	idx := q.BlindIndex(from.E164)
	text := m.Text
	if text == "" {
		text = m.ButtonText
	}
	if text == "" {
		text = m.InteractiveReplyTitle
	}
	if m.Type == "reaction" {
		text = m.ReactionEmoji
	}
	rec, inserted, err := q.InsertInbound(ctx, store.InboundMessage{PracticeID: practice, Channel: schemas.ChannelWhatsApp, ProviderID: m.ID,
		FromIndex: idx, ReceivedAt: m.Timestamp, Type: m.Type, Body: text})
	if err != nil || !inserted {
		return err // a webhook delivered twice is applied once
	}
	intent, ref := inbound.IntentNone, ""
	switch {
	case m.ButtonPayload != "":
		intent, ref = inbound.Payload(m.ButtonPayload)
	case m.InteractiveReplyID != "":
		intent, ref = inbound.Payload(m.InteractiveReplyID)
	case m.Type == "text":
		intent = inbound.Detect(m.Text, a.Cfg.Practice.Code)
	}
	patients, err := q.PatientsByPhone(ctx, practice, from.E164)
	if err != nil {
		return err
	}
	var one int64
	if len(patients) == 1 {
		one = patients[0]
	}
	outcome := func(patientID, apptID int64, handled string) error {
		return q.SetInboundOutcome(ctx, rec.ID, string(intent), patientID, apptID, handled)
	}
	switch intent {
	case inbound.IntentOptIn:
		version := a.Cfg.Consent.CurrentText
		_, _, err := q.AppendConsent(ctx, practice, one, idx, schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
			Purposes: a.Cfg.TextPurposes(version), Action: schemas.ConsentGranted, Source: schemas.SourceQRCode,
			OccurredAt: m.Timestamp, TextVersion: version, Evidence: "wamid:" + m.ID + ";code:" + a.Cfg.Practice.Code}, "chat")
		if err != nil {
			return err
		}
		return outcome(one, 0, "consent")
	case inbound.IntentStop:
		_, _, err := q.AppendConsent(ctx, practice, one, idx, schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
			Purposes: schemas.Purposes, Action: schemas.ConsentWithdrawn, Source: schemas.SourceChatKeyword,
			OccurredAt: m.Timestamp, Evidence: "wamid:" + m.ID}, "chat")
		if err != nil {
			return err
		}
		return outcome(one, 0, "consent")
	case inbound.IntentConfirm, inbound.IntentCancel:
		appt, ok, err := a.resolveAppointment(ctx, q, patients, idx, ref, m)
		if err != nil {
			return err
		}
		if !ok {
			return outcome(one, 0, "inbox")
		}
		status, action := schemas.StatusConfirmedByPatient, "confirmed"
		if intent == inbound.IntentCancel {
			status, action = schemas.StatusCancelRequested, "cancel_requested"
			if _, err := q.CancelPendingReminders(ctx, appt.ID); err != nil {
				return err
			}
		}
		if err := q.SetAppointmentStatus(ctx, appt.ID, status); err != nil {
			return err
		}
		wid, added, err := q.RecordWriteback(ctx, practice, appt.ID, action, rec.ID)
		if err != nil {
			return err
		}
		if added {
			if err := a.publishFrom(msg, TopicWritebackRequested, writebackRequested{WritebackID: wid, AppointmentID: appt.ID, Action: action, At: m.Timestamp}); err != nil {
				return err
			}
		}
		return outcome(appt.PatientID, appt.ID, "applied")
	default:
		// Reactions, free text, reschedule requests: a person decides.
		return outcome(one, 0, "inbox")
	}
}

// replyWindow is how far back a reply without a quote looks for the
// reminder it answers.
const replyWindow = 72 * time.Hour

// resolveAppointment finds the appointment a reply is about: the button
// payload's reference, else the quoted message, else the one reminder sent
// to that number within the reply window. Anything ambiguous (a family
// number with several upcoming appointments) goes to a person.
func (a *App) resolveAppointment(ctx context.Context, q *sqlite.Q, patients []int64, idx, ref string, m whatsapp.InboundMessage) (store.Appointment, bool, error) {
	belongs := func(appt store.Appointment) bool {
		for _, p := range patients {
			if p == appt.PatientID {
				return true
			}
		}
		return false
	}
	if len(ref) > 4 && ref[:4] == "apt-" {
		appt, err := q.AppointmentByExternalID(ctx, a.Cfg.Practice.ID, ref[4:])
		if err == nil && belongs(appt) {
			return appt, true, nil
		}
		if err != nil && err != store.ErrNotFound {
			return appt, false, err
		}
	}
	if m.ContextID != "" {
		d, err := q.DeliveryByProviderID(ctx, m.ContextID)
		if err == nil && d.AppointmentID != 0 {
			appt, err := q.Appointment(ctx, d.AppointmentID)
			if err == nil && belongs(appt) {
				return appt, true, nil
			}
		}
	}
	recent, err := q.DeliveriesTo(ctx, a.Cfg.Practice.ID, idx, m.Timestamp.Add(-replyWindow))
	if err != nil {
		return store.Appointment{}, false, err
	}
	seen := map[int64]bool{}
	var candidates []int64
	for _, d := range recent {
		if d.AppointmentID == 0 || d.SentAt.IsZero() || seen[d.AppointmentID] {
			continue
		}
		seen[d.AppointmentID] = true
		candidates = append(candidates, d.AppointmentID)
	}
	var upcoming []store.Appointment
	for _, id := range candidates {
		appt, err := q.Appointment(ctx, id)
		if err != nil {
			return appt, false, err
		}
		if appt.Start.After(m.Timestamp) && belongs(appt) {
			upcoming = append(upcoming, appt)
		}
	}
	if len(upcoming) != 1 {
		return store.Appointment{}, false, nil
	}
	return upcoming[0], true, nil
}
