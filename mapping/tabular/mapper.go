package tabular

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/mapping/wallclock"
	"github.com/praxisbote/praxisbote/schemas"
)

// Dense field indexes, in the order of the fields slice.
const (
	iAppointmentID = iota
	iDate
	iTime
	iEndTime
	iDuration
	iPatientID
	iFamilyName
	iGivenName
	iName
	iBirthDate
	iMobile
	iPhone
	iPractitioner
	iKind
	iStatus
	iLocation
)

// phoneCacheSize bounds the cache of parsed phone cells. Parsing one cell
// with libphonenumber costs 20-100 µs, a hundred times more than mapping
// the rest of the row; an export repeats each patient's numbers on every
// appointment, so the cache removes most of that cost. 2^16 entries of a
// few hundred bytes keep memory bounded (cleared when full).
const phoneCacheSize = 1 << 16

// phoneCells is what a row's mobile and phone cells yield together: the
// numbers merged in order (mobile column first) and the warning, if any,
// for each cell. Caching the pair saves a lookup and a merge per row.
type phoneCells struct {
	check  uint64 // second hash of the cells, see prepared.phoneCheck
	phones []schemas.Phone
	warn   [2]string
}

// phoneCell is what one phone cell yields, see mapper.phoneCell.
type phoneCell struct {
	check  uint64
	phones []schemas.Phone
	warn   string
}

// seenKey remembers an appointment key that a row has claimed. The map is
// keyed by one 64-bit hash of the key and holds a second, independent
// 32-bit hash to confirm it, so telling keys apart rests on 96 bits while
// each entry costs 24 bytes: a million-row file needs tens of MiB, not
// the hundreds that storing the keys themselves would take. row is a hash
// of the whole row, which tells an exact duplicate (skipped) from a second
// row that claims the same key with other content.
type seenKey struct {
	check uint32
	row   uint32
	line  int32
}

// mapper turns one row into a Record. It keeps the state that spans rows:
// the column plan, the keys seen, and caches.
type mapper struct {
	// The plan: set before the first data row, read-only afterwards, so
	// both goroutines read it.
	p        Profile
	loc      *time.Location
	xlsx     bool // cells are raw XLSX values: numbers may be date serials
	date1904 bool

	header []string
	col    [len16]int    // cell index per field, -1 when not mapped
	src    [len16]string // source column name per field, for Problem.Field

	delim        string // the CSV delimiter, "" for XLSX (see rowHash)
	dateL, timeL layout
	status       map[string]schemas.AppointmentStatus
	idParts      []idPart
	seed1        maphash.Seed
	seed2        maphash.Seed

	// finish's own, on the caller's goroutine (see prepare).
	phones     map[uint64]phoneCells
	phoneCells map[uint64]phoneCell
	// seen holds the claimed appointment keys, sharded by start date (0 for
	// explicit ids, which say nothing about the date). A derived key always
	// contains the start date, so equal keys share a shard; exports are
	// sorted by date, so the current day's shard stays in the CPU cache
	// instead of every row missing it in one big table.
	seen     map[int32]map[uint64]seenKey
	lastDay  int32
	lastSeen map[uint64]seenKey
}

// preparer runs the first half of mapping (see prepare) with caches of
// its own: both goroutines prepare rows, each with its own preparer.
type preparer struct {
	*mapper
	// The last date cell read and its reading, and the last status
	// word: exports are sorted by date, and nearly every appointment
	// has the same status.
	lastDate       string
	lastY, lastMo  int
	lastD          int
	lastStatusWord string
	lastStatus     schemas.AppointmentStatus
	days           [dayCacheSize]dayClock
	clock          map[int64]wallResult
	rowBuf         []byte
	keyBuf         []byte
	phoneKey       []byte
}

func newPreparer(m *mapper) *preparer {
	return &preparer{mapper: m, clock: make(map[int64]wallResult)}
}

// wallResult caches wallclock.Local: an export repeats each start time
// for every chair and practitioner, and resolving a zone offset is one of
// the dearer steps per row.
type wallResult struct {
	t    time.Time
	note wallclock.Note
	err  error
}

const clockCacheSize = 1 << 12

// timing is what readTiming makes of a row: when the appointment is and
// its status, or the problem that rejects the row.
type timing struct {
	rejected   bool
	problem    schemas.Problem
	notes      []schemas.Problem // warnings of an imported row
	start, end time.Time
	wall       [5]int32 // the start as written: y, mo, d, h, mi
	gap        bool     // the start fell into the spring-forward gap
	status     schemas.AppointmentStatus
}

