package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"
)

// Bearer tokens are kept in memory after their first use, so that a request
// does not pay a read transaction for its token (it was most of a check-in's
// cost), while a revocation still takes effect at once:
//
//   - Each entry carries the generation of the store's auth epoch
//     (healthcode.ReadTx.AuthEpoch) the engine knew before reading the
//     token. An entry is used only while no other epoch has been seen
//     since. The database moves the epoch itself (triggers on tokens and
//     officials), so no write path, present or future, can forget to.
//   - Every engine write (update) reads the epoch at the end of its
//     transaction and makes it the latest once it has committed, before the
//     call returns: a token revoked, an official suspended or moved to another
//     unit, the tokens deleted by a sunset — by this process — are refused or
//     seen anew by the very next request.
//   - Changes by another process or node (`healthcode admin revoke` on the
//     same SQLite file, a second node on the same PostgreSQL) are seen by
//     asking the store for the epoch again once TokenRecheck has passed since
//     it was last asked (DefaultTokenRecheck: one request asks, in one small
//     read, at most four times a second under load). An entry is used only
//     while the last answer is younger than TokenRecheck, or than
//     tokenCacheStale while another request's ask is under way (an ask that
//     fails, or an idle node, leaves none used until one succeeds). So
//     another writer's revocation takes effect within TokenRecheck, and
//     within a second at most with the default; a negative TokenRecheck asks
//     on every use.
//   - Expiry is checked against the engine's clock on every use; only usable
//     tokens are kept; unknown tokens are never kept (a guessed token costs a
//     read, and counts toward the address's failed logins in http).
//
// Entries are labelled with a generation the engine moves whenever it sees
// the store's epoch at a value other than the last it saw (up, or down after
// a restore; answers arriving out of order only invalidate more), so any
// change seen invalidates every entry. (A database restored under a running
// node is not otherwise supported: restart the node, whose start checks the
// store against the published log.) Entries are keyed by the token's
// SHA-256 (never the secret), in shards.

// DefaultTokenRecheck is Engine.TokenRecheck's default.
const DefaultTokenRecheck = 250 * time.Millisecond

const (
	// tokenCacheStale is how long entries are used without the store having
	// been asked for the epoch; past it every use reads the store.
	tokenCacheStale = time.Second
	tokenShards     = 64
	// tokenShardSize bounds each shard (131,072 tokens in all); a full
	// shard forgets an eighth of its entries.
	tokenShardSize = 2048
)

type tokenCache struct {
	shards [tokenShards]tokenShard
	// gen moves whenever the store's epoch is seen at a value other than
	// seen, the last one; asked is when the store was last asked for it
	// (monoNow), 0 before the first time.
	mu     sync.Mutex // guards seen
	seen   int64
	gen    atomic.Int64
	asked  atomic.Int64
	asking atomic.Bool
}

type tokenShard struct {
	mu sync.RWMutex
	m  map[[32]byte]cachedToken
}

type cachedToken struct {
	t   *healthcode.Token
	gen int64
}

// monoBase anchors monoNow: the cache's ages are on the monotonic clock, not
// the engine's (which tests move by days): they bound how stale an answer
// from the store may be in real time.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) + 1 }

// observe records that the store's epoch was n (when it was asked at at; 0
// when it was read by a write, which says nothing of other writers since):
// a value other than the last seen moves the generation, and asked only
// moves forward.
func (c *tokenCache) observe(n, at int64) {
	c.mu.Lock()
	if n != c.seen {
		c.seen = n
		c.gen.Add(1)
	}
	c.mu.Unlock()
	for old := c.asked.Load(); at > old && !c.asked.CompareAndSwap(old, at); old = c.asked.Load() {
	}
}

// cachedToken returns the kept, current token for a token hash, asking the
// store for the epoch first when that is due; ok is false when the store
// must be read.
func (e *Engine) cachedToken(ctx context.Context, h [32]byte) (*healthcode.Token, bool) {
	c := &e.tokens
	sh := &c.shards[h[0]%tokenShards]
	sh.mu.RLock()
	ent, ok := sh.m[h]
	sh.mu.RUnlock()
	if !ok || !e.recheckTokens(ctx) || ent.gen != c.gen.Load() {
		return nil, false
	}
	return ent.t, true
}

// recheckTokens asks the store for the epoch if TokenRecheck has passed
// since it was last asked (one caller at a time asks), and reports whether
// kept tokens may be used: false if the ask failed, or if another caller is
// asking and the last answer is stale or every use must ask.
func (e *Engine) recheckTokens(ctx context.Context) bool {
	c := &e.tokens
	recheck := e.TokenRecheck
	if recheck == 0 {
		recheck = DefaultTokenRecheck
	}
	since := time.Duration(monoNow() - c.asked.Load())
	if recheck > 0 && since < recheck {
		return true
	}
	if !c.asking.CompareAndSwap(false, true) {
		return recheck > 0 && since < tokenCacheStale
	}
	err := e.askAuthEpoch(ctx)
	c.asking.Store(false)
	return err == nil
}

// askAuthEpoch reads the store's epoch.
func (e *Engine) askAuthEpoch(ctx context.Context) error {
	at := monoNow()
	var n int64
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		n, err = tx.AuthEpoch(ctx)
		return err
	})
	if err != nil {
		return err
	}
	e.tokens.observe(n, at)
	return nil
}

// put keeps a usable token read under generation gen.
func (c *tokenCache) put(h [32]byte, t *healthcode.Token, gen int64) {
	sh := &c.shards[h[0]%tokenShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[[32]byte]cachedToken)
	}
	if len(sh.m) >= tokenShardSize {
		n := tokenShardSize / 8
		for k := range sh.m {
			delete(sh.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	sh.m[h] = cachedToken{t: t, gen: gen}
}

// readToken reads a token from the store, keeping it if it is usable at
// now under the generation known before the read began: the read sees every
// change committed before that, and any change after it moves the epoch,
// which moves the generation past the entry's when it is seen (at commit
// here, or when the store is next asked), so a kept token is never older
// than its generation says. (The epoch is not read with every token: a
// first request, such as a citizen's first code of the day, pays for one
// statement, and the epoch's read at most every TokenRecheck.)
func (e *Engine) readToken(ctx context.Context, h [32]byte, now time.Time) (*healthcode.Token, error) {
	// When an ask is due it comes first, so that what is read now is kept
	// under the generation current now (after a start, or an idle spell).
	e.recheckTokens(ctx)
	gen := e.tokens.gen.Load()
	var t *healthcode.Token
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		t, err = tx.Token(ctx, h[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.Usable(now) == nil {
		e.tokens.put(h, t, gen)
	}
	return t, nil
}
