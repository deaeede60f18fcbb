package ical

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/praxisbote/praxisbote/schemas"
)

// FuzzParse checks that no input makes Parse panic (folds in odd places,
// unbalanced BEGIN/END, broken parameters, absurd durations), that an error
// and a batch never come together, that every appointment has its ids and a
// patient in the batch, and that whatever comes out is valid UTF-8 and
// marshals.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(fixtures, calendarICS))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(ics(event()...))
	f.Add(ics(event("DTEND", "DURATION:P1W2DT3H4M5S", "STATUS:TENTATIVE")...))
	f.Add(ics(event("DTSTART;TZID=\"/x/Europe/Berlin\":20271031T023000", "DTEND:20271031T020000", "RRULE:FREQ=DAILY")...))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX;A=\"b:c\";D=^n^^:v\r\n \xC3\r\n \xBC\r\nEND:VCALENDAR\r\n"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data, "fuzz.ics", DefaultProfile(), loc)
		if err != nil {
			if b != nil {
				t.Fatal("batch and error together")
			}
			return
		}
		patients := map[string]bool{}
		for _, p := range b.Patients {
			if p.ExternalID == "" || !utf8.ValidString(p.ExternalID+p.FamilyName+p.GivenName) {
				t.Fatalf("bad patient %+v", p)
			}
			patients[p.ExternalID] = true
		}
		if len(b.Appointments) > b.Rows {
			t.Fatalf("%d appointments from %d events", len(b.Appointments), b.Rows)
		}
		for _, a := range b.Appointments {
			if a.ExternalID == "" || !patients[a.PatientExternalID] {
				t.Fatalf("appointment without ids or patient: %+v", a)
			}
			if a.Start.IsZero() || a.End.IsZero() || a.Start.Location() != loc {
				t.Fatalf("appointment time not in the practice zone: %v %v", a.Start, a.End)
			}
			if !utf8.ValidString(a.ExternalID + a.Practitioner + a.Location + a.Kind) {
				t.Fatal("invalid UTF-8 in appointment")
			}
		}
		for _, ps := range [][]string{reasons(b.Warnings), reasons(b.Rejected), reasons(b.Skipped)} {
			for _, r := range ps {
				if !utf8.ValidString(r) || strings.TrimSpace(r) == "" {
					t.Fatalf("bad problem reason %q", r)
				}
			}
		}
		if _, err := json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	})
}

func reasons(ps []schemas.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Reason
	}
	return out
}
