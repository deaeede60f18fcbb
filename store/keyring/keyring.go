package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// SecretSize is the size in bytes of the root secret and of every derived or
// per-patient key: all symmetric keys are 256 bit.
const SecretSize = 32

// HKDF info labels. They are part of the on-disk contract: changing one
// changes the derived key and makes every stored wrapped key or blind index
// unusable. The known-answer test pins them.
const (
	infoKEK        = "praxisbote/keyring/v1/kek"
	infoBlindIndex = "praxisbote/keyring/v1/blind-index"
	infoKeyID      = "praxisbote/keyring/v1/key-id"
)

// wrapAAD binds wrapped data keys to their purpose, so a wrapped key cannot
// be confused with any other ciphertext made under the KEK in the future.
const wrapAAD = "praxisbote/datakey/v1"

// formatV1 is the version byte in front of field ciphertexts and wrapped keys.
const formatV1 byte = 0x01

// keyIDLen is the number of fingerprint bytes shown by KeyID (8 hex chars).
// It only has to tell configured keys apart, not resist forgery, and a short
// value is easy to compare by eye in an error message.
const keyIDLen = 4

// purposePhone separates the phone index from any future index in the HMAC
// input, so equal values of different kinds never share an index value.
const purposePhone = "phone"

var (
	// ErrDecrypt is returned (wrapped) whenever a ciphertext or wrapped data
	// key does not authenticate: wrong AAD, a modified byte, truncation, an
	// unknown format version, or a different master key. Callers should
	// only test for ErrDecrypt; the wrapping text gives a coarse reason for
	// operators, never plaintext or key material.
	ErrDecrypt = errors.New("keyring: decryption failed")

	// ErrKeyMismatch is returned by CheckKeyID when the store's data keys
	// were wrapped by a different master key than the configured one.
	ErrKeyMismatch = errors.New("keyring: master key mismatch")
)

// Keyring holds the subkeys derived from one master key. It is immutable
// after construction and safe for concurrent use.
//
// A Keyring prints only its KeyID, never key material.
type Keyring struct {
	kek      cipher.AEAD // AES-256-GCM with random nonces, keyed by the KEK
	blindKey []byte      // HMAC-SHA256 key of the blind index
	keyID    string
}

// FromSecret builds a Keyring from a 32-byte root secret. It is meant for
// tests and for callers that manage the secret themselves; production code
// uses LoadOrCreate. The caller's slice is neither retained nor modified.
func FromSecret(secret []byte) (*Keyring, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("keyring: master key must be %d bytes, got %d", SecretSize, len(secret))
	}
	// An all-zero key is almost always an uninitialised buffer, not a
	// random draw (probability 2^-256); refuse it rather than encrypting
	// patient data under a key everybody knows.
	if subtle.ConstantTimeCompare(secret, make([]byte, SecretSize)) == 1 {
		return nil, errors.New("keyring: master key is all zero bytes; generate one with: openssl rand -base64 32")
	}

	kekBytes, err := derive(secret, infoKEK, SecretSize)
	if err != nil {
		return nil, err
	}
	kek, err := newAEAD(kekBytes)
	clear(kekBytes) // the AES key schedule keeps its own copy
	if err != nil {
		return nil, err
	}
	blindKey, err := derive(secret, infoBlindIndex, SecretSize)
	if err != nil {
		return nil, err
	}
	id, err := derive(secret, infoKeyID, keyIDLen)
	if err != nil {
		return nil, err
	}
	return &Keyring{kek: kek, blindKey: blindKey, keyID: hex.EncodeToString(id)}, nil
}

// derive expands one labelled subkey from the root. No salt is used: the
// root is already uniformly random, which is the case RFC 5869 §3.1 allows.
func derive(secret []byte, info string, n int) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, info, n)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive %s: %w", info, err)
	}
	return k, nil
}

// newAEAD returns AES-256-GCM that draws a fresh random nonce per Seal and
// carries it in front of the ciphertext, so no caller can reuse a nonce.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return aead, nil
}

