package ical

import (
	"bytes"
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
	fixtures    = "../../fixtures/appointments"
	calendarICS = "kalender_behandler1.ics"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	require.NoError(t, err)
	return data
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

func parseBytes(t *testing.T, data []byte) *schemas.Batch {
	t.Helper()
	b, err := Parse(data, "test.ics", DefaultProfile(), berlin(t))
	require.NoError(t, err)
	return b
}

// ics builds a calendar with CRLF line ends around the given lines.
func ics(lines ...string) []byte {
	head := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//DE", "X-WR-CALNAME:Behandler 2"}
	all := append(append(head, lines...), "END:VCALENDAR")
	return []byte(strings.Join(all, "\r\n") + "\r\n")
}

// event builds a VEVENT with a patient; overrides replace or add
// properties by name ("NAME" alone removes it).
func event(overrides ...string) []string {
	props := []string{
		"UID:t-1@test",
		"DTSTART;TZID=Europe/Berlin:20270222T080000",
		"DTEND;TZID=Europe/Berlin:20270222T083000",
		"SUMMARY:Kontrolle – Vogt\\, Helga",
		"DESCRIPTION:Patient: Vogt\\, Helga\\nPat.-Nr.: 40001",
		"X-PRAXIS-PATNR:40001",
		"X-PRAXIS-MOBIL:0171 3920051",
	}
	nameOf := func(l string) string {
		i := strings.IndexAny(l, ";:")
		if i < 0 {
			return l
		}
		return l[:i]
	}
	for _, o := range overrides {
		replaced := false
		for i, p := range props {
			if nameOf(p) == nameOf(o) {
				props[i] = o
				replaced = true
			}
		}
		if !replaced {
			props = append(props, o)
		}
	}
	out := []string{"BEGIN:VEVENT"}
	for _, p := range props {
		if strings.ContainsAny(p, ";:") {
			out = append(out, p)
		}
	}
	return append(out, "END:VEVENT")
}

// The README's expectations for kalender_behandler1.ics, value by value.
func TestCalendarFixture(t *testing.T) {
	t.Parallel()
	b, err := Parse(read(t, calendarICS), calendarICS, DefaultProfile(), berlin(t))
	require.NoError(t, err)
	require.Equal(t, "ical", b.Format)
	require.Equal(t, "default", b.Profile)
	require.Equal(t, 7, b.Rows, "7 VEVENTs")
	require.Empty(t, b.Rejected)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Consents, "consent: none")
	require.False(t, b.Snapshot)

	const practitioner = "Behandler 1 – Dr. Beispiel"
	const location = "Praxis Dr. Beispiel, Behandlungszimmer 1"
	type row struct {
		line             int
		uid, patnr       string
		family, given    string
		start, end       string
		status           schemas.AppointmentStatus
		mobile, kind     string
		durationMinutes  int
		patientFirstLine int
	}
	want := []row{
		{26, "termin-88101@praxis-dr-beispiel.example", "40001", "Vogt", "Helga", "2027-02-22T08:00:00+01:00", "2027-02-22T08:30:00+01:00", schemas.StatusBooked, "+491713920051", "Kontrolle", 30, 26},
		{41, "termin-88102@praxis-dr-beispiel.example", "40002", "Krüger", "Bernd", "2027-02-22T09:00:00+01:00", "2027-02-22T10:00:00+01:00", schemas.StatusBooked, "+4917604069052", "Wurzelbehandlung", 60, 41},
		{57, "termin-88103@praxis-dr-beispiel.example", "40003", "Albrecht", "Sabine", "2027-02-23T11:00:00+01:00", "2027-02-23T11:30:00+01:00", schemas.StatusCancelled, "+4917604069053", "PZR", 30, 57},
		{73, "termin-88104@praxis-dr-beispiel.example", "40004", "Hübner", "Jörg", "2027-02-24T14:00:00+01:00", "2027-02-24T14:30:00+01:00", schemas.StatusBooked, "+491713920054", "Kontrolle", 30, 73},
		{89, "termin-88105@praxis-dr-beispiel.example", "40005", "Sánchez Müller", "Inés", "2027-03-29T08:30:00+02:00", "2027-03-29T09:15:00+02:00", schemas.StatusBooked, "+491713920055", "Füllung", 45, 89},
	}
	require.Len(t, b.Appointments, 5)
	require.Len(t, b.Patients, 5)
	booked, cancelled := 0, 0
	for i, w := range want {
		a, p := b.Appointments[i], b.Patients[i]
		require.Equal(t, schemas.Appointment{
			ExternalID:        w.uid,
			PatientExternalID: w.patnr,
			Start:             a.Start,
			End:               a.End,
			DurationMinutes:   w.durationMinutes,
			Practitioner:      practitioner,
			Location:          location,
			Kind:              w.kind,
			Status:            w.status,
			Line:              w.line,
		}, a, w.uid)
		require.Equal(t, w.start, rfc(a.Start), w.uid)
		require.Equal(t, w.end, rfc(a.End), w.uid)
		require.Equal(t, "Europe/Berlin", a.Start.Location().String(), "instants are given in the practice zone")
		require.Equal(t, schemas.Patient{
			ExternalID: w.patnr, FamilyName: w.family, GivenName: w.given,
			Phones: []schemas.Phone{{E164: w.mobile, Kind: schemas.PhoneMobile}},
			Line:   w.patientFirstLine,
		}, p, w.uid)
		mobile, ok := p.Mobile()
		require.True(t, ok)
		require.Equal(t, w.mobile, mobile)
		require.Empty(t, p.BirthDate, "birth dates are not in the file")
		switch a.Status {
		case schemas.StatusBooked:
			booked++
		case schemas.StatusCancelled:
			cancelled++
		}
	}
	require.Equal(t, 4, booked)
	require.Equal(t, 1, cancelled)
	// termin-88104: DTSTART:20270224T130000Z is 14:00 local time.
	require.Equal(t, time.Date(2027, 2, 24, 13, 0, 0, 0, time.UTC), b.Appointments[3].Start.UTC())

	require.Equal(t, []schemas.Problem{
		{Line: 108, Field: "DTSTART", Reason: "not an appointment: all-day event (VALUE=DATE); no patient (X-PRAXIS-PATNR)"},
		{Line: 118, Field: "RRULE", Reason: "not an appointment: recurring event (RRULE); not expanded into appointments; no patient (X-PRAXIS-PATNR)"},
	}, b.Skipped)
}

