package tabular

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxHeaderScan bounds the search for the header: exports put a title, a
// date stamp or a practice name above it, but never pages of text.
const maxHeaderScan = 30

// cleanCell normalises a header cell for comparison: a BOM that slipped
// through (e.g. from a file concatenated from two exports) and surrounding
// spaces must not make "AppointmentID" unrecognisable.
func cleanCell(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
}

// headerMatch locates the profile's columns in one row. missing lists the
// declared names the row lacks; matched counts those it has.
func headerMatch(cells []string, p Profile) (cols [len16]int, missing []string, matched int) {
	for i := range cols {
		cols[i] = -1
	}
	for f, c := range p.Columns {
		fi := fieldIndex(f)
		if fi < 0 {
			continue
		}
		if c.Position > 0 {
			cols[fi] = c.Position - 1
			continue
		}
		want := strings.TrimSpace(c.Name)
		found := -1
		for i, cell := range cells {
			if strings.EqualFold(cleanCell(cell), want) {
				found = i
				break
			}
		}
		if found < 0 {
			missing = append(missing, want)
			continue
		}
		cols[fi] = found
		matched++
	}
	sortLike(missing, p.namedColumns())
	return cols, missing, matched
}

// len16 is the number of canonical fields; an array keeps a row plan
// allocation-free.
const len16 = 16

func init() {
	if len(fields) != len16 {
		panic("tabular: len16 must equal the number of canonical fields")
	}
}

// sortLike orders names as they appear in order, so error messages list
// missing columns in the profile's own order and are stable.
func sortLike(names, order []string) {
	pos := func(s string) int {
		for i, o := range order {
			if o == s {
				return i
			}
		}
		return len(order)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && pos(names[j]) < pos(names[j-1]); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

// sniffDelimiter picks the CSV separator from the decoded start of the
// file: the candidate under which the profile's header is found wins;
// failing that (a profile with positions only, or a file that does not fit
// the profile) the candidate that splits the first rows into the most
// consistent, widest shape.
func sniffDelimiter(prefix string, p Profile) rune {
	candidates := []rune{';', ',', '\t'}
	best, bestScore := candidates[0], -1
	for _, d := range candidates {
		rows := sniffRows(prefix, d)
		if found, _ := findHeader(rows, p); found >= 0 {
			return d
		}
		if score := shapeScore(rows); score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

type sniffedRow struct {
	line  int
	cells []string
}

// sniffRows splits the first rows of prefix. Quoting is read leniently: the
// prefix may end inside a quoted field, and a malformed row must not hide
// the header above it.
func sniffRows(prefix string, delim rune) []sniffedRow {
	r := csv.NewReader(strings.NewReader(prefix))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var out []sniffedRow
	for len(out) < maxHeaderScan {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		line, _ := r.FieldPos(0)
		out = append(out, sniffedRow{line: line, cells: rec})
	}
	return out
}

// findHeader returns the index of the header row among rows, or -1 and
// the best near miss (for the error message).
func findHeader(rows []sniffedRow, p Profile) (int, []string) {
	var nearMissing []string
	bestMatched := -1
	for i, row := range rows {
		if p.HeaderRow > 0 && row.line != p.HeaderRow {
			continue
		}
		_, missing, matched := headerMatch(row.cells, p)
		if len(missing) == 0 {
			return i, nil
		}
		if matched > bestMatched {
			bestMatched, nearMissing = matched, missing
		}
	}
	return -1, nearMissing
}

// shapeScore rewards a delimiter that cuts the rows into many fields, the
// same number each time.
func shapeScore(rows []sniffedRow) int {
	counts := map[int]int{}
	for _, r := range rows {
		if len(r.cells) > 1 {
			counts[len(r.cells)]++
		}
	}
	best := 0
	for width, n := range counts {
		if s := width * n; s > best {
			best = s
		}
	}
	return best
}

// describeColumns renders the cells a person would recognise as the
// file's columns, for "no profile matches" and "no header" messages. The
// message lands in logs, error reports and the ingest log, so a row that
// looks like data (a file without its header line) is described, never
// quoted: its cells are a patient's name, birth date and number.
func describeColumns(cells []string) string {
	var parts []string
	for _, c := range cells {
		if c = cleanCell(c); c != "" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	for _, c := range parts {
		if looksBinary(c) {
			return "(unreadable: binary content, not a text export)"
		}
	}
	for _, c := range parts {
		if looksLikeData(c) {
			return fmt.Sprintf("(%d values that look like data, not column names: is the header line missing?)", len(parts))
		}
	}
	for i, c := range parts {
		parts[i] = strconv.Quote(c)
	}
	return strings.Join(parts, ", ")
}

// looksLikeData: column names hold no runs of digits and no e-mail signs;
// dates, numbers and phone numbers do.
func looksLikeData(c string) bool {
	digits := 0
	for _, r := range c {
		if r >= '0' && r <= '9' {
			digits++
			if digits >= 3 {
				return true
			}
		} else {
			digits = 0
		}
	}
	return strings.ContainsRune(c, '@')
}

func looksBinary(c string) bool {
	for _, r := range c {
		if r == utf8.RuneError || (r < 0x20 && r != '\t') {
			return true
		}
	}
	return false
}

// widestRow is the row most likely to be a header: the one with the most
// non-empty cells among the first rows.
func widestRow(rows [][]string) []string {
	var best []string
	bestN := -1
	for _, r := range rows {
		n := 0
		for _, c := range r {
			if cleanCell(c) != "" {
				n++
			}
		}
		if n > bestN {
			best, bestN = r, n
		}
	}
	return best
}
