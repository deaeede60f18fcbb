// Package pmswriteback writes patients' answers into the PMS import folder,
// one small file per answer, atomically (temp file + rename) so that a PMS
// polling the folder never reads half a file.
package pmswriteback

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Header is the first line of every CSV answer file. The columns are
// documented in the README.
var Header = []string{"practice_id", "patient_id", "appointment_id", "action", "time"}

// Answer is one patient answer for the PMS.
type Answer struct {
	PracticeID    string
	PatientID     string // PMS patient number
	AppointmentID string // PMS appointment id
	Action        string // confirmed, cancel_requested
	At            time.Time
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// WriteCSV writes one answer as a ';'-separated UTF-8 CSV file with a
// header line and returns its path. seq makes the name unique.
func WriteCSV(dir string, a Answer, loc *time.Location, seq int64) (string, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = ';'
	w.UseCRLF = true // Windows PMS import tools expect CRLF
	if err := w.Write(Header); err != nil {
		return "", err
	}
	if err := w.Write([]string{a.PracticeID, a.PatientID, a.AppointmentID, a.Action, a.At.In(loc).Format(time.RFC3339)}); err != nil {
		return "", err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return "", err
	}
	name := fmt.Sprintf("praxisbote-%s-%06d-%s-%s.csv", a.At.In(loc).Format("20060102-150405"), seq,
		unsafe.ReplaceAllString(a.AppointmentID, "_"), a.Action)
	return name, WriteAtomic(dir, name, buf.Bytes())
}

// WriteAtomic writes data to dir/name through a hidden temp file in the
// same folder, fsyncs it and renames it into place.
func WriteAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("writeback folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".praxisbote-*.tmp")
	if err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writeback: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writeback: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	final := filepath.Join(dir, name)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("writeback: %s already exists", final)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	return nil
}
