// Package hl7 reads HL7 v2 SIU scheduling messages (S12 new, S13
// rescheduled, S14 modified, S15 cancelled, S16 discontinued, S17 deleted,
// S26 no-show): the patient from PID and the appointment from SCH, TQ1 and
// the resource segments (AIS, AIG, AIL, AIP).
//
// Parsing is pure: bytes in, a schemas.Batch out. Which PID-3 identifier
// is the practice's patient number is declared in a Profile, because every
// sending system fills PID-3 its own way.
//
// NTE, OBX, DG1 and other segments can be clinical. Decode exposes them for
// tests and diagnostics, but nothing of them goes into the Batch, and no
// problem message quotes a value from them or a phone number.
package hl7

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/mapping/wallclock"
	"github.com/praxisbote/praxisbote/schemas"
)

// Format is the Batch.Format of every batch this package makes.
const Format = "hl7"

// DefaultPatientIDType is the identifier type (CX-5, table 0203) of the
// medical record number, the PMS patient number.
const DefaultPatientIDType = "MR"

// implausible is the length above which an appointment is reported.
const implausible = 12 * time.Hour

// Profile declares how a sending system identifies patients.
type Profile struct {
	Name string
	// PatientIDType is the identifier type code (CX-5) of the patient
	// number in PID-3. Empty means DefaultPatientIDType.
	PatientIDType string
	// PatientIDAuthority, when set, must also match the assigning
	// authority (CX-4, its namespace id or universal id): a PID-3 may hold
	// MR numbers of several systems.
	PatientIDAuthority string
}

// DefaultProfile reads the first PID-3 identifier typed MR.
func DefaultProfile() Profile {
	return Profile{Name: "default", PatientIDType: DefaultPatientIDType}
}

func (p Profile) withDefaults() Profile {
	p.PatientIDType = strings.TrimSpace(p.PatientIDType)
	if p.PatientIDType == "" {
		p.PatientIDType = DefaultPatientIDType
	}
	p.PatientIDAuthority = strings.TrimSpace(p.PatientIDAuthority)
	return p
}

// Validate refuses a profile that cannot name an identifier. Empty fields
// are valid: they mean the defaults.
func (p Profile) Validate() error {
	p = p.withDefaults()
	for _, s := range []string{p.PatientIDType, p.PatientIDAuthority} {
		if strings.ContainsAny(s, "|^~\\&\r\n") {
			return fmt.Errorf("hl7 profile: %q contains an HL7 delimiter", s)
		}
	}
	return nil
}

// triggers maps the SIU trigger events this package reads to the status
// they announce. S13 is booked: the store sees the new time and records
// the move itself.
var triggers = map[string]schemas.AppointmentStatus{
	"S12": schemas.StatusBooked,
	"S13": schemas.StatusBooked,
	"S14": schemas.StatusBooked,
	"S15": schemas.StatusCancelled,
	"S16": schemas.StatusCancelled,
	"S17": schemas.StatusCancelled,
	"S26": schemas.StatusNoShow,
}

// fillerStatus is SCH-25 (table 0278), by upper-case code.
type fillerStatus struct {
	status schemas.AppointmentStatus
	// notAppointment: the slot is not something a patient agreed to.
	notAppointment bool
}

var fillerStatuses = map[string]fillerStatus{
	"BOOKED":    {status: schemas.StatusBooked},
	"OVERBOOK":  {status: schemas.StatusBooked},
	"STARTED":   {status: schemas.StatusBooked},
	"COMPLETE":  {status: schemas.StatusBooked},
	"CANCELLED": {status: schemas.StatusCancelled},
	"CANCELED":  {status: schemas.StatusCancelled},
	"DC":        {status: schemas.StatusCancelled},
	"DELETED":   {status: schemas.StatusCancelled},
	"NOSHOW":    {status: schemas.StatusNoShow},
	"PENDING":   {notAppointment: true},
	"WAITLIST":  {notAppointment: true},
	"BLOCKED":   {notAppointment: true},
}

