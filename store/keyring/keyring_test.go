package keyring_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/store/keyring"
)

// seqSecret is a fixed, non-zero secret for known-answer tests.
func seqSecret() []byte {
	s := make([]byte, keyring.SecretSize)
	for i := range s {
		s[i] = byte(i + 1)
	}
	return s
}

func randomSecret(t testing.TB) []byte {
	t.Helper()
	s := make([]byte, keyring.SecretSize)
	_, err := rand.Read(s)
	require.NoError(t, err)
	return s
}

func newKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	k, err := keyring.FromSecret(randomSecret(t))
	require.NoError(t, err)
	return k
}

func TestFromSecretRejectsBadSecrets(t *testing.T) {
	t.Parallel()
	for name, secret := range map[string][]byte{
		"nil":      nil,
		"short":    make([]byte, 31),
		"long":     bytes.Repeat([]byte{1}, 33),
		"all zero": make([]byte, 32),
	} {
		_, err := keyring.FromSecret(secret)
		require.Error(t, err, name)
	}
}

func TestFromSecretDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	s := seqSecret()
	_, err := keyring.FromSecret(s)
	require.NoError(t, err)
	require.Equal(t, seqSecret(), s)
}

// TestKnownAnswers pins the derivation. If it fails, stored blind indexes
// and key IDs written by earlier versions no longer match: that is a data
// migration, not a test to update. The expected values were computed
// independently (Python: hmac/hashlib for RFC 5869 HKDF and the
// cryptography package for AES-GCM).
func TestKnownAnswers(t *testing.T) {
	t.Parallel()
	k, err := keyring.FromSecret(seqSecret())
	require.NoError(t, err)
	require.Equal(t, "12162b52", k.KeyID())
	require.Equal(t, "5cba448f4d5ec1e607fd0abe38e26332c137ae29aa001474b489a19c4d1a9037", k.BlindIndex("+4930123456"))

	// A data key wrapped and a field sealed by an independent AES-GCM
	// implementation with the documented formats, KEK label and wrap AAD.
	wrapped, err := hex.DecodeString("01a0a1a2a3a4a5a6a7a8a9aaabb0eba826ad5c4b94b11ed2eef3f75d751827e0538756641e39bb69475f812992b355a04c1f4a3d961b6b856a2123f3ee")
	require.NoError(t, err)
	ct, err := hex.DecodeString("01101112131415161718191a1bb169e19e17d44f460bb12244fe6cc4d1dcc648a0ad3f92")
	require.NoError(t, err)
	dk, err := k.Unwrap(wrapped)
	require.NoError(t, err)
	pt, err := dk.OpenString(ct, "patients|last_name|42")
	require.NoError(t, err)
	require.Equal(t, "Müller", pt)
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	secret := randomSecret(t)
	a, err := keyring.FromSecret(secret)
	require.NoError(t, err)
	b, err := keyring.FromSecret(secret)
	require.NoError(t, err)
	other := newKeyring(t)

	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}$`), a.KeyID())
	require.Equal(t, a.KeyID(), b.KeyID())
	require.NotEqual(t, a.KeyID(), other.KeyID())
	// The fingerprint must not be a prefix of the root itself.
	require.NotEqual(t, hex.EncodeToString(secret[:4]), a.KeyID())
}

func TestCheckKeyID(t *testing.T) {
	t.Parallel()
	k := newKeyring(t)
	other := newKeyring(t)

	require.NoError(t, k.CheckKeyID(k.KeyID()))

	err := k.CheckKeyID(other.KeyID())
	require.ErrorIs(t, err, keyring.ErrKeyMismatch)
	require.Contains(t, err.Error(), other.KeyID())
	require.Contains(t, err.Error(), k.KeyID())
	require.Contains(t, err.Error(), keyring.EnvMasterKey)
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	secret := randomSecret(t)
	a, err := keyring.FromSecret(secret)
	require.NoError(t, err)
	b, err := keyring.FromSecret(secret)
	require.NoError(t, err)
	other := newKeyring(t)

	const phone = "+4915112345678"
	idx := a.BlindIndex(phone)
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), idx)
	require.Equal(t, idx, a.BlindIndex(phone), "stable across calls")
	require.Equal(t, idx, b.BlindIndex(phone), "stable across restarts with the same master key")
	require.NotEqual(t, idx, other.BlindIndex(phone), "keyed: another master key gives another index")
	require.NotEqual(t, idx, a.BlindIndex("+4915112345679"))

	unkeyed := sha256.Sum256([]byte(phone))
	require.NotEqual(t, hex.EncodeToString(unkeyed[:]), idx, "must not be a plain hash")
}

func TestNewDataKeyWrapUnwrap(t *testing.T) {
	t.Parallel()
	k := newKeyring(t)
	dk, wrapped, err := k.NewDataKey()
	require.NoError(t, err)
	require.Len(t, wrapped, 1+12+32+16)
	require.Equal(t, byte(1), wrapped[0])

	const aad = "patients|last_name|42"
	ct, err := dk.SealString("Müller", aad)
	require.NoError(t, err)

	again, err := k.Unwrap(wrapped)
	require.NoError(t, err)
	pt, err := again.OpenString(ct, aad)
	require.NoError(t, err)
	require.Equal(t, "Müller", pt)

	// Each patient gets an independent key.
	dk2, wrapped2, err := k.NewDataKey()
	require.NoError(t, err)
	require.NotEqual(t, wrapped, wrapped2)
	_, err = dk2.OpenString(ct, aad)
	require.ErrorIs(t, err, keyring.ErrDecrypt)
}

func TestUnwrapWithOtherKeyringFails(t *testing.T) {
	t.Parallel()
	_, wrapped, err := newKeyring(t).NewDataKey()
	require.NoError(t, err)

	_, err = newKeyring(t).Unwrap(wrapped)
	require.ErrorIs(t, err, keyring.ErrDecrypt)
}

func TestUnwrapTamperedFails(t *testing.T) {
	t.Parallel()
	k := newKeyring(t)
	_, wrapped, err := k.NewDataKey()
	require.NoError(t, err)

	for i := range wrapped {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 0x01
		_, err := k.Unwrap(bad)
		require.ErrorIs(t, err, keyring.ErrDecrypt, "flipped byte %d", i)
	}
	for _, n := range []int{0, 1, 13, len(wrapped) - 1} {
		_, err := k.Unwrap(wrapped[:n])
		require.ErrorIs(t, err, keyring.ErrDecrypt, "truncated to %d", n)
	}
	_, err = k.Unwrap(append(bytes.Clone(wrapped), 0))
	require.ErrorIs(t, err, keyring.ErrDecrypt, "extended")
}

// A field ciphertext must not be accepted as a wrapped key (or vice versa):
// the AAD "praxisbote/datakey/v1" separates the two uses of GCM.
func TestUnwrapRejectsDataKeyCiphertextWithSameShape(t *testing.T) {
	t.Parallel()
	k := newKeyring(t)
	dk, _, err := k.NewDataKey()
	require.NoError(t, err)
	ct, err := dk.Seal(make([]byte, 32), []byte("praxisbote/datakey/v1"))
	require.NoError(t, err)
	_, err = k.Unwrap(ct)
	require.ErrorIs(t, err, keyring.ErrDecrypt)
}

func TestKeyringRedaction(t *testing.T) {
	t.Parallel()
	k := newKeyring(t)
	want := "keyring(id=" + k.KeyID() + ")"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		require.Equal(t, want, fmt.Sprintf(verb, k), verb)
	}
	require.Equal(t, "{K:"+want+"}", fmt.Sprintf("%+v", struct{ K *keyring.Keyring }{k}))
}
