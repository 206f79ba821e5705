package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"

	"github.com/google/renameio/v2"
)

// Cache holds the newest trust list a node or an offline verifier has
// fetched, on disk and in memory. It only ever moves forward: a list with a
// smaller serial than the one held is refused (replaying an old list must
// not undo a revocation), and so is a different list with the same serial
// (the national key showing two views). A failed fetch keeps the list held.
// Safe for concurrent use.
type Cache struct {
	// URL is where the national trust list is published (http or https).
	URL string
	// Path is the file the list is cached in ("" keeps it in memory only).
	Path string
	// National verifies the national key's signature.
	National note.Verifiers
	Clock    healthcode.Clock
	// Client fetches URL; http.DefaultClient if nil.
	Client *http.Client
	// OnChange is called with each newer list, after it is held.
	OnChange func(*TrustList)
	// OnExpire is called once when the list held expires with no newer one
	// fetched: the holder must stop trusting other regions' keys.
	OnExpire func(*TrustList)

	offerMu sync.Mutex // one Offer at a time, so that OnChange sees lists in order
	mu      sync.RWMutex
	cur     *TrustList
	expired bool // OnExpire was called for cur
}

// Load reads the cached file, if there is one, and holds it. A missing file
// is no error; one that does not verify is.
func (c *Cache) Load() error {
	if c.Path == "" {
		return nil
	}
	b, err := os.ReadFile(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("federation: trust list cache: %w", err)
	}
	_, err = c.Offer(b)
	return err
}

// Current returns the list held, or nil if none is held or it has expired
// (a verifier that cannot refresh it stops trusting other regions rather
// than trust keys that may since have been revoked).
func (c *Cache) Current() *TrustList {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cur == nil || c.Clock.Now().After(c.cur.Expires) {
		return nil
	}
	return c.cur
}

// Fetch gets the list at URL and holds it if it is newer (see Offer).
func (c *Cache) Fetch(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return false, fmt.Errorf("federation: fetching the trust list: %w", err)
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("federation: fetching the trust list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("federation: fetching the trust list: %s answered %s", c.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxTrustListSize+1))
	if err != nil {
		return false, fmt.Errorf("federation: fetching the trust list: %w", err)
	}
	return c.Offer(b)
}

// Offer verifies msg as a signed trust list and holds it if its serial is
// newer than the one held, writing the cache file first. It reports
// whether it changed the list held. The same list again changes nothing.
// Returns OpenTrustList's errors, ReasonTrustRollback for an older serial
// and ReasonTrustEquivocated for another list of the serial held.
func (c *Cache) Offer(msg []byte) (bool, error) {
	c.offerMu.Lock()
	defer c.offerMu.Unlock()
	l, err := OpenTrustList(msg, c.National, c.Clock.Now())
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if cur := c.cur; cur != nil {
		switch {
		case l.Serial < cur.Serial:
			c.mu.Unlock()
			return false, healthcode.Errorfd(healthcode.EINVALID, ReasonTrustRollback,
				"trust list %d is older than the one held (%d): refused", l.Serial, cur.Serial)
		case l.Serial == cur.Serial && !bytes.Equal(noteText(msg), noteText(cur.note)):
			c.mu.Unlock()
			return false, healthcode.Errorfd(healthcode.EINVALID, ReasonTrustEquivocated,
				"trust list %d differs from the list of the same serial already held: the national key signed two views", l.Serial)
		case l.Serial == cur.Serial:
			c.mu.Unlock()
			return false, nil
		}
	}
	if c.Path != "" {
		if err := writeAtomic(c.Path, msg); err != nil {
			c.mu.Unlock()
			return false, fmt.Errorf("federation: caching the trust list: %w", err)
		}
	}
	c.cur, c.expired = l, false
	c.mu.Unlock()
	if c.OnChange != nil {
		c.OnChange(l)
	}
	return true, nil
}

// noteText returns the text of a signed note, without its signatures
// (witnesses may add cosignatures to the same list).
func noteText(msg []byte) []byte {
	if i := bytes.LastIndex(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1]
	}
	return msg
}

func writeAtomic(path string, b []byte) error {
	return renameio.WriteFile(path, b, 0o644, renameio.WithStaticPermissions(0o644))
}

// CheckExpiry calls OnExpire, once, if the list held has expired, and
// reports whether it has. Run calls it after each fetch.
func (c *Cache) CheckExpiry() bool {
	c.mu.Lock()
	l := c.cur
	fire := l != nil && !c.expired && c.Clock.Now().After(l.Expires)
	if fire {
		c.expired = true
	}
	expired := l != nil && c.expired
	c.mu.Unlock()
	if fire && c.OnExpire != nil {
		c.OnExpire(l)
	}
	return expired
}

// refreshEvery is how often Run fetches the list.
const refreshEvery = 5 * time.Minute

// Run fetches the list every interval (refreshEvery if 0) until ctx ends,
// reporting failures to logf.
func (c *Cache) Run(ctx context.Context, interval time.Duration, logf func(err error)) {
	if interval <= 0 {
		interval = refreshEvery
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := c.Fetch(ctx); err != nil && ctx.Err() == nil && logf != nil {
			logf(err)
		}
		c.CheckExpiry()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
