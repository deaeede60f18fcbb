package ical

import (
	"bytes"
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
	ErrEmpty   = errors.New("ical: file is empty")
	ErrBinary  = errors.New("ical: not a text file (contains NUL bytes, e.g. UTF-16)")
	ErrNotICal = errors.New("ical: not an iCalendar file: no BEGIN:VCALENDAR")
)

// Property is one content line after unfolding (RFC 5545 §3.1): its name,
// its parameters and its value as written. Value keeps the TEXT escapes;
// Text removes them. Values can be clinical (DESCRIPTION); a Property
// exists for mapping, tests and diagnostics and must never be logged.
type Property struct {
	// Line is the physical line the property starts on (1-based).
	Line int
	// Name is upper case, e.g. "DTSTART", "X-PRAXIS-PATNR".
	Name string
	// Params maps upper-case parameter names to their values, with
	// DQUOTEs removed and RFC 6868 ^-escapes decoded.
	Params map[string][]string
	// Value is the raw value: unfolded and decoded to UTF-8, escapes kept.
	Value string
}

// Param returns the first value of a parameter, "" when it is missing.
func (p Property) Param(name string) string {
	if v := p.Params[strings.ToUpper(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Text returns the value with the TEXT escapes of RFC 5545 §3.3.11
// removed: "\," → ",", "\;" → ";", "\\" → "\", "\n" and "\N" → line break.
// A backslash before any other character is dropped, as lenient readers
// do; a trailing lone backslash is kept.
func (p Property) Text() string {
	return unescapeText(p.Value)
}

func unescapeText(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var sb strings.Builder
	sb.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch v[i] {
		case 'n', 'N':
			sb.WriteByte('\n')
		default:
			sb.WriteByte(v[i])
		}
	}
	return sb.String()
}

// Component is one BEGIN…END block (VCALENDAR, VEVENT, VTIMEZONE, …) with
// its properties and nested components, in file order.
type Component struct {
	// Name is upper case, e.g. "VEVENT".
	Name string
	// Line is the line of BEGIN.
	Line       int
	Properties []Property
	Components []Component
}

// Prop returns the first property with name (case-insensitive).
func (c Component) Prop(name string) (Property, bool) {
	name = strings.ToUpper(name)
	for _, p := range c.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// Props returns every property with name (case-insensitive), in file order.
func (c Component) Props(name string) []Property {
	name = strings.ToUpper(name)
	var out []Property
	for _, p := range c.Properties {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// Children returns the nested components named name (case-insensitive).
func (c Component) Children(name string) []Component {
	name = strings.ToUpper(name)
	var out []Component
	for _, k := range c.Components {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// logicalLine is one content line after unfolding, still as bytes.
type logicalLine struct {
	num  int
	data []byte
}

// Decode splits an iCalendar file into its components. It unfolds at the
// byte level before decoding UTF-8 (a fold may fall between the bytes of
// one character), then parses every content line. Problems are warnings
// about the file's form; none of them stops decoding. The error is only for
// files that are not iCalendar at all.
func Decode(data []byte) ([]Component, []schemas.Problem, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, ErrEmpty
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, ErrBinary
	}
	var probs []schemas.Problem
	lines := unfold(data)
	decode, p := chooseDecoder(lines)
	probs = append(probs, p...)

	type open struct {
		c Component
	}
	var (
		top   []Component
		stack []open
	)
	closeTop := func() {
		c := stack[len(stack)-1].c
		stack = stack[:len(stack)-1]
		if len(stack) == 0 {
			top = append(top, c)
		} else {
			parent := &stack[len(stack)-1].c
			parent.Components = append(parent.Components, c)
		}
	}
	outside := 0
	outsideLine := 0
	for _, l := range lines {
		prop, ok := parseContentLine(l.num, decode(l.data))
		if !ok {
			probs = append(probs, schemas.Problem{Line: l.num, Reason: "not an iCalendar content line (NAME:value); ignored"})
			continue
		}
		switch prop.Name {
		case "BEGIN":
			stack = append(stack, open{c: Component{Name: strings.ToUpper(strings.TrimSpace(prop.Value)), Line: l.num}})
			continue
		case "END":
			name := strings.ToUpper(strings.TrimSpace(prop.Value))
			depth := -1
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].c.Name == name {
					depth = i
					break
				}
			}
			if depth < 0 {
				probs = append(probs, schemas.Problem{Line: l.num, Field: "END",
					Reason: fmt.Sprintf("END:%s without a matching BEGIN; ignored", clip(name))})
				continue
			}
			for len(stack)-1 > depth {
				c := stack[len(stack)-1].c
				probs = append(probs, schemas.Problem{Line: c.Line, Field: "BEGIN",
					Reason: fmt.Sprintf("BEGIN:%s is not closed before END:%s (line %d); closed there", clip(c.Name), clip(name), l.num)})
				closeTop()
			}
			closeTop()
			continue
		}
		if len(stack) == 0 {
			if outside == 0 {
				outsideLine = l.num
			}
			outside++
			continue
		}
		cur := &stack[len(stack)-1].c
		cur.Properties = append(cur.Properties, prop)
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1].c
		probs = append(probs, schemas.Problem{Line: c.Line, Field: "BEGIN",
			Reason: fmt.Sprintf("BEGIN:%s is never closed; read up to the end of the file", clip(c.Name))})
		closeTop()
	}
	if outside > 0 {
		probs = append(probs, schemas.Problem{Line: outsideLine,
			Reason: fmt.Sprintf("%d line(s) outside any component ignored", outside)})
	}
	found := false
	for _, c := range top {
		if c.Name == "VCALENDAR" {
			found = true
		}
	}
	if !found {
		return nil, nil, ErrNotICal
	}
	sortProblems(probs)
	return top, probs, nil
}

// unfold splits data into physical lines (CRLF, bare LF or bare CR) and
// joins every line that starts with a space or tab to the one before it,
// dropping that one whitespace byte. It works on bytes so a fold between
// the two bytes of "ü" (C3 | CRLF SPACE | BC) gives back "ü".
func unfold(data []byte) []logicalLine {
	var out []logicalLine
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
		line := data[start:end]
		start = next
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			last := &out[len(out)-1]
			last.data = append(last.data, line[1:]...)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		// A copy, so appending continuations never writes into data.
		out = append(out, logicalLine{num: num, data: append([]byte(nil), line...)})
	}
	return out
}

// chooseDecoder picks how the unfolded bytes become text. RFC 5545 says
// UTF-8. A file with no valid multi-byte sequence but with high bytes was
// written by a Windows tool in Windows-1252; a UTF-8 file with a few broken
// bytes keeps UTF-8 and gets U+FFFD for them.
func chooseDecoder(lines []logicalLine) (func([]byte) string, []schemas.Problem) {
	var bad []int
	multi := false
	for _, l := range lines {
		if !utf8.Valid(l.data) {
			bad = append(bad, l.num)
		}
		if !multi && hasValidMultiByte(l.data) {
			multi = true
		}
	}
	if len(bad) == 0 {
		return func(b []byte) string { return string(b) }, nil
	}
	if !multi {
		return func(b []byte) string {
				s, _ := charmap.Windows1252.NewDecoder().Bytes(b)
				return string(s)
			}, []schemas.Problem{{Line: bad[0],
				Reason: "file is not UTF-8 (RFC 5545 requires it); read as Windows-1252"}}
	}
	probs := make([]schemas.Problem, 0, len(bad))
	for _, n := range bad {
		probs = append(probs, schemas.Problem{Line: n, Reason: "line is not valid UTF-8; invalid bytes replaced by U+FFFD"})
	}
	return func(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }, probs
}

func hasValidMultiByte(b []byte) bool {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && size > 1 {
			return true
		}
		i += size
	}
	return false
}

// parseContentLine reads name *(";" param) ":" value (RFC 5545 §3.1).
func parseContentLine(num int, s string) (Property, bool) {
	i := 0
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	if i == 0 || i == len(s) || (s[i] != ':' && s[i] != ';') {
		return Property{}, false
	}
	p := Property{Line: num, Name: strings.ToUpper(s[:i])}
	for s[i] == ';' {
		i++
		j := i
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		if j == i || j == len(s) || s[j] != '=' {
			return Property{}, false
		}
		pname := strings.ToUpper(s[i:j])
		i = j + 1
		var values []string
		for {
			var v string
			if i < len(s) && s[i] == '"' {
				k := strings.IndexByte(s[i+1:], '"')
				if k < 0 {
					return Property{}, false
				}
				v = s[i+1 : i+1+k]
				i += k + 2
			} else {
				k := i
				for k < len(s) && s[k] != ',' && s[k] != ';' && s[k] != ':' && s[k] != '"' {
					k++
				}
				v = s[i:k]
				i = k
			}
			values = append(values, caretDecode(v))
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
		if p.Params == nil {
			p.Params = map[string][]string{}
		}
		p.Params[pname] = append(p.Params[pname], values...)
		if i >= len(s) || (s[i] != ';' && s[i] != ':') {
			return Property{}, false
		}
	}
	p.Value = s[i+1:]
	return p, true
}

func isNameChar(c byte) bool {
	return c == '-' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}

// caretDecode undoes RFC 6868 parameter escaping: ^n newline, ^' DQUOTE,
// ^^ caret. Any other ^ stays as it is.
func caretDecode(v string) string {
	if strings.IndexByte(v, '^') < 0 {
		return v
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '^' && i+1 < len(v) {
			switch v[i+1] {
			case 'n', 'N':
				sb.WriteByte('\n')
				i++
				continue
			case '\'':
				sb.WriteByte('"')
				i++
				continue
			case '^':
				sb.WriteByte('^')
				i++
				continue
			}
		}
		sb.WriteByte(v[i])
	}
	return sb.String()
}

// clip shortens a name taken from the file before it goes into a problem.
func clip(s string) string {
	if r := []rune(s); len(r) > 24 {
		return string(r[:24]) + "…"
	}
	return s
}

// sortProblems orders problems by line so a reader can walk the file once;
// the sort is stable so problems of one line keep the order they were found.
func sortProblems(p []schemas.Problem) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Line < p[j].Line })
}
