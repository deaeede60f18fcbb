package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
)

// ScheduleReminder inserts a reminder unless its idempotency key exists;
// a re-import of the same export therefore schedules nothing twice.
func (q *Q) ScheduleReminder(ctx context.Context, r store.Reminder, idemKey string) (bool, error) {
	now := ts(q.now())
	res, err := q.x.ExecContext(ctx, `INSERT INTO reminders(practice_id, appointment_id, rule_id, due_at, idem_key, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
		r.PracticeID, r.AppointmentID, r.RuleID, ts(r.DueAt), idemKey, now, now)
	if err != nil {
		return false, fmt.Errorf("schedule reminder: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CancelPendingReminders cancels what has not been handed to delivery yet.
func (q *Q) CancelPendingReminders(ctx context.Context, appointmentID int64) (int, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', updated_at = ? WHERE appointment_id = ? AND state = 'pending'`,
		ts(q.now()), appointmentID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const reminderCols = `id, practice_id, appointment_id, rule_id, due_at, state`

func scanReminders(rows *sql.Rows) ([]store.Reminder, error) {
	defer rows.Close()
	var out []store.Reminder
	for rows.Next() {
		var r store.Reminder
		var due string
		if err := rows.Scan(&r.ID, &r.PracticeID, &r.AppointmentID, &r.RuleID, &due, &r.State); err != nil {
			return nil, err
		}
		r.DueAt = parseTS(due)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DueReminders lists pending reminders due at or before now.
func (q *Q) DueReminders(ctx context.Context, now time.Time, limit int) ([]store.Reminder, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, err
	}
	return scanReminders(rows)
}

// Reminders lists every reminder of a practice in due order.
func (q *Q) Reminders(ctx context.Context, practice string) ([]store.Reminder, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders WHERE practice_id = ? ORDER BY due_at, id`, practice)
	if err != nil {
		return nil, err
	}
	return scanReminders(rows)
}

// NextDue is the earliest due time of a pending reminder, zero if none.
func (q *Q) NextDue(ctx context.Context) (time.Time, error) {
	var due sql.NullString
	err := q.x.QueryRowContext(ctx, `SELECT MIN(due_at) FROM reminders WHERE state = 'pending'`).Scan(&due)
	if err != nil || !due.Valid {
		return time.Time{}, err
	}
	return parseTS(due.String), nil
}

// ClaimReminder moves a pending reminder to queued; false when another
// scheduler got it first or it was cancelled meanwhile.
func (q *Q) ClaimReminder(ctx context.Context, id int64) (bool, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE reminders SET state = 'queued', updated_at = ? WHERE id = ? AND state = 'pending'`, ts(q.now()), id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetReminderState records the outcome of a reminder.
func (q *Q) SetReminderState(ctx context.Context, id int64, state string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE reminders SET state = ?, updated_at = ? WHERE id = ?`, state, ts(q.now()), id)
	return err
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// CreateDelivery stores a new delivery; a reminder has at most one.
func (q *Q) CreateDelivery(ctx context.Context, d store.Delivery) (store.Delivery, error) {
	now := q.now()
	d.CreatedAt, d.UpdatedAt = now, now
	if d.State == "" {
		d.State = store.DeliveryScheduled
	}
	var idem any
	if d.IdemKey != "" {
		idem = d.IdemKey
	}
	res, err := q.x.ExecContext(ctx, `INSERT INTO deliveries(practice_id, reminder_id, fallback_of, idem_key, appointment_id, patient_id, channel, purpose, template, to_index, to_sealed, state, reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, d.PracticeID, nullInt(d.ReminderID), nullInt(d.FallbackOf), idem, nullInt(d.AppointmentID), nullInt(d.PatientID),
		string(d.Channel), string(d.Purpose), d.Template, d.ToIndex, d.ToSealed, d.State, d.Reason, ts(now), ts(now))
	if err != nil {
		return d, fmt.Errorf("create delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return d, store.ErrExists
	}
	d.ID, _ = res.LastInsertId()
	return d, nil
}

const deliveryCols = `id, practice_id, COALESCE(reminder_id, 0), COALESCE(fallback_of, 0), COALESCE(appointment_id, 0), COALESCE(patient_id, 0), channel, purpose, template, to_index, to_sealed, state, reason,
	attempts, provider_code, COALESCE(provider_message_id, ''), replay_count, created_at, updated_at, sent_at, delivered_at, read_at`

func scanDelivery(sc interface{ Scan(...any) error }) (store.Delivery, error) {
	var d store.Delivery
	var ch, purpose, created, updated, sent, delivered, read string
	err := sc.Scan(&d.ID, &d.PracticeID, &d.ReminderID, &d.FallbackOf, &d.AppointmentID, &d.PatientID, &ch, &purpose, &d.Template, &d.ToIndex, &d.ToSealed, &d.State, &d.Reason,
		&d.Attempts, &d.ProviderCode, &d.ProviderMessageID, &d.ReplayCount, &created, &updated, &sent, &delivered, &read)
	d.Channel = schemas.Channel(ch)
	d.Purpose = schemas.Purpose(purpose)
	d.CreatedAt, d.UpdatedAt, d.SentAt, d.DeliveredAt, d.ReadAt = parseTS(created), parseTS(updated), parseTS(sent), parseTS(delivered), parseTS(read)
	return d, err
}

// Delivery reads one delivery.
func (q *Q) Delivery(ctx context.Context, id int64) (store.Delivery, error) {
	d, err := scanDelivery(q.x.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	return d, err
}

// DeliveryByProviderID finds the delivery a provider status refers to.
func (q *Q) DeliveryByProviderID(ctx context.Context, providerID string) (store.Delivery, error) {
	d, err := scanDelivery(q.x.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE provider_message_id = ?`, providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	return d, err
}

// DeliveryFilter selects deliveries for listing.
type DeliveryFilter struct {
	PracticeID string
	States     []string
	ToIndex    string
	SentSince  time.Time
}

// Deliveries lists deliveries, newest first.
func (q *Q) Deliveries(ctx context.Context, f DeliveryFilter) ([]store.Delivery, error) {
	var where []string
	var args []any
	if f.PracticeID != "" {
		where = append(where, "practice_id = ?")
		args = append(args, f.PracticeID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",")+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.ToIndex != "" {
		where = append(where, "to_index = ?")
		args = append(args, f.ToIndex)
	}
	if !f.SentSince.IsZero() {
		where = append(where, "sent_at >= ?")
		args = append(args, ts(f.SentSince))
	}
	query := `SELECT ` + deliveryCols + ` FROM deliveries`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	rows, err := q.x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MarkSending counts an attempt on the channel chosen for it. Only a
// scheduled delivery without a provider message id can be marked, so that
// nothing the provider accepted is sent twice, and a delivery left in
// "sending" by an interrupted attempt is noticed, not sent again.
func (q *Q) MarkSending(ctx context.Context, id int64, ch schemas.Channel) (bool, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = 'sending', channel = ?, attempts = attempts + 1, updated_at = ?
		WHERE id = ? AND provider_message_id IS NULL AND state = 'scheduled'`, string(ch), ts(q.now()), id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MarkSent stores the provider's message id of an accepted send.
func (q *Q) MarkSent(ctx context.Context, id int64, providerID string) error {
	now := ts(q.now())
	_, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = 'sent', provider_message_id = ?, sent_at = ?, updated_at = ?, reason = '', provider_code = '' WHERE id = ?`,
		providerID, now, now, id)
	return err
}

// MarkEnded puts a delivery into an end state beside the line (failed,
// dead, skipped_no_consent, cancelled) with a reason.
func (q *Q) MarkEnded(ctx context.Context, id int64, state, reason, code string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = ?, reason = ?, provider_code = CASE WHEN ? = '' THEN provider_code ELSE ? END, updated_at = ? WHERE id = ?`,
		state, reason, code, code, ts(q.now()), id)
	return err
}

// MarkError records a failed attempt that will be retried.
func (q *Q) MarkError(ctx context.Context, id int64, reason, code string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE deliveries SET reason = ?, provider_code = ?, updated_at = ? WHERE id = ?`, reason, code, ts(q.now()), id)
	return err
}

var statusRank = map[string]int{
	store.DeliveryScheduled: 0, store.DeliverySending: 1, store.DeliverySent: 2, store.DeliveryDelivered: 3, store.DeliveryRead: 4,
}

// ApplyStatus applies a provider status to a delivery. States only move
// forward: a late "delivered" after "read" is kept in history and changes
// nothing, and "failed" after "delivered" is recorded but not regressed.
// The same status event twice is applied once. It reports whether the
// delivery's state changed.
func (q *Q) ApplyStatus(ctx context.Context, d store.Delivery, status string, at time.Time, code string) (bool, error) {
	dedupe := fmt.Sprintf("%d|%s|%s|%s", d.ID, status, ts(at), code)
	var seen int
	if err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM delivery_events WHERE dedupe_key = ?`, dedupe).Scan(&seen); err != nil {
		return false, err
	}
	if seen > 0 {
		return false, nil
	}
	apply := false
	switch status {
	case store.DeliveryFailed:
		apply = statusRank[d.State] < statusRank[store.DeliveryDelivered] && d.State != store.DeliveryFailed
	default:
		cur, ok := statusRank[d.State]
		next, known := statusRank[status]
		apply = known && ok && next > cur
	}
	if _, err := q.x.ExecContext(ctx, `INSERT INTO delivery_events(delivery_id, status, at, code, applied, dedupe_key) VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, status, ts(at), code, apply, dedupe); err != nil {
		return false, err
	}
	// The time of each step is a fact even when it arrives late: a
	// "delivered" after "read" does not move the state but fills
	// delivered_at.
	if col := map[string]string{store.DeliverySent: "sent_at", store.DeliveryDelivered: "delivered_at", store.DeliveryRead: "read_at"}[status]; col != "" {
		if _, err := q.x.ExecContext(ctx, `UPDATE deliveries SET `+col+` = ? WHERE id = ? AND `+col+` = ''`, ts(at), d.ID); err != nil {
			return false, err
		}
	}
	if !apply {
		return false, nil
	}
	_, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = ?, provider_code = CASE WHEN ? = '' THEN provider_code ELSE ? END, updated_at = ? WHERE id = ?`,
		status, code, code, ts(q.now()), d.ID)
	return err == nil, err
}

// DeliveriesTo lists deliveries to a number sent since a time, newest
// first, for replies that quote nothing.
func (q *Q) DeliveriesTo(ctx context.Context, practice, toIndex string, since time.Time) ([]store.Delivery, error) {
	return q.Deliveries(ctx, DeliveryFilter{PracticeID: practice, ToIndex: toIndex, SentSince: since})
}

// InsertInbound stores a patient's message once per provider id; false
// when it was already there (a webhook delivered twice).
func (q *Q) InsertInbound(ctx context.Context, m store.InboundMessage) (store.InboundMessage, bool, error) {
	var body, bodyKey []byte
	if m.Body != "" {
		dk, wrapped, err := q.kr.NewDataKey()
		if err != nil {
			return m, false, err
		}
		body, err = dk.SealString(m.Body, "inbound_messages|body|"+string(m.Channel)+"|"+m.ProviderID)
		if err != nil {
			return m, false, err
		}
		bodyKey = wrapped
	}
	res, err := q.x.ExecContext(ctx, `INSERT INTO inbound_messages(practice_id, channel, provider_id, from_index, received_at, type, body, body_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, provider_id) DO NOTHING`,
		m.PracticeID, string(m.Channel), m.ProviderID, m.FromIndex, ts(m.ReceivedAt), m.Type, body, bodyKey, ts(q.now()))
	if err != nil {
		return m, false, fmt.Errorf("insert inbound: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return m, false, nil
	}
	m.ID, _ = res.LastInsertId()
	return m, true, nil
}

// SetInboundOutcome records what a message was understood as.
func (q *Q) SetInboundOutcome(ctx context.Context, id int64, intent string, patientID, appointmentID int64, handled string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE inbound_messages SET intent = ?, patient_id = ?, appointment_id = ?, handled = ? WHERE id = ?`,
		intent, nullInt(patientID), nullInt(appointmentID), handled, id)
	return err
}

// Inbox lists messages that staff must look at.
func (q *Q) Inbox(ctx context.Context, practice string) ([]store.InboundMessage, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT id, practice_id, channel, provider_id, from_index, received_at, type, body, body_key, intent,
		COALESCE(patient_id, 0), COALESCE(appointment_id, 0), handled FROM inbound_messages WHERE practice_id = ? AND handled = 'inbox' ORDER BY received_at, id`, practice)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.InboundMessage
	for rows.Next() {
		var m store.InboundMessage
		var ch, recv string
		var body, bodyKey []byte
		if err := rows.Scan(&m.ID, &m.PracticeID, &ch, &m.ProviderID, &m.FromIndex, &recv, &m.Type, &body, &bodyKey, &m.Intent, &m.PatientID, &m.AppointmentID, &m.Handled); err != nil {
			return nil, err
		}
		m.Channel = schemas.Channel(ch)
		m.ReceivedAt = parseTS(recv)
		if body != nil {
			dk, err := q.kr.Unwrap(bodyKey)
			if err != nil {
				return nil, err
			}
			if m.Body, err = dk.OpenString(body, "inbound_messages|body|"+ch+"|"+m.ProviderID); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// CountInbound counts messages by how they were handled.
func (q *Q) CountInbound(ctx context.Context, practice string) (map[string]int, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT intent, count(*) FROM inbound_messages WHERE practice_id = ? GROUP BY intent`, practice)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// RecordWriteback notes that an answer was written for the PMS; false when
// this message's answer for this appointment was already written.
func (q *Q) RecordWriteback(ctx context.Context, practice string, appointmentID int64, action string, inboundID int64) (int64, bool, error) {
	res, err := q.x.ExecContext(ctx, `INSERT INTO writebacks(practice_id, appointment_id, action, inbound_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (appointment_id, action, inbound_id) DO NOTHING`, practice, appointmentID, action, inboundID, ts(q.now()))
	if err != nil {
		return 0, false, err
	}
	n, _ := res.RowsAffected()
	id, _ := res.LastInsertId()
	return id, n > 0, nil
}

// SetWritebackFile records the file an answer was written to.
func (q *Q) SetWritebackFile(ctx context.Context, id int64, file string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE writebacks SET file = ? WHERE id = ?`, file, id)
	return err
}

// FileSeen tells whether content with this hash was already imported.
func (q *Q) FileSeen(ctx context.Context, practice, sha string) (bool, error) {
	var n int
	err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM ingest_files WHERE practice_id = ? AND sha256 = ? AND status = 'imported'`, practice, sha).Scan(&n)
	return n > 0, err
}

// RecordFile writes one line of the ingest log. A failed file may be
// replaced by a later successful import of the same content.
func (q *Q) RecordFile(ctx context.Context, f store.IngestFile) error {
	problems, err := json.Marshal(f.Problems)
	if err != nil {
		return err
	}
	if f.ProcessedAt.IsZero() {
		f.ProcessedAt = q.now()
	}
	_, err = q.x.ExecContext(ctx, `INSERT INTO ingest_files(practice_id, sha256, name, format, profile, rows, imported, rejected, problems, status, error, processed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (practice_id, sha256) DO UPDATE SET name = excluded.name, format = excluded.format, profile = excluded.profile, rows = excluded.rows,
		imported = excluded.imported, rejected = excluded.rejected, problems = excluded.problems, status = excluded.status, error = excluded.error,
		processed_at = excluded.processed_at WHERE ingest_files.status <> 'imported'`,
		f.PracticeID, f.SHA256, f.Name, f.Format, f.Profile, f.Rows, f.Imported, f.Rejected, string(problems), f.Status, f.Error, ts(f.ProcessedAt))
	return err
}

// IngestLog lists the ingest log, newest first.
func (q *Q) IngestLog(ctx context.Context, practice string) ([]store.IngestFile, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT id, practice_id, sha256, name, format, profile, rows, imported, rejected, problems, status, error, processed_at
		FROM ingest_files WHERE practice_id = ? ORDER BY id DESC`, practice)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.IngestFile
	for rows.Next() {
		var f store.IngestFile
		var problems, at string
		if err := rows.Scan(&f.ID, &f.PracticeID, &f.SHA256, &f.Name, &f.Format, &f.Profile, &f.Rows, &f.Imported, &f.Rejected, &problems, &f.Status, &f.Error, &at); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(problems), &f.Problems)
		f.ProcessedAt = parseTS(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Count returns the number of rows of a table, for summaries.
func (q *Q) Count(ctx context.Context, table, where string, args ...any) (int, error) {
	allowed := map[string]bool{"patients": true, "appointments": true, "consent_events": true, "reminders": true,
		"deliveries": true, "inbound_messages": true, "ingest_files": true, "writebacks": true}
	if !allowed[table] {
		return 0, fmt.Errorf("count: unknown table %q", table)
	}
	query := "SELECT count(*) FROM " + table
	if where != "" {
		query += " WHERE " + where
	}
	var n int
	err := q.x.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// ResetForReplay puts a failed or dead delivery back to scheduled. It
// refuses one with a provider message id: the provider accepted it once,
// and a replay must never send it twice.
func (q *Q) ResetForReplay(ctx context.Context, id int64) (bool, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = 'scheduled', replay_count = replay_count + 1, updated_at = ?
		WHERE id = ? AND provider_message_id IS NULL AND state IN ('failed', 'dead')`, ts(q.now()), id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ScheduleRetry parks a delivery until at: the attempt failed transiently
// and waiting is cheaper than holding anything open.
func (q *Q) ScheduleRetry(ctx context.Context, id int64, at time.Time, reason, code string) error {
	_, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = 'scheduled', next_attempt_at = ?, reason = ?, provider_code = ?, updated_at = ? WHERE id = ?`,
		ts(at), reason, code, ts(q.now()), id)
	return err
}

// DueRetries lists deliveries whose retry time has come.
func (q *Q) DueRetries(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT id FROM deliveries WHERE next_attempt_at <> '' AND next_attempt_at <= ? AND state = 'scheduled' ORDER BY next_attempt_at, id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ClaimRetry takes a due retry for publishing; false if someone else did.
func (q *Q) ClaimRetry(ctx context.Context, id int64) (bool, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = '' WHERE id = ? AND next_attempt_at <> '' AND state = 'scheduled'`, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// NextRetry is the earliest retry time, zero if none waits.
func (q *Q) NextRetry(ctx context.Context) (time.Time, error) {
	var at sql.NullString
	err := q.x.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM deliveries WHERE next_attempt_at <> '' AND state = 'scheduled'`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return parseTS(at.String), nil
}

// LastSentTo is when the practice last sent to a number on a channel.
func (q *Q) LastSentTo(ctx context.Context, practice, toIndex string, ch schemas.Channel) (time.Time, error) {
	var at sql.NullString
	err := q.x.QueryRowContext(ctx, `SELECT MAX(sent_at) FROM deliveries WHERE practice_id = ? AND to_index = ? AND channel = ? AND sent_at <> ''`,
		practice, toIndex, string(ch)).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return parseTS(at.String), nil
}

// CountAttempts sums the attempts of all deliveries (retries = attempts
// beyond the first).
func (q *Q) CountAttempts(ctx context.Context, practice string) (attempts, deliveries int, err error) {
	err = q.x.QueryRowContext(ctx, `SELECT COALESCE(SUM(attempts), 0), COUNT(*) FROM deliveries WHERE practice_id = ? AND attempts > 0`, practice).Scan(&attempts, &deliveries)
	return attempts, deliveries, err
}

// CancelQueuedTo cancels deliveries on a channel to a number that have not
// gone out yet: after STOP nothing queued may still be sent.
func (q *Q) CancelQueuedTo(ctx context.Context, practice, toIndex string, ch schemas.Channel, reason string) (int, error) {
	res, err := q.x.ExecContext(ctx, `UPDATE deliveries SET state = 'cancelled', reason = ?, next_attempt_at = '', updated_at = ?
		WHERE practice_id = ? AND to_index = ? AND channel = ? AND state IN ('scheduled', 'sending') AND provider_message_id IS NULL`,
		reason, ts(q.now()), practice, toIndex, string(ch))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Undelivered lists deliveries on a channel that the provider accepted
// before a time but never reported delivered, and that have no fallback
// yet: candidates for trying the patient's other channel.
func (q *Q) Undelivered(ctx context.Context, practice string, ch schemas.Channel, sentBefore time.Time) ([]store.Delivery, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT `+deliveryCols+` FROM deliveries d WHERE practice_id = ? AND channel = ? AND state = 'sent'
		AND sent_at <> '' AND sent_at < ? AND appointment_id IS NOT NULL AND fallback_of IS NULL
		AND NOT EXISTS (SELECT 1 FROM deliveries f WHERE f.fallback_of = d.id) ORDER BY id`, practice, string(ch), ts(sentBefore))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ReachedSince tells whether another message of this purpose about this
// appointment went out (and did not fail) since a time: a replayed old
// reminder is then superseded.
func (q *Q) ReachedSince(ctx context.Context, self, appointmentID int64, purpose schemas.Purpose, since time.Time) (bool, error) {
	var n int
	err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE appointment_id = ? AND purpose = ? AND id <> ?
		AND state IN ('sent', 'delivered', 'read') AND sent_at > ?`, appointmentID, string(purpose), self, ts(since)).Scan(&n)
	return n > 0, err
}
