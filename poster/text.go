package poster

import (
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// section is one headed paragraph of the explanation. The PDF and Text
// render the same sections so the printed and the printed-to-terminal
// wording can never drift apart: the consent text version names one text.
type section struct {
	heading string
	body    string
}

const title = "Ihre Termine per WhatsApp"

// nbsp glues the message and the number together wherever they are shown,
// so a line break never splits "Anmelden PRAXIS-7F3K" or "+49 30 23125100"
// and tempts a patient to type half of it. Link uses plain spaces.
const nbsp = "\u00a0"

// shownMessage is the prefilled message as printed, in German quotes.
func (p Poster) shownMessage() string {
	return "„" + strings.ReplaceAll(p.message(), " ", nbsp) + "“"
}

// lead tells what to do; it sits right above the QR code.
func (p Poster) lead() string {
	return "Scannen Sie den QR-Code mit der Kamera Ihres Smartphones. WhatsApp öffnet sich mit der Nachricht " +
		p.shownMessage() + " – senden Sie sie einfach ab."
}

// manual is the way in for a phone whose camera does not read QR codes:
// the patient can type the same message by hand.
func (p Poster) manual() string {
	return "Ohne QR-Code: Schreiben Sie " + p.shownMessage() + " per WhatsApp an " + displayNumber(p.WhatsAppNumber) + "."
}

// explanation is what the patient agrees to, that it is voluntary, how to
// withdraw and a line on data protection, in plain German.
func (p Poster) explanation() []section {
	name := strings.TrimSpace(p.PracticeName)
	return []section{
		{"Ihre Einwilligung", "Mit dem Absenden der Nachricht willigen Sie ein, dass wir, " + name + ", Ihnen " +
			germanList(p.purposes()) + " per WhatsApp an die Nummer schicken, von der Sie die Nachricht senden."},
		{"Nur für Ihre Behandlung", "Wir nutzen WhatsApp ausschließlich für medizinische Zwecke rund um Ihre Termine. " +
			"Keine Werbung. Die Teilnahme ist freiwillig; Ihre Behandlung hängt nicht davon ab."},
		{"Widerruf", "Antworten Sie jederzeit STOP – dann senden wir Ihnen keine Nachrichten mehr per WhatsApp."},
		{"Datenschutz", "Für die Nachrichten verarbeiten wir Ihre Handynummer und Ihre Termindaten. WhatsApp ist ein Dienst " +
			"der Meta Platforms Ireland Ltd. Mehr dazu in unserer Datenschutzerklärung – fragen Sie gern am Empfang."},
	}
}

// footer carries the consent text version (so a recorded opt-in can be
// matched to the wording the patient saw) and the code for staff.
func (p Poster) footer() string {
	return "Einwilligungstext " + strings.TrimSpace(p.TextVersion) + " · Praxiscode " + p.PracticeCode
}

// textWidth is the column Text wraps at, so the CLI output reads well in
// an 80-column terminal.
const textWidth = 76

// Text returns the poster's wording as plain UTF-8 text for the CLI to
// print. Call Validate first; Text renders whatever it is given.
func (p Poster) Text() string {
	var b strings.Builder
	para := func(s string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(wrap(s, textWidth))
		b.WriteString("\n")
	}
	para(title + " – " + strings.TrimSpace(p.PracticeName))
	para(p.lead())
	para(p.manual())
	for _, s := range p.explanation() {
		para(s.heading + "\n" + wrap(s.body, textWidth))
	}
	para(p.footer())
	return b.String()
}

// wrap breaks each line of s at ASCII spaces (not at nbsp, unlike
// strings.Fields) so no line is longer than width runes, unless a single
// word is.
func wrap(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		cur, n := "", 0
		for _, w := range strings.Split(line, " ") {
			if w == "" {
				continue
			}
			wn := utf8.RuneCountInString(w)
			if n > 0 && n+1+wn > width {
				out = append(out, cur)
				cur, n = "", 0
			}
			if n > 0 {
				cur += " "
				n++
			}
			cur += w
			n += wn
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// germanList joins "A", "A und B", "A, B und C".
func germanList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " und " + items[len(items)-1]
}

// displayNumber groups the number the way people read it ("+49 30
// 23125100", with nbsp) for typing by hand; the link keeps the bare digits. An
// unparsable number is shown as given rather than hidden.
func displayNumber(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return strings.ReplaceAll(phonenumbers.Format(num, phonenumbers.INTERNATIONAL), " ", nbsp)
}
