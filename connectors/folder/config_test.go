package folder_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/folder"
)

func okHandler(context.Context, folder.File) (folder.Outcome, error) { return folder.Outcome{}, nil }

func TestValidate(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg     folder.Config
		wantErr string
	}{
		"zero values stand for defaults": {cfg: folder.Config{Inbox: "in"}},
		"explicit":                       {cfg: folder.Config{Inbox: "in", Archive: "ar", Error: "er", StableFor: time.Second, Rescan: time.Minute}},
		"no inbox":                       {cfg: folder.Config{}, wantErr: "missing Inbox"},
		"negative StableFor":             {cfg: folder.Config{Inbox: "in", StableFor: -1}, wantErr: "StableFor"},
		"negative Rescan":                {cfg: folder.Config{Inbox: "in", Rescan: -1}, wantErr: "Rescan"},
		"error is inbox":                 {cfg: folder.Config{Inbox: "in", Error: "in/"}, wantErr: "the Error folder is the Inbox"},
		"archive is inbox":               {cfg: folder.Config{Inbox: "in", Archive: "./in"}, wantErr: "the Archive folder is the Inbox"},
		"archive is error":               {cfg: folder.Config{Inbox: "in", Archive: "x", Error: "x"}, wantErr: "the Archive and Error folders are the same"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNewCreatesFoldersWithDefaults(t *testing.T) {
	t.Parallel()
	inbox := filepath.Join(t.TempDir(), "export", "pms")

	_, err := folder.New(folder.Config{Inbox: inbox}, okHandler)

	require.NoError(t, err)
	for _, d := range []string{inbox, filepath.Join(inbox, "archive"), filepath.Join(inbox, "error")} {
		require.DirExists(t, d)
	}
}

func TestNewRejectsNilHandler(t *testing.T) {
	t.Parallel()
	_, err := folder.New(folder.Config{Inbox: t.TempDir()}, nil)
	require.ErrorContains(t, err, "handler")
}

func TestNewRejectsErrorFolderThatIsTheInboxThroughASymlink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	inbox := filepath.Join(root, "inbox")
	require.NoError(t, os.Mkdir(inbox, 0o750))
	link := filepath.Join(root, "error")
	if err := os.Symlink(inbox, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}

	_, err := folder.New(folder.Config{Inbox: inbox, Error: link}, okHandler)

	require.ErrorContains(t, err, "is the Inbox")
}
