package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/config"
)

// TestDemo runs the main job end to end, as `praxisbote demo` does, and
// checks each stage's outcome against what the bundled fixtures imply.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := RunDemo(ctx, config.Default(), dir, nil)
	require.NoError(t, err)

	require.Equal(t, 4, s.FilesIngested)
	require.Equal(t, 0, s.FilesFailed)
	require.Equal(t, 1, s.RowsRejected)
	require.Equal(t, []string{"termine_ds_cp1252.csv line 17, field Datum: date 31.02.2027 does not exist"}, s.Rejections)
	require.Equal(t, 23, s.Patients)
	require.Equal(t, 24, s.Appointments)
	// Granted: GDT 2.1 whatsapp, GDT 3.0 whatsapp + sms, FHIR form whatsapp,
	// QR opt-in. Withdrawn: the two explicit sms refusals and one STOPP.
	require.Equal(t, 5, s.ConsentsGranted)
	require.Equal(t, 3, s.ConsentsWithdrawn)
	// 23 appointments not cancelled × 2 rules, less one: the demo starts on
	// 9 January 08:15, after the 48-hour time of the 11 January 08:00
	// appointment, and a reminder is never sent late.
	require.Equal(t, 45, s.RemindersScheduled)
	// Sent: 10001 (the first appointment's day-before reminder, the second
	// appointment's two), 10002 after the QR opt-in (2),
	// 10005 (48 h; WhatsApp accepts, then fails with 131026, and the SMS
	// fallback is delivered; the day-before one is cancelled after "Nein"),
	// 10006 (48 h; the day-before one is skipped after STOPP); plus the
	// answers to the QR opt-in and to the STOPP.
	require.Equal(t, map[string]int{"whatsapp": 9, "sms": 1}, s.Sent)
	require.Equal(t, 9, s.Delivered)
	require.Equal(t, 1, s.Failed, "the WhatsApp message to a number not on WhatsApp")
	require.Equal(t, 6, s.Cancelled, "three patients without a mobile × 2 rules")
	require.Equal(t, 31, s.SkippedNoConsent)
	require.Equal(t, 0, s.Dead)
	require.Equal(t, map[string]int{"confirmed": 2, "cancel_requested": 1, "stop": 1, "opt_in": 1}, s.Replies)
	require.Equal(t, 1, s.Inbox, "the free-text question goes to a person")
	require.Equal(t, 3, s.WritebackFiles)
	require.Equal(t, map[string]string{
		"10001-20270111T0800": "confirmed_by_patient",
		"10005-20270112T1100": "cancel_requested",
		"10006-20270113T1400": "confirmed_by_patient",
		"10013-20270120T1600": "cancelled",
	}, s.Appointment)

	archived, err := filepath.Glob(filepath.Join(dir, "archive", "*", "*", "*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(archived), 4, "every imported file is archived")

	// The database holds no fixture patient's name or number in the clear.
	a, err := Open(ctx, config.Default(), dir, Options{})
	require.NoError(t, err)
	_, err = a.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	raw, err := os.ReadFile(filepath.Join(dir, "praxisbote.db"))
	require.NoError(t, err)
	for _, secret := range []string{"Mustermann", "Erika", "Meißner", "Müller", "Schröder", "+491713920006", "491713920006", "1713920006", "1958-03-12", "Kontrolle"} {
		require.False(t, bytes.Contains(raw, []byte(secret)), "%q readable in the database file", secret)
	}

	// A second run on the same data dir imports and sends nothing twice.
	s2, err := RunDemo(ctx, config.Default(), dir, nil)
	require.NoError(t, err)
	require.Equal(t, s.Sent, s2.Sent)
	require.Equal(t, s.RemindersScheduled, s2.RemindersScheduled)
	require.Equal(t, s.FilesIngested, s2.FilesIngested)
	require.Equal(t, s.WritebackFiles, s2.WritebackFiles)
}
