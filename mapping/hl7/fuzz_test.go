package hl7

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse panic (odd delimiters,
// unterminated escapes, truncated timestamps, huge durations), that an
// error and a batch never come together, that every appointment has its
// ids and its patient in the batch, and that whatever comes out is valid
// UTF-8 and marshals.
func FuzzParse(f *testing.F) {
	for _, name := range append(append([]string{}, siuFixtures...), "SIU_12.hl7") {
		data, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(siu("S12"))
	f.Add(siu("S15", "-TQ1", seg("SCH", map[int]string{1: "P", 11: "^^^202703280230^202703280300", 9: "1e3", 10: "h", 25: "Dc"})))
	f.Add([]byte("MSH#*+!$#PVS######SIU*S12#C1\rPID#1##1***A*MR#\\X00\\!X0!#!.sp!\r"))
	f.Add([]byte("\x0bMSH|^~\\&|A||||||SIU^S26|1|P|2.5||||||8859/1\rSCH||1\rTQ1|||||||202710310230\rPID|1||1^^^^MR|M\xfcller\r\x1c\r"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data, "fuzz.hl7", DefaultProfile(), loc)
		if err != nil {
			if b != nil {
				t.Fatal("batch and error together")
			}
			return
		}
		patients := map[string]bool{}
		for _, p := range b.Patients {
			if p.ExternalID == "" || !utf8.ValidString(p.ExternalID+p.FamilyName+p.GivenName+p.BirthDate) {
				t.Fatalf("bad patient %+v", p)
			}
			patients[p.ExternalID] = true
		}
		if len(b.Appointments) > b.Rows {
			t.Fatalf("%d appointments from %d messages", len(b.Appointments), b.Rows)
		}
		for _, a := range b.Appointments {
			if a.ExternalID == "" || !patients[a.PatientExternalID] {
				t.Fatalf("appointment without ids or patient: %+v", a)
			}
			if a.Start.IsZero() || a.End.IsZero() || a.Start.Location() != loc || a.End.Location() != loc {
				t.Fatalf("appointment time not in the practice zone: %v %v", a.Start, a.End)
			}
			if !utf8.ValidString(a.ExternalID + a.Practitioner + a.Location + a.Kind) {
				t.Fatal("invalid UTF-8 in appointment")
			}
		}
		if _, err := json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	})
}
