package tabular

import (
	"fmt"
	"io"
)

// Chunking amortises the hand-over between the goroutines: one channel
// operation, and at most one wake-up of a sleeping goroutine, per
// chunkRows rows instead of per row. Waking a goroutine on another core
// costs tens of microseconds, a noticeable share of the time per row with
// chunks of a few hundred rows. Three chunks in flight bound the memory to
// a few thousand rows (a few MiB), however long the file is.
const (
	chunkRows   = 2048
	chunksAhead = 3
)

// fetched is one row as the reading goroutine hands it over.
type fetched struct {
	line     int
	err      error
	empty    bool     // every cell is blank
	prepared bool     // prep is done
	prep     prepared // the first half of mapping
}

// rowChunk holds rows in parallel slices: rows, which the caller's
// goroutine reads, and the cells and text of each (see rowSource), which
// it needs only to prepare a row itself (see prefetcher) or when a row's
// phones are new (see mapper.finish).
type rowChunk struct {
	rows  []fetched
	cells [][]string
	texts []string
	arena []string // the cells of all rows, so a chunk allocates once
}

// prefetcher reads rows from a rowSource in its own goroutine. It copies
// each row's cells out of the source, because the CSV reader reuses its
// record slice and must not overwrite a row being mapped.
//
// It also prepares rows (the first half of mapping, see
// preparer.prepare) while the caller's goroutine is behind, i.e. while
// chunks are queued for it; otherwise a row goes out as it was read and
// the caller prepares it (see next). So the work of preparing goes to
// whichever core has time, whatever emit costs.
type prefetcher struct {
	src   rowSource
	prep  *preparer
	full  chan *rowChunk
	free  chan *rowChunk
	quit  chan struct{}
	done  chan struct{}
	cur   *rowChunk
	pos   int
	ended bool
}

func prefetch(src rowSource, prep *preparer) *prefetcher {
	p := &prefetcher{
		src:  src,
		prep: prep,
		full: make(chan *rowChunk, chunksAhead),
		free: make(chan *rowChunk, chunksAhead+1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range chunksAhead + 1 {
		// Small at first: most files are short, and the slices grow to
		// what a chunk holds and are reused from then on.
		p.free <- &rowChunk{}
	}
	go p.produce()
	return p
}

func (p *prefetcher) produce() {
	defer close(p.done)
	for {
		var c *rowChunk
		select {
		case c = <-p.free:
		case <-p.quit:
			return
		}
		c.rows, c.cells, c.texts, c.arena = c.rows[:0], c.cells[:0], c.texts[:0], c.arena[:0]
		final := p.fill(c)
		select {
		case p.full <- c:
		case <-p.quit:
			return
		}
		if final {
			return
		}
	}
}

// fill reads up to chunkRows rows and reports whether the source ended
// (io.EOF or a file error, which travel as the chunk's last entry).
func (p *prefetcher) fill(c *rowChunk) (final bool) {
	defer func() {
		// The row sources guard their third-party parsers already; this
		// only keeps a bug from killing the process from a goroutine the
		// caller cannot recover in.
		if r := recover(); r != nil {
			c.rows = append(c.rows, fetched{err: fmt.Errorf("%w: reading failed (%v)", ErrNotTabular, r)})
			c.cells, c.texts = append(c.cells, nil), append(c.texts, "")
			final = true
		}
	}()
	for len(c.rows) < chunkRows {
		cells, text, line, err := p.src.next()
		if err != nil {
			if _, rowLevel := err.(*rowReadError); !rowLevel {
				c.rows = append(c.rows, fetched{err: err})
				c.cells, c.texts = append(c.cells, nil), append(c.texts, "")
				return true
			}
		}
		start := len(c.arena)
		c.arena = append(c.arena, cells...)
		// When append moved the arena, earlier rows keep pointing at the
		// old array, which stays valid; only the capacity is new.
		cells = c.arena[start:len(c.arena):len(c.arena)]
		c.cells, c.texts = append(c.cells, cells), append(c.texts, text)
		c.rows = append(c.rows, fetched{line: line, err: err})
		if f := &c.rows[len(c.rows)-1]; err == nil {
			f.empty = isEmpty(cells)
			if !f.empty && len(p.full) > 0 {
				p.prep.prepare(cells, text, line, &f.prep)
				f.prepared = true
			}
		}
	}
	return false
}

// next returns the next row and its cells, prepared with own (the
// caller's preparer) if the reading goroutine has not prepared it. They
// stay valid until the call after the next chunk boundary, i.e. at least
// until next is called again. After the source has ended, next returns a
// row with err io.EOF.
func (p *prefetcher) next(own *preparer) (*fetched, []string) {
	for p.cur == nil || p.pos >= len(p.cur.rows) {
		if p.ended {
			return &fetched{err: io.EOF}, nil
		}
		if p.cur != nil {
			p.free <- p.cur
			p.cur = nil
		}
		p.cur, p.pos = <-p.full, 0
	}
	r, cells := &p.cur.rows[p.pos], p.cur.cells[p.pos]
	p.pos++
	if r.err != nil {
		if _, rowLevel := r.err.(*rowReadError); !rowLevel {
			p.ended = true
		}
	} else if !r.empty && !r.prepared {
		own.prepare(cells, p.cur.texts[p.pos-1], r.line, &r.prep)
	}
	return r, cells
}

// stop ends the reading goroutine and waits for it.
func (p *prefetcher) stop() {
	close(p.quit)
	<-p.done
}
