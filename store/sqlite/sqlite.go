// Package sqlite is the embedded store: one SQLite file in the data dir
// (modernc.org/sqlite, no cgo), migrations embedded in the binary.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/keyring"
)

//go:embed migrations/*.sql
var migrations embed.FS

// timeFormat is fixed-width UTC so that text comparison orders instants.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is the SQLite store. Its methods run outside a transaction; Tx
// gives the same methods inside one.
type Store struct {
	Q
	db *sql.DB
}

// Q holds the store's operations over a connection or a transaction.
type Q struct {
	x   execer
	kr  *keyring.Keyring
	now func() time.Time
}

// Open migrates the database and checks that the master key is the one its
// data keys were wrapped with.
func Open(ctx context.Context, db *sql.DB, kr *keyring.Keyring, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{Q: Q{x: db, kr: kr, now: now}, db: db}
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	var recorded string
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'master_key_id'`).Scan(&recorded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('master_key_id', ?)`, kr.KeyID()); err != nil {
			return nil, fmt.Errorf("record master key id: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("read master key id: %w", err)
	default:
		if err := kr.CheckKeyID(recorded); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Migrate applies the embedded migrations in order; each runs once.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var done int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&done); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		if done > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)`, name, ts(time.Now())); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// DB returns the underlying database, shared with the message bus.
func (s *Store) DB() *sql.DB { return s.db }

// Tx runs fn in one transaction. fn also gets the *sql.Tx so that events
// can be published in the same transaction (outbox).
func (s *Store) Tx(ctx context.Context, fn func(q *Q, tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	q := &Q{x: tx, kr: s.kr, now: s.now}
	if err := fn(q, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Now is the store's clock.
func (q *Q) Now() time.Time { return q.now() }

// BlindIndex is the lookup key of a phone number.
func (q *Q) BlindIndex(e164 string) string { return q.kr.BlindIndex(e164) }

func aad(table, column string, id int64) string {
	return table + "|" + column + "|" + strconv.FormatInt(id, 10)
}

// UpsertPatient stores a patient from a source, merging into the existing
// record of (practice, source, external id). Phones are added, never
// dropped: a later export without a number does not erase one.
func (q *Q) UpsertPatient(ctx context.Context, practice, source string, p schemas.Patient) (store.PatientRef, bool, error) {
	ref := store.PatientRef{PracticeID: practice, Source: source, ExternalID: p.ExternalID}
	var wrapped []byte
	err := q.x.QueryRowContext(ctx, `SELECT id, data_key FROM patients WHERE practice_id = ? AND source = ? AND external_id = ?`,
		practice, source, p.ExternalID).Scan(&ref.ID, &wrapped)
	created := false
	var dk keyring.DataKey
	now := ts(q.now())
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var err error
		dk, wrapped, err = q.kr.NewDataKey()
		if err != nil {
			return ref, false, err
		}
		res, err := q.x.ExecContext(ctx, `INSERT INTO patients(practice_id, source, external_id, data_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			practice, source, p.ExternalID, wrapped, now, now)
		if err != nil {
			return ref, false, fmt.Errorf("insert patient: %w", err)
		}
		ref.ID, _ = res.LastInsertId()
		created = true
	case err != nil:
		return ref, false, fmt.Errorf("find patient: %w", err)
	default:
		if wrapped == nil {
			return ref, false, fmt.Errorf("patient %d was erased; its data cannot be updated", ref.ID)
		}
		dk, err = q.kr.Unwrap(wrapped)
		if err != nil {
			return ref, false, err
		}
	}
	seal := func(col, v string) ([]byte, error) {
		if v == "" {
			return nil, nil
		}
		return dk.SealString(v, aad("patients", col, ref.ID))
	}
	fam, err := seal("family_name", p.FamilyName)
	if err != nil {
		return ref, false, err
	}
	giv, err := seal("given_name", p.GivenName)
	if err != nil {
		return ref, false, err
	}
	bd, err := seal("birth_date", p.BirthDate)
	if err != nil {
		return ref, false, err
	}
	// Keep what an earlier source knew when this one leaves a field empty.
	if _, err := q.x.ExecContext(ctx, `UPDATE patients SET
		family_name = COALESCE(?, family_name), given_name = COALESCE(?, given_name),
		birth_date = COALESCE(?, birth_date), sex = CASE WHEN ? = '' THEN sex ELSE ? END, updated_at = ?
		WHERE id = ?`, fam, giv, bd, p.Sex, p.Sex, now, ref.ID); err != nil {
		return ref, false, fmt.Errorf("update patient: %w", err)
	}
	var pos int
	if err := q.x.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), -1) + 1 FROM patient_phones WHERE patient_id = ?`, ref.ID).Scan(&pos); err != nil {
		return ref, false, err
	}
	for _, ph := range p.Phones {
		idx := q.kr.BlindIndex(ph.E164)
		enc, err := dk.SealString(ph.E164, aad("patient_phones", "e164", ref.ID))
		if err != nil {
			return ref, false, err
		}
		res, err := q.x.ExecContext(ctx, `INSERT INTO patient_phones(patient_id, blind_index, e164, kind, position) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (patient_id, blind_index) DO NOTHING`, ref.ID, idx, enc, string(ph.Kind), pos)
		if err != nil {
			return ref, false, fmt.Errorf("insert phone: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			pos++
		}
	}
	return ref, created, nil
}

// FindPatient looks a patient up by its source id.
func (q *Q) FindPatient(ctx context.Context, practice, source, externalID string) (store.PatientRef, error) {
	ref := store.PatientRef{PracticeID: practice, Source: source, ExternalID: externalID}
	err := q.x.QueryRowContext(ctx, `SELECT id FROM patients WHERE practice_id = ? AND source = ? AND external_id = ?`,
		practice, source, externalID).Scan(&ref.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, store.ErrNotFound
	}
	return ref, err
}

// Patient opens a stored patient's personal fields.
func (q *Q) Patient(ctx context.Context, id int64) (store.Patient, error) {
	var p store.Patient
	var wrapped, fam, giv, bd []byte
	var pref string
	err := q.x.QueryRowContext(ctx, `SELECT id, practice_id, source, external_id, data_key, family_name, given_name, birth_date, sex, preferred_channel
		FROM patients WHERE id = ?`, id).Scan(&p.ID, &p.PracticeID, &p.Source, &p.PatientRef.ExternalID, &wrapped, &fam, &giv, &bd, &p.Sex, &pref)
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	p.Patient.ExternalID = p.PatientRef.ExternalID
	p.PreferredChannel = schemas.Channel(pref)
	if wrapped == nil {
		return p, nil // erased: only the pseudonymous id is left
	}
	dk, err := q.kr.Unwrap(wrapped)
	if err != nil {
		return p, err
	}
	open := func(col string, b []byte) (string, error) {
		if b == nil {
			return "", nil
		}
		return dk.OpenString(b, aad("patients", col, id))
	}
	if p.FamilyName, err = open("family_name", fam); err != nil {
		return p, err
	}
	if p.GivenName, err = open("given_name", giv); err != nil {
		return p, err
	}
	if p.BirthDate, err = open("birth_date", bd); err != nil {
		return p, err
	}
	rows, err := q.x.QueryContext(ctx, `SELECT e164, kind FROM patient_phones WHERE patient_id = ? ORDER BY position`, id)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var enc []byte
		var kind string
		if err := rows.Scan(&enc, &kind); err != nil {
			return p, err
		}
		num, err := dk.OpenString(enc, aad("patient_phones", "e164", id))
		if err != nil {
			return p, err
		}
		p.Phones = append(p.Phones, schemas.Phone{E164: num, Kind: schemas.PhoneKind(kind)})
	}
	return p, rows.Err()
}

// PatientsByPhone finds every patient of a practice with that number; a
// family sharing a mobile gives several.
func (q *Q) PatientsByPhone(ctx context.Context, practice, e164 string) ([]int64, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT p.id FROM patient_phones ph JOIN patients p ON p.id = ph.patient_id
		WHERE ph.blind_index = ? AND p.practice_id = ? ORDER BY p.id`, q.kr.BlindIndex(e164), practice)
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

