package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
)

// Outcome is what became of one data row.
type Outcome string

const (
	// OutcomeImported: the row became an appointment (and its patient).
	OutcomeImported Outcome = "imported"
	// OutcomeRejected: the row is wrong and was not imported; Problem says
	// which column and why, so staff can fix it in the PMS.
	OutcomeRejected Outcome = "rejected"
	// OutcomeSkipped: the row was left out on purpose (empty, a block
	// without a patient, an exact duplicate).
	OutcomeSkipped Outcome = "skipped"
)

// Record is one data row as Stream hands it over.
type Record struct {
	// Line is the physical line (CSV, header = line 1 when it is the first
	// line) or the row number (XLSX).
	Line    int
	Outcome Outcome
	// Patient and Appointment are set when Outcome is OutcomeImported.
	// Patient.Phones is shared with every other record of the stream whose
	// phone cells read the same (a mother and child with one mobile): copy
	// it before changing an element. Appending is safe; it always copies.
	Patient     schemas.Patient
	Appointment schemas.Appointment
	// Problem is the reason for OutcomeRejected and OutcomeSkipped.
	Problem schemas.Problem
	// Warnings name oddities of an imported row (two numbers in one cell,
	// an invalid phone, a daylight-saving reading).
	Warnings []schemas.Problem
}

// Summary describes a streamed file once every row is through.
type Summary struct {
	Format  string // "csv" or "xlsx", by content
	Profile string
	// Encoding and Delimiter as read (CSV); Sheet as read (XLSX).
	Encoding  string
	Delimiter string
	Sheet     string
	// HeaderLine is the line or row of the header; Header its cells.
	HeaderLine int
	Header     []string
	// Rows counts data rows after the header, trailing empty rows excluded;
	// every one of them is exactly one of Imported, Rejected, Skipped.
	Rows     int
	Imported int
	Rejected int
	Skipped  int
	// Warnings counts row warnings; FileWarnings concern the whole file
	// (Line 0), e.g. XLSX content in a file named .csv.
	Warnings     int
	FileWarnings []schemas.Problem
}

// Stream maps a CSV or XLSX export row by row and calls emit for each data
// row, in file order. CSV is decoded and split as it is read, so memory
// stays flat however long the file is, apart from the set of appointment
// keys already seen (some 30-50 bytes per row), which finds duplicates. An
// XLSX is a zip archive that cannot be read front to back, so it is read
// whole first; its sheet is then iterated row by row.
//
// Rows are read and split on a second goroutine, a few thousand rows
// ahead, and the first half of mapping them runs on whichever of the two
// goroutines has time, so that reading and mapping use two cores. emit is
// always called on the caller's goroutine, one record at a time. The
// reading goroutine has ended when Stream returns (if emit stops the
// stream, Stream first waits for the read in progress), so r may be
// closed right after.
//
// The error is for the file as a whole (see the Err* values) or an error
// returned by emit, which stops the stream. Row problems are in the
// records.
func Stream(r io.Reader, name string, p Profile, loc *time.Location, emit func(Record) error) (Summary, error) {
	if err := checkArgs(p, loc); err != nil {
		return Summary{}, err
	}
	raw := bufio.NewReaderSize(r, sniffSize)
	head, err := raw.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	kind, err := sniffContent(head)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	if kind == contentZip {
		data, err := io.ReadAll(raw)
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", name, err)
		}
		return streamXLSX(data, name, p, loc, emit)
	}
	if p.Format == FormatXLSX {
		return Summary{}, fmt.Errorf("%s: %w: profile %q expects an XLSX workbook, but the file is text; choose a CSV profile or export XLSX", name, ErrNotTabular, p.Name)
	}
	return streamCSV(raw, name, p, loc, emit)
}

func checkArgs(p Profile, loc *time.Location) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if loc == nil {
		return errors.New("tabular: a practice time zone is required (e.g. Europe/Berlin)")
	}
	return nil
}

