package tabular

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// File-level errors. Parse and Stream wrap them with the file name and the
// details, so callers can branch with errors.Is and people can read the text.
var (
	// ErrLegacyXLS: an old binary Excel workbook (BIFF, OLE container).
	ErrLegacyXLS = errors.New("this is an old binary Excel file (.xls), which is not supported: in Excel use \"Save as\" → \"Excel workbook (.xlsx)\" or \"CSV (semicolon separated)\", or export XLSX or CSV from the PMS")
	// ErrNotTabular: neither CSV text nor an XLSX workbook.
	ErrNotTabular = errors.New("not a CSV or XLSX file")
	// ErrEncoding: the text cannot be decoded with the declared encoding.
	ErrEncoding = errors.New("text encoding cannot be read")
	// ErrNoHeader: no row carries the profile's column names.
	ErrNoHeader = errors.New("no header row found")
	// ErrNoProfile: Detect found no profile whose columns are in the file.
	ErrNoProfile = errors.New("no profile matches this file")
	// ErrEmpty: the file has no content.
	ErrEmpty = errors.New("file is empty")
)

var (
	magicZip = []byte("PK\x03\x04")
	magicOLE = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	bomUTF8  = []byte{0xEF, 0xBB, 0xBF}
)

// sniffSize is how much is looked at to decide format, encoding, delimiter
// and header. 64 KiB holds hundreds of rows of any appointment export.
const sniffSize = 64 << 10

// kind of content, decided by bytes and never by the file name: PMS users
// rename files freely, and an XLSX saved as "termine.csv" is common.
type content int

const (
	contentText content = iota
	contentZip
)

func sniffContent(head []byte) (content, error) {
	switch {
	case len(head) == 0:
		return 0, ErrEmpty
	case bytes.HasPrefix(head, magicOLE[:4]):
		// D0 CF 11 E0 is the OLE compound file every .xls (BIFF8) lives in.
		return 0, ErrLegacyXLS
	case bytes.HasPrefix(head, magicZip):
		return contentZip, nil
	case bytes.HasPrefix(head, []byte("%PDF")):
		return 0, fmt.Errorf("%w: it is a PDF; export the appointment list as CSV or XLSX", ErrNotTabular)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		// UTF-16 with BOM: Excel's "Unicode text" export. Its NUL bytes are
		// text, not binary.
		return contentText, nil
	case bytes.IndexByte(head, 0) >= 0:
		return 0, fmt.Errorf("%w: it contains binary data (NUL bytes)", ErrNotTabular)
	}
	return contentText, nil
}

// decoder turns the raw bytes of a CSV into UTF-8 as it streams, and
// remembers which encoding it settled on so the summary can say so.
type decoder struct {
	raw   *bufio.Reader
	out   io.Reader // nil while auto has seen nothing but ASCII
	enc   string
	lines int // newlines delivered, for error positions
	err   error
}

// newDecoder prepares decoding of raw with the declared encoding. For
// "auto" the choice is made at the first non-ASCII byte, by checking the
// next 64 KiB: everything before it is ASCII, which reads the same in
// UTF-8 and Windows-1252, so deciding late never changes earlier text and
// the file need not be held in memory.
func newDecoder(raw *bufio.Reader, enc string) (*decoder, error) {
	d := &decoder{raw: raw, enc: enc}
	head, _ := raw.Peek(3)
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		if enc == EncodingWindows1252 {
			return nil, fmt.Errorf("%w: the file starts with a UTF-8 byte-order mark but the profile says windows-1252; set encoding: auto or utf-8", ErrEncoding)
		}
		_, _ = raw.Discard(3)
		d.enc = EncodingUTF8
		d.out = transform.NewReader(raw, encoding.UTF8Validator)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		if enc != EncodingAuto {
			return nil, fmt.Errorf("%w: the file is UTF-16 (it starts with a UTF-16 byte-order mark) but the profile says %s; set encoding: auto", ErrEncoding, enc)
		}
		d.enc = "utf-16"
		d.out = transform.NewReader(raw, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case enc == EncodingUTF8:
		d.out = transform.NewReader(raw, encoding.UTF8Validator)
	case enc == EncodingWindows1252:
		d.out = newWin1252Reader(raw)
	}
	return d, nil
}

func (d *decoder) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.out == nil {
		n, err := d.readUndecided(p)
		if n > 0 || err != nil || d.out == nil {
			d.lines += bytes.Count(p[:n], []byte{'\n'})
			return n, err
		}
	}
	n, err := d.out.Read(p)
	d.lines += bytes.Count(p[:n], []byte{'\n'})
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, encoding.ErrInvalidUTF8) {
			err = fmt.Errorf("%w: invalid UTF-8 on line %d although the file was read as UTF-8; set encoding: windows-1252 in the profile if the export is Windows-1252", ErrEncoding, d.lines+1)
		}
		d.err = err
	}
	return n, err
}