// dayClock is the practice-local midnight of one calendar day. When the
// zone keeps one offset from two days before to three days after it
// (steady), every wall-clock reading of the day exists exactly once and is
// midnight plus the time of day: wallclock.Local would find no gap, no
// double hour and the same instant, at the cost of a zone lookup. Only
// the days around a daylight-saving change, and impossible dates, take
// the general path.
type dayClock struct {
	key      int64 // y*10000 + mo*100 + d; 0 while the slot is unused
	steady   bool
	midnight time.Time
}

// dayCacheSize slots, indexed by day, hold the days of about eight months:
// an export sorted by date hits the current slot on nearly every row, and
// one sorted by practitioner or patient still finds its days.
const dayCacheSize = 256

// idPart is a piece of the id template, resolved once so that rendering a
// key per row need not compare placeholder names.
type idPart struct {
	kind idKind
	lit  string
	fi   int // field index of a column placeholder
}

type idKind int

const (
	idLiteral idKind = iota
	idPatient
	idStartDate
	idStartTime
	idColumn
)

func newMapper(p Profile, loc *time.Location, xlsx, date1904 bool) *mapper {
	m := &mapper{
		p: p, loc: loc, xlsx: xlsx, date1904: date1904,
		status:     make(map[string]schemas.AppointmentStatus, len(p.StatusMap)),
		phones:     make(map[uint64]phoneCells),
		phoneCells: make(map[uint64]phoneCell),
		seen:       make(map[int32]map[uint64]seenKey),
	}
	// Validate has accepted the profile, so compiling cannot fail here; an
	// XLSX profile may leave the formats out (its cells are dates already).
	m.dateL, _ = compileLayout(p.DateFormat, dateTokens)
	m.timeL, _ = compileLayout(p.TimeFormat, timeTokens)
	for word, st := range p.StatusMap {
		m.status[strings.ToLower(strings.TrimSpace(word))] = st
	}
	if _, ok := p.Columns[FieldAppointmentID]; !ok {
		t := p.IDTemplate
		if t == "" {
			t = DefaultIDTemplate
		}
		tmpl, _ := compileTemplate(t)
		for _, part := range tmpl {
			ip := idPart{kind: idColumn, lit: part.lit}
			switch part.field {
			case "":
				ip.kind = idLiteral
			case string(FieldPatientID):
				ip.kind = idPatient
			case phStartDate:
				ip.kind = idStartDate
			case phStartTime:
				ip.kind = idStartTime
			default:
				ip.fi = fieldIndex(Field(part.field))
			}
			m.idParts = append(m.idParts, ip)
		}
	}
	m.seed1, m.seed2 = maphash.MakeSeed(), maphash.MakeSeed()
	return m
}

func (m *mapper) setHeader(cells []string, cols [len16]int) {
	m.header = make([]string, len(cells))
	for i, c := range cells {
		m.header[i] = cleanCell(c)
	}
	m.col = cols
	for fi, ci := range cols {
		switch {
		case ci < 0:
		case ci < len(m.header) && m.header[ci] != "":
			m.src[fi] = m.header[ci]
		default:
			m.src[fi] = "column " + strconv.Itoa(ci+1)
		}
	}
}

// cell returns the trimmed cell of a field, "" when absent.
func (m *mapper) cell(cells []string, fi int) string {
	ci := m.col[fi]
	if ci < 0 || ci >= len(cells) {
		return ""
	}
	return trimSpace(cells[ci])
}

// trimSpace is strings.TrimSpace with the common case kept inline, as it
// runs for a dozen cells of every row: a cell that begins and ends with a
// visible ASCII character or a two-byte letter such as Ö or é (lead byte
// C3-DF; the only two-byte spaces, U+0085 and U+00A0, lead with C2) has
// nothing to trim.
func trimSpace(s string) string {
	n := len(s)
	if n > 0 && (s[0] > ' ' && s[0] < utf8.RuneSelf || s[0] >= 0xC3 && s[0] <= 0xDF) &&
		(s[n-1] > ' ' && s[n-1] < utf8.RuneSelf || n >= 2 && s[n-2] >= 0xC3 && s[n-2] <= 0xDF && s[n-1] >= 0x80 && s[n-1] < 0xC0) {
		return s
	}
	return strings.TrimSpace(s)
}

