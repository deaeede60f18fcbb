package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/praxisbote/praxisbote/schemas"
)

const dsHeader = "Datum;Uhrzeit;Dauer;Pat.-Nr.;Name;Vorname;Geb.-Datum;Mobil;Telefon;Behandler;Terminart;Status"

// dsCSV builds a ds-style file from UTF-8 lines, encoded as the PMS does.
func dsCSV(t testing.TB, lines ...string) []byte {
	t.Helper()
	text := strings.Join(append([]string{dsHeader}, lines...), "\r\n") + "\r\n"
	out, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	require.NoError(t, err)
	return out
}

func parseDS(t testing.TB, data []byte) *schemas.Batch {
	t.Helper()
	b, err := Parse(data, "test.csv", profile(t, "ds-win"), berlin(t))
	require.NoError(t, err)
	return b
}

const okRow = "11.01.2027;08:00;30;10001;Müller;Jürgen;12.03.1958;0171 3920001;;Dr. Beispiel;Kontrolle;geplant"

func TestRowProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		row       string
		outcome   Outcome
		field     string
		reasonHas string
	}{
		{"unknown status word is rejected, naming the word", "11.01.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;vertagt", OutcomeRejected, "Status", `"vertagt"`},
		{"status is case-insensitive", "11.01.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;ABGESAGT", OutcomeImported, "", ""},
		{"empty status without mapping", "11.01.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;", OutcomeRejected, "Status", "empty"},
		{"impossible date", "29.02.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Datum", "29.02.2027 does not exist"},
		{"month 13", "01.13.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Datum", "month 13"},
		{"date in the wrong format", "2027-01-11;08:00;30;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Datum", "DD.MM.YYYY"},
		{"time 24:00", "11.01.2027;24:00;30;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Uhrzeit", "does not exist"},
		{"no duration", "11.01.2027;08:00;;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Dauer", "empty"},
		{"duration zero", "11.01.2027;08:00;0;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Dauer", "between 1 and 1440"},
		{"duration text", "11.01.2027;08:00;halbe Std;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeRejected, "Dauer", "not a number of minutes"},
		{"duration h:mm", "11.01.2027;08:00;0:45;10001;Müller;Jürgen;;;;Dr. B;K;geplant", OutcomeImported, "", ""},
		{"no patient, no phone: a block", "11.01.2027;12:00;60;;Mittagspause;;;;;;;", OutcomeSkipped, "", "no patient number"},
		{"no patient but a phone", "11.01.2027;12:00;60;;Müller;Jürgen;;0171 3920001;;;;geplant", OutcomeRejected, "Pat.-Nr.", "patient number is empty"},
		{"unquoted delimiter shifts columns", "11.01.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;Kontrolle; PZR;geplant", OutcomeRejected, "", "more filled column"},
		{"repeated header", dsHeader, OutcomeSkipped, "", "header row repeated"},
		{"bare quote", `11.01.2027;08:00;30;10001;O"Brien;Jürgen;;;;Dr. B;K;geplant`, OutcomeRejected, "", "quote"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var recs []Record
			// The second row is another patient, so it never collides with
			// the first.
			other := strings.Replace(okRow, "10001", "10099", 1)
			_, err := Stream(bytes.NewReader(dsCSV(t, tc.row, other)), "t.csv", profile(t, "ds-win"), berlin(t), func(r Record) error {
				recs = append(recs, r)
				return nil
			})
			require.NoError(t, err)
			require.Len(t, recs, 2, "one bad row never stops the file")
			r := recs[0]
			require.Equal(t, 2, r.Line)
			require.Equal(t, tc.outcome, r.Outcome, "%+v", r.Problem)
			if tc.outcome != OutcomeImported {
				require.Equal(t, tc.field, r.Problem.Field)
				require.Contains(t, r.Problem.Reason, tc.reasonHas)
				require.Equal(t, 2, r.Problem.Line)
			}
			require.Equal(t, OutcomeImported, recs[1].Outcome)
			require.Equal(t, 3, recs[1].Line)
		})
	}
}

func TestRowWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, row  string
		field, has string
		check      func(t *testing.T, r Record)
	}{
		{"invalid birth date still imports", "11.01.2027;08:00;30;10001;Müller;Jürgen;31.02.1958;0171 3920001;;Dr. B;K;geplant", "Geb.-Datum", "birth date",
			func(t *testing.T, r Record) { require.Empty(t, r.Patient.BirthDate) }},
		{"country code without plus", "11.01.2027;08:00;30;10001;Müller;Jürgen;;491713920001;;Dr. B;K;geplant", "Mobil", "country code",
			func(t *testing.T, r Record) { require.Empty(t, r.Patient.Phones) }},
		{"one of two numbers invalid", "11.01.2027;08:00;30;10001;Müller;Jürgen;;0171 3920001 / 0171 392;;Dr. B;K;geplant", "Mobil", "not all are valid",
			func(t *testing.T, r Record) {
				require.Equal(t, []schemas.Phone{{E164: "+491713920001", Kind: schemas.PhoneMobile}}, r.Patient.Phones)
			}},
		{"invalid landline", "11.01.2027;08:00;30;10001;Müller;Jürgen;;0171 3920001;12;Dr. B;K;geplant", "Telefon", "no valid phone number",
			func(t *testing.T, r Record) { require.Len(t, r.Patient.Phones, 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var recs []Record
			_, err := Stream(bytes.NewReader(dsCSV(t, tc.row)), "t.csv", profile(t, "ds-win"), berlin(t), func(r Record) error {
				recs = append(recs, r)
				return nil
			})
			require.NoError(t, err)
			require.Len(t, recs, 1)
			require.Equal(t, OutcomeImported, recs[0].Outcome)
			require.Len(t, recs[0].Warnings, 1)
			require.Equal(t, tc.field, recs[0].Warnings[0].Field)
			require.Contains(t, recs[0].Warnings[0].Reason, tc.has)
			tc.check(t, recs[0])
		})
	}
}

// Reasons end up in logs and on staff screens: they must not quote the
// patient's phone numbers, names or birth dates.
func TestReasonsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	b := parseDS(t, fixture(t, dsFile))
	for _, p := range append(append(b.Warnings, b.Rejected...), b.Skipped...) {
		for _, secret := range []string{"0171", "392", "Beispiel", "Jörg", "07.07.1967", "O'Brien"} {
			require.NotContains(t, p.Reason, secret)
		}
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	t.Run("same key, different content: skipped, first kept", func(t *testing.T) {
		t.Parallel()
		other := strings.Replace(okRow, "Kontrolle", "PZR", 1)
		b := parseDS(t, dsCSV(t, okRow, other))
		require.Len(t, b.Appointments, 1)
		require.Equal(t, "Kontrolle", b.Appointments[0].Kind)
		require.Equal(t, []int{3}, problemLines(b.Skipped))
		require.Contains(t, b.Skipped[0].Reason, "10001-20270111T0800")
	})
	t.Run("explicit id used twice: rejected", func(t *testing.T) {
		t.Parallel()
		data := []byte("AppointmentID,Date,Start,End,PatientID,LastName,FirstName,DateOfBirth,MobilePhone,Phone,Practitioner,Type,Status\n" +
			"A-1,2027-02-15,08:00,08:30,20001,A,B,,,,P,K,booked\n" +
			"A-1,2027-02-16,08:00,08:30,20002,C,D,,,,P,K,booked\n")
		b, err := Parse(data, "e.csv", profile(t, "english-csv"), berlin(t))
		require.NoError(t, err)
		require.Len(t, b.Appointments, 1)
		require.Equal(t, []int{3}, problemLines(b.Rejected))
		require.Equal(t, "AppointmentID", b.Rejected[0].Field)
	})
	t.Run("a rejected row does not claim its key", func(t *testing.T) {
		t.Parallel()
		bad := strings.Replace(okRow, "geplant", "vertagt", 1)
		b := parseDS(t, dsCSV(t, bad, okRow))
		require.Len(t, b.Appointments, 1)
		require.Equal(t, 3, b.Appointments[0].Line)
	})
	t.Run("same patient, other name: warning, first kept", func(t *testing.T) {
		t.Parallel()
		later := strings.Replace(strings.Replace(okRow, "11.01.2027", "12.01.2027", 1), "Müller", "Meier", 1)
		b := parseDS(t, dsCSV(t, okRow, later))
		require.Len(t, b.Patients, 1)
		require.Equal(t, "Müller", b.Patients[0].FamilyName)
		require.Equal(t, []int{3}, problemLines(b.Warnings))
		require.Contains(t, b.Warnings[0].Reason, "line 2")
	})
}

