package keyring

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
)

// redacted is what every textual form of a DataKey prints.
const redacted = "[redacted]"

// errNoKey is returned by the zero DataKey, which has no key to use; failing
// loudly beats a nil-pointer panic in a request handler.
var errNoKey = errors.New("keyring: zero DataKey (use Keyring.NewDataKey or Keyring.Unwrap)")

// DataKey is a per-patient AES-256-GCM key. It is safe for concurrent use
// and cheap to copy. Its key bytes are not exposed: every fmt verb, slog and
// %#v print "[redacted]", so a DataKey that ends up in a log line by mistake
// does not leak. Do not persist a DataKey; persist its wrapped form.
type DataKey struct {
	aead cipher.AEAD // AES-256-GCM with random nonces; nil in the zero value
}

func newDataKey(raw []byte) (DataKey, error) {
	aead, err := newAEAD(raw)
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{aead: aead}, nil
}

// Seal encrypts plaintext with a fresh random nonce. aad must identify where
// the ciphertext belongs, by convention "table|column|row id"; Open only
// succeeds with the same aad, so a ciphertext copied to another row or
// column is rejected. An empty aad is refused because it would give up that
// protection.
func (dk DataKey) Seal(plaintext, aad []byte) ([]byte, error) {
	if dk.aead == nil {
		return nil, errNoKey
	}
	if len(aad) == 0 {
		return nil, errors.New(`keyring: Seal needs a non-empty AAD ("table|column|row id") so ciphertexts cannot be moved between rows`)
	}
	out := make([]byte, 1, 1+len(plaintext)+dk.aead.Overhead())
	out[0] = formatV1
	return dk.aead.Seal(out, nil, plaintext, aad), nil
}

// Open decrypts a ciphertext made by Seal with the same aad. Any failure
// (wrong aad, wrong key, modified or truncated ciphertext, unknown format)
// returns an error matching ErrDecrypt.
func (dk DataKey) Open(ciphertext, aad []byte) ([]byte, error) {
	if dk.aead == nil {
		return nil, errNoKey
	}
	if len(ciphertext) < 1+dk.aead.Overhead() {
		return nil, fmt.Errorf("%w: ciphertext too short", ErrDecrypt)
	}
	if ciphertext[0] != formatV1 {
		return nil, fmt.Errorf("%w: unknown ciphertext format %#02x", ErrDecrypt, ciphertext[0])
	}
	pt, err := dk.aead.Open(nil, nil, ciphertext[1:], aad)
	if err != nil {
		// The GCM error carries no detail; replace it so callers only need
		// to know ErrDecrypt.
		return nil, ErrDecrypt
	}
	return pt, nil
}

// SealString is Seal for text fields.
func (dk DataKey) SealString(plaintext, aad string) ([]byte, error) {
	return dk.Seal([]byte(plaintext), []byte(aad))
}

// OpenString is Open for text fields.
func (dk DataKey) OpenString(ciphertext []byte, aad string) (string, error) {
	pt, err := dk.Open(ciphertext, []byte(aad))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// String implements fmt.Stringer and never reveals key bytes.
func (DataKey) String() string { return redacted }

// GoString implements fmt.GoStringer so %#v does not dump the cipher state.
func (DataKey) GoString() string { return redacted }

// Format covers the verbs that Stringer does not (%d, %o, %b, ...), which
// would otherwise print the AES key schedule field by field.
func (DataKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer so log/slog handlers print "[redacted]".
func (DataKey) LogValue() slog.Value { return slog.StringValue(redacted) }
