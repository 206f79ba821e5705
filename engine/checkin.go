package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"healthcode"
)

// Check-ins are written with group commit: requests wait in a bounded queue,
// one goroutine writes whatever has gathered in one transaction, and each
// request is answered only once its transaction has committed. The queue is
// bounded by time, not only by count: from the measured cost of a check-in
// (a moving average over recent commits) it knows how long a new one would
// wait, and refuses at once (EUNAVAILABLE, Retry-After) when that is above
// the budget, rather than keeping a client waiting seconds for an answer it
// will not use. Two measures, both taken from real commits: the marginal
// cost per check-in (from commits large enough for it to dominate the
// commit's fixed cost, so a burst after a quiet spell is not refused on the
// cost of lone commits), and how long the oldest check-in of the last commit
// actually waited (which catches a slow disk the first measure missed).
const (
	checkInQueueSize = 8192
	checkInMaxBatch  = 2000
	checkInLinger    = 2 * time.Millisecond
	// DefaultCheckInWait is Engine.CheckInWait's default.
	DefaultCheckInWait = 500 * time.Millisecond
)

type pendingCheckIn struct {
	c      *healthcode.CheckIn
	done   chan error
	queued time.Time
}

type checkInQueue struct {
	once      sync.Once
	closeOnce sync.Once
	ch        chan *pendingCheckIn
	stop      chan struct{}
	wg        sync.WaitGroup
	// perItem is the moving average of a check-in's share of a large
	// commit (nanoseconds); waited is how long the oldest check-in of the
	// last commit waited for it; writing counts the check-ins of the commit
	// under way.
	perItem atomic.Int64
	waited  atomic.Int64
	writing atomic.Int64
}

// checkInCostBatch is the smallest commit whose duration is taken as the
// marginal cost of its check-ins.
const checkInCostBatch = 64

// expectedWait is how long a check-in queued now would wait for its commit:
// everything ahead of it at the measured cost per check-in, or, if the last
// commit's oldest check-in waited longer and there is a queue, that.
func (q *checkInQueue) expectedWait() time.Duration {
	ahead := int64(len(q.ch)) + q.writing.Load()
	if ahead == 0 {
		return 0
	}
	return time.Duration(max(ahead*q.perItem.Load(), q.waited.Load()))
}

// measured records one commit of n check-ins that took d, the oldest of
// which waited oldest in all: the cost per check-in is averaged over large
// commits (weight 1/8: a few commits follow a change of load).
func (q *checkInQueue) measured(n int, d, oldest time.Duration) {
	q.waited.Store(int64(oldest))
	if n < checkInCostBatch {
		return
	}
	cost := int64(d) / int64(n)
	old := q.perItem.Load()
	if old == 0 {
		q.perItem.Store(cost)
		return
	}
	q.perItem.Store(old + (cost-old)/8)
}

// CheckInQueue is how many check-ins wait for their commit, and how long a
// new one would expect to wait (for metrics).
func (e *Engine) CheckInQueue() (depth int, wait time.Duration) {
	q := &e.checkins
	q.start(e) // q.ch is set once, by start
	return len(q.ch) + int(q.writing.Load()), q.expectedWait()
}

// busy refuses (EUNAVAILABLE checkin.busy, Retry-After) when a check-in
// queued now would wait longer than the engine's budget.
func (q *checkInQueue) busy(e *Engine) error {
	budget := e.CheckInWait
	if budget <= 0 {
		budget = DefaultCheckInWait
	}
	if wait := q.expectedWait(); wait > budget {
		err := healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.busy", "too many check-ins at once: the wait would be %s; try again in a moment", wait.Round(time.Millisecond))
		err.RetryAfter = max(time.Second, wait)
		return err
	}
	return nil
}

