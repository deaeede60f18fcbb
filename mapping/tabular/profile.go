package tabular

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/praxisbote/praxisbote/schemas"
)

// Field is a canonical field a source column can be mapped to.
type Field string

// The canonical fields. A profile maps each one it needs to a source column.
const (
	FieldAppointmentID Field = "appointment_id"
	FieldDate          Field = "date"
	FieldTime          Field = "time" // start time
	FieldEndTime       Field = "end_time"
	FieldDuration      Field = "duration" // minutes
	FieldPatientID     Field = "patient_id"
	FieldFamilyName    Field = "family_name"
	FieldGivenName     Field = "given_name"
	FieldName          Field = "name" // "Nachname, Vorname" in one cell
	FieldBirthDate     Field = "birth_date"
	FieldMobile        Field = "mobile"
	FieldPhone         Field = "phone"
	FieldPractitioner  Field = "practitioner"
	FieldKind          Field = "kind"
	FieldStatus        Field = "status"
	FieldLocation      Field = "location"
)

// fields lists every canonical field, in the order rows are checked.
var fields = []Field{
	FieldAppointmentID, FieldDate, FieldTime, FieldEndTime, FieldDuration,
	FieldPatientID, FieldFamilyName, FieldGivenName, FieldName, FieldBirthDate,
	FieldMobile, FieldPhone, FieldPractitioner, FieldKind, FieldStatus, FieldLocation,
}

// Fields returns the canonical fields a profile may map, so tools and
// error messages can list them.
func Fields() []Field { return slices.Clone(fields) }

// fieldIndex gives each field a dense index so a row plan is an array
// lookup, not a map lookup per cell.
func fieldIndex(f Field) int { return slices.Index(fields, f) }

// Formats a profile can declare.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// Encodings a CSV profile can declare.
const (
	EncodingAuto        = "auto"
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
)

// Column names the source column of a field: either its header text or its
// 1-based position. In YAML a quoted or textual value is a name ("Datum"),
// an unquoted integer is a position (3).
type Column struct {
	Name     string
	Position int
}

// UnmarshalYAML tells names from positions by the YAML tag, so that a
// column literally called "1" can still be written as "1" in quotes.
func (c *Column) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a column is a header name or a 1-based position, not a list or map", n.Line)
	}
	switch n.Tag {
	case "!!int":
		pos, err := strconv.Atoi(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: column position %q: %w", n.Line, n.Value, err)
		}
		*c = Column{Position: pos}
	case "!!str":
		*c = Column{Name: n.Value}
	case "!!null":
		*c = Column{}
	default:
		return fmt.Errorf("line %d: column %q is neither a header name nor a position; quote it if it is a name", n.Line, n.Value)
	}
	return nil
}

// MarshalYAML writes the column back the way it was declared.
func (c Column) MarshalYAML() (any, error) {
	if c.Position > 0 {
		return c.Position, nil
	}
	return c.Name, nil
}

func (c Column) String() string {
	if c.Position > 0 {
		return "column " + strconv.Itoa(c.Position)
	}
	return strconv.Quote(c.Name)
}

// Profile declares how one export layout maps to the canonical model.
// profiles/template.yaml documents every key for people writing one.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Format is "csv" or "xlsx".
	Format string `yaml:"format"`
	// Encoding (CSV only): "auto" (default), "utf-8" or "windows-1252".
	// auto reads UTF-8 (a BOM is dropped) when the bytes are valid UTF-8
	// and Windows-1252 otherwise.
	Encoding string `yaml:"encoding,omitempty"`
	// Delimiter (CSV only): "auto" (default: sniffed among ; , and tab),
	// or the character itself; "tab" is accepted for a tab.
	Delimiter string `yaml:"delimiter,omitempty"`
	// HeaderRow is the line (CSV) or row (XLSX) of the header, 1-based.
	// 0 means: the first row that contains every declared column name.
	HeaderRow int `yaml:"header_row,omitempty"`
	// Sheet (XLSX only) names the sheet to read; default the active sheet.
	// Other sheets are never read.
	Sheet string `yaml:"sheet,omitempty"`
	// Columns maps canonical fields to source columns.
	Columns map[Field]Column `yaml:"columns"`
	// DateFormat and TimeFormat describe text dates and times, e.g.
	// "DD.MM.YYYY" and "HH:MM". XLSX date and time cells need none.
	DateFormat string `yaml:"date_format,omitempty"`
	TimeFormat string `yaml:"time_format,omitempty"`
	// StatusMap maps source status words (case-insensitive) to canonical
	// statuses. A word not listed rejects the row.
	StatusMap map[string]schemas.AppointmentStatus `yaml:"status_map,omitempty"`
	// Snapshot: the export lists every appointment of its date range.
	Snapshot bool `yaml:"snapshot,omitempty"`
	// IDTemplate builds the appointment's external id when the export has
	// no appointment id column. Default DefaultIDTemplate.
	IDTemplate string `yaml:"id_template,omitempty"`
}