func TestStreamEmitsEveryRowInOrder(t *testing.T) {
	t.Parallel()
	var lines []int
	var outcomes []Outcome
	sum, err := Stream(bytes.NewReader(fixture(t, dsFile)), dsFile, profile(t, "ds-win"), berlin(t), func(r Record) error {
		lines = append(lines, r.Line)
		outcomes = append(outcomes, r.Outcome)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, lines, 26)
	for i, l := range lines {
		require.Equal(t, i+2, l)
	}
	require.Equal(t, OutcomeSkipped, outcomes[16-2])
	require.Equal(t, OutcomeRejected, outcomes[17-2])
	require.Equal(t, Summary{
		Format: "csv", Profile: "ds-win", Encoding: "windows-1252", Delimiter: ";",
		HeaderLine: 1, Header: strings.Split(dsHeader, ";"),
		Rows: 26, Imported: 24, Rejected: 1, Skipped: 1, Warnings: 4,
	}, sum)

	stop := errors.New("stop")
	n := 0
	_, err = Stream(bytes.NewReader(fixture(t, dsFile)), dsFile, profile(t, "ds-win"), berlin(t), func(Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, n)
}

func TestEncodings(t *testing.T) {
	t.Parallel()
	ds := fixture(t, dsFile)
	// ASCII rows for more than the 64 KiB window, then one non-ASCII row.
	var pad strings.Builder
	for i := 0; pad.Len() < 2*sniffSize; i++ {
		fmt.Fprintf(&pad, "11.01.2027;08:00;30;%d;Muster;Max;;;;Dr. B;K;geplant\r\n", 50000+i)
	}
	late := dsHeader + "\r\n" + pad.String() + okRow + "\r\n"
	lateCP, err := charmap.Windows1252.NewEncoder().String(late)
	require.NoError(t, err)

	cases := []struct {
		name    string
		data    []byte
		enc     string
		wantErr error
		errHas  string
		family  string // of the last row
		used    string
	}{
		{"auto: Windows-1252", ds, "auto", nil, "", "Zimmermann", "windows-1252"},
		{"auto: UTF-8 decided after 64 KiB of ASCII", []byte(late), "auto", nil, "", "Müller", "utf-8"},
		{"auto: Windows-1252 decided after 64 KiB of ASCII", []byte(lateCP), "auto", nil, "", "Müller", "windows-1252"},
		{"explicit utf-8 on a Windows-1252 file", ds, "utf-8", ErrEncoding, "line 2", "", ""},
		{"explicit windows-1252 on a BOM file", append(append([]byte{}, bomUTF8...), []byte(dsHeader+"\r\n"+okRow+"\r\n")...), "windows-1252", ErrEncoding, "byte-order mark", "", ""},
		{"UTF-16 with BOM", utf16(t, dsHeader+"\r\n"+okRow+"\r\n"), "auto", nil, "", "Müller", "utf-16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := profile(t, "ds-win")
			p.Encoding = tc.enc
			var last Record
			sum, err := Stream(bytes.NewReader(tc.data), "t.csv", p, berlin(t), func(r Record) error {
				last = r
				return nil
			})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.errHas)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.family, last.Patient.FamilyName)
			require.Equal(t, tc.used, sum.Encoding)
		})
	}
}

