package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// DefaultSharedSecretHeader is the custom header we ask 360dialog to send
// with every webhook (set via POST /v1/configs/webhook "headers").
const DefaultSharedSecretHeader = "X-Praxisbote-Secret"

// SignatureHeader carries 360dialog's HMAC-SHA256 of the raw body, keyed
// with the partner platform secret.
const SignatureHeader = "x-360dialog-signature"

// AuthConfig configures webhook authentication.
type AuthConfig struct {
	SharedSecretHeader string // default DefaultSharedSecretHeader
	SharedSecret       string // required
	SigningSecret      string // optional; when set the signature is required too
}

// ErrUnauthenticated is wrapped by every Authenticate failure, so the
// HTTP handler can answer 401 without knowing the details.
var ErrUnauthenticated = errors.New("whatsapp: webhook not authenticated")

// Authenticate checks that a webhook request comes from 360dialog. body must
// be the raw request body exactly as received: the signature covers bytes,
// not the decoded JSON. Comparisons are constant-time so that response
// timing does not reveal how much of a guessed secret was right.
func Authenticate(r *http.Request, body []byte, cfg AuthConfig) error {
	if cfg.SharedSecret == "" {
		// Fail closed: an empty configured secret must not accept an
		// empty header.
		return errors.Join(ErrUnauthenticated, errors.New("no shared secret configured"))
	}
	name := cfg.SharedSecretHeader
	if name == "" {
		name = DefaultSharedSecretHeader
	}
	got := r.Header.Get(name)
	if got == "" {
		return errors.Join(ErrUnauthenticated, errors.New("missing "+name+" header"))
	}
	if !secretEqual(got, cfg.SharedSecret) {
		return errors.Join(ErrUnauthenticated, errors.New("wrong "+name+" header"))
	}
	if cfg.SigningSecret == "" {
		return nil
	}
	sig := strings.TrimSpace(r.Header.Get(SignatureHeader))
	sig = strings.TrimPrefix(sig, "sha256=")
	if sig == "" {
		return errors.Join(ErrUnauthenticated, errors.New("missing "+SignatureHeader+" header"))
	}
	gotMAC, err := hex.DecodeString(strings.ToLower(sig))
	if err != nil {
		return errors.Join(ErrUnauthenticated, errors.New("signature is not hex"))
	}
	if !hmac.Equal(gotMAC, Sign(body, cfg.SigningSecret)) {
		return errors.Join(ErrUnauthenticated, errors.New("signature mismatch"))
	}
	return nil
}

// Sign returns HMAC-SHA256(body) keyed with secret, as 360dialog computes
// it. Hex-encode it for the header.
func Sign(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// secretEqual compares digests, not the strings, because
// subtle.ConstantTimeCompare returns early on different lengths and would
// leak the secret's length.
func secretEqual(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
