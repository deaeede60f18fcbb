//go:build race

package bus

// raceEnabled makes the universal suite use its short message counts under
// the race detector. modernc.org/sqlite is C translated to Go, so the
// detector instruments every step of SQLite itself; the full counts (5000
// and 10000 messages, through one write lock) then run past ten minutes.
const raceEnabled = true
