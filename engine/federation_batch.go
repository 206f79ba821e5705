package engine

import (
	"context"
	"sync"

	"healthcode"
)

// peerMaxBatch bounds the cross-region query entries one commit appends.
const peerMaxBatch = 64

// peerLog is the group commit of cross-region query entries. Every query is
// logged on both sides before it is answered or acted on, each in its own
// commit (a synchronous write of the log): with several queries at once
// they queued one behind the other for the disk. Here the first caller
// leads: it commits every entry queued by then in one transaction, then
// hands the lead to the first caller that queued meanwhile, whose commit
// takes everything queued by then, and so on. A lone query commits at once
// (no waiting for company); under load each commit carries all that
// arrived during the previous one. Nothing runs in the background.
type peerLog struct {
	mu      sync.Mutex
	pending []*pendingPeer
	leading bool
}

type pendingPeer struct {
	entry *healthcode.LogEntry
	idx   int64
	err   error
	// wake is closed when the entry is committed (or refused), or when
	// this caller is handed the lead (promoted).
	wake     chan struct{}
	promoted bool
}

// appendPeerEntry logs entry, committed with whatever other query entries
// are waiting, and returns its index. It waits for the commit whatever ctx
// says: the entry is queued, and a caller that left could be the one handed
// the lead.
func (e *Engine) appendPeerEntry(ctx context.Context, entry *healthcode.LogEntry) (int64, error) {
	q := &e.peerLog
	p := &pendingPeer{entry: entry, wake: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, p)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead {
		<-p.wake
		if !p.promoted {
			return p.idx, p.err
		}
	}
	// Leading: p is the first queued (everything before it was committed).
	q.mu.Lock()
	n := min(len(q.pending), peerMaxBatch)
	batch := make([]*pendingPeer, n)
	copy(batch, q.pending)
	q.pending = append(q.pending[:0], q.pending[n:]...)
	q.mu.Unlock()

	e.commitPeerBatch(context.WithoutCancel(ctx), batch)

	q.mu.Lock()
	if len(q.pending) > 0 {
		next := q.pending[0]
		next.promoted = true
		close(next.wake)
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	return p.idx, p.err
}

// commitPeerBatch appends the batch's entries in one commit; if that
// fails, each in its own, so one bad entry fails only its own query.
func (e *Engine) commitPeerBatch(ctx context.Context, batch []*pendingPeer) {
	err := e.update(ctx, func(u *unit) error {
		for _, p := range batch {
			p.idx = u.log(p.entry)
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			p.err = e.update(ctx, func(u *unit) error {
				p.idx = u.log(p.entry)
				return nil
			})
		}
	} else {
		for _, p := range batch {
			p.err = err
		}
	}
	for _, p := range batch {
		if p.err != nil {
			p.idx = -1
		}
		if !p.promoted { // a promoted one is the leader: its wake is closed
			close(p.wake)
		}
	}
}
