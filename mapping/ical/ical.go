// Package ical reads the iCalendar feeds (RFC 5545) that practice
// calendars publish per practitioner: every VEVENT that names a patient is
// an appointment.
//
// Parsing is pure: bytes in, a schemas.Batch out. Which X-properties carry
// the practice's patient number and mobile is declared in a Profile,
// because every calendar tool names them differently.
//
// DESCRIPTION can hold clinical notes ("Hinweis: …"). Decode exposes it for
// tests and diagnostics, but nothing of it goes into the Batch except the
// patient's name from its "Patient:" line, and no problem message quotes it.
//
// Recurring events (RRULE, RDATE) are never expanded: a series is a block
// in the calendar, not a list of appointments somebody agreed to.
package ical

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/mapping/consentdecl"
	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/mapping/wallclock"
	"github.com/praxisbote/praxisbote/schemas"
)

// Format is the Batch.Format of every batch this package makes.
const Format = "ical"

// The X-properties a practice calendar writes its patient data into.
const (
	DefaultPatientIDProperty = "X-PRAXIS-PATNR"
	DefaultMobileProperty    = "X-PRAXIS-MOBIL"
)

// implausible is the length above which an appointment is reported.
const implausible = 12 * time.Hour

// Profile declares where a calendar tool writes the patient into a VEVENT.
type Profile struct {
	Name string
	// PatientIDProperty names the property whose value is the PMS patient
	// number. Empty means DefaultPatientIDProperty. An event without it
	// has no patient and is skipped.
	PatientIDProperty string
	// MobileProperty names the property holding the patient's mobile.
	// Empty means DefaultMobileProperty.
	MobileProperty string
}

// DefaultProfile is the profile of the practice's calendar export.
func DefaultProfile() Profile {
	return Profile{
		Name:              "default",
		PatientIDProperty: DefaultPatientIDProperty,
		MobileProperty:    DefaultMobileProperty,
	}
}

func (p Profile) withDefaults() Profile {
	if strings.TrimSpace(p.PatientIDProperty) == "" {
		p.PatientIDProperty = DefaultPatientIDProperty
	}
	if strings.TrimSpace(p.MobileProperty) == "" {
		p.MobileProperty = DefaultMobileProperty
	}
	p.PatientIDProperty = strings.ToUpper(strings.TrimSpace(p.PatientIDProperty))
	p.MobileProperty = strings.ToUpper(strings.TrimSpace(p.MobileProperty))
	return p
}

// standardProps are properties whose meaning RFC 5545 fixes; a profile
// may not declare one of them as the patient number or mobile.
var standardProps = map[string]bool{
	"UID": true, "DTSTART": true, "DTEND": true, "DURATION": true, "SUMMARY": true,
	"DESCRIPTION": true, "LOCATION": true, "STATUS": true, "ORGANIZER": true,
	"ATTENDEE": true, "RRULE": true, "RDATE": true, "EXDATE": true, "SEQUENCE": true,
	"RECURRENCE-ID": true, "DTSTAMP": true, "CATEGORIES": true, "COMMENT": true,
}

// Validate refuses a profile that could read the wrong property as the
// patient. Empty fields are valid: they mean the defaults.
func (p Profile) Validate() error {
	p = p.withDefaults()
	for _, n := range []string{p.PatientIDProperty, p.MobileProperty} {
		for i := 0; i < len(n); i++ {
			if !isNameChar(n[i]) {
				return fmt.Errorf("ical profile: %q is not a property name", n)
			}
		}
		if standardProps[n] {
			return fmt.Errorf("ical profile: %s is a standard property and cannot carry patient data", n)
		}
	}
	if p.PatientIDProperty == p.MobileProperty {
		return fmt.Errorf("ical profile: %s declared as both patient number and mobile", p.PatientIDProperty)
	}
	return nil
}

