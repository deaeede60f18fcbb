package gdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
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

const fixtures = "../../fixtures/anamnesis"

var gdtFixtures = []string{
	"anamnese_6310_gdt21_latin1.gdt",
	"anamnese_6310_gdt30_cp437.gdt",
	"doccirrus_stammdaten_6301_v2.1.gdt",
	"doccirrus_stammdaten_6301_v3.0.gdt",
	"doccirrus_untersuchung_6310_v2.1.gdt",
	"doccirrus_untersuchung_6310_v3.0.gdt",
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

func parse(t *testing.T, name string) (*schemas.Batch, []byte) {
	t.Helper()
	data := read(t, name)
	b, err := Parse(data, name, DefaultProfile(), berlin(t))
	require.NoError(t, err)
	return b, data
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

func evidence(data []byte, block string) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]) + "#8410 " + block
}

func TestDecodeFixtures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		typ      string
		version  string
		charset  string
		lines    int
		size     int
		n6228    int
		n6226    string
		problems []string
	}{
		{"anamnese_6310_gdt21_latin1.gdt", "6310", "02.10", CharsetLatin1, 30, 819, 7, "", nil},
		{"anamnese_6310_gdt30_cp437.gdt", "6310", "03.01", CharsetCP437, 38, 849, 6, "6", nil},
		{"doccirrus_stammdaten_6301_v2.1.gdt", "6301", "02.00", CharsetLatin1, 13, 183, 0, "", nil},
		{"doccirrus_stammdaten_6301_v3.0.gdt", "6301", "03.01", CharsetCP437, 19, 292, 0, "", nil},
		{"doccirrus_untersuchung_6310_v2.1.gdt", "6310", "02.10", CharsetCP437, 37, 963, 7, "", []string{
			"line 2, field 8100: record length says 958 bytes, the record has 963",
			"line 21, field 6228: length prefix 059 does not match the line (060 bytes)",
			"line 24, field 6228: length prefix 061 does not match the line (062 bytes)",
		}},
		{"doccirrus_untersuchung_6310_v3.0.gdt", "6310", "03.01", CharsetCP437, 53, 1190, 7, "7", []string{
			"line 2, field 8100: record length says 1173 bytes, the record has 1190",
			"line 27, field 6228: length prefix 059 does not match the line (060 bytes)",
			"line 30, field 6228: length prefix 059 does not match the line (060 bytes)",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			recs, probs, err := Decode(read(t, tc.file))
			require.NoError(t, err)
			require.Len(t, recs, 1)
			r := recs[0]
			require.Equal(t, tc.typ, r.Type)
			require.Equal(t, tc.version, r.Version)
			require.Equal(t, tc.charset, r.Charset)
			require.Equal(t, 1, r.Line)
			require.Equal(t, tc.size, r.Size)
			require.Len(t, r.Fields, tc.lines)
			require.Equal(t, tc.lines, r.Fields[len(r.Fields)-1].Line)
			require.Len(t, r.Values("6228"), tc.n6228)
			if tc.n6226 != "" {
				v, ok := r.First("6226")
				require.True(t, ok)
				require.Equal(t, tc.n6226, v.Value)
			}
			got := make([]string, len(probs))
			for i, p := range probs {
				got[i] = p.String()
			}
			require.Equal(t, len(tc.problems), len(got), "%v", got)
			if len(tc.problems) > 0 {
				require.Equal(t, tc.problems, got)
			}
		})
	}
}

// The Doc Cirrus 6310 v2.1 file has no 9206 at all; it is read with the
// spec default, which for its ASCII content changes nothing.
func TestDecodeDefaultCharsetWithout9206(t *testing.T) {
	t.Parallel()
	recs, _, err := Decode(read(t, "doccirrus_untersuchung_6310_v2.1.gdt"))
	require.NoError(t, err)
	_, has := recs[0].First("9206")
	require.False(t, has)
	require.Equal(t, CharsetCP437, recs[0].Charset)
	require.Equal(t, "Ps/[mmHg]     143            134                -6 %", recs[0].Values("6228")[4])
}

