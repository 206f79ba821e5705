package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"healthcode"
)

// TokenPrefix starts every bearer token, so a leaked one is easy to grep for.
const TokenPrefix = "hc_"

// SessionPrefix starts every page session id.
const SessionPrefix = "hs_"

// newSecret returns a fresh random secret with the prefix and its SHA-256.
func newSecret(prefix string) (string, [32]byte, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", [32]byte{}, err
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(b)
	return s, sha256.Sum256([]byte(s)), nil
}

// TokenID is the public name of a token: "t" and the first 8 bytes of its
// hash in hex. It names the token in the log and for revocation; it cannot
// be used to authenticate.
func TokenID(token string) string {
	h := sha256.Sum256([]byte(token))
	return tokenID(h)
}

func tokenID(h [32]byte) string { return "t" + hex.EncodeToString(h[:8]) }

// Authenticate returns the principal a bearer token belongs to. Returns
// EUNAUTHORIZED for a missing, unknown, expired or revoked token. A token is
// read from the store on its first use and then kept in memory only while
// the store's auth epoch has not moved (tokencache.go): a revocation by this
// engine takes effect on the next request, one by another process or node
// on the same database within TokenRecheck. Expiry is checked against the
// engine's clock on every call.
func (e *Engine) Authenticate(ctx context.Context, token string) (*healthcode.Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.bad_token", "missing or malformed bearer token")
	}
	h := sha256.Sum256([]byte(token))
	now := e.now()
	t, ok := e.cachedToken(ctx, h)
	if !ok {
		var err error
		if t, err = e.readToken(ctx, h, now); err != nil {
			return nil, err
		}
	}
	if err := t.Usable(now); err != nil {
		return nil, err
	}
	// A copy: the kept token is shared by every request that uses it.
	p := t.Principal
	return &p, nil
}

// StartSession opens a page session for the holder of token: it returns a
// fresh random session id for the cookie (only its hash is stored), the
// caller, and when the session ends (SessionDuration, or the token's expiry
// if sooner). Returns EUNAUTHORIZED as Authenticate does.
func (e *Engine) StartSession(ctx context.Context, token string) (id string, p *healthcode.Principal, expires time.Time, err error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return "", nil, time.Time{}, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.bad_token", "missing or malformed bearer token")
	}
	th := sha256.Sum256([]byte(token))
	id, sh, err := newSecret(SessionPrefix)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	now := e.now()
	err = e.Store.Update(ctx, func(tx healthcode.Tx) error {
		t, err := tx.Token(ctx, th[:])
		if err != nil {
			return err
		}
		if err := t.Usable(now); err != nil {
			return err
		}
		p = &t.Principal
		expires = now.Add(healthcode.SessionDuration)
		if t.Expires.Before(expires) {
			expires = t.Expires
		}
		return tx.CreateSession(ctx, &healthcode.Session{Hash: sh[:], TokenHash: th[:], Created: now, Expires: expires})
	})
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return id, p, expires, nil
}

// SessionPrincipal returns the caller of a page session. Returns
// EUNAUTHORIZED (detail "auth.session") if the session is unknown, ended or
// expired, and as Authenticate does if its token no longer is usable.
func (e *Engine) SessionPrincipal(ctx context.Context, id string) (*healthcode.Principal, error) {
	bad := healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.session", "no such session: it ended or expired; log in again")
	if !strings.HasPrefix(id, SessionPrefix) || len(id) > 128 {
		return nil, bad
	}
	sh := sha256.Sum256([]byte(id))
	now := e.now()
	var p *healthcode.Principal
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		s, err := tx.Session(ctx, sh[:])
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return bad
		} else if err != nil {
			return err
		}
		if !now.Before(s.Expires) {
			return bad
		}
		t, err := tx.Token(ctx, s.TokenHash)
		if err != nil {
			return err
		}
		if err := t.Usable(now); err != nil {
			return err
		}
		p = &t.Principal
		return nil
	})
	return p, err
}

// EndSession ends a page session (logout): the id is refused from then on.
// Returns EUNAUTHORIZED (detail "auth.session") if there is no such session.
func (e *Engine) EndSession(ctx context.Context, id string) error {
	if !strings.HasPrefix(id, SessionPrefix) || len(id) > 128 {
		return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.session", "no such session")
	}
	sh := sha256.Sum256([]byte(id))
	err := e.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.EndSession(ctx, sh[:]) })
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.session", "no such session")
	}
	return err
}
