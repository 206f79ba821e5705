package engine

import (
	"context"
	"sync"
	"time"

	"healthcode"
)

// Check-ins are written with group commit: requests wait in a bounded queue,
// one goroutine writes whatever has gathered in one transaction, and each
// request is answered only once its transaction has committed. A full queue
// refuses at once (EUNAVAILABLE: the client retries) rather than growing.
const (
	checkInQueueSize = 8192
	checkInMaxBatch  = 2000
	checkInLinger    = 2 * time.Millisecond
)

type pendingCheckIn struct {
	c    *healthcode.CheckIn
	done chan error
}

type checkInQueue struct {
	once      sync.Once
	closeOnce sync.Once
	ch        chan *pendingCheckIn
	stop      chan struct{}
	wg        sync.WaitGroup
}

func (q *checkInQueue) start(e *Engine) {
	q.once.Do(func() {
		q.ch = make(chan *pendingCheckIn, checkInQueueSize)
		q.stop = make(chan struct{})
		q.wg.Add(1)
		go q.run(e)
	})
}

// add queues c and waits until it is committed (or refused).
func (q *checkInQueue) add(ctx context.Context, e *Engine, c *healthcode.CheckIn) error {
	q.start(e)
	p := &pendingCheckIn{c: c, done: make(chan error, 1)}
	select {
	case <-q.stop:
		return healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.closing", "the node is shutting down; try again")
	case q.ch <- p:
	default:
		return healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.busy", "too many check-ins at once; try again in a moment")
	}
	select {
	case err := <-p.done:
		return err
	case <-q.stop:
		// Close answers whatever it drains; one enqueued after that is
		// refused here rather than left waiting.
		select {
		case err := <-p.done:
			return err
		case <-time.After(time.Second):
			return healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.closing", "the node is shutting down; try again")
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *checkInQueue) run(e *Engine) {
	defer q.wg.Done()
	batch := make([]*pendingCheckIn, 0, checkInMaxBatch)
	for {
		select {
		case <-q.stop:
			return
		case p := <-q.ch:
			batch = append(batch[:0], p)
		}
		// Linger briefly for more: one commit (one fsync) for many
		// check-ins is what makes a burst affordable.
		linger := time.NewTimer(checkInLinger)
	gather:
		for len(batch) < checkInMaxBatch {
			select {
			case p := <-q.ch:
				batch = append(batch, p)
			case <-linger.C:
				break gather
			}
		}
		linger.Stop()
		cs := make([]*healthcode.CheckIn, len(batch))
		for i, p := range batch {
			cs[i] = p.c
		}
		var inserted []bool
		err := e.Store.Update(context.Background(), func(tx healthcode.Tx) error {
			var err error
			inserted, err = tx.InsertCheckIns(context.Background(), cs)
			return err
		})
		for i, p := range batch {
			switch {
			case err != nil:
				p.done <- err
			case !inserted[i]:
				p.done <- healthcode.Errorfd(healthcode.ECONFLICT, "checkin.replayed", "you have already checked in with this code")
			default:
				p.done <- nil
			}
		}
	}
}

// Close stops the engine's background writers. Check-ins still queued are
// refused, never silently dropped.
func (e *Engine) Close() {
	q := &e.checkins
	q.start(e) // so that Close and a late first check-in never race
	q.closeOnce.Do(func() {
		close(q.stop)
		q.wg.Wait()
		for {
			select {
			case p := <-q.ch:
				p.done <- healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.closing", "the node is shutting down; try again")
			default:
				return
			}
		}
	})
}

// venueCacheTTL bounds how long a venue's row (and its status) is trusted
// without reading it again.
const venueCacheTTL = 10 * time.Second

type venueCache struct {
	mu sync.Mutex
	m  map[string]cachedVenue
}

type cachedVenue struct {
	v       *healthcode.Venue
	expires time.Time
}

func (c *venueCache) get(id string, now time.Time) (*healthcode.Venue, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cv, ok := c.m[id]
	if !ok || !now.Before(cv.expires) {
		return nil, false
	}
	return cv.v, true
}

func (c *venueCache) put(v *healthcode.Venue, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]cachedVenue{}
	}
	c.m[v.ID] = cachedVenue{v: v, expires: now.Add(venueCacheTTL)}
}

func (c *venueCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
