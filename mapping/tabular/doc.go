// Package tabular maps CSV and XLSX appointment exports through declared
// column profiles.
//
// A practice management system (PMS) exports appointments as a table whose
// layout differs from vendor to vendor and sometimes from practice to
// practice. Instead of one Go parser per layout, a Profile (YAML, see
// profiles/template.yaml) names which source column holds which canonical
// field and how dates, times and statuses are written. A support engineer
// can add a PMS without touching Go code.
//
// Mapping is pure: bytes, a profile and the practice time zone go in; a
// schemas.Batch comes out. Nothing here reads a clock, a database or a
// global setting, so the same file always maps to the same batch, which is
// what makes re-imports idempotent.
//
// Errors are split on purpose. Parse and Stream return an error only when
// the file as a whole cannot be read (wrong encoding, no header, not a
// table, an old binary .xls). Everything that concerns one row — an
// impossible date, an unknown status word, an invalid phone number — is
// reported on that row (rejected, warning or skipped) and never stops the
// other rows from importing, because one typo must not cost the practice
// all of its reminders.
package tabular
