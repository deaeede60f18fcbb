// Package fhir reads FHIR R4 JSON: a QuestionnaireResponse from a digital
// anamnesis form (patient data and consent answers), and Appointment and
// Patient resources, alone or in a Bundle.
//
// Parsing is pure: bytes in, a schemas.Batch out. Which identifier system
// carries the practice's patient number and which form items are consent
// questions is declared in a Profile, because every PMS and form vendor
// chooses its own.
//
// Answers that are clinical (allergies, medication, comments) are never
// decoded into anything but the walk that looks for consent linkIds, and
// never appear in a problem message.
package fhir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/praxisbote/praxisbote/mapping/consentdecl"
	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/mapping/wallclock"
	"github.com/praxisbote/praxisbote/schemas"
)

// Format is the Batch.Format of every batch this package makes.
const Format = "fhir"

// DefaultPatientIDSystem is the identifier system of the practice's
// patient number (Pat.-Nr.).
const DefaultPatientIDSystem = "https://praxis-dr-beispiel.example/fhir/sid/pat-nr"

// File-level errors.
var (
	ErrEmpty   = errors.New("fhir: file is empty")
	ErrNotFHIR = errors.New("fhir: not a FHIR JSON resource")
)

// ConsentRule declares one questionnaire item (by linkId) as the answer to
// a consent question for one channel.
type ConsentRule struct {
	LinkID  string
	Channel schemas.Channel
}

// Profile declares how a source writes patients and consent into FHIR.
type Profile struct {
	Name string
	// PatientIDSystem is the identifier system whose value is the PMS
	// patient number. A Patient without it cannot be linked and is not
	// imported: taking "some" identifier could link the wrong person.
	PatientIDSystem string
	// AppointmentIDSystem, when set, is the identifier system of the
	// appointment id. When empty the identifier typed FILL (filler, the
	// scheduling system's own id) is used, then a sole identifier, then the
	// resource id.
	AppointmentIDSystem string
	Consent             []ConsentRule
	// TextVersionLinkID is the item whose answer names the consent text
	// version the patient saw.
	TextVersionLinkID string
	TextPurposes      consentdecl.Texts
	// Yes and No are read for valueString and valueCoding answers;
	// valueBoolean needs no words.
	Yes []string
	No  []string
}

// DefaultProfile is the profile of the practice's anamnesis form.
func DefaultProfile() Profile {
	w := consentdecl.DefaultWords()
	return Profile{
		Name:            "default",
		PatientIDSystem: DefaultPatientIDSystem,
		Consent: []ConsentRule{
			{LinkID: "consent-whatsapp", Channel: schemas.ChannelWhatsApp},
			{LinkID: "consent-sms", Channel: schemas.ChannelSMS},
		},
		TextVersionLinkID: "consent-text-version",
		TextPurposes:      consentdecl.DefaultTexts(),
		Yes:               w.Yes,
		No:                w.No,
	}
}

// Validate refuses a profile that could link or consent wrongly.
func (p Profile) Validate() error {
	if strings.TrimSpace(p.PatientIDSystem) == "" {
		return errors.New("fhir profile: no patient identifier system")
	}
	seen := map[string]bool{}
	for _, r := range p.Consent {
		if strings.TrimSpace(r.LinkID) == "" {
			return errors.New("fhir profile: consent rule without a linkId")
		}
		if seen[r.LinkID] {
			return fmt.Errorf("fhir profile: linkId %q declared twice", r.LinkID)
		}
		seen[r.LinkID] = true
		if !consentdecl.ValidChannel(r.Channel) {
			return fmt.Errorf("fhir profile: linkId %q: unknown channel %q", r.LinkID, r.Channel)
		}
	}
	if len(p.Consent) > 0 {
		if strings.TrimSpace(p.TextVersionLinkID) == "" {
			return errors.New("fhir profile: consent rules need a text version linkId")
		}
		if seen[p.TextVersionLinkID] {
			return fmt.Errorf("fhir profile: linkId %q is both a consent answer and the text version", p.TextVersionLinkID)
		}
	}
	if err := p.TextPurposes.Validate(); err != nil {
		return fmt.Errorf("fhir profile: %w", err)
	}
	if err := p.words().Validate(); err != nil {
		return fmt.Errorf("fhir profile: %w", err)
	}
	return nil
}

