package qr

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"healthcode"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			k, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			pemBytes, err := MarshalPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("not a PKCS#8 PEM block:\n%s", pemBytes)
			}
			back, err := ParsePrivateKey(pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			s1, err := NewSigner(k)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := NewSigner(back)
			if err != nil {
				t.Fatal(err)
			}
			if s1.Alg() != alg || !bytes.Equal(s1.KeyID(), s2.KeyID()) {
				t.Errorf("alg %s kid %x, after PEM kid %x; want %s and equal kids", s1.Alg(), s1.KeyID(), s2.KeyID(), alg)
			}
			// A token from the parsed key verifies under the original public key.
			tok := issue(t, s2, testClaims())
			if _, err := Verify(tok, trustFor(t, "410100", s1), t0); err != nil {
				t.Errorf("Verify: %v", err)
			}
			// KeyID returns a copy.
			s1.KeyID()[0] ^= 1
			if !bytes.Equal(s1.KeyID(), s2.KeyID()) {
				t.Error("KeyID exposes the signer's own slice")
			}
		})
	}
	if k1, k2 := generate(t, AlgEd25519), generate(t, AlgEd25519); bytes.Equal(mustKID(t, k1), mustKID(t, k2)) {
		t.Error("two generated keys share a key id")
	}
}

