package consumer

import "sync"

// position tracks the cursor a restart may resume from while lanes handle
// events out of order: the cursor of the last event before which every
// event is done.
type position struct {
	mu      sync.Mutex
	next    uint64 // sequence number of the next event added
	base    uint64 // sequence number of pending[0]
	pending []slot // events added and not yet passed by the cursor
	at      string // the resumable cursor
}

type slot struct {
	cursor string
	done   bool
}

func newPosition(cursor string) *position { return &position{at: cursor} }

// add records an event about to be handled and returns its sequence number.
func (p *position) add(cursor string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, slot{cursor: cursor})
	p.next++
	return p.next - 1
}

// done marks event seq handled and moves the cursor over every leading
// handled event.
func (p *position) done(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending[seq-p.base].done = true
	n := 0
	for n < len(p.pending) && p.pending[n].done {
		p.at = p.pending[n].cursor
		n++
	}
	p.pending = p.pending[n:]
	p.base += uint64(n)
}

// bookmark takes the stream's bookmark cursor when nothing is pending.
func (p *position) bookmark(cursor string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 && cursor != "" {
		p.at = cursor
	}
}

// cursor returns the resumable cursor.
func (p *position) cursor() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}