func (p Profile) words() consentdecl.Words { return consentdecl.Words{Yes: p.Yes, No: p.No} }

// node is one resource of the file, top level or contained.
type node struct {
	typ, id, fullURL string
	// path locates the resource for a person opening the file, FHIRPath
	// style: "Bundle.entry[3].resource", "QuestionnaireResponse.contained[0]".
	path      string
	raw       json.RawMessage
	contained []*node
	parent    *node
}

// Parse maps a FHIR R4 JSON file to a Batch. name is the file name, used
// only in errors. loc is the practice time zone: instants are given in it,
// and times written without an offset are read in it. The error is for
// files that are not a FHIR resource at all and for an invalid profile;
// everything inside a file is a Problem in the Batch.
func Parse(data []byte, name string, p Profile, loc *time.Location) (*schemas.Batch, error) {
	if loc == nil {
		return nil, fmt.Errorf("fhir: %s: no practice time zone given", name)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	m := &mapper{
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
			Warnings:     []schemas.Problem{},
			Skipped:      []schemas.Problem{},
		},
		patients:     map[*node]patientResult{},
		patientIndex: map[string]int{},
		appointments: map[string]bool{},
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	if !utf8.Valid(data) {
		// encoding/json silently turns invalid bytes into U+FFFD; say so.
		m.warn("", "file is not valid UTF-8 (FHIR JSON must be); invalid bytes replaced")
	}
	var top header
	if err := json.Unmarshal(data, &top); err != nil || top.ResourceType == "" {
		return nil, fmt.Errorf("%s: %w%s", name, ErrNotFHIR, jsonWhere(err))
	}
	if top.ResourceType == "Bundle" {
		m.bundle = true
		var bd bundle
		if err := json.Unmarshal(data, &bd); err != nil {
			return nil, fmt.Errorf("%s: %w: Bundle.entry is not a list of entries%s", name, ErrNotFHIR, jsonWhere(err))
		}
		for i, raw := range bd.Entry {
			path := fmt.Sprintf("Bundle.entry[%d]", i)
			m.b.Rows++
			var e bundleEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				m.reject(path, "entry is not valid FHIR JSON")
				continue
			}
			if len(e.Resource) == 0 || string(e.Resource) == "null" {
				m.skip(path, "entry without a resource")
				continue
			}
			if n := m.newNode(e.Resource, path+".resource", nil); n != nil {
				n.fullURL = strings.TrimSpace(e.FullURL)
				m.nodes = append(m.nodes, n)
			}
		}
	} else {
		m.b.Rows = 1
		if n := m.newNode(data, top.ResourceType, nil); n != nil {
			m.nodes = append(m.nodes, n)
		}
	}
	m.byURL, m.byTypeID = map[string]*node{}, map[string]*node{}
	for _, n := range m.nodes {
		// The first entry wins on a duplicate, as it would for a reader
		// going through the bundle in order.
		if _, dup := m.byURL[n.fullURL]; n.fullURL != "" && !dup {
			m.byURL[n.fullURL] = n
		}
		if _, dup := m.byTypeID[n.typ+"/"+n.id]; n.id != "" && !dup {
			m.byTypeID[n.typ+"/"+n.id] = n
		}
	}
	for _, n := range m.nodes {
		m.resource(n)
	}
	return m.b, nil
}

// jsonWhere names where JSON broke, by byte offset only: the text around it
// may be a patient's answer.
func jsonWhere(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf(" (invalid JSON at byte %d)", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf(" (wrong JSON type at byte %d)", te.Offset)
	}
	return ""
}

type patientResult struct {
	id     string
	ok     bool
	reason string
}

type mapper struct {
	p     Profile
	loc   *time.Location
	hash  string
	b     *schemas.Batch
	nodes []*node
	// patients memoises each Patient resource, so a patient referenced by
	// several appointments is imported (and warned about) once.
	patients     map[*node]patientResult
	patientIndex map[string]int // external id → index in b.Patients
	appointments map[string]bool
	bundle       bool
	byURL        map[string]*node // fullUrl → entry
	byTypeID     map[string]*node // "Type/id" → entry
}

func (m *mapper) warn(field, reason string) {
	m.b.Warnings = append(m.b.Warnings, schemas.Problem{Field: field, Reason: reason})
}

