package qr

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/veraison/go-cose"

	"healthcode"
)

// Verify checks a token against the trust list at time now and returns its
// claims. Every failure is a *healthcode.Error with code EINVALID and one of
// the Reason constants as its Detail, checked in this order: ReasonMalformed,
// ReasonKeyRevoked, ReasonUnknownKey, ReasonBadSignature, ReasonMalformed
// (claims missing or out of range), ReasonWrongRegion, ReasonKeyNotValid (the
// code was issued before its key's not_before or now is after its
// not_after), ReasonCodeRevoked, ReasonExpired, ReasonNotYetValid.
//
// For ReasonExpired and ReasonNotYetValid the claims are returned along with
// the error: the token is authentic, only its time is wrong, and a checkpoint
// may show whose it is. For every other failure the claims are nil.
func Verify(text string, t *Trust, now time.Time) (*Claims, error) {
	msg, kid, err := parseToken(text)
	if err != nil {
		return nil, err
	}
	if t.isRevoked(kid) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonKeyRevoked, "token signed by a revoked key (%s)", base64.StdEncoding.EncodeToString(kid))
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
	if (!key.notBefore.IsZero() && c.IssuedAt.Before(key.notBefore)) || (!key.notAfter.IsZero() && now.After(key.notAfter)) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonKeyNotValid, "token signed by a key (%s) not valid for it: trusted from %s until %s",
			base64.StdEncoding.EncodeToString(kid), boundText(key.notBefore), boundText(key.notAfter))
	}
	if len(key.codes) > 0 && key.codes[string(codeHash(msg))] {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonCodeRevoked, "this code was revoked by its region")
	}
	if now.After(c.Expires) {
		return c, healthcode.Errorfd(healthcode.EINVALID, ReasonExpired, "token expired at %s", c.Expires.Format(time.RFC3339))
	}
	if c.IssuedAt.Sub(now) > ClockSkew {
		return c, healthcode.Errorfd(healthcode.EINVALID, ReasonNotYetValid, "token issued in the future, at %s", c.IssuedAt.Format(time.RFC3339))
	}
	return c, nil
}

// parseToken decodes a token down to its COSE_Sign1 message and key id,
// checking no signature.
func parseToken(text string) (*cose.Sign1Message, []byte, error) {
	if len(text) > MaxTokenLen {
		return nil, nil, malformed("token is %d characters, more than %d", len(text), MaxTokenLen)
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return nil, nil, malformed("token does not start with %q", Prefix)
	}
	z, err := base45Decode(body)
	if err != nil {
		return nil, nil, malformed("%v", err)
	}
	signed, err := decompress(z)
	if err != nil {
		return nil, nil, malformed("decompressing: %v", err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		return nil, nil, malformed("COSE_Sign1: %v", err)
	}
	// Nothing unauthenticated may ride along: the unprotected header is empty.
	if len(msg.Headers.Unprotected) != 0 {
		return nil, nil, malformed("COSE_Sign1: unprotected header is not empty")
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) == 0 {
		return nil, nil, malformed("COSE_Sign1: no key id in the protected header")
	}
	return &msg, kid, nil
}

// CodeHash returns the key id of a token and the hash a revocation list
// names it by: the first 16 bytes of the SHA-256 of its signature, as the
// EU DCC revocation lists' SIGNATURE hash type (for Ed25519 the whole
// signature; for ES256 the r half, so that the malleable s cannot dodge
// it). It checks no signature; Verify does. Returns EINVALID (detail
// ReasonMalformed) for anything that is not a token.
func CodeHash(text string) (kid, hash []byte, err error) {
	msg, kid, err := parseToken(text)
	if err != nil {
		return nil, nil, err
	}
	return kid, codeHash(msg), nil
}

func codeHash(msg *cose.Sign1Message) []byte {
	sig := msg.Signature
	if alg, _ := msg.Headers.Protected.Algorithm(); alg == cose.AlgorithmES256 && len(sig) == 64 {
		sig = sig[:32]
	}
	sum := sha256.Sum256(sig)
	return sum[:codeHashLen]
}

func boundText(t time.Time) string {
	if t.IsZero() {
		return "(no bound)"
	}
	return t.Format(time.RFC3339)
}

func malformed(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, ReasonMalformed, "malformed token: "+format, args...)
}
