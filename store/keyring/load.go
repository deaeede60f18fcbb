package keyring

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvMasterKey is the environment variable that, when set, supplies the
// master key and takes precedence over the key file. It holds 32 bytes as
// standard base64 (44 characters, e.g. from `openssl rand -base64 32`) or
// as hex (64 characters, e.g. from `openssl rand -hex 32`).
const EnvMasterKey = "PRAXISBOTE_MASTER_KEY"

// Key file format: a single recognisable line, so an operator (or a backup
// tool) can tell what the file is without guessing.
const (
	keyFileMagic   = "praxisbote-master-key"
	keyFileVersion = "v1"
	// maxKeyFileSize bounds what is read, so pointing the path at a large
	// file by mistake fails fast instead of reading it into memory.
	maxKeyFileSize = 4096
)

// ErrInsecureKeyFile is returned (wrapped) when the key file is accessible
// to group or others. The error text names the chmod command that fixes it.
var ErrInsecureKeyFile = errors.New("keyring: key file permissions too open")

// LoadOrCreate returns the Keyring for this installation.
//
// If PRAXISBOTE_MASTER_KEY is set, it is the master key and path is not
// touched; a malformed value is an error rather than a fallback to the file,
// because silently using a different key would make stored data unreadable.
//
// Otherwise the key file at path is read. It must be a regular file with
// mode 0600 (no group or other bits); a more open file is refused. If it does
// not exist, a fresh random master key is written there with mode 0600. The
// file is published atomically and without overwriting: of several processes
// starting at the same time, exactly one creates it and all others read that
// one, so they cannot end up with different keys.
//
// Back up the key: losing it makes every encrypted field unrecoverable.
func LoadOrCreate(path string) (*Keyring, error) {
	return loadOrCreate(path, os.LookupEnv)
}

// loadOrCreate takes the environment lookup as a parameter so tests can run
// in parallel without mutating the process environment.
func loadOrCreate(path string, lookupEnv func(string) (string, bool)) (*Keyring, error) {
	var secret []byte
	var err error
	if v, ok := lookupEnv(EnvMasterKey); ok {
		secret, err = parseEnvKey(v)
	} else {
		secret, err = loadOrCreateFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return FromSecret(secret)
}

// parseEnvKey decodes the env value. Error messages give lengths and hints
// but never echo the value, since it may be a real (if mistyped) key.
func parseEnvKey(v string) ([]byte, error) {
	// Surrounding whitespace is tolerated: `$(cat keyfile)` or an env file
	// with a trailing newline or CR is a common, harmless source of it.
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, fmt.Errorf("keyring: %s is set but empty; set it to 32 random bytes "+
			"(openssl rand -base64 32) or unset it to use the key file", EnvMasterKey)
	}
	// Hex first: 64 hex characters are also valid base64 characters, but
	// base64 of 32 bytes is 44 characters, so the two cannot be confused.
	if len(v) == 2*SecretSize {
		if b, err := hex.DecodeString(v); err == nil {
			return b, nil
		}
	}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		if len(b) == SecretSize {
			return b, nil
		}
		return nil, fmt.Errorf("keyring: %s decodes as base64 to %d bytes, need exactly %d; "+
			"generate one with: openssl rand -base64 32", EnvMasterKey, len(b), SecretSize)
	}
	return nil, fmt.Errorf("keyring: %s is neither standard base64 of 32 bytes (44 characters) "+
		"nor hex of 32 bytes (64 characters); got %d characters; "+
		"generate one with: openssl rand -base64 32", EnvMasterKey, len(v))
}

func loadOrCreateFile(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("keyring: no master key: set %s or configure a key file path", EnvMasterKey)
	}
	secret, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	return secret, err
}

// readKeyFile checks permissions on the opened descriptor rather than on the
// path, so the checked file is the one that is read.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: open key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: stat key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keyring: key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; Go reports 0666 there, which
	// would refuse every file.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o, so other users can read or change the master key "+
			"that protects patient data; fix it with: chmod 600 %s", ErrInsecureKeyFile, path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keyring: read key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("keyring: key file %s is larger than %d bytes; is the path right?", path, maxKeyFileSize)
	}
	secret, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("keyring: key file %s: %w", path, err)
	}
	return secret, nil
}

func parseKeyFile(data []byte) ([]byte, error) {
	want := fmt.Sprintf("expected one line %q", keyFileMagic+" "+keyFileVersion+" <base64 of 32 bytes>")
	fields := strings.Fields(string(data))
	if len(fields) == 0 || fields[0] != keyFileMagic {
		return nil, fmt.Errorf("not a praxisbote master key file (%s)", want)
	}
	if len(fields) < 2 || fields[1] != keyFileVersion {
		return nil, fmt.Errorf("unsupported key file version (%s)", want)
	}
	if len(fields) != 3 {
		return nil, fmt.Errorf("malformed key file (%s)", want)
	}
	b, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil || len(b) != SecretSize {
		return nil, fmt.Errorf("key is not standard base64 of %d bytes (%s)", SecretSize, want)
	}
	return b, nil
}

func formatKeyFile(secret []byte) []byte {
	return []byte(keyFileMagic + " " + keyFileVersion + " " + base64.StdEncoding.EncodeToString(secret) + "\n")
}

// createKeyFile writes a new key to a private temporary file in the same
// directory, syncs it, and publishes it with a hard link. Unlike rename,
// link fails if the target already exists, so a process that loses a race
// does not replace the winner's key (which the winner may already be using);
// it reads the winner's file instead. Readers never see a partial file,
// because the name only appears once the content is on disk.
func createKeyFile(path string) ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("keyring: random master key: %w", err)
	}
	dir := filepath.Dir(path)
	// CreateTemp uses O_CREATE|O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(dir, ".praxisbote-master-key-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("keyring: create key file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	// The temporary name is only a staging area: remove it on every path.
	// After a successful link the key lives on under path.
	defer os.Remove(tmpName)

	content := formatKeyFile(secret)
	defer clear(content)
	_, werr := tmp.Write(content)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return nil, fmt.Errorf("keyring: write key file %s: %w", path, err)
	}

	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process won the race; its key is the key.
			clear(secret)
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("keyring: publish key file %s: %w; if this file system has no hard links, "+
			"create the file yourself (printf '%s %s %%s\\n' \"$(openssl rand -base64 32)\" > %s && chmod 600 %s) "+
			"or set %s", path, err, keyFileMagic, keyFileVersion, path, path, EnvMasterKey)
	}
	// Persist the directory entry: a key that vanishes after a power cut,
	// while the database already holds data keys wrapped by it, would make
	// all patient data unreadable.
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("keyring: sync directory of key file %s: %w", path, err)
	}
	return secret, nil
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
