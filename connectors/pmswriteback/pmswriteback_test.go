package pmswriteback

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