func TestDecodeFreeTextLatin1(t *testing.T) {
	t.Parallel()
	recs, _, err := Decode(read(t, "anamnese_6310_gdt21_latin1.gdt"))
	require.NoError(t, err)
	byLine := map[int]Field{}
	for _, f := range recs[0].Fields {
		byLine[f.Line] = f
	}
	require.Equal(t, Field{Line: 18, ID: "6228", Value: "Medikamente: L-Thyroxin 75 µg täglich"}, byLine[18])
	require.Equal(t, Field{Line: 21, ID: "6228", Value: "Bemerkung: Angst vor Spritzen, größere Eingriffe bitte vormittags."}, byLine[21])
	for _, v := range recs[0].Values("6228") {
		require.NotContains(t, v, "\uFFFD")
	}
}

func TestDecodeCP437(t *testing.T) {
	t.Parallel()
	recs, _, err := Decode(read(t, "anamnese_6310_gdt30_cp437.gdt"))
	require.NoError(t, err)
	fam, _ := recs[0].First("3101")
	giv, _ := recs[0].First("3102")
	require.Equal(t, "Meißner", fam.Value)
	require.Equal(t, "Sören", giv.Value)
	require.Equal(t, 11, fam.Line)
	// Exactly the 6 lines 6226 announces.
	require.Len(t, recs[0].Values("6228"), 6)
	for _, v := range recs[0].Values("6228") {
		require.NotContains(t, v, "\uFFFD")
	}
}

func TestAnamneseGDT21(t *testing.T) {
	t.Parallel()
	b, data := parse(t, "anamnese_6310_gdt21_latin1.gdt")
	require.Equal(t, "gdt", b.Format)
	require.Equal(t, "default", b.Profile)
	require.Equal(t, 1, b.Rows)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Rejected)
	require.Empty(t, b.Skipped)
	require.Empty(t, b.Appointments)
	require.Equal(t, []schemas.Patient{{
		ExternalID: "10006", FamilyName: "Mustermann", GivenName: "Erika",
		BirthDate: "1964-08-12", Sex: "F", Phones: []schemas.Phone{}, Line: 1,
	}}, b.Patients)

	require.Len(t, b.Consents, 2)
	wa, sms := b.Consents[0], b.Consents[1]
	want := []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}

	require.Equal(t, "10006", wa.PatientExternalID)
	require.Equal(t, schemas.ChannelWhatsApp, wa.Channel)
	require.Equal(t, schemas.ConsentGranted, wa.Action)
	require.Equal(t, schemas.SourceAnamnesisForm, wa.Source)
	require.Equal(t, "2027-01-08T19:15:30+01:00", rfc(wa.OccurredAt))
	require.Equal(t, "EW-2026-11", wa.TextVersion)
	require.Equal(t, want, wa.Purposes)
	require.NotContains(t, wa.Purposes, schemas.PurposeRecall)
	require.Equal(t, evidence(data, "EINW_WA")+" (line 22)", wa.Evidence)
	require.Empty(t, wa.Phone)

	// SMS: explicit "nein" – never granted, recorded as a refusal.
	require.Equal(t, schemas.ChannelSMS, sms.Channel)
	require.Equal(t, schemas.ConsentWithdrawn, sms.Action)
	require.Equal(t, "2027-01-08T19:15:30+01:00", rfc(sms.OccurredAt))
	require.Equal(t, schemas.SourceAnamnesisForm, sms.Source)
	require.Equal(t, "EW-2026-11", sms.TextVersion)
	require.Equal(t, evidence(data, "EINW_SMS")+" (line 25)", sms.Evidence)
	for _, c := range b.Consents {
		if c.Channel == schemas.ChannelSMS {
			require.NotEqual(t, schemas.ConsentGranted, c.Action)
		}
	}
}

