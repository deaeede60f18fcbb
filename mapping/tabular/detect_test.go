package tabular

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestDetectPicksEachFixturesProfile(t *testing.T) {
	t.Parallel()
	cases := []struct{ file, want string }{
		{dsFile, "ds-win"},
		{englishFile, "english-csv"},
		{charlyFile, "charly-xlsx"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			p, err := Detect(fixture(t, tc.file), Profiles())
			require.NoError(t, err)
			require.Equal(t, tc.want, p.Name)
		})
	}
}

func TestDetectOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	ps := Profiles()
	for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
		ps[i], ps[j] = ps[j], ps[i]
	}
	p, err := Detect(fixture(t, dsFile), ps)
	require.NoError(t, err)
	require.Equal(t, "ds-win", p.Name)
}

// A profile that declares more of the header's columns is more specific
// and wins over a looser one that also fits.
func TestDetectPrefersTheMostSpecificProfile(t *testing.T) {
	t.Parallel()
	loose := profile(t, "ds-win")
	loose.Name = "loose"
	delete(loose.Columns, FieldKind)
	delete(loose.Columns, FieldBirthDate)
	p, err := Detect(fixture(t, dsFile), []Profile{loose, profile(t, "ds-win")})
	require.NoError(t, err)
	require.Equal(t, "ds-win", p.Name)
}

func TestDetectUnknownCSVListsColumnsAndProfiles(t *testing.T) {
	t.Parallel()
	data := []byte("Termin;Beginn;Patientennummer;Kunde\r\n01.02.2027;08:00;1;Muster\r\n")
	_, err := Detect(data, Profiles())
	require.ErrorIs(t, err, ErrNoProfile)
	for _, want := range []string{`"Termin"`, `"Beginn"`, `"Patientennummer"`, `"Kunde"`, "ds-win", "english-csv", "charly-xlsx", `lacks "Datum"`} {
		require.ErrorContains(t, err, want)
	}
}

func TestDetectUnknownXLSXListsColumns(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"Wann", "Wer", "Telefonnummer"}))
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	_, err = Detect(buf.Bytes(), Profiles())
	require.ErrorIs(t, err, ErrNoProfile)
	require.ErrorContains(t, err, `"Wann", "Wer", "Telefonnummer"`)
	require.ErrorContains(t, err, "charly-xlsx (lacks")
}

func TestLegacyXLSIsRejected(t *testing.T) {
	t.Parallel()
	xls := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, bytes.Repeat([]byte{0}, 504)...)
	_, err := Detect(xls, Profiles())
	require.ErrorIs(t, err, ErrLegacyXLS)
	b, err := Parse(xls, "termine.xls", profile(t, "charly-xlsx"), berlin(t))
	require.ErrorIs(t, err, ErrLegacyXLS)
	require.ErrorContains(t, err, "termine.xls")
	require.ErrorContains(t, err, ".xlsx")
	require.ErrorContains(t, err, "CSV")
	require.Nil(t, b)
}

func TestXLSXSavedAsCSVIsReadAsXLSX(t *testing.T) {
	t.Parallel()
	b, err := Parse(fixture(t, charlyFile), "termine.csv", profile(t, "charly-xlsx"), berlin(t))
	require.NoError(t, err)
	require.Equal(t, "xlsx", b.Format)
	require.Len(t, b.Appointments, 9)
	require.NotEmpty(t, b.Warnings)
	require.Equal(t, 0, b.Warnings[0].Line, "a file-level warning")
	require.Contains(t, b.Warnings[0].Reason, `"termine.csv"`)
	require.Contains(t, b.Warnings[0].Reason, "read as XLSX")

	// The same file under its own name warns about nothing.
	b, err = Parse(fixture(t, charlyFile), "termine.xlsx", profile(t, "charly-xlsx"), berlin(t))
	require.NoError(t, err)
	require.Empty(t, b.Warnings)

	// Detect looks at the content as well, not at a name.
	p, err := Detect(fixture(t, charlyFile), Profiles())
	require.NoError(t, err)
	require.Equal(t, "charly-xlsx", p.Name)
}
