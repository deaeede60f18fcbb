package folder_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/folder"
)

// startRun runs a Watcher on the real clock with short timings and returns
// the channel of handled names and a stop function that asserts a clean
// shutdown.
func startRun(t *testing.T, inbox string, rescan time.Duration) (<-chan string, func()) {
	t.Helper()
	handled := make(chan string, 10)
	w, err := folder.New(folder.Config{
		Inbox:     inbox,
		StableFor: 20 * time.Millisecond,
		Rescan:    rescan,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, func(_ context.Context, f folder.File) (folder.Outcome, error) {
		handled <- f.Name + ":" + string(f.Data)
		return folder.Outcome{}, nil
	})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	stop := func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(cancel)
	return handled, stop
}

func requireHandled(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		require.Equal(t, want, got)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not handled in time", want)
	}
}

func TestRunHandlesDroppedFileAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	inbox := t.TempDir()
	// A long rescan: only the file event can get this file handled in time.
	handled, stop := startRun(t, inbox, time.Hour)

	// Dropped after Run's first pass, so it is the event that finds it.
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(inbox, "a.csv"), []byte("hello"), 0o600))

	requireHandled(t, handled, "a.csv:hello")
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(inbox, "a.csv"))
		return os.IsNotExist(err)
	}, 5*time.Second, 10*time.Millisecond)
	stop()
}

func TestRunHandlesFilesWaitingAtStartAndFindsFilesByRescan(t *testing.T) {
	t.Parallel()
	inbox := t.TempDir()
	old := filepath.Join(inbox, "waiting.csv")
	require.NoError(t, os.WriteFile(old, []byte("w"), 0o600))
	past := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(old, past, past))

	handled, stop := startRun(t, inbox, 30*time.Millisecond)
	requireHandled(t, handled, "waiting.csv:w")

	// Written into a subfolder and moved in with a rename, as some tools
	// do; whichever of event or rescan notices first, it must arrive once.
	tmp := filepath.Join(inbox, "staging")
	require.NoError(t, os.Mkdir(tmp, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "b.csv"), []byte("b"), 0o600))
	require.NoError(t, os.Rename(filepath.Join(tmp, "b.csv"), filepath.Join(inbox, "b.csv")))
	requireHandled(t, handled, "b.csv:b")

	stop()
	require.Empty(t, handled)
}

func TestRunRefusesToRunTwice(t *testing.T) {
	t.Parallel()
	inbox := t.TempDir()
	p := filepath.Join(inbox, "a.csv")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	past := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, past, past))
	inHandler, release := make(chan struct{}), make(chan struct{})
	w, err := folder.New(folder.Config{Inbox: inbox, Rescan: time.Hour}, func(context.Context, folder.File) (folder.Outcome, error) {
		close(inHandler)
		<-release
		return folder.Outcome{}, nil
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-inHandler // the first Run is certainly active now

	require.ErrorContains(t, w.Run(ctx), "already running")

	close(release)
	cancel()
	require.NoError(t, <-done)
}
