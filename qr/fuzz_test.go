package qr

import (
	"bytes"
	"compress/zlib"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzVerify from fuzzSeeds")

// fuzzTrust trusts the fuzz keys for Zhengzhou.
func fuzzTrust(tb testing.TB) *Trust {
	return trustFor(tb, "410100", testSigner(tb, AlgEd25519, "fuzz"), testSigner(tb, AlgES256, "fuzz"))
}

// fuzzSeeds returns valid tokens of each kind and corruptions of them. The
// keys are fixed, so the tokens are the same on every run (ES256 signatures
// are randomised, so the ES256 seeds vary; the stored corpus keeps one).
func fuzzSeeds(tb testing.TB) map[string]string {
	ed := testSigner(tb, AlgEd25519, "fuzz")
	ec := testSigner(tb, AlgES256, "fuzz")
	stranger := testSigner(tb, AlgEd25519, "stranger")
	tok := issue(tb, ed, testClaims())
	old := testClaims()
	old.IssuedAt, old.Expires = t0.Add(-48*time.Hour), t0.Add(-24*time.Hour)
	future := testClaims()
	future.IssuedAt, future.Expires = t0.Add(time.Hour), t0.Add(2*time.Hour)
	beijing := testClaims()
	beijing.Region = "110000"

	z, _ := base45Decode(tok[len(Prefix):])
	signed, _ := decompress(z)
	var compressed bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&compressed, zlib.BestCompression)
	zw.Write(signed)
	zw.Close()
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 0x10
	sigFlipped := bytes.Clone(signed)
	sigFlipped[len(sigFlipped)-1] ^= 1

	return map[string]string{
		"valid_ed25519":         tok,
		"valid_es256":           issue(tb, ec, testClaims()),
		"valid_no_log_index":    issue(tb, ed, &Claims{Region: "410100", Subject: "p", MaskedName: "*", Colour: healthcode.Red, IssuedAt: t0, Expires: t0.Add(time.Minute), RuleSetVersion: "1"}),
		"expired":               issue(tb, ed, old),
		"not_yet_valid":         issue(tb, ed, future),
		"wrong_region":          issue(tb, ed, beijing),
		"unknown_key":           issue(tb, stranger, testClaims()),
		"compressed":            Prefix + base45Encode(compressed.Bytes()),
		"truncated":             tok[:len(tok)-7],
		"bit_flipped_text":      string(flipped),
		"bad_signature":         tokenOf(sigFlipped),
		"not_zlib":              Prefix + base45Encode(signed),
		"untagged":              tokenOf(signed[1:]),
		"no_prefix":             tok[len(Prefix):],
		"empty":                 "",
		"prefix_only":           Prefix,
		"dangling_base45_char":  tok + "0",
		"eu_dcc_prefix":         "HC1:" + tok[len(Prefix):],
		"stored_padding_bit":    Prefix + base45Encode(append([]byte{0x78, 0x01, 0x81}, zlibStored(nil, signed)[3:]...)),
		"stored_two_blocks_bad": Prefix + base45Encode([]byte{0x78, 0x01, 0x00, 1, 0, 0xfe, 0xff, 0xd2, 0x01, 0, 0, 0xff, 0xff, 0, 0, 0, 0}),
	}
}

// TestWriteFuzzCorpus rewrites the stored seed corpus with -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzVerify")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, tok := range fuzzSeeds(t) {
		data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", tok)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var knownReasons = map[string]bool{ReasonMalformed: true, ReasonUnknownKey: true, ReasonBadSignature: true,
	ReasonWrongRegion: true, ReasonExpired: true, ReasonNotYetValid: true, ReasonKeyRevoked: true, ReasonKeyNotValid: true, ReasonCodeRevoked: true}

// FuzzVerify feeds Verify arbitrary text. It must never panic, must fail only
// with EINVALID and a known reason, and must return only claims that are
// complete and match the key's region.
func FuzzVerify(f *testing.F) {
	for _, tok := range fuzzSeeds(f) {
		f.Add(tok)
	}
	tr := fuzzTrust(f)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Verify(text, tr, t0)
		if err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID || !knownReasons[Reason(err)] {
				t.Fatalf("Verify(%q): %v: want EINVALID with a known reason", text, err)
			}
			if r := Reason(err); (r == ReasonExpired || r == ReasonNotYetValid) != (c != nil) {
				t.Fatalf("Verify(%q): claims %+v with %v", text, c, err)
			}
			return
		}
		if verr := c.validate(); verr != nil || c.Region != "410100" {
			t.Fatalf("Verify(%q) accepted claims %+v (%v)", text, c, verr)
		}
		if !strings.HasPrefix(text, Prefix) {
			t.Fatalf("Verify accepted %q without the prefix", text)
		}
	})
}

// TestFuzzSeeds checks that each seed is what its name says.
func TestFuzzSeeds(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"valid_ed25519": "", "valid_es256": "", "valid_no_log_index": "", "compressed": "",
		"expired": ReasonExpired, "not_yet_valid": ReasonNotYetValid, "wrong_region": ReasonWrongRegion,
		"unknown_key": ReasonUnknownKey, "bad_signature": ReasonBadSignature,
	}
	tr := fuzzTrust(t)
	for name, tok := range fuzzSeeds(t) {
		wantReason, ok := want[name]
		if !ok {
			wantReason = ReasonMalformed
		}
		if _, err := Verify(tok, tr, t0); Reason(err) != wantReason {
			t.Errorf("seed %s: %v, want reason %q", name, err, wantReason)
		}
	}
}
