package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/config"
)

// TestLargeExportImportsWhole: more appointment events than one SQLite
// statement can carry (10,922) are published in chunks, in the same
// transaction as the import.
func TestLargeExportImportsWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 11,000 rows")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, err := Open(ctx, config.Default(), t.TempDir(), Options{Now: func() time.Time { return DemoStart }, WebhookSecret: testSecret})
	require.NoError(t, err)
	defer a.Close()
	rep, err := a.Ingest(ctx, "year.csv", benchExport(11000))
	require.NoError(t, err)
	require.Len(t, rep.Result.Changes, 11000)
	n, err := a.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 11000, n, "one event per new appointment, all in the outbox")
}
