package wallclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLocal(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	cases := []struct {
		name       string
		y, m, d    int
		h, mi      int
		want       string
		note       Note
		wantErrSub string
	}{
		{name: "winter", y: 2027, m: 1, d: 11, h: 8, want: "2027-01-11T08:00:00+01:00"},
		{name: "summer", y: 2027, m: 3, d: 29, h: 8, want: "2027-03-29T08:00:00+02:00"},
		{name: "spring gap", y: 2027, m: 3, d: 28, h: 2, mi: 30, want: "2027-03-28T03:30:00+02:00", note: NoteGap},
		{name: "autumn double hour takes first", y: 2027, m: 10, d: 31, h: 2, mi: 30, want: "2027-10-31T02:30:00+02:00", note: NoteAmbiguous},
		{name: "after the double hour", y: 2027, m: 10, d: 31, h: 3, want: "2027-10-31T03:00:00+01:00"},
		{name: "leap day", y: 1984, m: 2, d: 29, want: "1984-02-29T00:00:00+01:00"},
		{name: "impossible date", y: 2027, m: 2, d: 31, wantErrSub: "31.02.2027 does not exist"},
		{name: "no leap day", y: 2027, m: 2, d: 29, wantErrSub: "does not exist"},
		{name: "month 13", y: 2027, m: 13, d: 1, wantErrSub: "month 13"},
		{name: "hour 24", y: 2027, m: 1, d: 1, h: 24, wantErrSub: "does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, note, err := Local(tc.y, tc.m, tc.d, tc.h, tc.mi, 0, berlin)
			if tc.wantErrSub != "" {
				require.ErrorContains(t, err, tc.wantErrSub)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Format(time.RFC3339))
			require.Equal(t, tc.note, note)
		})
	}
}

func TestAutumnEndBeforeStartOnWallClock(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start, _, err := Local(2027, 10, 31, 2, 30, 0, berlin)
	require.NoError(t, err)
	require.Equal(t, "2027-10-31T02:00:00+01:00", start.Add(30*time.Minute).In(berlin).Format(time.RFC3339))
}
