package hl7

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

const fixtures = "../../fixtures/appointments/hl7"

// siuFixtures are the SIU files of the README table; SIU_12.hl7 (an ADT
// message) is tested on its own.
var siuFixtures = []string{
	"SIU-S12-01.hl7", "SIU-S12-02.hl7", "SIU-S12_1.hl7",
	"SIU-S13-01.hl7", "SIU-S13-02.hl7",
	"SIU-S14-01.hl7", "SIU-S14-02.hl7",
	"SIU-S15-01.hl7", "SIU-S15-02.hl7",
	"SIU-S16-01.hl7", "SIU-S16-02.hl7",
	"SIU-S17-01.hl7", "SIU-S17-02.hl7",
	"SIU-S26-01.hl7", "SIU-S26-02.hl7",
}

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

func parse(t *testing.T, name string) *schemas.Batch {
	t.Helper()
	b, err := Parse(read(t, name), name, DefaultProfile(), berlin(t))
	require.NoError(t, err)
	return b
}

func parseBytes(t *testing.T, data []byte) *schemas.Batch {
	t.Helper()
	b, err := Parse(data, "test.hl7", DefaultProfile(), berlin(t))
	require.NoError(t, err)
	return b
}

func strs(ps []schemas.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// phoneWarnings are the same in every fixture: PID-13 and PID-14 have two
// repetitions each and no valid German number; PID-40 is an Internet
// address and not a phone.
var phoneWarnings = []string{
	"line 5, field PID-13: repetition 1: not a valid phone number; not used",
	"line 5, field PID-13: repetition 2: not a valid phone number; not used",
	"line 5, field PID-14: repetition 1: not a valid phone number; not used",
	"line 5, field PID-14: repetition 2: not a valid phone number; not used",
}

// The README's table for appointments/hl7/, value by value.
func TestFixtures(t *testing.T) {
	t.Parallel()
	const (
		dur01 = "line 2, field SCH-9: SCH-9/10 duration (1 min) contradicts start/end (50 min); start/end used"
		dur02 = "line 2, field SCH-9: SCH-9/10 duration (70 min) contradicts start/end (60 min); start/end used"
	)
	cases := []struct {
		file, msh9, msh10, start, end string
		status                        schemas.AppointmentStatus
		location                      string
		extra                         []string // warnings besides the phone ones, in line order
	}{
		{"SIU-S12-01.hl7", "SIU^S12", "MSG00012", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S12-02.hl7", "SIU^S12", "MSG00012", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusBooked, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S12_1.hl7", "SIU^S12", "MSG00001", "2020-10-04T11:11:00+02:00", "2020-10-08T11:11:00+02:00", schemas.StatusBooked, "4E, 136, B, CommunityHospital", []string{
			"line 2, field SCH-9: SCH-9/10 duration (70 min) contradicts start/end (5760 min); start/end used",
			"line 3, field TQ1-8: implausible duration: end is 5760 min after start (more than 12 hours)",
		}},
		{"SIU-S13-01.hl7", "SIU^S13", "MSG00013", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S13-02.hl7", "SIU^S13", "MSG00013", "2021-08-20T11:15:00+02:00", "2021-08-20T12:15:00+02:00", schemas.StatusBooked, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S14-01.hl7", "SIU^S14", "MSG00014", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusBooked, "055, Room02, GH Clinic", []string{dur01}},
		{"SIU-S14-02.hl7", "SIU^S14", "MSG00014", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusBooked, "LabUnit102, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S15-01.hl7", "SIU^S15", "MSG00015", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S15-02.hl7", "SIU^S15", "MSG00015", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S16-01.hl7", "SIU^S16", "MSG00016", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S16-02.hl7", "SIU^S16", "MSG00016", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S17-01.hl7", "SIU^S17", "MSG00017", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusCancelled, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S17-02.hl7", "SIU^S17", "MSG00017", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusCancelled, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
		{"SIU-S26-01.hl7", "SIU^S26", "MSG00026", "2021-09-24T09:15:00+02:00", "2021-09-24T10:05:00+02:00", schemas.StatusNoShow, "055, Room01, GH Clinic", []string{dur01}},
		{"SIU-S26-02.hl7", "SIU^S26", "MSG00026", "2021-08-18T11:15:00+02:00", "2021-08-18T12:15:00+02:00", schemas.StatusNoShow, "LabUnit101, Lab Room 01, GHH Hospital", []string{dur02}},
	}
	require.Len(t, cases, len(siuFixtures))
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data := read(t, tc.file)
			require.False(t, bytes.Contains(data, []byte("\r")), "segments are separated by LF, not CR")

			msgs, probs, err := Decode(data)
			require.NoError(t, err)
			require.Empty(t, probs)
			require.Len(t, msgs, 1)
			msh := msgs[0].Segments[0]
			typ, trig := msgs[0].Type()
			require.Equal(t, tc.msh9, typ+"^"+trig)
			require.Equal(t, tc.msh10, msh.Field(10).String())
			require.Equal(t, CharsetASCII, msgs[0].Charset)

			b, err := Parse(data, tc.file, DefaultProfile(), berlin(t))
			require.NoError(t, err)
			require.Equal(t, "hl7", b.Format)
			require.Equal(t, "default", b.Profile)
			require.Equal(t, 1, b.Rows)
			require.Empty(t, b.Rejected)
			require.Empty(t, b.Skipped)
			require.Empty(t, b.Consents, "consent: none")

			require.Equal(t, []schemas.Patient{{
				ExternalID: "PATID1234", FamilyName: "EVERYMAN", GivenName: "ADAM",
				BirthDate: "1988-08-18", Sex: "M", Phones: []schemas.Phone{}, Line: 5,
			}}, b.Patients)
			_, hasMobile := b.Patients[0].Mobile()
			require.False(t, hasMobile, "every PID-13 number is invalid")

			require.Len(t, b.Appointments, 1)
			a := b.Appointments[0]
			require.Equal(t, "36996", a.ExternalID, "SCH-2 filler id, not SCH-1 placer 12345")
			require.Equal(t, "PATID1234", a.PatientExternalID)
			require.Equal(t, tc.start, rfc(a.Start))
			require.Equal(t, tc.end, rfc(a.End))
			require.Equal(t, int(a.End.Sub(a.Start)/time.Minute), a.DurationMinutes)
			require.Equal(t, tc.status, a.Status)
			require.Equal(t, tc.location, a.Location)
			require.Equal(t, 2, a.Line, "the SCH line")

			want := append([]string{}, tc.extra...)
			want = append(want, phoneWarnings...)
			require.Equal(t, want, strs(b.Warnings))
		})
	}
}