func generate(t *testing.T, alg string) *Signer {
	t.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustKID(t *testing.T, s *Signer) []byte {
	t.Helper()
	kid, err := KeyID(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

func TestKeysReject(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey("RS256"); Reason(err) != "qr.alg" {
		t.Errorf("GenerateKey(RS256) = %v, want qr.alg", err)
	}
	if _, err := NewSigner(p384); Reason(err) != "qr.key" {
		t.Errorf("NewSigner(P-384) = %v, want qr.key", err)
	}
	if _, err := NewSigner(rsaKey); Reason(err) != "qr.key" {
		t.Errorf("NewSigner(RSA) = %v, want qr.key", err)
	}
	if _, err := NewSigner(nil); Reason(err) != "qr.key" {
		t.Errorf("NewSigner(nil) = %v, want qr.key", err)
	}
	if _, err := MarshalPrivateKey(p384); Reason(err) != "qr.key" {
		t.Errorf("MarshalPrivateKey(P-384) = %v, want qr.key", err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not PEM":   []byte("hello"),
		"P-384":     pkcs8(p384),
		"RSA":       pkcs8(rsaKey),
		"SEC 1 PEM": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"bad DER":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if k, err := ParsePrivateKey(b); healthcode.ErrorCode(err) != healthcode.EINVALID || Reason(err) != "qr.key" {
			t.Errorf("ParsePrivateKey(%s) = %T, %v; want EINVALID qr.key", name, k, err)
		}
	}
}

func TestTrust(t *testing.T) {
	t.Parallel()
	ed := testSigner(t, AlgEd25519, "trust")
	ec := testSigner(t, AlgES256, "trust")
	tr := NewTrust()
	for _, add := range []struct {
		region string
		s      *Signer
	}{{"410100", ed}, {"110000", ec}, {"410100", ed}} { // the repeat is a no-op
		if err := tr.Add(add.region, add.s.Public()); err != nil {
			t.Fatalf("Add(%s): %v", add.region, err)
		}
	}
	if tr.Len() != 2 {
		t.Errorf("Len = %d, want 2", tr.Len())
	}
	b, err := tr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	spki := func(s *Signer) string {
		der, err := x509.MarshalPKIXPublicKey(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(der)
	}
	want := `{
  "keys": [
    {
      "kid": "` + base64.StdEncoding.EncodeToString(ec.KeyID()) + `",
      "region": "110000",
      "alg": "ES256",
      "public_key": "` + spki(ec) + `"
    },
    {
      "kid": "` + base64.StdEncoding.EncodeToString(ed.KeyID()) + `",
      "region": "410100",
      "alg": "Ed25519",
      "public_key": "` + spki(ed) + `"
    }
  ]
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
	parsed, err := ParseTrust(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parsed.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), string(again)); diff != "" {
		t.Errorf("Marshal after ParseTrust (-before +after):\n%s", diff)
	}
	// The parsed list verifies what the signers issue, each for its region.
	if _, err := Verify(issue(t, ed, testClaims()), parsed, t0); err != nil {
		t.Errorf("Verify Ed25519 with parsed trust: %v", err)
	}
	bj := testClaims()
	bj.Region = "110000"
	if _, err := Verify(issue(t, ec, bj), parsed, t0); err != nil {
		t.Errorf("Verify ES256 with parsed trust: %v", err)
	}
	if _, err := Verify(issue(t, ec, testClaims()), parsed, t0); Reason(err) != ReasonWrongRegion {
		t.Errorf("Beijing key signing for Zhengzhou: %v, want %s", err, ReasonWrongRegion)
	}

	if err := tr.Add("410200", ed.Public()); healthcode.ErrorCode(err) != healthcode.ECONFLICT || Reason(err) != "qr.kid_conflict" {
		t.Errorf("Add(same key, other region) = %v, want ECONFLICT qr.kid_conflict", err)
	}
	if err := tr.Add("4101", generate(t, AlgEd25519).Public()); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("Add(bad region) = %v, want EINVALID", err)
	}
	var zero Trust
	if err := zero.Add("410100", ed.Public()); err != nil || zero.Len() != 1 {
		t.Errorf("zero Trust: Add = %v, Len = %d", err, zero.Len())
	}
	if b, err := NewTrust().Marshal(); err != nil || string(b) != "{\n  \"keys\": []\n}\n" {
		t.Errorf("empty Marshal = %q, %v", b, err)
	}
}

func TestParseTrustRejects(t *testing.T) {
	t.Parallel()
	ed := testSigner(t, AlgEd25519, "trust rejects")
	der, err := x509.MarshalPKIXPublicKey(ed.Public())
	if err != nil {
		t.Fatal(err)
	}
	kid := base64.StdEncoding.EncodeToString(ed.KeyID())
	pub := base64.StdEncoding.EncodeToString(der)
	entry := func(kid, region, alg, pub string) string {
		return `{"kid":"` + kid + `","region":"` + region + `","alg":"` + alg + `","public_key":"` + pub + `"}`
	}
	good := entry(kid, "410100", "Ed25519", pub)
	if _, err := ParseTrust([]byte(`{"keys":[` + good + `]}`)); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	rsaKID, _ := KeyID(&rsaKey.PublicKey)
	for name, in := range map[string]string{
		"empty":         ``,
		"not JSON":      `keys`,
		"array":         `[]`,
		"unknown field": `{"keys":[],"signature":"x"}`,
		"entry field":   `{"keys":[{"kid":"` + kid + `","region":"410100","alg":"Ed25519","public_key":"` + pub + `","endpoint":"x"}]}`,
		"trailing":      `{"keys":[]} {}`,
		"wrong kid":     `{"keys":[` + entry(base64.StdEncoding.EncodeToString([]byte("12345678")), "410100", "Ed25519", pub) + `]}`,
		"kid not b64":   `{"keys":[` + entry("!!", "410100", "Ed25519", pub) + `]}`,
		"wrong alg":     `{"keys":[` + entry(kid, "410100", "ES256", pub) + `]}`,
		"bad region":    `{"keys":[` + entry(kid, "41010", "Ed25519", pub) + `]}`,
		"key not b64":   `{"keys":[` + entry(kid, "410100", "Ed25519", "!!") + `]}`,
		"key not DER":   `{"keys":[` + entry(kid, "410100", "Ed25519", "AAAA") + `]}`,
		"RSA key": `{"keys":[` + entry(base64.StdEncoding.EncodeToString(rsaKID), "410100", "RS256",
			base64.StdEncoding.EncodeToString(rsaDER)) + `]}`,
		"duplicate": `{"keys":[` + good + `,` + strings.Replace(good, "410100", "410200", 1) + `]}`,
	} {
		if tr, err := ParseTrust([]byte(in)); healthcode.ErrorCode(err) != healthcode.EINVALID || Reason(err) != "qr.trust" {
			t.Errorf("ParseTrust(%s) = %v, %v; want EINVALID qr.trust", name, tr, err)
		}
	}
}

// FuzzParseTrust: a trust list comes from a file or a peer; whatever parses
// must marshal and parse back to the same bytes.
func FuzzParseTrust(f *testing.F) {
	tr := NewTrust()
	ed, err := NewSigner(testKey(f, AlgEd25519, "fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	ec, err := NewSigner(testKey(f, AlgES256, "fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	tr.Add("410100", ed.Public())
	tr.Add("110000", ec.Public())
	b, err := tr.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kid":"","region":"","alg":"","public_key":""}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := ParseTrust(in)
		if err != nil {
			return
		}
		out, err := tr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		tr2, err := ParseTrust(out)
		if err != nil {
			t.Fatalf("ParseTrust(Marshal()) = %v", err)
		}
		out2, err := tr2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable: %q vs %q (%v)", out, out2, err)
		}
	})
}
