package hl7

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/praxisbote/praxisbote/schemas"
)

// File-level errors. Everything below file level is a Problem.
var (
	ErrEmpty  = errors.New("hl7: file is empty")
	ErrBinary = errors.New("hl7: not a text file (contains NUL bytes, e.g. UTF-16)")
	ErrNotHL7 = errors.New("hl7: not an HL7 v2 file: no MSH segment")
	// ErrNotScheduling is returned when no message of the file is SIU.
	ErrNotScheduling = errors.New("hl7: not a scheduling message")
)

// Character sets a message can be decoded with, by IANA name.
const (
	CharsetASCII   = "US-ASCII"
	CharsetUTF8    = "UTF-8"
	CharsetLatin1  = "ISO-8859-1"
	CharsetLatin9  = "ISO-8859-15"
	CharsetWin1252 = "windows-1252"
)

// Delimiters are a message's encoding characters, from MSH-1 and MSH-2.
// A zero byte means the message declares no such character.
type Delimiters struct {
	Field        byte
	Component    byte
	Repetition   byte
	Escape       byte
	Subcomponent byte
}

// encoding is what every value of one message needs to be read.
type encoding struct {
	d       Delimiters
	charset string
}

// Message is one HL7 v2 message: an MSH segment and every segment up to
// the next MSH. Segments hold clinical text (NTE, OBX, DG1); a Message
// exists for mapping, tests and diagnostics and must never be logged.
type Message struct {
	// Line is the line of MSH.
	Line       int
	Delimiters Delimiters
	// Charset is the character set the values are decoded with.
	Charset  string
	Segments []Segment
}

// Type returns MSH-9.1 and MSH-9.2, e.g. "SIU", "S12".
func (m Message) Type() (messageType, trigger string) {
	if len(m.Segments) == 0 {
		return "", ""
	}
	f := m.Segments[0].Field(9)
	return strings.TrimSpace(f.Component(1).String()), strings.TrimSpace(f.Component(2).String())
}

