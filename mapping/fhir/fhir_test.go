package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	anamnesisDir = "../../fixtures/anamnesis"
	msDir        = "../../fixtures/appointments/fhir/ms-fhir-converter"
	isikDir      = "../../fixtures/appointments/fhir/gematik-isik"
	qrFile       = "anamnese_questionnaireresponse_r4.json"
	hcdSystem    = "http://example.com/v2-to-fhir-converter/Identifier/HCD"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

// msProfile is the profile a practice would configure for the converter's
// output: its patient number lives in the HCD identifier system.
func msProfile() Profile {
	p := DefaultProfile()
	p.Name = "ms-fhir-converter"
	p.PatientIDSystem = hcdSystem
	return p
}

func parseFile(t *testing.T, path string, p Profile) (*schemas.Batch, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	b, err := Parse(data, filepath.Base(path), p, berlin(t))
	require.NoError(t, err)
	return b, data
}

func TestQuestionnaireResponse(t *testing.T) {
	t.Parallel()
	b, data := parseFile(t, filepath.Join(anamnesisDir, qrFile), DefaultProfile())
	require.Equal(t, "fhir", b.Format)
	require.Equal(t, "default", b.Profile)
	require.Equal(t, 1, b.Rows)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Rejected)
	require.Empty(t, b.Skipped)
	require.Empty(t, b.Appointments)

	require.Equal(t, []schemas.Patient{{
		ExternalID: "10001", FamilyName: "Müller", GivenName: "Jürgen", BirthDate: "1958-03-12",
		Phones: []schemas.Phone{
			{E164: "+493023125001", Kind: schemas.PhoneLandline},
			{E164: "+491713920001", Kind: schemas.PhoneMobile},
		},
	}}, b.Patients)
	mobile, ok := b.Patients[0].Mobile()
	require.True(t, ok)
	require.Equal(t, "+491713920001", mobile, "the mobile is the second telecom entry")

	sum := sha256.Sum256(data)
	hash := "sha256:" + hex.EncodeToString(sum[:])
	purposes := []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}
	require.Len(t, b.Consents, 2)
	wa, sms := b.Consents[0], b.Consents[1]
	require.Equal(t, "10001", wa.PatientExternalID)
	require.Equal(t, schemas.ChannelWhatsApp, wa.Channel)
	require.Equal(t, schemas.ConsentGranted, wa.Action)
	require.Equal(t, schemas.SourceAnamnesisForm, wa.Source)
	require.Equal(t, "2027-01-05T18:42:05+01:00", rfc(wa.OccurredAt))
	require.Equal(t, "EW-2026-11", wa.TextVersion)
	require.Equal(t, purposes, wa.Purposes)
	require.Equal(t, hash+"#QuestionnaireResponse/anamnese-10001-20270105 item consent-whatsapp", wa.Evidence)

	// SMS false: never granted; recorded as refusal, as for GDT.
	require.Equal(t, schemas.ChannelSMS, sms.Channel)
	require.Equal(t, schemas.ConsentWithdrawn, sms.Action)
	require.Equal(t, "2027-01-05T18:42:05+01:00", rfc(sms.OccurredAt))
	require.Equal(t, "EW-2026-11", sms.TextVersion)
	require.Equal(t, purposes, sms.Purposes)
	require.Equal(t, hash+"#QuestionnaireResponse/anamnese-10001-20270105 item consent-sms", sms.Evidence)
}

// Free-text answers of the form never reach the batch.
func TestQuestionnaireResponseCarriesNoAnswers(t *testing.T) {
	t.Parallel()
	b, _ := parseFile(t, filepath.Join(anamnesisDir, qrFile), DefaultProfile())
	js, err := json.Marshal(b)
	require.NoError(t, err)
	require.NotContains(t, string(js), "keine bekannt")
	require.NotContains(t, string(js), "juergen.mueller@example.org")
}

