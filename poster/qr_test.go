package poster

import (
	"bytes"
	"image/png"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/require"
)

func TestPNGHasSizeAndDecodesToLink(t *testing.T) {
	t.Parallel()
	other := example()
	other.WhatsAppNumber = "+4915112345678"
	other.PracticeCode = "ZAHN-ARZT-2026-A"
	for _, p := range []Poster{example(), other} {
		// 301 is no multiple of the symbol width, so modules differ by a
		// pixel; scanners cope and so must the image.
		for _, size := range []int{200, 256, 301, 512} {
			b, err := p.PNG(size)
			require.NoError(t, err)
			img, err := png.Decode(bytes.NewReader(b))
			require.NoError(t, err)
			require.Equal(t, size, img.Bounds().Dx())
			require.Equal(t, size, img.Bounds().Dy())

			got, err := decodeQR(img)
			require.NoError(t, err, "size %d", size)
			require.Equal(t, p.Link(), got.text, "size %d", size)
			require.Equal(t, "M", got.level, "medium error correction")
		}
	}
}

// The smallest size is one pixel per module, quiet zone included; below
// it go-qrcode would silently return a larger image.
func TestPNGSizeLimits(t *testing.T) {
	t.Parallel()
	p := example()
	q, err := qrcode.New(p.Link(), qrcode.Medium)
	require.NoError(t, err)
	minSize := len(q.Bitmap())

	b, err := p.PNG(minSize)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, minSize, img.Bounds().Dx())
	got, err := decodeQR(img)
	require.NoError(t, err)
	require.Equal(t, p.Link(), got.text)

	for _, size := range []int{-1, 0, minSize - 1, MaxPNGSize + 1} {
		_, err := p.PNG(size)
		require.ErrorIs(t, err, ErrPNGSize, "size %d", size)
	}
}

// Also the fallback check the brief names for want of a decoder: same
// input, same bytes (posters can be reprinted identically); another code,
// another image.
func TestPNGDeterministic(t *testing.T) {
	t.Parallel()
	a, err := example().PNG(256)
	require.NoError(t, err)
	b, err := example().PNG(256)
	require.NoError(t, err)
	require.Equal(t, a, b)

	other := example()
	other.PracticeCode = "PRAXIS-7F3L"
	c, err := other.PNG(256)
	require.NoError(t, err)
	require.NotEqual(t, a, c)
}

func TestPNGRefusesInvalidPoster(t *testing.T) {
	t.Parallel()
	p := example()
	p.WhatsAppNumber = "030 23125100"
	_, err := p.PNG(256)
	require.ErrorIs(t, err, ErrNumberNotE164)
}
