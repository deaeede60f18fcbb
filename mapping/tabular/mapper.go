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
	check  uint64 // second hash of the cells, see readPhones
	phones []schemas.Phone
	warn   [2]string
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
	p        Profile
	loc      *time.Location
	xlsx     bool // cells are raw XLSX values: numbers may be date serials
	date1904 bool

	header []string
	col    [len16]int    // cell index per field, -1 when not mapped
	src    [len16]string // source column name per field, for Problem.Field

	dateL, timeL layout
	status       map[string]schemas.AppointmentStatus
	tmpl         []tmplPart

	phones map[uint64]phoneCells
	clock  map[int64]wallResult
	// seen holds the claimed appointment keys, sharded by start date (0 for
	// explicit ids, which say nothing about the date). A derived key always
	// contains the start date, so equal keys share a shard; exports are
	// sorted by date, so the current day's shard stays in the CPU cache
	// instead of every row missing it in one big table.
	seen     map[int32]map[uint64]seenKey
	lastDay  int32
	lastSeen map[uint64]seenKey
	seed1    maphash.Seed
	seed2    maphash.Seed
	keyBuf   []byte
	rowBuf   []byte
	phoneKey []byte
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

func newMapper(p Profile, loc *time.Location, xlsx, date1904 bool) *mapper {
	m := &mapper{
		p: p, loc: loc, xlsx: xlsx, date1904: date1904,
		status: make(map[string]schemas.AppointmentStatus, len(p.StatusMap)),
		phones: make(map[uint64]phoneCells),
		clock:  make(map[int64]wallResult),
		seen:   make(map[int32]map[uint64]seenKey),
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
		m.tmpl, _ = compileTemplate(t)
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
	return strings.TrimSpace(cells[ci])
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

// mapRow maps one non-empty data row. Problems quote only values that are
// not personal (dates, times, status words, keys): reasons end up in logs
// and staff screens, and the line and column are enough to find the rest.
func (m *mapper) mapRow(cells []string, line int) Record {
	rec := Record{Line: line}

	if extra := m.extraCells(cells); extra > 0 {
		return reject(rec, schemas.Problem{Line: line, Reason: fmt.Sprintf(
			"the row has %d more filled column(s) than the header; a field probably contains an unquoted delimiter, so the columns cannot be trusted", extra)})
	}

	if m.repeatsHeader(cells) {
		return skip(rec, "the header row repeated (as printed exports do on every page)")
	}

	patientID := m.idCell(cells, iPatientID)
	if patientID == "" {
		if m.cell(cells, iMobile) != "" || m.cell(cells, iPhone) != "" {
			return reject(rec, m.problem(line, iPatientID,
				"the patient number is empty although the row has a phone number; without it the appointment cannot be matched to a patient"))
		}
		return skip(rec, "no patient number: a block or note in the calendar (e.g. a lunch break), not a patient appointment")
	}

	// Start: date and time, read as practice-local wall clock.
	y, mo, d, p, ok := m.readDate(cells, line, iDate)
	if !ok {
		return reject(rec, p)
	}
	h, mi, s, p, ok := m.readClock(cells, line, iTime)
	if !ok {
		return reject(rec, p)
	}
	start, note, err := m.local(y, mo, d, h, mi, s)
	if err != nil {
		// readClock has checked the clock, so this is the calendar date
		// (31.02.2027); time.Date would have moved it to 3 March.
		fi := iDate
		if strings.HasPrefix(err.Error(), "time ") {
			fi = iTime
		}
		return reject(rec, m.problem(line, fi, err.Error()))
	}
	if note != "" {
		rec.Warnings = append(rec.Warnings, m.problem(line, iTime, string(note)))
	}
	start = start.In(m.loc)

	// End: an end time wins over a duration when both are filled.
	var end time.Time
	if m.cell(cells, iEndTime) != "" {
		eh, emi, es, p, ok := m.readClock(cells, line, iEndTime)
		if !ok {
			return reject(rec, p)
		}
		var enote wallclock.Note
		end, enote, err = m.local(y, mo, d, eh, emi, es)
		if err != nil {
			return reject(rec, m.problem(line, iEndTime, err.Error()))
		}
		if !end.After(start) {
			return reject(rec, m.problem(line, iEndTime, fmt.Sprintf(
				"the end %02d:%02d is not after the start %02d:%02d", eh, emi, h, mi)))
		}
		if enote != "" {
			rec.Warnings = append(rec.Warnings, m.problem(line, iEndTime, string(enote)))
		}
	} else {
		dur, p, ok := m.readDuration(cells, line)
		if !ok {
			return reject(rec, p)
		}
		// Adding elapsed time, not wall-clock time: 02:30 (first
		// occurrence) + 30 min on the autumn change ends at 02:00 +01:00.
		end = start.Add(dur)
	}
	end = end.In(m.loc)

	st, p, ok := m.readStatus(cells, line)
	if !ok {
		return reject(rec, p)
	}

	var apptID string
	explicitID := m.col[iAppointmentID] >= 0
	if explicitID {
		apptID = m.idCell(cells, iAppointmentID)
		if apptID == "" {
			return reject(rec, m.problem(line, iAppointmentID, "the appointment id is empty"))
		}
	} else {
		apptID = m.renderID(cells, patientID, start, note, [5]int{y, mo, d, h, mi})
	}

	pat := schemas.Patient{ExternalID: patientID, Line: line}
	m.readName(cells, line, &pat, &rec)
	if m.cell(cells, iBirthDate) != "" {
		by, bm, bd, _, ok := m.readDate(cells, line, iBirthDate)
		if ok && wallclock.Date(by, bm, bd) == nil {
			pat.BirthDate = isoDate(by, bm, bd)
		} else {
			// A wrong birth date must not cost the reminder, and an absent
			// one is better than a guessed one.
			rec.Warnings = append(rec.Warnings, m.problem(line, iBirthDate,
				"the birth date is not a valid date; the row was imported without it"))
		}
	}
	pat.Phones = m.readPhones(cells, line, &rec)

	// Only a row that imports claims its key, so a rejected row cannot
	// shadow a corrected copy further down.
	k, check := m.keyHash(apptID)
	rowHash := m.rowHash(cells)
	shard := m.shard(explicitID, y, mo, d)
	if first, dup := shard[k]; dup && first.check == check {
		switch {
		case first.row == rowHash:
			return skip(rec, fmt.Sprintf("exact duplicate of line %d", first.line))
		case explicitID:
			return reject(rec, m.problem(line, iAppointmentID, fmt.Sprintf(
				"appointment id %q is already used by line %d with different content", apptID, first.line)))
		default:
			return skip(rec, fmt.Sprintf(
				"same patient and start as line %d (appointment key %q); the file lists one appointment twice, and one reminder covers both", first.line, apptID))
		}
	}
	shard[k] = seenKey{check: check, row: rowHash, line: int32(min(line, math.MaxInt32))}

	rec.Outcome = OutcomeImported
	rec.Patient = pat
	rec.Appointment = schemas.Appointment{
		ExternalID:        apptID,
		PatientExternalID: patientID,
		Start:             start,
		End:               end,
		DurationMinutes:   int(end.Sub(start) / time.Minute),
		Practitioner:      m.cell(cells, iPractitioner),
		Location:          m.cell(cells, iLocation),
		Kind:              m.cell(cells, iKind),
		Status:            st,
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

func (m *mapper) rowHash(cells []string) uint32 {
	last := len(cells)
	for last > 0 && cells[last-1] == "" {
		last--
	}
	// One hash over the joined row is cheaper than one per cell; the unit
	// separator keeps ("ab","c") apart from ("a","bc").
	b := m.rowBuf[:0]
	for _, c := range cells[:last] {
		b = append(b, c...)
		b = append(b, 0x1f)
	}
	m.rowBuf = b
	return uint32(maphash.Bytes(m.seed1, b))
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

func (m *mapper) readStatus(cells []string, line int) (schemas.AppointmentStatus, schemas.Problem, bool) {
	if m.col[iStatus] < 0 {
		// Without a status column an export lists booked appointments.
		return schemas.StatusBooked, schemas.Problem{}, true
	}
	v := m.cell(cells, iStatus)
	if st, ok := m.status[v]; ok {
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

func (m *mapper) readName(cells []string, line int, pat *schemas.Patient, rec *Record) {
	if m.col[iName] >= 0 {
		v := m.cell(cells, iName)
		family, given, found := strings.Cut(v, ",")
		pat.FamilyName = strings.TrimSpace(family)
		pat.GivenName = strings.TrimSpace(given)
		if !found && v != "" {
			rec.Warnings = append(rec.Warnings, m.problem(line, iName,
				`the name has no comma ("Nachname, Vorname"); it was read as the family name`))
		}
	} else {
		pat.FamilyName = m.cell(cells, iFamilyName)
		pat.GivenName = m.cell(cells, iGivenName)
	}
	if pat.FamilyName == "" && pat.GivenName == "" {
		fi := iFamilyName
		if m.col[iName] >= 0 {
			fi = iName
		}
		rec.Warnings = append(rec.Warnings, m.problem(line, fi, "the patient name is empty"))
	}
}

func (m *mapper) readPhones(cells []string, line int, rec *Record) []schemas.Phone {
	mobile, other := m.idCell(cells, iMobile), m.idCell(cells, iPhone)
	if mobile == "" && other == "" {
		return nil
	}
	// The cache is keyed by two independent 64-bit hashes of the cells
	// rather than by the cells: comparing stored strings costs a cache
	// miss per row, and a false match needs both hashes to collide
	// (2^-128), so no patient can get another patient's number.
	b := append(append(append(m.phoneKey[:0], mobile...), 0x1f), other...)
	m.phoneKey = b
	k, check := maphash.Bytes(m.seed1, b), maphash.Bytes(m.seed2, b)
	r, ok := m.phones[k]
	if !ok || r.check != check {
		var mobiles, others []schemas.Phone
		r.check = check
		mobiles, r.warn[0] = parsePhoneCell(mobile)
		others, r.warn[1] = parsePhoneCell(other)
		r.phones = slices.Clip(phone.Merge(phone.Merge(nil, mobiles...), others...))
		if len(m.phones) >= phoneCacheSize {
			clear(m.phones)
		}
		m.phones[k] = r
	}
	for i, fi := range [2]int{iMobile, iPhone} {
		if r.warn[i] != "" {
			rec.Warnings = append(rec.Warnings, m.problem(line, fi, r.warn[i]))
		}
	}
	// Shared, not copied: every row with the same cells gets the same
	// list (see Record). It is clipped, so an append always copies and can
	// never write into another row's list.
	return r.phones
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

// renderID fills the id template with the local start. Unless the written
// time fell into the spring gap, the local start reads exactly as written
// (the autumn double hour resolves to the first 02:30, which still reads
// 02:30), so the written values are used and the zone is consulted only for
// the gap.
func (m *mapper) renderID(cells []string, patientID string, start time.Time, note wallclock.Note, wall [5]int) string {
	if note == wallclock.NoteGap {
		local := start.In(m.loc)
		y, mo, d := local.Date()
		wall = [5]int{y, int(mo), d, local.Hour(), local.Minute()}
	}
	b := m.keyBuf[:0]
	for _, part := range m.tmpl {
		switch part.field {
		case "":
			b = append(b, part.lit...)
		case string(FieldPatientID):
			b = append(b, patientID...)
		case phStartDate:
			b = appendPadded(b, wall[0], 4)
			b = appendPadded(b, wall[1], 2)
			b = appendPadded(b, wall[2], 2)
		case phStartTime:
			b = appendPadded(b, wall[3], 2)
			b = appendPadded(b, wall[4], 2)
		default:
			b = append(b, m.idCell(cells, fieldIndex(Field(part.field)))...)
		}
	}
	m.keyBuf = b
	return string(b)
}

// local is wallclock.Local behind a small cache.
func (m *mapper) local(y, mo, d, h, mi, s int) (time.Time, wallclock.Note, error) {
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

// shard returns the key set for a start date, creating it on first use.
func (m *mapper) shard(explicitID bool, y, mo, d int) map[uint64]seenKey {
	day := int32(0)
	if !explicitID {
		day = int32(y*10000 + mo*100 + d)
	}
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

func isoDate(y, mo, d int) string {
	b := make([]byte, 0, 10)
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, mo, 2)
	b = append(b, '-')
	b = appendPadded(b, d, 2)
	return string(b)
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