// Parse maps an HL7 v2 file of one or more SIU messages to a Batch. name is
// the file name, used only in errors. loc is the practice time zone:
// timestamps without an offset are read in it and every instant is given
// in it. The error is for files that are not HL7 v2, for files without a
// single SIU message ("not a scheduling message (MSH-9 ADT^A60)") and for
// an invalid profile; everything inside a file is a Problem in the Batch.
// In a file that mixes SIU with other messages the others are skipped.
func Parse(data []byte, name string, p Profile, loc *time.Location) (*schemas.Batch, error) {
	if loc == nil {
		return nil, fmt.Errorf("hl7: %s: no practice time zone given", name)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	msgs, probs, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	scheduling := 0
	for _, msg := range msgs {
		if typ, _ := msg.Type(); typ == "SIU" {
			scheduling++
		}
	}
	if scheduling == 0 && len(msgs) > 0 {
		return nil, fmt.Errorf("%s: %w (MSH-9 %s)", name, ErrNotScheduling, messageType(msgs[0]))
	}
	m := &mapper{
		p:   p,
		loc: loc,
		b: &schemas.Batch{
			Format:       Format,
			Profile:      p.Name,
			Rows:         len(msgs),
			Patients:     []schemas.Patient{},
			Appointments: []schemas.Appointment{},
			Consents:     []schemas.ConsentEvent{},
			Rejected:     []schemas.Problem{},
			Warnings:     []schemas.Problem{},
			Skipped:      []schemas.Problem{},
		},
		patients:     map[string]int{},
		appointments: map[string]int{},
	}
	// Messages whose MSH could not be read are file problems that reject
	// a message: they count as rows, and as rejected.
	for _, pr := range probs {
		if pr.Field == "MSH-2" {
			m.b.Rows++
			m.b.Rejected = append(m.b.Rejected, pr)
		} else {
			m.b.Warnings = append(m.b.Warnings, pr)
		}
	}
	for _, msg := range msgs {
		m.message(msg)
	}
	sortProblems(m.b.Warnings)
	sortProblems(m.b.Rejected)
	sortProblems(m.b.Skipped)
	return m.b, nil
}

// messageType renders MSH-9 for a person: "ADT^A60". Anything that does not
// look like a message type is quoted and shortened.
func messageType(msg Message) string {
	typ, trig := msg.Type()
	s := typ
	if trig != "" {
		s += "^" + trig
	}
	if s == "" {
		return "empty"
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && r != '^' && r != '_' {
			return quote(s)
		}
	}
	if len(s) > 16 {
		return quote(s)
	}
	return s
}

type mapper struct {
	p            Profile
	loc          *time.Location
	b            *schemas.Batch
	patients     map[string]int // external id → index in b.Patients
	appointments map[string]int // external id → index in b.Appointments
}

func (m *mapper) warn(line int, field, reason string) {
	m.b.Warnings = append(m.b.Warnings, schemas.Problem{Line: line, Field: field, Reason: reason})
}

func (m *mapper) reject(line int, field, reason string) {
	m.b.Rejected = append(m.b.Rejected, schemas.Problem{Line: line, Field: field, Reason: reason})
}

func (m *mapper) skip(line int, field, reason string) {
	m.b.Skipped = append(m.b.Skipped, schemas.Problem{Line: line, Field: field, Reason: reason})
}

func (m *mapper) message(msg Message) {
	typ, trig := msg.Type()
	if typ != "SIU" {
		m.skip(msg.Line, "MSH-9", "not a scheduling message (MSH-9 "+messageType(msg)+")")
		return
	}
	status, known := triggers[strings.ToUpper(trig)]
	if !known {
		if trig == "" {
			m.reject(msg.Line, "MSH-9", "SIU message without a trigger event (MSH-9.2); not imported")
		} else {
			m.skip(msg.Line, "MSH-9", "trigger event "+messageType(msg)+" does not book, move or cancel an appointment; not read")
		}
		return
	}
	sch, ok := msg.First("SCH")
	if !ok {
		m.reject(msg.Line, "SCH", "SIU message without an SCH segment; not imported")
		return
	}
	id, ok := m.appointmentID(sch)
	if !ok {
		return
	}
	status, ok = m.status(sch, status, trig)
	if !ok {
		return
	}
	pid, ok := msg.First("PID")
	if !ok {
		m.reject(sch.Line, "PID", "SIU message without a PID segment; the appointment has no patient and is not imported")
		return
	}
	patientID, ok := m.patientID(pid)
	if !ok {
		return
	}
	start, end, ok := m.timing(msg, sch)
	if !ok {
		return
	}
	a := schemas.Appointment{
		ExternalID:        id,
		PatientExternalID: patientID,
		Start:             start,
		End:               end,
		DurationMinutes:   int(end.Sub(start) / time.Minute),
		Practitioner:      practitioner(msg),
		Location:          location(msg),
		Kind:              kind(msg, sch),
		Status:            status,
		Line:              sch.Line,
	}
	m.patient(pid, patientID)
	for _, other := range msg.All("PID")[1:] {
		if v, ok := m.pickID(other); ok && v != patientID {
			m.warn(other.Line, "PID-3", "message names more than one patient; the first PID is used")
			break
		}
	}
	if i, dup := m.appointments[id]; dup {
		old := m.b.Appointments[i]
		same := a
		same.Line = old.Line
		if old == same {
			m.skip(sch.Line, "SCH-2", fmt.Sprintf("same appointment as the message at line %d; nothing new", old.Line))
			return
		}
		// Messages are events in order: the later one is the state.
		m.skip(old.Line, "SCH-2", fmt.Sprintf("superseded by the later message for the same appointment (line %d)", sch.Line))
		m.b.Appointments[i] = a
		return
	}
	m.appointments[id] = len(m.b.Appointments)
	m.b.Appointments = append(m.b.Appointments, a)
}

// appointmentID is the filler's id (SCH-2, the scheduling system that keeps
// the calendar), else the placer's (SCH-1).
func (m *mapper) appointmentID(sch Segment) (string, bool) {
	if v := strings.TrimSpace(sch.Field(2).Component(1).String()); v != "" {
		return v, true
	}
	if v := strings.TrimSpace(sch.Field(1).Component(1).String()); v != "" {
		m.warn(sch.Line, "SCH-1", "no filler appointment id (SCH-2); the placer id (SCH-1) is used")
		return v, true
	}
	m.reject(sch.Line, "SCH-2", "no appointment id (SCH-2 or SCH-1); not imported")
	return "", false
}

// status combines the trigger event with SCH-25. When they disagree the
// status that sends no reminder wins: a reminder for a cancelled
// appointment is worse than none for a booked one.
func (m *mapper) status(sch Segment, base schemas.AppointmentStatus, trig string) (schemas.AppointmentStatus, bool) {
	raw := strings.TrimSpace(sch.Field(25).Component(1).String())
	if raw == "" {
		return base, true
	}
	fs, known := fillerStatuses[strings.ToUpper(raw)]
	switch {
	case !known:
		m.warn(sch.Line, "SCH-25", "unknown filler status "+quote(raw)+"; the status follows the trigger event "+trig)
		return base, true
	case fs.notAppointment && base == schemas.StatusBooked:
		m.skip(sch.Line, "SCH-25", "filler status "+quote(raw)+" is not a booked appointment")
		return "", false
	case fs.notAppointment || fs.status == base:
		return base, true
	case base == schemas.StatusBooked:
		m.warn(sch.Line, "SCH-25", fmt.Sprintf("filler status %s contradicts trigger event %s; %s used", quote(raw), trig, fs.status))
		return fs.status, true
	}
	m.warn(sch.Line, "SCH-25", fmt.Sprintf("filler status %s contradicts trigger event %s; %s used", quote(raw), trig, base))
	return base, true
}

// pickID finds the patient number in PID-3: the first repetition whose
// identifier type (CX-5) is the profile's, and whose assigning authority
// (CX-4) matches when the profile names one.
func (m *mapper) pickID(pid Segment) (string, bool) {
	for _, rep := range pid.Field(3).Repetitions() {
		if !strings.EqualFold(strings.TrimSpace(rep.Component(5).String()), m.p.PatientIDType) {
			continue
		}
		if a := m.p.PatientIDAuthority; a != "" {
			auth := rep.Component(4)
			if !strings.EqualFold(strings.TrimSpace(auth.Subcomponent(1).String()), a) &&
				!strings.EqualFold(strings.TrimSpace(auth.Subcomponent(2).String()), a) {
				continue
			}
		}
		if v := strings.TrimSpace(rep.Component(1).String()); v != "" {
			return v, true
		}
	}
	return "", false
}

func (m *mapper) patientID(pid Segment) (string, bool) {
	if id, ok := m.pickID(pid); ok {
		return id, true
	}
	want := "type " + m.p.PatientIDType
	if m.p.PatientIDAuthority != "" {
		want += " from authority " + quote(m.p.PatientIDAuthority)
	}
	m.reject(pid.Line, "PID-3", "no patient identifier of "+want+" in PID-3; the appointment is not imported")
	return "", false
}

// patient imports the PID once per patient number.
func (m *mapper) patient(pid Segment, id string) {
	pat := schemas.Patient{ExternalID: id, Phones: []schemas.Phone{}, Line: pid.Line}
	// PID-5: the first repetition is the legal name (v2.3+); XPN-1 is a
	// family name whose first subcomponent is the surname.
	name := pid.Field(5)
	pat.FamilyName = strings.TrimSpace(name.Component(1).Subcomponent(1).String())
	pat.GivenName = strings.TrimSpace(name.Component(2).String())
	if v := strings.TrimSpace(pid.Field(7).Component(1).String()); v != "" {
		if d, ok := birthDate(v); ok {
			pat.BirthDate = d
		} else {
			m.warn(pid.Line, "PID-7", "birth date is not a full date (YYYYMMDD); left empty")
		}
	}
	switch strings.ToUpper(strings.TrimSpace(pid.Field(8).Component(1).String())) {
	case "M":
		pat.Sex = "M"
	case "F":
		pat.Sex = "F"
	case "O", "X":
		pat.Sex = "X"
	}
	pat.Phones = m.phones(pid)

	if i, seen := m.patients[id]; seen {
		old := &m.b.Patients[i]
		old.Phones = phone.Merge(old.Phones, pat.Phones...)
		if old.FamilyName != pat.FamilyName || old.GivenName != pat.GivenName || old.BirthDate != pat.BirthDate {
			m.warn(pid.Line, "PID-5", "patient appears again with different master data; the first message's data is kept")
		}
		return
	}
	m.patients[id] = len(m.b.Patients)
	m.b.Patients = append(m.b.Patients, pat)
}

func birthDate(v string) (string, bool) {
	if len(v) < 8 || !allDigits(v[:8]) {
		return "", false
	}
	y, _ := strconv.Atoi(v[0:4])
	mo, _ := strconv.Atoi(v[4:6])
	d, _ := strconv.Atoi(v[6:8])
	if wallclock.Date(y, mo, d) != nil {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, mo, d), true
}

// notPhone are XTN equipment types (XTN-3, table 0202) that are no phone.
var notPhone = map[string]bool{"INTERNET": true, "X.400": true, "FX": true, "MD": true, "BP": true}

// phones reads PID-13 (home), PID-14 (business) and PID-40 (v2.7+
// telecommunication information). Use code (XTN-2: PRN, ORN, WPN, …) and
// equipment type (XTN-3: PH, CP, …) only decide whether an entry is a
// phone at all; the kind comes from the number, as for every source.
// Within an entry the unformatted number (XTN-12) is tried first, then
// country/area/local (XTN-5/6/7), then the deprecated XTN-1.
func (m *mapper) phones(pid Segment) []schemas.Phone {
	out := []schemas.Phone{}
	for _, fn := range []int{13, 14, 40} {
		f := pid.Field(fn)
		reps := f.Repetitions()
		field := fmt.Sprintf("PID-%d", fn)
		for i, rep := range reps {
			if rep.Empty() {
				continue
			}
			use := strings.ToUpper(strings.TrimSpace(rep.Component(2).String()))
			equip := strings.ToUpper(strings.TrimSpace(rep.Component(3).String()))
			if use == "NET" || notPhone[equip] {
				continue
			}
			where := ""
			if len(reps) > 1 {
				where = fmt.Sprintf("repetition %d: ", i+1)
			}
			var lastErr error
			found := false
			for _, cand := range xtnCandidates(rep) {
				ps, err := phone.ParseCell(cand)
				if len(ps) == 0 {
					if err != nil {
						lastErr = err
					}
					continue
				}
				out = phone.Merge(out, ps...)
				if err != nil {
					m.warn(pid.Line, field, where+phoneProblem(err))
				}
				found = true
				break
			}
			if !found && lastErr != nil {
				m.warn(pid.Line, field, where+phoneProblem(lastErr))
			}
		}
	}
	return out
}

func xtnCandidates(rep Value) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	add(rep.Component(12).String())
	if local := strings.TrimSpace(rep.Component(7).String()); local != "" {
		cc := strings.TrimLeft(strings.TrimSpace(rep.Component(5).String()), "+0")
		area := strings.TrimSpace(rep.Component(6).String())
		switch {
		case cc != "":
			add("+" + cc + " " + strings.TrimLeft(area, "0") + " " + local)
		case area != "" && !strings.HasPrefix(area, "0"):
			add("0" + area + " " + local)
		default:
			add(area + " " + local)
		}
	}
	add(rep.Component(1).String())
	return out
}