func (d *decoder) readUndecided(p []byte) (int, error) {
	if _, err := d.raw.Peek(1); err != nil {
		return 0, err
	}
	buf, _ := d.raw.Peek(d.raw.Buffered())
	i := 0
	for i < len(buf) && buf[i] < utf8.RuneSelf {
		i++
	}
	if i > 0 {
		n := copy(p, buf[:i])
		_, _ = d.raw.Discard(n)
		return n, nil
	}
	win, err := d.raw.Peek(d.raw.Size())
	if looksUTF8(win, err != nil) {
		d.enc = EncodingUTF8
		d.out = transform.NewReader(d.raw, encoding.UTF8Validator)
	} else {
		d.enc = EncodingWindows1252
		d.out = newWin1252Reader(d.raw)
	}
	return 0, nil
}

// looksUTF8 reports whether win is valid UTF-8, forgiving a rune cut off by
// the end of the window when more input follows.
func looksUTF8(win []byte, atEOF bool) bool {
	if utf8.Valid(win) {
		return true
	}
	if atEOF {
		return false
	}
	for k := 1; k <= 3 && k <= len(win); k++ {
		tail := win[len(win)-k:]
		if utf8.RuneStart(tail[0]) && !utf8.FullRune(tail) {
			return utf8.Valid(win[:len(win)-k])
		}
	}
	return false
}

// encoding returns the encoding actually used; "auto" until decided
// (a pure-ASCII file never needs to decide, and reads as UTF-8).
func (d *decoder) encoding() string {
	if d.enc == EncodingAuto {
		return EncodingUTF8
	}
	return d.enc
}

// win1252 decodes Windows-1252 with x/text's code page table, but takes
// eight bytes at a time: nearly every byte of an export is ASCII, which a
// word test finds and a word store copies, and x/text's byte-by-byte loop
// was the largest single cost of reading a CSV.
type win1252 struct {
	transform.NopResetter
	high [128]string // UTF-8 of bytes 0x80-0xFF
}

func newWin1252() *win1252 {
	w := &win1252{}
	for i := range w.high {
		w.high[i] = string(charmap.Windows1252.DecodeByte(byte(0x80 + i)))
	}
	return w
}

func (w *win1252) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if nSrc+8 <= len(src) && nDst+8 <= len(dst) {
			// Store the whole word, but keep only its ASCII head: the
			// bytes after it are overwritten next (dst is scratch space
			// beyond nDst).
			v := binary.LittleEndian.Uint64(src[nSrc:])
			binary.LittleEndian.PutUint64(dst[nDst:], v)
			high := v & 0x8080808080808080
			if high == 0 {
				nSrc += 8
				nDst += 8
				continue
			}
			k := bits.TrailingZeros64(high) / 8
			nSrc += k
			nDst += k
		}
		if c := src[nSrc]; c < utf8.RuneSelf {
			if nDst == len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		enc := w.high[src[nSrc]-0x80]
		if len(dst)-nDst < len(enc) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += copy(dst[nDst:], enc)
		nSrc++
	}
	return nDst, nSrc, nil
}

// win1252Reader decodes straight from the raw reader's buffer into the
// caller's. transform.NewReader(raw, newWin1252()) reads the same, but
// copies every byte once more through a buffer of its own.
type win1252Reader struct {
	raw  *bufio.Reader
	dec  *win1252
	rest string // the end of a character that did not fit into p
	err  error  // sticky, as with transform.Reader
}

func newWin1252Reader(raw *bufio.Reader) *win1252Reader {
	return &win1252Reader{raw: raw, dec: newWin1252()}
}

func (r *win1252Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.rest != "" {
		n := copy(p, r.rest)
		r.rest = r.rest[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if _, err := r.raw.Peek(1); err != nil {
		r.err = err
		return 0, err
	}
	src, _ := r.raw.Peek(r.raw.Buffered())
	n, m, _ := r.dec.Transform(p, src, false)
	if m == 0 {
		// p cannot hold the next character (up to three bytes in UTF-8):
		// hand out what fits and keep the rest, so that a nearly full
		// buffer above never sees an empty read.
		enc := r.dec.high[src[0]-0x80]
		n = copy(p, enc)
		r.rest = enc[n:]
		m = 1
	}
	_, _ = r.raw.Discard(m)
	return n, nil
}
