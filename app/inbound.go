package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/sms"
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
	mux.HandleFunc("POST /webhooks/seven", a.serveSevenWebhook)
	a.registerAPI(mux)
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
	if err := whatsapp.Authenticate(r, body, whatsapp.AuthConfig{SharedSecretHeader: WebhookSecretHeader, SharedSecret: a.secret, SigningSecret: a.signing}); err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if _, err := whatsapp.ParseWebhook(body); err != nil {
		http.Error(w, "not a WhatsApp webhook body", http.StatusBadRequest)
		return
	}
	msg, err := a.sealedMessage(body)
	if err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	msg.Metadata.Set("provider", "360dialog")
	if err := a.pub.Publish(TopicWebhookReceived, msg); err != nil {
		a.Log.Error("webhook not queued", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// serveSevenWebhook does for seven.io what serveWhatsAppWebhook does for
// 360dialog; seven.io authenticates with a token in the hook URL.
func (a *App) serveSevenWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := sms.AuthenticateHook(r, a.smsHook); err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if _, err := sms.ParseHook(body, a.Cfg.Location()); err != nil {
		http.Error(w, "not a seven.io hook body", http.StatusBadRequest)
		return
	}
	msg, err := a.sealedMessage(body)
	if err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	msg.Metadata.Set("provider", "seven")
	if err := a.pub.Publish(TopicWebhookReceived, msg); err != nil {
		a.Log.Error("webhook not queued", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// incoming is a patient's message from either provider.
type incoming struct {
	Channel       schemas.Channel
	ID            string
	From          string // international digits without "+"
	At            time.Time
	Type          string
	Text          string
	ButtonPayload string
	ContextID     string
}

// sealedMessage wraps a webhook body for the bus, encrypted.
func (a *App) sealedMessage(body []byte) (*message.Message, error) {
	id := watermill.NewUUID()
	sealed, err := a.sealBody(TopicWebhookReceived, id, body)
	if err != nil {
		return nil, err
	}
	return message.NewMessage(id, sealed), nil
}

func (a *App) handleWebhook(msg *message.Message) error {
	body, err := a.openBody(TopicWebhookReceived, msg)
	if err != nil {
		a.Log.Error("webhook body cannot be opened; dropped", "err", err)
		return nil
	}
	if msg.Metadata.Get("provider") == "seven" {
		return a.handleSevenHook(msg, body)
	}
	n, err := whatsapp.ParseWebhook(body)
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
		code := ""
		if st.ErrorCode != 0 {
			code = fmt.Sprint(st.ErrorCode)
		}
		if err := a.applyStatus(ctx, msg, q, st.MessageID, st.Status, st.Timestamp, code, st.Err()); err != nil {
			return err
		}
	}
	for _, m := range n.Messages {
		in := incoming{Channel: schemas.ChannelWhatsApp, ID: m.ID, From: m.From, At: m.Timestamp, Type: m.Type, Text: m.Text,
			ButtonPayload: m.ButtonPayload, ContextID: m.ContextID}
		switch {
		case m.Type == "reaction":
			in.Text = m.ReactionEmoji
		case m.InteractiveReplyID != "":
			in.ButtonPayload, in.Text = m.InteractiveReplyID, m.InteractiveReplyTitle
		case m.ButtonPayload != "":
			in.Text = m.ButtonText
		}
		if err := a.applyMessage(ctx, msg, q, in); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) handleSevenHook(msg *message.Message, body []byte) error {
	h, err := sms.ParseHook(body, a.Cfg.Location())
	if err != nil {
		a.Log.Error("unreadable seven.io hook dropped", "err", err)
		return nil
	}
	q, _, err := a.handlerTx(msg)
	if err != nil {
		return err
	}
	ctx := msg.Context()
	if h.DLR != nil {
		status := ""
		switch h.DLR.State() {
		case sms.StateDelivered:
			status = store.DeliveryDelivered
		case sms.StateFailed:
			status = store.DeliveryFailed
		default:
			return nil // buffered, transmitted: more is to come
		}
		return a.applyStatus(ctx, msg, q, h.DLR.MessageID, status, h.DLR.At, h.DLR.Status, h.DLR.Err())
	}
	if h.Inbound != nil {
		return a.applyMessage(ctx, msg, q, incoming{Channel: schemas.ChannelSMS, ID: h.Inbound.ID, From: h.Inbound.Sender,
			At: h.Inbound.At, Type: "text", Text: h.Inbound.Text})
	}
	return nil
}

// applyStatus moves a delivery forward by a provider status. A permanent
// failure (WhatsApp 131026: not on WhatsApp) falls back to another
// consented channel, once however often the failure is reported.
func (a *App) applyStatus(ctx context.Context, msg *message.Message, q *sqlite.Q, providerID, status string, at time.Time, code string, failure error) error {
	d, err := q.DeliveryByProviderID(ctx, providerID)
	if err == store.ErrNotFound {
		a.Log.Warn("status for an unknown message", "status", status)
		return nil
	}
	if err != nil {
		return err
	}
	changed, err := q.ApplyStatus(ctx, d, status, at, code)
	if err != nil || !changed || status != store.DeliveryFailed {
		return err
	}
	if failure != nil && provider.KindOf(failure) == provider.Permanent {
		d.State = store.DeliveryFailed
		return a.fallback(msg, q, d, nil)
	}
	return nil
}

// applyMessage understands one patient message and acts on it.
func (a *App) applyMessage(ctx context.Context, msg *message.Message, q *sqlite.Q, m incoming) error {
	practice := a.Cfg.Practice.ID
	from, err := phone.ParseInternational(m.From)
	if err != nil {
		a.Log.Warn("message from an unreadable number dropped", "type", m.Type)
		return nil
	}
	idx := q.BlindIndex(from.E164)
	rec, inserted, err := q.InsertInbound(ctx, store.InboundMessage{PracticeID: practice, Channel: m.Channel, ProviderID: m.ID,
		FromIndex: idx, ReceivedAt: m.At, Type: m.Type, Body: m.Text})
	if err != nil || !inserted {
		return err // a webhook delivered twice is applied once
	}
	intent, ref := inbound.IntentNone, ""
	switch {
	case m.ButtonPayload != "":
		intent, ref = inbound.Payload(m.ButtonPayload)
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
		_, _, err := q.AppendConsent(ctx, practice, one, idx, schemas.ConsentEvent{Channel: m.Channel,
			Purposes: a.Cfg.TextPurposes(version), Action: schemas.ConsentGranted, Source: schemas.SourceQRCode,
			OccurredAt: m.At, TextVersion: version, Evidence: evidence(m) + ";code:" + a.Cfg.Practice.Code}, "chat")
		if err != nil {
			return err
		}
		if err := a.queueConfirmation(msg, q, m.Channel, from.E164, idx, one, "opt_in"); err != nil {
			return err
		}
		return outcome(one, 0, "consent")
	case inbound.IntentStop:
		// STOP on a channel withdraws that channel, for every purpose, for
		// the number and so for every patient who has it.
		_, _, err := q.AppendConsent(ctx, practice, one, idx, schemas.ConsentEvent{Channel: m.Channel,
			Purposes: schemas.Purposes, Action: schemas.ConsentWithdrawn, Source: schemas.SourceChatKeyword,
			OccurredAt: m.At, Evidence: evidence(m)}, "chat")
		if err != nil {
			return err
		}
		if _, err := q.CancelQueuedTo(ctx, practice, idx, m.Channel, "consent withdrawn by STOP"); err != nil {
			return err
		}
		if err := a.queueConfirmation(msg, q, m.Channel, from.E164, idx, one, "stop"); err != nil {
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
			if err := a.publishFrom(msg, TopicWritebackRequested, writebackRequested{WritebackID: wid, AppointmentID: appt.ID, Action: action, At: m.At}); err != nil {
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
func (a *App) resolveAppointment(ctx context.Context, q *sqlite.Q, patients []int64, idx, ref string, m incoming) (store.Appointment, bool, error) {
	belongs := func(appt store.Appointment) bool {
		for _, p := range patients {
			if p == appt.PatientID {
				return true
			}
		}
		return false
	}
	ref, deliveryRef, _ := strings.Cut(ref, "|d")
	if id, err := strconv.ParseInt(deliveryRef, 10, 64); err == nil {
		d, err := q.Delivery(ctx, id)
		if err == nil && d.AppointmentID != 0 {
			appt, err := q.Appointment(ctx, d.AppointmentID)
			if err == nil && belongs(appt) {
				return appt, true, nil
			}
		}
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
	recent, err := q.DeliveriesTo(ctx, a.Cfg.Practice.ID, idx, m.At.Add(-replyWindow))
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
		if appt.Start.After(m.At) && belongs(appt) {
			upcoming = append(upcoming, appt)
		}
	}
	if len(upcoming) != 1 {
		return store.Appointment{}, false, nil
	}
	return upcoming[0], true, nil
}

// evidence names the message a consent statement came in.
func evidence(m incoming) string {
	if m.Channel == schemas.ChannelSMS {
		return "seven:" + m.ID
	}
	return "wamid:" + m.ID
}

// queueConfirmation queues the answer to an opt-in or a STOP. The number
// is sealed into the delivery: it may belong to no patient yet.
func (a *App) queueConfirmation(msg *message.Message, q *sqlite.Q, ch schemas.Channel, e164, idx string, patientID int64, kind string) error {
	sealed, err := a.busKey.Seal([]byte(e164), []byte("deliveries|to|"+idx))
	if err != nil {
		return err
	}
	d, err := q.CreateDelivery(msg.Context(), store.Delivery{PracticeID: a.Cfg.Practice.ID, PatientID: patientID, Channel: ch,
		Purpose: schemas.PurposeConsentConfirmation, Template: kind, ToIndex: idx, ToSealed: sealed})
	if err != nil {
		return err
	}
	return a.publishFrom(msg, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
}