// TQ1 `20210924093000+0215` is 07:15Z: the +0215 offset is honoured and the
// instant is given in the practice zone.
func TestOffsetIsHonoured(t *testing.T) {
	t.Parallel()
	a := parse(t, "SIU-S12-01.hl7").Appointments[0]
	require.Equal(t, time.Date(2021, 9, 24, 7, 15, 0, 0, time.UTC), a.Start.UTC())
	require.Equal(t, "Europe/Berlin", a.Start.Location().String())
	require.Equal(t, "Robert C GE", a.Practitioner)
	require.Equal(t, "Biopsy of colon (procedure)", a.Kind)
}

func TestNotASchedulingMessage(t *testing.T) {
	t.Parallel()
	data := read(t, "SIU_12.hl7")
	b, err := Parse(data, "SIU_12.hl7", DefaultProfile(), berlin(t))
	require.Nil(t, b, "0 appointments: no batch at all")
	require.ErrorIs(t, err, ErrNotScheduling)
	require.EqualError(t, err, "SIU_12.hl7: hl7: not a scheduling message (MSH-9 ADT^A60)")
	// The name says SIU; the content says ADT.
	msgs, _, err := Decode(data)
	require.NoError(t, err)
	typ, trig := msgs[0].Type()
	require.Equal(t, "ADT", typ)
	require.Equal(t, "A60", trig)
	require.Equal(t, "MSG00001", msgs[0].Segments[0].Field(10).String())
}

// S12-02 books one appointment over three RGS groups, and AIS-4 is empty.
func TestThreeResourceGroupsOneAppointment(t *testing.T) {
	t.Parallel()
	data := read(t, "SIU-S12-02.hl7")
	msgs, _, err := Decode(data)
	require.NoError(t, err)
	require.Len(t, msgs[0].All("RGS"), 3)
	require.Len(t, msgs[0].All("AIP"), 3)
	for _, ais := range msgs[0].All("AIS") {
		require.True(t, ais.Field(4).Empty(), "AIS-4 is empty")
	}
	b := parseBytes(t, data)
	require.Len(t, b.Appointments, 1)
	require.Len(t, b.Patients, 1)
	require.Equal(t, "Tim G PB", b.Appointments[0].Practitioner, "the first AIP")
	require.Equal(t, "CBC Panel-Blood by Automated Count", b.Appointments[0].Kind, "the first AIS")
}

// The README's sequences need a store; at mapping level each file states
// what the store is given.
func TestSequencesAtMappingLevel(t *testing.T) {
	t.Parallel()
	s1202 := parse(t, "SIU-S12-02.hl7").Appointments[0]
	s1302 := parse(t, "SIU-S13-02.hl7").Appointments[0]
	require.Equal(t, s1202.ExternalID, s1302.ExternalID)
	require.Equal(t, "2021-08-18T11:15:00+02:00", rfc(s1202.Start))
	require.Equal(t, "2021-08-20T11:15:00+02:00", rfc(s1302.Start), "S13-02 carries the new start")
	require.Equal(t, schemas.StatusBooked, s1302.Status, "the store detects the move")

	s1201 := parse(t, "SIU-S12-01.hl7").Appointments[0]
	s1301 := parse(t, "SIU-S13-01.hl7").Appointments[0]
	require.Equal(t, s1201.Start, s1301.Start, "S13-01: nothing moved")

	for file, want := range map[string]schemas.AppointmentStatus{
		"SIU-S15-01.hl7": schemas.StatusCancelled,
		"SIU-S26-01.hl7": schemas.StatusNoShow,
	} {
		a := parse(t, file).Appointments[0]
		require.Equal(t, s1201.ExternalID, a.ExternalID, file)
		require.Equal(t, s1201.Start, a.Start, file)
		require.Equal(t, want, a.Status, file)
	}

	// In one file, messages are events in order. The fixtures end without
	// a line break, so one is put between them; the second SCH is then
	// line (lines of the first file) + 2.
	join := func(a, b string) ([]byte, int) {
		first := read(t, a)
		require.NotEqual(t, byte('\n'), first[len(first)-1])
		out := append(append(append([]byte{}, first...), '\n'), read(t, b)...)
		return out, bytes.Count(first, []byte("\n")) + 1 + 2
	}
	both, second := join("SIU-S12-02.hl7", "SIU-S13-02.hl7")
	require.Equal(t, 30, second)
	b := parseBytes(t, both)
	require.Equal(t, 2, b.Rows)
	require.Len(t, b.Appointments, 1)
	require.Equal(t, "2021-08-20T11:15:00+02:00", rfc(b.Appointments[0].Start))
	require.Equal(t, second, b.Appointments[0].Line)
	require.Equal(t, []string{"line 2, field SCH-2: superseded by the later message for the same appointment (line 30)"}, strs(b.Skipped))
	require.Len(t, b.Patients, 1)

	// The same message twice creates nothing new.
	twice, second := join("SIU-S12-01.hl7", "SIU-S12-01.hl7")
	require.Equal(t, 20, second)
	b = parseBytes(t, twice)
	require.Equal(t, 2, b.Rows)
	require.Len(t, b.Appointments, 1)
	require.Equal(t, 2, b.Appointments[0].Line)
	require.Equal(t, []string{"line 20, field SCH-2: same appointment as the message at line 2; nothing new"}, strs(b.Skipped))
}

