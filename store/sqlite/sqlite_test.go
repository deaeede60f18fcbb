package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/pipelines/bus"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/keyring"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

type bundle struct {
	st   *sqlite.Store
	path string
	ctx  context.Context
}

func setup(t *testing.T) bundle {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := bus.OpenSQLite(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	kr, err := keyring.FromSecret(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	now := time.Date(2027, 1, 8, 9, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(context.Background(), db, kr, func() time.Time { return now })
	require.NoError(t, err)
	return bundle{st: st, path: path, ctx: context.Background()}
}

var erika = schemas.Patient{ExternalID: "10006", FamilyName: "Mustermann", GivenName: "Erika", BirthDate: "1964-08-12",
	Phones: []schemas.Phone{{E164: "+491713920006", Kind: schemas.PhoneMobile}}}

func TestPersonalFieldsAreEncryptedAtRest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ref, created, err := b.st.UpsertPatient(b.ctx, "p", "pms", erika)
	require.NoError(t, err)
	require.True(t, created)
	_, err = b.st.UpsertAppointment(b.ctx, "p", ref, schemas.Appointment{ExternalID: "10006-20270113T1400", PatientExternalID: "10006",
		Start: time.Date(2027, 1, 13, 13, 0, 0, 0, time.UTC), DurationMinutes: 30, Kind: "Wurzelbehandlung", Status: schemas.StatusBooked}, "csv:p", "f")
	require.NoError(t, err)
	_, err = b.st.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
	raw, err := os.ReadFile(b.path)
	require.NoError(t, err)
	for _, secret := range []string{"Mustermann", "Erika", "1964-08-12", "+491713920006", "491713920006", "1713920006", "Wurzelbehandlung"} {
		require.False(t, bytes.Contains(raw, []byte(secret)), "%q is readable in the database file", secret)
	}
	got, err := b.st.Patient(b.ctx, ref.ID)
	require.NoError(t, err)
	require.Equal(t, "Mustermann", got.FamilyName)
	require.Equal(t, "Erika", got.GivenName)
	require.Equal(t, "1964-08-12", got.BirthDate)
	require.Equal(t, erika.Phones, got.Phones)
}

func TestUpsertMergesAndFindsByPhone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ref, _, err := b.st.UpsertPatient(b.ctx, "p", "pms", erika)
	require.NoError(t, err)
	again := erika
	again.BirthDate = ""
	again.Phones = []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}}
	ref2, created, err := b.st.UpsertPatient(b.ctx, "p", "pms", again)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, ref.ID, ref2.ID)
	got, err := b.st.Patient(b.ctx, ref.ID)
	require.NoError(t, err)
	require.Equal(t, "1964-08-12", got.BirthDate, "an empty field from a later source keeps what was known")
	require.Len(t, got.Phones, 2)
	child := schemas.Patient{ExternalID: "10021", FamilyName: "Schröder", GivenName: "Mia", Phones: []schemas.Phone{{E164: "+491713920006", Kind: schemas.PhoneMobile}}}
	ref3, _, err := b.st.UpsertPatient(b.ctx, "p", "pms", child)
	require.NoError(t, err)
	ids, err := b.st.PatientsByPhone(b.ctx, "p", "+491713920006")
	require.NoError(t, err)
	require.Equal(t, []int64{ref.ID, ref3.ID}, ids, "a shared family number finds both patients")
	ids, err = b.st.PatientsByPhone(b.ctx, "other-practice", "+491713920006")
	require.NoError(t, err)
	require.Empty(t, ids)
}

