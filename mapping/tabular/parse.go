package tabular

import (
	"bufio"
	"bytes"
	"fmt"
	"time"

	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/schemas"
)

// Parse maps a whole export into a Batch. It is Stream plus collection:
// patients are merged by patient number (phones merged in order, so the
// first mobile stays preferred), appointments and problems are kept in
// file order.
//
// The error is only for file-level problems; then the batch is nil, because
// a half-read file must not look like a complete import (a snapshot import
// would otherwise cancel every appointment it did not reach).
func Parse(data []byte, name string, p Profile, loc *time.Location) (*schemas.Batch, error) {
	if err := checkArgs(p, loc); err != nil {
		return nil, err
	}
	b := &schemas.Batch{
		Profile:      p.Name,
		Snapshot:     p.Snapshot,
		Patients:     []schemas.Patient{},
		Appointments: []schemas.Appointment{},
		Consents:     []schemas.ConsentEvent{}, // exports carry no consent
		Rejected:     []schemas.Problem{},
		Warnings:     []schemas.Problem{},
		Skipped:      []schemas.Problem{},
	}
	c := collector{b: b, byID: map[string]int{}}
	var (
		sum Summary
		err error
	)
	head := data[:min(len(data), 8)]
	if kind, kerr := sniffContent(head); kerr == nil && kind == contentZip {
		// Hand the bytes over directly; Stream would copy them first.
		sum, err = streamXLSX(data, name, p, loc, c.add)
	} else {
		sum, err = Stream(bufio.NewReaderSize(bytes.NewReader(data), sniffSize), name, p, loc, c.add)
	}
	if err != nil {
		return nil, err
	}
	b.Format = sum.Format
	b.Rows = sum.Rows
	if len(sum.FileWarnings) > 0 {
		b.Warnings = append(sum.FileWarnings, b.Warnings...)
	}
	return b, nil
}

type collector struct {
	b    *schemas.Batch
	byID map[string]int // patient number → index in b.Patients
}

func (c *collector) add(r Record) error {
	switch r.Outcome {
	case OutcomeRejected:
		c.b.Rejected = append(c.b.Rejected, r.Problem)
		return nil
	case OutcomeSkipped:
		c.b.Skipped = append(c.b.Skipped, r.Problem)
		return nil
	}
	c.b.Warnings = append(c.b.Warnings, r.Warnings...)
	c.b.Appointments = append(c.b.Appointments, r.Appointment)
	i, seen := c.byID[r.Patient.ExternalID]
	if !seen {
		// A batch owns its data: Stream shares phone lists between
		// records, a batch must not share them between patients. [] rather
		// than null in JSON: "no phone" is a fact, not a gap.
		r.Patient.Phones = append([]schemas.Phone{}, r.Patient.Phones...)
		c.byID[r.Patient.ExternalID] = len(c.b.Patients)
		c.b.Patients = append(c.b.Patients, r.Patient)
		return nil
	}
	// One export is one snapshot of the PMS, so the same patient number
	// should carry the same person. When it does not, the first row wins
	// and staff are told, rather than the patient record flip-flopping.
	first := &c.b.Patients[i]
	if first.FamilyName != r.Patient.FamilyName || first.GivenName != r.Patient.GivenName {
		c.b.Warnings = append(c.b.Warnings, schemas.Problem{Line: r.Line, Reason: fmt.Sprintf(
			"patient %s has a different name than on line %d; the name from line %d is kept", r.Patient.ExternalID, first.Line, first.Line)})
	}
	switch {
	case first.BirthDate == "":
		first.BirthDate = r.Patient.BirthDate
	case r.Patient.BirthDate != "" && r.Patient.BirthDate != first.BirthDate:
		c.b.Warnings = append(c.b.Warnings, schemas.Problem{Line: r.Line, Reason: fmt.Sprintf(
			"patient %s has a different birth date than on line %d; the one from line %d is kept", r.Patient.ExternalID, first.Line, first.Line)})
	}
	first.Phones = phone.Merge(first.Phones, r.Patient.Phones...)
	return nil
}
