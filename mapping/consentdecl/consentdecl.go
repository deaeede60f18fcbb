// Package consentdecl holds the part of consent mapping that every form
// format shares: which purposes a consent text version covers, which
// answers mean yes or no, and the rules that turn a form's answers into
// consent events. The formats (GDT, FHIR) only find the answers; what they
// mean is declared here once, so GDT and FHIR cannot drift apart.
package consentdecl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
)

// DefaultTextVersion is the consent text the practice's forms currently
// show.
const DefaultTextVersion = "EW-2026-11"

// Texts declares, per consent text version, the purposes its wording
// covers. A patient can only have agreed to what the text they saw says,
// so a grant is only ever as wide as the text version it names.
type Texts map[string][]schemas.Purpose

// DefaultTexts returns the practice's declared consent texts. A fresh map
// is returned on every call so no caller can change another's profile.
func DefaultTexts() Texts {
	return Texts{
		// EW-2026-11 asks for reminders and changes only; recall is not in
		// its wording, so it must not be in the grant.
		DefaultTextVersion: {schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange},
	}
}

// Purposes returns a copy of the purposes covered by version.
func (t Texts) Purposes(version string) ([]schemas.Purpose, bool) {
	ps, ok := t[version]
	if !ok {
		return nil, false
	}
	return append([]schemas.Purpose(nil), ps...), true
}

// Validate refuses declarations that could grant a purpose outside the
// closed list, or a text that grants nothing.
func (t Texts) Validate() error {
	versions := make([]string, 0, len(t))
	for v := range t {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		if strings.TrimSpace(v) == "" {
			return errors.New("consent text version must not be empty")
		}
		if len(t[v]) == 0 {
			return fmt.Errorf("consent text %q declares no purposes", v)
		}
		for _, p := range t[v] {
			if _, err := schemas.ParsePurpose(string(p)); err != nil {
				return fmt.Errorf("consent text %q: %w", v, err)
			}
		}
	}
	return nil
}

// Words are the answers a form writes for yes and no. They are compared
// trimmed and without regard to case.
type Words struct {
	Yes []string
	No  []string
}

// DefaultWords are the answers German forms and devices write.
func DefaultWords() Words {
	return Words{
		Yes: []string{"ja", "yes", "1", "true"},
		No:  []string{"nein", "no", "0", "false"},
	}
}

// Read reports whether s means yes (granted=true) or no (granted=false);
// ok is false when s is neither, because guessing consent is not allowed.
func (w Words) Read(s string) (granted, ok bool) {
	s = strings.TrimSpace(s)
	for _, y := range w.Yes {
		if strings.EqualFold(s, strings.TrimSpace(y)) {
			return true, true
		}
	}
	for _, n := range w.No {
		if strings.EqualFold(s, strings.TrimSpace(n)) {
			return false, true
		}
	}
	return false, false
}

// Validate refuses a word that means both yes and no.
func (w Words) Validate() error {
	for _, y := range w.Yes {
		for _, n := range w.No {
			if strings.EqualFold(strings.TrimSpace(y), strings.TrimSpace(n)) {
				return fmt.Errorf("answer %q is declared as both yes and no", y)
			}
		}
	}
	return nil
}

// ValidChannel tells whether c is a channel consent can be given for.
func ValidChannel(c schemas.Channel) bool {
	return c == schemas.ChannelWhatsApp || c == schemas.ChannelSMS
}

// Answer is one consent question answered on one form.
type Answer struct {
	Channel schemas.Channel
	// Granted is true for yes, false for an explicit no.
	Granted bool
	// Line and Field locate the answer in the source for problems.
	Line  int
	Field string
	// Evidence names the file and the place in it that proves the answer.
	Evidence string
}

// Form is what one filled-in form says about consent.
type Form struct {
	PatientExternalID string
	Source            schemas.ConsentSource
	// TextVersion is the consent text the form showed; empty when the form
	// names none.
	TextVersion string
	// TextLine and TextField locate the text version, for problems.
	TextLine  int
	TextField string
	// OccurredAt is when the form was filled in; zero when unknown.
	OccurredAt time.Time
	Answers    []Answer
}

