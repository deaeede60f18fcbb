package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// observation is the last known version of a file in Inbox.
type observation struct {
	size    int64
	modTime time.Time
	// since is the Watcher's clock when this size and mtime were first seen;
	// it, not the mtime, decides stability once a file has been seen,
	// because the mtime comes from the writer's or file server's clock.
	since time.Time
	// stable is set once this version passed the stability test, so a
	// file that then could not be opened is retried on the very next pass.
	stable bool
	// openFailed keeps a file that stays locked from logging a warning on
	// every pass.
	openFailed bool
}

func (o *observation) matches(size int64, modTime time.Time) bool {
	return o.size == size && o.modTime.Equal(modTime)
}

type candidate struct {
	name    string
	size    int64
	modTime time.Time
}

// scan is ScanOnce that also reports how long until the earliest file that
// is still settling may be stable, so Run can look again exactly then
// instead of waiting for the next rescan. next is 0 when nothing is pending.
func (w *Watcher) scan(ctx context.Context) (processed int, next time.Duration, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	entries, err := os.ReadDir(w.cfg.Inbox)
	if err != nil {
		return 0, 0, fmt.Errorf("folder: list inbox: %w", err)
	}
	now := w.cfg.Now()

	listed := make(map[string]bool, len(entries))
	var ready []candidate
	for _, e := range entries {
		name := e.Name()
		// The type comes from the listing itself, so subdirectories
		// (Archive and Error among them) are skipped without a stat, and
		// symlinks and FIFOs are never opened.
		if !e.Type().IsRegular() || w.cfg.Ignore(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			// Removed since the listing, most likely; anything else shows
			// again on the next pass.
			continue
		}
		listed[name] = true
		c := candidate{name: name, size: info.Size(), modTime: info.ModTime()}
		if wait, ok := w.observe(c, now); ok {
			ready = append(ready, c)
		} else if next == 0 || wait < next {
			next = wait
		}
	}
	for name := range w.seen {
		if !listed[name] {
			delete(w.seen, name)
		}
	}

	// Oldest first, because exports that depend on each other (patients
	// before their appointments) tend to be written in that order.
	slices.SortFunc(ready, func(a, b candidate) int {
		if c := a.modTime.Compare(b.modTime); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})

	var errs []error
	for _, c := range ready {
		if ctx.Err() != nil {
			break
		}
		filed, err := w.take(ctx, c)
		if filed {
			processed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return processed, next, errors.Join(errs...)
}

// observe records c and reports whether it is stable; if not, wait is how
// long until it can be at the earliest.
func (w *Watcher) observe(c candidate, now time.Time) (wait time.Duration, ok bool) {
	prev, known := w.seen[c.name]
	if known && prev.matches(c.size, c.modTime) {
		if d := prev.since.Add(w.cfg.StableFor).Sub(now); d > 0 && !prev.stable {
			return d, false
		}
		prev.stable = true
		return 0, true
	}
	obs := &observation{size: c.size, modTime: c.modTime, since: now}
	w.seen[c.name] = obs
	// Trusting an old mtime only for files never seen before lets a backlog
	// found at startup go through in one pass, while a file seen changing
	// must settle on our own clock.
	if !known && now.Sub(c.modTime) >= w.cfg.StableFor {
		obs.stable = true
		return 0, true
	}
	return w.cfg.StableFor, false
}

// take reads c, hands it to the handler and files it away. filed reports
// whether it left Inbox; err is set only when it should have but could not.
func (w *Watcher) take(ctx context.Context, c candidate) (filed bool, err error) {
	path := filepath.Join(w.cfg.Inbox, c.name)
	log := w.log.With("file", c.name)

	f, ok := w.read(path, c, log)
	if !ok {
		return false, nil
	}

	out, herr := w.call(ctx, f)
	failed := herr != nil && !errors.Is(herr, ErrDuplicate)
	if failed && ctx.Err() != nil {
		// A handler cut short by shutdown says nothing about the file.
		log.Info("handler interrupted by shutdown; file left in inbox", "error", herr)
		return false, nil
	}

	// Filing away a file that changed after it was read would archive
	// content the handler never saw.
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		delete(w.seen, c.name)
		log.Warn("file removed by someone else while it was being handled", "sha256", f.SHA256)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("folder: %s: %w", c.name, err)
	case info.Size() != f.Size || !info.ModTime().Equal(f.ModTime):
		w.seen[c.name] = &observation{size: info.Size(), modTime: info.ModTime(), since: w.cfg.Now()}
		log.Warn("file changed while it was being handled; left in inbox to be read again", "sha256", f.SHA256)
		return false, nil
	}

	now := w.cfg.Now()
	var dst string
	if failed {
		dst, err = w.place(path, w.cfg.Error, f, errorSuffix, errorText(f, herr, out, now))
		if err != nil {
			// The handler's error would otherwise be lost with the move.
			err = fmt.Errorf("move to error folder after handler error %q: %w", herr, err)
		}
	} else {
		dir := filepath.Join(w.cfg.Archive, now.Format("2006"), now.Format("01"))
		var report []byte
		if out.Report != "" {
			report = withNewline(out.Report)
		}
		dst, err = w.place(path, dir, f, reportSuffix, report)
		if err != nil {
			err = fmt.Errorf("move to archive: %w", err)
		}
	}
	if err != nil {
		// It stays in Inbox and comes back next pass; the handler's
		// dedupe makes the second round harmless.
		return false, fmt.Errorf("folder: %s: %w", c.name, err)
	}
	delete(w.seen, c.name)

	var pe *panicError
	switch {
	case errors.As(herr, &pe):
		// A panic is a bug in the handler, not bad input; it needs a developer.
		log.Error("handler panicked; file moved to error folder", "error", herr, "to", dst, "sha256", f.SHA256, "stack", string(pe.stack))
	case failed:
		log.Warn("handler failed; file moved to error folder", "error", herr, "to", dst, "sha256", f.SHA256)
	case herr != nil:
		log.Info("duplicate content; file archived", "to", dst, "sha256", f.SHA256)
	default:
		log.Info("file handled and archived", "to", dst, "sha256", f.SHA256)
	}
	return true, nil
}

// read returns the content of path if it is still the version listed in c
// and did not change while being read. Every reason not to read now is
// temporary, so it is only logged and the next pass tries again.
func (w *Watcher) read(path string, c candidate, log *slog.Logger) (File, bool) {
	fh, err := w.open(path)
	if errors.Is(err, fs.ErrNotExist) {
		delete(w.seen, c.name)
		log.Debug("file vanished before it could be read")
		return File{}, false
	}
	if err != nil {
		w.unreadable(c.name, log, err)
		return File{}, false
	}
	defer fh.Close()

	before, err := fh.Stat()
	if err != nil {
		w.unreadable(c.name, log, err)
		return File{}, false
	}
	if !before.Mode().IsRegular() {
		return File{}, false
	}
	if before.Size() != c.size || !before.ModTime().Equal(c.modTime) {
		w.changed(c.name, before)
		log.Debug("file changed since it was listed; waiting for it to settle")
		return File{}, false
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		w.unreadable(c.name, log, err)
		return File{}, false
	}
	after, err := fh.Stat()
	if err != nil {
		w.unreadable(c.name, log, err)
		return File{}, false
	}
	if int64(len(data)) != before.Size() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		w.changed(c.name, after)
		log.Debug("file changed while it was read; waiting for it to settle")
		return File{}, false
	}

	sum := sha256.Sum256(data)
	return File{
		Path:    path,
		Name:    c.name,
		Data:    data,
		SHA256:  hex.EncodeToString(sum[:]),
		Size:    int64(len(data)),
		ModTime: before.ModTime(),
	}, true
}