func TestAnamneseGDT30(t *testing.T) {
	t.Parallel()
	b, data := parse(t, "anamnese_6310_gdt30_cp437.gdt")
	require.Equal(t, 1, b.Rows)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.Rejected)
	require.Empty(t, b.Skipped)
	require.Empty(t, b.Appointments)
	require.Equal(t, []schemas.Patient{{
		ExternalID: "10005", FamilyName: "Meißner", GivenName: "Sören",
		BirthDate: "1977-05-05", Sex: "M", Line: 1,
		Phones: []schemas.Phone{{E164: "+491713920005", Kind: schemas.PhoneMobile}},
	}}, b.Patients)
	mobile, ok := b.Patients[0].Mobile()
	require.True(t, ok)
	require.Equal(t, "+491713920005", mobile)

	require.Len(t, b.Consents, 2)
	for i, ch := range []schemas.Channel{schemas.ChannelWhatsApp, schemas.ChannelSMS} {
		c := b.Consents[i]
		require.Equal(t, ch, c.Channel)
		require.Equal(t, "10005", c.PatientExternalID)
		require.Equal(t, schemas.ConsentGranted, c.Action)
		require.Equal(t, schemas.SourceAnamnesisForm, c.Source)
		require.Equal(t, "2027-01-09T08:12:33+01:00", rfc(c.OccurredAt))
		require.Equal(t, "EW-2026-11", c.TextVersion)
		require.Equal(t, []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}, c.Purposes)
	}
	require.Equal(t, evidence(data, "EINW_WA")+" (line 28)", b.Consents[0].Evidence)
	require.Equal(t, evidence(data, "EINW_SMS")+" (line 31)", b.Consents[1].Evidence)
}

func TestDocCirrus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		warnings []schemas.Problem
	}{
		{"doccirrus_stammdaten_6301_v2.1.gdt", nil},
		{"doccirrus_stammdaten_6301_v3.0.gdt", nil},
		{"doccirrus_untersuchung_6310_v2.1.gdt", []schemas.Problem{
			{Line: 2, Field: "8100", Reason: "record length says 958 bytes, the record has 963"},
			{Line: 21, Field: "6228", Reason: "length prefix 059 does not match the line (060 bytes)"},
			{Line: 24, Field: "6228", Reason: "length prefix 061 does not match the line (062 bytes)"},
		}},
		{"doccirrus_untersuchung_6310_v3.0.gdt", []schemas.Problem{
			{Line: 2, Field: "8100", Reason: "record length says 1173 bytes, the record has 1190"},
			{Line: 27, Field: "6228", Reason: "length prefix 059 does not match the line (060 bytes)"},
			{Line: 30, Field: "6228", Reason: "length prefix 059 does not match the line (060 bytes)"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, _ := parse(t, tc.file)
			require.Equal(t, 1, b.Rows)
			require.Equal(t, []schemas.Patient{{
				ExternalID: "02345", FamilyName: "Mustermann", GivenName: "Franz",
				BirthDate: "1945-10-01", Sex: "M", Phones: []schemas.Phone{}, Line: 1,
			}}, b.Patients)
			require.Empty(t, b.Consents, "SYSMXTG/SYSMNTG are blood pressure, not consent")
			require.Empty(t, b.Appointments)
			require.Empty(t, b.Rejected)
			require.Empty(t, b.Skipped)
			if tc.warnings == nil {
				require.Empty(t, b.Warnings)
			} else {
				require.Equal(t, tc.warnings, b.Warnings)
			}
		})
	}
}

