package fhir

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse panic (deep nesting, cyclic
// "#" references, wrong JSON types), that an error and a batch never come
// together, and that every consent event is dated and owned.
func FuzzParse(f *testing.F) {
	for _, gc := range goldenCases(f) {
		data, err := os.ReadFile(gc.path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, gc.p.PatientIDSystem == hcdSystem)
	}
	f.Add([]byte(qr()), false)
	f.Add([]byte(bundleJSON()), false)
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","status":"completed","subject":{"reference":"#"},"contained":[{"resourceType":"Patient","id":"x","contained":[{"resourceType":"Patient"}]}]}`), false)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, hcd bool) {
		p := DefaultProfile()
		if hcd {
			p = msProfile()
		}
		b, err := Parse(data, "fuzz.json", p, loc)
		if err != nil {
			if b != nil {
				t.Fatal("batch and error together")
			}
			return
		}
		for _, c := range b.Consents {
			if c.OccurredAt.IsZero() || c.PatientExternalID == "" {
				t.Fatal("undated or unowned consent event")
			}
		}
		for _, a := range b.Appointments {
			if a.PatientExternalID == "" || a.ExternalID == "" {
				t.Fatal("appointment without ids")
			}
		}
		if _, err := json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	})
}
