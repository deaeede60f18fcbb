package poster

// A minimal QR reader for tests. No pure-Go QR decoder is among the modules
// this project may add, and checking the PNG only against go-qrcode's own
// bitmap would test go-qrcode with itself. This reader is written from the
// QR specification (ISO/IEC 18004) independently of the encoder: it reads a
// clean, upright, computer-made symbol (a PNG from PNG, or a PDF page
// rendered by pdftoppm), medium error correction only, versions 1–10. It
// does no error correction: on a clean image every bit must already be
// right, and any mistake in encoder, layout or reader shows up as a wrong or
// undecodable text, never as a false pass.

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
)

// Error correction for medium level, indexed by version 1–10.
var (
	qrEccPerBlockM = [...]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26}
	qrBlocksM      = [...]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5}
)

type qrResult struct {
	text    string
	level   string // "L", "M", "Q" or "H"
	version int
}

// dark says whether a pixel is dark (anti-aliased edges split at half grey).
func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (299*r+587*g+114*b)/1000 < 0x8000
}

// decodeQR reads the one QR symbol in img; the image may hold the quiet
// zone around it but nothing else dark.
func decodeQR(img image.Image) (qrResult, error) {
	bb := img.Bounds()
	minX, minY, maxX, maxY := bb.Max.X, bb.Max.Y, bb.Min.X-1, bb.Min.Y-1
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			if dark(img, x, y) {
				minX, minY = min(minX, x), min(minY, y)
				maxX, maxY = max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < minX {
		return qrResult{}, errors.New("no dark pixels")
	}
	w, h := float64(maxX-minX+1), float64(maxY-minY+1)
	// The top row of the top-left finder pattern is 7 modules of dark.
	run := 0
	for x := minX; x <= maxX && dark(img, x, minY); x++ {
		run++
	}
	module := float64(run) / 7
	version := int(math.Round((w/module - 17) / 4))
	if version < 1 || version > 10 {
		return qrResult{}, fmt.Errorf("version %d outside 1–10 (finder run %d px, width %.0f px)", version, run, w)
	}
	n := 17 + 4*version
	grid := make([][]bool, n)
	for r := range grid {
		grid[r] = make([]bool, n)
		for c := range grid[r] {
			grid[r][c] = dark(img, minX+int((float64(c)+0.5)*w/float64(n)), minY+int((float64(r)+0.5)*h/float64(n)))
		}
	}
	// A finder pattern's ring and core tell that the sampling grid is right.
	for r := range 7 {
		for c := range 7 {
			ring := r == 0 || r == 6 || c == 0 || c == 6
			core := r >= 2 && r <= 4 && c >= 2 && c <= 4
			if grid[r][c] != (ring || core) {
				return qrResult{}, errors.New("top-left finder pattern not where expected")
			}
		}
	}

	// Format information, first copy, bit i as in the specification.
	var format int
	bit := func(i int, on bool) {
		if on {
			format |= 1 << i
		}
	}
	for i := 0; i <= 5; i++ {
		bit(i, grid[i][8])
	}
	bit(6, grid[7][8])
	bit(7, grid[8][8])
	bit(8, grid[8][7])
	for i := 9; i < 15; i++ {
		bit(i, grid[8][14-i])
	}
	format ^= 0x5412
	data := format >> 10
	rem := data
	for range 10 {
		rem = (rem << 1) ^ ((rem >> 9) * 0x537)
	}
	if data<<10|rem != format {
		return qrResult{}, fmt.Errorf("format bits %015b fail their BCH check", format)
	}
	level := [...]string{"M", "L", "H", "Q"}[data>>3]
	mask := data & 7
	if level != "M" {
		return qrResult{level: level, version: version}, fmt.Errorf("error correction level %s; this reader knows M only", level)
	}

	// Function modules carry no data.
	fn := make([][]bool, n)
	for r := range fn {
		fn[r] = make([]bool, n)
	}
	fill := func(r0, c0, r1, c1 int) {
		for r := max(r0, 0); r <= min(r1, n-1); r++ {
			for c := max(c0, 0); c <= min(c1, n-1); c++ {
				fn[r][c] = true
			}
		}
	}
	fill(0, 0, 8, 8)     // top-left finder, separator, format
	fill(0, n-8, 8, n-1) // top-right
	fill(n-8, 0, n-1, 8) // bottom-left, including the dark module
	fill(6, 0, 6, n-1)   // timing
	fill(0, 6, n-1, 6)
	if version >= 2 {
		numAlign := version/7 + 2
		step := (version*4 + numAlign*2 + 1) / (numAlign*2 - 2) * 2
		pos := make([]int, numAlign)
		pos[0] = 6
		for i, p := numAlign-1, n-7; i >= 1; i, p = i-1, p-step {
			pos[i] = p
		}
		for i, cy := range pos {
			for j, cx := range pos {
				if (i == 0 && j == 0) || (i == 0 && j == numAlign-1) || (i == numAlign-1 && j == 0) {
					continue // overlaps a finder
				}
				fill(cy-2, cx-2, cy+2, cx+2)
			}
		}
	}
	if version >= 7 {
		fill(0, n-11, 5, n-9)
		fill(n-11, 0, n-9, 5)
	}

	masked := func(r, c int) bool {
		switch mask {
		case 0:
			return (r+c)%2 == 0
		case 1:
			return r%2 == 0
		case 2:
			return c%3 == 0
		case 3:
			return (r+c)%3 == 0
		case 4:
			return (r/2+c/3)%2 == 0
		case 5:
			return r*c%2+r*c%3 == 0
		case 6:
			return (r*c%2+r*c%3)%2 == 0
		default:
			return ((r+c)%2+r*c%3)%2 == 0
		}
	}

	// Read the codewords in the zigzag order: two-column strips from the
	// right, alternately upwards and downwards, skipping the timing column.
	var bits []bool
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for vert := range n {
			r := vert
			if upward {
				r = n - 1 - vert
			}
			for j := range 2 {
				c := right - j
				if !fn[r][c] {
					bits = append(bits, grid[r][c] != masked(r, c))
				}
			}
		}
	}
	raw := make([]byte, len(bits)/8) // leftover remainder bits are padding
	for i := range raw {
		for j := range 8 {
			if bits[i*8+j] {
				raw[i] |= 0x80 >> j
			}
		}
	}

	// De-interleave the data codewords; the error correction codewords
	// follow them and are not needed on a clean image.
	numBlocks, ecc := qrBlocksM[version], qrEccPerBlockM[version]
	numShort := numBlocks - len(raw)%numBlocks
	shortData := len(raw)/numBlocks - ecc
	blocks := make([][]byte, numBlocks)
	k := 0
	for i := 0; i <= shortData; i++ {
		for b := range blocks {
			if i == shortData && b < numShort {
				continue
			}
			blocks[b] = append(blocks[b], raw[k])
			k++
		}
	}
	var stream []byte
	for _, b := range blocks {
		stream = append(stream, b...)
	}

	text, err := qrSegments(stream, version)
	return qrResult{text: text, level: level, version: version}, err
}

