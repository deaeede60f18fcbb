// Package folder watches the export folders where a dental practice's PMS
// and anamnesis tools drop files, hands every finished file to a Handler
// and then files it away: into Archive/YYYY/MM/ when it was
// handled (or was a duplicate), into Error/ with a <name>.error.txt beside
// it when the handler failed.
//
// Two sources of news are combined because neither is enough alone:
// fsnotify reacts quickly on local disks, but network shares (Windows SMB
// in particular) deliver no events at all, so a periodic rescan is the
// safety net. fsnotify also reports CREATE as soon as a writer opens the
// file, long before it is done, so a file is only read after its size and
// mtime have stayed unchanged for Config.StableFor and it can be opened.
//
// Deduplication by content is not decided here: every file is passed to the
// Handler with its SHA-256, and the Handler (backed by a store that knows
// what was processed) answers ErrDuplicate.
package folder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Watcher. Zero values are replaced by the documented
// defaults in New; only Inbox is required.
type Config struct {
	// Inbox is the folder the practice software exports into. Only regular
	// files directly inside it are taken; subdirectories, symlinks and
	// other special files are never touched, which is what allows Archive
	// and Error to live inside Inbox. Created if missing. Required.
	Inbox string

	// Archive receives every handled file (including duplicates) under
	// YYYY/MM/, with the first 12 hex digits of its SHA-256 added to the
	// name so that exports reusing a fixed file name never collide.
	// Created if missing. Default: Inbox/archive.
	Archive string

	// Error receives files whose handler failed or panicked, each with a
	// <name>.error.txt beside it that names the file and the reason.
	// Created if missing. Default: Inbox/error.
	Error string

	// StableFor is how long a file's size and mtime must stay unchanged
	// before it is read, because writers are not atomic: a PMS export or an
	// SMB copy is visible (and reported by fsnotify) while still being
	// written. Default: 2s.
	StableFor time.Duration

	// Rescan is the interval between full scans of Inbox in Run. On network
	// shares it is the only way files are noticed, and it also retries
	// files that could not be opened (for example while Windows still holds
	// them locked). Default: 10s.
	Rescan time.Duration

	// Ignore reports whether a file in Inbox, given by its base name, must
	// be left alone. It keeps temporary and lock files of the writers, and
	// this package's own .error.txt files, out of the handler.
	// Default: DefaultIgnore.
	Ignore func(name string) bool

	// Now is the clock used to measure stability and to pick the
	// Archive/YYYY/MM folder; injectable so tests need not sleep.
	// Default: time.Now.
	Now func() time.Time

	// Logger receives what happened to each file, which otherwise only shows
	// as a file appearing somewhere. Default: slog.Default().
	Logger *slog.Logger

	// Seal, when set, encrypts what is kept in Archive and Error: exports
	// carry health data, and a copy at rest must be as protected as the
	// database. The kept file gets SealedSuffix; the inbox file is removed
	// once the sealed copy is on disk. Nil keeps the original bytes.
	Seal func(data []byte) ([]byte, error)
}

// SealedSuffix marks an archived or failed file kept encrypted.
const SealedSuffix = ".sealed"

const (
	defaultStableFor = 2 * time.Second
	defaultRescan    = 10 * time.Second
)

