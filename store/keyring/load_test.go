package keyring

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests inject the environment instead of using t.Setenv, which
// cannot be combined with t.Parallel.

func noEnv(string) (string, bool) { return "", false }

func withEnv(v string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name == EnvMasterKey {
			return v, true
		}
		return "", false
	}
}

func secretOf(b byte) []byte {
	s := make([]byte, SecretSize)
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

func keyIDOf(t *testing.T, secret []byte) string {
	t.Helper()
	k, err := FromSecret(secret)
	require.NoError(t, err)
	return k.KeyID()
}

func writeKeyFile(t *testing.T, path string, secret []byte, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, formatKeyFile(secret), mode))
	require.NoError(t, os.Chmod(path, mode)) // WriteFile is subject to umask
}

func TestEnvTakesPrecedenceOverFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	fileSecret, envSecret := secretOf(1), secretOf(100)
	writeKeyFile(t, path, fileSecret, 0o600)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	k, err := loadOrCreate(path, withEnv(hex.EncodeToString(envSecret)))
	require.NoError(t, err)
	require.Equal(t, keyIDOf(t, envSecret), k.KeyID())
	require.NotEqual(t, keyIDOf(t, fileSecret), k.KeyID())

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "key file must not be touched when the env is set")
}

func TestEnvSetDoesNotCreateFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	_, err := loadOrCreate(path, withEnv(base64.StdEncoding.EncodeToString(secretOf(7))))
	require.NoError(t, err)
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestEnvFormats(t *testing.T) {
	t.Parallel()
	secret := secretOf(42)
	want := keyIDOf(t, secret)
	for name, v := range map[string]string{
		"base64":           base64.StdEncoding.EncodeToString(secret),
		"hex":              hex.EncodeToString(secret),
		"hex upper":        strings.ToUpper(hex.EncodeToString(secret)),
		"trailing newline": base64.StdEncoding.EncodeToString(secret) + "\n",
		"surrounding ws":   "  " + hex.EncodeToString(secret) + "\r\n",
	} {
		k, err := loadOrCreate("", withEnv(v))
		require.NoError(t, err, name)
		require.Equal(t, want, k.KeyID(), name)
	}
}

func TestEnvFormatErrors(t *testing.T) {
	t.Parallel()
	// 0xfb... encodes with '+' and '/' in std base64 and '-' '_' in URL base64.
	urlSecret := make([]byte, SecretSize)
	for i := range urlSecret {
		urlSecret[i] = 0xfb
	}
	for name, v := range map[string]string{
		"empty":           "",
		"blank":           "  \n",
		"base64 16 bytes": base64.StdEncoding.EncodeToString(secretOf(1)[:16]),
		"base64 33 bytes": base64.StdEncoding.EncodeToString(append(secretOf(1), 9)),
		"hex 31 bytes":    hex.EncodeToString(secretOf(1)[:31]),
		"hex 33 bytes":    hex.EncodeToString(append(secretOf(1), 9)),
		"hex bad digit":   strings.Repeat("g", 64),
		"raw base64":      base64.RawStdEncoding.EncodeToString(secretOf(1)),
		"url base64":      base64.URLEncoding.EncodeToString(urlSecret),
		"passphrase":      "correct horse battery staple",
	} {
		_, err := loadOrCreate("", withEnv(v))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), EnvMasterKey, name)
		if len(strings.TrimSpace(v)) >= 8 {
			require.NotContains(t, err.Error(), strings.TrimSpace(v), "%s: error must not echo the key", name)
		}
	}
}

func TestCreatesKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")

	k, err := loadOrCreate(path, noEnv)
	require.NoError(t, err)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^praxisbote-master-key v1 [A-Za-z0-9+/]{43}=\n$`), string(data))

	again, err := loadOrCreate(path, noEnv)
	require.NoError(t, err)
	require.Equal(t, k.KeyID(), again.KeyID(), "second start must reuse the file")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
}

func TestLoadsExistingKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	secret := secretOf(5)
	writeKeyFile(t, path, secret, 0o600)

	k, err := loadOrCreate(path, noEnv)
	require.NoError(t, err)
	require.Equal(t, keyIDOf(t, secret), k.KeyID())
}

func TestRefusesOpenKeyFile(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		path := filepath.Join(t.TempDir(), "master.key")
		writeKeyFile(t, path, secretOf(3), mode)

		_, err := loadOrCreate(path, noEnv)
		require.ErrorIs(t, err, ErrInsecureKeyFile, "mode %o", mode)
		require.Contains(t, err.Error(), "chmod 600 "+path, "mode %o", mode)
	}
}

func TestMalformedKeyFileIsNotReplaced(t *testing.T) {
	t.Parallel()
	good := base64.StdEncoding.EncodeToString(secretOf(1))
	for name, content := range map[string]string{
		"empty":         "",
		"raw key":       good + "\n",
		"wrong magic":   "other-master-key v1 " + good + "\n",
		"wrong version": "praxisbote-master-key v2 " + good + "\n",
		"short key":     "praxisbote-master-key v1 " + base64.StdEncoding.EncodeToString(secretOf(1)[:16]) + "\n",
		"bad base64":    "praxisbote-master-key v1 !!!!\n",
		"extra field":   "praxisbote-master-key v1 " + good + " x\n",
		"missing key":   "praxisbote-master-key v1\n",
	} {
		path := filepath.Join(t.TempDir(), "master.key")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

		_, err := loadOrCreate(path, noEnv)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), path, name)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, content, string(got), "%s: a broken key file must never be overwritten", name)
	}
}

func TestKeyFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	_, err := loadOrCreate("", noEnv)
	require.ErrorContains(t, err, EnvMasterKey, "no env and no path")

	_, err = loadOrCreate(dir, noEnv)
	require.ErrorContains(t, err, "not a regular file")

	_, err = loadOrCreate(filepath.Join(dir, "missing", "master.key"), noEnv)
	require.Error(t, err, "parent directory missing")
}

// Several processes (here goroutines) starting at once on a fresh install
// must agree on one key; with rename instead of link, a late writer would
// replace a key an early one is already using.
func TestConcurrentLoadOrCreateAgrees(t *testing.T) {
	t.Parallel()
	const rounds, workers = 25, 16
	for range rounds {
		dir := t.TempDir()
		path := filepath.Join(dir, "master.key")
		ids := make([]string, workers)
		errs := make([]error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				<-start
				k, err := loadOrCreate(path, noEnv)
				errs[i] = err
				if err == nil {
					ids[i] = k.KeyID()
				}
			})
		}
		close(start)
		wg.Wait()

		for i := range workers {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i], "worker %d got a different key", i)
		}
		final, err := loadOrCreate(path, noEnv)
		require.NoError(t, err)
		require.Equal(t, ids[0], final.KeyID(), "the file on disk holds the key everybody uses")

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary files left behind")
	}
}

// TestLoadOrCreate exercises the exported entry point with the real
// environment, so it cannot run when the variable is set on this machine.
func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	if _, ok := os.LookupEnv(EnvMasterKey); ok {
		t.Skipf("%s is set in the test environment", EnvMasterKey)
	}
	path := filepath.Join(t.TempDir(), "master.key")
	k, err := LoadOrCreate(path)
	require.NoError(t, err)
	again, err := LoadOrCreate(path)
	require.NoError(t, err)
	require.Equal(t, k.KeyID(), again.KeyID())
}
