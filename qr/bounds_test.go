package qr

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestKeyBounds: a trust list's key validity, key revocation and per-code
// revocation each refuse what they name, and only that.
func TestKeyBounds(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "bounds")
	es := testSigner(t, AlgES256, "bounds-es")
	c := testClaims()
	tok := issue(t, s, c)
	other := testClaims()
	other.Subject = "qk5ztv3xqyj3m4d2bqz7wl6fhcmxa"
	tok2 := issue(t, s, other)
	ec := testClaims()
	etok := issue(t, es, ec)
	_, h, err := CodeHash(tok)
	if err != nil {
		t.Fatal(err)
	}
	kid, eh, err := CodeHash(etok)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 16 || len(eh) != 16 || string(kid) != string(es.KeyID()) {
		t.Fatalf("CodeHash: %x %x kid %x", h, eh, kid)
	}
	at := t0.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		bounds KeyBounds
		revoke bool
		tok    string
		want   string
	}{
		{"plain", KeyBounds{}, false, tok, ""},
		{"within validity", KeyBounds{NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}, false, tok, ""},
		{"issued before the key's validity", KeyBounds{NotBefore: t0.Add(time.Second), NotAfter: t0.Add(time.Hour)}, false, tok, ReasonKeyNotValid},
		{"key's validity over", KeyBounds{NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(30 * time.Second)}, false, tok, ReasonKeyNotValid},
		{"revoked code", KeyBounds{RevokedCodes: [][]byte{h}}, false, tok, ReasonCodeRevoked},
		{"another code of the key", KeyBounds{RevokedCodes: [][]byte{h}}, false, tok2, ""},
		{"revoked key", KeyBounds{}, true, tok, ReasonKeyRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrust()
			if err := tr.AddBounded("410100", s.Public(), tc.bounds); err != nil {
				t.Fatal(err)
			}
			if tc.revoke {
				tr.Revoke(s.KeyID())
				if err := tr.Add("410100", s.Public()); err != nil || tr.Len() != 0 {
					t.Fatalf("a revoked key was added back: %v, %d keys", err, tr.Len())
				}
			}
			// The file form says the same.
			b, err := tr.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseTrust(b)
			if err != nil {
				t.Fatalf("ParseTrust(%s): %v", b, err)
			}
			for _, tt := range []*Trust{tr, parsed} {
				_, err := Verify(tc.tok, tt, at)
				if Reason(err) != tc.want {
					t.Fatalf("Verify = %v, want %q", err, tc.want)
				}
			}
		})
	}
	// ES256: the revocation names the r half, so the same code with
	// another s is still revoked.
	tr := NewTrust()
	if err := tr.AddBounded("410100", es.Public(), KeyBounds{RevokedCodes: [][]byte{eh}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(etok, tr, at); Reason(err) != ReasonCodeRevoked {
		t.Fatalf("ES256 revoked code: %v", err)
	}
	// Merge carries revocations into a trust that held the key.
	own := NewTrust()
	if err := own.Add("410100", s.Public()); err != nil {
		t.Fatal(err)
	}
	fed := NewTrust()
	fed.Revoke(s.KeyID())
	if err := own.Merge(fed); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, own, at); Reason(err) != ReasonKeyRevoked {
		t.Fatalf("after merging a revocation: %v", err)
	}
	if _, err := ParseTrust([]byte(`{"keys":[],"revoked_keys":["` + base64.StdEncoding.EncodeToString([]byte("short")) + `"]}`)); err == nil {
		t.Fatal("a revoked key id of 5 bytes was accepted")
	}
}