// Parse maps an iCalendar file to a Batch. name is the file name, used only
// in errors. loc is the practice time zone: floating times are read in it,
// unknown TZIDs fall back to it, and every instant is given in it. The
// error is for files that are not iCalendar and for an invalid profile;
// everything inside a file is a Problem in the Batch.
func Parse(data []byte, name string, p Profile, loc *time.Location) (*schemas.Batch, error) {
	if loc == nil {
		return nil, fmt.Errorf("ical: %s: no practice time zone given", name)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	comps, probs, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := &mapper{
		p:   p,
		loc: loc,
		b: &schemas.Batch{
			Format:       Format,
			Profile:      p.Name,
			Patients:     []schemas.Patient{},
			Appointments: []schemas.Appointment{},
			Consents:     []schemas.ConsentEvent{},
			Rejected:     []schemas.Problem{},
			Warnings:     probs,
			Skipped:      []schemas.Problem{},
		},
		patients:     map[string]int{},
		appointments: map[string]int{},
		zones:        map[string]*time.Location{},
	}
	if m.b.Warnings == nil {
		m.b.Warnings = []schemas.Problem{}
	}
	for _, c := range comps {
		if c.Name != "VCALENDAR" {
			m.warn(c.Line, "BEGIN", fmt.Sprintf("component %s outside VCALENDAR ignored", clip(c.Name)))
			continue
		}
		m.calendar(c)
	}
	sortProblems(m.b.Warnings)
	sortProblems(m.b.Rejected)
	sortProblems(m.b.Skipped)
	return m.b, nil
}

type mapper struct {
	p            Profile
	loc          *time.Location
	b            *schemas.Batch
	patients     map[string]int // external id → index in b.Patients
	appointments map[string]int // UID → index in b.Appointments
	seqs         []int          // SEQUENCE of each appointment, parallel to b.Appointments
	zones        map[string]*time.Location
	cal          calendar
}

// calendar is what a VCALENDAR says about all of its events.
type calendar struct {
	name      string
	cancel    bool
	timezones map[string]Component // TZID → VTIMEZONE
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

func (m *mapper) calendar(c Component) {
	m.cal = calendar{timezones: map[string]Component{}}
	if p, ok := c.Prop("X-WR-CALNAME"); ok {
		m.cal.name = strings.TrimSpace(p.Text())
	}
	if p, ok := c.Prop("METHOD"); ok && strings.EqualFold(strings.TrimSpace(p.Value), "CANCEL") {
		// iTIP: every event of a CANCEL message is cancelled.
		m.cal.cancel = true
	}
	for _, tz := range c.Children("VTIMEZONE") {
		if id, ok := tz.Prop("TZID"); ok {
			m.cal.timezones[strings.TrimSpace(id.Value)] = tz
		}
	}
	// Zones are per calendar: two calendars in one file may define the
	// same TZID differently.
	m.zones = map[string]*time.Location{}
	for _, ev := range c.Children("VEVENT") {
		m.event(ev)
	}
}

func (m *mapper) event(ev Component) {
	m.b.Rows++
	text := func(name string) (Property, string) {
		p, _ := ev.Prop(name)
		return p, strings.TrimSpace(p.Text())
	}

	// Everything that makes the event not an appointment is collected,
	// so the log tells the whole story at once.
	var reasons []string
	field, line := "", ev.Line
	note := func(p Property, reason string) {
		if field == "" {
			field, line = p.Name, p.Line
		}
		reasons = append(reasons, reason)
	}
	if p, ok := ev.Prop("RECURRENCE-ID"); ok {
		note(p, "changed occurrence of a recurring event (RECURRENCE-ID); series are not expanded")
	}
	for _, n := range []string{"RRULE", "RDATE"} {
		if p, ok := ev.Prop(n); ok {
			note(p, fmt.Sprintf("recurring event (%s); not expanded into appointments", n))
			break
		}
	}
	dtstart, hasStart := ev.Prop("DTSTART")
	if hasStart && isDate(dtstart) {
		note(dtstart, "all-day event (VALUE=DATE)")
	}
	idProp, patientID := text(m.p.PatientIDProperty)
	if patientID == "" {
		p := idProp
		if p.Name == "" {
			p = Property{Name: m.p.PatientIDProperty, Line: ev.Line}
		}
		note(p, "no patient ("+m.p.PatientIDProperty+")")
	}
	if len(reasons) > 0 {
		m.skip(line, field, "not an appointment: "+strings.Join(reasons, "; "))
		return
	}

	_, uid := text("UID")
	if uid == "" {
		m.reject(ev.Line, "UID", "event has no UID; not imported")
		return
	}
	status, ok := m.status(ev)
	if !ok {
		return
	}
	if !hasStart {
		m.reject(ev.Line, "DTSTART", "event has no DTSTART; not imported")
		return
	}
	start, err := m.dateTime(dtstart, time.Time{})
	if err != nil {
		m.reject(dtstart.Line, "DTSTART", "DTSTART is not a valid date-time: "+err.Error())
		return
	}
	end, endField, ok := m.end(ev, start)
	if !ok {
		return
	}

	a := schemas.Appointment{
		ExternalID:        uid,
		PatientExternalID: patientID,
		Start:             start,
		End:               end,
		DurationMinutes:   int(end.Sub(start) / time.Minute),
		Practitioner:      m.practitioner(ev),
		Status:            status,
		Line:              ev.Line,
	}
	if a.End.Before(a.Start) {
		m.warn(endField.Line, endField.Name, "end lies before start")
	} else if a.End.Sub(a.Start) > implausible {
		m.warn(endField.Line, endField.Name, fmt.Sprintf("implausible duration: %d min (more than 12 hours); check the end", a.DurationMinutes))
	}
	_, a.Location = text("LOCATION")
	summary, _ := ev.Prop("SUMMARY")
	a.Kind, _ = splitSummary(summary.Text())

	m.patient(ev, patientID, idProp)
	seq := 0
	if p, ok := ev.Prop("SEQUENCE"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(p.Value)); err == nil {
			seq = n
		}
	}
	if i, dup := m.appointments[uid]; dup {
		old := m.b.Appointments[i]
		if seq > m.seqs[i] {
			m.skip(old.Line, "UID", fmt.Sprintf("older version (SEQUENCE %d) of the event at line %d; that one is used", m.seqs[i], ev.Line))
			m.b.Appointments[i], m.seqs[i] = a, seq
		} else {
			m.skip(ev.Line, "UID", fmt.Sprintf("duplicate UID; the event at line %d (SEQUENCE %d) is used", old.Line, m.seqs[i]))
		}
		return
	}
	m.appointments[uid] = len(m.b.Appointments)
	m.b.Appointments = append(m.b.Appointments, a)
	m.seqs = append(m.seqs, seq)
}

// status maps STATUS. CONFIRMED means the calendar entry is definite, not
// that the patient confirmed: that only a patient reply can set.
func (m *mapper) status(ev Component) (schemas.AppointmentStatus, bool) {
	p, _ := ev.Prop("STATUS")
	v := strings.ToUpper(strings.TrimSpace(p.Value))
	var s schemas.AppointmentStatus
	switch v {
	case "", "CONFIRMED":
		s = schemas.StatusBooked
	case "CANCELLED":
		s = schemas.StatusCancelled
	case "TENTATIVE":
		s = schemas.StatusBooked
		m.warn(p.Line, "STATUS", "tentative event (STATUS:TENTATIVE) imported as booked")
	default:
		m.reject(p.Line, "STATUS", "unknown event status "+consentdecl.Quote(p.Value)+"; not imported")
		return "", false
	}
	if m.cal.cancel {
		s = schemas.StatusCancelled
	}
	return s, true
}

// end reads DTEND, or DURATION, or takes the start (RFC 5545 §3.6.1).
func (m *mapper) end(ev Component, start time.Time) (time.Time, Property, bool) {
	dtend, hasEnd := ev.Prop("DTEND")
	dur, hasDur := ev.Prop("DURATION")
	switch {
	case hasEnd:
		if hasDur {
			m.warn(dur.Line, "DURATION", "event has both DTEND and DURATION; DTEND used")
		}
		if isDate(dtend) {
			m.reject(dtend.Line, "DTEND", "DTEND is a date but DTSTART a date-time; not imported")
			return time.Time{}, dtend, false
		}
		end, err := m.dateTime(dtend, start)
		if err != nil {
			m.reject(dtend.Line, "DTEND", "DTEND is not a valid date-time: "+err.Error())
			return time.Time{}, dtend, false
		}
		return end, dtend, true
	case hasDur:
		end, err := addDuration(start, strings.TrimSpace(dur.Value))
		if err != nil {
			m.reject(dur.Line, "DURATION", "DURATION is not a valid duration: "+err.Error())
			return time.Time{}, dur, false
		}
		return end, dur, true
	}
	m.warn(ev.Line, "DTEND", "event has neither DTEND nor DURATION; end set to start")
	return start, Property{Name: "DTEND", Line: ev.Line}, true
}

// practitioner is the event's ORGANIZER by name, else the calendar's name:
// feeds are published per practitioner, but an event's organizer is the
// more specific statement when the tool writes one.
func (m *mapper) practitioner(ev Component) string {
	if p, ok := ev.Prop("ORGANIZER"); ok {
		if cn := strings.TrimSpace(p.Param("CN")); cn != "" {
			return cn
		}
	}
	return m.cal.name
}

// patient imports the event's patient, once per patient number.
func (m *mapper) patient(ev Component, id string, idProp Property) {
	pat := schemas.Patient{ExternalID: id, Phones: []schemas.Phone{}, Line: ev.Line}
	desc, _ := ev.Prop("DESCRIPTION")
	summary, _ := ev.Prop("SUMMARY")
	fromDesc, okDesc := nameFromDescription(desc.Text())
	_, fromSummary := splitSummary(summary.Text())
	fs, gs, okSummary := splitName(fromSummary)
	switch {
	case okDesc:
		pat.FamilyName, pat.GivenName = fromDesc[0], fromDesc[1]
		if okSummary && (fs != pat.FamilyName || gs != pat.GivenName) {
			m.warn(summary.Line, "SUMMARY", "patient name in SUMMARY differs from the DESCRIPTION line \"Patient:\"; DESCRIPTION used")
		}
	case okSummary:
		pat.FamilyName, pat.GivenName = fs, gs
	default:
		m.warn(ev.Line, "DESCRIPTION", "no patient name (DESCRIPTION line \"Patient:\" or SUMMARY after \" – \"); imported without a name")
	}
	for _, mp := range ev.Props(m.p.MobileProperty) {
		phones, err := phone.ParseCell(mp.Text())
		pat.Phones = phone.Merge(pat.Phones, phones...)
		if err != nil {
			m.warn(mp.Line, mp.Name, phoneProblem(err))
		}
	}
	if i, seen := m.patients[id]; seen {
		old := &m.b.Patients[i]
		old.Phones = phone.Merge(old.Phones, pat.Phones...)
		if old.FamilyName != pat.FamilyName || old.GivenName != pat.GivenName {
			m.warn(idProp.Line, idProp.Name, "patient appears again with a different name; the first event's name is kept")
		}
		return
	}
	m.patients[id] = len(m.b.Patients)
	m.b.Patients = append(m.b.Patients, pat)
}

// nameFromDescription finds the line "Patient: <Nachname>, <Vorname>".
// Only that line is read; the rest of DESCRIPTION may be clinical.
func nameFromDescription(desc string) ([2]string, bool) {
	for _, l := range strings.Split(desc, "\n") {
		l = strings.TrimSpace(strings.TrimSuffix(l, "\r"))
		const key = "patient:"
		if len(l) < len(key) || !strings.EqualFold(l[:len(key)], key) {
			continue
		}
		if f, g, ok := splitName(l[len(key):]); ok {
			return [2]string{f, g}, true
		}
	}
	return [2]string{}, false
}

// summarySeparators split "<Leistung> – <Nachname>, <Vorname>".
var summarySeparators = []string{" – ", " — ", " - "}

// splitSummary returns the kind (Leistung) and the name part of SUMMARY;
// without a separator there is neither.
func splitSummary(s string) (kind, name string) {
	s = strings.TrimSpace(s)
	for _, sep := range summarySeparators {
		if i := strings.Index(s, sep); i >= 0 {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(sep):])
		}
	}
	return "", ""
}