// CheckInBusy is the refusal a check-in would get now for the queue's
// wait (nil if it would be queued): asked before any work is done for a
// check-in request (its token read, its venue, its code), so that past the
// queue's budget a refusal costs the node almost nothing.
func (e *Engine) CheckInBusy() error {
	q := &e.checkins
	q.start(e)
	return q.busy(e)
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
	if err := q.busy(e); err != nil {
		return err
	}
	p := &pendingCheckIn{c: c, done: make(chan error, 1), queued: time.Now()}
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
		q.writing.Store(int64(len(batch)))
		began := time.Now()
		var errs []error
		var counts map[slotKey]int64
		err := e.Store.Update(context.Background(), func(tx healthcode.Tx) error {
			var err error
			errs, counts, err = e.insertCheckIns(context.Background(), tx, cs)
			return err
		})
		if err != nil {
			e.slots.forget()
		} else {
			current := healthcode.SlotOf(e.now())
			for k, n := range counts {
				e.slots.set(k, n, current)
			}
		}
		q.measured(len(batch), time.Since(began), time.Since(batch[0].queued))
		q.writing.Store(0)
		for i, p := range batch {
			if err != nil {
				p.done <- err
			} else {
				p.done <- errs[i]
			}
		}
	}
}

// insertCheckIns stores a batch of check-ins in tx, after the slot capacity
// has made those of crowded slots unverified (crowdCheckIns, whose counts it
// returns), except that an unverified one by someone who checked in at the
// same venue within the policy's repeat window (earlier, or earlier in the
// batch) is answered with that check-in (Repeat set) and adds no row.
// errs[i] says why cs[i] was refused (a replayed live code), or is nil.
func (e *Engine) insertCheckIns(ctx context.Context, tx healthcode.Tx, cs []*healthcode.CheckIn) (errs []error, counts map[slotKey]int64, err error) {
	before, err := e.crowdCheckIns(ctx, tx, cs)
	if err != nil {
		return nil, nil, err
	}
	window := e.checkInPolicy().RepeatWindow
	type key struct{ venue, subject string }
	first := map[key]int{} // the batch's first unverified check-in per key
	repeatOf := make([]int, len(cs))
	var fresh []*healthcode.CheckIn
	var freshAt []int
	for i, c := range cs {
		repeatOf[i] = -1
		if !c.Verified && window > 0 {
			k := key{c.Venue, c.Subject}
			if j, ok := first[k]; ok {
				repeatOf[i] = j
				continue
			}
			prev, err := tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: c.Venue, Subjects: []string{c.Subject},
				From: c.At.Add(-window), To: c.At.Add(time.Nanosecond)}, healthcode.CheckInCursor{}, 1)
			if err != nil {
				return nil, nil, err
			}
			if len(prev) > 0 {
				*c = prev[0]
				c.Repeat = true
				continue
			}
			first[k] = i
		}
		fresh = append(fresh, c)
		freshAt = append(freshAt, i)
	}
	inserted, err := tx.InsertCheckIns(ctx, fresh)
	if err != nil {
		return nil, nil, err
	}
	counts = slotCountsAfter(before, fresh, inserted)
	errs = make([]error, len(cs))
	for n, i := range freshAt {
		if !inserted[n] {
			errs[i] = healthcode.Errorfd(healthcode.ECONFLICT, "checkin.replayed", "you have already checked in with this code")
		}
	}
	for i, j := range repeatOf {
		if j >= 0 {
			if errs[i] = errs[j]; errs[i] == nil {
				*cs[i] = *cs[j]
				cs[i].Repeat = true
			}
		}
	}
	return errs, counts, nil
}

func (e *Engine) checkInPolicy() healthcode.CheckInPolicy {
	if e.CheckInPolicy == (healthcode.CheckInPolicy{}) {
		return healthcode.DefaultCheckInPolicy
	}
	return e.CheckInPolicy
}

// checkInLimiter is each person's check-in rate (golang.org/x/time/rate, on
// the engine's clock). It lives in memory: a restart forgets it, which costs
// an abuser nothing they could not get by waiting a burst's worth of time.
type checkInLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// maxLimiters bounds the map; past it, limiters back at full burst (people
// not checking in lately) are forgotten.
const maxLimiters = 100_000

// allow takes one check-in from subject's allowance at now, or says how long
// to wait.
func (l *checkInLimiter) allow(subject string, p healthcode.CheckInPolicy, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	lim := l.m[subject]
	if lim == nil {
		if len(l.m) >= maxLimiters {
			for s, x := range l.m {
				if x.TokensAt(now) >= float64(x.Burst()) {
					delete(l.m, s)
				}
			}
		}
		lim = rate.NewLimiter(rate.Limit(p.PerHour/3600), p.Burst)
		l.m[subject] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
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

func (c *venueCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *venueCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