// phoneProblem names why a number is unusable without repeating the number.
func phoneProblem(err error) string {
	if errors.Is(err, phone.ErrAmbiguous) {
		return "phone number starts with a country code but has no + or 00; not used"
	}
	return "not a valid phone number; not used"
}

// timeSource is one place a start (and maybe end) can come from.
type timeSource struct {
	line       int
	startField string
	start      Value
	endField   string
	end        Value
	// The resource's own duration, used when no end and no SCH-9 is given.
	durField, unitsField string
	dur, units           Value
}

// timing finds start and end: start = TQ1-7, else SCH-11.4, else the first
// resource segment with a start (AIS-4, AIG-8, AIL-6, AIP-6); end = TQ1-8,
// else SCH-11.5, else start + SCH-9/10 (or the resource's duration).
func (m *mapper) timing(msg Message, sch Segment) (time.Time, time.Time, bool) {
	var sources []timeSource
	if tq1, ok := msg.First("TQ1"); ok {
		sources = append(sources, timeSource{line: tq1.Line,
			startField: "TQ1-7", start: tq1.Field(7).Component(1),
			endField: "TQ1-8", end: tq1.Field(8).Component(1)})
	}
	sources = append(sources, timeSource{line: sch.Line,
		startField: "SCH-11.4", start: sch.Field(11).Component(4).Subcomponent(1),
		endField: "SCH-11.5", end: sch.Field(11).Component(5).Subcomponent(1)})
	resources := []struct {
		name              string
		start, dur, units int
	}{{"AIS", 4, 7, 8}, {"AIG", 8, 11, 12}, {"AIL", 6, 9, 10}, {"AIP", 6, 9, 10}}
	for _, r := range resources {
		for _, s := range msg.All(r.name) {
			sources = append(sources, timeSource{line: s.Line,
				startField: fmt.Sprintf("%s-%d", r.name, r.start), start: s.Field(r.start).Component(1),
				durField: fmt.Sprintf("%s-%d", r.name, r.dur), dur: s.Field(r.dur),
				unitsField: fmt.Sprintf("%s-%d", r.name, r.units), units: s.Field(r.units)})
		}
	}

	var src *timeSource
	for i := range sources {
		if !sources[i].start.Empty() {
			src = &sources[i]
			break
		}
	}
	if src == nil {
		m.reject(sch.Line, "TQ1-7", "no appointment start (TQ1-7, SCH-11.4, AIS-4, AIG-8, AIL-6 or AIP-6); not imported")
		return time.Time{}, time.Time{}, false
	}
	start, err := m.timestamp(src.start.String(), src.line, src.startField)
	if err != nil {
		m.reject(src.line, src.startField, "start is not a valid timestamp: "+err.Error())
		return time.Time{}, time.Time{}, false
	}

	// The first end given: TQ1-8, then SCH-11.5.
	var end time.Time
	endField, endLine := "", 0
	for _, s := range sources {
		if s.endField == "" || s.end.Empty() {
			continue
		}
		e, err := m.timestamp(s.end.String(), s.line, s.endField)
		if err != nil {
			m.reject(s.line, s.endField, "end is not a valid timestamp: "+err.Error())
			return time.Time{}, time.Time{}, false
		}
		end, endField, endLine = e, s.endField, s.line
		break
	}
	schDur, schOK := m.duration(sch.Field(9), sch.Field(10), sch.Line, "SCH-9", "SCH-10")
	switch {
	case endField != "":
		if schOK && schDur != end.Sub(start) {
			m.warn(sch.Line, "SCH-9", fmt.Sprintf("SCH-9/10 duration (%s) contradicts start/end (%s); start/end used",
				minutes(schDur), minutes(end.Sub(start))))
		}
	case schOK:
		end, endField, endLine = start.Add(schDur), "SCH-9", sch.Line
	default:
		if !src.dur.Empty() {
			if d, ok := m.duration(src.dur, src.units, src.line, src.durField, src.unitsField); ok {
				end, endField, endLine = start.Add(d), src.durField, src.line
			}
		}
	}
	if endField == "" {
		m.warn(sch.Line, "TQ1-8", "no end (TQ1-8, SCH-11.5) and no duration (SCH-9/10); end set to start")
		return start, start, true
	}
	if end.Before(start) {
		m.warn(endLine, endField, "end lies before start")
	} else if end.Sub(start) > implausible {
		m.warn(endLine, endField, fmt.Sprintf("implausible duration: end is %s after start (more than 12 hours)", minutes(end.Sub(start))))
	}
	return start, end, true
}

