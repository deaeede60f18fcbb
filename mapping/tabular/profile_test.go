package tabular

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
)

func TestEmbeddedProfiles(t *testing.T) {
	t.Parallel()
	ps := Profiles()
	var names []string
	for _, p := range ps {
		require.NoError(t, p.Validate(), p.Name)
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"charly-xlsx", "ds-win", "english-csv"}, names, "template.yaml is not offered")

	// Profiles hands out copies: changing one must not change the next.
	ps[0].Columns[FieldDate] = Column{Name: "changed"}
	ps[0].StatusMap["geplant"] = schemas.StatusCancelled
	again := Profiles()
	require.Equal(t, "Datum", again[0].Columns[FieldDate].Name)
	require.Equal(t, schemas.StatusBooked, again[0].StatusMap["geplant"])
}

// The template is what support engineers copy; it must stay a valid
// profile, and every key of Profile must be documented in it.
func TestTemplateIsValidAndComplete(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("profiles", templateFile))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	p, err := LoadProfile(f)
	require.NoError(t, err)
	require.Equal(t, "template-example", p.Name)

	text, err := os.ReadFile(filepath.Join("profiles", templateFile))
	require.NoError(t, err)
	for _, key := range []string{"name:", "description:", "format:", "encoding:", "delimiter:", "header_row:", "sheet:", "columns:", "date_format:", "time_format:", "status_map:", "snapshot:", "id_template:"} {
		require.Contains(t, string(text), key)
	}
	for _, f := range Fields() {
		documented := strings.Contains(string(text), "\n  "+string(f)+":") || strings.Contains(string(text), "\n  # "+string(f)+":")
		require.True(t, documented, "field %s documented", f)
	}
}

func TestLoadProfile(t *testing.T) {
	t.Parallel()
	const base = `name: x
format: csv
columns:
  date: Datum
  time: 2
  duration: Dauer
  patient_id: "7"
  name: Patient
date_format: DD.MM.YYYY
time_format: HH:MM
`
	t.Run("names and positions", func(t *testing.T) {
		t.Parallel()
		p, err := LoadProfile(strings.NewReader(base))
		require.NoError(t, err)
		require.Equal(t, Column{Name: "Datum"}, p.Columns[FieldDate])
		require.Equal(t, Column{Position: 2}, p.Columns[FieldTime])
		require.Equal(t, Column{Name: "7"}, p.Columns[FieldPatientID], "a quoted number is a name")
	})
	t.Run("unknown key", func(t *testing.T) {
		t.Parallel()
		_, err := LoadProfile(strings.NewReader(base + "date_fromat: x\n"))
		require.ErrorContains(t, err, "date_fromat")
		require.ErrorContains(t, err, "not found")
	})
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		_, err := LoadProfile(strings.NewReader(strings.Replace(base, "  name: Patient", "  name: Patient\n  handy: Mobil", 1)))
		require.ErrorContains(t, err, `unknown field "handy"`)
		require.ErrorContains(t, err, "mobile")
	})
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		_, err := LoadProfile(strings.NewReader(""))
		require.ErrorContains(t, err, "empty")
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := func() Profile { return profile(t, "ds-win") }
	cases := []struct {
		name   string
		change func(p *Profile)
		want   string
	}{
		{"no name", func(p *Profile) { p.Name = "" }, "name is missing"},
		{"xls format", func(p *Profile) { p.Format = "xls" }, `format "xls" is not supported`},
		{"encoding", func(p *Profile) { p.Encoding = "latin-9" }, `encoding "latin-9"`},
		{"delimiter", func(p *Profile) { p.Delimiter = ";;" }, `delimiter ";;"`},
		{"sheet on csv", func(p *Profile) { p.Sheet = "Termine" }, "only meaningful for xlsx"},
		{"no date", func(p *Profile) { delete(p.Columns, FieldDate) }, "columns.date is required"},
		{"no end", func(p *Profile) { delete(p.Columns, FieldDuration) }, "either duration"},
		{"name twice", func(p *Profile) { p.Columns[FieldName] = Column{Name: "Patient"} }, "either name"},
		{"same column twice", func(p *Profile) { p.Columns[FieldPhone] = Column{Name: "mobil"} }, "both use column"},
		{"position twice", func(p *Profile) {
			p.Columns[FieldPhone] = Column{Position: 3}
			p.Columns[FieldMobile] = Column{Position: 3}
		}, "both use position 3"},
		{"bad date format", func(p *Profile) { p.DateFormat = "DD.MM.YY" }, "date_format"},
		{"date format without day", func(p *Profile) { p.DateFormat = "MM.YYYY" }, "the day is missing"},
		{"bad time format", func(p *Profile) { p.TimeFormat = "HH:MI" }, "time_format"},
		{"no status map", func(p *Profile) { p.StatusMap = nil }, "status_map is required"},
		{"status a patient sets", func(p *Profile) { p.StatusMap["ok"] = schemas.StatusConfirmedByPatient }, "confirmed_by_patient"},
		{"status case twice", func(p *Profile) { p.StatusMap["Geplant"] = schemas.StatusBooked }, "the same word"},
		{"template without time", func(p *Profile) { p.IDTemplate = "{patient_id}-{start_date}" }, "{start_time} is required"},
		{"template unknown placeholder", func(p *Profile) { p.IDTemplate = "{patient_id}{start_date}{start_time}{foo}" }, "unknown placeholder {foo}"},
		{"template with id column", func(p *Profile) {
			p.Columns[FieldAppointmentID] = Column{Name: "Nr"}
			p.IDTemplate = DefaultIDTemplate
		}, "only used without an appointment_id column"},
		{"positions only", func(p *Profile) {
			p.Columns = map[Field]Column{FieldDate: {Position: 1}, FieldTime: {Position: 2}, FieldDuration: {Position: 3}, FieldPatientID: {Position: 4}, FieldFamilyName: {Position: 5}}
			p.StatusMap = nil
		}, "header_row is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := ok()
			tc.change(&p)
			err := p.Validate()
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "is invalid")
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		t.Parallel()
		err := Profile{Name: "x"}.Validate()
		require.ErrorContains(t, err, "format is missing")
		require.ErrorContains(t, err, "columns is empty")
		require.ErrorContains(t, err, "columns.date is required")
	})
}

func TestLayouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		format, in string
		date       bool
		want       [3]int
		ok         bool
	}{
		{"DD.MM.YYYY", "31.02.2027", true, [3]int{2027, 2, 31}, true}, // calendar checks are wallclock's
		{"DD.MM.YYYY", "1.02.2027", true, [3]int{}, false},
		{"D.M.YYYY", "1.2.2027", true, [3]int{2027, 2, 1}, true},
		{"TT.MM.JJJJ", "05.05.1977", true, [3]int{1977, 5, 5}, true},
		{"YYYY-MM-DD", "2027-02-15", true, [3]int{2027, 2, 15}, true},
		{"YYYYMMDD", "20270215", true, [3]int{2027, 2, 15}, true},
		{"YYYY-MM-DD", "2027-02-15x", true, [3]int{}, false},
		{"HH:MM", "08:30", false, [3]int{8, 30, 0}, true},
		{"HH:MM", "8:30", false, [3]int{}, false},
		{"H:MM", "8:30", false, [3]int{8, 30, 0}, true},
		{"HH:MM:SS", "08:30:15", false, [3]int{8, 30, 15}, true},
		{"hh:mm", "17:45", false, [3]int{17, 45, 0}, true},
	}
	for _, tc := range cases {
		t.Run(tc.format+" "+tc.in, func(t *testing.T) {
			t.Parallel()
			set, units := timeTokens, [3]unit{unitHour, unitMinute, unitSecond}
			if tc.date {
				set, units = dateTokens, [3]unit{unitYear, unitMonth, unitDay}
			}
			l, err := compileLayout(tc.format, set)
			require.NoError(t, err)
			vals, ok := l.parse(tc.in)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.want, [3]int{vals[units[0]], vals[units[1]], vals[units[2]]})
			}
		})
	}
	_, err := compileLayout("DMYYYY", dateTokens)
	require.ErrorContains(t, err, "separator")
}
