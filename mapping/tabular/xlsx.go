package tabular

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/praxisbote/praxisbote/schemas"
)

// maxUnzip caps how far a workbook may decompress. excelize's default is
// 16 GB; a zip bomb sent as "termine.xlsx" must not fill memory or disk.
const maxUnzip = 1 << 30

// rawCells asks excelize for stored values, not display strings: a display
// string depends on the number format ("15.02.27", "Feb 15") while the
// stored serial is exact.
var rawCells = excelize.Options{RawCellValue: true}

// safely runs a call into excelize. The workbook is untrusted input; a
// panic inside the third-party parser must become a file error, not take
// the importer down.
func safely(name string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the workbook is damaged and cannot be read (%v)", ErrNotTabular, r)
		}
	}()
	return fn()
}

func openWorkbook(data []byte) (*excelize.File, error) {
	var f *excelize.File
	err := safely("", func() error {
		var err error
		f, err = excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true, UnzipSizeLimit: maxUnzip})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: it is a zip archive but not a readable XLSX workbook (%v)", ErrNotTabular, err)
	}
	return f, nil
}

// pickSheet returns the declared sheet, else the active one. Only that
// sheet is read: workbooks carry legends and lookup tables on other sheets
// that would otherwise turn into appointments.
func pickSheet(f *excelize.File, p Profile) (string, error) {
	list := f.GetSheetList()
	if p.Sheet != "" {
		for _, s := range list {
			if strings.EqualFold(s, p.Sheet) {
				return s, nil
			}
		}
		return "", fmt.Errorf("%w: the workbook has no sheet %q; its sheets are %s", ErrNoHeader, p.Sheet, quoteAll(list))
	}
	if s := f.GetSheetName(f.GetActiveSheetIndex()); s != "" {
		return s, nil
	}
	if len(list) == 0 {
		return "", fmt.Errorf("%w: the workbook has no sheets", ErrEmpty)
	}
	return list[0], nil
}

func streamXLSX(data []byte, name string, p Profile, loc *time.Location, emit func(Record) error) (Summary, error) {
	f, err := openWorkbook(data)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	sheet, err := pickSheet(f, p)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	date1904 := false
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	var rows *excelize.Rows
	if err := safely(name, func() error {
		var err error
		rows, err = f.Rows(sheet)
		return err
	}); err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	defer func() { _ = rows.Close() }()

	e := newEngine(p, loc, true, date1904, emit)
	e.sum.Format = FormatXLSX
	e.sum.Sheet = sheet
	if ext := strings.ToLower(filepath.Ext(name)); p.Format == FormatCSV || (ext != "" && ext != ".xlsx" && ext != ".xlsm") {
		e.sum.FileWarnings = append(e.sum.FileWarnings, schemas.Problem{Reason: fmt.Sprintf(
			"the file is named %q but its content is an XLSX workbook; it was read as XLSX (sheet %q)", filepath.Base(name), sheet)})
	}
	if err := e.run(&xlsxSource{rows: rows, name: name}); err != nil {
		return e.sum, fmt.Errorf("%s: %w", name, err)
	}
	return e.sum, nil
}

// xlsxSource iterates the sheet XML row by row. The row number is counted
// by the iterator, which also yields rows missing from the XML as empty;
// the sheet's <dimension> tag is never consulted (writers get it wrong).
type xlsxSource struct {
	rows *excelize.Rows
	name string
	n    int
}

func (s *xlsxSource) next() (cells []string, text string, line int, err error) {
	err = safely(s.name, func() error {
		if !s.rows.Next() {
			if err := s.rows.Error(); err != nil {
				return fmt.Errorf("%w: %v", ErrNotTabular, err)
			}
			return io.EOF
		}
		s.n++
		var err error
		cells, err = s.rows.Columns(rawCells)
		if err != nil {
			return fmt.Errorf("%w: row %d: %v", ErrNotTabular, s.n, err)
		}
		return nil
	})
	return cells, "", s.n, err
}

// sheetHead reads the first rows of a sheet for detection.
func sheetHead(f *excelize.File, sheet string, n int) ([][]string, error) {
	var out [][]string
	err := safely("", func() error {
		rows, err := f.Rows(sheet)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for len(out) < n && rows.Next() {
			cells, err := rows.Columns(rawCells)
			if err != nil {
				return err
			}
			out = append(out, slices.Clone(cells))
		}
		return rows.Error()
	})
	return out, err
}