var msExpected = []struct {
	file       string
	start, end string
	status     schemas.AppointmentStatus
}{
	{"SIU-S12-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked},
	{"SIU-S12-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusBooked},
	{"SIU-S13-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked},
	{"SIU-S13-02-expected.json", "2021-08-20T11:15:00+02:00", "2021-08-20T12:15:00+02:00", schemas.StatusBooked},
	{"SIU-S14-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked},
	{"SIU-S14-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusBooked},
	{"SIU-S15-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled},
	{"SIU-S15-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled},
	{"SIU-S16-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled},
	{"SIU-S16-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled},
	{"SIU-S17-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled},
	{"SIU-S17-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled},
	{"SIU-S26-01-expected.json", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusNoShow},
	{"SIU-S26-02-expected.json", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusNoShow},
}

func TestMSFHIRConverterBundles(t *testing.T) {
	t.Parallel()
	for _, tc := range msExpected {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, data := parseFile(t, filepath.Join(msDir, tc.file), msProfile())
			var raw struct{ Entry []json.RawMessage }
			require.NoError(t, json.Unmarshal(data, &raw))
			require.Equal(t, len(raw.Entry), b.Rows)
			require.Contains(t, []int{48, 31, 41}, b.Rows)

			require.Len(t, b.Appointments, 1)
			a := b.Appointments[0]
			require.Equal(t, "36996", a.ExternalID, "FILL identifier, not PLAC 12345")
			require.Equal(t, "PATID1234", a.PatientExternalID)
			require.Equal(t, tc.start, rfc(a.Start))
			require.Equal(t, tc.end, rfc(a.End))
			require.Equal(t, tc.status, a.Status)
			require.Equal(t, a.End.Sub(a.Start), time.Duration(a.DurationMinutes)*time.Minute, "start/end win over minutesDuration")
			require.NotEmpty(t, a.Practitioner)
			require.NotEmpty(t, a.Location)

			require.Len(t, b.Patients, 1)
			p := b.Patients[0]
			require.Equal(t, "PATID1234", p.ExternalID)
			require.Equal(t, "EVERYMAN", p.FamilyName)
			require.Equal(t, "ADAM", p.GivenName)
			require.Equal(t, "1988-08-18", p.BirthDate)
			require.Equal(t, "M", p.Sex)
			_, hasMobile := p.Mobile()
			require.False(t, hasMobile)
			require.Empty(t, p.Phones, "2222 ended, 12121212 and 7777 invalid, 1111 is not a phone")

			require.Empty(t, b.Consents)
			require.Empty(t, b.Rejected)

			var warnings []string
			for _, w := range b.Warnings {
				warnings = append(warnings, w.Reason)
			}
			require.Contains(t, warnings, "not a valid phone number; not used")
			require.Contains(t, warnings, "Patient is recorded as deceased; check before messaging")
			want := "minutesDuration 1 contradicts start/end (50 min); start/end used"
			if strings.Contains(tc.file, "-02") {
				want = "minutesDuration 70 contradicts start/end (60 min); start/end used"
			}
			require.Contains(t, warnings, want)
			for _, s := range b.Skipped {
				require.True(t, strings.HasPrefix(s.Reason, "unsupported resource type "), s.String())
				require.NotContains(t, s.Reason, "Practitioner")
				require.NotContains(t, s.Reason, "Location")
			}
		})
	}
}

func TestMSBundleWithDefaultSystemLinksNobody(t *testing.T) {
	t.Parallel()
	b, _ := parseFile(t, filepath.Join(msDir, "SIU-S12-01-expected.json"), DefaultProfile())
	require.Empty(t, b.Patients, "1234567 and PATID1234 are not in the practice's system")
	require.Empty(t, b.Appointments)
	require.Len(t, b.Rejected, 1)
	require.Contains(t, b.Rejected[0].Reason, "no identifier with system "+DefaultPatientIDSystem)
	require.Contains(t, skippedReasons(b), "patient unresolved (no identifier with the profile's system)")
}

func skippedReasons(b *schemas.Batch) []string {
	var out []string
	for _, s := range b.Skipped {
		out = append(out, s.Reason)
	}
	return out
}

func TestISiKAppointment(t *testing.T) {
	t.Parallel()
	b, _ := parseFile(t, filepath.Join(isikDir, "Appointment-ISiKTerminExample.json"), DefaultProfile())
	require.Equal(t, 1, b.Rows)
	require.Empty(t, b.Appointments)
	require.Empty(t, b.Patients)
	require.Empty(t, b.Consents)
	require.Empty(t, b.Rejected)
	require.Equal(t, []schemas.Problem{{Field: "Appointment", Reason: "status proposed; patient unresolved"}}, b.Skipped)
}

func TestISiKCommunication(t *testing.T) {
	t.Parallel()
	b, _ := parseFile(t, filepath.Join(isikDir, "Communication-ISiKNachrichtExample.json"), DefaultProfile())
	require.Equal(t, 1, b.Rows)
	require.Empty(t, b.Appointments)
	require.Empty(t, b.Patients)
	require.Equal(t, []schemas.Problem{{Field: "Communication", Reason: "unsupported resource type Communication"}}, b.Skipped)
	js, err := json.Marshal(b)
	require.NoError(t, err)
	require.NotContains(t, string(js), "Testnachricht")
}

type goldenCase struct {
	path string
	p    Profile
}

func goldenCases(t testing.TB) []goldenCase {
	cases := []goldenCase{
		{filepath.Join(anamnesisDir, qrFile), DefaultProfile()},
		{filepath.Join(isikDir, "Appointment-ISiKTerminExample.json"), DefaultProfile()},
		{filepath.Join(isikDir, "Communication-ISiKNachrichtExample.json"), DefaultProfile()},
	}
	for _, tc := range msExpected {
		cases = append(cases, goldenCase{filepath.Join(msDir, tc.file), msProfile()})
	}
	return cases
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, gc := range goldenCases(t) {
		t.Run(filepath.Base(gc.path), func(t *testing.T) {
			t.Parallel()
			b, _ := parseFile(t, gc.path, gc.p)
			got, err := json.MarshalIndent(b, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			golden := gc.path + ".golden.json"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create the golden file")
			require.Equal(t, string(want), string(got))
		})
	}
}

func parseJSON(t *testing.T, js string, p Profile) *schemas.Batch {
	t.Helper()
	b, err := Parse([]byte(js), "test.json", p, berlin(t))
	require.NoError(t, err)
	return b
}

const qrTemplate = `{
  "resourceType": "QuestionnaireResponse", "id": "qr1", "status": "%STATUS%",
  "contained": [{"resourceType": "Patient", "id": "p",
    "identifier": [{"system": "https://praxis-dr-beispiel.example/fhir/sid/pat-nr", "value": "10005"}],
    "name": [{"use": "old", "family": "Alt", "given": ["A"]}, {"family": "Meißner", "given": ["Sören", "Karl"]}],
    "telecom": [{"system": "phone", "value": "0171 3920005", "rank": 2}, {"system": "phone", "value": "0176 04069010", "rank": 1}]}],
  "subject": {"reference": "#p"},
  "authored": "%AUTHORED%",
  "item": [{"linkId": "g", "answer": [{"valueString": "x", "item": [
    {"linkId": "consent-text-version", "answer": [{"valueCoding": {"code": "%TEXT%"}}]},
    {"linkId": "consent-whatsapp", "answer": [{"valueString": "%WA%"}]},
    {"linkId": "consent-sms"}
  ]}]}]
}`

func qr(repl ...string) string {
	s := qrTemplate
	defaults := map[string]string{"%STATUS%": "completed", "%AUTHORED%": "2027-03-28T02:30:00", "%TEXT%": "EW-2026-11", "%WA%": "Ja"}
	for i := 0; i+1 < len(repl); i += 2 {
		defaults[repl[i]] = repl[i+1]
	}
	for k, v := range defaults {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func TestQuestionnaireResponseVariants(t *testing.T) {
	t.Parallel()
	b := parseJSON(t, qr(), DefaultProfile())
	require.Len(t, b.Patients, 1)
	p := b.Patients[0]
	require.Equal(t, "Meißner", p.FamilyName, "old names are never used")
	require.Equal(t, "Sören", p.GivenName, "first given name only")
	require.Equal(t, "+4917604069010", p.Phones[0].E164, "rank 1 first")
	require.Len(t, b.Consents, 1, "an unanswered item is neither consent nor refusal")
	c := b.Consents[0]
	require.Equal(t, schemas.ConsentGranted, c.Action)
	require.Equal(t, "2027-03-28T03:30:00+02:00", rfc(c.OccurredAt), "no offset: practice-local, gap rule")
	require.Equal(t, []string{
		"time has no offset; read as practice-local time",
		"local time does not exist (daylight-saving gap); read with the offset before the gap",
	}, []string{b.Warnings[0].Reason, b.Warnings[1].Reason})
	require.Equal(t, "QuestionnaireResponse.authored", b.Warnings[0].Field)

	b = parseJSON(t, qr("%TEXT%", "EW-1999-01"), DefaultProfile())
	require.Empty(t, b.Consents)
	require.Contains(t, b.Warnings[len(b.Warnings)-1].Reason, `consent text version "EW-1999-01" is not declared`)

	b = parseJSON(t, qr("%WA%", "vielleicht"), DefaultProfile())
	require.Empty(t, b.Consents)
	require.Contains(t, b.Warnings[0].Reason, "neither true/false nor a declared yes or no")
	require.NotContains(t, b.Warnings[0].Reason, "vielleicht")

	for _, st := range []string{"in-progress", "entered-in-error", "stopped"} {
		b = parseJSON(t, qr("%STATUS%", st), DefaultProfile())
		require.Empty(t, b.Consents, st)
		require.Empty(t, b.Patients, st)
		require.Equal(t, []string{`questionnaire response status "` + st + `"`}, skippedReasons(b))
	}

	b = parseJSON(t, qr("%AUTHORED%", "2027-01-05"), DefaultProfile())
	require.Empty(t, b.Consents, "a date alone cannot order consent events")

	b = parseJSON(t, strings.Replace(qr(), `"#p"`, `"#nobody"`, 1), DefaultProfile())
	require.Equal(t, []string{"patient unresolved"}, skippedReasons(b))
	require.Empty(t, b.Patients)
}

const bundleTemplate = `{"resourceType": "Bundle", "type": "collection", "entry": [
  {"fullUrl": "urn:uuid:a1", "resource": {"resourceType": "Appointment", "id": "a1", "status": "%STATUS%",
    "identifier": [{"system": "urn:pms:termin", "value": "T-1"}],
    "start": "2027-02-15T08:00:00+01:00", %END%
    "appointmentType": {"text": "Kontrolle"},
    "participant": [
      {"actor": {"reference": "%PATREF%"}},
      {"actor": {"reference": "PractitionerRole/r1"}},
      {"actor": {"reference": "Location/l1", "display": "Raum 2"}}]}},
  {"fullUrl": "https://pms.example/fhir/Patient/p1", "resource": {"resourceType": "Patient", "id": "p1",
    "identifier": [{"system": "https://praxis-dr-beispiel.example/fhir/sid/pat-nr", "value": "030001"}],
    "name": [{"family": "Neumann", "given": ["Björn"]}], "birthDate": "1980-04-04",
    "telecom": [{"system": "phone", "use": "mobile", "value": "030 23125001"}, {"system": "email", "value": "x@example.org"}]}},
  {"resource": {"resourceType": "PractitionerRole", "id": "r1", "practitioner": {"reference": "Practitioner/d1"}}},
  {"resource": {"resourceType": "Practitioner", "id": "d1", "name": [{"prefix": ["Dr."], "given": ["Anna"], "family": "Beispiel"}]}},
  {"resource": {"resourceType": "Location", "id": "l1", "name": "Zimmer 2"}},
  {"request": {"method": "DELETE", "url": "Appointment/old"}},
  {"resource": {"resourceType": "Observation", "id": "o1", "valueString": "Befund"}}
]}`

func bundleJSON(repl ...string) string {
	s := bundleTemplate
	defaults := map[string]string{"%STATUS%": "booked", "%END%": `"end": "2027-02-15T08:30:00+01:00", "minutesDuration": 30,`, "%PATREF%": "Patient/p1"}
	for i := 0; i+1 < len(repl); i += 2 {
		defaults[repl[i]] = repl[i+1]
	}
	for k, v := range defaults {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func TestBundleAppointment(t *testing.T) {
	t.Parallel()
	p := DefaultProfile()
	p.AppointmentIDSystem = "urn:pms:termin"
	b := parseJSON(t, bundleJSON(), p)
	require.Equal(t, 7, b.Rows)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Rejected)
	require.Equal(t, []schemas.Problem{
		{Field: "Bundle.entry[5]", Reason: "entry without a resource"},
		{Field: "Bundle.entry[6].resource", Reason: "unsupported resource type Observation"},
	}, b.Skipped)
	require.Len(t, b.Appointments, 1)
	a := b.Appointments[0]
	require.Equal(t, "T-1", a.ExternalID)
	require.Equal(t, "030001", a.PatientExternalID, "leading zero kept")
	require.Equal(t, "2027-02-15T08:00:00+01:00", rfc(a.Start))
	require.Equal(t, "2027-02-15T08:30:00+01:00", rfc(a.End))
	require.Equal(t, 30, a.DurationMinutes)
	require.Equal(t, "Dr. Anna Beispiel", a.Practitioner)
	require.Equal(t, "Raum 2", a.Location, "the reference's display wins")
	require.Equal(t, "Kontrolle", a.Kind)
	require.Equal(t, schemas.StatusBooked, a.Status)
	require.Equal(t, []schemas.Patient{{ExternalID: "030001", FamilyName: "Neumann", GivenName: "Björn", BirthDate: "1980-04-04",
		Phones: []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}}}}, b.Patients,
		"use=mobile does not make a landline a mobile")

	// The absolute fullUrl resolves too; only minutesDuration: end follows.
	b = parseJSON(t, bundleJSON("%PATREF%", "https://pms.example/fhir/Patient/p1", "%END%", `"minutesDuration": 45,`), p)
	require.Len(t, b.Appointments, 1)
	require.Equal(t, "2027-02-15T08:45:00+01:00", rfc(b.Appointments[0].End))
	require.Equal(t, 45, b.Appointments[0].DurationMinutes)
}

func TestBundleStatuses(t *testing.T) {
	t.Parallel()
	cases := map[string]schemas.AppointmentStatus{
		"booked": schemas.StatusBooked, "cancelled": schemas.StatusCancelled,
		"entered-in-error": schemas.StatusCancelled, "noshow": schemas.StatusNoShow,
		"fulfilled": schemas.StatusBooked, "arrived": schemas.StatusBooked, "checked-in": schemas.StatusBooked,
	}
	for st, want := range cases {
		b := parseJSON(t, bundleJSON("%STATUS%", st), DefaultProfile())
		require.Len(t, b.Appointments, 1, st)
		require.Equal(t, want, b.Appointments[0].Status, st)
	}
	for _, st := range []string{"proposed", "pending", "waitlist"} {
		b := parseJSON(t, bundleJSON("%STATUS%", st), DefaultProfile())
		require.Empty(t, b.Appointments, st)
		require.Contains(t, skippedReasons(b), "status "+st)
		require.Len(t, b.Patients, 1, "the patient entry itself still imports")
	}
	b := parseJSON(t, bundleJSON("%STATUS%", "gebucht"), DefaultProfile())
	require.Empty(t, b.Appointments)
	require.Equal(t, []schemas.Problem{{Field: "Bundle.entry[0].resource.status", Reason: `unknown appointment status "gebucht"`}}, b.Rejected)
}

func TestBundleUnresolvedPatient(t *testing.T) {
	t.Parallel()
	b := parseJSON(t, bundleJSON("%PATREF%", "Patient/p2"), DefaultProfile())
	require.Empty(t, b.Appointments)
	require.Contains(t, skippedReasons(b), "patient unresolved")
	b = parseJSON(t, bundleJSON("%PATREF%", "https://other.example/fhir/Patient/p1"), DefaultProfile())
	require.Empty(t, b.Appointments, "an absolute URL of another server is not this bundle's patient")
	require.Contains(t, skippedReasons(b), "patient unresolved")
	b = parseJSON(t, bundleJSON("%PATREF%", "Location/l1"), DefaultProfile())
	require.Contains(t, skippedReasons(b), "no patient participant")
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		data string
		err  error
	}{
		"empty":           {"", ErrEmpty},
		"blank":           {"  \n", ErrEmpty},
		"gdt":             {"01380006310\r\n", ErrNotFHIR},
		"array":           {"[1,2]", ErrNotFHIR},
		"no resourceType": {`{"id": "x"}`, ErrNotFHIR},
		"bad entry list":  {`{"resourceType": "Bundle", "entry": {"a": 1}}`, ErrNotFHIR},
	}
	for name, tc := range cases {
		_, err := Parse([]byte(tc.data), "x.json", DefaultProfile(), berlin(t))
		require.ErrorIs(t, err, tc.err, name)
		require.Contains(t, err.Error(), "x.json", name)
	}
	_, err := Parse([]byte(`{"resourceType":"Patient"}`), "x.json", DefaultProfile(), nil)
	require.Error(t, err)
}

func TestErrorsDoNotQuoteContent(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "a", "answer": [{"valueString": "Herzinfarkt 2019"}]}`), "x.json", DefaultProfile(), berlin(t))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "Herzinfarkt")
	b := parseJSON(t, `{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "birthDate": 1958}}]}`, DefaultProfile())
	require.Len(t, b.Rejected, 1)
	require.Contains(t, b.Rejected[0].Reason, "not valid FHIR JSON")
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	bad := []func(*Profile){
		func(p *Profile) { p.PatientIDSystem = "" },
		func(p *Profile) { p.Consent = append(p.Consent, ConsentRule{LinkID: "x", Channel: "fax"}) },
		func(p *Profile) {
			p.Consent = append(p.Consent, ConsentRule{LinkID: "consent-sms", Channel: schemas.ChannelSMS})
		},
		func(p *Profile) { p.TextVersionLinkID = "" },
		func(p *Profile) { p.TextVersionLinkID = "consent-sms" },
		func(p *Profile) { p.TextPurposes = map[string][]schemas.Purpose{"EW": {"newsletter"}} },
		func(p *Profile) { p.Yes = append(p.Yes, "nein") },
	}
	for i, mutate := range bad {
		p := DefaultProfile()
		mutate(&p)
		_, err := Parse([]byte(`{"resourceType":"Patient"}`), "x.json", p, berlin(t))
		require.Error(t, err, "case %d", i)
	}
}

// The ISiK appointment is skipped, but its times must still read right
// should its status ever become booked: Z converts to the Berlin offset.
func TestISiKTimesInBerlin(t *testing.T) {
	t.Parallel()
	m := &mapper{loc: berlin(t), b: &schemas.Batch{}}
	start, err := m.instant("2022-12-10T09:00:00Z", "start")
	require.NoError(t, err)
	end, err := m.instant("2022-12-10T11:00:00Z", "end")
	require.NoError(t, err)
	require.Equal(t, "2022-12-10T10:00:00+01:00", rfc(start))
	require.Equal(t, "2022-12-10T12:00:00+01:00", rfc(end))
	require.Empty(t, m.b.Warnings)
	_, err = m.instant("2022-12-10", "start")
	require.Error(t, err)
}