func minutes(d time.Duration) string {
	if d%time.Minute != 0 {
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%d min", int(d/time.Minute))
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// duration reads a quantity (NM) and its units (CE/CWE, first component):
// s, min, h, d, in the spellings senders use. Units left empty mean
// minutes, with a warning.
func (m *mapper) duration(qty, units Value, line int, qtyField, unitField string) (time.Duration, bool) {
	q := strings.TrimSpace(qty.Component(1).String())
	if q == "" {
		return 0, false
	}
	n, err := strconv.ParseFloat(q, 64)
	if err != nil || !isNM(q) || n < 0 || math.IsInf(n, 0) {
		m.warn(line, qtyField, "duration is not a number; not used")
		return 0, false
	}
	u := strings.TrimSpace(units.Component(1).String())
	var unit time.Duration
	switch strings.ToLower(u) {
	case "s", "sec", "secs", "second", "seconds":
		unit = time.Second
	case "min", "mins", "minute", "minutes":
		unit = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		unit = time.Hour
	case "d", "day", "days":
		unit = 24 * time.Hour
	case "":
		m.warn(line, unitField, "duration without units; read as minutes")
		unit = time.Minute
	default:
		m.warn(line, unitField, "unknown duration units "+quote(u)+"; duration not used")
		return 0, false
	}
	d := n * float64(unit)
	if d > float64(maxDuration) {
		m.warn(line, qtyField, "duration is longer than a year; not used")
		return 0, false
	}
	return time.Duration(d), true
}

// isNM tells a plain HL7 number (NM: digits with an optional sign and
// decimal point) from what ParseFloat also accepts (1e3, Inf, 0x1p3).
func isNM(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if hasDot && frac == "" && intPart == "" {
		return false
	}
	return (intPart == "" || allDigits(intPart)) && (!hasDot || frac == "" || allDigits(frac)) && (intPart != "" || frac != "")
}

// maxDuration bounds durations read from a file, far above any
// appointment, so an absurd value cannot overflow a time.
const maxDuration = 366 * 24 * time.Hour

// Instants outside these years are no appointment times; refusing them also
// keeps every time representable in JSON.
const minYear, maxYear = 1900, 2199

func checkYear(t time.Time) error {
	if y := t.Year(); y < minYear || y > maxYear {
		return fmt.Errorf("year %d is out of range (%d–%d)", y, minYear, maxYear)
	}
	return nil
}

// timestamp reads a DTM/TS "YYYYMMDDHH[MM[SS[.S…]]][+/-ZZZZ]". With an
// offset it is that instant; without, it is practice-local and read by the
// wall-clock rules, whose notes become warnings. A date alone is no
// appointment time.
func (m *mapper) timestamp(v string, line int, field string) (time.Time, error) {
	v = strings.TrimSpace(v)
	digits, off := v, ""
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		digits, off = v[:i], v[i:]
	}
	if dot := strings.IndexByte(digits, '.'); dot >= 0 {
		if !allDigits(digits[dot+1:]) {
			return time.Time{}, errors.New("expected YYYYMMDDHHMM[SS][+/-ZZZZ]")
		}
		digits = digits[:dot]
	}
	if !allDigits(digits) {
		return time.Time{}, errors.New("expected YYYYMMDDHHMM[SS][+/-ZZZZ]")
	}
	switch len(digits) {
	case 10, 12, 14:
	case 4, 6, 8:
		return time.Time{}, errors.New("a date without a time of day")
	default:
		return time.Time{}, errors.New("expected YYYYMMDDHHMM[SS][+/-ZZZZ]")
	}
	n := func(a, b int) int {
		if b > len(digits) {
			return 0
		}
		x, _ := strconv.Atoi(digits[a:b])
		return x
	}
	y, mo, d, h, mi, s := n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)
	if off == "" {
		at, note, err := wallclock.Local(y, mo, d, h, mi, s, m.loc)
		if err != nil {
			return time.Time{}, err
		}
		if err := checkYear(at); err != nil {
			return time.Time{}, err
		}
		if note != "" {
			m.warn(line, field, string(note))
		}
		return at, nil
	}
	if len(off) != 5 || !allDigits(off[1:]) {
		return time.Time{}, errors.New("offset is not +/-HHMM")
	}
	oh, om := atoi(off[1:3]), atoi(off[3:5])
	if oh > 14 || om > 59 {
		return time.Time{}, errors.New("offset is not +/-HHMM")
	}
	if err := wallclock.Date(y, mo, d); err != nil {
		return time.Time{}, err
	}
	if h > 23 || mi > 59 || s > 59 {
		return time.Time{}, fmt.Errorf("time %02d:%02d:%02d does not exist", h, mi, s)
	}
	secs := oh*3600 + om*60
	if off[0] == '-' {
		secs = -secs
	}
	at := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.FixedZone("", secs)).In(m.loc)
	if err := checkYear(at); err != nil {
		return time.Time{}, err
	}
	return at, nil
}

