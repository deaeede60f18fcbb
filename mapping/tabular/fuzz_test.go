package tabular

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseCSV feeds arbitrary bytes through detection and mapping. Any
// input may fail as a file, but nothing may panic, and a batch that comes
// back must be consistent: every data row is accounted for exactly once,
// every appointment has its patient, and every end lies after its start.
func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{dsFile, englishFile, charlyFile} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(dsHeader + "\r\n" + okRow + "\r\n"))
	f.Add([]byte("Datum;Uhrzeit\r\n\"unclosed;x\r\n"))
	loc := berlin(f)
	profiles := Profiles()
	fallback := profile(f, "ds-win")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Detect(data, profiles)
		if err != nil {
			p = fallback
		}
		b, err := Parse(data, "fuzz.csv", p, loc)
		if err != nil {
			if b != nil {
				t.Fatalf("a file error must not come with a batch: %v", err)
			}
			return
		}
		if got := len(b.Appointments) + len(b.Rejected) + len(b.Skipped); got != b.Rows {
			t.Fatalf("rows %d, but %d imported + %d rejected + %d skipped", b.Rows, len(b.Appointments), len(b.Rejected), len(b.Skipped))
		}
		patients := map[string]bool{}
		for _, pt := range b.Patients {
			if patients[pt.ExternalID] {
				t.Fatalf("patient %q twice", pt.ExternalID)
			}
			patients[pt.ExternalID] = true
		}
		ids := map[string]bool{}
		for _, a := range b.Appointments {
			if !patients[a.PatientExternalID] {
				t.Fatalf("appointment %q without patient", a.ExternalID)
			}
			if ids[a.ExternalID] {
				t.Fatalf("appointment id %q twice", a.ExternalID)
			}
			ids[a.ExternalID] = true
			if !a.End.After(a.Start) {
				t.Fatalf("appointment %q ends %v, not after its start %v", a.ExternalID, a.End, a.Start)
			}
			if a.Start.Location() != loc {
				t.Fatalf("start not in the practice zone: %v", a.Start.Location())
			}
			if a.DurationMinutes != int(a.End.Sub(a.Start)/time.Minute) {
				t.Fatalf("duration %d does not match %v-%v", a.DurationMinutes, a.Start, a.End)
			}
		}
		for _, pr := range append(b.Rejected, b.Skipped...) {
			if pr.Line <= 0 || pr.Reason == "" {
				t.Fatalf("problem without line or reason: %+v", pr)
			}
		}
		if _, err := json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	})
}
