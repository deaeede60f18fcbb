// Package poster makes the printable QR opt-in poster for the reception
// desk. A patient scans the QR code with the phone camera; it opens
// WhatsApp to the practice's number with the prefilled text
// "Anmelden <practice code>". Sending that message is the patient's consent;
// it is recorded elsewhere (the inbound pipeline matches the code), so the
// poster has to say plainly what the patient agrees to, that it is
// voluntary and how to withdraw, and which consent text version it shows.
package poster

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// OptInKeyword is the word the prefilled message starts with. The inbound
// pipeline accepts "Anmelden <code>" as the opt-in, so the two must agree.
const OptInKeyword = "Anmelden"

// Limits keep every field within what the one-page A4 layout can hold;
// a poster that silently overflows or wraps a code in two would be worse
// than an error at the desk.
const (
	maxNameRunes        = 80
	maxCodeLen          = 32
	maxTextVersionRunes = 40
	maxPurposes         = 4
	maxPurposeRunes     = 40
)

// Errors returned (wrapped) by Validate, so a caller can tell the user
// which field to fix.
var (
	ErrNoName         = errors.New("poster: practice name is empty")
	ErrNoNumber       = errors.New("poster: WhatsApp number is empty")
	ErrNumberNotE164  = errors.New("poster: WhatsApp number is not in E.164 form (+ country code and digits only, e.g. +493023125100)")
	ErrNoCode         = errors.New("poster: practice code is empty")
	ErrCodeChars      = errors.New("poster: practice code may only hold ASCII letters, digits and '-', starting with a letter or digit")
	ErrNoTextVersion  = errors.New("poster: consent text version is empty")
	ErrNoPurpose      = errors.New("poster: no purpose given")
	ErrTooLong        = errors.New("poster: text too long for the poster")
	ErrNotPrintable   = errors.New("poster: text has characters the poster font cannot print")
	ErrPNGSize        = errors.New("poster: PNG size out of range")
	ErrLayoutOverflow = errors.New("poster: content does not fit on one A4 page")
)

// e164 is the ITU-T E.164 form: '+', a country code that never starts
// with 0, at most 15 digits in all. The lower bound rejects obvious stubs.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// codeRE keeps the code to characters that survive the inbound pipeline's
// normalisation unchanged (it folds case and treats other punctuation as a
// word break) and that a patient can type from the poster if the camera
// fails. It must start with a letter or digit.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Poster holds what the poster prints. The caller gives the German purpose
// labels so the poster names exactly the purposes the consent covers.
type Poster struct {
	PracticeName   string   // "Zahnarztpraxis Dr. Beispiel"
	WhatsAppNumber string   // E.164, "+493023125100"
	PracticeCode   string   // "PRAXIS-7F3K"
	TextVersion    string   // consent text version, "EW-2026-11", printed small on the poster
	Purposes       []string // e.g. "Terminerinnerungen", "Terminänderungen"
}

// Validate reports every problem at once (joined), so whoever prepares the
// poster fixes the configuration in one go rather than one error per run.
func (p Poster) Validate() error {
	var errs []error

	name := strings.TrimSpace(p.PracticeName)
	switch {
	case name == "":
		errs = append(errs, ErrNoName)
	case utf8.RuneCountInString(name) > maxNameRunes:
		errs = append(errs, fmt.Errorf("%w: practice name has more than %d characters", ErrTooLong, maxNameRunes))
	}

	switch {
	case p.WhatsAppNumber == "":
		errs = append(errs, ErrNoNumber)
	case !e164.MatchString(p.WhatsAppNumber):
		errs = append(errs, fmt.Errorf("%w: got %q", ErrNumberNotE164, p.WhatsAppNumber))
	}

	switch {
	case strings.TrimSpace(p.PracticeCode) == "":
		errs = append(errs, ErrNoCode)
	case len(p.PracticeCode) > maxCodeLen:
		errs = append(errs, fmt.Errorf("%w: practice code has more than %d characters", ErrTooLong, maxCodeLen))
	case !codeRE.MatchString(p.PracticeCode):
		errs = append(errs, fmt.Errorf("%w: got %q", ErrCodeChars, p.PracticeCode))
	}

	tv := strings.TrimSpace(p.TextVersion)
	switch {
	case tv == "":
		// Without the version nobody can later show which text a patient
		// agreed to, so a poster without it is not usable as consent.
		errs = append(errs, ErrNoTextVersion)
	case utf8.RuneCountInString(tv) > maxTextVersionRunes:
		errs = append(errs, fmt.Errorf("%w: text version has more than %d characters", ErrTooLong, maxTextVersionRunes))
	}

	purposes := p.purposes()
	switch {
	case len(purposes) == 0:
		// Consent must be specific: a poster that names no purpose asks
		// the patient to agree to nothing in particular.
		errs = append(errs, ErrNoPurpose)
	case len(purposes) > maxPurposes:
		errs = append(errs, fmt.Errorf("%w: more than %d purposes", ErrTooLong, maxPurposes))
	}
	if len(purposes) != len(p.Purposes) {
		errs = append(errs, fmt.Errorf("%w: a purpose is blank", ErrNoPurpose))
	}
	for _, pu := range purposes {
		if utf8.RuneCountInString(pu) > maxPurposeRunes {
			errs = append(errs, fmt.Errorf("%w: purpose %q has more than %d characters", ErrTooLong, pu, maxPurposeRunes))
		}
	}

	// The PDF uses the core fonts, which print Windows-1252 only. A name
	// with, say, a Polish "ł" would come out as a wrong glyph on paper, so
	// refuse it here instead of printing it wrong.
	for _, f := range []struct{ field, text string }{
		{"practice name", p.PracticeName}, {"text version", p.TextVersion}, {"purposes", strings.Join(p.Purposes, " ")},
	} {
		if err := printable(f.text); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", ErrNotPrintable, f.field, err))
		}
	}
	return errors.Join(errs...)
}

// printable reports the first rune that cannot go on the poster: control
// characters (a line break would break the layout) and anything outside
// Windows-1252.
func printable(s string) error {
	enc := charmap.Windows1252.NewEncoder()
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
		if _, err := enc.String(string(r)); err != nil {
			return fmt.Errorf("character %q (%U)", r, r)
		}
	}
	return nil
}

// purposes returns the non-blank purpose labels, trimmed.
func (p Poster) purposes() []string {
	out := make([]string, 0, len(p.Purposes))
	for _, s := range p.Purposes {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// message is the prefilled WhatsApp text, "Anmelden PRAXIS-7F3K".
func (p Poster) message() string {
	return OptInKeyword + " " + p.PracticeCode
}

// Link returns the click-to-chat link the QR code holds,
// https://wa.me/493023125100?text=Anmelden%20PRAXIS-7F3K. wa.me wants the
// number as digits without '+'. Spaces are written %20, not '+': in a query
// a '+' means a space only to form decoders, and WhatsApp clients have been
// seen to prefill a literal '+'. Call Validate first; Link does not check.
func (p Poster) Link() string {
	number := strings.TrimPrefix(p.WhatsAppNumber, "+")
	// QueryEscape escapes a literal '+' as %2B, so every '+' left in its
	// output stands for a space and can safely become %20.
	text := strings.ReplaceAll(url.QueryEscape(p.message()), "+", "%20")
	return "https://wa.me/" + url.PathEscape(number) + "?text=" + text
}