// First returns the first segment named name.
func (m Message) First(name string) (Segment, bool) {
	for _, s := range m.Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// All returns every segment named name, in message order.
func (m Message) All(name string) []Segment {
	var out []Segment
	for _, s := range m.Segments {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Segment is one segment: its line, its name and its fields, still
// escaped; Field reads them.
type Segment struct {
	// Line is the physical line of the segment (1-based). Segments end at
	// CR, LF or CRLF, so every segment is one line.
	Line int
	// Name is the segment id, e.g. "PID".
	Name   string
	fields []string // fields[0] is the name; for MSH, fields[1] is MSH-1
	enc    *encoding
}

// Field returns field n (1-based, as in "PID-3"). MSH-1 and MSH-2 are the
// delimiters themselves and are returned as they are, never split.
func (s Segment) Field(n int) Value {
	if n < 1 || n >= len(s.fields) {
		return Value{enc: s.enc}
	}
	return Value{raw: s.fields[n], enc: s.enc, literal: s.Name == "MSH" && n <= 2}
}

// Fields is the number of the segment's last field.
func (s Segment) Fields() int { return len(s.fields) - 1 }

// Value is a field, a repetition, a component or a subcomponent. It keeps
// the raw, escaped text; String decodes it.
type Value struct {
	raw     string
	enc     *encoding
	literal bool
}

// Raw is the value as written, escapes included.
func (v Value) Raw() string { return v.raw }

// Empty tells whether the value is missing or the HL7 null `""`.
func (v Value) Empty() bool { return v.raw == "" || v.raw == `""` }

// Repetitions splits a field at the repetition character.
func (v Value) Repetitions() []Value {
	if v.raw == "" {
		return nil
	}
	if v.literal || v.enc == nil || v.enc.d.Repetition == 0 {
		return []Value{v}
	}
	parts := strings.Split(v.raw, string(v.enc.d.Repetition))
	out := make([]Value, len(parts))
	for i, p := range parts {
		out[i] = Value{raw: p, enc: v.enc}
	}
	return out
}

// Component returns component i (1-based) of the value's first repetition.
func (v Value) Component(i int) Value {
	if v.literal || v.enc == nil {
		return v.part(i, 0)
	}
	first := v.raw
	if r := v.enc.d.Repetition; r != 0 {
		first, _, _ = strings.Cut(first, string(r))
	}
	return Value{raw: first, enc: v.enc}.part(i, v.enc.d.Component)
}

// Subcomponent returns subcomponent i (1-based) of the value's first
// component.
func (v Value) Subcomponent(i int) Value {
	if v.literal || v.enc == nil {
		return v.part(i, 0)
	}
	first := v.Component(1)
	return first.part(i, v.enc.d.Subcomponent)
}

func (v Value) part(i int, sep byte) Value {
	if sep == 0 {
		if i == 1 {
			return v
		}
		return Value{enc: v.enc}
	}
	parts := strings.Split(v.raw, string(sep))
	if i < 1 || i > len(parts) {
		return Value{enc: v.enc}
	}
	return Value{raw: parts[i-1], enc: v.enc}
}

// String is the decoded text: escape sequences resolved (\F\ \S\ \T\ \R\
// \E\, \Xhh…\ as bytes, \.br\ as a line break, formatting escapes
// dropped) and the message's character set turned into UTF-8. The HL7
// null `""` is "".
func (v Value) String() string {
	if v.raw == `""` {
		return ""
	}
	if v.literal || v.enc == nil {
		return toUTF8([]byte(v.raw), CharsetUTF8)
	}
	return toUTF8(unescape(v.raw, v.enc.d), v.enc.charset)
}

func unescape(raw string, d Delimiters) []byte {
	esc := d.Escape
	if esc == 0 || strings.IndexByte(raw, esc) < 0 {
		return []byte(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != esc {
			out = append(out, c)
			i++
			continue
		}
		j := strings.IndexByte(raw[i+1:], esc)
		if j < 0 {
			out = append(out, raw[i:]...) // unterminated: literal
			break
		}
		seq := raw[i+1 : i+1+j]
		whole := raw[i : i+j+2]
		i += j + 2
		switch {
		case seq == "F" && d.Field != 0:
			out = append(out, d.Field)
		case seq == "S" && d.Component != 0:
			out = append(out, d.Component)
		case seq == "T" && d.Subcomponent != 0:
			out = append(out, d.Subcomponent)
		case seq == "R" && d.Repetition != 0:
			out = append(out, d.Repetition)
		case seq == "E":
			out = append(out, esc)
		case len(seq) > 1 && (seq[0] == 'X' || seq[0] == 'x'):
			b, err := hex.DecodeString(seq[1:])
			if err != nil {
				out = append(out, whole...)
				continue
			}
			out = append(out, b...)
		case seq == ".br" || strings.HasPrefix(seq, ".sp"):
			out = append(out, '\n')
		case seq == "H" || seq == "N" || strings.HasPrefix(seq, ".") ||
			(len(seq) > 1 && (seq[0] == 'C' || seq[0] == 'M' || seq[0] == 'Z')):
			// Highlighting, formatting and character-set switches carry no
			// text of their own.
		default:
			out = append(out, whole...)
		}
	}
	return out
}

func toUTF8(b []byte, charset string) string {
	switch charset {
	case CharsetLatin1:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	case CharsetLatin9:
		s, _ := charmap.ISO8859_15.NewDecoder().Bytes(b)
		return string(s)
	case CharsetWin1252:
		s, _ := charmap.Windows1252.NewDecoder().Bytes(b)
		return string(s)
	case CharsetASCII:
		// Only a \X..\ escape can put a high byte into an ASCII message;
		// UTF-8 is the likely intent, Latin-1 the fallback.
		if !utf8.Valid(b) {
			return toUTF8(b, CharsetLatin1)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// line is one physical line.
type line struct {
	num  int
	data []byte
}

// splitLines splits at CR, LF or CRLF. MLLP framing bytes (0x0B at the
// start of a message, 0x1C at its end) are dropped.
func splitLines(data []byte) []line {
	var out []line
	num := 0
	for start := 0; start < len(data); {
		num++
		end := start
		for end < len(data) && data[end] != '\r' && data[end] != '\n' {
			end++
		}
		next := end
		if next < len(data) {
			if data[next] == '\r' && next+1 < len(data) && data[next+1] == '\n' {
				next += 2
			} else {
				next++
			}
		}
		l := bytes.TrimLeft(data[start:end], "\x0b")
		l = bytes.TrimRight(l, "\x1c")
		out = append(out, line{num: num, data: l})
		start = next
	}
	return out
}

// Decode splits an HL7 v2 file into messages (each MSH starts one) and
// reads every message with the delimiters of its own MSH. Problems are
// warnings about the file's form; a message whose MSH cannot be read is
// reported and left out. The error is only for files that are not HL7 v2.
func Decode(data []byte) ([]Message, []schemas.Problem, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, ErrEmpty
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, ErrBinary
	}
	var (
		probs   []schemas.Problem
		msgs    []Message
		cur     *Message
		raw     [][]byte // raw lines of cur, for the character set check
		skipMsg bool     // inside a message whose MSH was unreadable
		outside int
		outLine int
		sawMSH  bool
	)
	flush := func() {
		if cur == nil {
			return
		}
		cur.Charset, probs = chooseCharset(*cur, raw, probs)
		msgs = append(msgs, *cur)
		cur, raw = nil, nil
	}
	for _, l := range splitLines(data) {
		if len(bytes.TrimSpace(l.data)) == 0 {
			continue
		}
		if bytes.HasPrefix(l.data, []byte("MSH")) {
			sawMSH = true
			flush()
			msg, err := readMSH(l)
			if err != nil {
				probs = append(probs, schemas.Problem{Line: l.num, Field: "MSH-2", Reason: err.Error() + "; message not read"})
				skipMsg = true
				continue
			}
			skipMsg = false
			cur = &msg
			raw = append(raw, l.data)
			continue
		}
		if cur == nil {
			if skipMsg {
				continue
			}
			name := string(l.data[:min(3, len(l.data))])
			if name == "FHS" || name == "BHS" || name == "FTS" || name == "BTS" {
				continue // batch envelope: no content of its own
			}
			if outside == 0 {
				outLine = l.num
			}
			outside++
			continue
		}
		seg, ok := readSegment(l, cur)
		if !ok {
			probs = append(probs, schemas.Problem{Line: l.num, Reason: "not an HL7 segment; ignored"})
			continue
		}
		if seg.Name == "FTS" || seg.Name == "BTS" {
			flush()
			continue
		}
		cur.Segments = append(cur.Segments, seg)
		raw = append(raw, l.data)
	}
	flush()
	if !sawMSH {
		return nil, nil, ErrNotHL7
	}
	if outside > 0 {
		probs = append(probs, schemas.Problem{Line: outLine,
			Reason: fmt.Sprintf("%d line(s) before the first MSH ignored", outside)})
	}
	sortProblems(probs)
	return msgs, probs, nil
}

// readMSH reads MSH-1 (the field separator) and MSH-2 (component,
// repetition, escape, subcomponent and, from v2.7, truncation characters).
func readMSH(l line) (Message, error) {
	d := l.data
	if len(d) < 5 {
		return Message{}, errors.New("MSH has no encoding characters")
	}
	fs := d[3]
	if !delimiterOK(fs) {
		return Message{}, errors.New("MSH-1 field separator is not a punctuation character")
	}
	rest := d[4:]
	encEnd := bytes.IndexByte(rest, fs)
	if encEnd < 0 {
		encEnd = len(rest)
	}
	encChars := rest[:encEnd]
	if len(encChars) < 1 || len(encChars) > 5 {
		return Message{}, errors.New("MSH-2 must hold 1 to 5 encoding characters")
	}
	seen := map[byte]bool{fs: true}
	for _, c := range encChars {
		if !delimiterOK(c) || seen[c] {
			return Message{}, errors.New("MSH-2 encoding characters are not distinct punctuation characters")
		}
		seen[c] = true
	}
	delims := Delimiters{Field: fs}
	targets := []*byte{&delims.Component, &delims.Repetition, &delims.Escape, &delims.Subcomponent}
	for i, c := range encChars {
		if i < len(targets) {
			*targets[i] = c
		}
	}
	m := Message{Line: l.num, Delimiters: delims}
	enc := &encoding{d: delims, charset: CharsetUTF8}
	fields := []string{"MSH", string(fs), string(encChars)}
	if encEnd < len(rest) {
		fields = append(fields, strings.Split(string(rest[encEnd+1:]), string(fs))...)
	}
	m.Segments = []Segment{{Line: l.num, Name: "MSH", fields: fields, enc: enc}}
	return m, nil
}

func delimiterOK(c byte) bool {
	return c > ' ' && c < 0x7F && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z')
}

func readSegment(l line, m *Message) (Segment, bool) {
	d := l.data
	if len(d) < 3 || !isSegmentName(d[:3]) || (len(d) > 3 && d[3] != m.Delimiters.Field) {
		return Segment{}, false
	}
	return Segment{
		Line:   l.num,
		Name:   string(d[:3]),
		fields: strings.Split(string(d), string(m.Delimiters.Field)),
		enc:    m.Segments[0].enc,
	}, true
}

func isSegmentName(b []byte) bool {
	if b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, c := range b[1:] {
		if !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// chooseCharset reads MSH-18 and checks it against the bytes, as the GDT
// reader does: valid multi-byte UTF-8 wins over a single-byte declaration
// (UTF-8 read as Latin-1 turns every umlaut into two wrong characters),
// and high bytes in a message declared ASCII are read as Windows-1252.
func chooseCharset(m Message, raw [][]byte, probs []schemas.Problem) (string, []schemas.Problem) {
	body := bytes.Join(raw, []byte{'\r'})
	high := false
	for _, c := range body {
		if c >= 0x80 {
			high = true
			break
		}
	}
	// MSH-18 may repeat (ISO 2022 switching); the first is the default set.
	declared := strings.ToUpper(strings.TrimSpace(m.Segments[0].Field(18).Component(1).String()))
	charset := ""
	switch declared {
	case "", "ASCII":
		charset = CharsetASCII
	case "8859/1":
		charset = CharsetLatin1
	case "8859/15":
		charset = CharsetLatin9
	case "UNICODE UTF-8", "UNICODE", "UTF-8":
		charset = CharsetUTF8
	default:
		probs = append(probs, schemas.Problem{Line: m.Line, Field: "MSH-18",
			Reason: "character set " + quote(declared) + " is not supported; read by its bytes"})
	}
	set := func(cs string) string {
		m.Segments[0].enc.charset = cs
		return cs
	}
	switch {
	case !high && charset != "":
		return set(charset), probs
	case !high:
		return set(CharsetASCII), probs
	case utf8.Valid(body):
		if charset != CharsetUTF8 && charset != "" {
			probs = append(probs, schemas.Problem{Line: m.Line, Field: "MSH-18",
				Reason: "message declares " + describe(declared) + " but its bytes are UTF-8; read as UTF-8"})
		}
		return set(CharsetUTF8), probs
	case charset == CharsetLatin1 || charset == CharsetLatin9:
		return set(charset), probs
	case charset == CharsetUTF8:
		probs = append(probs, schemas.Problem{Line: m.Line, Field: "MSH-18",
			Reason: "message declares UTF-8 but is not valid UTF-8; invalid bytes replaced by U+FFFD"})
		return set(CharsetUTF8), probs
	}
	probs = append(probs, schemas.Problem{Line: m.Line, Field: "MSH-18",
		Reason: "message declares " + describe(declared) + " but contains bytes above 0x7F; read as Windows-1252"})
	return set(CharsetWin1252), probs
}

func describe(declared string) string {
	if declared == "" {
		return "no character set (ASCII)"
	}
	return quote(declared)
}

// quote names a value from the file in a problem, shortened.
func quote(s string) string {
	r := []rune(s)
	if len(r) > 24 {
		return fmt.Sprintf("%q…", string(r[:24]))
	}
	return fmt.Sprintf("%q", s)
}

// sortProblems orders problems by line so a reader can walk the file once;
// the sort is stable so problems of one line keep the order they were found.
func sortProblems(p []schemas.Problem) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Line < p[j].Line })
}
