package pmswriteback

import (
	"bytes"
	"fmt"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// actionText is what the PMS shows for each answer, in German.
var actionText = map[string]string{
	"confirmed":        "Termin vom Patienten bestätigt",
	"cancel_requested": "Patient bittet um Absage des Termins",
}

// GDT renders an answer as a GDT 2.1 record 6310 (result from a device to
// the PMS): the PMS files it under the patient like any device result,
// with result text lines saying what the patient answered. ISO-8859-1
// (9206=3) because every PMS reads it.
func GDT(a Answer, loc *time.Location, sender, receiver string) ([]byte, error) {
	at := a.At.In(loc)
	text, ok := actionText[a.Action]
	if !ok {
		return nil, fmt.Errorf("writeback: no GDT text for action %q", a.Action)
	}
	fields := [][2]string{
		{"8000", "6310"},
		{"8100", ""}, // record length, filled below
		{"8315", receiver},
		{"8316", sender},
		{"9206", "3"},
		{"9218", "02.10"},
		{"3000", a.PatientID},
		{"8402", "PRAXBOTE"},
		{"6200", at.Format("02012006")},
		{"6201", at.Format("150405")},
		{"6228", "Antwort per Nachricht vom " + at.Format("02.01.2006 15:04") + " Uhr:"},
		{"6228", text},
		{"6228", "Termin-ID: " + a.AppointmentID},
	}
	line := func(id, v string) []byte {
		return []byte(fmt.Sprintf("%03d%s%s\r\n", 3+4+len(v)+2, id, v))
	}
	enc := charmap.ISO8859_1.NewEncoder()
	for i, f := range fields {
		v, err := enc.String(f[1])
		if err != nil {
			return nil, fmt.Errorf("writeback: field %s not representable in ISO-8859-1: %w", f[0], err)
		}
		fields[i][1] = v
	}
	// 8100 counts the whole record including its own line (5 digits).
	total := 0
	for _, f := range fields {
		v := f[1]
		if f[0] == "8100" {
			v = "00000"
		}
		total += len(line(f[0], v))
	}
	fields[1][1] = fmt.Sprintf("%05d", total)
	var buf bytes.Buffer
	for _, f := range fields {
		buf.Write(line(f[0], f[1]))
	}
	return buf.Bytes(), nil
}

// WriteGDT writes one answer as a GDT file and returns its name.
func WriteGDT(dir string, a Answer, loc *time.Location, seq int64, sender, receiver string) (string, error) {
	data, err := GDT(a, loc, sender, receiver)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("praxisbote-%s-%06d-%s-%s.gdt", a.At.In(loc).Format("20060102-150405"), seq,
		unsafe.ReplaceAllString(a.AppointmentID, "_"), a.Action)
	return name, WriteAtomic(dir, name, data)
}
