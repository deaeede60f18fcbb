package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

type previewJSON struct {
	Files []struct {
		Path     string `json:"path"`
		Format   string `json:"format"`
		Rows     int    `json:"rows"`
		Imported int    `json:"imported"`
		Rejected []struct {
			Line   int    `json:"line"`
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"rejected"`
		Warnings []struct {
			Line int `json:"line"`
		} `json:"warnings"`
		Error string `json:"error"`
	} `json:"files"`
	Patients []struct {
		ExternalID string `json:"external_id"`
		FamilyName string `json:"family_name"`
		GivenName  string `json:"given_name"`
		BirthDate  string `json:"birth_date"`
		Phones     []struct {
			E164 string `json:"e164"`
			Kind string `json:"kind"`
		} `json:"phones"`
	} `json:"patients"`
	Appointments []struct {
		ExternalID        string `json:"external_id"`
		PatientExternalID string `json:"patient_external_id"`
		Start             string `json:"start"`
		DurationMinutes   int    `json:"duration_minutes"`
		Practitioner      string `json:"practitioner"`
		Status            string `json:"status"`
	} `json:"appointments"`
	ConsentEvents []struct {
		PatientExternalID string   `json:"patient_external_id"`
		Channel           string   `json:"channel"`
		Purposes          []string `json:"purposes"`
		Action            string   `json:"action"`
		Source            string   `json:"source"`
		OccurredAt        string   `json:"occurred_at"`
	} `json:"consent_events"`
}

func TestIngestDryRunPreview(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join("..", "..", "fixtures", "appointments", "termine_ds_cp1252.csv")
	gdt := filepath.Join("..", "..", "fixtures", "anamnesis", "anamnese_6310_gdt21_latin1.gdt")
	out, err := run(t, "--data-dir", dir, "ingest", "--dry-run", "--json", csv, gdt)
	require.NoError(t, err, out)
	var pv previewJSON
	require.NoError(t, json.Unmarshal([]byte(out), &pv), out)
	require.Len(t, pv.Files, 2)
	f := pv.Files[0]
	require.Equal(t, "csv", f.Format)
	require.Equal(t, 26, f.Rows)
	require.Equal(t, 24, f.Imported)
	require.Len(t, f.Rejected, 1)
	require.Equal(t, 17, f.Rejected[0].Line)
	require.Equal(t, "Datum", f.Rejected[0].Field)
	require.NotEmpty(t, f.Rejected[0].Reason)
	lines := map[int]bool{}
	for _, w := range f.Warnings {
		lines[w.Line] = true
	}
	require.Equal(t, map[int]bool{12: true, 13: true, 24: true, 27: true}, lines)
	require.Equal(t, "gdt", pv.Files[1].Format)
	require.Len(t, pv.Appointments, 24)
	first := pv.Appointments[0]
	require.Equal(t, "10001-20270111T0800", first.ExternalID)
	require.Equal(t, "10001", first.PatientExternalID)
	require.Equal(t, "2027-01-11T08:00:00+01:00", first.Start)
	require.Equal(t, 30, first.DurationMinutes)
	require.Equal(t, "Dr. Beispiel", first.Practitioner)
	require.Equal(t, "booked", first.Status)
	require.Equal(t, "Müller", pv.Patients[0].FamilyName)
	require.Equal(t, "1958-03-12", pv.Patients[0].BirthDate)
	require.Equal(t, "+491713920001", pv.Patients[0].Phones[0].E164)
	require.Equal(t, "mobile", pv.Patients[0].Phones[0].Kind)
	var granted int
	for _, c := range pv.ConsentEvents {
		require.Equal(t, "10006", c.PatientExternalID)
		require.Equal(t, "anamnesis_form", c.Source)
		require.Equal(t, "2027-01-08T19:15:30+01:00", c.OccurredAt)
		if c.Action == "granted" {
			granted++
			require.Equal(t, "whatsapp", c.Channel)
			require.Equal(t, []string{"appointment_reminder", "appointment_change"}, c.Purposes)
		}
	}
	require.Equal(t, 1, granted)
	_, err = filepath.Glob(filepath.Join(dir, "*.db"))
	require.NoError(t, err)
	matches, _ := filepath.Glob(filepath.Join(dir, "praxisbote.db"))
	require.Empty(t, matches, "a dry run stores nothing")
}

func TestIngestReportsUnreadableFile(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "kaputt.csv")
	require.NoError(t, writeFile(bad, "foo;bar\n1;2\n"))
	out, err := run(t, "--data-dir", t.TempDir(), "ingest", "--dry-run", "--json", bad)
	var ee exitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 2, ee.code)
	var pv previewJSON
	require.NoError(t, json.Unmarshal([]byte(out), &pv), out)
	require.Len(t, pv.Files, 1)
	require.Contains(t, pv.Files[0].Error, "foo", "the error lists the columns it saw")
}

func TestQRPoster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := run(t, "--data-dir", dir, "qr", "--out", filepath.Join(dir, "poster"))
	require.NoError(t, err, out)
	require.Contains(t, out, "https://wa.me/493023125100?text=Anmelden%20PRAXIS-7F3K")
	require.Contains(t, out, "STOP")
	pdf, err := os.ReadFile(filepath.Join(dir, "poster.pdf"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
	png, err := os.ReadFile(filepath.Join(dir, "poster.png"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
}

func TestProfilesCheck(t *testing.T) {
	t.Parallel()
	out, err := run(t, "profiles", "check", filepath.Join("..", "..", "fixtures", "appointments", "termine_utf8_bom.csv"))
	require.NoError(t, err, out)
	require.Contains(t, out, "profile english-csv")
	require.Contains(t, out, "yes  english-csv")
	require.Contains(t, out, "no   ds-win")
	out, err = run(t, "profiles", "check", filepath.Join("..", "..", "fixtures", "appointments", "termine_charly_like.xlsx"))
	require.NoError(t, err, out)
	require.Contains(t, out, "profile charly-xlsx")
	out, err = run(t, "profiles", "list")
	require.NoError(t, err)
	for _, name := range []string{"ds-win", "english-csv", "charly-xlsx"} {
		require.Contains(t, out, name)
	}
}

func TestConsentRecordHistoryVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join("..", "..", "fixtures", "appointments", "termine_ds_cp1252.csv")
	out, err := run(t, "--data-dir", dir, "ingest", csv)
	require.NoError(t, err, out)
	_, err = run(t, "--data-dir", dir, "consent", "record", "--patient", "10007", "--action", "granted")
	require.ErrorContains(t, err, "--reason is required")
	out, err = run(t, "--data-dir", dir, "consent", "record", "--patient", "10007", "--action", "granted", "--reason", "paper form at the desk", "--by", "anna")
	require.NoError(t, err, out)
	out, err = run(t, "--data-dir", dir, "consent", "record", "--patient", "10007", "--channel", "sms", "--action", "withdrawn", "--reason", "phone call")
	require.NoError(t, err, out)
	out, err = run(t, "--data-dir", dir, "consent", "history", "--patient", "10007", "--json")
	require.NoError(t, err, out)
	var hist []struct {
		Channel    string   `json:"channel"`
		Action     string   `json:"action"`
		Source     string   `json:"source"`
		Purposes   []string `json:"purposes"`
		RecordedBy string   `json:"recorded_by"`
		Evidence   string   `json:"evidence"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &hist), out)
	require.Len(t, hist, 2)
	require.Equal(t, "granted", hist[0].Action)
	require.Equal(t, "staff", hist[0].Source)
	require.Equal(t, "staff:anna", hist[0].RecordedBy)
	require.Equal(t, []string{"appointment_change", "appointment_reminder"}, hist[0].Purposes)
	require.Equal(t, "staff: paper form at the desk", hist[0].Evidence)
	require.Equal(t, "withdrawn", hist[1].Action)
	require.Len(t, hist[1].Purposes, 5)
	out, err = run(t, "--data-dir", dir, "consent", "history", "--phone", "+49 171 3920007")
	require.NoError(t, err, out)
	require.Contains(t, out, "granted")
	out, err = run(t, "--data-dir", dir, "consent", "verify")
	require.NoError(t, err, out)
	require.Contains(t, out, "2 events")
	require.Contains(t, out, "ok=true")
}

func TestIngestWithAProfileFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A practice's own profile: the English export under another name.
	src, err := os.ReadFile(filepath.Join("..", "..", "mapping", "tabular", "profiles", "english-csv.yaml"))
	require.NoError(t, err)
	own := bytes.Replace(src, []byte("name: english-csv"), []byte("name: meine-praxis"), 1)
	require.NotEqual(t, src, own)
	path := filepath.Join(dir, "meine-praxis.yaml")
	require.NoError(t, os.WriteFile(path, own, 0o600))
	csv := filepath.Join("..", "..", "fixtures", "appointments", "termine_utf8_bom.csv")
	out, err := run(t, "--data-dir", dir, "ingest", "--dry-run", "--json", "--profile", path, csv)
	require.NoError(t, err, out)
	require.Contains(t, out, `"profile": "meine-praxis"`)
	_, err = run(t, "--data-dir", dir, "ingest", "--dry-run", "--json", "--profile", "nope", csv)
	require.Error(t, err)
}
