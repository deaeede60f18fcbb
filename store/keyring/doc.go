// Package keyring provides envelope encryption of personal fields at rest and
// the keyed blind index used to look patients up by phone number.
//
// The data is health data of patients of German dental practices (GDPR
// Art. 9), so the design aims at three properties: a stolen database alone
// reveals no personal field (only field lengths and, through the blind
// index, which rows share a phone number), one patient's data can be
// destroyed irrecoverably without rewriting backups, and no log line ever
// carries key material.
//
// # Key hierarchy
//
// A 32-byte root secret (the master key) comes from the environment variable
// PRAXISBOTE_MASTER_KEY or from a key file (see [LoadOrCreate]). The root is
// never used directly: HKDF-SHA256 derives independent subkeys from it, so a
// weakness in one use (for example the blind index, which is deterministic)
// cannot leak into another:
//
//   - the key-encryption key (KEK), which wraps per-patient data keys with
//     AES-256-GCM;
//   - the blind-index key, an HMAC-SHA256 key for [Keyring.BlindIndex];
//   - the key ID, a short public fingerprint ([Keyring.KeyID]) that the store
//     records so it can refuse to start with a different master key instead
//     of silently failing to decrypt (or, worse, writing data under a second
//     key).
//
// Every patient gets a random [DataKey] from [Keyring.NewDataKey]. The store
// keeps only its wrapped form next to the patient row and calls
// [Keyring.Unwrap] when it needs it. Fields are sealed with [DataKey.Seal]
// using AAD "table|column|row id", so a ciphertext copied into another row or
// column does not open.
//
// # Crypto-shredding (GDPR Art. 17)
//
// To erase a patient, the store deletes the wrapped data key. Every field of
// that patient, including copies in backups and replicas, is then ciphertext
// under a key that exists nowhere: there is nothing left for [Keyring.Unwrap]
// to return, so [DataKey.Open] has nothing to open with. The store must make
// sure the wrapped key is not also kept elsewhere (caches, audit tables,
// exports), otherwise the shredding is void.
//
// # Blind index
//
// Only phone numbers are indexed. A blind index is a deterministic keyed hash;
// for low-entropy values such as names it would allow frequency analysis
// ("which surname is the most common") and, if the key leaks, a dictionary
// attack. That is why this package deliberately offers no general-purpose
// index for arbitrary fields.
//
// # Ciphertext formats
//
//	field ciphertext:  0x01 | nonce (12) | AES-256-GCM(plaintext)     | tag (16)
//	                   AAD = caller's "table|column|row id"
//	wrapped data key:  0x01 | nonce (12) | AES-256-GCM(data key, 32) | tag (16)
//	                   AAD = "praxisbote/datakey/v1", key = KEK
//
// Both are plain AES-GCM, so a recovery tool in any language can read them
// given the master key and the HKDF labels in this package.
//
// The leading version byte lets a later format coexist with stored v1 data.
// Nonces are random; AES-GCM with random 96-bit nonces is safe for up to 2^32
// messages per key, far above the number of fields per patient or the number
// of patients per practice.
package keyring