func streamCSV(raw *bufio.Reader, name string, p Profile, loc *time.Location, emit func(Record) error) (Summary, error) {
	enc, _ := normEncoding(p.Encoding)
	dec, err := newDecoder(raw, enc)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	text := bufio.NewReaderSize(dec, sniffSize)
	prefix, err := text.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(bytes.TrimSpace(prefix)) == 0 {
		return Summary{}, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	delim, _ := normDelimiter(p.Delimiter)
	if delim == 0 {
		delim = sniffDelimiter(string(prefix), p)
	}
	// csvReader splits as encoding/csv does with FieldsPerRecord -1 (rows
	// may legitimately be shorter than the header, when the exporter drops
	// trailing empty cells; longer rows are checked per row) and strict
	// quoting (a lazily read stray quote would silently glue two rows
	// together and shift every column after it).
	cr := newCSVReader(text, delim)
	e := newEngine(p, loc, false, false, emit)
	e.sum.Format = FormatCSV
	e.sum.Delimiter = delimName(delim)
	e.m.delim = string(delim)
	src := &csvSource{r: cr}
	err = e.run(src)
	e.sum.Encoding = dec.encoding()
	if err != nil {
		return e.sum, fmt.Errorf("%s: %w", name, err)
	}
	return e.sum, nil
}

func delimName(d rune) string {
	if d == '\t' {
		return "tab"
	}
	return string(d)
}

// rowSource yields rows with their line (CSV) or row (XLSX) number. text
// is the row's line when its cells are the pieces of it between
// delimiters, else empty (see preparer.rowHash).
type rowSource interface {
	next() (cells []string, text string, line int, err error)
}

// rowReadError is a row the reader itself could not split (bad quoting).
// It rejects that row only.
type rowReadError struct {
	line   int
	reason string
}

func (e *rowReadError) Error() string { return e.reason }

type csvSource struct {
	r *csvReader
	// ahead is the result of a read done while checking for an unclosed
	// quote; it is handed out on the next call.
	ahead *csvRead
}

type csvRead struct {
	rec  []string
	text string
	line int
	err  error
}

func (s *csvSource) read() csvRead {
	rec, text, line, err := s.r.read()
	if err != nil {
		return csvRead{err: err}
	}
	return csvRead{rec: rec, text: text, line: line}
}

func (s *csvSource) next() ([]string, string, int, error) {
	var cur csvRead
	if s.ahead != nil {
		cur, s.ahead = *s.ahead, nil
	} else {
		cur = s.read()
	}
	if cur.err == nil {
		return cur.rec, cur.text, cur.line, nil
	}
	var pe *csv.ParseError
	if !errors.As(cur.err, &pe) {
		return nil, "", 0, cur.err
	}
	if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine {
		// encoding/csv reports a quote that is opened and never closed
		// only at the end of the input: everything after it was swallowed
		// into one field, so this is no longer one bad row.
		ahead := s.read()
		if errors.Is(ahead.err, io.EOF) {
			return nil, "", 0, fmt.Errorf("%w: the quoted field opened on line %d is never closed, so the rest of the file cannot be split into rows", ErrNotTabular, pe.StartLine)
		}
		// The next read would overwrite the record's slice.
		ahead.rec = slices.Clone(ahead.rec)
		s.ahead = &ahead
	}
	reason := "the row cannot be split into columns: " + pe.Err.Error()
	if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
		reason = "the row cannot be split into columns: a quote (\") inside a field must be doubled (\"\") and the field itself quoted"
	}
	return nil, "", pe.StartLine, &rowReadError{line: pe.StartLine, reason: reason}
}

// engine holds what mapping one file needs across rows.
type engine struct {
	m       *mapper
	emit    func(Record) error
	sum     Summary
	pending []int // empty rows not yet known to be inside the data
}

