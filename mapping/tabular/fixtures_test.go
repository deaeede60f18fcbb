package tabular

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/praxisbote/praxisbote/schemas"
)

// The expected values in this file are those of the shared cases README
// (sections termine_ds_cp1252.csv, termine_utf8_bom.csv and
// termine_charly_like.xlsx); the fixtures are byte-identical copies.

const fixtureDir = "../../fixtures/appointments"

const (
	dsFile      = "termine_ds_cp1252.csv"
	englishFile = "termine_utf8_bom.csv"
	charlyFile  = "termine_charly_like.xlsx"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	return data
}

func profile(t testing.TB, name string) Profile {
	t.Helper()
	p, ok := ProfileByName(name)
	require.True(t, ok, "embedded profile %q", name)
	return p
}

func parseFixture(t testing.TB, file, prof string) *schemas.Batch {
	t.Helper()
	b, err := Parse(fixture(t, file), file, profile(t, prof), berlin(t))
	require.NoError(t, err)
	return b
}

// row is one line of an expected-values table of the README.
type row struct {
	line      int
	apptID    string // "" = derived, checked separately
	pat       string
	family    string
	given     string
	birth     string
	start     string
	end       string
	status    schemas.AppointmentStatus
	mobiles   []string
	landlines []string
}

const (
	booked    = schemas.StatusBooked
	cancelled = schemas.StatusCancelled
)

func m(nums ...string) []string { return nums }

// checkRows asserts every row of a README table against the batch.
func checkRows(t *testing.T, b *schemas.Batch, rows []row) {
	t.Helper()
	byLine := map[int]schemas.Appointment{}
	for _, a := range b.Appointments {
		_, dup := byLine[a.Line]
		require.False(t, dup, "two appointments from line %d", a.Line)
		byLine[a.Line] = a
	}
	patients := map[string]schemas.Patient{}
	for _, p := range b.Patients {
		patients[p.ExternalID] = p
	}
	for _, want := range rows {
		t.Run(want.pat+"@"+want.start, func(t *testing.T) {
			t.Parallel()
			a, ok := byLine[want.line]
			require.True(t, ok, "no appointment from line %d", want.line)
			require.Equal(t, want.pat, a.PatientExternalID)
			if want.apptID != "" {
				require.Equal(t, want.apptID, a.ExternalID)
			}
			require.Equal(t, want.start, a.Start.Format(time.RFC3339), "start")
			require.Equal(t, want.end, a.End.Format(time.RFC3339), "end")
			require.Equal(t, "Europe/Berlin", a.Start.Location().String())
			require.Equal(t, int(a.End.Sub(a.Start)/time.Minute), a.DurationMinutes)
			require.Equal(t, want.status, a.Status)
			p, ok := patients[want.pat]
			require.True(t, ok, "patient %s", want.pat)
			require.Equal(t, want.family, p.FamilyName)
			require.Equal(t, want.given, p.GivenName)
			require.Equal(t, want.birth, p.BirthDate)
			var mobiles, landlines []string
			for _, ph := range p.Phones {
				switch ph.Kind {
				case schemas.PhoneMobile:
					mobiles = append(mobiles, ph.E164)
				case schemas.PhoneLandline:
					landlines = append(landlines, ph.E164)
				}
			}
			require.Equal(t, want.mobiles, mobiles, "mobiles in order")
			require.Equal(t, want.landlines, landlines, "landlines")
		})
	}
}

func problemLines(ps []schemas.Problem) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Line
	}
	return out
}

func countStatus(b *schemas.Batch, s schemas.AppointmentStatus) int {
	n := 0
	for _, a := range b.Appointments {
		if a.Status == s {
			n++
		}
	}
	return n
}

