package qr

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/veraison/go-cose"

	"healthcode"
)

var algs = []string{AlgEd25519, AlgES256}

// tokenOf wraps COSE bytes as Issue does.
func tokenOf(signed []byte) string {
	return Prefix + base45Encode(zlibStored(nil, signed))
}

// coseOf unwraps a token to its COSE bytes.
func coseOf(t *testing.T, tok string) []byte {
	t.Helper()
	z, err := base45Decode(strings.TrimPrefix(tok, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := decompress(z)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// signRaw signs an arbitrary payload under arbitrary headers with s's key,
// building the Sig_structure by hand, so that tests can make tokens Issue
// never would.
func signRaw(t *testing.T, s *Signer, protected cose.ProtectedHeader, unprotected cose.UnprotectedHeader, payload []byte) string {
	t.Helper()
	h := cose.Headers{Protected: protected, Unprotected: unprotected}
	rawP, err := h.MarshalProtected()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.cose.Sign(nil, sigStructure(rawP, payload))
	if err != nil {
		t.Fatal(err)
	}
	rawU, err := h.MarshalUnprotected()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := cbor.Marshal(cbor.Tag{Number: 18, Content: []any{cbor.RawMessage(rawP), cbor.RawMessage(rawU), payload, sig}})
	if err != nil {
		t.Fatal(err)
	}
	return tokenOf(signed)
}

func claimsBytes(t *testing.T, m map[int]any) []byte {
	t.Helper()
	b, err := claimsEnc.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := testSigner(t, alg, "round trip")
			tr := trustFor(t, "410100", s)
			red := testClaims()
			red.Colour, red.MaskedName, red.Subject = healthcode.Red, "*", "p2"
			for _, want := range []*Claims{testClaims(), red} {
				tok := issue(t, s, want)
				got, err := Verify(tok, tr, t0.Add(time.Hour))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("claims (-issued +verified):\n%s", diff)
				}
			}
		})
	}
}

func TestIssueTruncatesToSeconds(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "seconds")
	c := testClaims()
	c.IssuedAt = t0.Add(999 * time.Millisecond).In(time.FixedZone("CST", 8*3600))
	got, err := Verify(issue(t, s, c), trustFor(t, "410100", s), t0)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(t0) || got.IssuedAt.Location() != time.UTC {
		t.Errorf("IssuedAt = %v, want %v in UTC", got.IssuedAt, t0)
	}
}

