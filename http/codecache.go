package http

import "time"

// codeCacheMax bounds the cache of citizens' answers (each a signed QR and
// its JSON, a few KB with the images rendered from it). A city of ten
// million asks for codes over the day; the cache holds the people asking
// now (an answer is cached for at most half a QR's life), not the city, so
// that a node's memory does not grow with its population.
const codeCacheMax = 32_768

// put caches cc for subject unless a drop came after gen (the answer may
// hold a colour the drop was about). When the cache is full, answers past
// their refresh time go first, then any, down to seven eighths of the
// bound: one pass over the map every codeCacheMax/8 new answers.
func (c *codeCache) put(subject string, cc *cachedCode, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.m[subject]; !ok && len(c.m) >= codeCacheMax {
		for s, old := range c.m {
			if !now.Before(old.refresh) {
				delete(c.m, s)
			}
		}
		for s := range c.m {
			if len(c.m) <= codeCacheMax*7/8 {
				break
			}
			delete(c.m, s)
		}
	}
	c.m[subject] = cc
}