func utf16(t testing.TB, s string) []byte {
	t.Helper()
	out, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return out
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		data    []byte
		prof    string
		wantErr error
		has     []string
	}{
		{"empty", nil, "ds-win", ErrEmpty, nil},
		{"only blank lines", []byte("\r\n\r\n"), "ds-win", ErrEmpty, nil},
		{"binary", []byte("abc\x00\x01\x02def"), "ds-win", ErrNotTabular, []string{"binary"}},
		{"pdf", []byte("%PDF-1.7\n"), "ds-win", ErrNotTabular, []string{"PDF"}},
		{"zip that is no workbook", []byte("PK\x03\x04garbage"), "charly-xlsx", ErrNotTabular, []string{"zip"}},
		{"no header", []byte("Termin;Beginn\r\n01.01.2027;08:00\r\n"), "ds-win", ErrNoHeader, []string{`"Termin", "Beginn"`, `"Datum"`}},
		{"text for an xlsx profile", fixture(t, dsFile), "charly-xlsx", ErrNotTabular, []string{"charly-xlsx"}},
		{"quote never closed", dsCSV(t, okRow, `11.01.2027;09:00;30;10002;"Weiß;Käthe;;;;Dr. B;K;geplant`, okRow), "ds-win", ErrNotTabular, []string{"line 3", "never closed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := Parse(tc.data, "f.csv", profile(t, tc.prof), berlin(t))
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorContains(t, err, "f.csv")
			for _, h := range tc.has {
				require.ErrorContains(t, err, h)
			}
			require.Nil(t, b)
		})
	}
}

func TestCSVShapes(t *testing.T) {
	t.Parallel()
	t.Run("title rows above the header, tab delimiter sniffed", func(t *testing.T) {
		t.Parallel()
		text := "Terminliste KW 2\r\nStand: 08.01.2027\r\n\r\n" + strings.ReplaceAll(dsHeader+"\r\n"+okRow+"\r\n", ";", "\t")
		p := profile(t, "ds-win")
		p.Delimiter = "auto"
		var sum Summary
		b, err := Parse([]byte(text), "t.tsv", p, berlin(t))
		require.NoError(t, err)
		require.Len(t, b.Appointments, 1)
		require.Equal(t, 5, b.Appointments[0].Line)
		sum, err = Stream(strings.NewReader(text), "t.tsv", p, berlin(t), func(Record) error { return nil })
		require.NoError(t, err)
		require.Equal(t, "tab", sum.Delimiter)
		require.Equal(t, 4, sum.HeaderLine)
	})
	t.Run("positions and header_row", func(t *testing.T) {
		t.Parallel()
		p := Profile{Name: "pos", Format: FormatCSV, HeaderRow: 2, Delimiter: ",",
			Columns: map[Field]Column{
				FieldDate: {Position: 1}, FieldTime: {Position: 2}, FieldDuration: {Position: 3},
				FieldPatientID: {Position: 4}, FieldName: {Position: 5}, FieldMobile: {Position: 6},
			},
			DateFormat: "D.M.YYYY", TimeFormat: "H:MM",
		}
		data := "export 1\nd,t,m,p,n\n5.1.2027,8:05,20,7,\"Muster, Max\"\n"
		b, err := Parse([]byte(data), "p.csv", p, berlin(t))
		require.NoError(t, err)
		require.Len(t, b.Appointments, 1)
		require.Equal(t, "2027-01-05T08:05:00+01:00", b.Appointments[0].Start.Format("2006-01-02T15:04:05Z07:00"))
		require.Equal(t, "Muster", b.Patients[0].FamilyName)
		require.Equal(t, "Max", b.Patients[0].GivenName)
		require.Equal(t, schemas.StatusBooked, b.Appointments[0].Status, "no status column: booked")
	})
	t.Run("empty rows inside count, trailing ones do not", func(t *testing.T) {
		t.Parallel()
		b := parseDS(t, dsCSV(t, okRow, ";;;;;;;;;;;", strings.Replace(okRow, "08:00", "09:00", 1), ";;;;;;;;;;;", ";;;"))
		require.Equal(t, 3, b.Rows)
		require.Equal(t, []int{3}, problemLines(b.Skipped))
		require.Equal(t, "empty row", b.Skipped[0].Reason)
	})
	t.Run("quoted delimiter, doubled quotes and a line break in a field", func(t *testing.T) {
		t.Parallel()
		b := parseDS(t, dsCSV(t, `11.01.2027;08:00;30;10001;Müller;Jürgen;;;;Dr. B;"Kontrolle;""PZR""`+"\r\n"+`mit Röntgen";geplant`, strings.Replace(okRow, "10001", "10002", 1)))
		require.Len(t, b.Appointments, 2)
		require.Equal(t, "Kontrolle;\"PZR\"\nmit Röntgen", b.Appointments[0].Kind)
		require.Equal(t, 4, b.Appointments[1].Line, "physical line numbers count the line break")
	})
	t.Run("empty status mapped explicitly", func(t *testing.T) {
		t.Parallel()
		p := profile(t, "ds-win")
		p.StatusMap[""] = schemas.StatusBooked
		b, err := Parse(dsCSV(t, strings.TrimSuffix(okRow, "geplant")), "t.csv", p, berlin(t))
		require.NoError(t, err)
		require.Len(t, b.Appointments, 1)
	})
	t.Run("custom id template", func(t *testing.T) {
		t.Parallel()
		p := profile(t, "ds-win")
		p.IDTemplate = "ds:{patient_id}:{start_date}{start_time}:{practitioner}"
		b, err := Parse(dsCSV(t, okRow), "t.csv", p, berlin(t))
		require.NoError(t, err)
		require.Equal(t, "ds:10001:202701110800:Dr. Beispiel", b.Appointments[0].ExternalID)
	})
}

