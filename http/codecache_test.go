package http

import (
	"fmt"
	"testing"
	"time"
)

// The cache of citizens' answers is bounded: a city asking for its codes
// does not grow the node's memory with its population. Answers past their
// refresh time are dropped before fresh ones, and an answer computed before
// a drop is not cached.
func TestCodeCacheBounded(t *testing.T) {
	now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	c := newCodeCache()
	// Half the cache stale, half fresh.
	for i := range codeCacheMax {
		refresh := now.Add(time.Minute)
		if i%2 == 0 {
			refresh = now.Add(-time.Minute)
		}
		c.put(fmt.Sprintf("p%d", i), &cachedCode{refresh: refresh}, c.gen, now)
	}
	if len(c.m) != codeCacheMax {
		t.Fatalf("%d answers cached, want %d", len(c.m), codeCacheMax)
	}
	c.put("pnew", &cachedCode{refresh: now.Add(time.Minute)}, c.gen, now)
	if _, ok := c.m["pnew"]; !ok {
		t.Errorf("the newest answer is not cached")
	}
	for i := 1; i < codeCacheMax; i += 2 {
		if _, ok := c.m[fmt.Sprintf("p%d", i)]; !ok {
			t.Fatalf("a fresh answer (p%d) was dropped while stale ones were there", i)
		}
	}
	if want := codeCacheMax/2 + 1; len(c.m) != want {
		t.Errorf("%d answers cached after the stale were dropped, want %d", len(c.m), want)
	}
	// All fresh: a full cache stays within its bound.
	for i := range 3 * codeCacheMax {
		c.put(fmt.Sprintf("q%d", i), &cachedCode{refresh: now.Add(time.Minute)}, c.gen, now)
		if len(c.m) > codeCacheMax {
			t.Fatalf("%d answers cached after %d puts, bound %d", len(c.m), i+1, codeCacheMax)
		}
	}
	gen := c.gen
	c.drop([]string{"pnew"})
	c.put("pstale", &cachedCode{refresh: now.Add(time.Minute)}, gen, now)
	if _, ok := c.m["pstale"]; ok {
		t.Errorf("an answer computed before a drop was cached")
	}
}