// KeyID returns a short fingerprint (8 lowercase hex characters) of the
// master key. It is derived with HKDF like the other subkeys, so it reveals
// nothing about them. The store records it next to its wrapped data keys and
// compares it at startup with CheckKeyID.
func (k *Keyring) KeyID() string { return k.keyID }

// CheckKeyID compares the key ID the store recorded with this keyring's. A
// mismatch means the configured master key is not the one that wrapped the
// stored data keys; continuing would make every personal field unreadable
// and mix data under two keys, so the store should refuse to start. The
// error matches ErrKeyMismatch and tells the operator what to do.
func (k *Keyring) CheckKeyID(recorded string) error {
	if recorded == k.keyID {
		return nil
	}
	return fmt.Errorf("%w: stored data keys were wrapped by master key %q, but the configured master key is %q; "+
		"restore the original key (env %s or the key file) instead of starting with a new one, "+
		"otherwise no stored personal data can be decrypted", ErrKeyMismatch, recorded, k.keyID, EnvMasterKey)
}

// NewDataKey draws a random per-patient data key and returns it together
// with its wrapped form for storage. Only the wrapped form may be persisted;
// deleting it crypto-shreds the patient (see the package documentation).
func (k *Keyring) NewDataKey() (dk DataKey, wrapped []byte, err error) {
	raw := make([]byte, SecretSize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return DataKey{}, nil, fmt.Errorf("keyring: random data key: %w", err)
	}
	dk, err = newDataKey(raw)
	if err != nil {
		return DataKey{}, nil, err
	}
	wrapped = make([]byte, 1, 1+len(raw)+k.kek.Overhead())
	wrapped[0] = formatV1
	wrapped = k.kek.Seal(wrapped, nil, raw, []byte(wrapAAD))
	return dk, wrapped, nil
}

// Unwrap recovers a data key from its wrapped form. It fails with an error
// matching ErrDecrypt if the wrapped key was made under another master key
// or has been modified.
func (k *Keyring) Unwrap(wrapped []byte) (DataKey, error) {
	if len(wrapped) < 1 || wrapped[0] != formatV1 {
		return DataKey{}, fmt.Errorf("%w: wrapped data key has an unknown format", ErrDecrypt)
	}
	raw, err := k.kek.Open(nil, nil, wrapped[1:], []byte(wrapAAD))
	if err != nil {
		return DataKey{}, fmt.Errorf("%w: wrapped data key does not open under master key %s (wrong master key or corrupted)", ErrDecrypt, k.keyID)
	}
	defer clear(raw)
	if len(raw) != SecretSize {
		return DataKey{}, fmt.Errorf("%w: wrapped data key has the wrong length", ErrDecrypt)
	}
	return newDataKey(raw)
}

// BlindIndex returns the blind index of a phone number: the lowercase hex
// HMAC-SHA256 of the number under the blind-index key. It is deterministic,
// so the store can look a patient up by phone without decrypting every row,
// and keyed, so a database thief cannot compute it for candidate numbers.
//
// The input must already be normalised to E.164 (for example "+4930123456",
// as produced by phonenumbers.Format with phonenumbers.E164): the index of
// "+49 30 123456" or "030123456" is a different value and would not match.
// The function does not normalise itself, because guessing a region here
// would silently index the wrong number.
func (k *Keyring) BlindIndex(e164 string) string {
	return k.blindIndex(purposePhone, e164)
}

func (k *Keyring) blindIndex(purpose, value string) string {
	m := hmac.New(sha256.New, k.blindKey)
	// purpose never contains NUL, so purpose||0||value is unambiguous.
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// String implements fmt.Stringer without revealing key material.
func (k *Keyring) String() string { return "keyring(id=" + k.keyID + ")" }

// GoString implements fmt.GoStringer so %#v does not dump the subkeys.
func (k *Keyring) GoString() string { return k.String() }

// Format makes every fmt verb (including %d and %x, which would otherwise
// walk the struct fields) print the redacted form.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue implements slog.LogValuer so structured logs show only the key ID.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }
