// Package store is praxisbote's persistence: the records the pipelines read
// and write, kept behind one set of types so the embedded SQLite store and
// a server database can share the pipelines. Personal fields are sealed
// with per-patient data keys before they reach a table.
package store

import (
	"errors"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a record that may exist once already does.
var ErrExists = errors.New("already exists")

// PatientRef identifies a stored patient without decrypting anything.
type PatientRef struct {
	ID         int64
	PracticeID string
	Source     string
	ExternalID string
}

// Patient is a stored patient with its personal fields opened.
type Patient struct {
	PatientRef
	schemas.Patient
	PreferredChannel schemas.Channel
}

// Appointment is a stored appointment.
type Appointment struct {
	ID           int64
	PracticeID   string
	PatientID    int64
	PatientExt   string
	ExternalID   string
	Start        time.Time
	Duration     time.Duration
	Status       schemas.AppointmentStatus
	Practitioner string
	// CreatedAt is when praxisbote first saw the appointment, the closest
	// it knows to the booking time.
	CreatedAt time.Time
}

// AppointmentChange reports what an import did to one appointment.
type AppointmentChange struct {
	Appointment
	New          bool
	Moved        bool // start changed
	StatusChange bool
	OldStart     time.Time
	OldStatus    schemas.AppointmentStatus
}

// ConsentRecord is one stored, hash-chained consent event.
type ConsentRecord struct {
	ID         int64
	PracticeID string
	PatientID  int64 // 0 when the subject is a phone only
	PhoneIndex string
	schemas.ConsentEvent
	RecordedAt time.Time
	RecordedBy string
	PrevHash   string
	Hash       string
}

// Reminder states.
const (
	ReminderPending   = "pending"
	ReminderQueued    = "queued"
	ReminderDone      = "done"
	ReminderCancelled = "cancelled"
)

// Reminder is one scheduled reminder of an appointment.
type Reminder struct {
	ID            int64
	PracticeID    string
	AppointmentID int64
	RuleID        string
	DueAt         time.Time
	State         string
}

// Delivery states, in the order a delivery moves through them. failed,
// dead, skipped_no_consent and cancelled are end states beside the line.
const (
	DeliveryScheduled        = "scheduled"
	DeliverySending          = "sending"
	DeliverySent             = "sent"
	DeliveryDelivered        = "delivered"
	DeliveryRead             = "read"
	DeliveryFailed           = "failed"
	DeliveryDead             = "dead"
	DeliverySkippedNoConsent = "skipped_no_consent"
	DeliveryCancelled        = "cancelled"
)

// Delivery is one message to one patient on one channel.
type Delivery struct {
	ID         int64
	PracticeID string
	ReminderID int64
	// FallbackOf is the delivery on another channel this one replaces.
	FallbackOf int64
	// IdemKey, when set, makes the delivery exist at most once.
	IdemKey       string
	AppointmentID int64
	PatientID     int64
	Channel       schemas.Channel
	Purpose       schemas.Purpose
	Template      string
	ToIndex       string
	// ToSealed is the recipient's number sealed with a system key, for
	// replies to a number that may belong to no patient yet.
	ToSealed          []byte
	State             string
	Reason            string
	Attempts          int
	ProviderCode      string
	ProviderMessageID string
	ReplayCount       int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SentAt            time.Time
	DeliveredAt       time.Time
	ReadAt            time.Time
}

// InboundMessage is a message a patient sent, as stored.
type InboundMessage struct {
	ID            int64
	PracticeID    string
	Channel       schemas.Channel
	ProviderID    string
	FromIndex     string
	ReceivedAt    time.Time
	Type          string
	Body          string
	Intent        string
	PatientID     int64
	AppointmentID int64
	Handled       string
}

// IngestFile is one line of the ingest log.
type IngestFile struct {
	ID          int64
	PracticeID  string
	SHA256      string
	Name        string
	Format      string
	Profile     string
	Rows        int
	Imported    int
	Rejected    int
	Problems    []FileProblem
	Status      string
	Error       string
	ProcessedAt time.Time
}

// FileProblem is a row-level finding in the ingest log.
type FileProblem struct {
	// Kind is rejected, warning or skipped.
	Kind string `json:"kind"`
	schemas.Problem
}
