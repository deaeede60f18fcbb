package tabular

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in fixtures/appointments")

// TestGolden pins the whole canonical batch of each fixture, byte for
// byte, so any change in mapping shows up as a reviewable diff. Rewrite
// with: go test ./mapping/tabular -run TestGolden -update
func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct{ file, profile string }{
		{dsFile, "ds-win"},
		{englishFile, "english-csv"},
		{charlyFile, "charly-xlsx"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b := parseFixture(t, tc.file, tc.profile)
			got, err := json.MarshalIndent(b, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join(fixtureDir, tc.file+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "missing golden file; run go test ./mapping/tabular -update")
			require.Equal(t, string(want), string(got))
		})
	}
}