func (c *Config) setDefaults() {
	if c.Archive == "" && c.Inbox != "" {
		c.Archive = filepath.Join(c.Inbox, "archive")
	}
	if c.Error == "" && c.Inbox != "" {
		c.Error = filepath.Join(c.Inbox, "error")
	}
	if c.StableFor == 0 {
		c.StableFor = defaultStableFor
	}
	if c.Rescan == 0 {
		c.Rescan = defaultRescan
	}
	if c.Ignore == nil {
		c.Ignore = DefaultIgnore
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports configuration errors. Zero values are valid because they
// stand for the defaults, so Validate rejects only what no default can fix.
func (c Config) Validate() error {
	var errs []error
	if c.Inbox == "" {
		errs = append(errs, errors.New("missing Inbox"))
	}
	if c.StableFor < 0 {
		errs = append(errs, fmt.Errorf("negative StableFor %v", c.StableFor))
	}
	if c.Rescan < 0 {
		errs = append(errs, fmt.Errorf("negative Rescan %v", c.Rescan))
	}
	if c.Inbox != "" {
		// Error == Inbox would feed failed files straight back to the
		// handler; Archive == Inbox and Archive == Error would make the
		// folders ambiguous for the people who look into them.
		in := filepath.Clean(c.Inbox)
		if c.Archive != "" && filepath.Clean(c.Archive) == in {
			errs = append(errs, errors.New("the Archive folder is the Inbox"))
		}
		if c.Error != "" && filepath.Clean(c.Error) == in {
			errs = append(errs, errors.New("the Error folder is the Inbox"))
		}
	}
	if c.Archive != "" && c.Error != "" && filepath.Clean(c.Archive) == filepath.Clean(c.Error) {
		errs = append(errs, errors.New("the Archive and Error folders are the same"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("folder: invalid config: %w", err)
	}
	return nil
}

// DefaultIgnore skips what export tools and editors leave behind while
// working, and this package's own error reports: dotfiles, *.tmp, *.part,
// Office lock files (~$*) and *.error.txt. Extensions match case-insensitively
// because Windows writers are inconsistent about case.
func DefaultIgnore(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "."),
		strings.HasPrefix(name, "~$"),
		strings.HasSuffix(lower, ".tmp"),
		strings.HasSuffix(lower, ".part"),
		strings.HasSuffix(lower, errorSuffix):
		return true
	}
	return false
}

// File is one finished file from Inbox, read completely into memory.
type File struct {
	// Path is where the file was read; it is moved away after the handler
	// returns, so the handler must use Data rather than reopen Path.
	Path string
	// Name is the base name as exported, without the archive's hash tag.
	Name string
	// Data is the complete content.
	Data []byte
	// SHA256 is the lowercase hex SHA-256 of Data; the key for dedupe.
	SHA256 string
	// Size is len(Data).
	Size int64
	// ModTime is the file's mtime when it was read.
	ModTime time.Time
}

// Outcome is what a handler has to say about a file besides success or
// failure.
type Outcome struct {
	// Report is a human-readable account (rows skipped and why). When
	// non-empty it is written beside the archived file as
	// <archived name>.report.txt, or included in the .error.txt on failure.
	Report string
}

// ErrDuplicate is returned by a Handler, possibly wrapped, when the content
// was processed before. The file is archived like a success rather than
// moved to Error, because re-exports of unchanged data are normal and need
// no attention.
var ErrDuplicate = errors.New("folder: content already processed")

// Handler processes one file. A nil error archives the file; ErrDuplicate
// archives it and logs it as a duplicate; any other error (or a panic)
// moves it to Config.Error with a <name>.error.txt holding the error text
// and Outcome.Report. When ctx is cancelled while the handler fails, the
// file stays in Inbox so the next run retries it.
type Handler func(ctx context.Context, f File) (Outcome, error)

// Watcher takes finished files from an inbox folder and files them away.
// ScanOnce and Run may be used from different goroutines; passes never
// overlap.
type Watcher struct {
	cfg     Config
	handler Handler
	log     *slog.Logger

	// mu serialises passes, so a file is never handed out twice, and guards
	// seen.
	mu   sync.Mutex
	seen map[string]*observation

	running atomic.Bool

	// open and rename are os.Open and os.Rename; tests replace them to
	// reproduce races and cross-device moves deterministically.
	open   func(name string) (*os.File, error)
	rename func(oldpath, newpath string) error
}

// New validates cfg, creates the Inbox, Archive and Error folders if they
// are missing and returns a Watcher that passes files to h.
func New(cfg Config, h Handler) (*Watcher, error) {
	if h == nil {
		return nil, errors.New("folder: handler is nil")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Absolute paths make logs and .error.txt files unambiguous regardless
	// of the working directory the service was started in.
	for _, p := range []*string{&cfg.Inbox, &cfg.Archive, &cfg.Error} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("folder: %w", err)
		}
		*p = abs
		if err := os.MkdirAll(abs, dirPerm); err != nil {
			return nil, fmt.Errorf("folder: %w", err)
		}
	}
	// The lexical check in Validate misses symlinks and case-insensitive
	// file systems; comparing the folders themselves does not.
	if err := distinctDirs(cfg.Inbox, cfg.Archive, cfg.Error); err != nil {
		return nil, err
	}
	return &Watcher{
		cfg:     cfg,
		handler: h,
		log:     cfg.Logger.With("component", "folder", "inbox", cfg.Inbox),
		seen:    make(map[string]*observation),
		open:    os.Open,
		rename:  os.Rename,
	}, nil
}

func distinctDirs(inbox, archive, errDir string) error {
	stat := func(p string) (os.FileInfo, error) {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("folder: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("folder: %s is not a directory", p)
		}
		return fi, nil
	}
	in, err := stat(inbox)
	if err != nil {
		return err
	}
	ar, err := stat(archive)
	if err != nil {
		return err
	}
	er, err := stat(errDir)
	if err != nil {
		return err
	}
	switch {
	case os.SameFile(in, ar):
		return fmt.Errorf("folder: invalid config: Archive %s is the Inbox", archive)
	case os.SameFile(in, er):
		return fmt.Errorf("folder: invalid config: Error %s is the Inbox", errDir)
	case os.SameFile(ar, er):
		return fmt.Errorf("folder: invalid config: Archive and Error are the same folder %s", archive)
	}
	return nil
}

// ScanOnce makes one pass over Inbox and handles every file that is stable
// now. Stability is measured across passes: a file must show the same size
// and mtime for StableFor on the Watcher's clock, except that a file first
// seen in this pass whose mtime is already older than StableFor is taken at
// once if a second stat just before reading agrees (so files that were
// waiting while the service was down do not wait again).
//
// processed counts files whose outcome was filed, in Archive or Error.
// Files that vanish, cannot be opened or change while being read are
// skipped without error and retried on a later pass. The error reports
// what needs an operator: an unreadable Inbox, or a file that could not be
// moved out of it (it stays and is handed to the handler again next pass,
// which is why dedupe belongs to the handler). ScanOnce stops early with
// ctx.Err() when ctx is cancelled.
func (w *Watcher) ScanOnce(ctx context.Context) (processed int, err error) {
	processed, _, err = w.scan(ctx)
	return processed, err
}
