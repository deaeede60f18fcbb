package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/config"
)

// TestHL7Sequences applies the cases' SIU sequences, each on a fresh store.
func TestHL7Sequences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		files     []string
		wantStart string
		want      string
	}{
		{[]string{"SIU-S12-01.hl7", "SIU-S15-01.hl7"}, "2021-09-24T09:15:00+02:00", "cancelled"},
		{[]string{"SIU-S12-02.hl7", "SIU-S13-02.hl7"}, "2021-08-20T11:15:00+02:00", "moved"},
		{[]string{"SIU-S12-01.hl7", "SIU-S26-01.hl7"}, "2021-09-24T09:15:00+02:00", "no_show"},
		{[]string{"SIU-S12-01.hl7", "SIU-S12-01.hl7"}, "2021-09-24T09:15:00+02:00", "booked"},
	}
	for _, tc := range cases {
		t.Run(tc.files[0]+"→"+tc.files[1], func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			a, err := Open(ctx, config.Default(), t.TempDir(), Options{Now: func() time.Time { return DemoStart }, WebhookSecret: testSecret})
			require.NoError(t, err)
			defer a.Close()
			require.NoError(t, a.Start(ctx))
			for _, f := range tc.files {
				data, err := os.ReadFile(filepath.Join("..", "fixtures", "appointments", "hl7", f))
				require.NoError(t, err)
				_, err = a.Ingest(ctx, f, data)
				require.NoError(t, err)
			}
			require.NoError(t, a.WaitIdle(ctx))
			appts, err := a.Store.Appointments(ctx, "praxis-dr-beispiel")
			require.NoError(t, err)
			require.Len(t, appts, 1, "one appointment 36996, never a second")
			require.Equal(t, "36996", appts[0].ExternalID)
			require.Equal(t, "PATID1234", appts[0].PatientExt)
			require.Equal(t, tc.wantStart, appts[0].Start.In(berlin(t)).Format(time.RFC3339))
			require.Equal(t, tc.want, string(appts[0].Status))
			rems, err := a.Store.Reminders(ctx, "praxis-dr-beispiel")
			require.NoError(t, err)
			require.Empty(t, rems, "all dates are past: no reminder")
		})
	}
}