// No problem message may carry clinical free text: every 6220/6227/6228
// value of every fixture is searched for in every problem.
func TestProblemsCarryNoClinicalText(t *testing.T) {
	t.Parallel()
	for _, name := range gdtFixtures {
		data := read(t, name)
		recs, _, err := Decode(data)
		require.NoError(t, err)
		b, err := Parse(data, name, DefaultProfile(), berlin(t))
		require.NoError(t, err)
		js, err := json.Marshal(b)
		require.NoError(t, err)
		for _, r := range recs {
			for _, f := range r.Fields {
				if f.ID != "6220" && f.ID != "6227" && f.ID != "6228" {
					continue
				}
				v := strings.TrimSpace(f.Value)
				if len(v) < 4 {
					continue
				}
				require.NotContains(t, string(js), v, "%s line %d leaked into the batch", name, f.Line)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, name := range gdtFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, _ := parse(t, name)
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

// gdtFile builds a GDT file from "FFFFvalue" lines with correct length
// prefixes, CRLF line ends and, when the record has an 8100 line written as
// "8100" alone, the correct record length (5 digits).
func gdtFile(lines ...string) []byte {
	var recs [][]string
	for _, l := range lines {
		if strings.HasPrefix(l, "8000") || len(recs) == 0 {
			recs = append(recs, nil)
		}
		recs[len(recs)-1] = append(recs[len(recs)-1], l)
	}
	var out bytes.Buffer
	for _, rec := range recs {
		size := 0
		for _, l := range rec {
			if l == "8100" {
				l += "00000"
			}
			size += len(l) + 5
		}
		for _, l := range rec {
			if l == "8100" {
				l = fmt.Sprintf("8100%05d", size)
			}
			fmt.Fprintf(&out, "%03d%s\r\n", len(l)+5, l)
		}
	}
	return out.Bytes()
}

func consentRecord(extra ...string) []string {
	base := []string{
		"80006310", "8100", "92063", "921802.10",
		"300010006", "3101Mustermann", "3102Erika", "310312081964", "31102",
		"620008012027", "6201191530",
	}
	return append(base, extra...)
}

func parseBytes(t *testing.T, data []byte, p Profile) *schemas.Batch {
	t.Helper()
	b, err := Parse(data, "test.gdt", p, berlin(t))
	require.NoError(t, err)
	return b
}

func TestBuilderMakesCleanFile(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, gdtFile(consentRecord()...), DefaultProfile())
	require.Empty(t, b.Warnings)
	require.Len(t, b.Patients, 1)
	require.Empty(t, b.Consents)
}

func TestSeveralRecords(t *testing.T) {
	t.Parallel()
	lines := consentRecord("8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11")
	lines = append(lines, "80006301", "8100", "300010005", "3101Meissner", "36180171 3920005")
	lines = append(lines, "80006302", "8100", "300010007")
	b := parseBytes(t, gdtFile(lines...), DefaultProfile())
	require.Equal(t, 3, b.Rows)
	require.Len(t, b.Patients, 2)
	require.Equal(t, "10006", b.Patients[0].ExternalID)
	require.Equal(t, "10005", b.Patients[1].ExternalID)
	require.Len(t, b.Consents, 1)
	require.Equal(t, schemas.ConsentGranted, b.Consents[0].Action)
	require.Len(t, b.Skipped, 1)
	require.Contains(t, b.Skipped[0].Reason, `record type "6302" is not read`)
	require.Empty(t, b.Warnings)
}

func TestLFOnlyAndLengthTolerance(t *testing.T) {
	t.Parallel()
	crlf := gdtFile(consentRecord("8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11")...)
	lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
	b := parseBytes(t, lf, DefaultProfile())
	require.Empty(t, b.Warnings, "8100 counted with CRLF still matches an LF copy")
	require.Len(t, b.Consents, 1)

	// A wrong length prefix is a warning, never an error, and the field is
	// still read by its id.
	broken := bytes.Replace(crlf, []byte("0193101Mustermann"), []byte("0993101Mustermann"), 1)
	b = parseBytes(t, broken, DefaultProfile())
	require.Equal(t, "Mustermann", b.Patients[0].FamilyName)
	require.Equal(t, []schemas.Problem{{Line: 6, Field: "3101", Reason: "length prefix 099 does not match the line (019 bytes)"}}, b.Warnings)
}

func TestUTF8Fallback(t *testing.T) {
	t.Parallel()
	// Declares Latin-1 (9206=3) but the writer wrote UTF-8.
	b := parseBytes(t, gdtFile("80006301", "8100", "92063", "300010005", "3101Meißner", "3102Sören"), DefaultProfile())
	require.Equal(t, "Meißner", b.Patients[0].FamilyName)
	require.Equal(t, "Sören", b.Patients[0].GivenName)
	require.Len(t, b.Warnings, 1)
	require.Equal(t, "9206", b.Warnings[0].Field)
	require.Contains(t, b.Warnings[0].Reason, "bytes are UTF-8")
	recs, _, err := Decode(gdtFile("80006301", "300010005", "3101Meißner"))
	require.NoError(t, err)
	require.Equal(t, CharsetUTF8, recs[0].Charset)
}

func TestDIN66003(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, gdtFile("80006301", "8100", "92061", "300010001", "3101M}ller", "3102J}rgen", "3101Wei~"), DefaultProfile())
	require.Equal(t, "Müller", b.Patients[0].FamilyName)
	require.Equal(t, "Jürgen", b.Patients[0].GivenName)
	require.Empty(t, b.Warnings)
}

func TestLatin1WithC1BytesWarns(t *testing.T) {
	t.Parallel()
	// CP437 bytes (ö = 0x94) in a record that declares Latin-1.
	data := gdtFile("80006301", "8100", "92063", "300010005", "3102S\x94ren")
	b := parseBytes(t, data, DefaultProfile())
	require.Len(t, b.Warnings, 1)
	require.Contains(t, b.Warnings[0].Reason, "0x80–0x9F")
}

func TestRecordWithoutPatientID(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, gdtFile("80006310", "8100", "3101Mustermann", "620008012027", "6201191530",
		"8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"), DefaultProfile())
	require.Empty(t, b.Patients)
	require.Empty(t, b.Consents)
	require.Equal(t, []schemas.Problem{{Line: 1, Field: "3000", Reason: "record has no patient id (3000); not imported"}}, b.Rejected)
}

func TestConsentEdgeCases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		lines    []string
		actions  map[schemas.Channel]schemas.ConsentAction
		warnings []string
	}{
		{
			name:     "unknown text version",
			lines:    consentRecord("8410EINW_WA", "8420ja", "8410EINW_SMS", "8420nein", "8410EINW_TEXT", "8420EW-2019-01"),
			actions:  map[schemas.Channel]schemas.ConsentAction{schemas.ChannelSMS: schemas.ConsentWithdrawn},
			warnings: []string{`consent text version "EW-2019-01" is not declared in the profile`},
		},
		{
			name:     "no text version block",
			lines:    consentRecord("8410EINW_WA", "8420ja"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"without a consent text version"},
		},
		{
			name:     "unrecognised answer",
			lines:    consentRecord("8410EINW_WA", "8420vielleicht", "8410EINW_TEXT", "8420EW-2026-11"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"neither a declared yes nor no"},
		},
		{
			name:     "block without result",
			lines:    consentRecord("8410EINW_WA", "8411Einwilligung WhatsApp", "8410EINW_TEXT", "8420EW-2026-11"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"without a result (8420)"},
		},
		{
			name:    "answers in other case and order",
			lines:   consentRecord("8410EINW_TEXT", "8420EW-2026-11", "8410einw_sms", "8420JA", "8410EINW_WA", "8420Nein"),
			actions: map[schemas.Channel]schemas.ConsentAction{schemas.ChannelSMS: schemas.ConsentGranted, schemas.ChannelWhatsApp: schemas.ConsentWithdrawn},
		},
		{
			name:     "contradicting answers",
			lines:    consentRecord("8410EINW_WA", "8420ja", "8410EINW_WA", "8420nein", "8410EINW_TEXT", "8420EW-2026-11"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"both yes and no"},
		},
		{
			name:     "two text versions",
			lines:    consentRecord("8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11", "8410EINW_TEXT", "8420EW-2027-01"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"without a consent text version", "two different consent text versions"},
		},
		{
			name: "result in a later object is not the answer",
			lines: consentRecord("8200Obj_Laborergebnis", "8410EINW_WA", "82013",
				"8200Obj_Anhang", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"),
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"without a result (8420)"},
		},
		{
			name: "no examination time",
			lines: []string{"80006310", "8100", "300010006", "620008012027",
				"8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"},
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"examination time (6201) missing", "without a date and time"},
		},
		{
			name: "no examination date",
			lines: []string{"80006310", "8100", "300010006",
				"8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"},
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"without a date and time"},
		},
		{
			name: "consent blocks in master data are not answers",
			lines: []string{"80006301", "8100", "300010006", "620008012027", "6201191530",
				"8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"},
			actions:  map[schemas.Channel]schemas.ConsentAction{},
			warnings: []string{"consent block in record type 6301 ignored"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := parseBytes(t, gdtFile(tc.lines...), DefaultProfile())
			got := map[schemas.Channel]schemas.ConsentAction{}
			for _, c := range b.Consents {
				got[c.Channel] = c.Action
			}
			require.Equal(t, tc.actions, got)
			require.Len(t, b.Warnings, len(tc.warnings), "%v", b.Warnings)
			for i, w := range tc.warnings {
				require.Contains(t, b.Warnings[i].Reason, w)
			}
		})
	}
}