// Events turns a form into consent events. Problems are warnings: the file
// still imports, but an answer that cannot be proven does not become
// consent.
//
// The rules:
//   - A grant needs a declared text version; otherwise nobody can say what
//     was agreed to, so no event and a warning.
//   - An explicit "no" is recorded as withdrawn. With a declared text it
//     covers that text's purposes; without one it covers every purpose,
//     because a refusal can only make sending rarer, never wrongly allow it.
//   - Without a time nothing is recorded: an undated event cannot be
//     ordered against other grants and withdrawals of the same patient.
//   - A channel answered twice with different answers records nothing for
//     that channel; the same answer twice records the first one.
func (t Texts) Events(f Form) ([]schemas.ConsentEvent, []schemas.Problem) {
	if len(f.Answers) == 0 {
		return nil, nil
	}
	var probs []schemas.Problem
	first := f.Answers[0]
	if f.OccurredAt.IsZero() {
		return nil, []schemas.Problem{{Line: first.Line, Field: first.Field,
			Reason: "consent answers without a date and time of the form; no consent event recorded"}}
	}
	purposes, known := t.Purposes(f.TextVersion)
	switch {
	case f.TextVersion == "":
		probs = append(probs, schemas.Problem{Line: first.Line, Field: first.Field,
			Reason: "consent answers without a consent text version; grants are not recorded, refusals cover every purpose"})
	case !known:
		probs = append(probs, schemas.Problem{Line: f.TextLine, Field: f.TextField,
			Reason: fmt.Sprintf("consent text version %s is not declared in the profile; grants are not recorded, refusals cover every purpose", Quote(f.TextVersion))})
	}

	// Settle each channel before emitting anything, so a contradiction
	// found late still suppresses the channel's first answer.
	type settled struct {
		a        Answer
		conflict bool
	}
	byChannel := map[schemas.Channel]*settled{}
	var order []schemas.Channel
	for _, a := range f.Answers {
		s, seen := byChannel[a.Channel]
		if !seen {
			byChannel[a.Channel] = &settled{a: a}
			order = append(order, a.Channel)
			continue
		}
		if s.a.Granted != a.Granted {
			s.conflict = true
			probs = append(probs, schemas.Problem{Line: a.Line, Field: a.Field,
				Reason: fmt.Sprintf("%s consent answered both yes and no on the same form; nothing recorded for %s", a.Channel, a.Channel)})
		} else {
			probs = append(probs, schemas.Problem{Line: a.Line, Field: a.Field,
				Reason: fmt.Sprintf("%s consent answered twice; the first answer is used", a.Channel)})
		}
	}

	var events []schemas.ConsentEvent
	for _, ch := range order {
		s := byChannel[ch]
		if s.conflict {
			continue
		}
		ev := schemas.ConsentEvent{
			PatientExternalID: f.PatientExternalID,
			Channel:           ch,
			Source:            f.Source,
			OccurredAt:        f.OccurredAt,
			TextVersion:       f.TextVersion,
			Evidence:          s.a.Evidence,
			Line:              s.a.Line,
		}
		switch {
		case s.a.Granted && known:
			ev.Action = schemas.ConsentGranted
			ev.Purposes = purposes
		case s.a.Granted:
			continue // warned above: consent to an unknown text is not proven
		case known:
			ev.Action = schemas.ConsentWithdrawn
			ev.Purposes = purposes
		default:
			ev.Action = schemas.ConsentWithdrawn
			ev.Purposes = schemas.Purposes
		}
		// Copy per event: events must not share a backing array with each
		// other, or a later edit of one would change the other.
		ev.Purposes = append([]schemas.Purpose(nil), ev.Purposes...)
		events = append(events, ev)
	}
	return events, probs
}

// Quote renders a code from a file (a text version, a record type) for a
// problem message: quoted, and cut short so a wrong field holding free text
// cannot carry that text into a log.
func Quote(s string) string {
	const maxRunes = 24
	r := []rune(s)
	if len(r) > maxRunes {
		return fmt.Sprintf("%q…", string(r[:maxRunes]))
	}
	return fmt.Sprintf("%q", s)
}
