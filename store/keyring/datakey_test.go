package keyring_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/store/keyring"
)

func newDataKey(t testing.TB) keyring.DataKey {
	t.Helper()
	dk, _, err := newKeyring(t).NewDataKey()
	require.NoError(t, err)
	return dk
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	aad := []byte("patients|notes|7f3c")
	for name, pt := range map[string][]byte{
		"empty":   {},
		"ascii":   []byte("Zahnschmerzen links unten"),
		"unicode": []byte("Jürgen Größe-Weiß"),
		"binary":  {0, 1, 2, 0xff, 0xfe},
		"large":   bytes.Repeat([]byte("x"), 64<<10),
	} {
		ct, err := dk.Seal(pt, aad)
		require.NoError(t, err, name)
		require.Len(t, ct, 1+12+len(pt)+16, name)
		require.Equal(t, byte(1), ct[0], name)
		if len(pt) > 4 {
			require.NotContains(t, string(ct), string(pt), name)
		}
		got, err := dk.Open(ct, aad)
		require.NoError(t, err, name)
		require.Equal(t, string(pt), string(got), name)
	}
}

func TestSealStringOpenString(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	ct, err := dk.SealString("+4915112345678", "patients|phone|1")
	require.NoError(t, err)
	got, err := dk.OpenString(ct, "patients|phone|1")
	require.NoError(t, err)
	require.Equal(t, "+4915112345678", got)

	_, err = dk.OpenString(ct, "patients|phone|2")
	require.ErrorIs(t, err, keyring.ErrDecrypt)
}

// Equal plaintexts must not produce equal ciphertexts, otherwise the database
// reveals which patients share a value.
func TestSealIsRandomized(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	a, err := dk.SealString("Schmidt", "patients|last_name|1")
	require.NoError(t, err)
	b, err := dk.SealString("Schmidt", "patients|last_name|1")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestOpenWrongAAD(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	ct, err := dk.SealString("Schmidt", "patients|last_name|1")
	require.NoError(t, err)
	for _, aad := range []string{
		"patients|last_name|2",  // other row
		"patients|first_name|1", // other column
		"staff|last_name|1",     // other table
		"",
	} {
		_, err := dk.OpenString(ct, aad)
		require.ErrorIs(t, err, keyring.ErrDecrypt, "aad %q", aad)
	}
}

func TestOpenTampered(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	aad := []byte("patients|notes|1")
	ct, err := dk.Seal([]byte("Allergie: Penicillin"), aad)
	require.NoError(t, err)

	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x80
		_, err := dk.Open(bad, aad)
		require.ErrorIs(t, err, keyring.ErrDecrypt, "flipped byte %d", i)
	}
	for _, n := range []int{0, 1, 12, 28, len(ct) - 1} {
		_, err := dk.Open(ct[:n], aad)
		require.ErrorIs(t, err, keyring.ErrDecrypt, "truncated to %d", n)
	}
	_, err = dk.Open(append(bytes.Clone(ct), 0), aad)
	require.ErrorIs(t, err, keyring.ErrDecrypt, "extended")
}

func TestOpenWithOtherDataKey(t *testing.T) {
	t.Parallel()
	ct, err := newDataKey(t).SealString("Schmidt", "patients|last_name|1")
	require.NoError(t, err)
	_, err = newDataKey(t).OpenString(ct, "patients|last_name|1")
	require.ErrorIs(t, err, keyring.ErrDecrypt)
}

func TestSealRejectsEmptyAAD(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	_, err := dk.Seal([]byte("x"), nil)
	require.Error(t, err)
	_, err = dk.SealString("x", "")
	require.Error(t, err)
}

func TestZeroDataKeyErrorsInsteadOfPanicking(t *testing.T) {
	t.Parallel()
	var dk keyring.DataKey
	_, err := dk.SealString("x", "a|b|c")
	require.Error(t, err)
	_, err = dk.Open(make([]byte, 64), []byte("a|b|c"))
	require.Error(t, err)
}

func TestDataKeyRedactedInFmt(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	// %d and %x matter most: without a Formatter they walk the struct and
	// print the AES key schedule.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%b", "%o"} {
		require.Equal(t, "[redacted]", fmt.Sprintf(verb, dk), "value %s", verb)
		require.Equal(t, "[redacted]", fmt.Sprintf(verb, &dk), "pointer %s", verb)
	}
	require.Equal(t, "{Key:[redacted]}", fmt.Sprintf("%+v", struct{ Key keyring.DataKey }{dk}))
	require.Equal(t, "[[redacted] [redacted]]", fmt.Sprint([]keyring.DataKey{dk, dk}))
	require.Equal(t, "[redacted]", dk.String())
	require.Equal(t, "[redacted]", dk.GoString())
}

func TestDataKeyRedactedInSlog(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t)
	k := newKeyring(t)

	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("unwrapped", "dk", dk, "ptr", &dk, "kr", k,
		slog.Group("patient", "dk", dk))
	line := text.String()
	require.Contains(t, line, "dk=[redacted]")
	require.Contains(t, line, "ptr=[redacted]")
	require.Contains(t, line, "patient.dk=[redacted]")
	require.Contains(t, line, `kr="keyring(id=`+k.KeyID()+`)"`)
	require.Equal(t, 3, strings.Count(line, "[redacted]"), line)

	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("unwrapped", "dk", dk, "ptr", &dk)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &rec))
	require.Equal(t, "[redacted]", rec["dk"])
	require.Equal(t, "[redacted]", rec["ptr"])
}

// BenchmarkSealOpen measures one field round trip, which is the cost the
// store pays per personal field on write plus read.
func BenchmarkSealOpen(b *testing.B) {
	dk := newDataKey(b)
	aad := []byte("patients|last_name|0190b8d2-6c1e-7c5e-9f7a-3c1d2b4a5e6f")
	for _, size := range []int{16, 256, 4096} {
		pt := bytes.Repeat([]byte("a"), size)
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				ct, err := dk.Seal(pt, aad)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := dk.Open(ct, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnwrap is the per-patient cost of getting the data key back.
func BenchmarkUnwrap(b *testing.B) {
	k := newKeyring(b)
	_, wrapped, err := k.NewDataKey()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Unwrap(wrapped); err != nil {
			b.Fatal(err)
		}
	}
}
