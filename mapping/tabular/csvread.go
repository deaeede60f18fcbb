package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// csvReader splits records exactly as encoding/csv's Reader does with the
// settings Stream needs (FieldsPerRecord -1, LazyQuotes and
// TrimLeadingSpace false, no comment character, ReuseRecord): the same
// fields, the same line numbers, the same *csv.ParseError values.
//
// It exists for speed. encoding/csv copies every field into a buffer and
// records its position before it makes the record's string, and that was
// the largest single cost of reading an export. Nearly every line of an
// export holds no quote at all; such a line is one string, and its
// fields are cut from it at the delimiters. A line with a quote takes
// readQuoted, encoding/csv's own algorithm (Go 1.26) without the options
// Stream does not use.
type csvReader struct {
	r       *bufio.Reader
	comma   rune
	numLine int
	err     error // a delimiter encoding/csv would refuse

	rawBuffer    []byte
	recordBuffer []byte
	fieldIndexes []int
	record       []string
}

// errInvalidDelim is encoding/csv's error for an unusable delimiter.
var errInvalidDelim = errors.New("csv: invalid field or comment delimiter")

func newCSVReader(r *bufio.Reader, comma rune) *csvReader {
	c := &csvReader{r: r, comma: comma}
	if comma == 0 || comma == '"' || comma == '\r' || comma == '\n' || !utf8.ValidRune(comma) || comma == utf8.RuneError {
		c.err = errInvalidDelim
	}
	return c
}

// readLine is encoding/csv's: it reads one line, however long, drops a
// trailing \r before EOF and turns a final \r\n into \n.
func (r *csvReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.rawBuffer = append(r.rawBuffer[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.r.ReadSlice('\n')
			r.rawBuffer = append(r.rawBuffer, line...)
		}
		line = r.rawBuffer
	}
	readSize := len(line)
	if readSize > 0 && err == io.EOF {
		err = nil
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	r.numLine++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

// read returns the next record and the line it starts on. The record is
// overwritten by the next call. text is the record's line when its
// fields are the pieces of it between delimiters (no field is quoted),
// else empty. An error other than io.EOF comes without a record: a
// *csv.ParseError for a row that cannot be split, anything else from
// reading.
func (r *csvReader) read() ([]string, string, int, error) {
	if r.err != nil {
		return nil, "", 0, r.err
	}
	// Skip empty lines, as encoding/csv does.
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = r.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			continue
		}
		break
	}
	if errRead == io.EOF {
		return nil, "", 0, errRead
	}
	recLine := r.numLine
	if errRead == nil && bytes.IndexByte(line, '"') < 0 {
		// Every field is unquoted, so each is the text between two
		// delimiters, and encoding/csv's buffer would hold exactly the
		// line without its delimiters.
		text := string(line[:len(line)-lengthNL(line)])
		rec, rest := r.record[:0], text
		for {
			i := strings.IndexRune(rest, r.comma)
			if i < 0 {
				break
			}
			rec = append(rec, rest[:i])
			rest = rest[i+utf8.RuneLen(r.comma):]
		}
		r.record = append(rec, rest)
		return r.record, text, recLine, nil
	}
	if err := r.readQuoted(line, errRead, recLine); err != nil {
		return nil, "", 0, err
	}
	return r.record, "", recLine, nil
}

// readQuoted is the field loop of encoding/csv's readRecord (Go 1.26,
// Copyright The Go Authors, BSD-style licence), for a record whose first
// line is line, without the branches for options Stream does not set. It
// fills r.record.
func (r *csvReader) readQuoted(line []byte, errRead error, recLine int) error {
	var err error
	const quoteLen = len(`"`)
	commaLen := utf8.RuneLen(r.comma)
	r.recordBuffer = r.recordBuffer[:0]
	r.fieldIndexes = r.fieldIndexes[:0]
	pos := struct{ line, col int }{line: r.numLine, col: 1}
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			// Non-quoted string field
			i := bytes.IndexRune(line, r.comma)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			// Check to make sure a quote does not appear in field.
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				col := pos.col + j
				err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: col, Err: csv.ErrBareQuote}
				break parseField
			}
			r.recordBuffer = append(r.recordBuffer, field...)
			r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
			if i >= 0 {
				line = line[i+commaLen:]
				pos.col += i + commaLen
				continue parseField
			}
			break parseField
		}
		// Quoted string field
		line = line[quoteLen:]
		pos.col += quoteLen
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				// Hit next quote.
				r.recordBuffer = append(r.recordBuffer, line[:i]...)
				line = line[i+quoteLen:]
				pos.col += i + quoteLen
				switch rn, _ := utf8.DecodeRune(line); {
				case rn == '"':
					// `""` sequence (append quote).
					r.recordBuffer = append(r.recordBuffer, '"')
					line = line[quoteLen:]
					pos.col += quoteLen
				case rn == r.comma:
					// `",` sequence (end of field).
					line = line[commaLen:]
					pos.col += commaLen
					r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
					continue parseField
				case lengthNL(line) == len(line):
					// `"\n` sequence (end of line).
					r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
					break parseField
				default:
					// `"*` sequence (invalid non-escaped quote).
					err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: pos.col - quoteLen, Err: csv.ErrQuote}
					break parseField
				}
			} else if len(line) > 0 {
				// Hit end of line (copy all data so far).
				r.recordBuffer = append(r.recordBuffer, line...)
				if errRead != nil {
					break parseField
				}
				pos.col += len(line)
				line, errRead = r.readLine()
				if len(line) > 0 {
					pos.line++
					pos.col = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			} else {
				// Abrupt end of file (EOF or error).
				if errRead == nil {
					err = &csv.ParseError{StartLine: recLine, Line: pos.line, Column: pos.col, Err: csv.ErrQuote}
					break parseField
				}
				r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
				break parseField
			}
		}
	}
	if err == nil {
		err = errRead
	}
	if err != nil {
		return err
	}
	// One string for the record, as encoding/csv makes.
	str := string(r.recordBuffer)
	rec := r.record[:0]
	var preIdx int
	for _, idx := range r.fieldIndexes {
		rec = append(rec, str[preIdx:idx])
		preIdx = idx
	}
	r.record = rec
	return nil
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}
