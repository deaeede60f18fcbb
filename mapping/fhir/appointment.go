package fhir

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/mapping/consentdecl"
	"github.com/praxisbote/praxisbote/schemas"
)

// statuses maps FHIR Appointment.status to the canonical status. arrived,
// checked-in and fulfilled are appointments that take or took place, which
// for reminders is the same as booked; the canonical model has no "done".
var statuses = map[string]schemas.AppointmentStatus{
	"booked":           schemas.StatusBooked,
	"arrived":          schemas.StatusBooked,
	"checked-in":       schemas.StatusBooked,
	"fulfilled":        schemas.StatusBooked,
	"cancelled":        schemas.StatusCancelled,
	"entered-in-error": schemas.StatusCancelled,
	"noshow":           schemas.StatusNoShow,
}

// notYetAppointments are requests, not appointments: nobody has agreed to
// the time, so a reminder would announce something that may never happen.
var notYetAppointments = map[string]bool{"proposed": true, "pending": true, "waitlist": true}

func (m *mapper) appointment(n *node) {
	var ar appointmentResource
	if err := json.Unmarshal(n.raw, &ar); err != nil {
		m.reject(n.path, "Appointment is not valid FHIR JSON"+jsonWhere(err))
		return
	}
	status, known := statuses[ar.Status]
	if !known && !notYetAppointments[ar.Status] {
		m.reject(n.path+".status", "unknown appointment status "+consentdecl.Quote(ar.Status))
		return
	}
	// Every reason an appointment is not eligible is collected, so the log
	// tells the whole story at once instead of one reason per import.
	var reasons []string
	if notYetAppointments[ar.Status] {
		reasons = append(reasons, "status "+ar.Status)
	}
	patientID, why := m.appointmentPatient(n, ar)
	if why != "" {
		reasons = append(reasons, why)
	}
	if len(reasons) > 0 {
		m.skip(n.path, strings.Join(reasons, "; "))
		return
	}

	id := m.appointmentID(n, ar)
	if id == "" {
		m.reject(n.path+".identifier", "Appointment has no identifier and no id")
		return
	}
	if m.appointments[id] {
		m.skip(n.path, "duplicate appointment id "+consentdecl.Quote(id))
		return
	}
	if strings.TrimSpace(ar.Start) == "" {
		m.reject(n.path+".start", "Appointment has no start")
		return
	}
	start, err := m.instant(ar.Start, n.path+".start")
	if err != nil {
		m.reject(n.path+".start", "start is not a valid instant: "+err.Error())
		return
	}
	a := schemas.Appointment{
		ExternalID:        id,
		PatientExternalID: patientID,
		Start:             start,
		Status:            status,
		Kind:              kindOf(ar.AppointmentType),
	}
	switch {
	case strings.TrimSpace(ar.End) != "":
		end, err := m.instant(ar.End, n.path+".end")
		if err != nil {
			m.reject(n.path+".end", "end is not a valid instant: "+err.Error())
			return
		}
		a.End = end
		a.DurationMinutes = int(end.Sub(start) / time.Minute)
		// start/end are instants both systems agree on; minutesDuration is
		// a second statement that converters fill carelessly (HL7 "60^s"
		// becomes 1), so start/end win and the contradiction is reported.
		if ar.MinutesDuration != nil && *ar.MinutesDuration != a.DurationMinutes {
			m.warn(n.path+".minutesDuration", fmt.Sprintf("minutesDuration %d contradicts start/end (%d min); start/end used", *ar.MinutesDuration, a.DurationMinutes))
		}
	case ar.MinutesDuration != nil && *ar.MinutesDuration > 0:
		a.DurationMinutes = *ar.MinutesDuration
		a.End = start.Add(time.Duration(a.DurationMinutes) * time.Minute)
	default:
		a.End = start
		m.warn(n.path+".end", "Appointment has neither end nor minutesDuration; end set to start")
	}
	if a.End.Before(a.Start) {
		m.warn(n.path+".end", "end lies before start")
	} else if a.End.Sub(a.Start) > 24*time.Hour {
		m.warn(n.path+".end", "appointment lasts more than a day; check end")
	}
	a.Practitioner, a.Location = m.practitionerAndLocation(n, ar)
	m.appointments[id] = true
	m.b.Appointments = append(m.b.Appointments, a)
}

