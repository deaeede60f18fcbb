// Package wallclock turns practice-local wall-clock readings (from CSV,
// XLSX, GDT, HL7 without offset) into instants, following RFC 5545 §3.3.5
// for the two daylight-saving edge cases, and refusing impossible dates
// instead of normalising them the way time.Date does.
package wallclock

import (
	"fmt"
	"time"
)

// Note explains a reading that was resolved by rule rather than read as is.
// Empty when the local time exists exactly once.
type Note string

const (
	// NoteGap: the local time falls into the spring-forward gap and was read
	// with the offset before the gap (02:30 → 03:30 summer time).
	NoteGap Note = "local time does not exist (daylight-saving gap); read with the offset before the gap"
	// NoteAmbiguous: the local time occurs twice on the fall-back day and
	// the first occurrence was taken.
	NoteAmbiguous Note = "local time occurs twice (daylight-saving change); the first occurrence was taken"
)

// Date validates a calendar date without normalising it.
func Date(y, m, d int) error {
	if m < 1 || m > 12 {
		return fmt.Errorf("month %d does not exist", m)
	}
	if d < 1 || d > DaysIn(y, time.Month(m)) {
		return fmt.Errorf("date %02d.%02d.%04d does not exist", d, m, y)
	}
	return nil
}

// DaysIn returns the number of days of a month.
func DaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Local returns the instant for a wall-clock reading in loc. Impossible
// dates and times are errors; gap and double-hour readings resolve by rule
// and come back with a Note.
func Local(y, mo, d, h, mi, s int, loc *time.Location) (time.Time, Note, error) {
	if err := Date(y, mo, d); err != nil {
		return time.Time{}, "", err
	}
	if h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, "", fmt.Errorf("time %02d:%02d:%02d does not exist", h, mi, s)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, loc)
	if t.Hour() != h || t.Minute() != mi || t.Day() != d {
		// Go normalises a time in the gap by the offset before the gap,
		// which is the RFC 5545 reading.
		return t, NoteGap, nil
	}
	// time.Date picks the second occurrence of a doubled hour; look one
	// hour earlier for a first occurrence with the same wall clock.
	for _, shift := range []time.Duration{-time.Hour, -30 * time.Minute, -2 * time.Hour} {
		e := t.Add(shift)
		if e.Hour() == h && e.Minute() == mi && e.Day() == d && e.Second() == s {
			return e, NoteAmbiguous, nil
		}
	}
	return t, "", nil
}
