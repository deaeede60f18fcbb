package gdt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse panic, that a file-level error
// and a batch never come together, and that whatever comes out is valid
// UTF-8 and marshals (the batch goes to JSON and into the store).
func FuzzParse(f *testing.F) {
	for _, name := range gdtFixtures {
		data, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(gdtFile(consentRecord("8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11")...))
	f.Add([]byte("0143000010006\n01380006310\r"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data, "fuzz.gdt", DefaultProfile(), loc)
		if err != nil {
			if b != nil {
				t.Fatal("batch and error together")
			}
			return
		}
		if b.Rows < 1 {
			t.Fatalf("parsed without a record: %d rows", b.Rows)
		}
		for _, p := range b.Patients {
			if !utf8.ValidString(p.FamilyName) || !utf8.ValidString(p.GivenName) || !utf8.ValidString(p.ExternalID) {
				t.Fatal("invalid UTF-8 in patient")
			}
		}
		for _, c := range b.Consents {
			if c.OccurredAt.IsZero() || c.PatientExternalID == "" {
				t.Fatal("undated or unowned consent event")
			}
		}
		if _, err := json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	})
}
