// Package inbound understands what patients send back (confirm, cancel,
// stop, opt-in), applies provider statuses to deliveries, and routes
// answers to the PMS and to the staff inbox.
package inbound

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Intent is what a patient's message asks for.
type Intent string

const (
	IntentConfirm    Intent = "confirm"
	IntentCancel     Intent = "cancel_request"
	IntentReschedule Intent = "reschedule_request"
	IntentStop       Intent = "stop"
	IntentOptIn      Intent = "opt_in"
	IntentUnknown    Intent = "unknown"
	// IntentNone is a message that asks nothing (a reaction, a sticker).
	IntentNone Intent = "none"
)

var words = map[string]Intent{
	"1": IntentConfirm, "ja": IntentConfirm, "j": IntentConfirm, "ok": IntentConfirm, "okay": IntentConfirm,
	"bestatigen": IntentConfirm, "termin bestatigen": IntentConfirm, "ich komme": IntentConfirm, "confirm": IntentConfirm, "yes": IntentConfirm,
	"ja bitte": IntentConfirm, "ja gerne": IntentConfirm,
	"2": IntentCancel, "nein": IntentCancel, "n": IntentCancel, "absagen": IntentCancel, "termin absagen": IntentCancel,
	"cancel": IntentCancel, "no": IntentCancel, "ich komme nicht": IntentCancel, "nein danke": IntentCancel,
	"3": IntentReschedule, "verschieben": IntentReschedule, "termin verschieben": IntentReschedule,
	"stop": IntentStop, "stopp": IntentStop, "abmelden": IntentStop, "stop bitte": IntentStop, "stopp bitte": IntentStop,
	"bitte stop": IntentStop, "bitte stopp": IntentStop, "abbestellen": IntentStop, "unsubscribe": IntentStop,
}

// Normalize folds a message for matching: case, accents, emoji and
// punctuation do not change what a patient meant.
func Normalize(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	folded = strings.ToLower(folded)
	var b strings.Builder
	space := false
	for _, r := range folded {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return strings.ReplaceAll(b.String(), "ß", "ss")
}

// Detect reads a free-text message. practiceCode is the practice's QR
// opt-in code ("Anmelden PRAXIS-7F3K"); the opt-in needs the right code,
// so a stray "anmelden" is not consent.
func Detect(text, practiceCode string) Intent {
	n := Normalize(text)
	if n == "" {
		return IntentNone
	}
	if code := Normalize(practiceCode); code != "" && (n == "anmelden "+code || n == "anmeldung "+code || n == "start "+code) {
		return IntentOptIn
	}
	if in, ok := words[n]; ok {
		return in
	}
	return IntentUnknown
}

// Payload reads a quick-reply button payload ("CONFIRM:apt-10001-…") into
// an intent and the appointment reference it carries.
func Payload(payload string) (Intent, string) {
	verb, ref, _ := strings.Cut(payload, ":")
	switch strings.ToUpper(verb) {
	case "CONFIRM":
		return IntentConfirm, ref
	case "CANCEL":
		return IntentCancel, ref
	case "RESCHEDULE":
		return IntentReschedule, ref
	case "STOP":
		return IntentStop, ref
	}
	return IntentUnknown, ""
}
