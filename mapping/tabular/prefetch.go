package tabular

import (
	"fmt"
	"io"
)

// Chunking amortises the hand-over between the goroutines: one channel
// operation per chunkRows rows instead of per row. Three chunks in flight
// bound the memory to a few hundred rows, however long the file is.
const (
	chunkRows   = 256
	chunksAhead = 3
)

type fetched struct {
	cells []string
	line  int
	err   error
}

type rowChunk struct {
	rows  []fetched
	arena []string // the cells of all rows, so a chunk allocates once
}

// prefetcher reads rows from a rowSource in its own goroutine. It copies
// each row's cells out of the source, because the CSV reader reuses its
// record slice (ReuseRecord) and must not overwrite a row being mapped.
type prefetcher struct {
	src   rowSource
	full  chan *rowChunk
	free  chan *rowChunk
	quit  chan struct{}
	done  chan struct{}
	cur   *rowChunk
	pos   int
	ended bool
}

func prefetch(src rowSource) *prefetcher {
	p := &prefetcher{
		src:  src,
		full: make(chan *rowChunk, chunksAhead),
		free: make(chan *rowChunk, chunksAhead+1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range chunksAhead + 1 {
		p.free <- &rowChunk{rows: make([]fetched, 0, chunkRows)}
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
		c.rows, c.arena = c.rows[:0], c.arena[:0]
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
			final = true
		}
	}()
	for len(c.rows) < chunkRows {
		cells, line, err := p.src.next()
		if err != nil {
			if _, rowLevel := err.(*rowReadError); !rowLevel {
				c.rows = append(c.rows, fetched{err: err})
				return true
			}
		}
		start := len(c.arena)
		c.arena = append(c.arena, cells...)
		// When append moved the arena, earlier rows keep pointing at the
		// old array, which stays valid; only the capacity is new.
		c.rows = append(c.rows, fetched{cells: c.arena[start:len(c.arena):len(c.arena)], line: line, err: err})
	}
	return false
}

// next returns the next row; its cells stay valid until the call after
// the next chunk boundary, i.e. at least until next is called again.
func (p *prefetcher) next() ([]string, int, error) {
	for p.cur == nil || p.pos >= len(p.cur.rows) {
		if p.ended {
			return nil, 0, io.EOF
		}
		if p.cur != nil {
			p.free <- p.cur
			p.cur = nil
		}
		p.cur, p.pos = <-p.full, 0
	}
	r := p.cur.rows[p.pos]
	p.pos++
	if r.err != nil {
		if _, rowLevel := r.err.(*rowReadError); !rowLevel {
			p.ended = true
		}
	}
	return r.cells, r.line, r.err
}

// stop ends the reading goroutine and waits for it.
func (p *prefetcher) stop() {
	close(p.quit)
	<-p.done
}