// splitName reads "Nachname, Vorname" at the first comma; a name without a
// comma is a family name only.
func splitName(s string) (family, given string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", false
	}
	family, given, _ = strings.Cut(s, ",")
	family, given = strings.TrimSpace(family), strings.TrimSpace(given)
	return family, given, family != "" || given != ""
}

// phoneProblem names why a number is unusable without repeating the number.
func phoneProblem(err error) string {
	if errors.Is(err, phone.ErrAmbiguous) {
		return "phone number starts with a country code but has no + or 00; not used"
	}
	return "not a valid phone number; not used"
}

// isDate tells a DATE value (all-day) from a DATE-TIME.
func isDate(p Property) bool {
	if strings.EqualFold(p.Param("VALUE"), "DATE") {
		return true
	}
	v := strings.TrimSpace(p.Value)
	return len(v) == 8 && allDigits(v)
}

// dateTime reads a DATE-TIME (RFC 5545 §3.3.5) in one of its three forms:
// UTC ("Z"), with a TZID, or floating (practice-local). Wall-clock forms
// follow the daylight-saving rules of package wallclock; its notes become
// warnings. The instant is returned in the practice time zone.
//
// notBefore is the start when p is an end: an end in the autumn double
// hour whose first occurrence lies before the start (DTSTART 02:30,
// DTEND 02:00) means the second occurrence.
func (m *mapper) dateTime(p Property, notBefore time.Time) (time.Time, error) {
	if v := p.Param("VALUE"); v != "" && !strings.EqualFold(v, "DATE-TIME") {
		return time.Time{}, fmt.Errorf("VALUE=%s is not a date-time", clip(v))
	}
	v := strings.TrimSpace(p.Value)
	utc := strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z")
	if utc {
		v = v[:len(v)-1]
	}
	if len(v) != 15 || (v[8] != 'T' && v[8] != 't') || !allDigits(v[:8]) || !allDigits(v[9:]) {
		return time.Time{}, errors.New("expected YYYYMMDDTHHMMSS[Z]")
	}
	n := func(s string) int { i, _ := strconv.Atoi(s); return i }
	y, mo, d := n(v[0:4]), n(v[4:6]), n(v[6:8])
	h, mi, s := n(v[9:11]), n(v[11:13]), n(v[13:15])
	if utc {
		if err := wallclock.Date(y, mo, d); err != nil {
			return time.Time{}, err
		}
		if h > 23 || mi > 59 || s > 59 {
			return time.Time{}, fmt.Errorf("time %02d:%02d:%02d does not exist", h, mi, s)
		}
		if p.Param("TZID") != "" {
			m.warn(p.Line, p.Name, "UTC time with a TZID; the TZID is ignored")
		}
		at := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).In(m.loc)
		return at, checkYear(at)
	}
	zone := m.loc
	if tzid := p.Param("TZID"); tzid != "" {
		zone = m.zone(tzid, p)
	}
	at, note, err := wallclock.Local(y, mo, d, h, mi, s, zone)
	if err != nil {
		return time.Time{}, err
	}
	if err := checkYear(at); err != nil {
		return time.Time{}, err
	}
	if note == wallclock.NoteAmbiguous && !notBefore.IsZero() && at.Before(notBefore) {
		// time.Date picks the second occurrence of a doubled hour.
		if second := time.Date(y, time.Month(mo), d, h, mi, s, 0, zone); !second.Before(notBefore) {
			m.warn(p.Line, p.Name, "local time occurs twice (daylight-saving change); the second occurrence was taken because the first lies before the start")
			return second.In(m.loc), nil
		}
	}
	if note != "" {
		m.warn(p.Line, p.Name, string(note))
	}
	return at.In(m.loc), nil
}