// RFC 5545 §3.1: the second fold of termin-88105's DESCRIPTION falls
// between the two bytes of "ü". Unfolding bytes first gives it back whole.
func TestDecodeFoldInsideUTF8(t *testing.T) {
	t.Parallel()
	data := read(t, calendarICS)
	require.Contains(t, string(data), "R\xC3\r\n \xBCckruf", "the fixture still splits ü across a fold")
	require.False(t, bytes.Contains(data, []byte("Rückruf")))

	cals, probs, err := Decode(data)
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, cals, 1)
	cal := cals[0]
	require.Equal(t, "VCALENDAR", cal.Name)
	require.Equal(t, 1, cal.Line)
	require.Len(t, cal.Children("VTIMEZONE"), 1)
	events := cal.Children("VEVENT")
	require.Len(t, events, 7)

	var ev Component
	for _, e := range events {
		if uid, _ := e.Prop("UID"); uid.Value == "termin-88105@praxis-dr-beispiel.example" {
			ev = e
		}
	}
	require.Equal(t, 89, ev.Line)
	desc, ok := ev.Prop("DESCRIPTION")
	require.True(t, ok)
	require.Equal(t, 97, desc.Line)
	require.Equal(t, "Patient: Sánchez Müller, Inés\n"+
		"Pat.-Nr.: 40005\n"+
		"Mobil: 0171 3920055\n"+
		"Hinweis: Patientin wünscht Termine möglichst vor 10:00 Uhr, Rückruf bei Änderungen.", desc.Text())
	require.Equal(t, `Patient: Sánchez Müller\, Inés\nPat.-Nr.: 40005\nMobil: 0171 3920055\nHinweis: Patientin wünscht Termine möglichst vor 10:00 Uhr, Rückruf bei Änderungen.`, desc.Value, "Value keeps the escapes")

	start, _ := ev.Prop("DTSTART")
	require.Equal(t, map[string][]string{"TZID": {"Europe/Berlin"}}, start.Params)
	require.Equal(t, "Europe/Berlin", start.Param("tzid"))
	require.Equal(t, "20270329T083000", start.Value)
	_, hasStatus := ev.Prop("STATUS")
	require.False(t, hasStatus, "termin-88105 has no STATUS")

	// The other folded DESCRIPTIONs unfold too.
	for _, e := range events[:4] {
		d, _ := e.Prop("DESCRIPTION")
		require.NotContains(t, d.Text(), "\r")
		require.Len(t, strings.Split(d.Text(), "\n"), 3)
	}
	d, _ := events[1].Prop("DESCRIPTION")
	require.Equal(t, "Patient: Krüger, Bernd\nPat.-Nr.: 40002\nMobil: +49 176 04069052", d.Text())

	name, _ := cal.Prop("X-WR-CALNAME")
	require.Equal(t, "Behandler 1 – Dr. Beispiel", name.Text())
}

