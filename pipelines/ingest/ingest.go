// Package ingest turns one exported file into canonical records in the
// store: it detects the format, maps through the right profile, and
// stores patients, appointments and consent events, reporting every row it
// could not take.
package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/mapping/fhir"
	"github.com/praxisbote/praxisbote/mapping/gdt"
	"github.com/praxisbote/praxisbote/mapping/hl7"
	"github.com/praxisbote/praxisbote/mapping/ical"
	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/mapping/tabular"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// Mapper picks the mapping for a file by its content.
type Mapper struct {
	// Loc is the practice time zone for local times.
	Loc *time.Location
	// Profiles are the tabular profiles to choose from.
	Profiles []tabular.Profile
	// Profile forces one tabular profile by name; empty picks by content.
	Profile string
	// GDT and FHIR declare where consent sits in anamnesis forms.
	GDT  gdt.Profile
	FHIR fhir.Profile
	ICal ical.Profile
	HL7  hl7.Profile
}

// NewMapper returns a mapper with the built-in profiles.
func NewMapper(loc *time.Location) Mapper {
	return Mapper{Loc: loc, Profiles: tabular.Profiles(), GDT: gdt.DefaultProfile(), FHIR: fhir.DefaultProfile(),
		ICal: ical.DefaultProfile(), HL7: hl7.DefaultProfile()}
}

var gdtStart = regexp.MustCompile(`^[0-9]{3}8000`)

// Format guesses a file's format from its first bytes, never its name.
func Format(data []byte) string {
	head := bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) > 0 && head[0] == '{':
		return "fhir"
	case gdtStart.Match(head):
		return "gdt"
	case bytes.HasPrefix(head, []byte("BEGIN:VCALENDAR")):
		return "ical"
	case bytes.HasPrefix(head, []byte("MSH")) && len(head) > 3:
		return "hl7"
	default:
		return "tabular"
	}
}

// Map maps one file without storing anything.
func (m Mapper) Map(data []byte, name string) (*schemas.Batch, error) {
	switch Format(data) {
	case "fhir":
		return fhir.Parse(data, name, m.FHIR, m.Loc)
	case "gdt":
		return gdt.Parse(data, name, m.GDT, m.Loc)
	case "ical":
		return ical.Parse(data, name, m.ICal, m.Loc)
	case "hl7":
		return hl7.Parse(data, name, m.HL7, m.Loc)
	}
	var p tabular.Profile
	if m.Profile != "" {
		var err error
		if p, err = m.pick(m.Profile); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		var err error
		if p, err = tabular.Detect(data, m.Profiles); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return tabular.Parse(data, name, p, m.Loc)
}

// Result is what storing a batch changed.
type Result struct {
	PatientsNew int
	Patients    int
	Changes     []store.AppointmentChange
	Consents    int
	// SnapshotCancelled counts appointments a snapshot no longer listed.
	SnapshotCancelled int
	// SnapshotSkipped says why a snapshot cancelled nothing.
	SnapshotSkipped string
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// Apply stores a mapped batch. It runs inside the caller's transaction so
// the events announcing the changes commit with them.
func Apply(ctx context.Context, q *sqlite.Q, practice, patientSource string, b *schemas.Batch, fileRef string, loc *time.Location) (Result, error) {
	var res Result
	refs := map[string]store.PatientRef{}
	for _, p := range b.Patients {
		ref, created, err := q.UpsertPatient(ctx, practice, patientSource, p)
		if err != nil {
			return res, fmt.Errorf("patient on line %d: %w", p.Line, err)
		}
		refs[p.ExternalID] = ref
		res.Patients++
		if created {
			res.PatientsNew++
		}
	}
	ref := func(ext string) (store.PatientRef, error) {
		if r, ok := refs[ext]; ok {
			return r, nil
		}
		r, err := q.FindPatient(ctx, practice, patientSource, ext)
		if err == nil {
			refs[ext] = r
		}
		return r, err
	}
	source := b.Format + ":" + b.Profile
	listed := map[string]bool{}
	var first, last time.Time
	for _, a := range b.Appointments {
		listed[a.ExternalID] = true
		if first.IsZero() || a.Start.Before(first) {
			first = a.Start
		}
		if a.Start.After(last) {
			last = a.Start
		}
		pr, err := ref(a.PatientExternalID)
		if err != nil {
			return res, fmt.Errorf("appointment on line %d: patient %s: %w", a.Line, a.PatientExternalID, err)
		}
		ch, err := q.UpsertAppointment(ctx, practice, pr, a, source, fileRef)
		if err != nil {
			return res, fmt.Errorf("appointment on line %d: %w", a.Line, err)
		}
		if ch.New || ch.Moved || ch.StatusChange {
			res.Changes = append(res.Changes, ch)
		}
	}
	if b.Snapshot && len(b.Appointments) > 0 {
		// A snapshot lists every appointment of the days it covers, so one
		// that is missing was cancelled in the PMS. A rejected row may be
		// the missing one, so a file with rejected rows cancels nothing.
		if len(b.Rejected) > 0 {
			res.SnapshotSkipped = fmt.Sprintf("snapshot not applied: %d rows rejected, a missing appointment may be among them", len(b.Rejected))
		} else {
			from := dayStart(first, loc)
			to := dayStart(last, loc).AddDate(0, 0, 1)
			gone, err := q.CancelMissing(ctx, practice, source, from, to, listed)
			if err != nil {
				return res, err
			}
			res.Changes = append(res.Changes, gone...)
			res.SnapshotCancelled = len(gone)
		}
	}
	for _, c := range b.Consents {
		var pid int64
		if c.PatientExternalID != "" {
			pr, err := ref(c.PatientExternalID)
			if err != nil {
				return res, fmt.Errorf("consent on line %d: patient %s: %w", c.Line, c.PatientExternalID, err)
			}
			pid = pr.ID
		}
		var idx string
		if c.Phone != "" {
			p, err := phone.Parse(c.Phone)
			if err != nil {
				return res, fmt.Errorf("consent on line %d: %w", c.Line, err)
			}
			idx = q.BlindIndex(p.E164)
		}
		_, added, err := q.AppendConsent(ctx, practice, pid, idx, c, "ingest:"+fileRef)
		if err != nil {
			return res, err
		}
		if added {
			res.Consents++
		}
	}
	return res, nil
}

// pick finds a profile by name among the mapper's profiles, or loads it
// from a YAML file when the name is a path.
func (m Mapper) pick(name string) (tabular.Profile, error) {
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		return loadProfileFile(name)
	}
	for _, p := range m.Profiles {
		if p.Name == name {
			return p, nil
		}
	}
	var names []string
	for _, p := range m.Profiles {
		names = append(names, p.Name)
	}
	return tabular.Profile{}, fmt.Errorf("no mapping profile named %q (known: %s; or give a .yaml file)", name, strings.Join(names, ", "))
}

func loadProfileFile(path string) (tabular.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return tabular.Profile{}, fmt.Errorf("profile: %w", err)
	}
	defer f.Close()
	p, err := tabular.LoadProfile(f)
	if err != nil {
		return p, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// LoadProfiles reads every *.yaml profile in dir, for a PMS the built-in
// profiles do not know. A broken profile is an error naming its file.
func LoadProfiles(dir string) ([]tabular.Profile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []tabular.Profile
	for _, n := range names {
		p, err := loadProfileFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
