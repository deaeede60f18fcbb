// Package schemas holds praxisbote's canonical model: the patients,
// appointments and consent events every mapping produces and every stage
// after it consumes, plus the closed lists (purposes, channels, statuses)
// that policy is written against.
package schemas

import (
	"fmt"
	"time"
)

// Purpose is why a message may be sent. The list is closed on purpose
// (Zweckbindung): a marketing purpose does not exist anywhere in the code.
type Purpose string

const (
	PurposeAppointmentReminder Purpose = "appointment_reminder"
	PurposeAppointmentChange   Purpose = "appointment_change"
	PurposeRecall              Purpose = "recall"
	PurposeConsentConfirmation Purpose = "consent_confirmation"
	PurposePracticeReply       Purpose = "practice_reply"
)

// Purposes is the complete, closed list of allowed purposes.
var Purposes = []Purpose{
	PurposeAppointmentReminder,
	PurposeAppointmentChange,
	PurposeRecall,
	PurposeConsentConfirmation,
	PurposePracticeReply,
}

// ParsePurpose accepts only a purpose from the closed list.
func ParsePurpose(s string) (Purpose, error) {
	for _, p := range Purposes {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("purpose %q is not allowed: messages may only serve %v", s, Purposes)
}

// Channel is a messaging channel a patient can consent to.
type Channel string

const (
	ChannelWhatsApp Channel = "whatsapp"
	ChannelSMS      Channel = "sms"
)

// ConsentAction is what a consent event does.
type ConsentAction string

const (
	ConsentGranted   ConsentAction = "granted"
	ConsentWithdrawn ConsentAction = "withdrawn"
)

// ConsentSource is where a consent event was collected.
type ConsentSource string

const (
	SourceQRCode        ConsentSource = "qr_code"
	SourceAnamnesisForm ConsentSource = "anamnesis_form"
	SourceChatKeyword   ConsentSource = "chat_keyword"
	SourceStaff         ConsentSource = "staff"
	SourcePMS           ConsentSource = "pms"
)

// AppointmentStatus is the canonical status of an appointment.
type AppointmentStatus string

const (
	StatusBooked             AppointmentStatus = "booked"
	StatusCancelled          AppointmentStatus = "cancelled"
	StatusMoved              AppointmentStatus = "moved"
	StatusConfirmedByPatient AppointmentStatus = "confirmed_by_patient"
	StatusCancelRequested    AppointmentStatus = "cancel_requested"
	StatusNoShow             AppointmentStatus = "no_show"
)

// PhoneKind tells whether a number can receive messages.
type PhoneKind string

const (
	PhoneMobile   PhoneKind = "mobile"
	PhoneLandline PhoneKind = "landline"
)

// Phone is one normalised number of a patient.
type Phone struct {
	E164 string    `json:"e164"`
	Kind PhoneKind `json:"kind"`
}

// Patient as a source describes it. ExternalID is the id in the source
// system (the PMS patient number); it is kept as text so leading zeros stay.
type Patient struct {
	ExternalID string  `json:"external_id"`
	FamilyName string  `json:"family_name"`
	GivenName  string  `json:"given_name"`
	BirthDate  string  `json:"birth_date,omitempty"` // YYYY-MM-DD
	Sex        string  `json:"sex,omitempty"`        // M, F, X or empty
	Phones     []Phone `json:"phones"`
	// Line is the physical line (or row) the record came from; 0 when the
	// source has no lines.
	Line int `json:"-"`
}

// Mobile returns the patient's preferred messaging number: the first mobile.
func (p Patient) Mobile() (string, bool) {
	for _, ph := range p.Phones {
		if ph.Kind == PhoneMobile {
			return ph.E164, true
		}
	}
	return "", false
}

// Appointment as a source describes it. Kind is clinical detail and never
// goes into a message to the patient.
type Appointment struct {
	ExternalID        string            `json:"external_id"`
	PatientExternalID string            `json:"patient_external_id"`
	Start             time.Time         `json:"start"`
	End               time.Time         `json:"end"`
	DurationMinutes   int               `json:"duration_minutes"`
	Practitioner      string            `json:"practitioner"`
	Location          string            `json:"location,omitempty"`
	Kind              string            `json:"kind,omitempty"`
	Status            AppointmentStatus `json:"status"`
	Line              int               `json:"-"`
}

// ConsentEvent as a source states it: one grant or withdrawal for one
// channel, covering the listed purposes.
type ConsentEvent struct {
	PatientExternalID string        `json:"patient_external_id"`
	Phone             string        `json:"phone,omitempty"` // E.164, for consent given by a number (QR, chat)
	Channel           Channel       `json:"channel"`
	Purposes          []Purpose     `json:"purposes"`
	Action            ConsentAction `json:"action"`
	Source            ConsentSource `json:"source"`
	OccurredAt        time.Time     `json:"occurred_at"`
	TextVersion       string        `json:"text_version,omitempty"`
	Evidence          string        `json:"evidence,omitempty"`
	Line              int           `json:"-"`
}

// Problem is one row-level finding: a rejected row, a warning, or a record
// that was skipped on purpose. Line and Field are what a person opens the
// file at.
type Problem struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d, field %s: %s", p.Line, p.Field, p.Reason)
}

// Batch is what one mapping makes of one file.
type Batch struct {
	// Format is the detected format, e.g. "csv", "gdt", "fhir".
	Format string `json:"format"`
	// Profile names the mapping profile used, when there is one.
	Profile string `json:"profile,omitempty"`
	// Rows is the number of data records read (lines, events, segments).
	Rows         int            `json:"rows"`
	Patients     []Patient      `json:"patients"`
	Appointments []Appointment  `json:"appointments"`
	Consents     []ConsentEvent `json:"consent_events"`
	// Rejected rows were not imported.
	Rejected []Problem `json:"rejected"`
	// Warnings name something odd that was still imported.
	Warnings []Problem `json:"warnings"`
	// Skipped records were left out on purpose (duplicates, blocks without
	// a patient, events that are not appointments).
	Skipped []Problem `json:"skipped"`
	// Snapshot is true when the source lists every appointment of its date
	// range, so an appointment missing from it was cancelled.
	Snapshot bool `json:"snapshot,omitempty"`
}

// Imported is the number of records that became canonical data.
func (b *Batch) Imported() int {
	n := len(b.Appointments)
	if n == 0 {
		// Files without appointments (anamnesis forms) import patients.
		n = len(b.Patients)
	}
	return n
}
