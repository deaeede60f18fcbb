package poster

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// A4 portrait layout in millimetres.
const (
	pageW    = 210.0
	margin   = 20.0
	contentW = pageW - 2*margin
	// footerY is where the small print starts; the body must end above it.
	// Two lines of it still end 9 mm above the paper's edge, inside what
	// office printers can print.
	footerY = 280.0
	font    = "Helvetica"
)

// PDF returns the one-page A4 poster: title, practice name, what to do,
// the QR code, the manual fallback, what the patient agrees to, how to
// withdraw, data protection and the consent text version.
//
// It uses the PDF core fonts (nothing to embed, small file, prints the
// same everywhere) with fpdf's cp1252 translator, so ä, ö, ü, ß and the
// German quotes come out right; Validate rejects text those fonts cannot
// print. The QR code is drawn as vector rectangles, not an image, so it
// stays sharp at any printer resolution and is never smoothed by a viewer.
func (p Poster) PDF() ([]byte, error) {
	q, err := p.qr()
	if err != nil {
		return nil, err
	}
	bitmap := q.Bitmap()
	var b []byte
	for _, side := range qrSides {
		if b, err = p.render(bitmap, side); !errors.Is(err, ErrLayoutOverflow) {
			break
		}
	}
	return b, err
}

// qrSides are the QR code's printed widths, quiet zone included, tried in
// turn until the text fits. At 100 mm a version 3–4 symbol has modules of
// about 3 mm, which a phone reads from a metre away, so patients need not
// lean over the desk; a long practice name or many purposes cost some of
// that, but even 60 mm (about 1.5 mm modules) reads fine at arm's length.
var qrSides = []float64{100, 90, 80, 70, 60}

// render lays the poster out with the QR code side mm wide. It reports
// ErrLayoutOverflow rather than starting a second page.
func (p Poster) render(bitmap [][]bool, qrSide float64) ([]byte, error) {
	name := strings.TrimSpace(p.PracticeName)

	pdf := fpdf.New("P", "mm", "A4", "")
	// The layout is measured for one page; a silent second page would cut
	// the explanation away from the code it explains.
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetCellMargin(0)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // "" is cp1252
	pdf.SetTitle(title+" – "+name, true)
	pdf.SetAuthor(name, true)
	pdf.SetSubject("QR-Anmeldung für WhatsApp-Terminnachrichten, Einwilligungstext "+strings.TrimSpace(p.TextVersion), true)
	pdf.SetCreator("praxisbote", false)
	pdf.SetLang("de-DE")
	pdf.AddPage()
	pdf.SetTextColor(0, 0, 0)

	pdf.SetY(22)
	pdf.SetFont(font, "B", 30)
	pdf.MultiCell(contentW, 13, tr(title), "", "C", false)
	pdf.Ln(1)
	// A long name steps down in size to stay within two lines, so it
	// cannot push the explanation off the page.
	nameSize := 18.0
	for ; nameSize > 12; nameSize -= 2 {
		pdf.SetFont(font, "", nameSize)
		if len(pdf.SplitLines([]byte(tr(name)), contentW)) <= 2 {
			break
		}
	}
	pdf.SetFont(font, "", nameSize)
	pdf.MultiCell(contentW, nameSize*0.45, tr(name), "", "C", false)
	pdf.Ln(6)
	pdf.SetFont(font, "", 13)
	pdf.MultiCell(contentW, 6, tr(p.lead()), "", "C", false)

	qrY := pdf.GetY() + 1
	drawQR(pdf, bitmap, (pageW-qrSide)/2, qrY, qrSide)
	// The bitmap's white quiet zone already separates the code from the
	// text around it; no extra gap is needed.
	pdf.SetY(qrY + qrSide)

	pdf.SetFont(font, "", 12)
	pdf.MultiCell(contentW, 6, tr(p.manual()), "", "C", false)

	pdf.Ln(5)
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.3)
	pdf.Line(margin, pdf.GetY(), pageW-margin, pdf.GetY())
	pdf.Ln(5)

	// Headings run into their paragraph ("Widerruf: Antworten Sie …"),
	// which keeps the explanation compact enough to fit under the code.
	for i, s := range p.explanation() {
		if i > 0 {
			pdf.Ln(3)
		}
		pdf.SetX(margin)
		pdf.SetFont(font, "B", 12)
		pdf.Write(6, tr(s.heading+": "))
		pdf.SetFont(font, "", 12)
		pdf.Write(6, tr(s.body))
		pdf.Ln(6)
	}
	if y := pdf.GetY(); y > footerY-3 {
		return nil, fmt.Errorf("%w: body ends at %.0f mm, small print starts at %.0f mm", ErrLayoutOverflow, y, footerY)
	}

	pdf.SetY(footerY)
	pdf.SetFont(font, "", 8)
	pdf.SetTextColor(90, 90, 90)
	// MultiCell, not a single cell: a long text version and code wrap to
	// a second line instead of running off the paper.
	pdf.MultiCell(contentW, 4, tr(p.footer()), "", "C", false)

	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("poster: lay out PDF: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("poster: write PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// drawQR paints the dark modules of bitmap (quiet zone included) into a
// side×side square at (x, y). Each row's runs of dark modules become one
// rectangle, which keeps the page stream small and avoids hairline seams
// between horizontally adjacent modules in viewers that anti-alias.
func drawQR(pdf *fpdf.Fpdf, bitmap [][]bool, x, y, side float64) {
	m := side / float64(len(bitmap))
	pdf.SetFillColor(0, 0, 0)
	for row, line := range bitmap {
		for col := 0; col < len(line); {
			if !line[col] {
				col++
				continue
			}
			start := col
			for col < len(line) && line[col] {
				col++
			}
			pdf.Rect(x+float64(start)*m, y+float64(row)*m, float64(col-start)*m, m, "F")
		}
	}
}