// No problem and no batch field may carry a phone number or clinical text
// (NTE, DG1, OBX).
func TestNothingSensitiveLeaks(t *testing.T) {
	t.Parallel()
	for _, name := range siuFixtures {
		data := read(t, name)
		b := parseBytes(t, data)
		js, err := json.Marshal(b)
		require.NoError(t, err)
		for _, s := range []string{"78788788", "12121212", "2222", "7777", "1111", "89898989", "Ulcerative", "colitis", "Fasting", "instructions"} {
			require.NotContains(t, string(js), s, name)
		}
		msgs, _, err := Decode(data)
		require.NoError(t, err)
		for _, nte := range msgs[0].All("NTE") {
			if v := nte.Field(3).String(); len(v) > 6 {
				require.NotContains(t, string(js), v, name)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, name := range siuFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := parse(t, name)
			got, err := json.MarshalIndent(b, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join(fixtures, name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create the golden file")
			require.Equal(t, string(want), string(got))
		})
	}
}

// seg builds a segment from field numbers; MSH is written by hand.
func seg(name string, fields map[int]string) string {
	n := 0
	for k := range fields {
		n = max(n, k)
	}
	parts := make([]string, n+1)
	parts[0] = name
	for k, v := range fields {
		parts[k] = v
	}
	return strings.Join(parts, "|")
}

func msh(trigger string) string {
	return "MSH|^~\\&|PVS|Praxis|PB|Praxis|202702101000+0100||SIU^" + trigger + "^SIU_" + trigger + "|C1|P|2.5.1||||||UNICODE UTF-8"
}

// siu builds a practice-shaped SIU message, segments separated by CR.
// Overrides replace the segment with the same name, "-XXX" removes it,
// "+XXX|…" appends one, and so does a segment not in the base. Base lines: MSH 1, SCH 2, TQ1 3,
// PID 4, RGS 5, AIS 6, AIL 7, AIP 8.
func siu(trigger string, overrides ...string) []byte {
	segs := []string{
		msh(trigger),
		seg("SCH", map[int]string{1: "P-77", 2: "A-2027-0301^PVS", 7: "^Kontrolle", 9: "30", 10: "min", 25: "Booked"}),
		seg("TQ1", map[int]string{1: "1", 7: "202702221000", 8: "202702221030"}),
		seg("PID", map[int]string{1: "1", 3: "10001^^^PRAXIS^MR", 5: "Müller^Jürgen", 7: "19580312", 8: "M",
			13: "^PRN^CP^^^^^^^^^0171 3920001~^PRN^PH^^49^30^23125001", 14: "^WPN^Internet^praxis@example.org"}),
		seg("RGS", map[int]string{1: "1"}),
		seg("AIS", map[int]string{1: "1", 3: "KONT^Kontrolle^L"}),
		seg("AIL", map[int]string{1: "1", 3: "^Zimmer 1^^Praxis Dr. Beispiel"}),
		seg("AIP", map[int]string{1: "1", 3: "D1^Beispiel^Anna^^^Dr."}),
	}
	for _, o := range overrides {
		if strings.HasPrefix(o, "+") {
			segs = append(segs, o[1:])
			continue
		}
		if strings.HasPrefix(o, "-") {
			for i, s := range segs {
				if strings.HasPrefix(s, o[1:]+"|") {
					segs = append(segs[:i], segs[i+1:]...)
					break
				}
			}
			continue
		}
		done := false
		for i, s := range segs {
			if s[:3] == o[:3] {
				segs[i], done = o, true
				break
			}
		}
		if !done {
			segs = append(segs, o)
		}
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

func TestBaseMessage(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, siu("S12"))
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Rejected)
	require.Empty(t, b.Skipped)
	require.Equal(t, []schemas.Patient{{
		ExternalID: "10001", FamilyName: "Müller", GivenName: "Jürgen", BirthDate: "1958-03-12", Sex: "M", Line: 4,
		Phones: []schemas.Phone{
			{E164: "+491713920001", Kind: schemas.PhoneMobile},
			{E164: "+493023125001", Kind: schemas.PhoneLandline},
		},
	}}, b.Patients)
	a := b.Appointments[0]
	require.Equal(t, schemas.Appointment{
		ExternalID: "A-2027-0301", PatientExternalID: "10001",
		Start: a.Start, End: a.End, DurationMinutes: 30,
		Practitioner: "Dr. Anna Beispiel", Location: "Zimmer 1, Praxis Dr. Beispiel", Kind: "Kontrolle",
		Status: schemas.StatusBooked, Line: 2,
	}, a)
	require.Equal(t, "2027-02-22T10:00:00+01:00", rfc(a.Start), "no offset: practice-local")
	require.Equal(t, "2027-02-22T10:30:00+01:00", rfc(a.End))
}

func TestStatus(t *testing.T) {
	t.Parallel()
	sch := func(status string) string {
		return seg("SCH", map[int]string{1: "P-77", 2: "A-2027-0301", 9: "30", 10: "min", 25: status})
	}
	cases := []struct {
		trigger, sch25 string
		want           schemas.AppointmentStatus
		warnings       []string
		skipped        []string
		rejected       []string
	}{
		{"S12", "Booked", schemas.StatusBooked, nil, nil, nil},
		{"S12", "", schemas.StatusBooked, nil, nil, nil},
		{"S13", "Booked", schemas.StatusBooked, nil, nil, nil},
		{"S14", "Overbook", schemas.StatusBooked, nil, nil, nil},
		{"S15", "Cancelled", schemas.StatusCancelled, nil, nil, nil},
		{"S15", "", schemas.StatusCancelled, nil, nil, nil},
		{"S16", "Dc", schemas.StatusCancelled, nil, nil, nil},
		{"S17", "Deleted", schemas.StatusCancelled, nil, nil, nil},
		{"S26", "Noshow", schemas.StatusNoShow, nil, nil, nil},
		{"S26", "", schemas.StatusNoShow, nil, nil, nil},
		{"S14", "Cancelled", schemas.StatusCancelled, []string{`line 2, field SCH-25: filler status "Cancelled" contradicts trigger event S14; cancelled used`}, nil, nil},
		{"S12", "Noshow", schemas.StatusNoShow, []string{`line 2, field SCH-25: filler status "Noshow" contradicts trigger event S12; no_show used`}, nil, nil},
		{"S15", "Booked", schemas.StatusCancelled, []string{`line 2, field SCH-25: filler status "Booked" contradicts trigger event S15; cancelled used`}, nil, nil},
		{"S12", "Gebucht", schemas.StatusBooked, []string{`line 2, field SCH-25: unknown filler status "Gebucht"; the status follows the trigger event S12`}, nil, nil},
		{"S12", "Pending", "", nil, []string{`line 2, field SCH-25: filler status "Pending" is not a booked appointment`}, nil},
		{"S12", "Blocked", "", nil, []string{`line 2, field SCH-25: filler status "Blocked" is not a booked appointment`}, nil},
		{"S15", "Waitlist", schemas.StatusCancelled, nil, nil, nil},
		{"S20", "Booked", "", nil, []string{"line 1, field MSH-9: trigger event SIU^S20 does not book, move or cancel an appointment; not read"}, nil},
		{"", "Booked", "", nil, nil, []string{"line 1, field MSH-9: SIU message without a trigger event (MSH-9.2); not imported"}},
	}
	for _, tc := range cases {
		t.Run(tc.trigger+"/"+tc.sch25, func(t *testing.T) {
			t.Parallel()
			data := siu(tc.trigger, sch(tc.sch25))
			if tc.trigger == "" {
				data = bytes.Replace(data, []byte("SIU^^SIU_"), []byte("SIU"), 1)
			}
			b := parseBytes(t, data)
			require.Equal(t, tc.warnings, strs(b.Warnings))
			require.Equal(t, tc.skipped, strs(b.Skipped))
			require.Equal(t, tc.rejected, strs(b.Rejected))
			if tc.want == "" {
				require.Empty(t, b.Appointments)
				return
			}
			require.Len(t, b.Appointments, 1)
			require.Equal(t, tc.want, b.Appointments[0].Status)
		})
	}
}

func TestTiming(t *testing.T) {
	t.Parallel()
	sch := func(f map[int]string) string {
		base := map[int]string{1: "P-77", 2: "A-2027-0301", 25: "Booked"}
		for k, v := range f {
			base[k] = v
		}
		return seg("SCH", base)
	}
	tq1 := func(start, end string) string { return seg("TQ1", map[int]string{1: "1", 7: start, 8: end}) }
	ais := func(start, dur, units string) string {
		return seg("AIS", map[int]string{1: "1", 3: "KONT^Kontrolle", 4: start, 7: dur, 8: units})
	}
	cases := []struct {
		name       string
		overrides  []string
		start, end string
		warnings   []string
		rejected   []string
	}{
		{name: "TQ1 with offsets", overrides: []string{tq1("202707011000+0200", "202707010930-0000"), sch(nil)},
			start: "2027-07-01T10:00:00+02:00", end: "2027-07-01T11:30:00+02:00"},
		{name: "TQ1 with seconds and fraction", overrides: []string{tq1("20270222100000.0000", "20270222103015"), sch(nil)},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:30:15+01:00"},
		{name: "TS with precision component", overrides: []string{tq1("202702221000^M", "202702221030^M")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:30:00+01:00"},
		{name: "SCH-11 when there is no TQ1", overrides: []string{"-TQ1", sch(map[int]string{11: "^^30^202702221000^202702221030"})},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:30:00+01:00"},
		{name: "AIS-4 plus SCH-9/10 in hours", overrides: []string{"-TQ1", sch(map[int]string{9: "1.5", 10: "h"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T11:30:00+01:00"},
		{name: "AIS-4 plus SCH-9/10 in seconds", overrides: []string{"-TQ1", sch(map[int]string{9: "2700", 10: "s"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:45:00+01:00"},
		{name: "AIS-4 plus Min^Minutes^ISO", overrides: []string{"-TQ1", sch(map[int]string{9: "20", 10: "Min^Minutes^ISO"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:20:00+01:00"},
		{name: "AIS duration when SCH-9 is missing", overrides: []string{"-TQ1", sch(nil), ais("202702221000", "50", "min^Minutes^ISO")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:50:00+01:00"},
		{name: "AIL-6 when there is no AIS start", overrides: []string{"-TQ1", "-AIS", sch(map[int]string{9: "30", 10: "min"}), seg("AIL", map[int]string{1: "1", 3: "^Zimmer 2", 6: "202702221100"})},
			start: "2027-02-22T11:00:00+01:00", end: "2027-02-22T11:30:00+01:00"},
		{name: "AIP-6 as the last resort", overrides: []string{"-TQ1", "-AIS", sch(map[int]string{9: "30", 10: "min"}), seg("AIP", map[int]string{1: "1", 3: "D1^Beispiel^Anna", 6: "202702221200"})},
			start: "2027-02-22T12:00:00+01:00", end: "2027-02-22T12:30:00+01:00"},
		{name: "units missing", overrides: []string{"-TQ1", sch(map[int]string{9: "30"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:30:00+01:00",
			warnings: []string{"line 2, field SCH-10: duration without units; read as minutes"}},
		{name: "unknown units", overrides: []string{"-TQ1", sch(map[int]string{9: "30", 10: "fortnight"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:00:00+01:00",
			warnings: []string{
				`line 2, field SCH-10: unknown duration units "fortnight"; duration not used`,
				"line 2, field TQ1-8: no end (TQ1-8, SCH-11.5) and no duration (SCH-9/10); end set to start",
			}},
		{name: "duration not a number", overrides: []string{"-TQ1", sch(map[int]string{9: "1e3", 10: "min"}), ais("202702221000", "", "")},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:00:00+01:00",
			warnings: []string{
				"line 2, field SCH-9: duration is not a number; not used",
				"line 2, field TQ1-8: no end (TQ1-8, SCH-11.5) and no duration (SCH-9/10); end set to start",
			}},
		{name: "spring gap without offset", overrides: []string{tq1("202703280230", "202703280400")},
			start: "2027-03-28T03:30:00+02:00", end: "2027-03-28T04:00:00+02:00",
			warnings: []string{"line 3, field TQ1-7: local time does not exist (daylight-saving gap); read with the offset before the gap"}},
		{name: "autumn double hour without offset", overrides: []string{tq1("202710310230", "202710310330"), sch(nil)},
			start: "2027-10-31T02:30:00+02:00", end: "2027-10-31T03:30:00+01:00",
			warnings: []string{"line 3, field TQ1-7: local time occurs twice (daylight-saving change); the first occurrence was taken"}},
		{name: "end before start", overrides: []string{tq1("202702221000", "202702220930"), sch(nil)},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T09:30:00+01:00",
			warnings: []string{"line 3, field TQ1-8: end lies before start"}},
		{name: "longer than 12 hours", overrides: []string{tq1("202702220800", "202702222030"), sch(nil)},
			start: "2027-02-22T08:00:00+01:00", end: "2027-02-22T20:30:00+01:00",
			warnings: []string{"line 3, field TQ1-8: implausible duration: end is 750 min after start (more than 12 hours)"}},
		{name: "SCH-9 contradicts", overrides: []string{sch(map[int]string{9: "45", 10: "min"})},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:30:00+01:00",
			warnings: []string{"line 2, field SCH-9: SCH-9/10 duration (45 min) contradicts start/end (30 min); start/end used"}},
		{name: "no end and no duration", overrides: []string{tq1("202702221000", ""), sch(nil)},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:00:00+01:00",
			warnings: []string{"line 2, field TQ1-8: no end (TQ1-8, SCH-11.5) and no duration (SCH-9/10); end set to start"}},
		{name: "no start anywhere", overrides: []string{"-TQ1", sch(nil)},
			rejected: []string{"line 2, field TQ1-7: no appointment start (TQ1-7, SCH-11.4, AIS-4, AIG-8, AIL-6 or AIP-6); not imported"}},
		{name: "date only", overrides: []string{tq1("20270222", "")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: a date without a time of day"}},
		{name: "impossible date", overrides: []string{tq1("202702311000", "202702311030")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: date 31.02.2027 does not exist"}},
		{name: "impossible date with offset", overrides: []string{tq1("202702311000+0100", "")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: date 31.02.2027 does not exist"}},
		{name: "bad offset", overrides: []string{tq1("202702221000+01", "")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: offset is not +/-HHMM"}},
		{name: "garbled end", overrides: []string{tq1("202702221000", "22.02.2027 10:30")},
			rejected: []string{"line 3, field TQ1-8: end is not a valid timestamp: expected YYYYMMDDHHMM[SS][+/-ZZZZ]"}},
		{name: "year out of range", overrides: []string{tq1("000101010000+1400", "")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: year 0 is out of range (1900–2199)"}},
		{name: "absurd duration", overrides: []string{tq1("202702221000", ""), sch(map[int]string{9: "999999", 10: "d"})},
			start: "2027-02-22T10:00:00+01:00", end: "2027-02-22T10:00:00+01:00",
			warnings: []string{
				"line 2, field SCH-9: duration is longer than a year; not used",
				"line 2, field TQ1-8: no end (TQ1-8, SCH-11.5) and no duration (SCH-9/10); end set to start",
			}},
		{name: "hour 24", overrides: []string{tq1("202702222400+0100", "")},
			rejected: []string{"line 3, field TQ1-7: start is not a valid timestamp: time 24:00:00 does not exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := parseBytes(t, siu("S12", tc.overrides...))
			require.Equal(t, tc.warnings, strs(b.Warnings))
			require.Equal(t, tc.rejected, strs(b.Rejected))
			if tc.start == "" {
				require.Empty(t, b.Appointments)
				return
			}
			require.Len(t, b.Appointments, 1)
			a := b.Appointments[0]
			require.Equal(t, tc.start, rfc(a.Start))
			require.Equal(t, tc.end, rfc(a.End))
			require.Equal(t, int(a.End.Sub(a.Start)/time.Minute), a.DurationMinutes)
		})
	}
}

func TestPatient(t *testing.T) {
	t.Parallel()
	pid := func(f map[int]string) string {
		base := map[int]string{1: "1", 3: "10001^^^PRAXIS^MR", 5: "Müller^Jürgen", 7: "19580312"}
		for k, v := range f {
			base[k] = v
		}
		return seg("PID", base)
	}
	t.Run("no MR identifier", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", pid(map[int]string{3: "10001^^^PRAXIS^PI~123^^^SSA^SS"})))
		require.Empty(t, b.Appointments)
		require.Empty(t, b.Patients)
		require.Equal(t, []string{"line 4, field PID-3: no patient identifier of type MR in PID-3; the appointment is not imported"}, strs(b.Rejected))
	})
	t.Run("PID-2 is not read even when typed MR", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", pid(map[int]string{2: "999^^^X^MR", 3: ""})))
		require.Empty(t, b.Appointments)
		require.Len(t, b.Rejected, 1)
	})
	t.Run("the profile names the authority", func(t *testing.T) {
		t.Parallel()
		data := siu("S12", pid(map[int]string{3: "55^^^LAB^MR~10001^^^PVS&1.2.276.0.76.1&ISO^MR"}))
		b := parseBytes(t, data)
		require.Equal(t, "55", b.Patients[0].ExternalID, "default: the first MR")
		for _, authority := range []string{"PVS", "1.2.276.0.76.1", "pvs"} {
			p := DefaultProfile()
			p.PatientIDAuthority = authority
			b, err := Parse(data, "x.hl7", p, berlin(t))
			require.NoError(t, err)
			require.Equal(t, "10001", b.Patients[0].ExternalID, authority)
		}
		p := DefaultProfile()
		p.PatientIDAuthority = "OTHER"
		b, err := Parse(data, "x.hl7", p, berlin(t))
		require.NoError(t, err)
		require.Empty(t, b.Patients)
		require.Equal(t, []string{`line 4, field PID-3: no patient identifier of type MR from authority "OTHER" in PID-3; the appointment is not imported`}, strs(b.Rejected))
	})
	t.Run("other identifier type by profile", func(t *testing.T) {
		t.Parallel()
		b, err := Parse(siu("S12", pid(map[int]string{3: "10001^^^PRAXIS^PI"})), "x.hl7", Profile{Name: "pi", PatientIDType: "pi"}, berlin(t))
		require.NoError(t, err)
		require.Equal(t, "pi", b.Profile)
		require.Equal(t, "10001", b.Patients[0].ExternalID)
	})
	t.Run("leading zeros stay", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", pid(map[int]string{3: "02345^^^PRAXIS^MR"})))
		require.Equal(t, "02345", b.Patients[0].ExternalID)
		require.Equal(t, "02345", b.Appointments[0].PatientExternalID)
	})
	t.Run("birth dates", func(t *testing.T) {
		t.Parallel()
		for v, want := range map[string]string{"19840229": "1984-02-29", "198402291200+0100": "1984-02-29", "": "", "1984": "", "19840230": ""} {
			b := parseBytes(t, siu("S12", pid(map[int]string{7: v})))
			require.Equal(t, want, b.Patients[0].BirthDate, v)
			if want == "" && v != "" {
				require.Equal(t, []string{"line 4, field PID-7: birth date is not a full date (YYYYMMDD); left empty"}, strs(b.Warnings), v)
			} else {
				require.Empty(t, b.Warnings, v)
			}
		}
	})
	t.Run("name: first repetition, surname subcomponent, first given name", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", pid(map[int]string{5: "von der Höh&von der&Höh^Friederike^Anna~Alt^^^^^^M"})))
		require.Equal(t, "von der Höh", b.Patients[0].FamilyName)
		require.Equal(t, "Friederike", b.Patients[0].GivenName)
	})
	t.Run("sex", func(t *testing.T) {
		t.Parallel()
		for v, want := range map[string]string{"M": "M", "F": "F", "O": "X", "U": "", "A": "", "": ""} {
			b := parseBytes(t, siu("S12", pid(map[int]string{8: v})))
			require.Equal(t, want, b.Patients[0].Sex, v)
		}
	})
	t.Run("two patients in one message", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", "+PID|2||10002^^^PRAXIS^MR|"))
		require.Len(t, b.Patients, 1)
		require.Equal(t, "10001", b.Appointments[0].PatientExternalID)
		require.Equal(t, []string{"line 9, field PID-3: message names more than one patient; the first PID is used"}, strs(b.Warnings))
	})
	t.Run("no PID", func(t *testing.T) {
		t.Parallel()
		b := parseBytes(t, siu("S12", "-PID"))
		require.Empty(t, b.Appointments)
		require.Equal(t, []string{"line 2, field PID: SIU message without a PID segment; the appointment has no patient and is not imported"}, strs(b.Rejected))
	})
}

func TestPhones(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		f13, f14 string
		f40      string
		want     []schemas.Phone
		warnings []string
	}{
		{name: "XTN-12 unformatted", f13: "^PRN^CP^^^^^^^^^0176 04069011",
			want: []schemas.Phone{{E164: "+4917604069011", Kind: schemas.PhoneMobile}}},
		{name: "country, area and local", f13: "^PRN^PH^^49^171^3920001",
			want: []schemas.Phone{{E164: "+491713920001", Kind: schemas.PhoneMobile}}},
		{name: "area with and without trunk zero", f13: "^PRN^PH^^^030^23125001~^ORN^PH^^^40^66969001",
			want: []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}, {E164: "+494066969001", Kind: schemas.PhoneLandline}}},
		{name: "deprecated XTN-1", f13: "(0171) 3920001",
			want: []schemas.Phone{{E164: "+491713920001", Kind: schemas.PhoneMobile}}},
		{name: "invalid XTN-12 but valid XTN-1", f13: "0171 3920001^PRN^CP^^^^^^^^^2222",
			want: []schemas.Phone{{E164: "+491713920001", Kind: schemas.PhoneMobile}}},
		{name: "landline typed CP is a landline", f13: "^PRN^CP^^^^^^^^^030 23125001",
			want: []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}}},
		{name: "work number in PID-14", f14: "^WPN^PH^^^^^^^^^069 90009001",
			want: []schemas.Phone{{E164: "+496990009001", Kind: schemas.PhoneLandline}}},
		{name: "PID-40", f40: "^PRN^CP^^^^^^^^^+49 176 04069040",
			want: []schemas.Phone{{E164: "+4917604069040", Kind: schemas.PhoneMobile}}},
		{name: "e-mail, fax and pager are not phones", f13: "^NET^Internet^x@example.org~0171 3920001^PRN^FX~0171 3920002^PRN^BP",
			want: []schemas.Phone{}},
		{name: "same number twice", f13: "^PRN^CP^^^^^^^^^0171 3920001", f14: "+49 171 3920001",
			want: []schemas.Phone{{E164: "+491713920001", Kind: schemas.PhoneMobile}}},
		{name: "too short", f13: "^PRN^CP^^^^^^^^^0171 392",
			want: []schemas.Phone{}, warnings: []string{"line 4, field PID-13: not a valid phone number; not used"}},
		{name: "country code without plus", f13: "^PRN^CP^^^^^^^^^491713920001",
			want: []schemas.Phone{}, warnings: []string{"line 4, field PID-13: phone number starts with a country code but has no + or 00; not used"}},
		{name: "two numbers, one bad", f13: "^PRN^CP^^^^^^^^^0171 3920011 / 0171 392",
			want:     []schemas.Phone{{E164: "+491713920011", Kind: schemas.PhoneMobile}},
			warnings: []string{"line 4, field PID-13: not a valid phone number; not used"}},
		{name: "empty and null repetitions", f13: `~""~`, want: []schemas.Phone{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pid := seg("PID", map[int]string{1: "1", 3: "10001^^^PRAXIS^MR", 5: "Müller^Jürgen", 13: tc.f13, 14: tc.f14, 40: tc.f40})
			b := parseBytes(t, siu("S12", pid))
			require.Equal(t, tc.want, b.Patients[0].Phones)
			require.Equal(t, tc.warnings, strs(b.Warnings))
			for _, w := range b.Warnings {
				require.NotContains(t, w.Reason, "392", "problems never repeat the number")
				require.NotContains(t, w.Reason, "4917")
			}
		})
	}
}

func TestPractitionerLocationKind(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, siu("S12", "-AIP", seg("AIG", map[int]string{1: "1", 3: "D2^Dr. Zahn^L", 4: "Behandler"})))
	require.Equal(t, "Dr. Zahn", b.Appointments[0].Practitioner, "AIG when there is no AIP")
	b = parseBytes(t, siu("S12", seg("AIP", map[int]string{1: "1", 3: "D3"})))
	require.Equal(t, "D3", b.Appointments[0].Practitioner, "the id when AIP-3 has no name")
	b = parseBytes(t, siu("S12", "-AIP", "-AIL", "-AIS"))
	require.Empty(t, b.Appointments[0].Practitioner)
	require.Empty(t, b.Appointments[0].Location)
	require.Equal(t, "Kontrolle", b.Appointments[0].Kind, "SCH-7 when there is no AIS")
}

func TestAppointmentID(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, siu("S12", seg("SCH", map[int]string{1: "P-77^PVS", 9: "30", 10: "min"})))
	require.Equal(t, "P-77", b.Appointments[0].ExternalID)
	require.Equal(t, []string{"line 2, field SCH-1: no filler appointment id (SCH-2); the placer id (SCH-1) is used"}, strs(b.Warnings))
	b = parseBytes(t, siu("S12", seg("SCH", map[int]string{9: "30", 10: "min"})))
	require.Empty(t, b.Appointments)
	require.Equal(t, []string{"line 2, field SCH-2: no appointment id (SCH-2 or SCH-1); not imported"}, strs(b.Rejected))
	b = parseBytes(t, siu("S12", "-SCH"))
	require.Empty(t, b.Appointments)
	require.Equal(t, []string{"line 1, field SCH: SIU message without an SCH segment; not imported"}, strs(b.Rejected))
}

func TestSegmentSeparators(t *testing.T) {
	t.Parallel()
	cr := siu("S12")
	want := parseBytes(t, cr)
	for name, data := range map[string][]byte{
		"LF":   bytes.ReplaceAll(cr, []byte("\r"), []byte("\n")),
		"CRLF": bytes.ReplaceAll(cr, []byte("\r"), []byte("\r\n")),
		"MLLP": append(append([]byte("\x0b"), cr...), "\x1c\r"...),
		"BOM":  append([]byte("\xEF\xBB\xBF"), cr...),
	} {
		got := parseBytes(t, data)
		require.Equal(t, want, got, name)
	}
}

func TestSeveralMessages(t *testing.T) {
	t.Parallel()
	second := bytes.ReplaceAll(siu("S15", seg("SCH", map[int]string{2: "A-2027-0302", 9: "30", 10: "min"})), []byte("10001^^^PRAXIS^MR"), []byte("10002^^^PRAXIS^MR"))
	adt := []byte("MSH|^~\\&|PVS|Praxis|PB|Praxis|202702101000||ADT^A08|C9|P|2.5\rPID|1||10003^^^PRAXIS^MR|\r")
	data := append(append(append([]byte{}, siu("S12")...), adt...), second...)
	b := parseBytes(t, data)
	require.Equal(t, 3, b.Rows)
	require.Len(t, b.Appointments, 2)
	require.Equal(t, schemas.StatusBooked, b.Appointments[0].Status)
	require.Equal(t, schemas.StatusCancelled, b.Appointments[1].Status)
	require.Equal(t, 12, b.Appointments[1].Line)
	require.Len(t, b.Patients, 2)
	require.Equal(t, []string{"line 9, field MSH-9: not a scheduling message (MSH-9 ADT^A08)"}, strs(b.Skipped))
}

func TestBrokenMSH(t *testing.T) {
	t.Parallel()
	bad := []byte("MSH|^^\\&|X\rSCH|1|2\r")
	data := append(append([]byte{}, bad...), siu("S12")...)
	b := parseBytes(t, data)
	require.Equal(t, 2, b.Rows)
	require.Len(t, b.Appointments, 1)
	require.Equal(t, []string{"line 1, field MSH-2: MSH-2 encoding characters are not distinct punctuation characters; message not read"}, strs(b.Rejected))
	require.Empty(t, b.Warnings, "the segments of the unreadable message are not reported one by one")
}

func TestDecodeEscapesAndDelimiters(t *testing.T) {
	t.Parallel()
	t.Run("escape sequences", func(t *testing.T) {
		t.Parallel()
		data := []byte("MSH|^~\\&|A||||||SIU^S12|1|P|2.5||||||UNICODE UTF-8\r" +
			`NTE|1||a\F\b\S\c\T\d\R\e\E\f\X4DC3BC\g\.br\h\H\i\N\j\Zx1\k\Cxxyy\l\.sp2\m\Q\n\X4\o\unterminated` + "\r")
		msgs, probs, err := Decode(data)
		require.NoError(t, err)
		require.Empty(t, probs)
		nte, ok := msgs[0].First("NTE")
		require.True(t, ok)
		require.Equal(t, 2, nte.Line)
		require.Equal(t, "a|b^c&d~e\\fMüg\nhijkl\nm\\Q\\n\\X4\\o\\unterminated", nte.Field(3).String())
		require.Equal(t, 3, nte.Fields())
	})
	t.Run("escaped delimiters do not split", func(t *testing.T) {
		t.Parallel()
		data := []byte("MSH|^~\\&|A||||||SIU^S12|1|P|2.5\rPID|1||10001^^^A\\T\\B^MR||M\\S\\ller^J\\R\\rg\r")
		msgs, _, err := Decode(data)
		require.NoError(t, err)
		pid, _ := msgs[0].First("PID")
		require.Equal(t, "A&B", pid.Field(3).Component(4).String())
		require.Equal(t, "MR", pid.Field(3).Component(5).String())
		require.Equal(t, "M^ller", pid.Field(5).Component(1).String())
		require.Equal(t, "J~rg", pid.Field(5).Component(2).String())
		require.Len(t, pid.Field(5).Repetitions(), 1)
	})
	t.Run("other delimiters", func(t *testing.T) {
		t.Parallel()
		data := []byte("MSH#*+!$#PVS######SIU*S12#C1#P#2.5\r" +
			"SCH#P1#F1*PVS#####Kontrolle##30#min" + strings.Repeat("#", 15) + "Booked\r" +
			"TQ1#1######202702221000#202702221030\r" +
			"PID#1##10001***PRAXIS*MR+9**SS##M!S!ller*J!F!rgen\r")
		msgs, probs, err := Decode(data)
		require.NoError(t, err)
		require.Empty(t, probs)
		require.Equal(t, Delimiters{Field: '#', Component: '*', Repetition: '+', Escape: '!', Subcomponent: '$'}, msgs[0].Delimiters)
		require.Equal(t, "#", msgs[0].Segments[0].Field(1).String())
		require.Equal(t, "*+!$", msgs[0].Segments[0].Field(2).String())
		require.Equal(t, "*+!$", msgs[0].Segments[0].Field(2).Component(1).String(), "MSH-2 is never split")
		b := parseBytes(t, data)
		require.Empty(t, b.Warnings)
		require.Equal(t, "10001", b.Patients[0].ExternalID)
		require.Equal(t, "M*ller", b.Patients[0].FamilyName)
		require.Equal(t, "J#rgen", b.Patients[0].GivenName)
		require.Equal(t, "F1", b.Appointments[0].ExternalID)
		require.Equal(t, "2027-02-22T10:00:00+01:00", rfc(b.Appointments[0].Start))
	})
	t.Run("values", func(t *testing.T) {
		t.Parallel()
		msgs, _, err := Decode([]byte("MSH|^~\\&|A\rZZ1|a^b&c~d|\"\"|\r"))
		require.NoError(t, err)
		z := msgs[0].Segments[1]
		require.Equal(t, "ZZ1", z.Name)
		require.Equal(t, "a^b&c~d", z.Field(1).Raw())
		require.Equal(t, "b", z.Field(1).Component(2).Subcomponent(1).String())
		require.Equal(t, "c", z.Field(1).Component(2).Subcomponent(2).String())
		require.Equal(t, "a", z.Field(1).Subcomponent(1).String())
		require.Equal(t, "d", z.Field(1).Repetitions()[1].String())
		require.True(t, z.Field(2).Empty(), `"" is the HL7 null`)
		require.Equal(t, "", z.Field(2).String())
		require.True(t, z.Field(3).Empty())
		require.True(t, z.Field(99).Empty())
		require.Equal(t, "", z.Field(1).Component(9).String())
		require.Nil(t, z.Field(3).Repetitions())
	})
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	latin1 := func(s string) []byte {
		var out []byte
		for _, r := range s {
			out = append(out, byte(r))
		}
		return out
	}
	base := "MSH|^~\\&|A||||||SIU^S12|1|P|2.5||||||%s\rPID|1||10001^^^P^MR||Müller^Jürgen\r"
	cases := []struct {
		name, declared string
		data           func(string) []byte
		charset        string
		warning        string
	}{
		{"UTF-8 declared", "UNICODE UTF-8", func(s string) []byte { return []byte(s) }, CharsetUTF8, ""},
		{"Latin-1 declared", "8859/1", latin1, CharsetLatin1, ""},
		{"Latin-9 declared", "8859/15", latin1, CharsetLatin9, ""},
		{"UTF-8 bytes declared Latin-1", "8859/1", func(s string) []byte { return []byte(s) }, CharsetUTF8,
			`line 1, field MSH-18: message declares "8859/1" but its bytes are UTF-8; read as UTF-8`},
		{"UTF-8 bytes undeclared", "", func(s string) []byte { return []byte(s) }, CharsetUTF8,
			"line 1, field MSH-18: message declares no character set (ASCII) but its bytes are UTF-8; read as UTF-8"},
		{"high bytes undeclared", "", latin1, CharsetWin1252,
			"line 1, field MSH-18: message declares no character set (ASCII) but contains bytes above 0x7F; read as Windows-1252"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msgs, probs, err := Decode(tc.data(strings.Replace(base, "%s", tc.declared, 1)))
			require.NoError(t, err)
			require.Equal(t, tc.charset, msgs[0].Charset)
			pid, _ := msgs[0].First("PID")
			require.Equal(t, "Müller", pid.Field(5).Component(1).String())
			require.Equal(t, "Jürgen", pid.Field(5).Component(2).String())
			if tc.warning == "" {
				require.Empty(t, probs)
			} else {
				require.Equal(t, []string{tc.warning}, strs(probs))
			}
		})
	}
}

func TestDecodeStructure(t *testing.T) {
	t.Parallel()
	data := []byte("FHS|^~\\&|batch\nBHS|^~\\&\nhello\n\nMSH|^~\\&|A\npid|lower\nPID|1\nNTE\nBTS|1\nFTS|1\n")
	msgs, probs, err := Decode(data)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, 5, msgs[0].Line)
	var names []string
	for _, s := range msgs[0].Segments {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"MSH", "PID", "NTE"}, names)
	require.Equal(t, []string{
		"line 3: 1 line(s) before the first MSH ignored",
		"line 6: not an HL7 segment; ignored",
	}, strs(probs))
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		data []byte
		err  error
		msg  string
	}{
		"empty":      {nil, ErrEmpty, ""},
		"blank":      {[]byte("\r\n\r"), ErrEmpty, ""},
		"utf16":      {[]byte("\xff\xfeM\x00S\x00H\x00"), ErrBinary, ""},
		"no MSH":     {[]byte("PID|1||10001^^^P^MR\r"), ErrNotHL7, ""},
		"ical":       {[]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), ErrNotHL7, ""},
		"gdt":        {[]byte("01380006310\r\n"), ErrNotHL7, ""},
		"ADT":        {[]byte("MSH|^~\\&|A||||||ADT^A04|1|P|2.5\rPID|1\r"), ErrNotScheduling, "x.hl7: hl7: not a scheduling message (MSH-9 ADT^A04)"},
		"ORM":        {[]byte("MSH|^~\\&|A||||||ORM^O01|1|P|2.5\rMSH|^~\\&|A||||||ACK|2|P|2.5\r"), ErrNotScheduling, "x.hl7: hl7: not a scheduling message (MSH-9 ORM^O01)"},
		"no MSH-9":   {[]byte("MSH|^~\\&|A\r"), ErrNotScheduling, "x.hl7: hl7: not a scheduling message (MSH-9 empty)"},
		"odd MSH-9":  {[]byte("MSH|^~\\&|A||||||siu ^s12|1\r"), ErrNotScheduling, `x.hl7: hl7: not a scheduling message (MSH-9 "siu^s12")`},
		"siu lower?": {[]byte("MSH|^~\\&|A||||||Siu^S12|1\r"), ErrNotScheduling, `x.hl7: hl7: not a scheduling message (MSH-9 "Siu^S12")`},
	}
	for name, tc := range cases {
		b, err := Parse(tc.data, "x.hl7", DefaultProfile(), berlin(t))
		require.ErrorIs(t, err, tc.err, name)
		require.Nil(t, b, name)
		require.Contains(t, err.Error(), "x.hl7", name)
		if tc.msg != "" {
			require.EqualError(t, err, tc.msg, name)
		}
	}
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	data := siu("S12")
	for _, p := range []Profile{{PatientIDType: "M^R"}, {PatientIDAuthority: "A&B"}, {PatientIDAuthority: "A|B"}} {
		_, err := Parse(data, "x.hl7", p, berlin(t))
		require.Error(t, err, "%+v", p)
	}
	b, err := Parse(data, "x.hl7", Profile{Name: "empty"}, berlin(t))
	require.NoError(t, err)
	require.Equal(t, "10001", b.Patients[0].ExternalID, "an empty type means MR")
	_, err = Parse(data, "x.hl7", DefaultProfile(), nil)
	require.Error(t, err)
}