// appointmentPatient finds the patient participant. The reason is empty
// when one was found and imported.
func (m *mapper) appointmentPatient(n *node, ar appointmentResource) (string, string) {
	unresolved, failed := false, ""
	found := ""
	for _, p := range ar.Participant {
		if p.Actor == nil || p.Actor.Reference == "" {
			continue
		}
		target := m.resolve(p.Actor.Reference, n)
		if target == nil {
			if refersTo(p.Actor.Reference, "Patient") {
				unresolved = true
			}
			continue
		}
		if target.typ != "Patient" {
			continue
		}
		r := m.patient(target)
		if !r.ok {
			failed = r.reason
			continue
		}
		if found == "" {
			found = r.id
		} else if r.id != found {
			m.warn(n.path+".participant", "Appointment has more than one patient; the first is used")
		}
	}
	switch {
	case found != "":
		return found, ""
	case failed != "":
		return "", "patient unresolved (" + failed + ")"
	case unresolved:
		return "", "patient unresolved"
	}
	return "", "no patient participant"
}

// appointmentID picks the id the scheduling system itself uses.
func (m *mapper) appointmentID(n *node, ar appointmentResource) string {
	if m.p.AppointmentIDSystem != "" {
		for _, ident := range ar.Identifier {
			if ident.System == m.p.AppointmentIDSystem && strings.TrimSpace(ident.Value) != "" {
				return strings.TrimSpace(ident.Value)
			}
		}
	}
	for _, ident := range ar.Identifier {
		if ident.Type == nil {
			continue
		}
		for _, c := range ident.Type.Coding {
			// v2-0203 FILL: the filler (the system that keeps the
			// calendar) owns the appointment; PLAC is the requester's id.
			if c.Code == "FILL" && strings.TrimSpace(ident.Value) != "" {
				return strings.TrimSpace(ident.Value)
			}
		}
	}
	if len(ar.Identifier) == 1 && strings.TrimSpace(ar.Identifier[0].Value) != "" {
		return strings.TrimSpace(ar.Identifier[0].Value)
	}
	return strings.TrimSpace(n.id)
}

func kindOf(cc *codeableConcept) string {
	if cc == nil {
		return ""
	}
	if t := strings.TrimSpace(cc.Text); t != "" {
		return t
	}
	for _, c := range cc.Coding {
		if d := strings.TrimSpace(c.Display); d != "" {
			return d
		}
	}
	for _, c := range cc.Coding {
		if d := strings.TrimSpace(c.Code); d != "" {
			return d
		}
	}
	return ""
}

// practitionerAndLocation takes the first practitioner and the first
// location among the participants; a display on the reference wins over
// the resource's own name because it is what the source shows its users.
func (m *mapper) practitionerAndLocation(n *node, ar appointmentResource) (practitioner, location string) {
	for _, p := range ar.Participant {
		if p.Actor == nil {
			continue
		}
		ref, display := p.Actor.Reference, strings.TrimSpace(p.Actor.Display)
		target := m.resolve(ref, n)
		isPractitioner := refersTo(ref, "Practitioner") || refersTo(ref, "PractitionerRole") ||
			(target != nil && (target.typ == "Practitioner" || target.typ == "PractitionerRole"))
		isLocation := refersTo(ref, "Location") || (target != nil && target.typ == "Location")
		switch {
		case isPractitioner && practitioner == "":
			practitioner = display
			if practitioner == "" && target != nil {
				practitioner = m.practitionerName(target)
			}
		case isLocation && location == "":
			location = display
			if location == "" && target != nil {
				var lr locationResource
				if json.Unmarshal(target.raw, &lr) == nil {
					location = strings.TrimSpace(lr.Name)
				}
			}
		}
	}
	return practitioner, location
}

func (m *mapper) practitionerName(n *node) string {
	if n.typ == "PractitionerRole" {
		var rr practitionerRoleResource
		if json.Unmarshal(n.raw, &rr) != nil || rr.Practitioner == nil {
			return ""
		}
		if d := strings.TrimSpace(rr.Practitioner.Display); d != "" {
			return d
		}
		t := m.resolve(rr.Practitioner.Reference, n)
		if t == nil || t.typ != "Practitioner" {
			return ""
		}
		n = t
	}
	var pr practitionerResource
	if json.Unmarshal(n.raw, &pr) != nil || len(pr.Name) == 0 {
		return ""
	}
	name := pr.Name[0]
	for _, cand := range pr.Name {
		if cand.Use == "official" {
			name = cand
			break
		}
	}
	parts := append([]string{}, name.Prefix...)
	parts = append(parts, name.Given...)
	parts = append(parts, name.Family)
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