func TestConsentIsAppendOnlyAndChained(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ref, _, err := b.st.UpsertPatient(b.ctx, "p", "pms", erika)
	require.NoError(t, err)
	ev := schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp, Purposes: []schemas.Purpose{schemas.PurposeAppointmentReminder},
		Action: schemas.ConsentGranted, Source: schemas.SourceAnamnesisForm, OccurredAt: time.Date(2027, 1, 8, 18, 15, 30, 0, time.UTC), Evidence: "sha256:x#EINW_WA"}
	r1, added, err := b.st.AppendConsent(b.ctx, "p", ref.ID, "", ev, "test")
	require.NoError(t, err)
	require.True(t, added)
	_, added, err = b.st.AppendConsent(b.ctx, "p", ref.ID, "", ev, "test")
	require.NoError(t, err)
	require.False(t, added, "the same statement from the same evidence is stored once")
	stop := ev
	stop.Action, stop.Source, stop.Evidence = schemas.ConsentWithdrawn, schemas.SourceChatKeyword, "wamid:x"
	stop.OccurredAt = ev.OccurredAt.Add(time.Hour)
	r2, _, err := b.st.AppendConsent(b.ctx, "p", 0, b.st.BlindIndex("+491713920006"), stop, "test")
	require.NoError(t, err)
	require.Equal(t, r1.Hash, r2.PrevHash)
	require.Equal(t, sqlite.ConsentHash(r2), r2.Hash)
	hist, err := b.st.ConsentHistory(b.ctx, ref.ID)
	require.NoError(t, err)
	require.Len(t, hist, 2, "events recorded for the patient's number belong to the patient's history")
	_, err = b.st.DB().Exec(`UPDATE consent_events SET action = 'granted'`)
	require.ErrorContains(t, err, "append-only")
	_, err = b.st.DB().Exec(`DELETE FROM consent_events`)
	require.ErrorContains(t, err, "append-only")
}

func TestReminderIdempotencyAndStatusOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ref, _, err := b.st.UpsertPatient(b.ctx, "p", "pms", erika)
	require.NoError(t, err)
	ch, err := b.st.UpsertAppointment(b.ctx, "p", ref, schemas.Appointment{ExternalID: "a1", Start: time.Date(2027, 1, 13, 13, 0, 0, 0, time.UTC), DurationMinutes: 30, Status: schemas.StatusBooked}, "csv:p", "f")
	require.NoError(t, err)
	require.True(t, ch.New)
	r := store.Reminder{PracticeID: "p", AppointmentID: ch.ID, RuleID: "48h", DueAt: time.Date(2027, 1, 11, 13, 0, 0, 0, time.UTC)}
	ok, err := b.st.ScheduleReminder(b.ctx, r, "k1")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.st.ScheduleReminder(b.ctx, r, "k1")
	require.NoError(t, err)
	require.False(t, ok, "the idempotency key schedules nothing twice")

	d, err := b.st.CreateDelivery(b.ctx, store.Delivery{PracticeID: "p", AppointmentID: ch.ID, PatientID: ref.ID, Channel: schemas.ChannelWhatsApp, Purpose: schemas.PurposeAppointmentReminder})
	require.NoError(t, err)
	ok, err = b.st.MarkSending(b.ctx, d.ID, schemas.ChannelWhatsApp)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.st.MarkSent(b.ctx, d.ID, "wamid.1"))
	ok, err = b.st.MarkSending(b.ctx, d.ID, schemas.ChannelWhatsApp)
	require.NoError(t, err)
	require.False(t, ok, "a delivery the provider accepted is never sent again")

	at := func(s int) time.Time { return time.Date(2027, 1, 11, 12, 0, s, 0, time.UTC) }
	apply := func(status string, sec int) bool {
		cur, err := b.st.DeliveryByProviderID(b.ctx, "wamid.1")
		require.NoError(t, err)
		changed, err := b.st.ApplyStatus(b.ctx, cur, status, at(sec), "")
		require.NoError(t, err)
		return changed
	}
	require.True(t, apply("read", 40))
	require.False(t, apply("delivered", 38), "a late delivered after read changes nothing")
	require.False(t, apply("read", 40), "the same status twice is applied once")
	require.False(t, apply("failed", 50), "failed after delivery is recorded, not regressed")
	cur, err := b.st.Delivery(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryRead, cur.State)

	moved, err := b.st.UpsertAppointment(b.ctx, "p", ref, schemas.Appointment{ExternalID: "a1", Start: time.Date(2027, 1, 14, 13, 0, 0, 0, time.UTC), DurationMinutes: 30, Status: schemas.StatusBooked}, "csv:p", "f2")
	require.NoError(t, err)
	require.True(t, moved.Moved)
	require.Equal(t, schemas.StatusMoved, moved.Status)
}