func (m *mapper) reject(field, reason string) {
	m.b.Rejected = append(m.b.Rejected, schemas.Problem{Field: field, Reason: reason})
}

func (m *mapper) skip(field, reason string) {
	m.b.Skipped = append(m.b.Skipped, schemas.Problem{Field: field, Reason: reason})
}

func (m *mapper) newNode(raw json.RawMessage, path string, parent *node) *node {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		m.reject(path, "resource is not valid FHIR JSON"+jsonWhere(err))
		return nil
	}
	if h.ResourceType == "" {
		m.reject(path, "resource has no resourceType")
		return nil
	}
	n := &node{typ: h.ResourceType, id: h.ID, path: path, raw: raw, parent: parent}
	for i, c := range h.Contained {
		if cn := m.newNode(c, fmt.Sprintf("%s.contained[%d]", path, i), n); cn != nil {
			n.contained = append(n.contained, cn)
		}
	}
	return n
}

// contextTypes are read only when an appointment refers to them, so they
// are neither imported nor reported as skipped on their own.
var contextTypes = map[string]bool{"Practitioner": true, "PractitionerRole": true, "Location": true}

func (m *mapper) resource(n *node) {
	switch {
	case n.typ == "Patient":
		m.patient(n)
	case n.typ == "Appointment":
		m.appointment(n)
	case n.typ == "QuestionnaireResponse":
		m.questionnaireResponse(n)
	case contextTypes[n.typ] && m.bundle:
	default:
		m.skip(n.path, "unsupported resource type "+n.typ)
	}
}

// resolve follows a reference inside the file. "#id" is a contained
// resource of the referring resource (or of its container); a reference
// equal to an entry's fullUrl is that entry; a relative "Type/id" is the
// entry with that type and id. An absolute URL only resolves through
// fullUrl: matching it by type and id could pick a different server's
// resource.
func (m *mapper) resolve(ref string, from *node) *node {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	if strings.HasPrefix(ref, "#") {
		container := from
		if from.parent != nil {
			container = from.parent
		}
		if ref == "#" {
			return container
		}
		for _, c := range container.contained {
			if c.id == ref[1:] {
				return c
			}
		}
		return nil
	}
	if n := m.byURL[ref]; n != nil {
		return n
	}
	if strings.Contains(ref, ":") {
		return nil
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil
	}
	return m.byTypeID[parts[0]+"/"+parts[1]]
}

// refersTo tells whether a reference names a resource of type typ, whether
// or not it resolves.
func refersTo(ref, typ string) bool {
	ref = strings.TrimSpace(ref)
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	return len(parts) >= 2 && parts[len(parts)-2] == typ
}

// patient imports a Patient resource once and returns its external id.
func (m *mapper) patient(n *node) patientResult {
	if r, done := m.patients[n]; done {
		return r
	}
	r := m.importPatient(n)
	m.patients[n] = r
	return r
}

func (m *mapper) importPatient(n *node) patientResult {
	var pr patientResource
	if err := json.Unmarshal(n.raw, &pr); err != nil {
		m.reject(n.path, "Patient is not valid FHIR JSON"+jsonWhere(err))
		return patientResult{reason: "patient not readable"}
	}
	id := ""
	for _, ident := range pr.Identifier {
		if ident.System != m.p.PatientIDSystem || strings.TrimSpace(ident.Value) == "" {
			continue
		}
		v := strings.TrimSpace(ident.Value)
		if id == "" {
			id = v
		} else if v != id {
			m.warn(n.path+".identifier", "Patient has two different identifiers with the profile's system; the first is used")
		}
	}
	if id == "" {
		m.reject(n.path+".identifier", "Patient has no identifier with system "+m.p.PatientIDSystem+"; not imported")
		return patientResult{reason: "no identifier with the profile's system"}
	}
	pat := schemas.Patient{ExternalID: id, Phones: []schemas.Phone{}}
	pat.FamilyName, pat.GivenName = pickName(pr.Name)
	if bd := strings.TrimSpace(pr.BirthDate); bd != "" {
		if d, ok := isoDate(bd); ok {
			pat.BirthDate = d
		} else {
			m.warn(n.path+".birthDate", "birth date is not a full date (YYYY-MM-DD); left empty")
		}
	}
	switch pr.Gender {
	case "male":
		pat.Sex = "M"
	case "female":
		pat.Sex = "F"
	case "other":
		pat.Sex = "X"
	}
	pat.Phones = m.phones(n, pr.Telecom)
	if (pr.DeceasedBoolean != nil && *pr.DeceasedBoolean) || pr.DeceasedDateTime != "" {
		// The canonical model has no field for it, and a reminder to a
		// deceased patient's number is a real harm; make it visible.
		m.warn(n.path+".deceased", "Patient is recorded as deceased; check before messaging")
	}

	if i, seen := m.patientIndex[id]; seen {
		old := &m.b.Patients[i]
		old.Phones = phone.Merge(old.Phones, pat.Phones...)
		if old.FamilyName != pat.FamilyName || old.GivenName != pat.GivenName || old.BirthDate != pat.BirthDate {
			m.warn(n.path, "Patient appears again with different master data; the first is kept")
		}
		return patientResult{id: id, ok: true}
	}
	m.patientIndex[id] = len(m.b.Patients)
	m.b.Patients = append(m.b.Patients, pat)
	return patientResult{id: id, ok: true}
}