var dsRows = []row{
	{2, "10001-20270111T0800", "10001", "Müller", "Jürgen", "1958-03-12", "2027-01-11T08:00:00+01:00", "2027-01-11T08:30:00+01:00", booked, m("+491713920001"), m("+493023125001")},
	{3, "", "10002", "Weiß", "Käthe", "1949-07-03", "2027-01-11T08:30:00+01:00", "2027-01-11T09:15:00+01:00", booked, m("+491713920002"), nil},
	{4, "", "10003", "Straßburger", "Björn", "1984-02-29", "2027-01-11T09:30:00+01:00", "2027-01-11T10:30:00+01:00", booked, m("+491713920003"), m("+498999998003")},
	{5, "", "10004", "Özdemir", "Selin", "1991-11-17", "2027-01-12T10:15:00+01:00", "2027-01-12T10:45:00+01:00", booked, m("+491713920004"), nil},
	{6, "", "10005", "Meißner", "Sören", "1977-05-05", "2027-01-12T11:00:00+01:00", "2027-01-12T11:20:00+01:00", booked, m("+491713920005"), m("+494066969005")},
	{7, "", "10006", "Mustermann", "Erika", "1964-08-12", "2027-01-13T14:00:00+01:00", "2027-01-13T14:30:00+01:00", booked, m("+491713920006"), nil},
	{8, "", "10007", "Çelik", "Zoé", "2001-09-21", "2027-01-13T14:30:00+01:00", "2027-01-13T15:30:00+01:00", booked, m("+491713920007"), nil},
	{9, "", "10008", "Fuß", "Dörte", "1955-06-30", "2027-01-14T08:00:00+01:00", "2027-01-14T08:30:00+01:00", booked, nil, m("+493023125008")},
	{10, "", "10009", "Groß", "Änne", "1939-12-08", "2027-01-14T09:00:00+01:00", "2027-01-14T09:45:00+01:00", booked, nil, nil},
	{11, "", "10010", "Dubois-Lefèvre", "Chloé", "1988-02-14", "2027-01-15T10:00:00+01:00", "2027-01-15T10:30:00+01:00", booked, m("+4917604069010"), nil},
	{12, "", "10011", "von der Höh", "Friederike", "1970-04-23", "2027-01-18T15:00:00+01:00", "2027-01-18T15:30:00+01:00", booked, m("+491713920011", "+4917604069011"), nil},
	{13, "", "10012", "Kühn", "Ömer", "1996-01-02", "2027-01-19T08:30:00+01:00", "2027-01-19T09:00:00+01:00", booked, nil, nil},
	{14, "", "10013", "Schäfer", "Lea", "1999-03-19", "2027-01-20T16:00:00+01:00", "2027-01-20T16:30:00+01:00", cancelled, m("+4917604069013"), nil},
	{15, "", "10014", "O'Brien", "Siobhán", "1982-11-11", "2027-01-21T09:00:00+01:00", "2027-01-21T09:30:00+01:00", booked, m("+4917604069014"), nil},
	{18, "", "10016", "Bäcker", "Hans-Jürgen", "1962-12-25", "2027-02-01T11:30:00+01:00", "2027-02-01T12:15:00+01:00", booked, m("+491713920016"), m("+492214710016")},
	{19, "10020-20270202T1530", "10020", "Schröder", "Anja", "1985-09-09", "2027-02-02T15:30:00+01:00", "2027-02-02T16:00:00+01:00", booked, m("+4917604069020"), nil},
	{20, "", "10021", "Schröder", "Mia", "2016-06-14", "2027-02-02T16:00:00+01:00", "2027-02-02T16:30:00+01:00", booked, m("+4917604069020"), nil},
	{21, "", "10017", "Lindström", "Åsa", "1993-10-01", "2027-02-15T08:00:00+01:00", "2027-02-15T08:30:00+01:00", booked, m("+491713920017"), nil},
	{22, "", "10018", "Krämer", "Günther", "1944-05-17", "2027-03-01T13:00:00+01:00", "2027-03-01T14:00:00+01:00", booked, m("+491713920018"), m("+496990009018")},
	{23, "", "10019", "Nußbaum", "Jürgen", "1975-01-30", "2027-03-26T17:30:00+01:00", "2027-03-26T18:00:00+01:00", booked, m("+491713920019"), nil},
	{24, "", "10022", "Hoffmann", "Ute", "1968-02-04", "2027-03-28T03:30:00+02:00", "2027-03-28T04:00:00+02:00", booked, m("+491713920022"), nil},
	{25, "", "10023", "Wagner", "Ludwig", "1950-12-12", "2027-03-29T08:00:00+02:00", "2027-03-29T08:30:00+02:00", booked, m("+491713920023"), nil},
	{26, "10001-20270415T1030", "10001", "Müller", "Jürgen", "1958-03-12", "2027-04-15T10:30:00+02:00", "2027-04-15T11:15:00+02:00", booked, m("+491713920001"), m("+493023125001")},
	{27, "", "10024", "Zimmermann", "Björn", "1981-08-20", "2027-10-31T02:30:00+02:00", "2027-10-31T02:00:00+01:00", booked, m("+491713920024"), nil},
}