// xlsxFile builds a workbook: each sheet is a list of rows.
func xlsxFile(t testing.TB, active int, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	for i, name := range order {
		if i == 0 {
			require.NoError(t, f.SetSheetName("Sheet1", name))
		} else {
			_, err := f.NewSheet(name)
			require.NoError(t, err)
		}
		for r, cells := range sheets[name] {
			cell, err := excelize.CoordinatesToCellName(1, r+1)
			require.NoError(t, err)
			require.NoError(t, f.SetSheetRow(name, cell, &cells))
		}
	}
	f.SetActiveSheet(active)
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	return buf.Bytes()
}

func TestXLSXCells(t *testing.T) {
	t.Parallel()
	header := []any{"Datum", "Beginn", "Ende", "Pat.-Nr.", "Patient", "Geb.-Datum", "Handy", "Telefon", "Behandler", "Leistung", "Status"}
	data := xlsxFile(t, 1, map[string][][]any{
		"Info": {{"Pat.-Nr."}, {99999}},
		"Termine": {
			header,
			// Text date and time typed into the sheet: read with the formats.
			{"15.02.2027", "08:00", "08:30", "30001", "Neumann, Björn", "04.04.1980", "0171 3920041", "", "Dr. B", "K", "geplant"},
			// A time that rounds to 24:00 is no start.
			{46433, 0.9999999, 0.5, 30002, "Brückner, Hannelore", 19046, "", "", "Dr. B", "K", "geplant"},
			// Date and time in one serial in the start cell.
			{46433, 46433.4375, 0.46875, 30003, "Yıldız, Emre", "", "", "", "Dr. B", "K", "geplant"},
		},
	}, "Info", "Termine")
	b, err := Parse(data, "t.xlsx", profile(t, "charly-xlsx"), berlin(t))
	require.NoError(t, err)
	require.Equal(t, 3, b.Rows, "the active sheet Termine, not the first sheet Info")
	require.Len(t, b.Appointments, 2)
	require.Equal(t, "2027-02-15T08:00:00+01:00", b.Appointments[0].Start.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, "1980-04-04", b.Patients[0].BirthDate)
	require.Equal(t, "2027-02-15T10:30:00+01:00", b.Appointments[1].Start.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, []int{3}, problemLines(b.Rejected))
	require.Equal(t, "Beginn", b.Rejected[0].Field)
	require.Contains(t, b.Rejected[0].Reason, "24:00")

	// A declared sheet wins over the active one; a missing one is named.
	p := profile(t, "charly-xlsx")
	p.Sheet = "Info"
	_, err = Parse(data, "t.xlsx", p, berlin(t))
	require.ErrorIs(t, err, ErrNoHeader)
	p.Sheet = "Wochenplan"
	_, err = Parse(data, "t.xlsx", p, berlin(t))
	require.ErrorContains(t, err, `no sheet "Wochenplan"`)
	require.ErrorContains(t, err, `"Info", "Termine"`)
}