// UpsertAppointment stores an appointment and reports what changed. A
// status set by the patient (confirmed, cancel requested) survives a
// re-import that still says booked: the PMS has not caught up yet; so does
// "moved", which a repeated export of the new start does not undo.
func (q *Q) UpsertAppointment(ctx context.Context, practice string, patient store.PatientRef, a schemas.Appointment, source, sourceFile string) (store.AppointmentChange, error) {
	ch := store.AppointmentChange{Appointment: store.Appointment{
		PracticeID: practice, PatientID: patient.ID, PatientExt: patient.ExternalID, ExternalID: a.ExternalID,
		Start: a.Start, Duration: time.Duration(a.DurationMinutes) * time.Minute, Status: a.Status, Practitioner: a.Practitioner,
	}}
	var oldStart, oldStatus string
	var oldDur int
	err := q.x.QueryRowContext(ctx, `SELECT id, start_at, status, duration_min FROM appointments WHERE practice_id = ? AND external_id = ?`,
		practice, a.ExternalID).Scan(&ch.ID, &oldStart, &oldStatus, &oldDur)
	now := ts(q.now())
	kind, err2 := q.sealForPatient(ctx, patient.ID, a.Kind, "appointments", "kind", patient.ID)
	if err2 != nil {
		return ch, err2
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := q.x.ExecContext(ctx, `INSERT INTO appointments(practice_id, patient_id, external_id, start_at, duration_min, practitioner, kind, status, source, source_file, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, practice, patient.ID, a.ExternalID, ts(a.Start), a.DurationMinutes, a.Practitioner, kind, string(a.Status), source, sourceFile, now, now)
		if err != nil {
			return ch, fmt.Errorf("insert appointment: %w", err)
		}
		ch.ID, _ = res.LastInsertId()
		ch.New = true
		return ch, nil
	case err != nil:
		return ch, err
	}
	ch.OldStart = parseTS(oldStart)
	ch.OldStatus = schemas.AppointmentStatus(oldStatus)
	ch.Moved = !ch.OldStart.Equal(a.Start)
	status := a.Status
	if !ch.Moved && a.Status == schemas.StatusBooked &&
		(ch.OldStatus == schemas.StatusConfirmedByPatient || ch.OldStatus == schemas.StatusCancelRequested || ch.OldStatus == schemas.StatusMoved) {
		status = ch.OldStatus
	}
	if ch.Moved && status == schemas.StatusBooked {
		status = schemas.StatusMoved
	}
	ch.Status = status
	ch.StatusChange = status != ch.OldStatus
	_, err = q.x.ExecContext(ctx, `UPDATE appointments SET patient_id = ?, start_at = ?, duration_min = ?, practitioner = ?, kind = ?, status = ?, source = ?, source_file = ?, updated_at = ? WHERE id = ?`,
		patient.ID, ts(a.Start), a.DurationMinutes, a.Practitioner, kind, string(status), source, sourceFile, now, ch.ID)
	return ch, err
}

// CancelMissing cancels the appointments a snapshot export no longer lists:
// those of the same source starting in [from, to) whose external id is not
// in listed. It returns what it changed.
func (q *Q) CancelMissing(ctx context.Context, practice, source string, from, to time.Time, listed map[string]bool) ([]store.AppointmentChange, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments a JOIN patients p ON p.id = a.patient_id
		WHERE a.practice_id = ? AND a.source = ? AND a.start_at >= ? AND a.start_at < ? AND a.status NOT IN ('cancelled', 'no_show')`,
		practice, source, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	var gone []store.Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if !listed[a.ExternalID] {
			gone = append(gone, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []store.AppointmentChange
	for _, a := range gone {
		if err := q.SetAppointmentStatus(ctx, a.ID, schemas.StatusCancelled); err != nil {
			return nil, err
		}
		ch := store.AppointmentChange{Appointment: a, StatusChange: true, OldStatus: a.Status, OldStart: a.Start}
		ch.Status = schemas.StatusCancelled
		out = append(out, ch)
	}
	return out, nil
}

func (q *Q) sealForPatient(ctx context.Context, patientID int64, v, table, col string, rowID int64) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	dk, err := q.patientKey(ctx, patientID)
	if err != nil {
		return nil, err
	}
	return dk.SealString(v, aad(table, col, rowID))
}

func (q *Q) patientKey(ctx context.Context, patientID int64) (keyring.DataKey, error) {
	var wrapped []byte
	if err := q.x.QueryRowContext(ctx, `SELECT data_key FROM patients WHERE id = ?`, patientID).Scan(&wrapped); err != nil {
		return keyring.DataKey{}, err
	}
	if wrapped == nil {
		return keyring.DataKey{}, fmt.Errorf("patient %d was erased", patientID)
	}
	return q.kr.Unwrap(wrapped)
}

const appointmentCols = `a.id, a.practice_id, a.patient_id, p.external_id, a.external_id, a.start_at, a.duration_min, a.status, a.practitioner, a.created_at`

func scanAppointment(sc interface{ Scan(...any) error }) (store.Appointment, error) {
	var a store.Appointment
	var start, status, created string
	var dur int
	err := sc.Scan(&a.ID, &a.PracticeID, &a.PatientID, &a.PatientExt, &a.ExternalID, &start, &dur, &status, &a.Practitioner, &created)
	a.CreatedAt = parseTS(created)
	a.Start = parseTS(start)
	a.Duration = time.Duration(dur) * time.Minute
	a.Status = schemas.AppointmentStatus(status)
	return a, err
}

// Appointment reads one appointment.
func (q *Q) Appointment(ctx context.Context, id int64) (store.Appointment, error) {
	a, err := scanAppointment(q.x.QueryRowContext(ctx, `SELECT `+appointmentCols+` FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNotFound
	}
	return a, err
}

// AppointmentByExternalID reads one appointment by its PMS id.
func (q *Q) AppointmentByExternalID(ctx context.Context, practice, ext string) (store.Appointment, error) {
	a, err := scanAppointment(q.x.QueryRowContext(ctx, `SELECT `+appointmentCols+` FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE a.practice_id = ? AND a.external_id = ?`, practice, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNotFound
	}
	return a, err
}

// Appointments lists a practice's appointments in start order.
func (q *Q) Appointments(ctx context.Context, practice string) ([]store.Appointment, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE a.practice_id = ? ORDER BY a.start_at, a.id`, practice)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAppointmentStatus records a status a patient's reply set.
func (q *Q) SetAppointmentStatus(ctx context.Context, id int64, status schemas.AppointmentStatus) error {
	_, err := q.x.ExecContext(ctx, `UPDATE appointments SET status = ?, updated_at = ? WHERE id = ?`, string(status), ts(q.now()), id)
	return err
}

// AppendConsent appends an event to the practice's hash chain. The same
// statement from the same evidence twice is stored once.
func (q *Q) AppendConsent(ctx context.Context, practice string, patientID int64, phoneIndex string, ev schemas.ConsentEvent, recordedBy string) (store.ConsentRecord, bool, error) {
	purposes := append([]schemas.Purpose(nil), ev.Purposes...)
	sort.Slice(purposes, func(i, j int) bool { return purposes[i] < purposes[j] })
	pj, _ := json.Marshal(purposes)
	rec := store.ConsentRecord{PracticeID: practice, PatientID: patientID, PhoneIndex: phoneIndex, ConsentEvent: ev,
		RecordedAt: q.now(), RecordedBy: recordedBy}
	rec.Purposes = purposes
	dedupe := sha256.Sum256([]byte(strings.Join([]string{practice, strconv.FormatInt(patientID, 10), phoneIndex,
		string(ev.Channel), string(pj), string(ev.Action), string(ev.Source), ev.Evidence, ts(ev.OccurredAt)}, "|")))
	var exists int
	if err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM consent_events WHERE dedupe_key = ?`, hex.EncodeToString(dedupe[:])).Scan(&exists); err != nil {
		return rec, false, err
	}
	if exists > 0 {
		return rec, false, nil
	}
	err := q.x.QueryRowContext(ctx, `SELECT hash FROM consent_events WHERE practice_id = ? ORDER BY id DESC LIMIT 1`, practice).Scan(&rec.PrevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return rec, false, err
	}
	rec.Hash = ConsentHash(rec)
	var pid any
	if patientID != 0 {
		pid = patientID
	}
	res, err := q.x.ExecContext(ctx, `INSERT INTO consent_events(practice_id, patient_id, phone_index, channel, purposes, action, source, evidence, text_version,
		occurred_at, recorded_at, recorded_by, prev_hash, hash, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		practice, pid, phoneIndex, string(ev.Channel), string(pj), string(ev.Action), string(ev.Source), ev.Evidence, ev.TextVersion,
		ts(ev.OccurredAt), ts(rec.RecordedAt), recordedBy, rec.PrevHash, rec.Hash, hex.EncodeToString(dedupe[:]))
	if err != nil {
		return rec, false, fmt.Errorf("append consent: %w", err)
	}
	rec.ID, _ = res.LastInsertId()
	// The head (length and newest hash) is kept beside the chain, in the
	// same transaction: deleting the newest events leaves a chain that is
	// consistent in itself, and only the head shows it is short.
	n, _, err := q.ConsentHead(ctx, practice)
	if err != nil {
		return rec, false, err
	}
	if _, err := q.x.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		"consent_head:"+practice, fmt.Sprintf("%d %s", n+1, rec.Hash)); err != nil {
		return rec, false, err
	}
	return rec, true, nil
}

// ConsentHead is the recorded length and newest hash of a practice's
// consent chain.
func (q *Q) ConsentHead(ctx context.Context, practice string) (int, string, error) {
	var v string
	err := q.x.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, "consent_head:"+practice).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var n int
	var h string
	if _, err := fmt.Sscanf(v, "%d %s", &n, &h); err != nil {
		return 0, "", fmt.Errorf("consent head %q: %w", v, err)
	}
	return n, h, nil
}

// ConsentHash is the chain hash of an event: SHA-256 over the previous
// hash and a canonical, length-prefixed encoding of every field that
// matters, so that an edited, deleted or reordered event breaks the chain.
func ConsentHash(r store.ConsentRecord) string {
	h := sha256.New()
	pj, _ := json.Marshal(r.Purposes)
	for _, f := range []string{r.PrevHash, r.PracticeID, strconv.FormatInt(r.PatientID, 10), r.PhoneIndex, string(r.Channel),
		string(pj), string(r.Action), string(r.Source), r.Evidence, r.TextVersion, ts(r.OccurredAt), ts(r.RecordedAt), r.RecordedBy} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ConsentHistory lists every event that concerns a patient: those recorded
// for the patient and those recorded for any of the patient's numbers.
func (q *Q) ConsentHistory(ctx context.Context, patientID int64) ([]store.ConsentRecord, error) {
	return q.consentQuery(ctx, `SELECT `+consentCols+` FROM consent_events WHERE patient_id = ?
		OR (phone_index <> '' AND phone_index IN (SELECT blind_index FROM patient_phones WHERE patient_id = ?))
		ORDER BY occurred_at, id`, patientID, patientID)
}

// ConsentByPhone lists the events recorded for a number.
func (q *Q) ConsentByPhone(ctx context.Context, practice, e164 string) ([]store.ConsentRecord, error) {
	return q.consentQuery(ctx, `SELECT `+consentCols+` FROM consent_events WHERE practice_id = ? AND phone_index = ? ORDER BY occurred_at, id`,
		practice, q.kr.BlindIndex(e164))
}

// ConsentChain lists a practice's events in chain order.
func (q *Q) ConsentChain(ctx context.Context, practice string) ([]store.ConsentRecord, error) {
	return q.consentQuery(ctx, `SELECT `+consentCols+` FROM consent_events WHERE practice_id = ? ORDER BY id`, practice)
}

const consentCols = `id, practice_id, COALESCE(patient_id, 0), phone_index, channel, purposes, action, source, evidence, text_version, occurred_at, recorded_at, recorded_by, prev_hash, hash`

func (q *Q) consentQuery(ctx context.Context, query string, args ...any) ([]store.ConsentRecord, error) {
	rows, err := q.x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var r store.ConsentRecord
		var ch, pj, action, source, occ, rec string
		if err := rows.Scan(&r.ID, &r.PracticeID, &r.PatientID, &r.PhoneIndex, &ch, &pj, &action, &source, &r.Evidence, &r.TextVersion, &occ, &rec, &r.RecordedBy, &r.PrevHash, &r.Hash); err != nil {
			return nil, err
		}
		r.Channel = schemas.Channel(ch)
		if err := json.Unmarshal([]byte(pj), &r.Purposes); err != nil {
			return nil, fmt.Errorf("consent event %d: purposes: %w", r.ID, err)
		}
		r.Action = schemas.ConsentAction(action)
		r.Source = schemas.ConsentSource(source)
		r.OccurredAt = parseTS(occ)
		r.RecordedAt = parseTS(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}

// InTx gives the store's operations inside a transaction someone else
// began, such as the one a bus subscriber holds while its handler runs.
func (s *Store) InTx(tx *sql.Tx) *Q { return &Q{x: tx, kr: s.kr, now: s.now} }

// SystemKey returns a data key for personal data that belongs to no
// patient yet (raw webhook bodies on the bus), created on first use and
// kept wrapped in the meta table under name.
func (s *Store) SystemKey(ctx context.Context, name string) (keyring.DataKey, error) {
	var wrappedHex string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, "key:"+name).Scan(&wrappedHex)
	if errors.Is(err, sql.ErrNoRows) {
		_, wrapped, err := s.kr.NewDataKey()
		if err != nil {
			return keyring.DataKey{}, err
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, "key:"+name, hex.EncodeToString(wrapped)); err != nil {
			return keyring.DataKey{}, err
		}
		// Read back: a concurrent first use may have won the insert.
		if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, "key:"+name).Scan(&wrappedHex); err != nil {
			return keyring.DataKey{}, err
		}
	} else if err != nil {
		return keyring.DataKey{}, err
	}
	wrapped, err := hex.DecodeString(wrappedHex)
	if err != nil {
		return keyring.DataKey{}, fmt.Errorf("system key %s: %w", name, err)
	}
	return s.kr.Unwrap(wrapped)
}

// AppointmentKind opens an appointment's kind (clinical detail, sealed
// with the patient's key): policy may use it, messages never do.
func (q *Q) AppointmentKind(ctx context.Context, id int64) (string, error) {
	var patientID int64
	var kind []byte
	if err := q.x.QueryRowContext(ctx, `SELECT patient_id, kind FROM appointments WHERE id = ?`, id).Scan(&patientID, &kind); err != nil {
		return "", err
	}
	if kind == nil {
		return "", nil
	}
	dk, err := q.patientKey(ctx, patientID)
	if err != nil {
		return "", err
	}
	return dk.OpenString(kind, aad("appointments", "kind", patientID))
}