func newEngine(p Profile, loc *time.Location, xlsx, date1904 bool, emit func(Record) error) *engine {
	return &engine{
		m:    newMapper(p, loc, xlsx, date1904),
		emit: emit,
		sum:  Summary{Profile: p.Name},
	}
}

func (e *engine) run(src rowSource) error {
	if err := e.findHeader(src); err != nil {
		return err
	}
	// Reading and splitting rows runs ahead on another core, and so does
	// the first half of mapping them while this goroutine is behind;
	// stop waits for that goroutine, so the caller's reader is never
	// touched after Stream returns.
	own := newPreparer(e.m)
	ahead := prefetch(src, newPreparer(e.m))
	defer ahead.stop()
	for {
		r, cells := ahead.next(own)
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				// Trailing empty rows are dropped unreported: spreadsheets
				// often carry formatted but empty rows below the data.
				return nil
			}
			re, ok := r.err.(*rowReadError)
			if !ok {
				return r.err
			}
			if err := e.flushEmpty(); err != nil {
				return err
			}
			e.sum.Rows++
			if err := e.deliver(Record{Line: re.line, Outcome: OutcomeRejected,
				Problem: schemas.Problem{Line: re.line, Reason: re.reason}}); err != nil {
				return err
			}
			continue
		}
		if r.empty {
			e.pending = append(e.pending, r.line)
			continue
		}
		if err := e.flushEmpty(); err != nil {
			return err
		}
		e.sum.Rows++
		if err := e.deliver(e.m.finish(&r.prep, cells, r.line)); err != nil {
			return err
		}
	}
}

func (e *engine) flushEmpty() error {
	for _, line := range e.pending {
		e.sum.Rows++
		if err := e.deliver(Record{Line: line, Outcome: OutcomeSkipped,
			Problem: schemas.Problem{Line: line, Reason: "empty row"}}); err != nil {
			return err
		}
	}
	e.pending = e.pending[:0]
	return nil
}

func (e *engine) deliver(r Record) error {
	switch r.Outcome {
	case OutcomeImported:
		e.sum.Imported++
	case OutcomeRejected:
		e.sum.Rejected++
	case OutcomeSkipped:
		e.sum.Skipped++
	}
	e.sum.Warnings += len(r.Warnings)
	return e.emit(r)
}

func isEmpty(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// findHeader consumes rows up to and including the header and prepares
// the mapper for the columns found there.
func (e *engine) findHeader(src rowSource) error {
	p := e.m.p
	var seen [][]string
	var nearMissing []string
	bestMatched := -1
	for n := 0; ; n++ {
		cells, _, line, err := src.next()
		if _, bad := err.(*rowReadError); bad {
			continue // a malformed title line above the header
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if p.HeaderRow > 0 {
			if line < p.HeaderRow {
				continue
			}
			if line > p.HeaderRow {
				return fmt.Errorf("%w: header_row is %d, but that line is empty or cannot be split into columns", ErrNoHeader, p.HeaderRow)
			}
		} else if n >= maxHeaderScan {
			break
		}
		cols, missing, matched := headerMatch(cells, p)
		if len(missing) == 0 {
			e.m.setHeader(cells, cols)
			e.sum.HeaderLine = line
			e.sum.Header = slices.Clone(e.m.header)
			return nil
		}
		if p.HeaderRow > 0 {
			return fmt.Errorf("%w: header_row %d has the columns %s but lacks %s", ErrNoHeader, p.HeaderRow, describeColumns(cells), quoteAll(missing))
		}
		seen = append(seen, slices.Clone(cells))
		if matched > bestMatched {
			bestMatched, nearMissing = matched, missing
		}
	}
	if len(seen) == 0 {
		return ErrEmpty
	}
	return fmt.Errorf("%w: profile %q needs the columns %s; the closest row lacks %s; the file's columns look like: %s",
		ErrNoHeader, p.Name, quoteAll(p.namedColumns()), quoteAll(nearMissing), describeColumns(widestRow(seen)))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