// pickName chooses the name to address the patient by: a current name
// before one with an end date, then official before usual before unspecified
// before anything else; old and maiden names never. The first given name is
// the one a person is addressed by; middle names stay out.
func pickName(names []humanName) (family, given string) {
	best, bestScore := -1, 1<<30
	for i, n := range names {
		score := 0
		switch n.Use {
		case "old", "maiden":
			continue
		case "official":
		case "usual":
			score = 1
		case "":
			score = 2
		default:
			score = 3
		}
		if n.Period != nil && n.Period.End != "" {
			score += 10
		}
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return "", ""
	}
	n := names[best]
	family = strings.TrimSpace(n.Family)
	for _, g := range n.Given {
		if g = strings.TrimSpace(g); g != "" {
			given = g
			break
		}
	}
	return family, given
}

// phones reads the phone numbers in telecom order of rank (rank 1 first,
// unranked after, file order otherwise), so the first mobile is the
// preferred one. The kind comes from the number, not from "use".
func (m *mapper) phones(n *node, telecom []contactPoint) []schemas.Phone {
	idx := make([]int, len(telecom))
	for i := range idx {
		idx[i] = i
	}
	rank := func(i int) int {
		if telecom[i].Rank > 0 {
			return telecom[i].Rank
		}
		return 1 << 30
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank(idx[a]) < rank(idx[b]) })
	out := []schemas.Phone{}
	for _, i := range idx {
		cp := telecom[i]
		if cp.System != "phone" && cp.System != "sms" {
			continue // e-mail, fax, pager, url, other: not a messaging target
		}
		field := fmt.Sprintf("%s.telecom[%d]", n.path, i)
		if cp.Use == "old" || (cp.Period != nil && cp.Period.End != "") {
			m.warn(field, "phone number is no longer in use (use old or period ended); not used")
			continue
		}
		ps, err := phone.ParseCell(cp.Value)
		out = phone.Merge(out, ps...)
		if err != nil {
			m.warn(field, phoneProblem(err))
		}
	}
	return out
}

// phoneProblem names why a number is unusable without repeating it.
func phoneProblem(err error) string {
	if errors.Is(err, phone.ErrAmbiguous) {
		return "phone number starts with a country code but has no + or 00; not used"
	}
	return "not a valid phone number; not used"
}

func isoDate(s string) (string, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", false
	}
	// time.Parse already refuses 2027-02-31; wallclock.Date keeps the rule
	// in one place should the layout ever change.
	if wallclock.Date(t.Year(), int(t.Month()), t.Day()) != nil {
		return "", false
	}
	return s, true
}

// instant reads a FHIR instant/dateTime with time of day. One written
// without an offset is practice-local and read by the wall-clock rules.
func (m *mapper) instant(s, field string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(m.loc), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		at, note, err := wallclock.Local(t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), m.loc)
		if err != nil {
			return time.Time{}, err
		}
		m.warn(field, "time has no offset; read as practice-local time")
		if note != "" {
			m.warn(field, string(note))
		}
		return at, nil
	}
	return time.Time{}, errors.New("not a date-time with time of day")
}
