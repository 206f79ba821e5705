package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"healthcode"
)

// TokenPrefix starts every bearer token, so a leaked one is easy to grep for.
const TokenPrefix = "hc_"

// CreateToken makes a new bearer token for p and stores only its hash.
func (e *Engine) CreateToken(ctx context.Context, p *healthcode.Principal) (string, error) {
	if _, err := healthcode.ParseRole(string(p.Role)); err != nil {
		return "", err
	}
	if strings.TrimSpace(p.Name) == "" {
		return "", healthcode.Errorfd(healthcode.EINVALID, "token.name", "a token needs the name of whom it speaks for")
	}
	if p.Role == healthcode.RoleCitizen {
		if p.Subject == "" {
			return "", healthcode.Errorfd(healthcode.EINVALID, "token.subject", "a citizen token needs the person's pseudonym")
		}
		err := e.Store.View(ctx, func(tx healthcode.ReadTx) error { _, err := tx.Person(ctx, p.Subject); return err })
		if err != nil {
			return "", err
		}
		p.ID = p.Subject
	} else if p.Subject != "" {
		return "", healthcode.Errorfd(healthcode.EINVALID, "token.subject", "only citizen tokens speak for a person")
	}
	if p.ID == "" {
		p.ID = p.Name
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	if err := e.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.CreateToken(ctx, h[:], p) }); err != nil {
		return "", err
	}
	return tok, nil
}

// tokenCacheTTL bounds how long a token lookup is trusted without asking the
// store again.
const tokenCacheTTL = time.Minute

type cachedPrincipal struct {
	p       *healthcode.Principal
	expires time.Time
}

type tokenCache struct {
	mu sync.Mutex
	m  map[[32]byte]cachedPrincipal
}

// Authenticate returns the principal a bearer token belongs to. Returns
// EUNAUTHORIZED for a missing or unknown token.
func (e *Engine) Authenticate(ctx context.Context, token string) (*healthcode.Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.bad_token", "missing or malformed bearer token")
	}
	h := sha256.Sum256([]byte(token))
	now := time.Now()
	e.tokens.mu.Lock()
	if c, ok := e.tokens.m[h]; ok && now.Before(c.expires) {
		e.tokens.mu.Unlock()
		return c.p, nil
	}
	e.tokens.mu.Unlock()
	var p *healthcode.Principal
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		p, err = tx.PrincipalByToken(ctx, h[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	e.tokens.mu.Lock()
	if e.tokens.m == nil || len(e.tokens.m) > 100_000 {
		e.tokens.m = map[[32]byte]cachedPrincipal{}
	}
	e.tokens.m[h] = cachedPrincipal{p: p, expires: now.Add(tokenCacheTTL)}
	e.tokens.mu.Unlock()
	return p, nil
}