// windowsZones maps the Windows names Outlook and Exchange write as TZID
// to IANA names, for the zones a German practice meets.
var windowsZones = map[string]string{
	"W. Europe Standard Time":        "Europe/Berlin",
	"Central Europe Standard Time":   "Europe/Budapest",
	"Central European Standard Time": "Europe/Warsaw",
	"Romance Standard Time":          "Europe/Paris",
	"GMT Standard Time":              "Europe/London",
	"Greenwich Standard Time":        "Atlantic/Reykjavik",
	"UTC":                            "UTC",
	"Coordinated Universal Time":     "UTC",
}

// zone resolves a TZID: as an IANA name (also inside a vendor prefix such
// as "/mozilla.org/20050126_1/Europe/Berlin"), as a Windows name, through
// the VTIMEZONE's X-LIC-LOCATION, and finally as the practice time zone
// with a warning. The answer is kept per calendar.
func (m *mapper) zone(tzid string, p Property) *time.Location {
	if z, ok := m.zones[tzid]; ok {
		return z
	}
	z := resolveZone(tzid)
	if z == nil {
		if tz, ok := m.cal.timezones[tzid]; ok {
			if lic, ok := tz.Prop("X-LIC-LOCATION"); ok {
				z = resolveZone(strings.TrimSpace(lic.Value))
			}
		}
	}
	if z == nil {
		z = m.loc
		m.warn(p.Line, p.Name, "time zone "+consentdecl.Quote(tzid)+" is not known; read as the practice time zone")
	}
	m.zones[tzid] = z
	return z
}

