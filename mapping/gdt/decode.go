package gdt

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/praxisbote/praxisbote/schemas"
)

// Character sets a record can be decoded with, by IANA name.
const (
	// CharsetDIN66003 is GDT's "7-Bit" set (9206 = 1): ASCII with
	// [ \ ] { | } ~ @ replaced by Ä Ö Ü ä ö ü ß §, the German ISO 646
	// variant the xDT family means by 7 bit.
	CharsetDIN66003 = "DIN_66003"
	// CharsetCP437 is 9206 = 2 and the spec default when 9206 is missing.
	CharsetCP437 = "IBM437"
	// CharsetLatin1 is 9206 = 3.
	CharsetLatin1 = "ISO-8859-1"
	// CharsetUTF8 is never declared by GDT 2.1/3.0; it is used when the
	// bytes prove a writer ignored its own declaration.
	CharsetUTF8 = "UTF-8"
)

// File-level errors. Everything below file level is a Problem.
var (
	ErrEmpty  = errors.New("gdt: file is empty")
	ErrBinary = errors.New("gdt: not a text file (contains NUL bytes, e.g. UTF-16)")
	ErrNotGDT = errors.New("gdt: not a GDT file: no record type field 8000")
)

// Field is one GDT line: its physical line number (1-based), the four-digit
// field id and the decoded value, untrimmed.
type Field struct {
	Line  int
	ID    string
	Value string
}

// Record is one GDT record (Satz): everything from an 8000 line up to the
// next 8000 line. Fields holds every field in file order, including clinical
// text; it exists for tests and diagnostics and must never be logged.
type Record struct {
	// Type is the record type (8000), e.g. "6310".
	Type string
	// Version is the GDT version (9218), e.g. "02.10"; empty if missing.
	Version string
	// Charset is the character set the values were decoded with.
	Charset string
	// Line is the line of the 8000 field.
	Line int
	// Size is the record's length in bytes including line ends, the number
	// 8100 declares.
	Size   int
	Fields []Field
}

// Values returns the values of every field with id, in file order.
func (r Record) Values(id string) []string {
	var out []string
	for _, f := range r.Fields {
		if f.ID == id {
			out = append(out, f.Value)
		}
	}
	return out
}

// First returns the first field with id.
func (r Record) First(id string) (Field, bool) {
	for _, f := range r.Fields {
		if f.ID == id {
			return f, true
		}
	}
	return Field{}, false
}

// rawLine is one physical line before decoding.
type rawLine struct {
	num     int
	start   int // offset of the first byte
	content []byte
	next    int // offset after the line end
	lf      bool
}

type rawField struct {
	line   int
	id     string
	prefix []byte
	value  []byte
}

type rawRecord struct {
	line   int
	start  int
	end    int // offset after the last line end
	lfOnly int // lines ended by a bare LF: each would be one byte longer with CRLF
	fields []rawField
}

// Decode splits a GDT file into records and decodes each record's values
// with the character set the record declares. Problems are warnings about
// the file's form (length prefixes, 8100, character set); none of them
// stops decoding. The error is only for files that are not GDT at all.
func Decode(data []byte) ([]Record, []schemas.Problem, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, ErrEmpty
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, ErrBinary
	}
	var probs []schemas.Problem
	forceUTF8 := false
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		// A BOM is something GDT never writes, but when it is there it is
		// the strongest statement about the encoding the file can make.
		data = data[3:]
		forceUTF8 = true
		probs = append(probs, schemas.Problem{Line: 1, Reason: "file starts with a UTF-8 byte order mark; read as UTF-8"})
	}

	lines := splitLines(data)
	var recs []rawRecord
	outside := 0
	outsideLine := 0
	pendingBlank := 0
	for _, l := range lines {
		if len(l.content) == 0 {
			if pendingBlank == 0 {
				pendingBlank = l.num
			}
			continue
		}
		if pendingBlank != 0 {
			// Only blank lines between fields are worth a warning; blank
			// lines at the end of a file change nothing.
			probs = append(probs, schemas.Problem{Line: pendingBlank, Reason: "empty line ignored"})
			pendingBlank = 0
		}
		if len(l.content) < 7 || !allDigits(l.content[3:7]) {
			probs = append(probs, schemas.Problem{Line: l.num, Reason: "not a GDT field line (LLLFFFF…); ignored"})
			continue
		}
		f := rawField{line: l.num, id: string(l.content[3:7]), prefix: l.content[:3], value: l.content[7:]}
		if f.id == "8000" {
			recs = append(recs, rawRecord{line: l.num, start: l.start})
		}
		if len(recs) == 0 {
			if outside == 0 {
				outsideLine = l.num
			}
			outside++
			continue
		}
		r := &recs[len(recs)-1]
		r.fields = append(r.fields, f)
		r.end = l.next
		if l.lf {
			r.lfOnly++
		}
	}
	if len(recs) == 0 {
		return nil, nil, ErrNotGDT
	}
	if outside > 0 {
		probs = append(probs, schemas.Problem{Line: outsideLine,
			Reason: fmt.Sprintf("%d line(s) before the first record (8000) ignored", outside)})
	}

	out := make([]Record, 0, len(recs))
	for _, rr := range recs {
		rec, p := decodeRecord(data, rr, forceUTF8)
		probs = append(probs, p...)
		out = append(out, rec)
	}
	sortProblems(probs)
	return out, probs, nil
}

