package app

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/praxisbote/praxisbote/connectors/folder"
	"github.com/praxisbote/praxisbote/connectors/pmswriteback"
	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/pipelines/delivery"
	"github.com/praxisbote/praxisbote/pipelines/ingest"
	"github.com/praxisbote/praxisbote/pipelines/reminders"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// Start builds the router with its middleware and handlers and runs it
// until ctx ends or Close is called.
func (a *App) Start(ctx context.Context) error {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, a.wlog)
	if err != nil {
		return err
	}
	poison, err := middleware.PoisonQueue(a.pub, TopicPoison)
	if err != nil {
		return err
	}
	// PoisonQueue is added before Retry so that it wraps it: a message goes
	// to the poison topic only after its retry budget is spent.
	r.AddMiddleware(
		middleware.Recoverer,
		middleware.CorrelationID,
		poison,
		middleware.Retry{MaxRetries: 4, InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2, RandomizationFactor: 0.3, Logger: a.wlog}.Middleware,
	)
	r.AddConsumerHandler("reminders", TopicAppointmentChanged, a.sub, a.handleAppointmentChanged)
	r.AddConsumerHandler("delivery", TopicDeliveryRequested, a.sub, a.handleDeliveryRequested)
	r.AddConsumerHandler("inbound", TopicWebhookReceived, a.sub, a.handleWebhook)
	r.AddConsumerHandler("writeback", TopicWritebackRequested, a.sub, a.handleWriteback)
	r.AddConsumerHandler("dead-letters", TopicPoison, a.sub, a.handlePoison)
	a.router = r
	a.routerW.Add(1)
	go func() {
		defer a.routerW.Done()
		if err := r.Run(ctx); err != nil {
			a.Log.Error("router stopped", "err", err)
		}
	}()
	select {
	case <-r.Running():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// appointmentChanged is the event an import publishes per changed appointment.
type appointmentChanged struct {
	AppointmentID int64 `json:"appointment_id"`
	New           bool  `json:"new"`
	Moved         bool  `json:"moved"`
	// Booked: new in a later export of a source the store already knew,
	// so a booking made since, not one that existed before praxisbote.
	Booked bool `json:"booked"`
}

// FileReport is what one imported file did.
type FileReport struct {
	Batch     *schemas.Batch
	Result    ingest.Result
	SHA256    string
	Duplicate bool
}

// IngestFile maps and stores one file from the watched folder. Row-level
// problems are reported, not failed; a file-level problem is an error and
// the watcher moves the file to error/.
func (a *App) IngestFile(ctx context.Context, f folder.File) (folder.Outcome, error) {
	rep, err := a.Ingest(ctx, f.Name, f.Data)
	if err != nil {
		return folder.Outcome{}, err
	}
	if rep.Duplicate {
		return folder.Outcome{}, fmt.Errorf("%s: %w", f.Name, folder.ErrDuplicate)
	}
	report := Report(f.Name, rep.Batch)
	if rep.Result.SnapshotSkipped != "" {
		report += rep.Result.SnapshotSkipped + "\n"
	}
	if rep.Result.SnapshotCancelled > 0 {
		report += fmt.Sprintf("snapshot: %d appointments no longer listed were cancelled\n", rep.Result.SnapshotCancelled)
	}
	return folder.Outcome{Report: report}, nil
}

// Ingest maps and stores content; the same content twice is stored once.
func (a *App) Ingest(ctx context.Context, name string, data []byte) (FileReport, error) {
	sum := sha256.Sum256(data)
	rep := FileReport{SHA256: hex.EncodeToString(sum[:])}
	practice := a.Cfg.Practice.ID
	seen, err := a.Store.FileSeen(ctx, practice, rep.SHA256)
	if err != nil {
		return rep, err
	}
	if seen {
		rep.Duplicate = true
		return rep, nil
	}
	b, mapErr := a.Mapper.Map(data, name)
	if mapErr != nil {
		_ = a.Store.RecordFile(ctx, store.IngestFile{PracticeID: practice, SHA256: rep.SHA256, Name: name, Status: "failed", Error: mapErr.Error()})
		return rep, mapErr
	}
	rep.Batch = b
	err = a.Store.Tx(ctx, func(q *sqlite.Q, tx *sql.Tx) error {
		known, err := q.Count(ctx, "ingest_files", "practice_id = ? AND format = ? AND profile = ? AND status = 'imported'", practice, b.Format, b.Profile)
		if err != nil {
			return err
		}
		res, err := ingest.Apply(ctx, q, practice, a.Cfg.Practice.Source, b, rep.SHA256[:12]+":"+name, a.Cfg.Location())
		if err != nil {
			return err
		}
		rep.Result = res
		var events []any
		for _, ch := range res.Changes {
			events = append(events, appointmentChanged{AppointmentID: ch.ID, New: ch.New, Moved: ch.Moved, Booked: ch.New && known > 0})
		}
		if err := a.publishTx(tx, TopicAppointmentChanged, events...); err != nil {
			return err
		}
		var problems []store.FileProblem
		for _, g := range []struct {
			kind string
			list []schemas.Problem
		}{{"rejected", b.Rejected}, {"warning", b.Warnings}, {"skipped", b.Skipped}} {
			for _, p := range g.list {
				problems = append(problems, store.FileProblem{Kind: g.kind, Problem: p})
			}
		}
		return q.RecordFile(ctx, store.IngestFile{PracticeID: practice, SHA256: rep.SHA256, Name: name, Format: b.Format, Profile: b.Profile,
			Rows: b.Rows, Imported: b.Imported(), Rejected: len(b.Rejected), Problems: problems, Status: "imported"})
	})
	if err != nil {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	a.Log.Info("file imported", "file", name, "format", b.Format, "rows", b.Rows, "imported", b.Imported(), "rejected", len(b.Rejected))
	return rep, nil
}

// Report is the human-readable report of a mapped file.
func Report(name string, b *schemas.Batch) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: format %s", name, b.Format)
	if b.Profile != "" {
		fmt.Fprintf(&sb, ", profile %s", b.Profile)
	}
	fmt.Fprintf(&sb, ", %d rows, %d imported, %d rejected, %d skipped, %d warnings\n", b.Rows, b.Imported(), len(b.Rejected), len(b.Skipped), len(b.Warnings))
	for _, group := range []struct {
		title string
		list  []schemas.Problem
	}{{"rejected", b.Rejected}, {"skipped", b.Skipped}, {"warning", b.Warnings}} {
		for _, p := range group.list {
			fmt.Fprintf(&sb, "%s: %s\n", group.title, p)
		}
	}
	return sb.String()
}

// handleAppointmentChanged keeps an appointment's reminders in line with
// it: cancelled → pending reminders cancelled; moved → old ones cancelled,
// new ones planned; new → planned. The idempotency key makes a replayed
// event plan nothing twice.
func (a *App) handleAppointmentChanged(msg *message.Message) error {
	ev, q, err := decode[appointmentChanged](a, msg)
	if err != nil {
		return err
	}
	ctx := msg.Context()
	appt, err := q.Appointment(ctx, ev.AppointmentID)
	if err != nil {
		return err
	}
	if ok, _ := delivery.Eligible(appt, a.now()); !ok || ev.Moved {
		if _, err := q.CancelPendingReminders(ctx, appt.ID); err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
	kind, err := q.AppointmentKind(ctx, appt.ID)
	if err != nil {
		return err
	}
	rules := reminders.RulesFor(a.Cfg.Reminders.Rules, kind)
	plans, _ := reminders.PlanFor(rules, a.Cfg.Reminders.QuietHours, a.Cfg.Location(), appt.Start, appt.CreatedAt, a.now())
	for _, p := range plans {
		key := reminders.IdempotencyKey(appt.PracticeID, appt.ExternalID, p.RuleID, appt.Start)
		if _, err := q.ScheduleReminder(ctx, store.Reminder{PracticeID: appt.PracticeID, AppointmentID: appt.ID, RuleID: p.RuleID, DueAt: p.DueAt}, key); err != nil {
			return err
		}
	}
	event := ""
	switch {
	case ev.Moved && a.Cfg.Reminders.NotifyChanges:
		event = "moved"
	case ev.Booked && a.Cfg.Reminders.ConfirmNewBookings:
		event = "booked"
	}
	if event != "" {
		// Tell the patient once per start; the consent gate (purpose
		// appointment_change) runs when it is sent.
		tmpl, ok := a.Cfg.TemplateFor(schemas.PurposeAppointmentChange, event)
		if !ok {
			a.Log.Warn("no appointment_change template configured; change not announced", "event", event)
			return nil
		}
		p, err := q.Patient(ctx, appt.PatientID)
		if err != nil {
			return err
		}
		var idx string
		if m, ok := p.Mobile(); ok {
			idx = q.BlindIndex(m)
		}
		d, err := q.CreateDelivery(ctx, store.Delivery{PracticeID: appt.PracticeID, AppointmentID: appt.ID, PatientID: appt.PatientID,
			Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentChange, Template: tmpl.Name, ToIndex: idx,
			IdemKey: reminders.IdempotencyKey(appt.PracticeID, appt.ExternalID, "change", appt.Start)})
		if errors.Is(err, store.ErrExists) {
			return nil
		}
		if err != nil {
			return err
		}
		return a.publishFrom(msg, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
	}
	return nil
}

// deliveryRequested asks delivery to send one delivery.
type deliveryRequested struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Tick hands every due reminder to delivery: it claims the reminder,
// creates its delivery and publishes the request in one transaction.
func (a *App) Tick(ctx context.Context) (int, error) {
	due, err := a.Store.DueReminders(ctx, a.now(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		err := a.Store.Tx(ctx, func(q *sqlite.Q, tx *sql.Tx) error {
			ok, err := q.ClaimReminder(ctx, r.ID)
			if err != nil || !ok {
				return err
			}
			appt, err := q.Appointment(ctx, r.AppointmentID)
			if err != nil {
				return err
			}
			p, err := q.Patient(ctx, appt.PatientID)
			if err != nil {
				return err
			}
			var idx string
			if m, ok := p.Mobile(); ok {
				idx = q.BlindIndex(m)
			}
			d, err := q.CreateDelivery(ctx, store.Delivery{PracticeID: r.PracticeID, ReminderID: r.ID, AppointmentID: appt.ID, PatientID: appt.PatientID,
				Channel: schemas.ChannelWhatsApp, Purpose: a.rulePurpose(r.RuleID), ToIndex: idx})
			if err != nil {
				return err
			}
			n++
			return a.publishTx(tx, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
		})
		if err != nil {
			return n, fmt.Errorf("reminder %d: %w", r.ID, err)
		}
	}
	if wait := a.Cfg.Delivery.UndeliveredFallback; wait > 0 {
		m, err := a.fallbackUndelivered(ctx, a.now().Add(-wait))
		if err != nil {
			return n, err
		}
		n += m
	}
	retries, err := a.Store.DueRetries(ctx, a.now(), 500)
	if err != nil {
		return n, err
	}
	for _, id := range retries {
		err := a.Store.Tx(ctx, func(q *sqlite.Q, tx *sql.Tx) error {
			ok, err := q.ClaimRetry(ctx, id)
			if err != nil || !ok {
				return err
			}
			n++
			return a.publishTx(tx, TopicDeliveryRequested, deliveryRequested{DeliveryID: id})
		})
		if err != nil {
			return n, fmt.Errorf("retry of delivery %d: %w", id, err)
		}
	}
	return n, nil
}

// NextWork is when the scheduler next has something to do: the earliest
// due reminder or retry; zero when nothing waits.
func (a *App) NextWork(ctx context.Context) (time.Time, error) {
	r, err := a.Store.NextDue(ctx)
	if err != nil {
		return r, err
	}
	d, err := a.Store.NextRetry(ctx)
	if err != nil {
		return r, err
	}
	if r.IsZero() || (!d.IsZero() && d.Before(r)) {
		return d, nil
	}
	return r, nil
}

// handleDeliveryRequested runs the consent gate at send time, picks the
// channel and sends. A transient provider error parks the delivery for a
// retry (see sendFailed); an error of our own (database) is returned, so
// the Retry middleware and then the poison queue deal with it.
func (a *App) handleDeliveryRequested(msg *message.Message) error {
	var ev deliveryRequested
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return fmt.Errorf("delivery event: %w", err)
	}
	ctx := msg.Context()
	// The message's own transaction takes SQLite's one write lock at its
	// first statement and keeps it until the ack, so it must not be open
	// while a provider answers. The plan is made from reads on the shared
	// database; the "sending" mark is committed there before the send; the
	// outcome is written through the message's transaction, with the ack.
	d, err := a.Store.Delivery(ctx, ev.DeliveryID)
	if err != nil {
		return err
	}
	if d.ProviderMessageID != "" || (d.State != store.DeliveryScheduled && d.State != store.DeliverySending) {
		return nil // already sent or ended: never send twice
	}
	plan, err := a.planSend(ctx, d)
	if err != nil {
		return err
	}
	if plan.send == nil {
		q, _, err := a.handlerTx(msg)
		if err != nil {
			return err
		}
		if !plan.retryAt.IsZero() {
			return q.ScheduleRetry(ctx, d.ID, plan.retryAt, plan.reason, d.ProviderCode)
		}
		if err := q.MarkEnded(ctx, d.ID, plan.state, plan.reason, ""); err != nil {
			return err
		}
		return a.reminderDone(ctx, q, d)
	}
	if ok, err := a.Store.MarkSending(ctx, d.ID, plan.channel); err != nil || !ok {
		return err
	}
	d.Channel = plan.channel
	now := a.now()
	a.limiter(plan.channel).Wait()
	id, sendErr := plan.send(ctx)
	q, _, err := a.handlerTx(msg)
	if err != nil {
		return err
	}
	if sendErr != nil {
		return a.sendFailed(msg, q, d, d.Attempts+1, now, sendErr, plan.history)
	}
	if err := q.MarkSent(ctx, d.ID, id); err != nil {
		return err
	}
	return a.reminderDone(ctx, q, d)
}

// sendPlan is what to do with one delivery: end it (state, reason), park
// it (retryAt, reason), or send it (channel, send).
type sendPlan struct {
	state   string
	reason  string
	retryAt time.Time
	channel schemas.Channel
	send    func(context.Context) (string, error)
	history []store.ConsentRecord
}

func ended(state, reason string) (sendPlan, error) {
	return sendPlan{state: state, reason: reason}, nil
}

// planSend applies policy at send time, reading only: purpose limitation,
// the appointment still ahead, consent per channel, pauses and spacing.
func (a *App) planSend(ctx context.Context, d store.Delivery) (sendPlan, error) {
	if d.State == store.DeliverySending {
		// An earlier attempt stopped between marking and recording the send
		// (crash, lost database): the provider may have the message.
		// Sending again could send twice; a person decides.
		return ended(store.DeliveryDead, "interrupted while sending: it may have reached the patient; check before replaying")
	}
	if _, err := schemas.ParsePurpose(string(d.Purpose)); err != nil {
		// Purpose limitation at send time too: whatever put this row here,
		// nothing outside the closed list goes out.
		return ended(store.DeliveryFailed, err.Error())
	}
	now := a.now()
	if d.Purpose == schemas.PurposeConsentConfirmation {
		return a.planConfirmation(d, now)
	}
	appt, err := a.Store.Appointment(ctx, d.AppointmentID)
	if err != nil {
		return sendPlan{}, err
	}
	if ok, why := delivery.Eligible(appt, now); !ok {
		return ended(store.DeliveryCancelled, why)
	}
	if d.ReplayCount > 0 {
		// A replayed reminder that a later one about the same appointment
		// has overtaken would only repeat it.
		later, err := a.Store.ReachedSince(ctx, d.ID, d.AppointmentID, d.Purpose, d.CreatedAt)
		if err != nil {
			return sendPlan{}, err
		}
		if later {
			return ended(store.DeliveryCancelled, "superseded: a later message about this appointment reached the patient")
		}
	}
	p, err := a.Store.Patient(ctx, d.PatientID)
	if err != nil {
		return sendPlan{}, err
	}
	mobile, ok := p.Mobile()
	if !ok {
		return ended(store.DeliveryCancelled, "patient has no mobile number")
	}
	history, err := a.Store.ConsentHistory(ctx, p.ID)
	if err != nil {
		return sendPlan{}, err
	}
	ch := d.Channel
	if d.FallbackOf == 0 {
		var ok bool
		if ch, ok = delivery.Choose(history, p.PreferredChannel, d.Purpose, a.channels()); !ok {
			return ended(store.DeliverySkippedNoConsent, fmt.Sprintf("no granted consent for %s on any channel", d.Purpose))
		}
	} else if !delivery.Decide(history, ch, d.Purpose).Granted {
		return ended(store.DeliverySkippedNoConsent, fmt.Sprintf("no granted %s consent for %s", ch, d.Purpose))
	}
	tmpl, ok := a.Cfg.Template(d.Purpose, d.Template)
	if !ok {
		return ended(store.DeliveryFailed, "no template configured for purpose "+string(d.Purpose))
	}
	if until := a.pausedUntil(ch); until.After(now) {
		return sendPlan{retryAt: until, reason: "channel " + string(ch) + " paused after a channel-wide error"}, nil
	}
	if spacing := a.Cfg.Delivery.RecipientSpacing; spacing > 0 {
		last, err := a.Store.LastSentTo(ctx, d.PracticeID, d.ToIndex, ch)
		if err != nil {
			return sendPlan{}, err
		}
		if !last.IsZero() && now.Sub(last) < spacing {
			return sendPlan{retryAt: last.Add(spacing), reason: "spacing messages to the same number"}, nil
		}
	}
	start := appt.Start.In(a.Cfg.Location())
	// Date, time and practice only: the kind of treatment is clinical
	// detail and never goes into a message.
	date, clock := germanDate(start), start.Format("15:04")
	plan := sendPlan{channel: ch, history: history}
	switch ch {
	case schemas.ChannelSMS:
		plan.send = func(ctx context.Context) (string, error) {
			return a.sms.Send(ctx, sms.SMS{To: mobile, Text: renderSMS(tmpl.SMSText, a.Cfg.Practice.Name, date, clock), ForeignID: fmt.Sprint(d.ID)})
		}
	default:
		plan.send = func(ctx context.Context) (string, error) {
			return a.wa.SendTemplate(ctx, whatsapp.Template{To: mobile, Name: tmpl.Name, Language: tmpl.Language,
				BodyParams: []string{a.Cfg.Practice.Name, date, clock},
				// The payloads name the appointment and our delivery, so a
				// button answer needs no guessing.
				QuickReplyPayloads: []string{payload("CONFIRM", appt.ExternalID, d.ID), payload("CANCEL", appt.ExternalID, d.ID)}})
		}
	}
	return plan, nil
}

// sendFailed decides what a failed send leads to: a parked retry
// (transient), a paused channel (channel-wide), a fallback to another
// consented channel (permanent), or a dead letter when the budget is spent.
func (a *App) sendFailed(msg *message.Message, q *sqlite.Q, d store.Delivery, attempts int, now time.Time, err error, history []store.ConsentRecord) error {
	ctx := msg.Context()
	var perr *provider.Error
	code := ""
	if errors.As(err, &perr) {
		code = perr.Code
		if code == "" && perr.HTTPStatus != 0 {
			code = fmt.Sprint(perr.HTTPStatus)
		}
	}
	switch provider.KindOf(err) {
	case provider.Transient:
		next, ok := a.Cfg.Delivery.Retry.Next(attempts, now, provider.RetryAfterOf(err), a.jitter)
		if !ok {
			if err := q.MarkEnded(ctx, d.ID, store.DeliveryDead, fmt.Sprintf("gave up after %d attempts: %v", attempts, err), code); err != nil {
				return err
			}
			return a.reminderDone(ctx, q, d)
		}
		a.Log.Warn("send failed, retry scheduled", "delivery", d.ID, "channel", d.Channel, "attempt", attempts, "retry_at", next, "err", err)
		return q.ScheduleRetry(ctx, d.ID, next, err.Error(), code)
	case provider.ChannelWide:
		// A bad key, a paused template or no credit fails every message
		// alike: rest the channel instead of burning the queue.
		until := now.Add(a.Cfg.Delivery.ChannelPause)
		a.pause(d.Channel, until)
		a.Log.Error("ALERT: channel paused after a channel-wide provider error", "channel", d.Channel, "until", until, "err", err)
		return q.ScheduleRetry(ctx, d.ID, until, err.Error(), code)
	}
	if err := q.MarkEnded(ctx, d.ID, store.DeliveryFailed, err.Error(), code); err != nil {
		return err
	}
	d.State = store.DeliveryFailed
	if provider.KindOf(err) == provider.Permanent && d.AppointmentID != 0 {
		return a.fallback(msg, q, d, history)
	}
	return a.reminderDone(ctx, q, d)
}

// replyWindowService is WhatsApp's customer service window: free text is
// allowed only this long after the patient's own message.
const replyWindowService = 24 * time.Hour

// planConfirmation answers an opt-in or a STOP on the channel it came
// from, as free text inside the window the patient's message opened.
func (a *App) planConfirmation(d store.Delivery, now time.Time) (sendPlan, error) {
	if now.Sub(d.CreatedAt) > replyWindowService {
		return ended(store.DeliveryCancelled, "outside the 24-hour reply window")
	}
	number, err := a.busKey.Open(d.ToSealed, []byte("deliveries|to|"+d.ToIndex))
	if err != nil {
		return ended(store.DeliveryFailed, "recipient cannot be opened: "+err.Error())
	}
	text := a.Cfg.Consent.OptInReply
	if d.Template == "stop" {
		text = a.Cfg.Consent.StopReply
	}
	text = strings.NewReplacer("{{practice}}", a.Cfg.Practice.Name, "{{code}}", a.Cfg.Practice.Code).Replace(text)
	if until := a.pausedUntil(d.Channel); until.After(now) {
		return sendPlan{retryAt: until, reason: "channel " + string(d.Channel) + " paused"}, nil
	}
	plan := sendPlan{channel: d.Channel}
	switch {
	case d.Channel == schemas.ChannelSMS && a.sms != nil:
		plan.send = func(ctx context.Context) (string, error) {
			return a.sms.Send(ctx, sms.SMS{To: string(number), Text: text, ForeignID: fmt.Sprint(d.ID)})
		}
	case d.Channel == schemas.ChannelWhatsApp && a.wa != nil:
		plan.send = func(ctx context.Context) (string, error) { return a.wa.SendText(ctx, string(number), text) }
	default:
		return ended(store.DeliveryFailed, "channel "+string(d.Channel)+" is not configured")
	}
	return plan, nil
}

func (a *App) reminderDone(ctx context.Context, q *sqlite.Q, d store.Delivery) error {
	if d.ReminderID == 0 {
		return nil
	}
	return q.SetReminderState(ctx, d.ReminderID, store.ReminderDone)
}

// channels lists the channels this installation can send on.
func (a *App) channels() []schemas.Channel {
	var out []schemas.Channel
	if a.wa != nil {
		out = append(out, schemas.ChannelWhatsApp)
	}
	if a.sms != nil {
		out = append(out, schemas.ChannelSMS)
	}
	return out
}

// fallbackUndelivered tries the other channel for WhatsApp messages that
// stayed undelivered too long (a phone that is off, a number that lost
// WhatsApp): only with consent, only while the appointment is ahead.
func (a *App) fallbackUndelivered(ctx context.Context, sentBefore time.Time) (int, error) {
	list, err := a.Store.Undelivered(ctx, a.Cfg.Practice.ID, schemas.ChannelWhatsApp, sentBefore)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, old := range list {
		err := a.Store.Tx(ctx, func(q *sqlite.Q, tx *sql.Tx) error {
			appt, err := q.Appointment(ctx, old.AppointmentID)
			if err != nil {
				return err
			}
			if ok, _ := delivery.Eligible(appt, a.now()); !ok {
				return nil
			}
			history, err := q.ConsentHistory(ctx, old.PatientID)
			if err != nil {
				return err
			}
			ch, ok := delivery.Fallback(history, old.Channel, old.Purpose, a.channels())
			if !ok {
				return nil
			}
			d, err := q.CreateDelivery(ctx, store.Delivery{PracticeID: old.PracticeID, ReminderID: old.ReminderID, FallbackOf: old.ID,
				AppointmentID: old.AppointmentID, PatientID: old.PatientID, Channel: ch, Purpose: old.Purpose, ToIndex: old.ToIndex,
				Reason: "fallback: WhatsApp message not delivered in time"})
			if errors.Is(err, store.ErrExists) {
				return nil
			}
			if err != nil {
				return err
			}
			n++
			return a.publishTx(tx, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// fallback creates, at most once per failed delivery, a delivery of the
// same message on another channel the patient consented to.
func (a *App) fallback(msg *message.Message, q *sqlite.Q, failed store.Delivery, history []store.ConsentRecord) error {
	ctx := msg.Context()
	if failed.FallbackOf != 0 {
		return a.reminderDone(ctx, q, failed)
	}
	if history == nil {
		var err error
		if history, err = q.ConsentHistory(ctx, failed.PatientID); err != nil {
			return err
		}
	}
	ch, ok := delivery.Fallback(history, failed.Channel, failed.Purpose, a.channels())
	if !ok {
		return a.reminderDone(ctx, q, failed)
	}
	d, err := q.CreateDelivery(ctx, store.Delivery{PracticeID: failed.PracticeID, ReminderID: failed.ReminderID, FallbackOf: failed.ID,
		AppointmentID: failed.AppointmentID, PatientID: failed.PatientID, Channel: ch, Purpose: failed.Purpose, ToIndex: failed.ToIndex})
	if errors.Is(err, store.ErrExists) {
		return nil // the same failure reported twice: one fallback
	}
	if err != nil {
		return err
	}
	return a.publishFrom(msg, TopicDeliveryRequested, deliveryRequested{DeliveryID: d.ID})
}

// renderSMS fills an SMS template's placeholders.
func renderSMS(text, practice, date, clock string) string {
	return strings.NewReplacer("{{practice}}", practice, "{{date}}", date, "{{time}}", clock).Replace(text)
}

var weekdays = [...]string{"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."}

func germanDate(t time.Time) string {
	return weekdays[t.Weekday()] + " " + t.Format("02.01.2006")
}

// handlePoison marks a delivery whose retry budget is spent as dead; the
// message itself stays in the poison topic for inspection and replay.
func (a *App) handlePoison(msg *message.Message) error {
	if msg.Metadata.Get(middleware.PoisonedTopicKey) != TopicDeliveryRequested {
		a.Log.Error("message gave up", "topic", msg.Metadata.Get(middleware.PoisonedTopicKey), "reason", msg.Metadata.Get(middleware.ReasonForPoisonedKey))
		return nil
	}
	var ev deliveryRequested
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return nil
	}
	q, _, err := a.handlerTx(msg)
	if err != nil {
		return err
	}
	ctx := msg.Context()
	d, err := q.Delivery(ctx, ev.DeliveryID)
	if err != nil {
		return err
	}
	if d.ProviderMessageID != "" {
		return nil
	}
	if err := q.MarkEnded(ctx, d.ID, store.DeliveryDead, "retries exhausted: "+msg.Metadata.Get(middleware.ReasonForPoisonedKey), ""); err != nil {
		return err
	}
	return q.SetReminderState(ctx, d.ReminderID, store.ReminderDone)
}

// writebackRequested asks for one answer file for the PMS.
type writebackRequested struct {
	WritebackID   int64     `json:"writeback_id"`
	AppointmentID int64     `json:"appointment_id"`
	Action        string    `json:"action"`
	At            time.Time `json:"at"`
}

func (a *App) handleWriteback(msg *message.Message) error {
	ev, q, err := decode[writebackRequested](a, msg)
	if err != nil {
		return err
	}
	ctx := msg.Context()
	appt, err := q.Appointment(ctx, ev.AppointmentID)
	if err != nil {
		return err
	}
	answer := pmswriteback.Answer{PracticeID: a.Cfg.Practice.ID, PatientID: appt.PatientExt, AppointmentID: appt.ExternalID, Action: ev.Action, At: ev.At}
	var name string
	if a.Cfg.Writeback.Format == "gdt" {
		name, err = pmswriteback.WriteGDT(a.Dirs.Writeback, answer, a.Cfg.Location(), ev.WritebackID, a.Cfg.Writeback.GDTSender, a.Cfg.Writeback.GDTReceiver)
	} else {
		name, err = pmswriteback.WriteCSV(a.Dirs.Writeback, answer, a.Cfg.Location(), ev.WritebackID)
	}
	if err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return nil // written before a crash, event delivered again
		}
		return err
	}
	return q.SetWritebackFile(ctx, ev.WritebackID, name)
}

// Watcher watches the inbox on the real clock (file ages are real even
// when the demo simulates the calendar).
func (a *App) Watcher(stableFor, rescan time.Duration) (*folder.Watcher, error) {
	return folder.New(folder.Config{Inbox: a.Dirs.Inbox, Archive: a.Dirs.Archive, Error: a.Dirs.Error,
		StableFor: stableFor, Rescan: rescan, Now: time.Now, Logger: a.Log, Seal: a.SealFile}, a.IngestFile)
}

// rulePurpose is the purpose of a reminder rule's messages.
func (a *App) rulePurpose(ruleID string) schemas.Purpose {
	for _, r := range a.Cfg.Reminders.Rules {
		if r.ID == ruleID && r.Purpose != "" {
			return schemas.Purpose(r.Purpose)
		}
	}
	return schemas.PurposeAppointmentReminder
}

// decode reads a handler's event and opens the store inside the
// transaction the subscriber holds for the message.
func decode[T any](a *App, msg *message.Message) (T, *sqlite.Q, error) {
	var ev T
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return ev, nil, fmt.Errorf("%T event: %w", ev, err)
	}
	q, _, err := a.handlerTx(msg)
	return ev, q, err
}

// payload is a quick-reply button payload: "CONFIRM:apt-<appointment
// id>|d<delivery id>".
func payload(verb, appointmentID string, deliveryID int64) string {
	return fmt.Sprintf("%s:apt-%s|d%d", verb, appointmentID, deliveryID)
}