func TestExaminationTimeDST(t *testing.T) {
	t.Parallel()
	lines := []string{"80006310", "8100", "300010006", "620028032027", "6201023000",
		"8410EINW_WA", "8420ja", "8410EINW_TEXT", "8420EW-2026-11"}
	b := parseBytes(t, gdtFile(lines...), DefaultProfile())
	require.Len(t, b.Consents, 1)
	require.Equal(t, "2027-03-28T03:30:00+02:00", rfc(b.Consents[0].OccurredAt))
	require.Equal(t, []schemas.Problem{{Line: 5, Field: "6201", Reason: "local time does not exist (daylight-saving gap); read with the offset before the gap"}}, b.Warnings)

	lines[3] = "620031022027"
	b = parseBytes(t, gdtFile(lines...), DefaultProfile())
	require.Empty(t, b.Consents)
	require.Equal(t, "6200", b.Warnings[0].Field)
}

func TestPatientFieldProblems(t *testing.T) {
	t.Parallel()
	b := parseBytes(t, gdtFile("80006301", "8100", "300010012", "310331022027", "3110Q",
		"36180171 392", "3626030 23125001"), DefaultProfile())
	p := b.Patients[0]
	require.Empty(t, p.BirthDate)
	require.Empty(t, p.Sex)
	require.Equal(t, []schemas.Phone{{E164: "+493023125001", Kind: schemas.PhoneLandline}}, p.Phones)
	require.Equal(t, []schemas.Problem{
		{Line: 4, Field: "3103", Reason: "birth date is not a valid date (TTMMJJJJ); left empty"},
		{Line: 5, Field: "3110", Reason: `unknown sex code "Q"; left empty`},
		{Line: 6, Field: "3618", Reason: "not a valid phone number; not used"},
	}, b.Warnings)
	for _, w := range b.Warnings {
		require.NotContains(t, w.Reason, "392", "problems do not repeat the number")
	}
}