// DefaultIDTemplate derives a stable appointment key from the patient and
// the local start, e.g. "10001-20270111T0800": the same row imported twice
// yields the same key, so a re-import creates nothing new.
const DefaultIDTemplate = "{patient_id}-{start_date}T{start_time}"

// profileStatuses are the statuses an export may state. A patient's
// confirmation or cancel request only ever comes from the patient's reply,
// never from a PMS export (an "accepted" flag in a PMS is the practice's
// view), so those canonical statuses cannot be mapped to.
var profileStatuses = []schemas.AppointmentStatus{
	schemas.StatusBooked, schemas.StatusCancelled, schemas.StatusMoved, schemas.StatusNoShow,
}

// LoadProfile decodes and validates one YAML profile. Unknown keys are an
// error: a misspelt key ("date_fromat") would otherwise be silently
// ignored and the profile would misread every row.
func LoadProfile(r io.Reader) (Profile, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return Profile{}, errors.New("profile is empty")
		}
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Validate reports every mistake in the profile at once, so whoever writes
// one fixes them in a single round.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("name is missing")
	}
	switch p.Format {
	case FormatCSV, FormatXLSX:
	case "":
		bad("format is missing: write csv or xlsx")
	default:
		bad("format %q is not supported: write csv or xlsx (an old binary .xls must be saved as .xlsx or CSV)", p.Format)
	}
	if _, err := normEncoding(p.Encoding); err != nil {
		bad("%v", err)
	}
	if _, err := normDelimiter(p.Delimiter); err != nil {
		bad("%v", err)
	}
	if p.HeaderRow < 0 {
		bad("header_row %d: rows are counted from 1 (leave it out to find the header by its column names)", p.HeaderRow)
	}
	if p.Format == FormatCSV && p.Sheet != "" {
		bad("sheet %q is only meaningful for xlsx", p.Sheet)
	}
	if len(p.Columns) == 0 {
		bad("columns is empty: map at least date, time, patient_id and a name")
	}
	named, positions := 0, map[int]Field{}
	names := map[string]Field{}
	// Walk the map in a fixed order so the same profile always gets the
	// same message.
	keys := slices.Collect(maps.Keys(p.Columns))
	slices.SortFunc(keys, func(a, b Field) int {
		ia, ib := fieldIndex(a), fieldIndex(b)
		if ia < 0 {
			ia = len(fields)
		}
		if ib < 0 {
			ib = len(fields)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(string(a), string(b))
	})
	for _, f := range keys {
		c := p.Columns[f]
		if fieldIndex(f) < 0 {
			bad("columns: unknown field %q; known fields: %s", f, joinFields(fields))
			continue
		}
		switch {
		case c.Position < 0:
			bad("columns.%s: position %d: positions are counted from 1", f, c.Position)
		case c.Position > 0:
			if other, dup := positions[c.Position]; dup {
				bad("columns.%s and columns.%s both use position %d", f, other, c.Position)
			}
			positions[c.Position] = f
		case strings.TrimSpace(c.Name) == "":
			bad("columns.%s: no column given", f)
		default:
			named++
			key := strings.ToLower(strings.TrimSpace(c.Name))
			if other, dup := names[key]; dup {
				bad("columns.%s and columns.%s both use column %q", f, other, c.Name)
			}
			names[key] = f
		}
	}
	has := func(f Field) bool { _, ok := p.Columns[f]; return ok }
	for _, f := range []Field{FieldDate, FieldTime, FieldPatientID} {
		if !has(f) {
			bad("columns.%s is required", f)
		}
	}
	if !has(FieldDuration) && !has(FieldEndTime) {
		bad("columns: either duration (minutes) or end_time is required, or appointments would have no end")
	}
	if has(FieldName) && (has(FieldFamilyName) || has(FieldGivenName)) {
		bad("columns: use either name (\"Nachname, Vorname\" in one cell) or family_name/given_name, not both")
	}
	if !has(FieldName) && !has(FieldFamilyName) {
		bad("columns: a name is required: name, or family_name (with given_name)")
	}
	if named == 0 && p.HeaderRow == 0 && len(p.Columns) > 0 {
		bad("header_row is required when every column is given by position: there is no name to find the header by")
	}
	if p.Format == FormatCSV || p.DateFormat != "" {
		if _, err := compileLayout(p.DateFormat, dateTokens); err != nil {
			bad("date_format: %v", err)
		}
	}
	if p.Format == FormatCSV || p.TimeFormat != "" {
		if _, err := compileLayout(p.TimeFormat, timeTokens); err != nil {
			bad("time_format: %v", err)
		}
	}
	if has(FieldStatus) && len(p.StatusMap) == 0 {
		bad("status_map is required with a status column: list every status word the export uses")
	}
	seen := map[string]string{}
	for _, word := range slices.Sorted(maps.Keys(p.StatusMap)) {
		st := p.StatusMap[word]
		if !slices.Contains(profileStatuses, st) {
			bad("status_map: %q → %q: an export can only state %v (a patient's confirmation comes from the patient's reply, never from an export)", word, st, profileStatuses)
		}
		key := strings.ToLower(strings.TrimSpace(word))
		if other, dup := seen[key]; dup {
			bad("status_map: %q and %q are the same word (status words are compared case-insensitively)", other, word)
		}
		seen[key] = word
	}
	if has(FieldAppointmentID) && p.IDTemplate != "" {
		bad("id_template is only used without an appointment_id column; remove one of them")
	}
	if p.IDTemplate != "" {
		if _, err := compileTemplate(p.IDTemplate); err != nil {
			bad("id_template: %v", err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("profile %q is invalid: %w", name, errors.Join(errs...))
}

func joinFields(fs []Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

func normEncoding(e string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(e)) {
	case "", "auto":
		return EncodingAuto, nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252", "windows1252":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("encoding %q is not supported: write auto, utf-8 or windows-1252", e)
}

// normDelimiter returns 0 for auto.
func normDelimiter(d string) (rune, error) {
	switch d {
	case "", "auto":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	}
	r := []rune(d)
	if len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' || r[0] == 0xFFFD {
		return 0, fmt.Errorf("delimiter %q: write auto, tab, or one character such as ; or ,", d)
	}
	return r[0], nil
}

//go:embed profiles/*.yaml
var embedded embed.FS

// templateFile documents the keys; it is a valid profile but not a real
// PMS layout, so it is not offered for detection.
const templateFile = "template.yaml"

var loadEmbedded = sync.OnceValues(func() ([]Profile, error) {
	entries, err := fs.ReadDir(embedded, "profiles")
	if err != nil {
		return nil, err
	}
	var out []Profile
	for _, e := range entries {
		if e.Name() == templateFile {
			continue
		}
		f, err := embedded.Open(path.Join("profiles", e.Name()))
		if err != nil {
			return nil, err
		}
		p, err := LoadProfile(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", e.Name(), err)
		}
		out = append(out, p)
	}
	return out, nil
})

// Profiles returns the profiles shipped with praxisbote, sorted by file
// name. Each call returns fresh copies, so a caller cannot change what the
// next caller gets.
func Profiles() []Profile {
	ps, err := loadEmbedded()
	if err != nil {
		// The files are compiled in and covered by tests; a broken one is a
		// build defect, not a runtime condition.
		panic(err)
	}
	out := make([]Profile, len(ps))
	for i, p := range ps {
		out[i] = p.clone()
	}
	return out
}

// ProfileByName returns the embedded profile with that name.
func ProfileByName(name string) (Profile, bool) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

func (p Profile) clone() Profile {
	q := p
	if p.Columns != nil {
		q.Columns = make(map[Field]Column, len(p.Columns))
		for k, v := range p.Columns {
			q.Columns[k] = v
		}
	}
	if p.StatusMap != nil {
		q.StatusMap = make(map[string]schemas.AppointmentStatus, len(p.StatusMap))
		for k, v := range p.StatusMap {
			q.StatusMap[k] = v
		}
	}
	return q
}

// namedColumns returns the declared header names, in canonical field order,
// for header search and error messages.
func (p Profile) namedColumns() []string {
	var out []string
	for _, f := range fields {
		if c, ok := p.Columns[f]; ok && c.Position == 0 {
			out = append(out, strings.TrimSpace(c.Name))
		}
	}
	return out
}
