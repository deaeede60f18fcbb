package tabular

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The declared date and time syntax is deliberately tiny ("DD.MM.YYYY",
// "HH:MM") rather than Go's reference-time layouts: the people writing
// profiles know how a date looks in Excel, not what "02.01.2006" means.

type unit int

const (
	unitNone unit = iota
	unitYear
	unitMonth
	unitDay
	unitHour
	unitMinute
	unitSecond
)

type token struct {
	text     string
	unit     unit
	min, max int // digits
}

// German spellings (TT.MM.JJJJ) are accepted too: that is how German
// software and German support engineers write a date pattern.
var dateTokens = []token{
	{"YYYY", unitYear, 4, 4}, {"JJJJ", unitYear, 4, 4},
	{"MM", unitMonth, 2, 2}, {"DD", unitDay, 2, 2}, {"TT", unitDay, 2, 2},
	{"M", unitMonth, 1, 2}, {"D", unitDay, 1, 2}, {"T", unitDay, 1, 2},
}

var timeTokens = []token{
	{"HH", unitHour, 2, 2}, {"MM", unitMinute, 2, 2}, {"SS", unitSecond, 2, 2},
	{"H", unitHour, 1, 2},
}

type layoutPart struct {
	lit      string
	unit     unit
	min, max int
}

type layout struct {
	src   string
	parts []layoutPart
	// fixed is set when every number has a fixed digit count, as in
	// "DD.MM.YYYY" and "HH:MM": then a match has exactly len(shape)
	// bytes, shape holds each literal byte in place and 0 where a digit
	// belongs, and nums says where each number sits. parse checks such a
	// value in one pass instead of searching part by part; it runs for
	// two or three cells of every row.
	fixed bool
	shape []byte
	nums  []fixedNum
}

type fixedNum struct {
	unit     unit
	off, len int
}

// compileLayout checks a declared format once, so a typo is a profile
// error and not a reason to reject every row.
func compileLayout(src string, set []token) (layout, error) {
	if strings.TrimSpace(src) == "" {
		return layout{}, errors.New("missing (e.g. \"DD.MM.YYYY\" or \"HH:MM\")")
	}
	up := strings.ToUpper(src)
	l := layout{src: src}
	seen := map[unit]bool{}
	for i := 0; i < len(up); {
		c := up[i]
		if c >= 'A' && c <= 'Z' {
			var tok *token
			for k := range set {
				if strings.HasPrefix(up[i:], set[k].text) && (tok == nil || len(set[k].text) > len(tok.text)) {
					tok = &set[k]
				}
			}
			if tok == nil {
				return layout{}, fmt.Errorf("%q: unknown placeholder at %q; use %s", src, src[i:], tokenNames(set))
			}
			if seen[tok.unit] {
				return layout{}, fmt.Errorf("%q: %s appears twice", src, tok.text)
			}
			seen[tok.unit] = true
			if n := len(l.parts); n > 0 && l.parts[n-1].unit != unitNone && (tok.min != tok.max || l.parts[n-1].min != l.parts[n-1].max) {
				return layout{}, fmt.Errorf("%q: a one-or-two-digit placeholder needs a separator next to it", src)
			}
			l.parts = append(l.parts, layoutPart{unit: tok.unit, min: tok.min, max: tok.max})
			i += len(tok.text)
			continue
		}
		if c >= '0' && c <= '9' {
			return layout{}, fmt.Errorf("%q: digits are not allowed in a format", src)
		}
		if n := len(l.parts); n > 0 && l.parts[n-1].unit == unitNone {
			l.parts[n-1].lit += src[i : i+1]
		} else {
			l.parts = append(l.parts, layoutPart{lit: src[i : i+1]})
		}
		i++
	}
	var need []unit
	if slices.ContainsFunc(set, func(t token) bool { return t.unit == unitYear }) {
		need = []unit{unitYear, unitMonth, unitDay}
	} else {
		need = []unit{unitHour, unitMinute}
	}
	for _, u := range need {
		if !seen[u] {
			return layout{}, fmt.Errorf("%q: %s is missing", src, unitName(u))
		}
	}
	l.compileFixed()
	return l, nil
}

// compileFixed prepares the one-pass form of a fixed-width layout (see
// layout.fixed); other layouts keep the general loop.
func (l *layout) compileFixed() {
	var shape []byte
	var nums []fixedNum
	for _, p := range l.parts {
		switch {
		case p.unit == unitNone && strings.IndexByte(p.lit, 0) >= 0:
			return // 0 marks digits in shape
		case p.unit == unitNone:
			shape = append(shape, p.lit...)
		case p.min != p.max:
			return
		default:
			nums = append(nums, fixedNum{unit: p.unit, off: len(shape), len: p.max})
			shape = append(shape, make([]byte, p.max)...)
		}
	}
	l.fixed, l.shape, l.nums = true, shape, nums
}

func tokenNames(set []token) string {
	var s []string
	for _, t := range set {
		s = append(s, t.text)
	}
	return strings.Join(s, ", ")
}

func unitName(u unit) string {
	return [...]string{"", "the year", "the month", "the day", "the hour", "the minute", "the second"}[u]
}

// parse reads the numbers out of s. Range checks are the caller's: the
// calendar rules live in wallclock, not here.
func (l *layout) parse(s string) (vals [7]int, ok bool) {
	if l.fixed {
		// The general loop below accepts exactly these values for a
		// fixed-width layout: every literal in place, every number with
		// its digit count, nothing left over.
		if len(s) != len(l.shape) {
			return vals, false
		}
		shape := l.shape[:len(s)]
		for i := range len(s) {
			if c, b := shape[i], s[i]; (c == 0 && b-'0' > 9) || (c != 0 && b != c) {
				return vals, false
			}
		}
		for _, n := range l.nums {
			v := 0
			for _, b := range []byte(s[n.off : n.off+n.len]) {
				v = v*10 + int(b-'0')
			}
			vals[n.unit] = v
		}
		return vals, true
	}
	i := 0
	for _, p := range l.parts {
		if p.unit == unitNone {
			if !strings.HasPrefix(s[i:], p.lit) {
				return vals, false
			}
			i += len(p.lit)
			continue
		}
		n, v := 0, 0
		for n < p.max && i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '9' {
			v = v*10 + int(s[i+n]-'0')
			n++
		}
		if n < p.min {
			return vals, false
		}
		vals[p.unit] = v
		i += n
	}
	return vals, i == len(s)
}

// tmplPart is a literal or a placeholder of an id template.
type tmplPart struct {
	lit   string
	field string
}

// Placeholders of an id template besides the canonical fields: the local
// start, formatted so the key sorts and reads well ("20270111", "0800").
const (
	phStartDate = "start_date"
	phStartTime = "start_time"
)

// compileTemplate insists on patient, date and start time: without any one
// of them two different appointments could share a key, and the second
// would silently overwrite the first on import.
func compileTemplate(src string) ([]tmplPart, error) {
	var parts []tmplPart
	seen := map[string]bool{}
	rest := src
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		closeAt := strings.IndexByte(rest, '}')
		if open < 0 {
			if closeAt >= 0 {
				return nil, fmt.Errorf("%q: unmatched }", src)
			}
			parts = append(parts, tmplPart{lit: rest})
			break
		}
		if closeAt >= 0 && closeAt < open {
			return nil, fmt.Errorf("%q: unmatched }", src)
		}
		if open > 0 {
			parts = append(parts, tmplPart{lit: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: unmatched {", src)
		}
		name := strings.TrimSpace(rest[open+1 : open+end])
		switch {
		case name == phStartDate || name == phStartTime:
		case name == string(FieldAppointmentID) || fieldIndex(Field(name)) < 0:
			return nil, fmt.Errorf("%q: unknown placeholder {%s}; use {%s}, {%s} or a column field such as {patient_id} or {practitioner}", src, name, phStartDate, phStartTime)
		}
		seen[name] = true
		parts = append(parts, tmplPart{field: name})
		rest = rest[open+end+1:]
	}
	for _, need := range []string{string(FieldPatientID), phStartDate, phStartTime} {
		if !seen[need] {
			return nil, fmt.Errorf("%q: {%s} is required, or two appointments could get the same id", src, need)
		}
	}
	return parts, nil
}
