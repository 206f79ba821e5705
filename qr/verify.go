package qr

import (
	"errors"
	"strings"
	"time"

	"github.com/veraison/go-cose"

	"healthcode"
)

// Verify checks a token against the trust list at time now and returns its
// claims. Every failure is a *healthcode.Error with code EINVALID and one of
// the Reason constants as its Detail, checked in this order: ReasonMalformed,
// ReasonUnknownKey, ReasonBadSignature, ReasonMalformed (claims missing or out
// of range), ReasonWrongRegion, ReasonExpired, ReasonNotYetValid.
//
// For ReasonExpired and ReasonNotYetValid the claims are returned along with
// the error: the token is authentic, only its time is wrong, and a checkpoint
// may show whose it is. For every other failure the claims are nil.
func Verify(text string, t *Trust, now time.Time) (*Claims, error) {
	if len(text) > MaxTokenLen {
		return nil, malformed("token is %d characters, more than %d", len(text), MaxTokenLen)
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return nil, malformed("token does not start with %q", Prefix)
	}
	z, err := base45Decode(body)
	if err != nil {
		return nil, malformed("%v", err)
	}
	signed, err := decompress(z)
	if err != nil {
		return nil, malformed("decompressing: %v", err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		return nil, malformed("COSE_Sign1: %v", err)
	}
	// Nothing unauthenticated may ride along: the unprotected header is empty.
	if len(msg.Headers.Unprotected) != 0 {
		return nil, malformed("COSE_Sign1: unprotected header is not empty")
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) == 0 {
		return nil, malformed("COSE_Sign1: no key id in the protected header")
	}
	key := t.lookup(kid)
	if key == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonUnknownKey, "token signed by an untrusted key")
	}
	if err := msg.Verify(nil, key.verifier); err != nil {
		if errors.Is(err, cose.ErrVerification) || errors.Is(err, cose.ErrAlgorithmMismatch) {
			return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonBadSignature, "token signature does not verify")
		}
		return nil, malformed("COSE_Sign1: %v", err)
	}
	c, err := unmarshalClaims(msg.Payload)
	if err != nil {
		return nil, malformed("claims: %v", err)
	}
	if c.Region != key.region {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonWrongRegion,
			"token claims region %s but its key speaks for %s", c.Region, key.region)
	}
	if now.After(c.Expires) {
		return c, healthcode.Errorfd(healthcode.EINVALID, ReasonExpired, "token expired at %s", c.Expires.Format(time.RFC3339))
	}
	if c.IssuedAt.Sub(now) > ClockSkew {
		return c, healthcode.Errorfd(healthcode.EINVALID, ReasonNotYetValid, "token issued in the future, at %s", c.IssuedAt.Format(time.RFC3339))
	}
	return c, nil
}

func malformed(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, ReasonMalformed, "malformed token: "+format, args...)
}