// TestTokenFormat pins the wire format down against independent decoders:
// compress/zlib, a generic CBOR decoder and the raw signature schemes.
func TestTokenFormat(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := testSigner(t, alg, "format")
			tok := issue(t, s, testClaims())
			if !strings.HasPrefix(tok, "HCN1:") {
				t.Fatalf("token %q lacks the prefix", tok)
			}
			if rest := strings.Trim(tok[len(Prefix):], base45Alphabet); rest != "" {
				t.Fatalf("token has characters outside the QR alphanumeric set: %q", rest)
			}
			z, err := base45Decode(tok[len(Prefix):])
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zlib.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatal(err)
			}
			var signed bytes.Buffer
			if _, err := signed.ReadFrom(zr); err != nil {
				t.Fatalf("compress/zlib cannot read the token: %v", err)
			}

			var msg struct {
				_           struct{} `cbor:",toarray"`
				Protected   []byte
				Unprotected map[int]any
				Payload     []byte
				Signature   []byte
			}
			var tag cbor.RawTag
			if err := cbor.Unmarshal(signed.Bytes(), &tag); err != nil || tag.Number != 18 {
				t.Fatalf("not a COSE_Sign1_Tagged (tag %d): %v", tag.Number, err)
			}
			if err := cbor.Unmarshal(tag.Content, &msg); err != nil {
				t.Fatal(err)
			}
			var prot map[int]any
			if err := cbor.Unmarshal(msg.Protected, &prot); err != nil {
				t.Fatal(err)
			}
			spki, err := x509.MarshalPKIXPublicKey(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(spki)
			wantAlg := map[string]int64{AlgEd25519: -8, AlgES256: -7}[alg]
			if diff := cmp.Diff(map[int]any{1: wantAlg, 4: sum[:8]}, prot); diff != "" {
				t.Errorf("protected header (-want +got):\n%s", diff)
			}
			if !bytes.Equal(s.KeyID(), sum[:8]) {
				t.Errorf("KeyID = %x, want %x", s.KeyID(), sum[:8])
			}
			if len(msg.Unprotected) != 0 {
				t.Errorf("unprotected header = %v, want empty", msg.Unprotected)
			}
			var claims map[int]any
			if err := cbor.Unmarshal(msg.Payload, &claims); err != nil {
				t.Fatal(err)
			}
			wantClaims := map[int]any{1: "410100", 2: testClaims().Subject, 4: uint64(t0.Add(24 * time.Hour).Unix()),
				6: uint64(t0.Unix()), -1: uint64(1), -2: "张*明", -3: "2022.06.1"}
			if diff := cmp.Diff(wantClaims, claims); diff != "" {
				t.Errorf("claims map (-want +got):\n%s", diff)
			}
			// Deterministic encoding: re-encoding the map gives the same bytes.
			if again := claimsBytes(t, map[int]any{1: "410100", 2: testClaims().Subject, 4: t0.Add(24 * time.Hour).Unix(),
				6: t0.Unix(), -1: 1, -2: "张*明", -3: "2022.06.1"}); !bytes.Equal(again, msg.Payload) {
				t.Errorf("payload is not in deterministic encoding:\n got %x\nwant %x", msg.Payload, again)
			}

			tbs := sigStructure(append(cborBstrHeader(len(msg.Protected)), msg.Protected...), msg.Payload)
			switch pub := s.Public().(type) {
			case ed25519.PublicKey:
				if !ed25519.Verify(pub, tbs, msg.Signature) {
					t.Error("ed25519.Verify fails on the Sig_structure")
				}
			case *ecdsa.PublicKey:
				h := sha256.Sum256(tbs)
				r, sg := new(big.Int).SetBytes(msg.Signature[:32]), new(big.Int).SetBytes(msg.Signature[32:])
				if len(msg.Signature) != 64 || !ecdsa.Verify(pub, h[:], r, sg) {
					t.Error("ecdsa.Verify fails on the Sig_structure")
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "rejects")
	other := testSigner(t, AlgEd25519, "someone else")
	ec := testSigner(t, AlgES256, "rejects")
	tr := trustFor(t, "410100", s, ec)
	tok := issue(t, s, testClaims())
	signed := coseOf(t, tok)
	good := claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1"})
	prot := cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA, cose.HeaderLabelKeyID: s.kid}

	bigPayload := zlibStored(nil, bytes.Repeat([]byte{0}, maxDecompressed+1))
	var bomb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&bomb, zlib.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()

	tests := []struct {
		name   string
		token  string
		trust  *Trust
		now    time.Time
		reason string
	}{
		{"good", tok, tr, t0, ""},
		{"good ES256", issue(t, ec, testClaims()), tr, t0, ""},
		{"empty", "", tr, t0, ReasonMalformed},
		{"no prefix", tok[len(Prefix):], tr, t0, ReasonMalformed},
		{"EU prefix", "HC1:" + tok[len(Prefix):], tr, t0, ReasonMalformed},
		{"lower case", strings.ToLower(tok), tr, t0, ReasonMalformed},
		{"prefix only", Prefix, tr, t0, ReasonMalformed},
		{"too long", Prefix + strings.Repeat("0", MaxTokenLen), tr, t0, ReasonMalformed},
		{"not zlib", Prefix + base45Encode(signed), tr, t0, ReasonMalformed},
		{"zlib trailing data", Prefix + base45Encode(append(zlibStored(nil, signed), 0)), tr, t0, ReasonMalformed},
		{"stored too large", Prefix + base45Encode(bigPayload), tr, t0, ReasonMalformed},
		{"zip bomb", Prefix + base45Encode(bomb.Bytes()), tr, t0, ReasonMalformed},
		{"not CBOR", tokenOf([]byte("hello")), tr, t0, ReasonMalformed},
		{"untagged COSE", tokenOf(signed[1:]), tr, t0, ReasonMalformed},
		{"COSE trailing data", tokenOf(append(bytes.Clone(signed), 0)), tr, t0, ReasonMalformed},
		{"unknown key", issue(t, other, testClaims()), tr, t0, ReasonUnknownKey},
		{"nil trust", tok, nil, t0, ReasonUnknownKey},
		{"empty trust", tok, NewTrust(), t0, ReasonUnknownKey},
		{"signed by another key under our kid", signRaw(t, other, prot, nil, good), tr, t0, ReasonBadSignature},
		{"alg mismatch", signRaw(t, s, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: s.kid}, nil, good), tr, t0, ReasonBadSignature},
		{"raw-signed good", signRaw(t, s, prot, nil, good), tr, t0, ""},
		{"no kid", signRaw(t, s, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA}, nil, good), tr, t0, ReasonMalformed},
		{"kid only unprotected", signRaw(t, s, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA},
			cose.UnprotectedHeader{cose.HeaderLabelKeyID: s.kid}, good), tr, t0, ReasonMalformed},
		{"unprotected header", signRaw(t, s, prot, cose.UnprotectedHeader{cose.HeaderLabelContentType: "text/plain"}, good), tr, t0, ReasonMalformed},
		{"payload not CBOR", signRaw(t, s, prot, nil, []byte("hello")), tr, t0, ReasonMalformed},
		{"payload an array", signRaw(t, s, prot, nil, []byte{0x80}), tr, t0, ReasonMalformed},
		{"payload empty", signRaw(t, s, prot, nil, []byte{}), tr, t0, ReasonMalformed},
		{"missing colour", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"missing subject", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"missing expiry", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 6: t0.Unix(), -1: 1, -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"colour 4", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 4, -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"colour 257", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 257, -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"colour as text", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: "green", -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"unknown claim", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1", 99: "x"})), tr, t0, ReasonMalformed},
		{"a log index", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410100", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1", -4: 7})), tr, t0, ReasonMalformed},
		{"bad region", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "Henan", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1"})), tr, t0, ReasonMalformed},
		{"wrong region for key", signRaw(t, s, prot, nil, claimsBytes(t, map[int]any{1: "410200", 2: "p", 4: t0.Add(time.Hour).Unix(), 6: t0.Unix(), -1: 1, -2: "*", -3: "v1"})), tr, t0, ReasonWrongRegion},
		{"key trusted for another region", tok, trustFor(t, "410200", s), t0, ReasonWrongRegion},
		{"at expiry", tok, tr, t0.Add(24 * time.Hour), ""},
		{"expired", tok, tr, t0.Add(24*time.Hour + time.Second), ReasonExpired},
		{"within clock skew", tok, tr, t0.Add(-ClockSkew), ""},
		{"not yet valid", tok, tr, t0.Add(-ClockSkew - time.Second), ReasonNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Verify(tt.token, tt.trust, tt.now)
			if got := Reason(err); got != tt.reason {
				t.Fatalf("Verify: reason %q (%v), want %q", got, err, tt.reason)
			}
			if err == nil {
				if c == nil {
					t.Fatal("Verify returned no claims and no error")
				}
				return
			}
			if code := healthcode.ErrorCode(err); code != healthcode.EINVALID {
				t.Errorf("code %q, want %q", code, healthcode.EINVALID)
			}
			timeOnly := tt.reason == ReasonExpired || tt.reason == ReasonNotYetValid
			if timeOnly && (c == nil || c.Subject != testClaims().Subject) {
				t.Errorf("claims %+v, want the token's claims beside a time error", c)
			}
			if !timeOnly && c != nil {
				t.Errorf("claims %+v returned with %v", c, err)
			}
		})
	}
}