func resolveZone(tzid string) *time.Location {
	tzid = strings.TrimSpace(tzid)
	if w, ok := windowsZones[tzid]; ok {
		tzid = w
	}
	cands := []string{tzid}
	if segs := strings.Split(strings.Trim(tzid, "/"), "/"); len(segs) > 1 {
		for i := range segs {
			cands = append(cands, strings.Join(segs[i:], "/"))
		}
	}
	for _, c := range cands {
		if l := loadZone(c); l != nil {
			return l
		}
	}
	return nil
}

// loadZone loads an IANA zone by name. "" and "Local" are refused: they
// would silently mean UTC or the server's zone.
func loadZone(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, "\\ \x00") {
		return nil
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return nil
		}
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return l
}

// addDuration adds an RFC 5545 dur-value (§3.3.6), e.g. "PT45M", "P1DT2H",
// "P1W", "-PT5M". Days and weeks are calendar days in the practice zone.
func addDuration(start time.Time, v string) (time.Time, error) {
	bad := errors.New("expected e.g. PT45M")
	sign := 1
	switch {
	case strings.HasPrefix(v, "-"):
		sign, v = -1, v[1:]
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	}
	if !strings.HasPrefix(strings.ToUpper(v), "P") || len(v) < 3 {
		return time.Time{}, bad
	}
	v = strings.ToUpper(v[1:])
	days := 0
	var clock time.Duration
	inTime := false
	num := ""
	seen := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
			if len(num) > 6 {
				return time.Time{}, bad
			}
		case c == 'T':
			if inTime || num != "" {
				return time.Time{}, bad
			}
			inTime = true
		default:
			if num == "" {
				return time.Time{}, bad
			}
			n, _ := strconv.Atoi(num)
			num = ""
			seen = true
			switch {
			case c == 'W' && !inTime:
				days += 7 * n
			case c == 'D' && !inTime:
				days += n
			case c == 'H' && inTime:
				clock += time.Duration(n) * time.Hour
			case c == 'M' && inTime:
				clock += time.Duration(n) * time.Minute
			case c == 'S' && inTime:
				clock += time.Duration(n) * time.Second
			default:
				return time.Time{}, bad
			}
		}
	}
	if num != "" || !seen {
		return time.Time{}, bad
	}
	if days > 366 || clock > 366*24*time.Hour {
		return time.Time{}, errors.New("longer than a year")
	}
	return start.AddDate(0, 0, sign*days).Add(time.Duration(sign) * clock), nil
}

// Instants outside these years are no appointment times; refusing them also
// keeps every time representable in JSON.
const minYear, maxYear = 1900, 2199

func checkYear(t time.Time) error {
	if y := t.Year(); y < minYear || y > maxYear {
		return fmt.Errorf("year %d is out of range (%d–%d)", y, minYear, maxYear)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