func TestCustomProfile(t *testing.T) {
	t.Parallel()
	p := Profile{
		Name:            "other-app",
		Consent:         []ConsentRule{{Test: "WA_OK", Channel: schemas.ChannelWhatsApp}},
		TextVersionTest: "TXT",
		TextPurposes:    map[string][]schemas.Purpose{"V7": {schemas.PurposeAppointmentReminder, schemas.PurposeRecall}},
		Yes:             []string{"J"},
		No:              []string{"N"},
	}
	b := parseBytes(t, gdtFile(consentRecord("8410WA_OK", "8420J", "8410TXT", "8420V7", "8410EINW_WA", "8420ja")...), p)
	require.Equal(t, "other-app", b.Profile)
	require.Len(t, b.Consents, 1)
	require.Equal(t, "V7", b.Consents[0].TextVersion)
	require.Equal(t, []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeRecall}, b.Consents[0].Purposes)
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	data := gdtFile(consentRecord()...)
	bad := []func(*Profile){
		func(p *Profile) { p.Consent = append(p.Consent, ConsentRule{Test: "X", Channel: "telegram"}) },
		func(p *Profile) {
			p.Consent = append(p.Consent, ConsentRule{Test: "einw_wa", Channel: schemas.ChannelSMS})
		},
		func(p *Profile) { p.TextVersionTest = "" },
		func(p *Profile) { p.TextVersionTest = "EINW_WA" },
		func(p *Profile) { p.TextPurposes = map[string][]schemas.Purpose{"EW": {"marketing"}} },
		func(p *Profile) { p.No = append(p.No, "JA") },
	}
	for i, mutate := range bad {
		p := DefaultProfile()
		mutate(&p)
		_, err := Parse(data, "x.gdt", p, berlin(t))
		require.Error(t, err, "case %d", i)
	}
	_, err := Parse(data, "x.gdt", DefaultProfile(), nil)
	require.Error(t, err)
}

func TestDefaultProfileIsFresh(t *testing.T) {
	t.Parallel()
	p := DefaultProfile()
	p.TextPurposes["EW-2026-11"][0] = schemas.PurposeRecall
	require.Equal(t, schemas.PurposeAppointmentReminder, DefaultProfile().TextPurposes["EW-2026-11"][0])
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		data []byte
		err  error
	}{
		"empty":         {nil, ErrEmpty},
		"blank":         {[]byte("\r\n\r\n"), ErrEmpty},
		"json":          {[]byte(`{"resourceType":"Patient"}`), ErrNotGDT},
		"no 8000":       {gdtFile("300010006", "3101Mustermann"), ErrNotGDT},
		"utf16":         {[]byte("\xff\xfe0\x001\x003\x00"), ErrBinary},
		"only garbage":  {[]byte("hello\nworld\n"), ErrNotGDT},
		"short numbers": {[]byte("01\n"), ErrNotGDT},
	}
	for name, tc := range cases {
		_, err := Parse(tc.data, "x.gdt", DefaultProfile(), berlin(t))
		require.ErrorIs(t, err, tc.err, name)
		require.Contains(t, err.Error(), "x.gdt", name)
	}
}