// TestVerifyCompressed checks that a token whose zlib stream is really
// compressed, as other DCC-style encoders write it, verifies too.
func TestVerifyCompressed(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "compressed")
	c := testClaims()
	c.RuleSetVersion = strings.Repeat("2022.06.1-", 30)
	signed := coseOf(t, issue(t, s, c))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(signed)
	zw.Close()
	if z.Bytes()[2]&0x06 == 0 {
		t.Fatal("test stream is stored, not compressed")
	}
	got, err := Verify(Prefix+base45Encode(z.Bytes()), trustFor(t, "410100", s), t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	// Truncated anywhere, it fails.
	for n := range z.Len() {
		if _, err := Verify(Prefix+base45Encode(z.Bytes()[:n]), trustFor(t, "410100", s), t0); Reason(err) != ReasonMalformed {
			t.Fatalf("truncated to %d bytes: %v, want %s", n, err, ReasonMalformed)
		}
	}
}

func TestTruncated(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		s := testSigner(t, alg, "truncated")
		tr := trustFor(t, "410100", s)
		tok := issue(t, s, testClaims())
		for n := range len(tok) {
			if c, err := Verify(tok[:n], tr, t0); Reason(err) != ReasonMalformed {
				t.Fatalf("%s truncated to %d characters: %+v, %v; want %s", alg, n, c, err, ReasonMalformed)
			}
		}
	}
}