// idCell reads a cell that holds an identifier or a phone number. Excel
// stores a typed-in 30001 as a number; a writer may render it "30001.0" or
// "3.0001E4". Plain digit strings are kept verbatim, so a text cell
// "02345" keeps its leading zero.
func (m *mapper) idCell(cells []string, fi int) string {
	v := m.cell(cells, fi)
	if !m.xlsx || !strings.ContainsAny(v, ".eE") {
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1e15 {
		return v
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (m *mapper) problem(line, fi int, reason string) schemas.Problem {
	return schemas.Problem{Line: line, Field: m.src[fi], Reason: reason}
}

func reject(rec Record, p schemas.Problem) Record {
	rec.Outcome = OutcomeRejected
	rec.Problem = p
	rec.Warnings = nil // a row that is not imported has nothing to warn about
	return rec
}

func skip(rec Record, reason string) Record {
	rec.Outcome = OutcomeSkipped
	rec.Warnings = nil
	rec.Problem = schemas.Problem{Line: rec.Line, Reason: reason}
	return rec
}

// Mapping a row takes two halves. prepare reads and checks every cell and
// builds the parts of the record, the appointment key and the hashes of
// the phone cells; it needs nothing from other rows, so it runs on
// whichever goroutine has time (see prefetcher), with caches of that
// goroutine's own (preparer). finish runs on the caller's goroutine, in
// file order, and consults what spans rows: the phones read before and
// the keys claimed before (the fields of mapper). The two share only the
// column plan, which is fixed once the header is read. finish reads the
// prepared parts, not the cells: on two cores, every cache line that one
// goroutine writes and the other reads costs a transfer between the
// cores.
//
// Problems quote only values that are not personal (dates, times, status
// words, keys): reasons end up in logs and staff screens, and the line and
// column are enough to find the rest.

// prepared is what prepare hands to finish: a record in parts, kept
// small, since finish often reads it from the other core.
type prepared struct {
	// done is the final record of a row prepare rejected or skipped.
	done *Record
	// The record's strings: cells, the appointment id, the birth date.
	patientID, family, given     string
	practitioner, kind, location string
	apptID, birthDate            string
	// hasPhones is set when a phone cell is filled; phoneKey and
	// phoneCheck are then the hashes of the cells, see finish.
	hasPhones            bool
	phoneKey, phoneCheck uint64
	status               schemas.AppointmentStatus
	// start and end in Unix seconds (readings are whole seconds); the
	// location is the practice's.
	start, end int64
	warnings   []schemas.Problem
	// The appointment key's hashes and shard (see mapper.seen), and the
	// hash of the whole row (see mapper.rowHash).
	key     uint64
	check   uint32
	day     int32
	rowHash uint32
}

func (p *prepared) reject(line int, pr schemas.Problem) {
	r := reject(Record{Line: line}, pr)
	p.done = &r
}

func (p *prepared) skip(line int, reason string) {
	r := skip(Record{Line: line}, reason)
	p.done = &r
}

// prepare is the first half of mapping one non-empty data row.
func (m *preparer) prepare(cells []string, text string, line int, out *prepared) {
	*out = prepared{}

	if extra := m.extraCells(cells); extra > 0 {
		out.reject(line, schemas.Problem{Line: line, Reason: fmt.Sprintf(
			"the row has %d more filled column(s) than the header; a field probably contains an unquoted delimiter, so the columns cannot be trusted", extra)})
		return
	}

	if m.repeatsHeader(cells) {
		out.skip(line, "the header row repeated (as printed exports do on every page)")
		return
	}

	patientID := m.idCell(cells, iPatientID)
	if patientID == "" {
		if m.cell(cells, iMobile) != "" || m.cell(cells, iPhone) != "" {
			out.reject(line, m.problem(line, iPatientID,
				"the patient number is empty although the row has a phone number; without it the appointment cannot be matched to a patient"))
			return
		}
		out.skip(line, "no patient number: a block or note in the calendar (e.g. a lunch break), not a patient appointment")
		return
	}

	t := m.readTiming(cells, line)
	if t.rejected {
		out.reject(line, t.problem)
		return
	}
	out.warnings = t.notes

	explicitID := m.col[iAppointmentID] >= 0
	var apptID string
	if explicitID {
		apptID = m.idCell(cells, iAppointmentID)
		if apptID == "" {
			out.reject(line, m.problem(line, iAppointmentID, "the appointment id is empty"))
			return
		}
	}

	// The derived key and the birth date are the only strings a row
	// needs beyond its cells; they share one allocation.
	b := m.keyBuf[:0]
	if !explicitID {
		w := t.wall
		b = m.appendID(b, cells, patientID, t.start, t.gap, [5]int{int(w[0]), int(w[1]), int(w[2]), int(w[3]), int(w[4])})
		// A derived key always contains the start date, see mapper.seen.
		out.day = w[0]*10000 + w[1]*100 + w[2]
	}
	keyLen := len(b)
	out.family, out.given, out.warnings = m.readName(cells, line, out.warnings)
	birth := false
	if m.cell(cells, iBirthDate) != "" {
		by, bm, bd, _, ok := m.readDate(cells, line, iBirthDate)
		if ok && validDate(by, bm, bd) {
			b = appendISODate(b, by, bm, bd)
			birth = true
		} else {
			// A wrong birth date must not cost the reminder, and an absent
			// one is better than a guessed one.
			out.warnings = append(out.warnings, m.problem(line, iBirthDate,
				"the birth date is not a valid date; the row was imported without it"))
		}
	}
	m.keyBuf = b
	made := string(b)
	if !explicitID {
		apptID = made[:keyLen]
	}
	if birth {
		out.birthDate = made[keyLen:]
	}

	if mobile, other := m.idCell(cells, iMobile), m.idCell(cells, iPhone); mobile != "" || other != "" {
		// The phone cache is keyed by two independent 64-bit hashes of
		// the cells rather than by the cells: comparing stored strings
		// costs a cache miss per row, and a false match needs both hashes
		// to collide (2^-128), so no patient can get another patient's
		// number.
		pk := append(append(append(m.phoneKey[:0], mobile...), 0x1f), other...)
		m.phoneKey = pk
		out.hasPhones = true
		out.phoneKey, out.phoneCheck = maphash.Bytes(m.seed1, pk), maphash.Bytes(m.seed2, pk)
	}

	out.key, out.check = m.keyHash(apptID)
	out.rowHash = m.rowHash(cells, text)
	out.patientID, out.apptID = patientID, apptID
	out.practitioner = m.cell(cells, iPractitioner)
	out.location = m.cell(cells, iLocation)
	out.kind = m.cell(cells, iKind)
	out.status = t.status
	out.start, out.end = t.start.Unix(), t.end.Unix()
}

// readTiming reads the cells of a row that say when the appointment is
// and whether it takes place.
func (m *preparer) readTiming(cells []string, line int) (t timing) {
	rejected := func(p schemas.Problem) timing {
		return timing{rejected: true, problem: p}
	}
	// Start: date and time, read as practice-local wall clock.
	y, mo, d := m.lastY, m.lastMo, m.lastD
	if v := m.cell(cells, iDate); v == "" || v != m.lastDate {
		var p schemas.Problem
		var ok bool
		y, mo, d, p, ok = m.readDate(cells, line, iDate)
		if !ok {
			return rejected(p)
		}
		m.lastDate, m.lastY, m.lastMo, m.lastD = v, y, mo, d
	}
	h, mi, s, p, ok := m.readClock(cells, line, iTime)
	if !ok {
		return rejected(p)
	}
	start, note, err := m.local(y, mo, d, h, mi, s)
	if err != nil {
		// readClock has checked the clock, so this is the calendar date
		// (31.02.2027); time.Date would have moved it to 3 March.
		fi := iDate
		if strings.HasPrefix(err.Error(), "time ") {
			fi = iTime
		}
		return rejected(m.problem(line, fi, err.Error()))
	}
	if note != "" {
		t.notes = append(t.notes, m.problem(line, iTime, string(note)))
	}
	start = start.In(m.loc)

	// End: an end time wins over a duration when both are filled.
	var end time.Time
	if m.cell(cells, iEndTime) != "" {
		eh, emi, es, p, ok := m.readClock(cells, line, iEndTime)
		if !ok {
			return rejected(p)
		}
		var enote wallclock.Note
		end, enote, err = m.local(y, mo, d, eh, emi, es)
		if err != nil {
			return rejected(m.problem(line, iEndTime, err.Error()))
		}
		if !end.After(start) {
			return rejected(m.problem(line, iEndTime, fmt.Sprintf(
				"the end %02d:%02d is not after the start %02d:%02d", eh, emi, h, mi)))
		}
		if enote != "" {
			t.notes = append(t.notes, m.problem(line, iEndTime, string(enote)))
		}
	} else {
		dur, p, ok := m.readDuration(cells, line)
		if !ok {
			return rejected(p)
		}
		// Adding elapsed time, not wall-clock time: 02:30 (first
		// occurrence) + 30 min on the autumn change ends at 02:00 +01:00.
		end = start.Add(dur)
	}
	end = end.In(m.loc)

	st, p, ok := m.readStatus(cells, line)
	if !ok {
		return rejected(p)
	}
	t.status = st
	t.start, t.end = start, end
	t.wall = [5]int32{int32(y), int32(mo), int32(d), int32(h), int32(mi)}
	t.gap = note == wallclock.NoteGap
	return t
}

// finish is the second half of mapping a row: the phones, the duplicate
// check, and the record. cells are needed only when the phones are new.
func (m *mapper) finish(in *prepared, cells []string, line int) Record {
	if in.done != nil {
		return *in.done
	}
	explicitID, apptID := m.col[iAppointmentID] >= 0, in.apptID
	rec := Record{Line: line, Warnings: in.warnings}
	phones := m.readPhones(in, cells, &rec)

	// Only a row that imports claims its key, so a rejected row cannot
	// shadow a corrected copy further down.
	shard := m.shard(in.day)
	if first, dup := shard[in.key]; dup && first.check == in.check {
		switch {
		case first.row == in.rowHash:
			return skip(rec, fmt.Sprintf("exact duplicate of line %d", first.line))
		case explicitID:
			return reject(rec, m.problem(line, iAppointmentID, fmt.Sprintf(
				"appointment id %q is already used by line %d with different content", apptID, first.line)))
		default:
			return skip(rec, fmt.Sprintf(
				"same patient and start as line %d (appointment key %q); the file lists one appointment twice, and one reminder covers both", first.line, apptID))
		}
	}
	shard[in.key] = seenKey{check: in.check, row: in.rowHash, line: int32(min(line, math.MaxInt32))}

	rec.Outcome = OutcomeImported
	rec.Patient = schemas.Patient{
		ExternalID: in.patientID,
		FamilyName: in.family,
		GivenName:  in.given,
		BirthDate:  in.birthDate,
		Phones:     phones,
		Line:       line,
	}
	start, end := time.Unix(in.start, 0).In(m.loc), time.Unix(in.end, 0).In(m.loc)
	rec.Appointment = schemas.Appointment{
		ExternalID:        apptID,
		PatientExternalID: in.patientID,
		Start:             start,
		End:               end,
		DurationMinutes:   int((in.end - in.start) / 60),
		Practitioner:      in.practitioner,
		Location:          in.location,
		Kind:              in.kind,
		Status:            in.status,
		Line:              line,
	}
	return rec
}

// repeatsHeader reports a row whose date and patient cells carry the
// column names: exports meant for printing repeat the header per page.
func (m *mapper) repeatsHeader(cells []string) bool {
	for _, fi := range [2]int{iDate, iPatientID} {
		ci := m.col[fi]
		if ci >= len(m.header) || m.header[ci] == "" || !strings.EqualFold(m.cell(cells, fi), m.header[ci]) {
			return false
		}
	}
	return true
}

// extraCells counts filled cells beyond the header. Empty extras (a
// trailing delimiter) are harmless.
func (m *mapper) extraCells(cells []string) int {
	n := 0
	for i := len(m.header); i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) != "" {
			n++
		}
	}
	return n
}

// rowHash hashes a row's cells, to tell an exact duplicate (the same
// cells; trailing empty ones do not count) from another row that claims
// the same appointment key. A row read from a line without quotes is
// hashed as that line, which is its cells joined by the delimiter: one
// hash call over text the reader has just made. Another row whose cells
// contain no delimiter is joined the same way, so equal cells hash
// equally however they were quoted. A row with a delimiter inside a cell,
// and an XLSX row, joins its cells with unit separators instead and is
// hashed with the other seed.
func (m *preparer) rowHash(cells []string, text string) uint32 {
	if text != "" {
		return uint32(maphash.String(m.seed1, strings.TrimRight(text, m.delim)))
	}
	last := len(cells)
	for last > 0 && cells[last-1] == "" {
		last--
	}
	b, plain := m.rowBuf[:0], m.delim != ""
	for i, c := range cells[:last] {
		if i > 0 {
			b = append(b, m.delim...)
		}
		b = append(b, c...)
		plain = plain && !strings.Contains(c, m.delim)
	}
	seed := m.seed1
	if !plain {
		b, seed = b[:0], m.seed2
		for _, c := range cells[:last] {
			b = append(append(b, c...), 0x1f)
		}
	}
	m.rowBuf = b
	return uint32(maphash.Bytes(seed, b))
}

func (m *mapper) keyHash(id string) (uint64, uint32) {
	return maphash.String(m.seed1, id), uint32(maphash.String(m.seed2, id))
}

// serial reads an XLSX number cell. Only XLSX cells can be serials: in a
// CSV, "46433" is text and must match date_format.
func (m *mapper) serial(v string) (float64, bool) {
	if !m.xlsx {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// excelTime converts a serial and rounds to the second: Excel stores 08:30
// as 0.354166666666666, which is 08:29:59.99… when truncated.
func (m *mapper) excelTime(f float64) (time.Time, error) {
	t, err := excelize.ExcelDateToTime(f, m.date1904)
	if err != nil {
		return time.Time{}, err
	}
	return t.Round(time.Second), nil
}

func (m *mapper) readDate(cells []string, line, fi int) (y, mo, d int, p schemas.Problem, ok bool) {
	v := m.cell(cells, fi)
	what := "the date"
	if fi == iBirthDate {
		what = "the birth date"
	}
	if v == "" {
		return 0, 0, 0, m.problem(line, fi, what+" is empty"), false
	}
	if f, isNum := m.serial(v); isNum {
		if f < 1 || f > 2958465 { // 2958465 = 9999-12-31
			return 0, 0, 0, m.problem(line, fi, what+" cell holds a number that is not a date"), false
		}
		t, err := m.excelTime(math.Floor(f))
		if err != nil {
			return 0, 0, 0, m.problem(line, fi, what+" cell holds a number that is not a date"), false
		}
		return t.Year(), int(t.Month()), t.Day(), schemas.Problem{}, true
	}
	if len(m.dateL.parts) == 0 {
		return 0, 0, 0, m.problem(line, fi, what+" is text, not a date cell, and the profile declares no date_format"), false
	}
	vals, ok := m.dateL.parse(v)
	if !ok {
		reason := fmt.Sprintf("%s does not match the date format %s", what, m.dateL.src)
		if fi == iDate {
			reason = fmt.Sprintf("the date %q does not match the date format %s", v, m.dateL.src)
		}
		return 0, 0, 0, m.problem(line, fi, reason), false
	}
	return vals[unitYear], vals[unitMonth], vals[unitDay], schemas.Problem{}, true
}

func (m *mapper) readClock(cells []string, line, fi int) (h, mi, s int, p schemas.Problem, ok bool) {
	v := m.cell(cells, fi)
	if v == "" {
		return 0, 0, 0, m.problem(line, fi, "the time is empty"), false
	}
	if f, isNum := m.serial(v); isNum {
		if f < 0 || f > 2958466 {
			return 0, 0, 0, m.problem(line, fi, "the time cell holds a number that is not a time"), false
		}
		t, err := m.excelTime(f)
		if err != nil {
			return 0, 0, 0, m.problem(line, fi, "the time cell holds a number that is not a time"), false
		}
		if f < 1 && t.Day() != 30 {
			// 0.99999… rounds up to the next day: 24:00 is no start time.
			return 0, 0, 0, m.problem(line, fi, "the time cell rounds to 24:00"), false
		}
		return t.Hour(), t.Minute(), t.Second(), schemas.Problem{}, true
	}
	if len(m.timeL.parts) == 0 {
		return 0, 0, 0, m.problem(line, fi, "the time is text, not a time cell, and the profile declares no time_format"), false
	}
	vals, ok := m.timeL.parse(v)
	if !ok {
		return 0, 0, 0, m.problem(line, fi, fmt.Sprintf("the time %q does not match the time format %s", v, m.timeL.src)), false
	}
	if vals[unitHour] > 23 || vals[unitMinute] > 59 || vals[unitSecond] > 59 {
		return 0, 0, 0, m.problem(line, fi, fmt.Sprintf("the time %q does not exist", v)), false
	}
	return vals[unitHour], vals[unitMinute], vals[unitSecond], schemas.Problem{}, true
}

func (m *mapper) readDuration(cells []string, line int) (time.Duration, schemas.Problem, bool) {
	v := m.cell(cells, iDuration)
	if v == "" {
		return 0, m.problem(line, iDuration, "the duration is empty"), false
	}
	minutes := -1
	if n, err := strconv.Atoi(v); err == nil {
		minutes = n
	} else if f, isNum := m.serial(v); isNum {
		if f < 1 {
			// A time-formatted XLSX cell: 00:30 is 0.0208333 of a day.
			minutes = int(math.Round(f * 24 * 60))
		} else if f == math.Trunc(f) {
			minutes = int(f)
		}
	} else if hh, mm, found := strings.Cut(v, ":"); found {
		a, err1 := strconv.Atoi(hh)
		b, err2 := strconv.Atoi(mm)
		if err1 == nil && err2 == nil && len(mm) == 2 && b < 60 && a >= 0 {
			minutes = a*60 + b
		}
	}
	if minutes < 0 {
		return 0, m.problem(line, iDuration, fmt.Sprintf("the duration %q is not a number of minutes", v)), false
	}
	if minutes == 0 || minutes > 24*60 {
		return 0, m.problem(line, iDuration, fmt.Sprintf("the duration %q minutes is not between 1 and 1440", v)), false
	}
	return time.Duration(minutes) * time.Minute, schemas.Problem{}, true
}

func (m *preparer) readStatus(cells []string, line int) (schemas.AppointmentStatus, schemas.Problem, bool) {
	if m.col[iStatus] < 0 {
		// Without a status column an export lists booked appointments.
		return schemas.StatusBooked, schemas.Problem{}, true
	}
	v := m.cell(cells, iStatus)
	if v == m.lastStatusWord && v != "" {
		return m.lastStatus, schemas.Problem{}, true
	}
	if st, ok := m.status[v]; ok {
		m.lastStatusWord, m.lastStatus = v, st
		return st, schemas.Problem{}, true
	}
	if st, ok := m.status[strings.ToLower(v)]; ok {
		return st, schemas.Problem{}, true
	}
	if v == "" {
		return "", m.problem(line, iStatus, `the status is empty; add "" to status_map if an empty status means booked`), false
	}
	// Guessing "booked" for an unknown word could remind a patient of an
	// appointment the practice has cancelled.
	return "", m.problem(line, iStatus, fmt.Sprintf("unknown status %q; add it to the profile's status_map", v)), false
}

func (m *mapper) readName(cells []string, line int, warnings []schemas.Problem) (family, given string, _ []schemas.Problem) {
	if m.col[iName] >= 0 {
		v := m.cell(cells, iName)
		f, g, found := strings.Cut(v, ",")
		family, given = strings.TrimSpace(f), strings.TrimSpace(g)
		if !found && v != "" {
			warnings = append(warnings, m.problem(line, iName,
				`the name has no comma ("Nachname, Vorname"); it was read as the family name`))
		}
	} else {
		family, given = m.cell(cells, iFamilyName), m.cell(cells, iGivenName)
	}
	if family == "" && given == "" {
		fi := iFamilyName
		if m.col[iName] >= 0 {
			fi = iName
		}
		warnings = append(warnings, m.problem(line, fi, "the patient name is empty"))
	}
	return family, given, warnings
}

// readPhones returns the phones of a prepared row, from the cache when
// its cells have been read before.
func (m *mapper) readPhones(in *prepared, cells []string, rec *Record) []schemas.Phone {
	if !in.hasPhones {
		return nil
	}
	r, ok := m.phones[in.phoneKey]
	if !ok || r.check != in.phoneCheck {
		var mobiles, others []schemas.Phone
		r.check = in.phoneCheck
		mobiles, r.warn[0] = m.phoneCell(m.idCell(cells, iMobile))
		others, r.warn[1] = m.phoneCell(m.idCell(cells, iPhone))
		r.phones = slices.Clip(phone.Merge(phone.Merge(nil, mobiles...), others...))
		if len(m.phones) >= phoneCacheSize {
			clear(m.phones)
		}
		m.phones[in.phoneKey] = r
	}
	for i, fi := range [2]int{iMobile, iPhone} {
		if r.warn[i] != "" {
			rec.Warnings = append(rec.Warnings, m.problem(rec.Line, fi, r.warn[i]))
		}
	}
	// Shared, not copied: every row with the same cells gets the same
	// list (see Record). It is clipped, so an append always copies and can
	// never write into another row's list.
	return r.phones
}

// phoneCell is parsePhoneCell behind a cache of single cells, keyed like
// the cache of pairs. A pair is new once per patient, but its cells
// often are not: a family's or a care home's shared landline, a
// parent's mobile given for each child. The phones are never handed out;
// readPhones merges them into a list of its own.
func (m *mapper) phoneCell(cell string) ([]schemas.Phone, string) {
	if cell == "" {
		return nil, ""
	}
	k, check := maphash.String(m.seed1, cell), maphash.String(m.seed2, cell)
	if r, ok := m.phoneCells[k]; ok && r.check == check {
		return r.phones, r.warn
	}
	phones, warn := parsePhoneCell(cell)
	if len(m.phoneCells) >= phoneCacheSize {
		clear(m.phoneCells)
	}
	m.phoneCells[k] = phoneCell{check: check, phones: phones, warn: warn}
	return phones, warn
}

// parsePhoneCell parses one cell and words its warning. The reason never
// quotes the number: it is personal data and reasons reach logs.
func parsePhoneCell(cell string) ([]schemas.Phone, string) {
	if cell == "" {
		return nil, ""
	}
	phones, err := phone.ParseCell(cell)
	switch {
	case err != nil && len(phones) == 0 && errors.Is(err, phone.ErrAmbiguous):
		return nil, "the number starts with the country code 49 but has no + or 00; it was not imported (write +49… or 0…)"
	case err != nil && len(phones) == 0:
		return nil, "no valid phone number in the cell; the row was imported without it"
	case err != nil:
		return phones, fmt.Sprintf("the cell holds several numbers and not all are valid; the %d valid one(s) were kept", len(phones))
	case len(phones) > 1:
		return phones, fmt.Sprintf("the cell holds %d numbers; all were kept in this order and the first is preferred for messages", len(phones))
	}
	return phones, ""
}

// appendID fills the id template with the local start. Unless the written
// time fell into the spring gap, the local start reads exactly as written
// (the autumn double hour resolves to the first 02:30, which still reads
// 02:30), so the written values are used and the zone is consulted only for
// the gap.
func (m *mapper) appendID(b []byte, cells []string, patientID string, start time.Time, gap bool, wall [5]int) []byte {
	if gap {
		local := start.In(m.loc)
		y, mo, d := local.Date()
		wall = [5]int{y, int(mo), d, local.Hour(), local.Minute()}
	}
	for _, part := range m.idParts {
		switch part.kind {
		case idLiteral:
			b = append(b, part.lit...)
		case idPatient:
			b = append(b, patientID...)
		case idStartDate:
			b = appendPadded(b, wall[0], 4)
			b = appendPadded(b, wall[1], 2)
			b = appendPadded(b, wall[2], 2)
		case idStartTime:
			b = appendPadded(b, wall[3], 2)
			b = appendPadded(b, wall[4], 2)
		case idColumn:
			b = append(b, m.idCell(cells, part.fi)...)
		}
	}
	return b
}

// local is wallclock.Local behind two caches: the day's midnight for a
// steady day (see dayClock), else the result for the exact reading.
func (m *preparer) local(y, mo, d, h, mi, s int) (time.Time, wallclock.Note, error) {
	if y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 &&
		h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59 {
		key := int64(y)*10000 + int64(mo)*100 + int64(d)
		day := &m.days[(y*372+mo*31+d)%dayCacheSize]
		if day.key != key {
			*day = newDayClock(y, mo, d, m.loc)
		}
		if day.steady {
			return day.midnight.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second), "", nil
		}
	}
	if y < 0 || y > 9999 || mo < 0 || mo > 99 || d < 0 || d > 99 || h < 0 || h > 99 || mi < 0 || mi > 99 || s < 0 || s > 99 {
		return wallclock.Local(y, mo, d, h, mi, s, m.loc)
	}
	k := int64(y)*1e10 + int64(mo)*1e8 + int64(d)*1e6 + int64(h)*1e4 + int64(mi)*1e2 + int64(s)
	if r, ok := m.clock[k]; ok {
		return r.t, r.note, r.err
	}
	t, note, err := wallclock.Local(y, mo, d, h, mi, s, m.loc)
	if len(m.clock) >= clockCacheSize {
		clear(m.clock)
	}
	m.clock[k] = wallResult{t, note, err}
	return t, note, err
}

func newDayClock(y, mo, d int, loc *time.Location) dayClock {
	day := dayClock{key: int64(y)*10000 + int64(mo)*100 + int64(d)}
	if wallclock.Date(y, mo, d) != nil {
		return day
	}
	midnight := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, loc)
	start, end := midnight.ZoneBounds()
	// The margins exceed any zone offset, so time.Date looks up this
	// same offset for every reading of the day, and the instants
	// wallclock.Local compares against (up to two hours earlier) are in
	// it too. A zero start or end means the offset never changed.
	day.steady = midnight.Hour() == 0 && midnight.Day() == d &&
		(start.IsZero() || !start.After(midnight.Add(-48*time.Hour))) &&
		(end.IsZero() || !end.Before(midnight.Add(72*time.Hour)))
	day.midnight = midnight
	return day
}

// shard returns the key set for a start date (y*10000+mo*100+d, or 0 for
// explicit ids), creating it on first use.
func (m *mapper) shard(day int32) map[uint64]seenKey {
	if m.lastSeen != nil && m.lastDay == day {
		return m.lastSeen
	}
	sh, ok := m.seen[day]
	if !ok {
		// Sized like the previous day's: a practice books about as many
		// appointments every day, and growing a map step by step rehashes
		// each key several times.
		sh = make(map[uint64]seenKey, len(m.lastSeen))
		m.seen[day] = sh
	}
	m.lastDay, m.lastSeen = day, sh
	return sh
}

// validDate is wallclock.Date(y, mo, d) == nil, without asking the
// calendar for the 28 days every month has.
func validDate(y, mo, d int) bool {
	if mo >= 1 && mo <= 12 && d >= 1 && d <= 28 {
		return true
	}
	return wallclock.Date(y, mo, d) == nil
}

func appendISODate(b []byte, y, mo, d int) []byte {
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, mo, 2)
	b = append(b, '-')
	return appendPadded(b, d, 2)
}

func appendPadded(b []byte, v, width int) []byte {
	// Fast paths for the two widths of dates and times: this runs several
	// times per row.
	switch {
	case width == 2 && v >= 0 && v < 100:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	case width == 4 && v >= 0 && v < 10000:
		return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