// practitioner is the first AIP-3 person, else the first AIG-3 resource.
func practitioner(msg Message) string {
	for _, aip := range msg.All("AIP") {
		if n := personName(aip.Field(3)); n != "" {
			return n
		}
	}
	for _, aig := range msg.All("AIG") {
		if n := codedText(aig.Field(3)); n != "" {
			return n
		}
	}
	return ""
}

// personName formats an XCN as "prefix given middle family", the order
// the FHIR converter uses for the same data; the id when there is no name.
func personName(v Value) string {
	parts := []string{
		v.Component(6).String(),
		v.Component(3).String(),
		v.Component(4).String(),
		v.Component(2).Subcomponent(1).String(),
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return strings.TrimSpace(v.Component(1).String())
	}
	return strings.Join(out, " ")
}

// codedText is a CE/CWE's text, else its code.
func codedText(v Value) string {
	if t := strings.TrimSpace(v.Component(2).String()); t != "" {
		return t
	}
	return strings.TrimSpace(v.Component(1).Subcomponent(1).String())
}

// location is the first AIL-3 (PL): point of care, room, bed and facility.
func location(msg Message) string {
	for _, ail := range msg.All("AIL") {
		pl := ail.Field(3)
		var out []string
		for _, c := range []Value{pl.Component(1), pl.Component(2), pl.Component(3), pl.Component(4)} {
			if s := strings.TrimSpace(c.Subcomponent(1).String()); s != "" {
				out = append(out, s)
			}
		}
		if len(out) > 0 {
			return strings.Join(out, ", ")
		}
	}
	return ""
}

// kind is the service of the first AIS (AIS-3), else the appointment
// reason (SCH-7).
func kind(msg Message, sch Segment) string {
	for _, ais := range msg.All("AIS") {
		if k := codedText(ais.Field(3)); k != "" {
			return k
		}
	}
	return codedText(sch.Field(7))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