func TestDSFileRows(t *testing.T) {
	t.Parallel()
	b := parseFixture(t, dsFile, "ds-win")
	checkRows(t, b, dsRows)
}

func TestDSFileSummary(t *testing.T) {
	t.Parallel()
	b := parseFixture(t, dsFile, "ds-win")

	patientsWithMobile := func() (with []int, without []int, withoutPat []string) {
		byID := map[string]schemas.Patient{}
		for _, p := range b.Patients {
			byID[p.ExternalID] = p
		}
		for _, a := range b.Appointments {
			if _, ok := byID[a.PatientExternalID].Mobile(); ok {
				with = append(with, a.Line)
			} else {
				without = append(without, a.Line)
				withoutPat = append(withoutPat, a.PatientExternalID)
			}
		}
		return with, without, withoutPat
	}
	with, without, withoutPat := patientsWithMobile()

	var patientIDs []string
	for _, p := range b.Patients {
		patientIDs = append(patientIDs, p.ExternalID)
	}
	slices.Sort(patientIDs)
	var wantIDs []string
	for id := 10001; id <= 10024; id++ {
		if id != 10015 {
			wantIDs = append(wantIDs, itoa(id))
		}
	}

	mobileOwners := map[string][]string{}
	for _, p := range b.Patients {
		for _, ph := range p.Phones {
			if ph.Kind == schemas.PhoneMobile {
				mobileOwners[ph.E164] = append(mobileOwners[ph.E164], p.ExternalID)
			}
		}
	}

	cases := []struct {
		name string
		got  any
		want any
	}{
		{"format", b.Format, "csv"},
		{"profile", b.Profile, "ds-win"},
		{"data lines", b.Rows, 26},
		{"appointments imported", len(b.Appointments), 24},
		{"imported", b.Imported(), 24},
		{"booked", countStatus(b, booked), 23},
		{"cancelled", countStatus(b, cancelled), 1},
		{"patients", len(b.Patients), 23},
		{"patient numbers 10001-10014, 10016-10024", patientIDs, wantIDs},
		{"rejected lines", problemLines(b.Rejected), []int{17}},
		{"rejected field", b.Rejected[0].Field, "Datum"},
		{"rejected reason names the date", strings.Contains(b.Rejected[0].Reason, "31.02.2027"), true},
		{"duplicates skipped", problemLines(b.Skipped), []int{16}},
		{"duplicate names the original line", strings.Contains(b.Skipped[0].Reason, "line 15"), true},
		{"warning lines", problemLines(b.Warnings), []int{12, 13, 24, 27}},
		{"warning fields", []string{b.Warnings[0].Field, b.Warnings[1].Field, b.Warnings[2].Field, b.Warnings[3].Field}, []string{"Mobil", "Mobil", "Uhrzeit", "Uhrzeit"}},
		{"line 12 warns of two numbers", strings.Contains(b.Warnings[0].Reason, "2 numbers"), true},
		{"line 13 warns of an invalid number", strings.Contains(b.Warnings[1].Reason, "no valid phone number"), true},
		{"line 24 warns of the gap", strings.Contains(b.Warnings[2].Reason, "does not exist"), true},
		{"line 27 warns of the double hour", strings.Contains(b.Warnings[3].Reason, "occurs twice"), true},
		{"appointments whose patient has a mobile", len(with), 21},
		{"lines without mobile", without, []int{9, 10, 13}},
		{"patients without mobile", withoutPat, []string{"10008", "10009", "10012"}},
		{"consent events", len(b.Consents), 0},
		{"distinct mobile numbers", len(mobileOwners), 20},
		{"shared mobile", mobileOwners["+4917604069020"], []string{"10020", "10021"}},
		{"no patient from the rejected line", slices.Contains(patientIDs, "10015"), false},
		{"snapshot", b.Snapshot, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func itoa(i int) string { return string(appendPadded(nil, i, 1)) }

func TestDSFileDetails(t *testing.T) {
	t.Parallel()
	b := parseFixture(t, dsFile, "ds-win")
	byLine := map[int]schemas.Appointment{}
	for _, a := range b.Appointments {
		byLine[a.Line] = a
	}
	cases := []struct {
		line               int
		kind, practitioner string
	}{
		{2, "Kontrolle", "Dr. Beispiel"},
		{11, "Kontrolle; PZR", "Dr. Beispiel"}, // quoted ";"
		{18, `Beratung "Implantat"`, "Dr. Muster"},
		{24, "Schmerz", "Notdienst"},
		{26, "Füllung", "Dr. Beispiel"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.kind, byLine[tc.line].Kind)
			require.Equal(t, tc.practitioner, byLine[tc.line].Practitioner)
		})
	}
	t.Run("autumn end before start on the wall clock", func(t *testing.T) {
		t.Parallel()
		a := byLine[27]
		require.Equal(t, 30, a.DurationMinutes)
		require.True(t, a.End.After(a.Start))
		require.Less(t, a.End.Hour()*60+a.End.Minute(), a.Start.Hour()*60+a.Start.Minute())
	})
	t.Run("patient 10001 appears once with both appointments", func(t *testing.T) {
		t.Parallel()
		n := 0
		for _, p := range b.Patients {
			if p.ExternalID == "10001" {
				n++
			}
		}
		require.Equal(t, 1, n)
		require.Equal(t, "10001", byLine[2].PatientExternalID)
		require.Equal(t, "10001", byLine[26].PatientExternalID)
	})
	t.Run("derived ids are unique and shaped patient-YYYYMMDDTHHMM", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for _, a := range b.Appointments {
			require.False(t, seen[a.ExternalID], a.ExternalID)
			seen[a.ExternalID] = true
			require.Equal(t, a.PatientExternalID+"-"+a.Start.Format("20060102T1504"), a.ExternalID)
		}
	})
}

