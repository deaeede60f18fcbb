package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "praxisbote.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	require.NoError(t, Default().Validate())
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	_, err := Load(write(t, "practice:\n  id: x\n  colour: blue\n"))
	require.ErrorContains(t, err, "colour")
}

func TestLoadRejectsMarketingPurpose(t *testing.T) {
	t.Parallel()
	_, err := Load(write(t, "templates:\n  - name: angebot\n    language: de\n    purpose: marketing\n"))
	require.ErrorContains(t, err, `purpose "marketing" is not allowed`)
}

func TestLoadOverridesDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(write(t, "practice:\n  id: praxis-2\n  name: P2\n  time_zone: Europe/Vienna\n  code: C\n  source: pms\ningest:\n  stable_for: 5s\n"))
	require.NoError(t, err)
	require.Equal(t, "praxis-2", cfg.Practice.ID)
	require.Equal(t, 5*time.Second, cfg.Ingest.StableFor)
	require.Equal(t, 10*time.Second, cfg.Ingest.Rescan, "unset keys keep their defaults")
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	cfg := Default()
	env := map[string]string{"PRAXISBOTE_PRACTICE_CODE": "PRAXIS-ENV", "PRAXISBOTE_INGEST_STABLE_FOR": "3s"}
	err := applyEnv(reflectValue(&cfg), "PRAXISBOTE", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, "PRAXIS-ENV", cfg.Practice.Code)
	require.Equal(t, 3*time.Second, cfg.Ingest.StableFor)
	env["PRAXISBOTE_INGEST_RESCAN"] = "soon"
	require.Error(t, applyEnv(reflectValue(&cfg), "PRAXISBOTE", func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
}
