package reminders

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func TestPlanFor(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	cases := []struct {
		name  string
		start string
		now   string
		want  map[string]string
		skips map[string]string
	}{
		{
			name: "plain weekday", start: "2027-01-13T14:00:00+01:00", now: "2027-01-01T00:00:00+01:00",
			want: map[string]string{"48h": "2027-01-11T14:00:00+01:00", "day-before-13": "2027-01-12T13:00:00+01:00"},
		},
		{
			name: "48h lands in quiet hours and moves to 08:00", start: "2027-01-11T08:00:00+01:00", now: "2027-01-01T00:00:00+01:00",
			want: map[string]string{"48h": "2027-01-09T08:00:00+01:00", "day-before-13": "2027-01-10T13:00:00+01:00"},
		},
		{
			name: "evening 48h shifts to next morning", start: "2027-01-20T21:00:00+01:00", now: "2027-01-01T00:00:00+01:00",
			want: map[string]string{"48h": "2027-01-19T08:00:00+01:00", "day-before-13": "2027-01-19T13:00:00+01:00"},
		},
		{
			name: "day before across the spring change keeps 13:00 local", start: "2027-03-29T08:00:00+02:00", now: "2027-03-01T00:00:00+01:00",
			want: map[string]string{"48h": "2027-03-27T08:00:00+01:00", "day-before-13": "2027-03-28T13:00:00+02:00"},
		},
		{
			name: "created too late for 48h", start: "2027-01-13T14:00:00+01:00", now: "2027-01-12T09:00:00+01:00",
			want:  map[string]string{"day-before-13": "2027-01-12T13:00:00+01:00"},
			skips: map[string]string{"48h": "created too late for this rule"},
		},
		{
			name: "past appointment", start: "2021-09-24T09:15:00+02:00", now: "2027-01-01T00:00:00+01:00",
			want:  map[string]string{},
			skips: map[string]string{"48h": "appointment already past", "day-before-13": "appointment already past"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plans, skips := PlanFor(DefaultRules(), DefaultQuietHours(), loc, at(tc.start), time.Time{}, at(tc.now))
			got := map[string]string{}
			for _, p := range plans {
				got[p.RuleID] = p.DueAt.In(loc).Format(time.RFC3339)
			}
			require.Equal(t, tc.want, got)
			gotSkips := map[string]string{}
			for _, s := range skips {
				gotSkips[s.RuleID] = s.Reason
			}
			if tc.skips == nil {
				tc.skips = map[string]string{}
			}
			require.Equal(t, tc.skips, gotSkips)
		})
	}
}

func TestIdempotencyKeyChangesWithStart(t *testing.T) {
	t.Parallel()
	a := time.Date(2027, 1, 13, 13, 0, 0, 0, time.UTC)
	k1 := IdempotencyKey("p", "10006-20270113T1400", "48h", a)
	require.Equal(t, k1, IdempotencyKey("p", "10006-20270113T1400", "48h", a.In(berlin(t))))
	require.NotEqual(t, k1, IdempotencyKey("p", "10006-20270113T1400", "48h", a.Add(time.Hour)))
	require.NotEqual(t, k1, IdempotencyKey("p", "10006-20270113T1400", "day-before-13", a))
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, Rule{ID: "a", Before: time.Hour}.Validate())
	require.Error(t, Rule{ID: "a"}.Validate())
	require.Error(t, Rule{ID: "a", Before: time.Hour, DayBeforeAt: "13:00"}.Validate())
	require.Error(t, Rule{ID: "a", DayBeforeAt: "25:00"}.Validate())
	require.Error(t, QuietHours{Start: "8", End: "20:00"}.Validate())
	require.NoError(t, Rule{ID: "recall", Before: 24 * time.Hour, Purpose: "recall"}.Validate())
	require.ErrorContains(t, Rule{ID: "promo", Before: time.Hour, Purpose: "marketing"}.Validate(), `purpose "marketing" is not allowed`)
}

func TestRulesFor(t *testing.T) {
	t.Parallel()
	rules := []Rule{{ID: "all", Before: time.Hour}, {ID: "pzr", Before: 2 * time.Hour, Kinds: []string{"PZR", "Kinder-Prophylaxe"}}}
	ids := func(rs []Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	require.Equal(t, []string{"all", "pzr"}, ids(RulesFor(rules, "pzr ")))
	require.Equal(t, []string{"all"}, ids(RulesFor(rules, "Kontrolle")))
	require.Equal(t, []string{"all"}, ids(RulesFor(rules, "")))
}