func decodeRecord(data []byte, rr rawRecord, forceUTF8 bool) (Record, []schemas.Problem) {
	var probs []schemas.Problem
	rec := Record{Line: rr.line, Size: rr.end - rr.start}

	charset, declared := CharsetCP437, "none (spec default IBM437)"
	for _, f := range rr.fields {
		if f.id != "9206" {
			continue
		}
		switch strings.TrimSpace(string(f.value)) {
		case "1":
			charset, declared = CharsetDIN66003, "7 bit (DIN 66003)"
		case "2":
			charset, declared = CharsetCP437, "IBM437"
		case "3":
			charset, declared = CharsetLatin1, "ISO-8859-1"
		default:
			probs = append(probs, schemas.Problem{Line: f.line, Field: "9206",
				Reason: "unknown character set code; read as IBM437 (spec default)"})
		}
		break
	}
	body := data[rr.start:rr.end]
	switch {
	case forceUTF8:
		charset = CharsetUTF8
	case utf8.Valid(body) && hasHighByte(body):
		// In valid UTF-8 every byte above 0x7F belongs to a multi-byte
		// sequence, so this is "valid UTF-8 with at least one non-ASCII
		// character".
		// Latin-1 and CP437 text with umlauts is almost never valid UTF-8
		// by accident, while UTF-8 read as Latin-1 turns every umlaut into
		// two wrong characters. So valid multi-byte UTF-8 wins over the
		// declaration, and the warning tells the practice to fix the writer.
		probs = append(probs, schemas.Problem{Line: rr.line, Field: "9206",
			Reason: fmt.Sprintf("record declares character set %s but its bytes are UTF-8; read as UTF-8", declared)})
		charset = CharsetUTF8
	case charset == CharsetLatin1 && hasC1(body):
		// Bytes 0x80–0x9F are control characters in ISO-8859-1 and never
		// text; they usually mean CP437 or Windows-1252 declared as Latin-1.
		probs = append(probs, schemas.Problem{Line: rr.line, Field: "9206",
			Reason: "record declares ISO-8859-1 but contains control bytes 0x80–0x9F; check the writer's character set"})
	case charset == CharsetDIN66003 && hasHighByte(body):
		probs = append(probs, schemas.Problem{Line: rr.line, Field: "9206",
			Reason: "record declares 7-bit text but contains bytes above 0x7F; those were replaced by U+FFFD"})
	}
	rec.Charset = charset

	for _, f := range rr.fields {
		if n, err := strconv.Atoi(string(f.prefix)); err != nil || n < 0 {
			probs = append(probs, schemas.Problem{Line: f.line, Field: f.id, Reason: "length prefix is not a number"})
		} else if want := len(f.value) + 9; n != want {
			// LLL counts itself, the field id, the value and CRLF.
			probs = append(probs, schemas.Problem{Line: f.line, Field: f.id,
				Reason: fmt.Sprintf("length prefix %03d does not match the line (%03d bytes)", n, want)})
		}
		rec.Fields = append(rec.Fields, Field{Line: f.line, ID: f.id, Value: decodeValue(f.value, charset)})
	}
	rec.Type = strings.TrimSpace(rec.Fields[0].Value)
	if v, ok := rec.First("9218"); ok {
		rec.Version = strings.TrimSpace(v.Value)
	}

	if f, ok := rec.First("8100"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(f.Value))
		switch {
		case err != nil:
			probs = append(probs, schemas.Problem{Line: f.Line, Field: "8100", Reason: "record length is not a number"})
		case n == rec.Size || n == rec.Size+rr.lfOnly:
			// The second form is the same record with its CRLF turned into
			// LF by a copy; the content is unchanged, so nothing to report.
		default:
			probs = append(probs, schemas.Problem{Line: f.Line, Field: "8100",
				Reason: fmt.Sprintf("record length says %d bytes, the record has %d", n, rec.Size)})
		}
	} else {
		probs = append(probs, schemas.Problem{Line: rec.Line, Field: "8100", Reason: "record has no record length (8100)"})
	}
	return rec, probs
}

// splitLines splits at LF (CRLF or bare LF). A file without any LF but with
// CR is split at CR, which is what old Mac-style writers produce.
func splitLines(data []byte) []rawLine {
	sep := byte('\n')
	if bytes.IndexByte(data, '\n') < 0 {
		sep = '\r'
	}
	var out []rawLine
	num, start := 0, 0
	for start < len(data) {
		num++
		i := bytes.IndexByte(data[start:], sep)
		end, next := len(data), len(data)
		if i >= 0 {
			end, next = start+i, start+i+1
		}
		content := data[start:end]
		lf := false
		if sep == '\n' && i >= 0 {
			if len(content) > 0 && content[len(content)-1] == '\r' {
				content = content[:len(content)-1]
			} else {
				lf = true
			}
		}
		out = append(out, rawLine{num: num, start: start, content: content, next: next, lf: lf})
		start = next
	}
	return out
}

var din66003 = map[byte]rune{
	'@': '§', '[': 'Ä', '\\': 'Ö', ']': 'Ü', '{': 'ä', '|': 'ö', '}': 'ü', '~': 'ß',
}

func decodeValue(b []byte, charset string) string {
	switch charset {
	case CharsetUTF8:
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case CharsetLatin1:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	case CharsetDIN66003:
		var sb strings.Builder
		for _, c := range b {
			switch {
			case c >= 0x80:
				sb.WriteRune(utf8.RuneError)
			case din66003[c] != 0:
				sb.WriteRune(din66003[c])
			default:
				sb.WriteByte(c)
			}
		}
		return sb.String()
	default:
		var sb strings.Builder
		for _, c := range b {
			if c < 0x80 {
				sb.WriteByte(c)
				continue
			}
			sb.WriteRune(charmap.CodePage437.DecodeByte(c))
		}
		return sb.String()
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func hasHighByte(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func hasC1(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 && c <= 0x9F {
			return true
		}
	}
	return false
}

// sortProblems orders problems by line so a reader can walk the file once;
// the sort is stable so problems of one line keep the order they were found.
func sortProblems(p []schemas.Problem) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Line < p[j].Line })
}
