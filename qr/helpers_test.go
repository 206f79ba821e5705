package qr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"testing"
	"time"

	"healthcode"
)

// t0 is the issue time of every test token.
var t0 = time.Date(2022, 6, 14, 9, 30, 0, 0, time.UTC)

// testKey returns a fixed key, so that tokens (and the fuzz corpus) are
// reproducible: name seeds it.
func testKey(tb testing.TB, alg, name string) crypto.Signer {
	tb.Helper()
	seed := sha256.Sum256([]byte(name))
	switch alg {
	case AlgEd25519:
		return ed25519.NewKeyFromSeed(seed[:])
	case AlgES256:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	tb.Fatalf("unknown alg %q", alg)
	return nil
}

func testSigner(tb testing.TB, alg, name string) *Signer {
	tb.Helper()
	s, err := NewSigner(testKey(tb, alg, name))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func testClaims() *Claims {
	return &Claims{
		Region:         "410100",
		Subject:        "pk5ztv3xqyj3m4d2bqz7wl6fhcmxa",
		MaskedName:     "张*明",
		Colour:         healthcode.Green,
		IssuedAt:       t0,
		Expires:        t0.Add(24 * time.Hour),
		RuleSetVersion: "2022.06.1",
	}
}

func issue(tb testing.TB, s *Signer, c *Claims) string {
	tb.Helper()
	tok, err := s.Issue(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func trustFor(tb testing.TB, region string, ss ...*Signer) *Trust {
	tb.Helper()
	t := NewTrust()
	for _, s := range ss {
		if err := t.Add(region, s.Public()); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}