// TestDSReimportIsStable proves the derived key depends on the row, not on
// its position: the same rows in another order give the same ids.
func TestDSReimportIsStable(t *testing.T) {
	t.Parallel()
	data := fixture(t, dsFile)
	lines := bytes.SplitAfter(data, []byte("\r\n"))
	lines = lines[:len(lines)-1] // the empty string after the last CRLF
	shuffled := [][]byte{lines[0]}
	for i := len(lines) - 1; i >= 1; i-- {
		shuffled = append(shuffled, lines[i])
	}
	a := parseFixture(t, dsFile, "ds-win")
	b, err := Parse(bytes.Join(shuffled, nil), dsFile, profile(t, "ds-win"), berlin(t))
	require.NoError(t, err)
	ids := func(b *schemas.Batch) []string {
		var out []string
		for _, x := range b.Appointments {
			out = append(out, x.ExternalID)
		}
		slices.Sort(out)
		return out
	}
	require.Len(t, a.Appointments, 24)
	require.Equal(t, ids(a), ids(b))
}

var englishRows = []row{
	{2, "A-2027-0201", "20001", "Wiśniewski", "Łukasz", "1990-05-17", "2027-02-15T08:00:00+01:00", "2027-02-15T08:30:00+01:00", booked, m("+4917604069031"), nil},
	{3, "A-2027-0202", "20002", "Yılmaz", "Ayşe", "1987-10-02", "2027-02-15T08:30:00+01:00", "2027-02-15T09:15:00+01:00", booked, m("+4917604069032"), m("+493023125032")},
	{4, "A-2027-0203", "20003", "Nguyễn", "Thị Minh Anh", "2003-01-30", "2027-02-16T13:00:00+01:00", "2027-02-16T14:00:00+01:00", booked, m("+4917604069033"), nil},
	{5, "A-2027-0204", "20004", "Schmidt", "Anna-Lena", "2012-08-08", "2027-02-17T09:00:00+01:00", "2027-02-17T09:30:00+01:00", booked, nil, m("+498999998004")},
	{6, "A-2027-0205", "20005", "Ahmed", "Omar", "1979-12-24", "2027-02-18T17:45:00+01:00", "2027-02-18T18:15:00+01:00", cancelled, m("+4917604069035"), nil},
	{7, "A-2027-0206", "20006", "Papadopoulou", "Eleni", "1960-06-06", "2027-03-26T16:00:00+01:00", "2027-03-26T16:45:00+01:00", booked, m("+4917604069036"), nil},
	{8, "A-2027-0207", "20007", "Kowalczyk", "Zofia", "1972-03-03", "2027-03-29T08:00:00+02:00", "2027-03-29T08:30:00+02:00", booked, m("+4917604069037"), nil},
	{9, "A-2027-0208", "20008", "Brandtner-Lüdecke", "Günter", "1948-11-11", "2027-04-01T07:30:00+02:00", "2027-04-01T08:00:00+02:00", booked, m("+4917604069038"), nil},
}

