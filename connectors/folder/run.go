package folder

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run handles files in Inbox until ctx is done, then returns nil once the
// file in hand is finished. Files already waiting are handled at once. A
// file event schedules a pass StableFor later, when the file may have
// settled; files still settling then get a pass exactly when they can be
// stable; and a full rescan runs every Rescan for shares that send no
// events and for files that could not be opened.
//
// Failed passes are logged, not returned, because a share that is briefly
// unreachable must not stop the service. Run returns an error only when
// called while already running.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("folder: Run is already running")
	}
	defer w.running.Store(false)

	events, watchErrs, closeWatch := w.watch()
	defer closeWatch()

	rescan := time.NewTicker(w.cfg.Rescan)
	defer rescan.Stop()

	// check brings forward the next pass; armed and due let a burst of
	// write events collapse into one pass instead of pushing it out forever.
	check := time.NewTimer(0)
	defer check.Stop()
	armed, due := true, time.Now()
	schedule := func(d time.Duration) {
		at := time.Now().Add(d)
		if armed && !at.Before(due) {
			return
		}
		check.Reset(d)
		armed, due = true, at
	}
	pass := func() {
		_, next, err := w.scan(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Error("scan failed", "error", err)
		}
		if next > 0 {
			schedule(next)
		}
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescan.C:
			pass()
		case <-check.C:
			armed = false
			pass()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Rename and Remove concern names that left the inbox, mostly
			// our own moves; nothing new to take.
			if ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Chmod) && !w.cfg.Ignore(filepath.Base(ev.Name)) {
				schedule(w.cfg.StableFor)
			}
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			// Typically an overflow: events were lost, so look soon rather
			// than at the next rescan.
			w.log.Warn("file events lost; scanning", "error", err)
			schedule(w.cfg.StableFor)
		}
	}
}

// watch subscribes to Inbox events. Without them Run still works through
// the rescan, so failure (inotify limits, unsupported file systems) is
// only logged; nil channels then never fire in the select.
func (w *Watcher) watch() (<-chan fsnotify.Event, <-chan error, func()) {
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		if err = fw.Add(w.cfg.Inbox); err != nil {
			_ = fw.Close()
		}
	}
	if err != nil {
		w.log.Warn("no file events for inbox; relying on rescan", "rescan", w.cfg.Rescan, "error", err)
		return nil, nil, func() {}
	}
	return fw.Events, fw.Errors, func() { _ = fw.Close() }
}
