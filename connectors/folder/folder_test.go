package folder_test

import (
	"bytes"
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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/folder"
)

// stable is StableFor in ScanOnce tests. Those tests never sleep: they age
// files with Chtimes and move the injected clock.
const stable = 2 * time.Second

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2031, 7, 14, 9, 30, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type env struct {
	t       *testing.T
	inbox   string
	archive string
	errDir  string
	clock   *clock
	w       *folder.Watcher
	logs    *syncBuffer

	mu    sync.Mutex
	calls []folder.File
}

// newEnv builds a Watcher with Archive and Error at their defaults inside
// the inbox, so every test also checks that the Watcher never re-reads its
// own folders. h may be nil for a handler that always succeeds.
func newEnv(t *testing.T, h folder.Handler, mod ...func(*folder.Config)) *env {
	t.Helper()
	e := &env{t: t, inbox: t.TempDir(), clock: newClock(), logs: &syncBuffer{}}
	e.archive = filepath.Join(e.inbox, "archive")
	e.errDir = filepath.Join(e.inbox, "error")
	if h == nil {
		h = func(context.Context, folder.File) (folder.Outcome, error) { return folder.Outcome{}, nil }
	}
	cfg := folder.Config{
		Inbox:     e.inbox,
		StableFor: stable,
		Rescan:    time.Hour,
		Now:       e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(
			io.MultiWriter(e.logs, t.Output()),
			&slog.HandlerOptions{Level: slog.LevelDebug},
		)),
	}
	for _, m := range mod {
		m(&cfg)
	}
	w, err := folder.New(cfg, func(ctx context.Context, f folder.File) (folder.Outcome, error) {
		e.mu.Lock()
		e.calls = append(e.calls, f)
		e.mu.Unlock()
		return h(ctx, f)
	})
	require.NoError(t, err)
	e.w = w
	return e
}

func (e *env) handled() []folder.File {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// write creates name in the inbox with the given age on the test clock.
func (e *env) write(name, content string, age time.Duration) string {
	e.t.Helper()
	p := filepath.Join(e.inbox, name)
	require.NoError(e.t, os.WriteFile(p, []byte(content), 0o600))
	e.touch(p, e.clock.Now().Add(-age))
	return p
}

func (e *env) touch(p string, mtime time.Time) {
	e.t.Helper()
	require.NoError(e.t, os.Chtimes(p, mtime, mtime))
}

func (e *env) scan(wantProcessed int) {
	e.t.Helper()
	n, err := e.w.ScanOnce(context.Background())
	require.NoError(e.t, err)
	require.Equal(e.t, wantProcessed, n)
}

// files lists regular files below dir, relative to it, without descending
// into skip.
func (e *env) files(dir string, skip ...string) []string {
	e.t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && slices.Contains(skip, p) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(e.t, err)
	slices.Sort(out)
	return out
}

func (e *env) inboxFiles() []string { return e.files(e.inbox, e.archive, e.errDir) }

func (e *env) read(p string) string {
	e.t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(e.t, err)
	return string(b)
}

func tag(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])[:12]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestScanOnceArchivesStableFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	content := "PatNr;Name\n1;Muster\n"
	mtime := e.clock.Now().Add(-time.Hour)
	p := e.write("patienten.csv", content, time.Hour)

	e.scan(1)

	got := e.handled()
	require.Len(t, got, 1)
	sum := sha256.Sum256([]byte(content))
	require.Equal(t, p, got[0].Path)
	require.Equal(t, "patienten.csv", got[0].Name)
	require.Equal(t, content, string(got[0].Data))
	require.Equal(t, hex.EncodeToString(sum[:]), got[0].SHA256)
	require.Equal(t, int64(len(content)), got[0].Size)
	require.True(t, mtime.Equal(got[0].ModTime), "ModTime %v, want %v", got[0].ModTime, mtime)

	require.Empty(t, e.inboxFiles())
	want := "2031/07/patienten_" + tag(content) + ".csv"
	require.Equal(t, []string{want}, e.files(e.archive), "no report file for an empty report")
	require.Equal(t, content, e.read(filepath.Join(e.archive, want)))
	require.Empty(t, e.files(e.errDir))
}

func TestReportWrittenBesideArchivedFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(context.Context, folder.File) (folder.Outcome, error) {
		return folder.Outcome{Report: "Zeile 3 übersprungen: Geburtsdatum fehlt"}, nil
	})
	e.write("anamnese.xml", "<a/>", time.Hour)

	e.scan(1)

	name := "2031/07/anamnese_" + tag("<a/>") + ".xml"
	require.Equal(t, []string{name, name + ".report.txt"}, e.files(e.archive))
	require.Equal(t, "Zeile 3 übersprungen: Geburtsdatum fehlt\n", e.read(filepath.Join(e.archive, name+".report.txt")))
}

func TestArchivePathUsesNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.clock.Set(time.Date(2030, 1, 31, 23, 0, 0, 0, time.UTC))
	e.write("a.csv", "january", time.Hour)
	e.scan(1)
	e.clock.Set(time.Date(2030, 2, 1, 1, 0, 0, 0, time.UTC))
	e.write("a.csv", "february", time.Hour)
	e.scan(1)

	require.Equal(t, []string{
		"2030/01/a_" + tag("january") + ".csv",
		"2030/02/a_" + tag("february") + ".csv",
	}, e.files(e.archive))
}

func TestFreshFileWaitsStableForOnWatcherClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.write("a.csv", "x", 0)

	e.scan(0)
	e.clock.Advance(stable - time.Millisecond)
	e.scan(0)
	require.Empty(t, e.handled())

	e.clock.Advance(time.Millisecond)
	e.scan(1)
}

func TestFileBeingAppendedIsNotReadUntilItStopsChanging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := e.write("export.csv", "row1\n", 0)

	// The writer keeps adding a row a little faster than StableFor.
	for _, row := range []string{"row2\n", "row3\n", "row4\n"} {
		e.scan(0)
		e.clock.Advance(stable / 2)
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(row)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		e.touch(p, e.clock.Now())
	}
	e.scan(0)
	// Even once its mtime is old, a file seen changing must settle on the
	// Watcher's own clock: the mtime may come from a skewed server clock.
	e.clock.Advance(stable - time.Millisecond)
	e.touch(p, e.clock.Now().Add(-time.Hour))
	e.scan(0)
	e.clock.Advance(stable)
	e.scan(1)

	got := e.handled()
	require.Len(t, got, 1)
	require.Equal(t, "row1\nrow2\nrow3\nrow4\n", string(got[0].Data))
}

func TestFileChangedBetweenListingAndReadIsNotTaken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := e.write("a.csv", "part one", time.Hour)
	var once sync.Once
	folder.SetOpen(e.w, func(name string) (*os.File, error) {
		once.Do(func() {
			// The old mtime made it look finished, but the writer is back.
			require.NoError(t, os.WriteFile(p, []byte("part one, part two"), 0o600))
			e.touch(p, e.clock.Now().Add(-time.Hour+time.Second))
		})
		return os.Open(name)
	})

	e.scan(0)
	e.scan(0)
	require.Empty(t, e.handled())

	e.clock.Advance(stable)
	e.scan(1)
	require.Equal(t, "part one, part two", string(e.handled()[0].Data))
}

func TestFileVanishedBeforeReadIsSkippedWithoutError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.write("a.csv", "x", time.Hour)
	folder.SetOpen(e.w, func(name string) (*os.File, error) {
		require.NoError(t, os.Remove(name))
		return os.Open(name)
	})

	e.scan(0)

	require.Empty(t, e.handled())
	require.Empty(t, e.files(e.errDir))
	require.Empty(t, e.files(e.archive))
}

func TestFileThatCannotBeOpenedIsRetriedNextPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.write("a.csv", "x", time.Hour)
	locked := true
	folder.SetOpen(e.w, func(name string) (*os.File, error) {
		if locked {
			// What Windows reports while the writer still holds the file.
			return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("sharing violation")}
		}
		return os.Open(name)
	})

	e.scan(0)
	e.scan(0)
	require.Empty(t, e.handled())
	require.Equal(t, []string{"a.csv"}, e.inboxFiles())
	require.Equal(t, 1, strings.Count(e.logs.String(), "level=WARN"), "a file that stays locked warns once")

	// Being locked says nothing about being finished: once unlocked, the
	// file does not have to settle again.

	locked = false
	e.scan(1)
	require.Len(t, e.handled(), 1)
}

