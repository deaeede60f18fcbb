package tabular

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Detect picks the profile that fits the file, by content: the zip
// signature tells XLSX from CSV, and the header row must carry every
// column name the profile declares. File names are not trusted; practices
// rename exports.
//
// When several profiles fit, the one declaring the most named columns wins
// (it is the most specific), then the earlier one in the list. A profile of
// the file's own format is preferred over one of the other format. When
// none fits, the error lists the columns found in the file and why each
// profile did not fit, which is what a support engineer needs to write a
// new profile.
func Detect(data []byte, profiles []Profile) (Profile, error) {
	kind, err := sniffContent(data[:min(len(data), 8)])
	if err != nil {
		return Profile{}, err
	}
	var (
		seen   []string
		tried  []string
		best   = -1
		score  = -1
		ownFmt bool
	)
	consider := func(i int, p Profile, ok bool, why string) {
		if !ok {
			tried = append(tried, fmt.Sprintf("%s (%s)", p.Name, why))
			return
		}
		own := (p.Format == FormatXLSX) == (kind == contentZip)
		s := len(p.namedColumns())
		if best < 0 || (own && !ownFmt) || (own == ownFmt && s > score) {
			best, score, ownFmt = i, s, own
		}
	}

	if kind == contentZip {
		f, err := openWorkbook(data)
		if err != nil {
			return Profile{}, err
		}
		defer func() { _ = f.Close() }()
		heads := map[string][]sniffedRow{}
		for i, p := range profiles {
			if err := p.Validate(); err != nil {
				consider(i, p, false, "invalid profile")
				continue
			}
			sheet, err := pickSheet(f, p)
			if err != nil {
				consider(i, p, false, err.Error())
				continue
			}
			rows, ok := heads[sheet]
			if !ok {
				cells, err := sheetHead(f, sheet, maxHeaderScan)
				if err != nil {
					return Profile{}, err
				}
				for n, c := range cells {
					rows = append(rows, sniffedRow{line: n + 1, cells: c})
				}
				heads[sheet] = rows
				if seen == nil {
					seen = widestRow(rowCells(rows))
				}
			}
			found, missing := findHeader(rows, p)
			consider(i, p, found >= 0, "lacks "+quoteAll(missing))
		}
	} else {
		for i, p := range profiles {
			if err := p.Validate(); err != nil {
				consider(i, p, false, "invalid profile")
				continue
			}
			if p.Format == FormatXLSX {
				consider(i, p, false, "expects an XLSX workbook")
				continue
			}
			enc, _ := normEncoding(p.Encoding)
			prefix, err := decodePrefix(data, enc)
			if err != nil {
				consider(i, p, false, err.Error())
				continue
			}
			delim, _ := normDelimiter(p.Delimiter)
			if delim == 0 {
				delim = sniffDelimiter(prefix, p)
			}
			found, missing := findHeader(sniffRows(prefix, delim), p)
			consider(i, p, found >= 0, "lacks "+quoteAll(missing))
		}
		if best < 0 {
			seen = guessColumns(data)
		}
	}
	if best >= 0 {
		return profiles[best].clone(), nil
	}
	if len(tried) == 0 {
		tried = []string{"(no profiles given)"}
	}
	return Profile{}, fmt.Errorf("%w: the file's columns are %s; tried %s",
		ErrNoProfile, describeColumns(seen), strings.Join(tried, "; "))
}

func rowCells(rows []sniffedRow) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.cells
	}
	return out
}

// decodePrefix decodes the start of a text file the way Stream would.
func decodePrefix(data []byte, enc string) (string, error) {
	raw := bufio.NewReaderSize(bytes.NewReader(data), sniffSize)
	dec, err := newDecoder(raw, enc)
	if err != nil {
		return "", err
	}
	buf := make([]byte, sniffSize)
	n, err := io.ReadFull(dec, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	return string(buf[:n]), nil
}

// guessColumns shows what a text file's header probably is, for the
// "no profile matches" message: the widest row under the delimiter that
// gives the most regular shape.
func guessColumns(data []byte) []string {
	prefix, err := decodePrefix(data, EncodingAuto)
	if err != nil {
		return nil
	}
	var best []sniffedRow
	bestScore := -1
	for _, d := range []rune{';', ',', '\t'} {
		rows := sniffRows(prefix, d)
		if s := shapeScore(rows); s > bestScore {
			best, bestScore = rows, s
		}
	}
	return widestRow(rowCells(best))
}