// TestBitFlips flips every bit of a token, in its text, in the zlib stream
// and in the COSE message: each change must be refused, and never panic.
func TestBitFlips(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := testSigner(t, alg, "bit flips")
			tr := trustFor(t, "410100", s)
			tok := issue(t, s, testClaims())
			z, _ := base45Decode(tok[len(Prefix):])
			signed := coseOf(t, tok)
			check := func(layer string, i int, mutated string) {
				t.Helper()
				if c, err := Verify(mutated, tr, t0); err == nil {
					t.Errorf("%s: bit %d flipped, still verifies: %+v", layer, i, c)
				}
			}
			for i := range 8 * len(tok) {
				b := []byte(tok)
				b[i/8] ^= 1 << (i % 8)
				check("text", i, string(b))
			}
			for i := range 8 * len(z) {
				b := bytes.Clone(z)
				b[i/8] ^= 1 << (i % 8)
				check("zlib", i, Prefix+base45Encode(b))
			}
			for i := range 8 * len(signed) {
				b := bytes.Clone(signed)
				b[i/8] ^= 1 << (i % 8)
				check("COSE", i, tokenOf(b))
			}
		})
	}
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "issue rejects")
	tests := []struct {
		name string
		edit func(*Claims)
	}{
		{"bad region", func(c *Claims) { c.Region = "4101" }},
		{"no subject", func(c *Claims) { c.Subject = "" }},
		{"no masked name", func(c *Claims) { c.MaskedName = "" }},
		{"invalid UTF-8 name", func(c *Claims) { c.MaskedName = "\xff" }},
		{"no colour", func(c *Claims) { c.Colour = 0 }},
		{"colour 4", func(c *Claims) { c.Colour = 4 }},
		{"no issue time", func(c *Claims) { c.IssuedAt = time.Time{} }},
		{"expires before issue", func(c *Claims) { c.Expires = c.IssuedAt.Add(-time.Second) }},
		{"expires within the issue second", func(c *Claims) { c.Expires = c.IssuedAt.Add(time.Millisecond) }},
		{"no rule set", func(c *Claims) { c.RuleSetVersion = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testClaims()
			tt.edit(c)
			tok, err := s.Issue(c)
			if healthcode.ErrorCode(err) != healthcode.EINVALID || Reason(err) != "qr.claims" {
				t.Errorf("Issue = %q, %v; want EINVALID qr.claims", tok, err)
			}
		})
	}
	if _, err := s.Issue(nil); Reason(err) != "qr.claims" {
		t.Errorf("Issue(nil) = %v, want qr.claims", err)
	}
}

func TestInflateStoredRejects(t *testing.T) {
	t.Parallel()
	good := zlibStored(nil, []byte("hello"))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"padding bit in block header", mutate(func(b []byte) []byte { b[2] |= 0x80; return b })},
		{"fixed-Huffman type", mutate(func(b []byte) []byte { b[3] ^= 1; return b })}, // breaks NLEN
		{"bad checksum", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"bad header check", mutate(func(b []byte) []byte { b[1] ^= 1; return b })},
		{"preset dictionary", []byte{0x78, 0xbb, 0x01, 0, 0, 0xff, 0xff, 0, 0, 0, 1}},
		{"not final", mutate(func(b []byte) []byte { b[2] = 0; return b })},
		{"trailing", append(bytes.Clone(good), 0)},
		{"no checksum", good[:len(good)-4]},
		{"empty", nil},
	}
	for _, tt := range tests {
		if out, err := decompress(tt.in); err == nil {
			t.Errorf("%s: decompress(%x) = %q, want an error", tt.name, tt.in, out)
		}
	}
	// Two stored blocks, and an empty final one, are fine.
	multi := []byte{0x78, 0x01, 0x00, 2, 0, 0xfd, 0xff, 'h', 'e', 0x01, 3, 0, 0xfc, 0xff, 'l', 'l', 'o'}
	multi = append(multi, good[len(good)-4:]...)
	if out, err := decompress(multi); err != nil || string(out) != "hello" {
		t.Errorf("decompress(two blocks) = %q, %v; want hello", out, err)
	}
}

// TestConcurrent issues, verifies and extends the trust list from several
// goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "concurrent")
	tr := trustFor(t, "410100", s)
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 50 {
				c := testClaims()
				c.Subject = fmt.Sprintf("p%d", g*100+i)
				var tok string
				if tok, err = s.Issue(c); err != nil {
					break
				}
				var got *Claims
				if got, err = Verify(tok, tr, t0); err != nil {
					break
				}
				if got.Subject != c.Subject {
					err = fmt.Errorf("subject %s, want %s", got.Subject, c.Subject)
					break
				}
				if g == 0 && i%10 == 0 {
					k, _ := GenerateKey(AlgEd25519)
					err = tr.Add("410200", k.Public())
				}
				_, _ = Verify(tok[:len(tok)-3], tr, t0)
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