func TestSubdirectoriesAndOwnFoldersAreNeverRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		if f.Name == "bad.csv" {
			return folder.Outcome{Report: "r"}, errors.New("broken")
		}
		return folder.Outcome{Report: "r"}, nil
	})
	sub := filepath.Join(e.inbox, "2024")
	require.NoError(t, os.Mkdir(sub, 0o750))
	nested := filepath.Join(sub, "nested.csv")
	require.NoError(t, os.WriteFile(nested, []byte("n"), 0o600))
	e.touch(nested, e.clock.Now().Add(-time.Hour))
	e.write("good.csv", "g", time.Hour)
	e.write("bad.csv", "b", time.Hour)

	e.scan(2)
	e.clock.Advance(time.Hour)
	e.scan(0)
	e.scan(0)

	require.Len(t, e.handled(), 2)
	require.FileExists(t, nested)
	require.Len(t, e.files(e.archive), 2)
	require.Len(t, e.files(e.errDir), 2)
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	target := filepath.Join(t.TempDir(), "elsewhere.csv")
	require.NoError(t, os.WriteFile(target, []byte("x"), 0o600))
	if err := os.Symlink(target, filepath.Join(e.inbox, "link.csv")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	e.clock.Advance(time.Hour)

	e.scan(0)
	require.FileExists(t, target)
}

func TestIgnoredNamesAreLeftAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	names := []string{".DS_Store", "export.tmp", "EXPORT.PART", "~$brief.docx", "x.csv.error.txt"}
	for _, n := range names {
		e.write(n, n, time.Hour)
	}

	e.scan(0)

	require.Empty(t, e.handled())
	slices.Sort(names)
	require.Equal(t, names, e.inboxFiles())
}

func TestCustomIgnore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, func(c *folder.Config) {
		c.Ignore = func(name string) bool { return folder.DefaultIgnore(name) || strings.HasSuffix(name, ".bak") }
	})
	e.write("a.bak", "x", time.Hour)
	e.write("a.tmp", "x", time.Hour)
	e.write("a.csv", "x", time.Hour)

	e.scan(1)
	require.Equal(t, []string{"a.bak", "a.tmp"}, e.inboxFiles())
}

func TestDefaultIgnore(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		".hidden":           true,
		"a.tmp":             true,
		"A.TMP":             true,
		"download.part":     true,
		"~$Anamnese.docx":   true,
		"x.csv.error.txt":   true,
		"X.CSV.ERROR.TXT":   true,
		"patienten.csv":     false,
		"x.csv.report.txt":  false,
		"tmp.csv":           false,
		"~backup.csv":       false,
		"anamnese_2024.pdf": false,
	} {
		require.Equal(t, want, folder.DefaultIgnore(name), name)
	}
}

func TestHandlerErrorMovesFileToErrorWithReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(context.Context, folder.File) (folder.Outcome, error) {
		return folder.Outcome{Report: "2 Zeilen übersprungen"}, errors.New("row 3: invalid date \"31.02.2024\"")
	})
	e.write("termine.csv", "t", time.Hour)

	e.scan(1)

	name := "termine_" + tag("t") + ".csv"
	require.Equal(t, []string{name, name + ".error.txt"}, e.files(e.errDir))
	require.Equal(t, "t", e.read(filepath.Join(e.errDir, name)))
	text := e.read(filepath.Join(e.errDir, name+".error.txt"))
	require.Contains(t, text, "termine.csv")
	require.Contains(t, text, filepath.Join(e.inbox, "termine.csv"))
	require.Contains(t, text, `row 3: invalid date "31.02.2024"`)
	require.Contains(t, text, "2 Zeilen übersprungen")
	require.Empty(t, e.files(e.archive))
	require.Empty(t, e.inboxFiles())
}

func TestHandlerPanicIsRecoveredAsFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		if f.Name == "boom.csv" {
			panic("index out of range in column Geburtsdatum")
		}
		return folder.Outcome{}, nil
	})
	e.write("boom.csv", "b", 2*time.Hour)
	e.write("fine.csv", "f", time.Hour)

	e.scan(2)

	name := "boom_" + tag("b") + ".csv"
	text := e.read(filepath.Join(e.errDir, name+".error.txt"))
	require.Contains(t, text, "boom.csv")
	require.Contains(t, text, "panicked: index out of range in column Geburtsdatum")
	require.Contains(t, text, "Stack:")
	require.Equal(t, []string{"2031/07/fine_" + tag("f") + ".csv"}, e.files(e.archive), "a panic must not stop the pass")
}

func TestDuplicateIsArchivedNotFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(context.Context, folder.File) (folder.Outcome, error) {
		return folder.Outcome{Report: "already imported"}, fmt.Errorf("store: %w", folder.ErrDuplicate)
	})
	e.write("a.csv", "same", time.Hour)

	e.scan(1)

	name := "2031/07/a_" + tag("same") + ".csv"
	require.Equal(t, []string{name, name + ".report.txt"}, e.files(e.archive))
	require.Empty(t, e.files(e.errDir))
	require.Contains(t, e.logs.String(), "duplicate")
}

func TestSameNameTwiceIsArchivedTwiceWithoutOverwriting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// A PMS that always exports to the same file name, twice with the same
	// content and once with different content.
	for _, content := range []string{"v1", "v2", "v1"} {
		e.write("export.csv", content, time.Hour)
		e.scan(1)
	}

	require.Equal(t, []string{
		"2031/07/export_" + tag("v1") + ".csv",
		"2031/07/export_" + tag("v1") + "_2.csv",
		"2031/07/export_" + tag("v2") + ".csv",
	}, e.files(e.archive))
	for _, f := range e.files(e.archive) {
		want := "v1"
		if strings.Contains(f, tag("v2")) {
			want = "v2"
		}
		require.Equal(t, want, e.read(filepath.Join(e.archive, f)))
	}
}

func TestExistingFilesAndSidecarsAreNeverOverwritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		if f.Name == "bad.csv" {
			return folder.Outcome{}, errors.New("nope")
		}
		return folder.Outcome{Report: "new report"}, nil
	})
	month := filepath.Join(e.archive, "2031", "07")
	require.NoError(t, os.MkdirAll(month, 0o750))
	taken := filepath.Join(month, "a_"+tag("x")+".csv")
	takenSidecar := filepath.Join(month, "a_"+tag("x")+"_2.csv.report.txt")
	takenError := filepath.Join(e.errDir, "bad_"+tag("y")+".csv.error.txt")
	for _, p := range []string{taken, takenSidecar, takenError} {
		require.NoError(t, os.WriteFile(p, []byte("keep me"), 0o600))
	}
	e.write("a.csv", "x", time.Hour)
	e.write("bad.csv", "y", time.Hour)

	e.scan(2)

	for _, p := range []string{taken, takenSidecar, takenError} {
		require.Equal(t, "keep me", e.read(p))
	}
	require.Equal(t, "x", e.read(filepath.Join(month, "a_"+tag("x")+"_3.csv")))
	require.Equal(t, "new report\n", e.read(filepath.Join(month, "a_"+tag("x")+"_3.csv.report.txt")))
	require.NoFileExists(t, filepath.Join(month, "a_"+tag("x")+"_2.csv"), "placeholder of a rejected name must be cleaned up")
	require.Equal(t, "y", e.read(filepath.Join(e.errDir, "bad_"+tag("y")+"_2.csv")))
	require.Contains(t, e.read(filepath.Join(e.errDir, "bad_"+tag("y")+"_2.csv.error.txt")), "nope")
	require.NoFileExists(t, filepath.Join(e.errDir, "bad_"+tag("y")+".csv"))
}

func TestLongNamesStayWithinNameLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(context.Context, folder.File) (folder.Outcome, error) {
		return folder.Outcome{Report: "r"}, nil
	})
	name := strings.Repeat("ä", 124) + ".csv" // 252 bytes
	e.write(name, "x", time.Hour)

	e.scan(1)

	files := e.files(e.archive)
	require.Len(t, files, 2)
	for _, f := range files {
		base := filepath.Base(f)
		require.LessOrEqual(t, len(base), 255)
		require.True(t, strings.HasPrefix(base, "ää"), base)
	}
	require.True(t, strings.HasSuffix(files[0], "_"+tag("x")+".csv"), files[0])
}

func TestCrossDeviceMoveFallsBackToCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var renames int
	folder.SetRename(e.w, func(oldpath, newpath string) error {
		renames++
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: folder.ErrCrossDevice}
	})
	mtime := e.clock.Now().Add(-time.Hour)
	e.write("a.csv", "across volumes", time.Hour)

	e.scan(1)

	require.Equal(t, 1, renames)
	require.Empty(t, e.inboxFiles())
	dst := filepath.Join(e.archive, "2031", "07", "a_"+tag("across volumes")+".csv")
	require.Equal(t, "across volumes", e.read(dst))
	fi, err := os.Stat(dst)
	require.NoError(t, err)
	require.True(t, mtime.Equal(fi.ModTime()), "copy keeps the mtime like a rename would")
}