func TestIDCellKeepsIdentifiers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		xlsx bool
		want string
	}{
		{"30001", true, "30001"},
		{"30001.0", true, "30001"},
		{"3.0001E4", true, "30001"},
		{"1.713920046E9", true, "1713920046"},
		{"02345", true, "02345"},
		{"02345", false, "02345"},
		{"30001.0", false, "30001.0"}, // CSV text stays text
		{"A-2027.1", true, "A-2027.1"},
		{"30001.5", true, "30001.5"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			m := newMapper(profile(t, "ds-win"), berlin(t), tc.xlsx, false)
			m.col[iPatientID] = 0
			require.Equal(t, tc.want, m.idCell([]string{tc.in}, iPatientID))
		})
	}
}

// The fast Windows-1252 decoder must agree with x/text's for every byte,
// also when the output buffer is too small and the input is cut anywhere.
func TestWin1252MatchesXText(t *testing.T) {
	t.Parallel()
	var all []byte
	for i := range 256 {
		all = append(all, byte(i), 'a', byte(255-i))
	}
	all = append(all, []byte("Müller;Straße;"+strings.Repeat("x", 40))...)
	want, err := charmap.Windows1252.NewDecoder().Bytes(all)
	require.NoError(t, err)
	got, err := newWin1252Bytes(all)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	for _, size := range []int{1, 2, 3, 7, 64} {
		r := transform.NewReader(iotest.OneByteReader(bytes.NewReader(all)), newWin1252())
		buf := make([]byte, size)
		var out []byte
		for {
			n, err := r.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
		}
		require.Equal(t, string(want), string(out), "read size %d", size)
	}
}

func newWin1252Bytes(b []byte) ([]byte, error) {
	out, _, err := transform.Bytes(newWin1252(), b)
	return out, err
}

// Stream shares phone lists between records; appending to one must never
// show up in another, and a Batch must not share them at all.
func TestSharedPhonesStaySeparate(t *testing.T) {
	t.Parallel()
	mother := "02.02.2027;15:30;30;10020;Schröder;Anja;;0176 04069020;;Dr. B;K;geplant"
	child := "02.02.2027;16:00;30;10021;Schröder;Mia;;0176 04069020;;Dr. B;K;geplant"
	var recs []Record
	_, err := Stream(bytes.NewReader(dsCSV(t, mother, child)), "t.csv", profile(t, "ds-win"), berlin(t), func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	grown := append(recs[0].Patient.Phones, schemas.Phone{E164: "+493023125001", Kind: schemas.PhoneLandline})
	require.Len(t, grown, 2)
	require.Len(t, recs[1].Patient.Phones, 1)

	b := parseDS(t, dsCSV(t, mother, child))
	b.Patients[0].Phones[0].E164 = "changed"
	require.Equal(t, "+4917604069020", b.Patients[1].Phones[0].E164)
}
