package sim

import (
	"sync"
	"time"
)

// StoryClock is the clock of a node being filled with a story: while the
// Replayer submits an event it is held at the event's time, so that the
// node records, decides and logs each event when it happened and a
// person's history spreads over the outbreak's days instead of carrying
// the minute the story was replayed; released, it is the wall clock. Held
// times never go back: an event earlier than the last one held is
// submitted at the last.
type StoryClock struct {
	mu   sync.Mutex
	held time.Time // zero: released
	last time.Time
}

// Now returns the held time, or the wall clock's once released.
func (c *StoryClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held.IsZero() {
		return time.Now().UTC()
	}
	return c.held
}

// Hold stops the clock at t, or at the latest time held before if that is
// later, and never past the wall clock.
func (c *StoryClock) Hold(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t = t.UTC()
	if t.Before(c.last) {
		t = c.last
	}
	if now := time.Now().UTC(); t.After(now) {
		t = now
	}
	c.held, c.last = t, t
}

// Release lets the clock run: it is the wall clock from now on.
func (c *StoryClock) Release() {
	c.mu.Lock()
	c.held = time.Time{}
	c.mu.Unlock()
}