func TestFailedMoveLeavesFileInInboxAndNoPlaceholder(t *testing.T) {
	t.Parallel()
	var calls int
	e := newEnv(t, func(context.Context, folder.File) (folder.Outcome, error) {
		calls++
		if calls > 1 {
			return folder.Outcome{}, folder.ErrDuplicate
		}
		return folder.Outcome{Report: "r"}, nil
	})
	broken := true
	folder.SetRename(e.w, func(oldpath, newpath string) error {
		if broken {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrPermission}
		}
		return os.Rename(oldpath, newpath)
	})
	e.write("a.csv", "x", time.Hour)

	n, err := e.w.ScanOnce(context.Background())
	require.ErrorIs(t, err, fs.ErrPermission)
	require.Zero(t, n)
	require.Equal(t, []string{"a.csv"}, e.inboxFiles())
	require.Empty(t, e.files(e.archive))

	// The next pass hands it over again; the handler's dedupe answers.
	broken = false
	e.scan(1)
	require.Equal(t, 2, calls)
	require.Equal(t, []string{"2031/07/a_" + tag("x") + ".csv"}, e.files(e.archive))
}

func TestHandlerInterruptedByShutdownLeavesFileInInbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, func(ctx context.Context, _ folder.File) (folder.Outcome, error) {
		cancel()
		return folder.Outcome{}, ctx.Err()
	})
	e.write("a.csv", "x", time.Hour)
	e.write("b.csv", "y", time.Hour)

	n, err := e.w.ScanOnce(ctx)

	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, n)
	require.Len(t, e.handled(), 1, "no further file is started after cancellation")
	require.Equal(t, []string{"a.csv", "b.csv"}, e.inboxFiles())
	require.Empty(t, e.files(e.errDir))
}

func TestFileChangedWhileHandledStaysInInbox(t *testing.T) {
	t.Parallel()
	var e *env
	e = newEnv(t, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		if string(f.Data) == "old" {
			require.NoError(t, os.WriteFile(f.Path, []byte("newer"), 0o600))
			e.touch(f.Path, e.clock.Now())
		}
		return folder.Outcome{}, nil
	})
	e.write("a.csv", "old", time.Hour)

	e.scan(0)
	require.Equal(t, []string{"a.csv"}, e.inboxFiles())
	require.Empty(t, e.files(e.archive), "content the handler never saw must not be archived")

	e.clock.Advance(stable)
	e.scan(1)
	require.Equal(t, []string{"2031/07/a_" + tag("newer") + ".csv"}, e.files(e.archive))
}

func TestOldestFileFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.write("a.csv", "a", time.Minute)
	e.write("b.csv", "b", time.Hour)
	e.write("c.csv", "c", time.Hour)

	e.scan(3)

	var order []string
	for _, f := range e.handled() {
		order = append(order, f.Name)
	}
	require.Equal(t, []string{"b.csv", "c.csv", "a.csv"}, order)
}

func TestScanOnceWithCancelledContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.write("a.csv", "x", time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	n, err := e.w.ScanOnce(ctx)

	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, n)
	require.Empty(t, e.handled())
}

func TestSealedCopiesAreKept(t *testing.T) {
	t.Parallel()
	seal := func(b []byte) ([]byte, error) { return append([]byte("SEALED:"), bytes.ToUpper(b)...), nil }
	e := newEnv(t, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		if f.Name == "kaputt.csv" {
			return folder.Outcome{}, errors.New("no header")
		}
		require.Equal(t, "müller;0171", string(f.Data), "the handler sees the original bytes")
		return folder.Outcome{}, nil
	}, func(c *folder.Config) { c.Seal = seal })
	e.write("termine.csv", "müller;0171", time.Hour)
	e.write("kaputt.csv", "x", time.Hour)
	e.scan(2)
	require.Empty(t, e.inboxFiles())
	name := "2031/07/termine_" + tag("müller;0171") + ".csv.sealed"
	require.Equal(t, []string{name}, e.files(e.archive))
	require.Equal(t, "SEALED:MÜLLER;0171", e.read(filepath.Join(e.archive, name)))
	errs := e.files(e.errDir)
	require.Len(t, errs, 2)
	require.Equal(t, "kaputt_"+tag("x")+".csv.sealed", errs[0])
	require.Equal(t, "SEALED:X", e.read(filepath.Join(e.errDir, errs[0])))
}