func TestEnglishFileRows(t *testing.T) {
	t.Parallel()
	checkRows(t, parseFixture(t, englishFile, "english-csv"), englishRows)
}

func TestEnglishFileSummary(t *testing.T) {
	t.Parallel()
	b := parseFixture(t, englishFile, "english-csv")
	var kinds []string
	for _, a := range b.Appointments {
		kinds = append(kinds, a.Kind)
	}
	cases := []struct {
		name      string
		got, want any
	}{
		{"format", b.Format, "csv"},
		{"rows", b.Rows, 8},
		{"appointments", len(b.Appointments), 8},
		{"booked", countStatus(b, booked), 7},
		{"cancelled", countStatus(b, cancelled), 1},
		{"patients", len(b.Patients), 8},
		{"row errors", len(b.Rejected), 0},
		{"warnings", len(b.Warnings), 0},
		{"skipped", len(b.Skipped), 0},
		{"consent", len(b.Consents), 0},
		{"type values in order", kinds, []string{"Kontrolle", "Füllung, Zahn 36", "PZR", "Kinder-Prophylaxe", "Kontrolle", `Beratung "Zweitmeinung"`, "PZR", "Kontrolle"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

// TestEnglishFileBOM checks the decoder itself, below the header matching
// (which would forgive a BOM): the first column name read from the file
// is "AppointmentID", not "\ufeffAppointmentID".
func TestEnglishFileBOM(t *testing.T) {
	t.Parallel()
	data := fixture(t, englishFile)
	require.True(t, bytes.HasPrefix(data, bomUTF8), "the fixture starts with a BOM")
	dec, err := newDecoder(bufio.NewReaderSize(bytes.NewReader(data), sniffSize), EncodingAuto)
	require.NoError(t, err)
	first := make([]byte, len("AppointmentID,"))
	_, err = io.ReadFull(dec, first)
	require.NoError(t, err)
	require.Equal(t, "AppointmentID,", string(first))
	require.Equal(t, EncodingUTF8, dec.encoding())

	sum, err := Stream(bytes.NewReader(data), englishFile, profile(t, "english-csv"), berlin(t), func(Record) error { return nil })
	require.NoError(t, err)
	require.Equal(t, "AppointmentID", sum.Header[0])
	require.Equal(t, ",", sum.Delimiter)
}

var charlyRows = []row{
	{4, "30001-20270215T0800", "30001", "Neumann", "Björn", "1980-04-04", "2027-02-15T08:00:00+01:00", "2027-02-15T08:30:00+01:00", booked, m("+491713920041"), nil},
	{5, "", "30002", "Brückner", "Hannelore", "1952-02-22", "2027-02-15T08:30:00+01:00", "2027-02-15T09:00:00+01:00", booked, m("+491713920042"), m("+492214710042")},
	{8, "", "30003", "Yıldız", "Emre", "2000-10-10", "2027-02-16T09:15:00+01:00", "2027-02-16T10:00:00+01:00", booked, m("+4917604069043"), nil},
	{9, "", "30004", "Schulze-Wölfl", "Marie", "2019-03-01", "2027-02-16T14:00:00+01:00", "2027-02-16T14:30:00+01:00", booked, m("+4917604069044"), nil},
	{10, "", "30005", "Hartmann", "Klaus", "1958-07-13", "2027-02-17T10:30:00+01:00", "2027-02-17T11:15:00+01:00", cancelled, m("+491713920045"), nil},
	{11, "", "30006", "Lange", "Fritz", "1966-09-29", "2027-02-18T08:00:00+01:00", "2027-02-18T08:20:00+01:00", booked, m("+491713920046"), nil},
	{12, "", "30007", "Kaiser", "Paula", "1990-08-18", "2027-02-19T15:00:00+01:00", "2027-02-19T15:30:00+01:00", booked, m("+4917604069047"), nil},
	{13, "", "30008", "Vogel", "Timo", "1985-12-05", "2027-02-19T15:30:00+01:00", "2027-02-19T16:00:00+01:00", booked, nil, m("+494066969048")},
	{14, "30001-20270219T1600", "30001", "Neumann", "Björn", "1980-04-04", "2027-02-19T16:00:00+01:00", "2027-02-19T16:30:00+01:00", booked, m("+491713920041"), nil},
}

func TestCharlyFileRows(t *testing.T) {
	t.Parallel()
	checkRows(t, parseFixture(t, charlyFile, "charly-xlsx"), charlyRows)
}

func TestCharlyFileSummary(t *testing.T) {
	t.Parallel()
	b := parseFixture(t, charlyFile, "charly-xlsx")
	var ids []string
	for _, p := range b.Patients {
		ids = append(ids, p.ExternalID)
	}
	cases := []struct {
		name      string
		got, want any
	}{
		{"format", b.Format, "xlsx"},
		{"profile", b.Profile, "charly-xlsx"},
		{"rows 4-14 of sheet Termine, none of Legende", b.Rows, 11},
		{"appointments", len(b.Appointments), 9},
		{"booked", countStatus(b, booked), 8},
		{"cancelled", countStatus(b, cancelled), 1},
		{"patients 30001-30008", ids, []string{"30001", "30002", "30003", "30004", "30005", "30006", "30007", "30008"}},
		{"skipped rows", problemLines(b.Skipped), []int{6, 7}},
		{"row 6 is a block without patient", strings.Contains(b.Skipped[0].Reason, "no patient number"), true},
		{"row 7 is empty", b.Skipped[1].Reason, "empty row"},
		{"rejected", len(b.Rejected), 0},
		{"warnings", len(b.Warnings), 0},
		{"consent", len(b.Consents), 0},
		{"nothing from sheet Legende", slices.Contains(ids, "99999"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

// TestCharlyFileTraps makes sure the traps the README describes are in the
// fixture, so the assertions above really exercise them.
func TestCharlyFileTraps(t *testing.T) {
	t.Parallel()
	f, err := excelize.OpenReader(bytes.NewReader(fixture(t, charlyFile)))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	require.Equal(t, []string{"Termine", "Legende"}, f.GetSheetList())
	legend, err := f.GetRows("Legende", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Contains(t, legend[len(legend)-1], "99999", "the Legende sheet carries a fake Pat.-Nr.")
	raw, err := f.GetCellValue("Termine", "B5", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Equal(t, "0.354166666666666", raw, "08:30 as 15 significant digits")
	raw, err = f.GetCellValue("Termine", "G11", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Equal(t, "1713920046", raw, "Handy lost its leading zero")
	dim, err := f.GetSheetDimension("Termine")
	require.NoError(t, err)
	require.Equal(t, "A1", dim, "the <dimension> tag is wrong and must not be trusted")
}
