package pmswriteback

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/mapping/gdt"
)

func TestWriteCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := time.Date(2027, 1, 11, 12, 7, 41, 0, time.UTC)
	name, err := WriteCSV(dir, Answer{PracticeID: "praxis-dr-beispiel", PatientID: "10006", AppointmentID: "10006-20270113T1400", Action: "confirmed", At: at}, loc, 1)
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	require.Equal(t, "practice_id;patient_id;appointment_id;action;time\r\npraxis-dr-beispiel;10006;10006-20270113T1400;confirmed;2027-01-11T13:07:41+01:00\r\n", string(data))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp file is left behind")
	_, err = WriteCSV(dir, Answer{PracticeID: "p", PatientID: "10006", AppointmentID: "10006-20270113T1400", Action: "confirmed", At: at}, loc, 1)
	require.ErrorContains(t, err, "already exists", "an answer file is never overwritten")
}

func TestGDTRecordReadsBack(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	a := Answer{PracticeID: "p", PatientID: "10006", AppointmentID: "10006-20270113T1400", Action: "confirmed",
		At: time.Date(2027, 1, 11, 12, 7, 41, 0, time.UTC)}
	data, err := GDT(a, loc, "PRAXBOTE", "PRAX_EDV")
	require.NoError(t, err)
	recs, problems, err := gdt.Decode(data)
	require.NoError(t, err)
	require.Empty(t, problems, "length prefixes and 8100 are right")
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, "6310", r.Type)
	require.Equal(t, []string{"10006"}, r.Values("3000"))
	require.Equal(t, []string{"11012027"}, r.Values("6200"))
	require.Equal(t, []string{"130741"}, r.Values("6201"))
	require.Equal(t, []string{"Antwort per Nachricht vom 11.01.2027 13:07 Uhr:", "Termin vom Patienten bestätigt", "Termin-ID: 10006-20270113T1400"}, r.Values("6228"))
	require.True(t, bytes.Contains(data, []byte("best\xe4tigt")), "ISO-8859-1 bytes, as 9206=3 says")

	dir := t.TempDir()
	name, err := WriteGDT(dir, a, loc, 3, "PRAXBOTE", "PRAX_EDV")
	require.NoError(t, err)
	require.Equal(t, "praxisbote-20270111-130741-000003-10006-20270113T1400-confirmed.gdt", name)
	_, err = GDT(Answer{Action: "whatever"}, loc, "", "")
	require.Error(t, err)
}