// changed restarts the stability clock of a file that turned out to be
// still in progress.
func (w *Watcher) changed(name string, info fs.FileInfo) {
	w.seen[name] = &observation{size: info.Size(), modTime: info.ModTime(), since: w.cfg.Now()}
}

// unreadable notes a file that could not be read; a writer on Windows
// holding it locked is the usual reason, and that passes by itself.
func (w *Watcher) unreadable(name string, log *slog.Logger, err error) {
	obs := w.seen[name]
	if obs != nil && obs.openFailed {
		log.Debug("file still cannot be read; retrying next pass", "error", err)
		return
	}
	if obs != nil {
		obs.openFailed = true
	}
	log.Warn("file cannot be read; retrying next pass", "error", err)
}

// panicError carries a recovered handler panic to the .error.txt.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// call runs the handler so that a panic on one malformed file fails that
// file instead of the whole service.
func (w *Watcher) call(ctx context.Context, f File) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return w.handler(ctx, f)
}

const (
	errorSuffix  = ".error.txt"
	reportSuffix = ".report.txt"
)

// errorText is written as <name>.error.txt for whoever looks into the error
// folder, who has neither the logs nor the original path at hand.
func errorText(f File, herr error, out Outcome, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "File:     %s\n", f.Name)
	fmt.Fprintf(&b, "From:     %s\n", f.Path)
	fmt.Fprintf(&b, "Size:     %d bytes\n", f.Size)
	fmt.Fprintf(&b, "SHA-256:  %s\n", f.SHA256)
	fmt.Fprintf(&b, "Modified: %s\n", f.ModTime.Format(time.RFC3339))
	fmt.Fprintf(&b, "Failed:   %s\n", now.Format(time.RFC3339))
	fmt.Fprintf(&b, "\nReason:\n%s\n", herr)
	if out.Report != "" {
		fmt.Fprintf(&b, "\nReport:\n%s", withNewline(out.Report))
	}
	var pe *panicError
	if errors.As(herr, &pe) {
		fmt.Fprintf(&b, "\nStack:\n%s", withNewline(string(pe.stack)))
	}
	return []byte(b.String())
}

func withNewline(s string) []byte {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s)
}