func TestLinesBeforeFirstRecordAndMalformed(t *testing.T) {
	t.Parallel()
	data := append([]byte("0143000099999\r\n"), gdtFile(consentRecord()...)...)
	data = append(data, []byte("garbage\r\n\r\n0123101X\r\n")...)
	b := parseBytes(t, data, DefaultProfile())
	require.Equal(t, "10006", b.Patients[0].ExternalID, "a 3000 before the first 8000 belongs to no record")
	var reasons []string
	for _, w := range b.Warnings {
		reasons = append(reasons, w.String())
	}
	require.Contains(t, reasons, "line 1: 1 line(s) before the first record (8000) ignored")
	require.Contains(t, reasons, "line 13: not a GDT field line (LLLFFFF…); ignored")
	require.Contains(t, reasons, "line 14: empty line ignored")
}

// The README's header values, line by line.
func TestDecodeHeaderFields(t *testing.T) {
	t.Parallel()
	type at struct {
		line      int
		id, value string
	}
	cases := map[string][]at{
		"anamnese_6310_gdt21_latin1.gdt": {
			{1, "8000", "6310"}, {2, "8100", "00819"}, {3, "8315", "PRAX_EDV"}, {4, "8316", "ANAM"},
			{5, "9206", "3"}, {6, "9218", "02.10"}, {7, "3000", "10006"}, {11, "3110", "2"},
			{12, "8402", "ANAM01"}, {13, "6200", "08012027"}, {14, "6201", "191530"},
			{22, "8410", "EINW_WA"}, {24, "8420", "ja"}, {25, "8410", "EINW_SMS"}, {27, "8420", "nein"},
			{28, "8410", "EINW_TEXT"}, {30, "8420", "EW-2026-11"},
		},
		"anamnese_6310_gdt30_cp437.gdt": {
			{2, "8100", "0000849"}, {3, "8200", "Obj_Kopfdaten"}, {6, "9206", "2"}, {7, "9218", "03.01"},
			{8, "8201", "6"}, {9, "8200", "Obj_Patient"}, {10, "3000", "10005"}, {14, "3110", "M"},
			{15, "3618", "0171 3920005"}, {16, "8201", "8"}, {18, "6200", "09012027"}, {19, "6201", "081233"},
			{20, "6226", "6"}, {27, "8200", "Obj_Laborergebnis"}, {37, "8201", "11"}, {38, "8202", "38"},
		},
		"doccirrus_stammdaten_6301_v2.1.gdt": {
			{2, "8100", "00183"}, {3, "9206", "3"}, {4, "8315", "EKG_TYP1"}, {5, "8316", "PRAX_EDV"},
			{6, "9218", "02.00"}, {7, "3000", "02345"}, {11, "3110", "1"},
		},
		"doccirrus_stammdaten_6301_v3.0.gdt": {
			{2, "8100", "0000292"}, {6, "9218", "03.01"}, {9, "3000", "02345"}, {19, "8202", "19"},
		},
		"doccirrus_untersuchung_6310_v2.1.gdt": {
			{2, "8100", "00958"}, {4, "8316", "LZBD_SYS"}, {14, "6200", "23101998"},
			{25, "8410", "SYSMXTG"}, {32, "8410", "SYSMNTG"},
		},
		"doccirrus_untersuchung_6310_v3.0.gdt": {
			{2, "8100", "0001173"}, {23, "6226", "7"}, {31, "6330", "asd"}, {37, "6335", "vbn"},
			{38, "8200", "Obj_Laborergebnis"}, {39, "8410", "SYSMXTG"}, {46, "8410", "SYSMNTG"},
		},
	}
	for file, want := range cases {
		recs, _, err := Decode(read(t, file))
		require.NoError(t, err)
		byLine := map[int]Field{}
		for _, f := range recs[0].Fields {
			byLine[f.Line] = f
		}
		for _, w := range want {
			require.Equal(t, Field{Line: w.line, ID: w.id, Value: w.value}, byLine[w.line], "%s line %d", file, w.line)
		}
	}
}
