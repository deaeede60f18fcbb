package whatsapp_test

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/whatsapp"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	// Signatures are computed over the exact fixture bytes (cases README).
	body, err := os.ReadFile(filepath.Join(fixtureDir, "status_sent.json"))
	require.NoError(t, err)
	const signing = "platform-secret"
	good := hex.EncodeToString(whatsapp.Sign(body, signing))
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = ' '

	tests := []struct {
		name    string
		headers map[string]string
		body    []byte
		cfg     whatsapp.AuthConfig
		ok      bool
	}{
		{"shared secret ok", map[string]string{"X-Praxisbote-Secret": "s3cret"}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret"}, true},
		{"custom header name", map[string]string{"X-Hook-Auth": "s3cret"}, body,
			whatsapp.AuthConfig{SharedSecretHeader: "X-Hook-Auth", SharedSecret: "s3cret"}, true},
		{"missing secret header", nil, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret"}, false},
		{"wrong secret", map[string]string{"X-Praxisbote-Secret": "s3cret!"}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret"}, false},
		{"prefix of secret", map[string]string{"X-Praxisbote-Secret": "s3c"}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret"}, false},
		{"nothing configured fails closed", map[string]string{"X-Praxisbote-Secret": ""}, body,
			whatsapp.AuthConfig{}, false},
		{"signature ok", map[string]string{"X-Praxisbote-Secret": "s3cret", "x-360dialog-signature": good}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, true},
		{"signature with sha256= prefix", map[string]string{"X-Praxisbote-Secret": "s3cret", "X-360dialog-Signature": "sha256=" + good}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, true},
		{"signature upper-case hex", map[string]string{"X-Praxisbote-Secret": "s3cret", "x-360dialog-signature": strings.ToUpper(good)}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, true},
		{"signature missing", map[string]string{"X-Praxisbote-Secret": "s3cret"}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, false},
		{"body tampered", map[string]string{"X-Praxisbote-Secret": "s3cret", "x-360dialog-signature": good}, tampered,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, false},
		{"wrong signing secret", map[string]string{"X-Praxisbote-Secret": "s3cret", "x-360dialog-signature": good}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: "other"}, false},
		{"signature not hex", map[string]string{"X-Praxisbote-Secret": "s3cret", "x-360dialog-signature": "zz"}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, false},
		{"signature alone is not enough", map[string]string{"x-360dialog-signature": good}, body,
			whatsapp.AuthConfig{SharedSecret: "s3cret", SigningSecret: signing}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			err := whatsapp.Authenticate(r, tt.body, tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, whatsapp.ErrUnauthenticated)
		})
	}
}

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// RFC 4231 test case 2.
	got := hex.EncodeToString(whatsapp.Sign([]byte("what do ya want for nothing?"), "Jefe"))
	require.Equal(t, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", got)
}
