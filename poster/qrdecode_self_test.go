package poster

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/require"
)

// The reader is test code that other tests trust, so it is checked on its
// own over every version it claims (1–10) and all three segment modes.
func TestDecodeQRAcrossVersions(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for n := 1; n <= 210; n += 7 {
		for _, content := range []string{
			strings.Repeat("7", n*2),                                  // numeric
			strings.Repeat("PRAXIS-7F3K ", n)[:n],                     // alphanumeric
			strings.Repeat("https://wa.me/?text=Anmelden%20ä", n)[:n], // bytes
		} {
			q, err := qrcode.New(content, qrcode.Medium)
			require.NoError(t, err)
			if q.VersionNumber > 10 {
				continue
			}
			b, err := q.PNG(-3)
			require.NoError(t, err)
			img, err := png.Decode(bytes.NewReader(b))
			require.NoError(t, err)
			got, err := decodeQR(img)
			require.NoError(t, err, "version %d, %q", q.VersionNumber, content)
			require.Equal(t, content, got.text, "version %d", q.VersionNumber)
			require.Equal(t, q.VersionNumber, got.version)
			seen[q.VersionNumber] = true
		}
	}
	for v := 1; v <= 10; v++ {
		require.True(t, seen[v], "version %d not exercised", v)
	}
}

// A reader that reported success whatever it saw would make the PNG test
// worthless; codes at other error correction levels must be told apart and
// refused. go-qrcode names Q (25 %) "High" and H (30 %) "Highest".
func TestDecodeQRRefusesOtherLevels(t *testing.T) {
	t.Parallel()
	for level, want := range map[qrcode.RecoveryLevel]string{qrcode.Low: "L", qrcode.High: "Q", qrcode.Highest: "H"} {
		b, err := qrcode.Encode("https://wa.me/493023125100?text=Anmelden%20PRAXIS-7F3K", level, 256)
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		got, err := decodeQR(img)
		require.Error(t, err)
		require.Equal(t, want, got.level)
	}
}
