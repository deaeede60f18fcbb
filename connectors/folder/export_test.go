package folder

import "os"

// ErrCrossDevice is what rename fails with across volumes on this platform.
var ErrCrossDevice = errCrossDevice

// SetOpen replaces os.Open, to reproduce races at the moment of reading.
// Call it before the Watcher is used.
func SetOpen(w *Watcher, open func(name string) (*os.File, error)) { w.open = open }

// SetRename replaces os.Rename, to simulate moves across volumes. Call it
// before the Watcher is used.
func SetRename(w *Watcher, rename func(oldpath, newpath string) error) { w.rename = rename }