// qrSegments reads numeric, alphanumeric and byte segments up to the
// terminator. go-qrcode mixes modes to keep the symbol small, so a reader
// that knew byte mode only would fail on its output.
func qrSegments(stream []byte, version int) (string, error) {
	pos := 0
	read := func(n int) (int, bool) {
		if pos+n > len(stream)*8 {
			return 0, false
		}
		v := 0
		for range n {
			v = v<<1 | int(stream[pos/8]>>(7-pos%8)&1)
			pos++
		}
		return v, true
	}
	countBits := func(small, medium, large int) int {
		switch {
		case version <= 9:
			return small
		case version <= 26:
			return medium
		}
		return large
	}
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var out strings.Builder
	for {
		mode, ok := read(4)
		if !ok || mode == 0 {
			return out.String(), nil
		}
		var count int
		switch mode {
		case 1:
			count, ok = read(countBits(10, 12, 14))
			for ; ok && count >= 3; count -= 3 {
				var v int
				if v, ok = read(10); ok {
					fmt.Fprintf(&out, "%03d", v)
				}
			}
			if ok && count == 2 {
				var v int
				if v, ok = read(7); ok {
					fmt.Fprintf(&out, "%02d", v)
				}
			} else if ok && count == 1 {
				var v int
				if v, ok = read(4); ok {
					fmt.Fprintf(&out, "%d", v)
				}
			}
		case 2:
			count, ok = read(countBits(9, 11, 13))
			for ; ok && count >= 2; count -= 2 {
				var v int
				if v, ok = read(11); ok && v < 45*45 {
					out.WriteByte(alnum[v/45])
					out.WriteByte(alnum[v%45])
				}
			}
			if ok && count == 1 {
				var v int
				if v, ok = read(6); ok && v < 45 {
					out.WriteByte(alnum[v])
				}
			}
		case 4:
			count, ok = read(countBits(8, 16, 16))
			for ; ok && count > 0; count-- {
				var v int
				if v, ok = read(8); ok {
					out.WriteByte(byte(v))
				}
			}
		default:
			return out.String(), fmt.Errorf("segment mode %04b not supported", mode)
		}
		if !ok {
			return out.String(), errors.New("data ends inside a segment")
		}
	}
}