// DESCRIPTION can hold clinical notes: nothing of it but the patient's
// name may reach the batch.
func TestBatchCarriesNoDescription(t *testing.T) {
	t.Parallel()
	data := read(t, calendarICS)
	b := parseBytes(t, data)
	js, err := json.Marshal(b)
	require.NoError(t, err)
	cals, _, err := Decode(data)
	require.NoError(t, err)
	checked := 0
	for _, ev := range cals[0].Children("VEVENT") {
		d, ok := ev.Prop("DESCRIPTION")
		if !ok {
			continue
		}
		for _, l := range strings.Split(d.Text(), "\n") {
			if strings.HasPrefix(l, "Patient:") {
				continue
			}
			require.NotContains(t, string(js), l)
			checked++
		}
	}
	require.Equal(t, 11, checked)
	require.NotContains(t, string(js), "Hinweis")
	require.NotContains(t, string(js), "Rückruf")
}

func TestGolden(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, read(t, calendarICS))
	got, err := json.MarshalIndent(b, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join(fixtures, calendarICS+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create the golden file")
	require.Equal(t, string(want), string(got))
}

func TestTextUnescape(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`a\,b\;c\\d\ne\Nf`: "a,b;c\\d\ne\nf",
		`plain`:            "plain",
		`C:\\Temp\\`:       `C:\Temp\`,
		`trailing\`:        `trailing\`,
		`colon\:`:          "colon:",
		`\\n`:              `\n`,
		``:                 "",
	}
	for in, want := range cases {
		require.Equal(t, want, Property{Value: in}.Text(), in)
	}
}

func TestContentLines(t *testing.T) {
	t.Parallel()
	data := ics(
		"BEGIN:VEVENT",
		`ATTENDEE;CN="Dr. Beispiel: Praxis; Team";ROLE=CHAIR;X-A=a,b,"c,d":mailto:x@example.org`,
		`ORGANIZER;CN=Title ^'Dr^'^nLine2 ^^ok:mailto:org@example.org`,
		"summary:lower case name",
		"DESCRIPTION:folded with tab",
		"\tcontinues",
		"END:VEVENT",
	)
	cals, probs, err := Decode(data)
	require.NoError(t, err)
	require.Empty(t, probs)
	ev := cals[0].Components[0]
	att, ok := ev.Prop("attendee")
	require.True(t, ok)
	require.Equal(t, "Dr. Beispiel: Praxis; Team", att.Param("CN"))
	require.Equal(t, []string{"a", "b", "c,d"}, att.Params["X-A"])
	require.Equal(t, "mailto:x@example.org", att.Value)
	org, _ := ev.Prop("ORGANIZER")
	require.Equal(t, "Title \"Dr\"\nLine2 ^ok", org.Param("CN"), "RFC 6868")
	s, ok := ev.Prop("SUMMARY")
	require.True(t, ok)
	require.Equal(t, "SUMMARY", s.Name)
	d, _ := ev.Prop("DESCRIPTION")
	require.Equal(t, "folded with tabcontinues", d.Text())
	require.Equal(t, 9, d.Line)
}

func TestDecodeStructureProblems(t *testing.T) {
	t.Parallel()
	data := []byte("stray:before\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nnot a content line\r\nBEGIN:VALARM\r\nEND:VEVENT\r\nEND:VTODO\r\n")
	cals, probs, err := Decode(data)
	require.NoError(t, err)
	require.Len(t, cals, 1)
	require.Len(t, cals[0].Components, 1)
	require.Equal(t, "VEVENT", cals[0].Components[0].Name)
	require.Len(t, cals[0].Components[0].Components, 1, "the unclosed VALARM is still attached")
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		"line 1: 1 line(s) outside any component ignored",
		"line 2, field BEGIN: BEGIN:VCALENDAR is never closed; read up to the end of the file",
		"line 5: not an iCalendar content line (NAME:value); ignored",
		"line 6, field BEGIN: BEGIN:VALARM is not closed before END:VEVENT (line 7); closed there",
		"line 8, field END: END:VTODO without a matching BEGIN; ignored",
	}, got)
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		data []byte
		err  error
	}{
		"empty":          {nil, ErrEmpty},
		"blank":          {[]byte("\r\n \r\n"), ErrEmpty},
		"bom only":       {[]byte("\xEF\xBB\xBF"), ErrEmpty},
		"utf16":          {[]byte("\xff\xfeB\x00E\x00"), ErrBinary},
		"vcard":          {[]byte("BEGIN:VCARD\r\nFN:X\r\nEND:VCARD\r\n"), ErrNotICal},
		"csv":            {[]byte("Datum;Uhrzeit\r\n01.02.2027;08:00\r\n"), ErrNotICal},
		"bare event":     {[]byte("BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n"), ErrNotICal},
		"hl7":            {[]byte("MSH|^~\\&|A|B\r"), ErrNotICal},
		"json":           {[]byte(`{"resourceType":"Appointment"}`), ErrNotICal},
		"only garbage":   {[]byte("hello\nworld\n"), ErrNotICal},
		"end before all": {[]byte("END:VCALENDAR\r\n"), ErrNotICal},
	}
	for name, tc := range cases {
		b, err := Parse(tc.data, "x.ics", DefaultProfile(), berlin(t))
		require.ErrorIs(t, err, tc.err, name)
		require.Nil(t, b, name)
		require.Contains(t, err.Error(), "x.ics", name)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	type want struct {
		start, end string
		status     schemas.AppointmentStatus
		rejected   []string
		warnings   []string
		skipped    []string
	}
	cases := []struct {
		name  string
		lines []string
		want  want
	}{
		{
			name:  "baseline",
			lines: event(),
			want:  want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "floating time is practice-local",
			lines: event("DTSTART:20270222T080000", "DTEND:20270222T090000"),
			want:  want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T09:00:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "UTC",
			lines: event("DTSTART:20270701T060000Z", "DTEND:20270701T063000Z"),
			want:  want{start: "2027-07-01T08:00:00+02:00", end: "2027-07-01T08:30:00+02:00", status: schemas.StatusBooked},
		},
		{
			name:  "other IANA zone is converted",
			lines: event("DTSTART;TZID=Europe/London:20270222T080000", "DTEND;TZID=Europe/London:20270222T083000"),
			want:  want{start: "2027-02-22T09:00:00+01:00", end: "2027-02-22T09:30:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "Windows zone name",
			lines: event("DTSTART;TZID=\"W. Europe Standard Time\":20270222T080000", "DTEND;TZID=W. Europe Standard Time:20270222T083000"),
			want:  want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "vendor prefixed TZID",
			lines: event("DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20270222T080000", "DTEND;TZID=/mozilla.org/20050126_1/America/New_York:20270222T083000"),
			want:  want{start: "2027-02-22T14:00:00+01:00", end: "2027-02-22T14:30:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "unknown TZID falls back to the practice zone, once per TZID",
			lines: event("DTSTART;TZID=Praxiszeit:20270222T080000", "DTEND;TZID=Praxiszeit:20270222T083000"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked,
				warnings: []string{`line 7, field DTSTART: time zone "Praxiszeit" is not known; read as the practice time zone`}},
		},
		{
			name:  "spring gap",
			lines: event("DTSTART;TZID=Europe/Berlin:20270328T023000", "DTEND;TZID=Europe/Berlin:20270328T040000"),
			want: want{start: "2027-03-28T03:30:00+02:00", end: "2027-03-28T04:00:00+02:00", status: schemas.StatusBooked,
				warnings: []string{"line 7, field DTSTART: local time does not exist (daylight-saving gap); read with the offset before the gap"}},
		},
		{
			name:  "autumn double hour: first occurrence, an end before it the second",
			lines: event("DTSTART:20271031T023000", "DTEND:20271031T020000"),
			want: want{start: "2027-10-31T02:30:00+02:00", end: "2027-10-31T02:00:00+01:00", status: schemas.StatusBooked,
				warnings: []string{
					"line 7, field DTSTART: local time occurs twice (daylight-saving change); the first occurrence was taken",
					"line 8, field DTEND: local time occurs twice (daylight-saving change); the second occurrence was taken because the first lies before the start",
				}},
		},
		{
			name:  "autumn double hour: an end after the start stays the first occurrence",
			lines: event("DTSTART:20271031T020000", "DTEND:20271031T023000"),
			want: want{start: "2027-10-31T02:00:00+02:00", end: "2027-10-31T02:30:00+02:00", status: schemas.StatusBooked,
				warnings: []string{
					"line 7, field DTSTART: local time occurs twice (daylight-saving change); the first occurrence was taken",
					"line 8, field DTEND: local time occurs twice (daylight-saving change); the first occurrence was taken",
				}},
		},
		{
			name:  "impossible date",
			lines: event("DTSTART;TZID=Europe/Berlin:20270231T080000"),
			want:  want{rejected: []string{"line 7, field DTSTART: DTSTART is not a valid date-time: date 31.02.2027 does not exist"}},
		},
		{
			name:  "year out of range",
			lines: event("DTSTART:00010101T080000Z"),
			want:  want{rejected: []string{"line 7, field DTSTART: DTSTART is not a valid date-time: year 1 is out of range (1900–2199)"}},
		},
		{
			name:  "end year out of range",
			lines: event("DTEND:99991231T235959"),
			want:  want{rejected: []string{"line 8, field DTEND: DTEND is not a valid date-time: year 9999 is out of range (1900–2199)"}},
		},
		{
			name:  "garbled DTEND",
			lines: event("DTEND;TZID=Europe/Berlin:2027-02-22 08:30"),
			want:  want{rejected: []string{"line 8, field DTEND: DTEND is not a valid date-time: expected YYYYMMDDTHHMMSS[Z]"}},
		},
		{
			name:  "tentative",
			lines: event("STATUS:TENTATIVE"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked,
				warnings: []string{"line 13, field STATUS: tentative event (STATUS:TENTATIVE) imported as booked"}},
		},
		{
			name:  "confirmed is booked, not confirmed by the patient",
			lines: event("STATUS:confirmed"),
			want:  want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked},
		},
		{
			name:  "cancelled",
			lines: event("STATUS:CANCELLED"),
			want:  want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusCancelled},
		},
		{
			name:  "unknown status",
			lines: event("STATUS:NEEDS-ACTION"),
			want:  want{rejected: []string{`line 13, field STATUS: unknown event status "NEEDS-ACTION"; not imported`}},
		},
		{
			name:  "no UID",
			lines: event("UID"),
			want:  want{rejected: []string{"line 5, field UID: event has no UID; not imported"}},
		},
		{
			name:  "no DTEND and no DURATION",
			lines: event("DTEND"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:00:00+01:00", status: schemas.StatusBooked,
				warnings: []string{"line 5, field DTEND: event has neither DTEND nor DURATION; end set to start"}},
		},
		{
			name:  "end before start",
			lines: event("DTEND;TZID=Europe/Berlin:20270222T070000"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T07:00:00+01:00", status: schemas.StatusBooked,
				warnings: []string{"line 8, field DTEND: end lies before start"}},
		},
		{
			name:  "implausibly long",
			lines: event("DTEND;TZID=Europe/Berlin:20270223T080000"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-23T08:00:00+01:00", status: schemas.StatusBooked,
				warnings: []string{"line 8, field DTEND: implausible duration: 1440 min (more than 12 hours); check the end"}},
		},
		{
			name:  "date DTEND with date-time DTSTART",
			lines: event("DTEND;VALUE=DATE:20270223"),
			want:  want{rejected: []string{"line 8, field DTEND: DTEND is a date but DTSTART a date-time; not imported"}},
		},
		{
			name:  "no DTSTART",
			lines: event("DTSTART"),
			want:  want{rejected: []string{"line 5, field DTSTART: event has no DTSTART; not imported"}},
		},
		{
			name:  "recurring appointment with a patient is not expanded",
			lines: event("RRULE:FREQ=WEEKLY;COUNT=3"),
			want:  want{skipped: []string{"line 13, field RRULE: not an appointment: recurring event (RRULE); not expanded into appointments"}},
		},
		{
			name:  "changed occurrence",
			lines: event("RECURRENCE-ID;TZID=Europe/Berlin:20270222T080000"),
			want:  want{skipped: []string{"line 13, field RECURRENCE-ID: not an appointment: changed occurrence of a recurring event (RECURRENCE-ID); series are not expanded"}},
		},
		{
			name:  "block without patient",
			lines: event("X-PRAXIS-PATNR", "SUMMARY:Teambesprechung"),
			want:  want{skipped: []string{"line 5, field X-PRAXIS-PATNR: not an appointment: no patient (X-PRAXIS-PATNR)"}},
		},
		{
			name:  "empty patient number",
			lines: event("X-PRAXIS-PATNR: "),
			want:  want{skipped: []string{"line 11, field X-PRAXIS-PATNR: not an appointment: no patient (X-PRAXIS-PATNR)"}},
		},
		{
			name:  "UTC with TZID",
			lines: event("DTSTART;TZID=Europe/Berlin:20270222T070000Z"),
			want: want{start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T08:30:00+01:00", status: schemas.StatusBooked,
				warnings: []string{"line 7, field DTSTART: UTC time with a TZID; the TZID is ignored"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := parseBytes(t, ics(tc.lines...))
			require.Equal(t, 1, b.Rows)
			strs := func(ps []schemas.Problem) []string {
				var out []string
				for _, p := range ps {
					out = append(out, p.String())
				}
				return out
			}
			require.Equal(t, tc.want.rejected, strs(b.Rejected))
			require.Equal(t, tc.want.warnings, strs(b.Warnings))
			require.Equal(t, tc.want.skipped, strs(b.Skipped))
			if tc.want.start == "" {
				require.Empty(t, b.Appointments)
				return
			}
			require.Len(t, b.Appointments, 1)
			a := b.Appointments[0]
			require.Equal(t, tc.want.start, rfc(a.Start))
			require.Equal(t, tc.want.end, rfc(a.End))
			require.Equal(t, tc.want.status, a.Status)
			require.Equal(t, int(a.End.Sub(a.Start)/time.Minute), a.DurationMinutes)
			require.Equal(t, "t-1@test", a.ExternalID)
			require.Equal(t, "40001", a.PatientExternalID)
		})
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		dur, end string
		reject   string
	}{
		"PT45M":    {"PT45M", "2027-02-22T08:45:00+01:00", ""},
		"PT1H30M":  {"PT1H30M", "2027-02-22T09:30:00+01:00", ""},
		"PT90S":    {"PT90S", "2027-02-22T08:01:30+01:00", ""},
		"+PT1H":    {"+PT1H", "2027-02-22T09:00:00+01:00", ""},
		"P1D":      {"P1D", "2027-02-23T08:00:00+01:00", ""},
		"P1W":      {"P1W", "2027-03-01T08:00:00+01:00", ""},
		"-PT15M":   {"-PT15M", "2027-02-22T07:45:00+01:00", ""},
		"garbage":  {"45 min", "", "line 12, field DURATION: DURATION is not a valid duration: expected e.g. PT45M"},
		"M no T":   {"P45M", "", "line 12, field DURATION: DURATION is not a valid duration: expected e.g. PT45M"},
		"empty P":  {"PT", "", "line 12, field DURATION: DURATION is not a valid duration: expected e.g. PT45M"},
		"dangling": {"PT45", "", "line 12, field DURATION: DURATION is not a valid duration: expected e.g. PT45M"},
		"P999W":    {"P999W", "", "line 12, field DURATION: DURATION is not a valid duration: longer than a year"},
		"PT9999H":  {"PT9999H", "", "line 12, field DURATION: DURATION is not a valid duration: longer than a year"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := parseBytes(t, ics(event("DTEND", "DURATION:"+tc.dur)...))
			if tc.reject != "" {
				require.Empty(t, b.Appointments)
				require.Len(t, b.Rejected, 1)
				require.Equal(t, tc.reject, b.Rejected[0].String())
				return
			}
			require.Empty(t, b.Rejected)
			require.Len(t, b.Appointments, 1)
			require.Equal(t, tc.end, rfc(b.Appointments[0].End))
		})
	}
	// DTEND wins over DURATION, with a warning.
	b := parseBytes(t, ics(event("DURATION:PT2H")...))
	require.Equal(t, "2027-02-22T08:30:00+01:00", rfc(b.Appointments[0].End))
	require.Equal(t, []schemas.Problem{{Line: 13, Field: "DURATION", Reason: "event has both DTEND and DURATION; DTEND used"}}, b.Warnings)
}

func TestPatientFields(t *testing.T) {
	t.Parallel()
	t.Run("name from SUMMARY when DESCRIPTION has none", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("DESCRIPTION:Nur Kontrolle")...))
		require.Equal(t, "Vogt", b.Patients[0].FamilyName)
		require.Equal(t, "Helga", b.Patients[0].GivenName)
		require.Empty(t, b.Warnings)
	})
	t.Run("DESCRIPTION wins over SUMMARY, with a warning", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("SUMMARY:Kontrolle – Vogt\\, Helene")...))
		require.Equal(t, "Helga", b.Patients[0].GivenName)
		require.Equal(t, []schemas.Problem{{Line: 9, Field: "SUMMARY", Reason: `patient name in SUMMARY differs from the DESCRIPTION line "Patient:"; DESCRIPTION used`}}, b.Warnings)
	})
	t.Run("no name at all", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("DESCRIPTION", "SUMMARY:Kontrolle")...))
		require.Len(t, b.Patients, 1)
		require.Empty(t, b.Patients[0].FamilyName)
		require.Empty(t, b.Appointments[0].Kind)
		require.Len(t, b.Warnings, 1)
		require.Contains(t, b.Warnings[0].Reason, "no patient name")
	})
	t.Run("hyphen separator and a name without comma", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("DESCRIPTION", "SUMMARY:PZR - Vogt")...))
		require.Equal(t, "Vogt", b.Patients[0].FamilyName)
		require.Empty(t, b.Patients[0].GivenName)
		require.Equal(t, "PZR", b.Appointments[0].Kind)
	})
	t.Run("invalid mobile", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("X-PRAXIS-MOBIL:0171 392")...))
		require.Len(t, b.Appointments, 1)
		require.Equal(t, []schemas.Phone{}, b.Patients[0].Phones)
		require.Equal(t, []schemas.Problem{{Line: 12, Field: "X-PRAXIS-MOBIL", Reason: "not a valid phone number; not used"}}, b.Warnings)
		require.NotContains(t, b.Warnings[0].Reason, "392", "problems never repeat the number")
	})
	t.Run("ambiguous mobile", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("X-PRAXIS-MOBIL:491713920051")...))
		require.Equal(t, []schemas.Phone{}, b.Patients[0].Phones)
		require.Contains(t, b.Warnings[0].Reason, "country code")
	})
	t.Run("landline in the mobile property is a landline", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("X-PRAXIS-MOBIL:030 23125001")...))
		require.Equal(t, []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}}, b.Patients[0].Phones)
		_, ok := b.Patients[0].Mobile()
		require.False(t, ok)
	})
	t.Run("no mobile", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, ics(event("X-PRAXIS-MOBIL")...))
		require.Equal(t, []schemas.Phone{}, b.Patients[0].Phones)
		require.Empty(t, b.Warnings)
	})
}

func TestPractitioner(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, ics(event("ORGANIZER;CN=\"Dr. Anna Beispiel\":mailto:a@example.org")...))
	require.Equal(t, "Dr. Anna Beispiel", b.Appointments[0].Practitioner, "the event's organizer is more specific")
	b = parseBytes(t, ics(event("ORGANIZER:mailto:a@example.org")...))
	require.Equal(t, "Behandler 2", b.Appointments[0].Practitioner, "without CN the calendar name")
	b = parseBytes(t, bytes.Replace(ics(event()...), []byte("X-WR-CALNAME:Behandler 2\r\n"), nil, 1))
	require.Empty(t, b.Appointments[0].Practitioner)
}

func TestSeveralEventsAndDuplicates(t *testing.T) {
	t.Parallel()
	var lines []string
	// Lines 5–14, 15–23, 24–34 (an older copy of t-1) and 35–44 (a newer one).
	lines = append(lines, event("SEQUENCE:1")...)
	lines = append(lines, event("UID:t-2@test", "X-PRAXIS-MOBIL:0176 04069052")...)
	lines = append(lines, event("SEQUENCE:0", "STATUS:CANCELLED")...)
	lines = append(lines, event("SEQUENCE:2", "DTSTART;TZID=Europe/Berlin:20270222T090000", "DTEND;TZID=Europe/Berlin:20270222T093000")...)
	b := parseBytes(t, ics(lines...))
	require.Equal(t, 4, b.Rows)
	require.Len(t, b.Appointments, 2)
	require.Equal(t, "t-1@test", b.Appointments[0].ExternalID)
	require.Equal(t, "2027-02-22T09:00:00+01:00", rfc(b.Appointments[0].Start), "the highest SEQUENCE wins")
	require.Equal(t, schemas.StatusBooked, b.Appointments[0].Status)
	require.Equal(t, "t-2@test", b.Appointments[1].ExternalID)
	require.Len(t, b.Patients, 1, "one patient with two appointments")
	require.Equal(t, []schemas.Phone{
		{E164: "+491713920051", Kind: schemas.PhoneMobile},
		{E164: "+4917604069052", Kind: schemas.PhoneMobile},
	}, b.Patients[0].Phones, "numbers from both events, first one preferred")
	var got []string
	for _, p := range b.Skipped {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		"line 5, field UID: older version (SEQUENCE 1) of the event at line 35; that one is used",
		"line 24, field UID: duplicate UID; the event at line 5 (SEQUENCE 1) is used",
	}, got)
}

func TestMethodCancel(t *testing.T) {
	t.Parallel()
	data := bytes.Replace(ics(event("STATUS:CONFIRMED")...), []byte("VERSION:2.0"), []byte("VERSION:2.0\r\nMETHOD:CANCEL"), 1)
	b := parseBytes(t, data)
	require.Equal(t, schemas.StatusCancelled, b.Appointments[0].Status)
}

func TestLineEndingsAndCharsets(t *testing.T) {
	t.Parallel()
	crlf := ics(event("DESCRIPTION:Patient: Krüger\\, Bernd", "SUMMARY:Kontrolle – Krüger\\, Bernd")...)
	t.Run("LF only", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n")))
		require.Equal(t, "Krüger", b.Patients[0].FamilyName)
		require.Empty(t, b.Warnings)
	})
	t.Run("BOM", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, append([]byte("\xEF\xBB\xBF"), crlf...))
		require.Len(t, b.Appointments, 1)
		require.Empty(t, b.Warnings)
	})
	t.Run("Windows-1252", func(t *testing.T) {
		t.Parallel()
		cp := bytes.ReplaceAll(crlf, []byte("ü"), []byte{0xFC})
		cp = bytes.ReplaceAll(cp, []byte("–"), []byte{0x96})
		b := parseBytes(t, cp)
		require.Equal(t, "Krüger", b.Patients[0].FamilyName)
		require.Equal(t, "Kontrolle", b.Appointments[0].Kind)
		require.Equal(t, []schemas.Problem{{Line: 9, Reason: "file is not UTF-8 (RFC 5545 requires it); read as Windows-1252"}}, b.Warnings)
	})
	t.Run("UTF-8 with a broken byte", func(t *testing.T) {
		t.Parallel()
		broken := bytes.Replace(crlf, []byte("X-PRAXIS-MOBIL"), []byte("X-JUNK:\xFF\r\nX-PRAXIS-MOBIL"), 1)
		b := parseBytes(t, broken)
		require.Equal(t, "Krüger", b.Patients[0].FamilyName)
		require.Equal(t, []schemas.Problem{{Line: 12, Reason: "line is not valid UTF-8; invalid bytes replaced by U+FFFD"}}, b.Warnings)
	})
}

func TestProfile(t *testing.T) {
	t.Parallel()
	custom := Profile{Name: "other-tool", PatientIDProperty: "x-pms-id", MobileProperty: "X-PMS-HANDY"}
	data := ics(event("X-PRAXIS-PATNR", "X-PRAXIS-MOBIL", "X-PMS-ID:777", "X-PMS-HANDY:0171 3920051")...)
	b, err := Parse(data, "x.ics", custom, berlin(t))
	require.NoError(t, err)
	require.Equal(t, "other-tool", b.Profile)
	require.Equal(t, "777", b.Appointments[0].PatientExternalID)
	require.Equal(t, []schemas.Phone{{E164: "+491713920051", Kind: schemas.PhoneMobile}}, b.Patients[0].Phones)

	// Empty fields mean the defaults.
	b, err = Parse(ics(event()...), "x.ics", Profile{Name: "empty"}, berlin(t))
	require.NoError(t, err)
	require.Equal(t, "40001", b.Appointments[0].PatientExternalID)
	require.Equal(t, DefaultProfile(), Profile{Name: "default"}.withDefaults())

	bad := []Profile{
		{PatientIDProperty: "UID"},
		{MobileProperty: "DESCRIPTION"},
		{PatientIDProperty: "X-A", MobileProperty: "x-a"},
		{PatientIDProperty: "X PATNR"},
		{PatientIDProperty: "X-PRAXIS-MOBIL"},
	}
	for _, p := range bad {
		_, err := Parse(data, "x.ics", p, berlin(t))
		require.Error(t, err, "%+v", p)
	}
	_, err = Parse(data, "x.ics", DefaultProfile(), nil)
	require.Error(t, err)
}

func TestNoExpansionEvenForLongSeries(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, ics(event("RRULE:FREQ=DAILY;COUNT=100000", "X-PRAXIS-PATNR")...))
	require.Empty(t, b.Appointments)
	require.Empty(t, b.Patients)
	require.Len(t, b.Skipped, 1)
}

// A TZID that is no IANA name resolves through its VTIMEZONE's
// X-LIC-LOCATION; only when that fails too is the practice zone used.
func TestTimezoneFromVTimezone(t *testing.T) {
	t.Parallel()
	vtz := func(lic string) []string {
		out := []string{"BEGIN:VTIMEZONE", "TZID:Praxis Ostküste"}
		if lic != "" {
			out = append(out, "X-LIC-LOCATION:"+lic)
		}
		return append(out, "BEGIN:STANDARD", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "DTSTART:19701101T020000", "END:STANDARD", "END:VTIMEZONE")
	}
	ev := event("DTSTART;TZID=Praxis Ostküste:20270222T080000", "DTEND;TZID=Praxis Ostküste:20270222T083000")

	b := parseBytes(t, ics(append(vtz("America/New_York"), ev...)...))
	require.Empty(t, b.Warnings)
	require.Equal(t, "2027-02-22T14:00:00+01:00", rfc(b.Appointments[0].Start))

	b = parseBytes(t, ics(append(vtz(""), ev...)...))
	require.Equal(t, "2027-02-22T08:00:00+01:00", rfc(b.Appointments[0].Start))
	require.Equal(t, []string{`line 15, field DTSTART: time zone "Praxis Ostküste" is not known; read as the practice time zone`}, problemStrings(b.Warnings))
}

func problemStrings(ps []schemas.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}
