package poster

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// example is the fictional practice of the fixtures.
func example() Poster {
	return Poster{
		PracticeName:   "Zahnarztpraxis Dr. Beispiel",
		WhatsAppNumber: "+493023125100",
		PracticeCode:   "PRAXIS-7F3K",
		TextVersion:    "EW-2026-11",
		Purposes:       []string{"Terminerinnerungen", "Terminänderungen"},
	}
}

func TestLink(t *testing.T) {
	t.Parallel()
	require.Equal(t, "https://wa.me/493023125100?text=Anmelden%20PRAXIS-7F3K", example().Link())

	p := example()
	p.WhatsAppNumber = "+4915112345678"
	p.PracticeCode = "ZA-2"
	require.Equal(t, "https://wa.me/4915112345678?text=Anmelden%20ZA-2", p.Link())
}

// Link must escape whatever the code holds, even a code Validate would
// refuse: a '&' must not start a second query parameter and a '+' must
// not turn into a space on the patient's phone.
func TestLinkEscapesAnyCode(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"A B", "A+B", "A&x=1", "Ä/ß?#%"} {
		p := example()
		p.PracticeCode = code
		link := p.Link()
		require.NotContains(t, strings.TrimPrefix(link, "https://"), "+", link)
		require.NotContains(t, link, " ", link)
		u, err := url.Parse(link)
		require.NoError(t, err, link)
		require.Equal(t, "wa.me", u.Host)
		require.Equal(t, "/493023125100", u.Path)
		require.Equal(t, url.Values{"text": {"Anmelden " + code}}, u.Query(), link)
	}
}

func TestValidateAcceptsExample(t *testing.T) {
	t.Parallel()
	require.NoError(t, example().Validate())
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*Poster)
		want error
	}{
		{"missing number", func(p *Poster) { p.WhatsAppNumber = "" }, ErrNoNumber},
		{"national number", func(p *Poster) { p.WhatsAppNumber = "030 23125100" }, ErrNumberNotE164},
		{"no plus", func(p *Poster) { p.WhatsAppNumber = "493023125100" }, ErrNumberNotE164},
		{"spaces", func(p *Poster) { p.WhatsAppNumber = "+49 30 23125100" }, ErrNumberNotE164},
		{"00 prefix", func(p *Poster) { p.WhatsAppNumber = "+00493023125100" }, ErrNumberNotE164},
		{"too long", func(p *Poster) { p.WhatsAppNumber = "+4930231251001234" }, ErrNumberNotE164},
		{"too short", func(p *Poster) { p.WhatsAppNumber = "+49301" }, ErrNumberNotE164},
		{"empty code", func(p *Poster) { p.PracticeCode = "" }, ErrNoCode},
		{"blank code", func(p *Poster) { p.PracticeCode = "  " }, ErrNoCode},
		{"code with space", func(p *Poster) { p.PracticeCode = "PRAXIS 7F3K" }, ErrCodeChars},
		{"code with umlaut", func(p *Poster) { p.PracticeCode = "PRÄXIS" }, ErrCodeChars},
		{"code starts with dash", func(p *Poster) { p.PracticeCode = "-7F3K" }, ErrCodeChars},
		{"code too long", func(p *Poster) { p.PracticeCode = strings.Repeat("A", maxCodeLen+1) }, ErrTooLong},
		{"no name", func(p *Poster) { p.PracticeName = " " }, ErrNoName},
		{"name too long", func(p *Poster) { p.PracticeName = strings.Repeat("ä", maxNameRunes+1) }, ErrTooLong},
		{"name outside cp1252", func(p *Poster) { p.PracticeName = "Gabinet Łódź" }, ErrNotPrintable},
		{"name with line break", func(p *Poster) { p.PracticeName = "Praxis\nDr. Beispiel" }, ErrNotPrintable},
		{"no text version", func(p *Poster) { p.TextVersion = "" }, ErrNoTextVersion},
		{"no purposes", func(p *Poster) { p.Purposes = nil }, ErrNoPurpose},
		{"blank purpose", func(p *Poster) { p.Purposes = []string{"Terminerinnerungen", " "} }, ErrNoPurpose},
		{"too many purposes", func(p *Poster) { p.Purposes = []string{"a", "b", "c", "d", "e"} }, ErrTooLong},
		{"purpose with emoji", func(p *Poster) { p.Purposes = []string{"Termine 🦷"} }, ErrNotPrintable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := example()
			c.edit(&p)
			err := p.Validate()
			require.ErrorIs(t, err, c.want)
		})
	}
}

// All problems come back at once, so the configuration is fixed in one go.
func TestValidateJoinsErrors(t *testing.T) {
	t.Parallel()
	err := Poster{}.Validate()
	for _, want := range []error{ErrNoName, ErrNoNumber, ErrNoCode, ErrNoTextVersion, ErrNoPurpose} {
		require.ErrorIs(t, err, want)
	}
	require.False(t, errors.Is(err, ErrNumberNotE164), "an empty number is reported as missing, not as malformed")
}

func TestText(t *testing.T) {
	t.Parallel()
	text := example().Text()
	// The message and the number are glued with no-break spaces so they are
	// never wrapped apart; compare with plain spaces.
	plain := strings.ReplaceAll(text, nbsp, " ")
	for _, want := range []string{
		"Zahnarztpraxis Dr. Beispiel",
		"„Anmelden PRAXIS-7F3K“",
		"+49 30 23125100",
		"Terminerinnerungen und Terminänderungen per WhatsApp",
		"ausschließlich für medizinische Zwecke",
		"Keine Werbung",
		"freiwillig",
		"Antworten Sie jederzeit STOP",
		"Datenschutz",
		"Einwilligungstext EW-2026-11",
	} {
		require.Contains(t, strings.Join(strings.Fields(plain), " "), want)
	}
	require.True(t, utf8.ValidString(text))
	for _, line := range strings.Split(text, "\n") {
		require.LessOrEqual(t, utf8.RuneCountInString(line), textWidth, line)
	}
	require.Contains(t, text, "„Anmelden"+nbsp+"PRAXIS-7F3K“", "the message must not be breakable")
}

// The PDF and the CLI text must say the same thing: both come from
// explanation(), and the PDF test checks it prints every section.
func TestTextHasEverySection(t *testing.T) {
	t.Parallel()
	p := example()
	text := p.Text()
	for _, s := range p.explanation() {
		require.Contains(t, text, s.heading+"\n")
	}
}

func TestGermanList(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", germanList(nil))
	require.Equal(t, "A", germanList([]string{"A"}))
	require.Equal(t, "A und B", germanList([]string{"A", "B"}))
	require.Equal(t, "A, B und C", germanList([]string{"A", "B", "C"}))
}

func TestDisplayNumber(t *testing.T) {
	t.Parallel()
	require.Equal(t, "+49 30 23125100", strings.ReplaceAll(displayNumber("+493023125100"), nbsp, " "))
	require.NotContains(t, displayNumber("+493023125100"), " ", "grouping uses no-break spaces")
	require.Equal(t, "+999", displayNumber("+999"), "an unparsable number is shown as given")
}
