package poster

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxPNGSize bounds PNG's size: the image is size² pixels in memory, and a
// mistyped CLI flag should not allocate gigabytes.
const MaxPNGSize = 4096

// qrLevel is medium error correction (~15 % of codewords recoverable): it
// survives a smudged or slightly creased print while keeping the modules
// large enough for older phone cameras at arm's length. Q or H (go-qrcode's
// "High" and "Highest") would make the symbol denser for little gain on a
// poster behind a desk.
const qrLevel = qrcode.Medium

// qr encodes the link. The symbol is built fresh per call; go-qrcode's
// QRCode is not safe for concurrent use.
func (p Poster) qr() (*qrcode.QRCode, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	q, err := qrcode.New(p.Link(), qrLevel)
	if err != nil {
		return nil, fmt.Errorf("poster: encode QR code: %w", err)
	}
	return q, nil
}

// PNG returns just the QR code as a size×size pixel PNG, black on white,
// with the quiet zone (four modules of white) the scanners need. size must
// leave at least one pixel per module; go-qrcode would otherwise silently
// return a larger image than asked for, which breaks a caller's layout.
func (p Poster) PNG(size int) ([]byte, error) {
	q, err := p.qr()
	if err != nil {
		return nil, err
	}
	// Bitmap includes the quiet zone, so its width is the minimum size.
	if minSize := len(q.Bitmap()); size < minSize || size > MaxPNGSize {
		return nil, fmt.Errorf("%w: %d px; want %d to %d for this code", ErrPNGSize, size, minSize, MaxPNGSize)
	}
	b, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("poster: write PNG: %w", err)
	}
	return b, nil
}
