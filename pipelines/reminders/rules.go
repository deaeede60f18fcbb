// Package reminders decides when an appointment is reminded (rules, quiet
// hours, the practice's time zone) and hands due reminders to delivery.
package reminders

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
)

// Rule is one reminder rule of a practice. Exactly one of Before and
// DayBeforeAt is set.
type Rule struct {
	// ID names the rule; it is part of the idempotency key, so renaming a
	// rule schedules its reminders anew.
	ID string `yaml:"id"`
	// Before reminds this long before the start ("48h").
	Before time.Duration `yaml:"before"`
	// DayBeforeAt reminds on the day before at this practice-local time
	// ("13:00").
	DayBeforeAt string `yaml:"day_before_at"`
	// NotIfBookedWithin skips the rule for an appointment booked less than
	// this long before its start.
	NotIfBookedWithin time.Duration `yaml:"not_if_booked_within"`
	// Purpose of the messages this rule sends; empty means
	// appointment_reminder. Only the closed list is accepted.
	Purpose string `yaml:"purpose"`
	// Kinds limits the rule to these appointment kinds (the PMS's
	// "Terminart", matched without case); empty means every kind.
	Kinds []string `yaml:"kinds"`
}

// RulesFor keeps the rules that apply to an appointment kind.
func RulesFor(rules []Rule, kind string) []Rule {
	var out []Rule
	for _, r := range rules {
		if len(r.Kinds) == 0 {
			out = append(out, r)
			continue
		}
		for _, k := range r.Kinds {
			if strings.EqualFold(strings.TrimSpace(k), strings.TrimSpace(kind)) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// DefaultRules are a practice's rules when it declares none: 48 hours
// before, and the day before at 13:00.
func DefaultRules() []Rule {
	return []Rule{{ID: "48h", Before: 48 * time.Hour}, {ID: "day-before-13", DayBeforeAt: "13:00"}}
}

// QuietHours is a daily span in which no message is sent; a reminder due
// inside it is shifted to its end. Start after End spans midnight.
type QuietHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// DefaultQuietHours keeps patients' nights free: 20:00 to 08:00.
func DefaultQuietHours() QuietHours { return QuietHours{Start: "20:00", End: "08:00"} }

// ParseClock reads "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(s) != 5 {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return h*60 + m, nil
}

// Validate checks a rule.
func (r Rule) Validate() error {
	if strings.TrimSpace(r.ID) == "" {
		return fmt.Errorf("reminder rule without id")
	}
	if (r.Before > 0) == (r.DayBeforeAt != "") {
		return fmt.Errorf("reminder rule %q: set exactly one of before and day_before_at", r.ID)
	}
	if r.DayBeforeAt != "" {
		if _, err := ParseClock(r.DayBeforeAt); err != nil {
			return fmt.Errorf("reminder rule %q: %w", r.ID, err)
		}
	}
	if r.Purpose != "" {
		if _, err := schemas.ParsePurpose(r.Purpose); err != nil {
			return fmt.Errorf("reminder rule %q: %w", r.ID, err)
		}
	}
	return nil
}

// Validate checks quiet hours.
func (q QuietHours) Validate() error {
	if q.Start == "" && q.End == "" {
		return nil
	}
	if _, err := ParseClock(q.Start); err != nil {
		return fmt.Errorf("quiet hours start: %w", err)
	}
	if _, err := ParseClock(q.End); err != nil {
		return fmt.Errorf("quiet hours end: %w", err)
	}
	return nil
}

// Shift moves t out of the quiet hours to the next allowed time.
func (q QuietHours) Shift(t time.Time, loc *time.Location) time.Time {
	if q.Start == "" || q.Start == q.End {
		return t
	}
	start, _ := ParseClock(q.Start)
	end, _ := ParseClock(q.End)
	lt := t.In(loc)
	mins := lt.Hour()*60 + lt.Minute()
	var quiet bool
	if start < end {
		quiet = mins >= start && mins < end
	} else {
		quiet = mins >= start || mins < end
	}
	if !quiet {
		return t
	}
	day := lt
	if start > end && mins >= start {
		day = lt.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), end/60, end%60, 0, 0, loc)
}

// Plan is one reminder to schedule.
type Plan struct {
	RuleID string
	DueAt  time.Time
}

// Skip says why a rule gives no reminder for an appointment.
type Skip struct {
	RuleID string
	Reason string
}

// PlanFor applies the rules to one appointment. now is when it is planned:
// a reminder whose time has passed is not sent late, and nothing is
// planned for an appointment that has begun.
func PlanFor(rules []Rule, quiet QuietHours, loc *time.Location, start, bookedAt, now time.Time) ([]Plan, []Skip) {
	var plans []Plan
	var skips []Skip
	if !start.After(now) {
		for _, r := range rules {
			skips = append(skips, Skip{RuleID: r.ID, Reason: "appointment already past"})
		}
		return nil, skips
	}
	for _, r := range rules {
		var due time.Time
		if r.Before > 0 {
			due = start.Add(-r.Before)
		} else {
			mins, _ := ParseClock(r.DayBeforeAt)
			ls := start.In(loc)
			d := time.Date(ls.Year(), ls.Month(), ls.Day()-1, 0, 0, 0, 0, loc)
			due = time.Date(d.Year(), d.Month(), d.Day(), mins/60, mins%60, 0, 0, loc)
		}
		due = quiet.Shift(due, loc)
		switch {
		case r.NotIfBookedWithin > 0 && !bookedAt.IsZero() && start.Sub(bookedAt) < r.NotIfBookedWithin:
			skips = append(skips, Skip{RuleID: r.ID, Reason: "booked too short before the appointment"})
		case !due.Before(start):
			skips = append(skips, Skip{RuleID: r.ID, Reason: "reminder time falls after the appointment start"})
		case due.Before(now):
			skips = append(skips, Skip{RuleID: r.ID, Reason: "created too late for this rule"})
		default:
			plans = append(plans, Plan{RuleID: r.ID, DueAt: due})
		}
	}
	return plans, skips
}

// IdempotencyKey identifies a reminder: the same appointment at the same
// start under the same rule is one reminder however often it is imported.
func IdempotencyKey(practice, appointmentExternalID, ruleID string, start time.Time) string {
	h := sha256.Sum256([]byte(practice + "\x00" + appointmentExternalID + "\x00" + ruleID + "\x00" + start.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(h[:])
}
