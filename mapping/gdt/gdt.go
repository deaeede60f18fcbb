// Package gdt reads GDT 2.1/3.0 records (Gerätedatentransfer) from devices
// and anamnesis apps: patient master data and the consent answers an
// anamnesis app writes back as test blocks (8410/8411/8420).
//
// Parsing is pure: bytes in, a schemas.Batch out. Which test blocks are
// consent, and what their text versions cover, is declared in a Profile, not
// in code, because every anamnesis app names its blocks differently.
//
// Clinical content (6220/6227/6228 result text, measurements) is decoded by
// Decode but never copied into the Batch, never logged and never put into a
// problem message.
package gdt

import (
	"crypto/sha256"
	"encoding/hex"
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
const Format = "gdt"

// ConsentRule declares one test block (8410 test ident) as the answer to a
// consent question for one channel.
type ConsentRule struct {
	Test    string
	Channel schemas.Channel
}

// Profile declares how an anamnesis app writes consent into GDT.
type Profile struct {
	Name    string
	Consent []ConsentRule
	// TextVersionTest is the test ident whose result (8420) names the
	// consent text version the patient saw.
	TextVersionTest string
	// TextPurposes declares what each consent text version covers.
	TextPurposes consentdecl.Texts
	// Yes and No are the results (8420) that mean yes and no.
	Yes []string
	No  []string
}

// DefaultProfile is the profile of the practice's anamnesis app.
func DefaultProfile() Profile {
	w := consentdecl.DefaultWords()
	return Profile{
		Name: "default",
		Consent: []ConsentRule{
			{Test: "EINW_WA", Channel: schemas.ChannelWhatsApp},
			{Test: "EINW_SMS", Channel: schemas.ChannelSMS},
		},
		TextVersionTest: "EINW_TEXT",
		TextPurposes:    consentdecl.DefaultTexts(),
		Yes:             w.Yes,
		No:              w.No,
	}
}

// Validate refuses a profile that could record consent wrongly. It is an
// error rather than a warning because every file read with it would be
// affected.
func (p Profile) Validate() error {
	seen := map[string]bool{}
	for _, r := range p.Consent {
		t := strings.ToUpper(strings.TrimSpace(r.Test))
		if t == "" {
			return errors.New("gdt profile: consent rule without a test ident")
		}
		if seen[t] {
			return fmt.Errorf("gdt profile: test %q declared twice", r.Test)
		}
		seen[t] = true
		if !consentdecl.ValidChannel(r.Channel) {
			return fmt.Errorf("gdt profile: test %q: unknown channel %q", r.Test, r.Channel)
		}
	}
	if len(p.Consent) > 0 {
		tv := strings.ToUpper(strings.TrimSpace(p.TextVersionTest))
		if tv == "" {
			return errors.New("gdt profile: consent rules need a text version test")
		}
		if seen[tv] {
			return fmt.Errorf("gdt profile: test %q is both a consent answer and the text version", p.TextVersionTest)
		}
	}
	if err := p.TextPurposes.Validate(); err != nil {
		return fmt.Errorf("gdt profile: %w", err)
	}
	if err := p.words().Validate(); err != nil {
		return fmt.Errorf("gdt profile: %w", err)
	}
	return nil
}

func (p Profile) words() consentdecl.Words { return consentdecl.Words{Yes: p.Yes, No: p.No} }

func (p Profile) channelOf(test string) (schemas.Channel, bool) {
	for _, r := range p.Consent {
		if strings.EqualFold(strings.TrimSpace(r.Test), test) {
			return r.Channel, true
		}
	}
	return "", false
}

// Record types this package imports. 6301 is master data (PMS → device),
// 6310/6311 are examination results (device → PMS); only results can carry
// a patient's answers, so only they yield consent.
var (
	readTypes    = map[string]bool{"6301": true, "6310": true, "6311": true}
	consentTypes = map[string]bool{"6310": true, "6311": true}
)

// Parse maps a GDT file to a Batch. name is the file name, used only in
// errors. loc is the practice time zone that 6200/6201 are read in. The
// error is for file-level problems (not GDT, empty, binary) and for an
// invalid profile; everything inside a file is a Problem in the Batch.
func Parse(data []byte, name string, p Profile, loc *time.Location) (*schemas.Batch, error) {
	if loc == nil {
		return nil, fmt.Errorf("gdt: %s: no practice time zone given", name)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	recs, probs, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	m := mapper{
		p:    p,
		loc:  loc,
		hash: "sha256:" + hex.EncodeToString(sum[:]),
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
		patients: map[string]int{},
	}
	if m.b.Warnings == nil {
		m.b.Warnings = []schemas.Problem{}
	}
	for _, rec := range recs {
		m.record(rec)
	}
	sortProblems(m.b.Warnings)
	return m.b, nil
}

type mapper struct {
	p        Profile
	loc      *time.Location
	hash     string
	b        *schemas.Batch
	patients map[string]int // external id → index in b.Patients
}

func (m *mapper) warn(line int, field, reason string) {
	m.b.Warnings = append(m.b.Warnings, schemas.Problem{Line: line, Field: field, Reason: reason})
}

func (m *mapper) record(rec Record) {
	m.b.Rows++
	if !readTypes[rec.Type] {
		m.b.Skipped = append(m.b.Skipped, schemas.Problem{Line: rec.Line, Field: "8000",
			Reason: fmt.Sprintf("record type %s is not read (only 6301, 6310, 6311)", consentdecl.Quote(rec.Type))})
		return
	}
	id, ok := m.patient(rec)
	if !ok {
		return
	}
	at, needed := m.examTime(rec)
	m.consent(rec, id, at, needed)
}

// patient imports the record's patient and returns the external id.
func (m *mapper) patient(rec Record) (string, bool) {
	get := func(id string) (Field, string) {
		f, _ := rec.First(id)
		return f, strings.TrimSpace(f.Value)
	}
	_, id := get("3000")
	if id == "" {
		m.b.Rejected = append(m.b.Rejected, schemas.Problem{Line: rec.Line, Field: "3000",
			Reason: "record has no patient id (3000); not imported"})
		return "", false
	}
	pat := schemas.Patient{ExternalID: id, Phones: []schemas.Phone{}, Line: rec.Line}
	_, pat.FamilyName = get("3101")
	_, pat.GivenName = get("3102")
	if f, v := get("3103"); v != "" {
		if d, ok := gdtDate(v); ok {
			pat.BirthDate = d.iso()
		} else {
			m.warn(f.Line, "3103", "birth date is not a valid date (TTMMJJJJ); left empty")
		}
	}
	if f, v := get("3110"); v != "" {
		sex, ok := sexOf(v)
		if !ok {
			m.warn(f.Line, "3110", fmt.Sprintf("unknown sex code %s; left empty", consentdecl.Quote(v)))
		}
		pat.Sex = sex
	}
	// 3618 is the mobile field of GDT 3.x, 3626 the phone field; the kind
	// still comes from the number, since practices type mobiles anywhere.
	for _, f := range rec.Fields {
		if f.ID != "3618" && f.ID != "3626" {
			continue
		}
		phones, err := phone.ParseCell(f.Value)
		pat.Phones = phone.Merge(pat.Phones, phones...)
		if err != nil {
			m.warn(f.Line, f.ID, phoneProblem(err))
		}
	}

	if i, seen := m.patients[id]; seen {
		// The same patient in a second record of the file: keep the first
		// record's master data, add numbers it did not have.
		old := &m.b.Patients[i]
		old.Phones = phone.Merge(old.Phones, pat.Phones...)
		if old.FamilyName != pat.FamilyName || old.GivenName != pat.GivenName || old.BirthDate != pat.BirthDate {
			m.warn(rec.Line, "3000", "patient appears again with different master data; the first record's data is kept")
		}
		return id, true
	}
	m.patients[id] = len(m.b.Patients)
	m.b.Patients = append(m.b.Patients, pat)
	return id, true
}

// phoneProblem names why a number is unusable without repeating the number.
func phoneProblem(err error) string {
	if errors.Is(err, phone.ErrAmbiguous) {
		return "phone number starts with a country code but has no + or 00; not used"
	}
	return "not a valid phone number; not used"
}

func sexOf(v string) (string, bool) {
	switch strings.ToUpper(v) {
	case "1", "M":
		return "M", true
	case "2", "W", "F":
		return "F", true
	case "D", "X":
		// GDT 3.x: D divers, X unbestimmt; the canonical model has one
		// value for both.
		return "X", true
	case "U":
		return "", true
	}
	return "", false
}

type date struct{ y, m, d int }

func (d date) iso() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }

// gdtDate reads TTMMJJJJ, refusing impossible dates instead of rolling them
// over into the next month.
func gdtDate(v string) (date, bool) {
	if len(v) != 8 || !allDigits([]byte(v)) {
		return date{}, false
	}
	d, _ := strconv.Atoi(v[0:2])
	mo, _ := strconv.Atoi(v[2:4])
	y, _ := strconv.Atoi(v[4:8])
	if wallclock.Date(y, mo, d) != nil {
		return date{}, false
	}
	return date{y, mo, d}, true
}

// examTime reads 6200/6201 as practice-local time. The problems are only
// worth reporting when something needs the time (consent), except a broken
// date, which is always reported.
func (m *mapper) examTime(rec Record) (t time.Time, needed []schemas.Problem) {
	df, ok := rec.First("6200")
	if !ok {
		return time.Time{}, nil
	}
	d, ok := gdtDate(strings.TrimSpace(df.Value))
	if !ok {
		m.warn(df.Line, "6200", "examination date is not a valid date (TTMMJJJJ)")
		return time.Time{}, nil
	}
	tf, ok := rec.First("6201")
	if !ok {
		// A date alone cannot order a consent answer against another one
		// given the same day, so it is not made up to midnight.
		return time.Time{}, []schemas.Problem{{Line: df.Line, Field: "6201",
			Reason: "examination time (6201) missing; consent cannot be dated"}}
	}
	v := strings.TrimSpace(tf.Value)
	var h, mi, s int
	switch {
	case len(v) == 6 && allDigits([]byte(v)):
		h, _ = strconv.Atoi(v[0:2])
		mi, _ = strconv.Atoi(v[2:4])
		s, _ = strconv.Atoi(v[4:6])
	case len(v) == 4 && allDigits([]byte(v)):
		h, _ = strconv.Atoi(v[0:2])
		mi, _ = strconv.Atoi(v[2:4])
	default:
		m.warn(tf.Line, "6201", "examination time is not a valid time (HHMMSS)")
		return time.Time{}, nil
	}
	at, note, err := wallclock.Local(d.y, d.m, d.d, h, mi, s, m.loc)
	if err != nil {
		m.warn(tf.Line, "6201", "examination time does not exist: "+err.Error())
		return time.Time{}, nil
	}
	if note != "" {
		m.warn(tf.Line, "6201", string(note))
	}
	return at, nil
}

// block is one test block: 8410 and the fields up to the next 8410.
type block struct {
	line       int
	test       string
	result     string
	resultLine int
	hasResult  bool
}

func blocks(rec Record) []block {
	var out []block
	cur := -1
	for _, f := range rec.Fields {
		switch f.ID {
		case "8410":
			out = append(out, block{line: f.Line, test: strings.TrimSpace(f.Value)})
			cur = len(out) - 1
		case "8420":
			if cur >= 0 && !out[cur].hasResult {
				out[cur].result = strings.TrimSpace(f.Value)
				out[cur].resultLine = f.Line
				out[cur].hasResult = true
			}
		case "8200", "8201", "8202":
			// A GDT 3.0 object boundary also ends a test block, so a result
			// in a later object is never read as this test's answer.
			cur = -1
		}
	}
	return out
}

// consent turns the record's declared consent blocks into events. at is the
// examination time; needed are the problems that only matter because
// consent has to be dated.
func (m *mapper) consent(rec Record, patientID string, at time.Time, needed []schemas.Problem) {
	bs := blocks(rec)
	form := consentdecl.Form{PatientExternalID: patientID, Source: schemas.SourceAnamnesisForm}
	textSeen := false
	words := m.p.words()
	for _, b := range bs {
		if strings.EqualFold(b.test, strings.TrimSpace(m.p.TextVersionTest)) && m.p.TextVersionTest != "" {
			switch {
			case !b.hasResult || b.result == "":
				m.warn(b.line, "8420", "consent text version block without a version (8420)")
			case textSeen && b.result != form.TextVersion:
				// Two different texts on one form: which one the answers
				// refer to cannot be told, so neither is trusted.
				m.warn(b.resultLine, "8420", "two different consent text versions in one record; neither is used")
				form.TextVersion = ""
			case !textSeen:
				form.TextVersion, form.TextLine, form.TextField = b.result, b.resultLine, "8420"
			}
			textSeen = true
			continue
		}
		ch, ok := m.p.channelOf(b.test)
		if !ok {
			continue // a measurement (blood pressure, …), not consent
		}
		if !consentTypes[rec.Type] {
			m.warn(b.line, "8410", fmt.Sprintf("consent block in record type %s ignored; only result records (6310, 6311) carry answers", rec.Type))
			continue
		}
		if !b.hasResult {
			m.warn(b.line, "8410", "consent block without a result (8420); nothing recorded")
			continue
		}
		granted, ok := words.Read(b.result)
		if !ok {
			m.warn(b.resultLine, "8420", "consent answer is neither a declared yes nor no; nothing recorded")
			continue
		}
		form.Answers = append(form.Answers, consentdecl.Answer{
			Channel:  ch,
			Granted:  granted,
			Line:     b.line,
			Field:    "8410",
			Evidence: fmt.Sprintf("%s#8410 %s (line %d)", m.hash, b.test, b.line),
		})
	}
	if len(form.Answers) == 0 {
		return
	}
	m.b.Warnings = append(m.b.Warnings, needed...)
	form.OccurredAt = at
	events, probs := m.p.TextPurposes.Events(form)
	m.b.Consents = append(m.b.Consents, events...)
	m.b.Warnings = append(m.b.Warnings, probs...)
}
