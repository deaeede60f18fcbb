package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"github.com/praxisbote/praxisbote/config"
	"github.com/praxisbote/praxisbote/mapping/tabular"
	"github.com/praxisbote/praxisbote/store"
)

func TestReimportSchedulesNothingTwiceAndCancellationCancels(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := &SimClock{t: DemoStart}
	a, err := Open(ctx, config.Default(), t.TempDir(), Options{Now: clock.Now, WebhookSecret: testSecret})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Start(ctx))

	csv, err := os.ReadFile(filepath.Join("..", "fixtures", "appointments", "termine_ds_cp1252.csv"))
	require.NoError(t, err)
	_, err = a.Ingest(ctx, "termine.csv", csv)
	require.NoError(t, err)
	require.NoError(t, a.WaitIdle(ctx))
	all, err := a.Store.Reminders(ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	// 24 appointments, 1 cancelled in the export: 23 × 2 rules, less the
	// 48-hour reminder of 11 January 08:00, whose time (9 January 08:00)
	// passed before the clock's 08:15.
	require.Len(t, all, 45)

	// The same rows again, in a file that differs (an extra blank line at
	// the end): mapped again, nothing scheduled twice.
	_, err = a.Ingest(ctx, "termine-2.csv", append(append([]byte{}, csv...), '\r', '\n'))
	require.NoError(t, err)
	require.NoError(t, a.WaitIdle(ctx))
	again, err := a.Store.Reminders(ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	require.Len(t, again, 45)

	// A later export says Erika Mustermann's appointment was cancelled.
	text, err := charmap.Windows1252.NewDecoder().Bytes(csv)
	require.NoError(t, err)
	line := []byte("13.01.2027;14:00;30;10006;Mustermann;Erika;12.08.1964;01713920006;;Dr. Beispiel;Kontrolle;geplant")
	require.True(t, bytes.Contains(text, line))
	changed := bytes.Replace(text, line, bytes.Replace(line, []byte("geplant"), []byte("abgesagt"), 1), 1)
	enc, err := charmap.Windows1252.NewEncoder().Bytes(changed)
	require.NoError(t, err)
	_, err = a.Ingest(ctx, "termine-3.csv", enc)
	require.NoError(t, err)
	require.NoError(t, a.WaitIdle(ctx))
	appt, err := a.Store.AppointmentByExternalID(ctx, "praxis-dr-beispiel", "10006-20270113T1400")
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(appt.Status))
	after, err := a.Store.Reminders(ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	cancelled := 0
	for _, r := range after {
		if r.AppointmentID == appt.ID {
			require.Equal(t, store.ReminderCancelled, r.State)
			cancelled++
		} else {
			require.Equal(t, store.ReminderPending, r.State)
		}
	}
	require.Equal(t, 2, cancelled)
}

func TestSnapshotCancelsWhatItNoLongerLists(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := &SimClock{t: DemoStart}
	a, err := Open(ctx, config.Default(), t.TempDir(), Options{Now: clock.Now, WebhookSecret: testSecret})
	require.NoError(t, err)
	defer a.Close()
	p, ok := tabular.ProfileByName("ds-win")
	require.True(t, ok)
	p.Snapshot = true
	a.Mapper.Profiles = []tabular.Profile{p}
	require.NoError(t, a.Start(ctx))

	raw, err := os.ReadFile(filepath.Join("..", "fixtures", "appointments", "termine_ds_cp1252.csv"))
	require.NoError(t, err)
	lines := bytes.SplitAfter(raw, []byte("\r\n"))
	without := func(drop ...int) []byte {
		var out []byte
		for i, l := range lines {
			keep := true
			for _, d := range drop {
				if i+1 == d {
					keep = false
				}
			}
			if keep {
				out = append(out, l...)
			}
		}
		return out
	}
	// Line 17 is rejected (31.02.); without it the file is a clean snapshot.
	_, err = a.Ingest(ctx, "snap-1.csv", without(17))
	require.NoError(t, err)
	require.NoError(t, a.WaitIdle(ctx))
	// The next snapshot no longer lists Erika Mustermann (line 7).
	rep, err := a.Ingest(ctx, "snap-2.csv", without(17, 7))
	require.NoError(t, err)
	require.Equal(t, 1, rep.Result.SnapshotCancelled)
	require.NoError(t, a.WaitIdle(ctx))
	appt, err := a.Store.AppointmentByExternalID(ctx, "praxis-dr-beispiel", "10006-20270113T1400")
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(appt.Status))
	rems, err := a.Store.Reminders(ctx, "praxis-dr-beispiel")
	require.NoError(t, err)
	for _, r := range rems {
		if r.AppointmentID == appt.ID {
			require.Equal(t, store.ReminderCancelled, r.State)
		}
	}
	// A snapshot with a rejected row cancels nothing: the missing
	// appointment might be the rejected one.
	rep, err = a.Ingest(ctx, "snap-3.csv", without(8))
	require.NoError(t, err)
	require.Equal(t, 0, rep.Result.SnapshotCancelled)
	require.Contains(t, rep.Result.SnapshotSkipped, "1 rows rejected")
	zoe, err := a.Store.AppointmentByExternalID(ctx, "praxis-dr-beispiel", "10007-20270113T1430")
	require.NoError(t, err)
	require.Equal(t, "booked", string(zoe.Status))
}
