package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	dirPerm = 0o750
	// Exports carry patient health data; no other local user needs them.
	filePerm = 0o600

	// 255 bytes is the name limit of ext4, NTFS and SMB; the sidecar suffix
	// must still fit after the hash tag is added.
	maxNameBytes = 255 - len(reportSuffix)
	// An extension longer than this is more likely part of the name
	// ("export.2024-05-01T10") and is not worth keeping last.
	maxExtBytes = 16
	// More same-named copies of identical content than this means something
	// is looping; better to fail loudly than to fill the disk.
	maxCollisions = 1000
)

// place moves the inbox file src, whose content is f, into dir under a
// name that is free there and, when side is non-nil, writes side beside it
// as <name><sideSuffix>. It never replaces an existing file. The sidecar is
// written first so that nobody ever sees a failed file without its reason.
func (w *Watcher) place(src, dir string, f File, sideSuffix string, side []byte) (string, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return "", err
	}
	suffix := ""
	if w.cfg.Seal != nil {
		sealed, err := w.cfg.Seal(f.Data)
		if err != nil {
			return "", fmt.Errorf("seal %s: %w", f.Name, err)
		}
		// The kept copy is written from the sealed bytes, like a copy
		// across volumes; the inbox file goes once it is on disk.
		f.Data, suffix = sealed, SealedSuffix
	}
	for n := 1; n <= maxCollisions; n++ {
		dst := filepath.Join(dir, taggedName(f.Name, f.SHA256[:12], n)+suffix)
		// O_EXCL claims the name atomically; os.Rename alone would silently
		// replace an existing file on Unix. Renaming over our own empty
		// placeholder is then safe on every platform.
		ok, err := createExcl(dst, nil)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		if side != nil {
			ok, err := createExcl(dst+sideSuffix, side)
			if err != nil || !ok {
				_ = os.Remove(dst)
				if err != nil {
					return "", err
				}
				continue
			}
		}
		if err := w.moveOver(src, dst, f); err != nil {
			// Both are still our own placeholders: src was not moved.
			_ = os.Remove(dst)
			if side != nil {
				_ = os.Remove(dst + sideSuffix)
			}
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("no free name for %s in %s after %d attempts", f.Name, dir, maxCollisions)
}

// createExcl creates path with content unless it exists; ok is false if it
// does.
func createExcl(path string, content []byte) (ok bool, err error) {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(content) > 0 {
		if _, err := fh.Write(content); err != nil {
			_ = fh.Close()
			_ = os.Remove(path)
			return false, err
		}
	}
	if err := fh.Close(); err != nil {
		_ = os.Remove(path)
		return false, err
	}
	return true, nil
}

// moveOver replaces the placeholder dst with src. Inbox, Archive and Error
// are often on different volumes (a share mounted into a local tree), where
// rename fails and a copy has to do. A sealed copy is always written.
func (w *Watcher) moveOver(src, dst string, f File) error {
	if w.cfg.Seal != nil {
		return copyOver(src, dst, f)
	}
	err := w.rename(src, dst)
	if err == nil || !errors.Is(err, errCrossDevice) {
		return err
	}
	return copyOver(src, dst, f)
}

// copyOver writes f.Data, the exact bytes the handler saw, into the
// placeholder dst and removes src only once the copy is on disk, so a crash
// leaves at worst two copies, never none.
func copyOver(src, dst string, f File) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := out.Write(f.Data); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// A rename keeps the mtime; the archive should not depend on which way
	// the file got there. Failing to set it loses nothing important.
	_ = os.Chtimes(dst, time.Time{}, f.ModTime)
	if err := os.Remove(src); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// taggedName inserts the content hash tag (and, from n == 2 on, a counter)
// before the extension, so archives stay sorted by export name and still
// open with the right program.
func taggedName(name, tag string, n int) string {
	ext := filepath.Ext(name)
	if ext == name || len(ext) > maxExtBytes {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	suffix := "_" + tag
	if n > 1 {
		suffix += "_" + strconv.Itoa(n)
	}
	suffix += ext
	if room := max(maxNameBytes-len(suffix), 0); len(stem) > room {
		stem = truncateUTF8(stem, room)
	}
	return stem + suffix
}

func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
