package poster

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var streamRE = regexp.MustCompile(`(?s)stream\n(.*?)\nendstream`)

// pdfText returns the PDF's streams, inflated where compressed. The test
// reads the bytes PDF really returns, so it needs no uncompressed mode.
func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	var out strings.Builder
	for _, m := range streamRE.FindAllSubmatch(doc, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			out.Write(m[1])
			continue
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		out.Write(b)
	}
	return out.String()
}

// cp1252 is how the core fonts expect text in the page stream.
func cp1252(s string) string {
	r := strings.NewReplacer("ä", "\xe4", "ö", "\xf6", "ü", "\xfc", "ß", "\xdf", "„", "\x84", "“", "\x93", "–", "\x96", "·", "\xb7", nbsp, "\xa0")
	return r.Replace(s)
}

func TestPDF(t *testing.T) {
	t.Parallel()
	p := example()
	doc, err := p.PDF()
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(doc, []byte("%PDF-")))
	require.Contains(t, string(doc), "/Count 1", "exactly one page")
	require.Contains(t, string(doc), "/MediaBox [0 0 595.28 841.89]", "A4 portrait")

	text := pdfText(t, doc)
	for _, want := range []string{
		"PRAXIS-7F3K",
		"STOP",
		"Ihre Termine per WhatsApp",
		"Zahnarztpraxis Dr. Beispiel",
		"Einwilligungstext EW-2026-11",
		"Terminänderungen",
		"ausschließlich",
		"„Anmelden" + nbsp + "PRAXIS-7F3K“",
		"+49" + nbsp + "30" + nbsp + "23125100",
		"Keine Werbung",
		"Datenschutz",
	} {
		require.Contains(t, text, cp1252(want), "%q", want)
	}
	for _, s := range p.explanation() {
		require.Contains(t, text, cp1252(s.heading), "section %q", s.heading)
	}
	// UTF-8 bytes in a core-font string would print as "Ã¤" instead of "ä".
	require.NotContains(t, text, "\xc3", "text must be cp1252, not UTF-8")
}

func TestPDFRefusesInvalidPoster(t *testing.T) {
	t.Parallel()
	p := example()
	p.PracticeCode = ""
	_, err := p.PDF()
	require.ErrorIs(t, err, ErrNoCode)
}

// The longest and widest input Validate allows must still fit on one page:
// the QR code shrinks before anything overflows.
func TestPDFLongestInputFitsOnePage(t *testing.T) {
	t.Parallel()
	p := longest()
	require.NoError(t, p.Validate())
	doc, err := p.PDF()
	require.NoError(t, err)
	require.Contains(t, string(doc), "/Count 1")
	require.Contains(t, pdfText(t, doc), "STOP")

	// The normal poster keeps the full-size code; only this one shrank.
	bitmap := mustBitmap(t, p)
	_, err = p.render(bitmap, qrSides[0])
	require.ErrorIs(t, err, ErrLayoutOverflow)
}

func mustBitmap(t *testing.T, p Poster) [][]bool {
	t.Helper()
	q, err := p.qr()
	require.NoError(t, err)
	return q.Bitmap()
}

func TestPDFExampleUsesFullSizeCode(t *testing.T) {
	t.Parallel()
	p := example()
	_, err := p.render(mustBitmap(t, p), qrSides[0])
	require.NoError(t, err)
}

// Render the poster as a printer would and read the QR code off the page:
// this catches a code drawn off-grid, overlapped by text or cut by its
// quiet zone. It needs pdftoppm (Debian: poppler-utils).
func TestPDFRenderedQRCodeScans(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		// A tool, not a service: .ci/run installs it, and a failed
		// install must not block a landing, so this stays a skip.
		t.Skip("pdftoppm not installed (apt-get install poppler-utils)")
	}
	for _, p := range []Poster{example(), longest()} {
		doc, err := p.PDF()
		require.NoError(t, err)
		dir := t.TempDir()
		in := filepath.Join(dir, "poster.pdf")
		require.NoError(t, os.WriteFile(in, doc, 0o600))
		const dpi = 150.0
		out, err := exec.Command("pdftoppm", "-r", strconv.Itoa(int(dpi)), "-png", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput()
		require.NoError(t, err, string(out))
		f, err := os.Open(filepath.Join(dir, "page.png"))
		require.NoError(t, err)
		page, err := png.Decode(f)
		require.NoError(t, f.Close())
		require.NoError(t, err)

		b := page.Bounds()
		require.InDelta(t, 210.0/25.4*dpi, b.Dx(), 2, "A4 width")
		require.InDelta(t, 297.0/25.4*dpi, b.Dy(), 2, "A4 height")

		// The top-left finder pattern is the first dark square outline of
		// at least 7 mm (7 modules): its top row and both sides are dark
		// runs of about the same length, which no glyph has.
		minRun := int(math.Round(7.0 / 25.4 * dpi))
		down := func(x, y int) int {
			n := 0
			for y+n < b.Max.Y && dark(page, x, y+n) {
				n++
			}
			return n
		}
		square := func(x, y, n int) bool {
			l, r := down(x, y), down(x+n-1, y)
			return l*10 >= n*9 && l*10 <= n*11 && r*10 >= n*9 && r*10 <= n*11
		}
		x0, y0, x1 := -1, -1, -1
		for y := b.Min.Y; y < b.Max.Y && y0 < 0; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n := 0
				for x+n < b.Max.X && dark(page, x+n, y) {
					n++
				}
				if n >= minRun && square(x, y, n) {
					x0, y0 = x, y
					break
				}
				x += n
			}
		}
		// Nothing runs into the side margins (20 mm; 15 mm allows for
		// glyph overhang): too long a line would be cut off in print.
		edge := int(math.Round(15.0 / 25.4 * dpi))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Min.X+edge; x++ {
				if dark(page, x, y) || dark(page, b.Max.X-1-(x-b.Min.X), y) {
					t.Fatalf("ink in a side margin at row %d (%.0f mm from the top)", y, float64(y)/dpi*25.4)
				}
			}
		}

		require.GreaterOrEqual(t, y0, 0, "no QR code found on the page")
		// The top-right finder ends the symbol's top row.
		for x := b.Max.X - 1; x >= x0; x-- {
			if dark(page, x, y0) {
				x1 = x
				break
			}
		}
		side := x1 - x0 + 1
		// Centred on the page, within a few pixels of anti-aliasing.
		require.InDelta(t, b.Dx()/2, x0+side/2, 3)
		sym := page.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x0, y0, x1+1, y0+side))
		got, err := decodeQR(sym)
		require.NoError(t, err)
		require.Equal(t, p.Link(), got.text)
		require.Equal(t, "M", got.level)
	}
}

// longest is the densest poster Validate allows, for layout tests.
func longest() Poster {
	p := example()
	p.PracticeName = strings.Repeat("W", maxNameRunes)
	p.PracticeCode = strings.Repeat("W", maxCodeLen)
	p.TextVersion = strings.Repeat("W", maxTextVersionRunes)
	p.Purposes = nil
	for range maxPurposes {
		p.Purposes = append(p.Purposes, strings.Repeat("W", maxPurposeRunes))
	}
	return p
}
