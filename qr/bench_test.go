package qr

import (
	"crypto/ed25519"
	"flag"
	"testing"
)

// The baselines sign and verify a message as long as the token's
// Sig_structure, so that BenchmarkIssue/Ed25519 ÷ BenchmarkEd25519Sign and
// BenchmarkVerify/Ed25519 ÷ BenchmarkEd25519Verify measure what the token
// format costs on top of the signature itself.

func BenchmarkIssue(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg, func(b *testing.B) { benchIssue(b, alg) })
	}
}

func benchIssue(b *testing.B, alg string) {
	s := testSigner(b, alg, "bench")
	c := testClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg, func(b *testing.B) { benchVerify(b, alg) })
	}
}

func benchVerify(b *testing.B, alg string) {
	s := testSigner(b, alg, "bench")
	tr := trustFor(b, "410100", s)
	tok := issue(b, s, testClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(tok, tr, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// sigStructure returns the bytes a token's signature covers (RFC 9052 §4.4):
// ["Signature1", protected, h”, payload].
func sigStructure(rawProtected, payload []byte) []byte {
	tbs := []byte{0x84, 0x6a}
	tbs = append(tbs, "Signature1"...)
	tbs = append(tbs, rawProtected...)
	tbs = append(tbs, 0x40)
	tbs = append(tbs, cborBstrHeader(len(payload))...)
	return append(tbs, payload...)
}

// benchMessage is the Sig_structure of the benchmark token.
func benchMessage(b *testing.B) []byte {
	s := testSigner(b, AlgEd25519, "bench")
	payload, err := testClaims().marshal()
	if err != nil {
		b.Fatal(err)
	}
	return sigStructure(s.rawProtected, payload)
}

func cborBstrHeader(n int) []byte {
	switch {
	case n < 24:
		return []byte{0x40 | byte(n)}
	case n < 256:
		return []byte{0x58, byte(n)}
	}
	return []byte{0x59, byte(n >> 8), byte(n)}
}

func BenchmarkEd25519Sign(b *testing.B) {
	k := testKey(b, AlgEd25519, "bench").(ed25519.PrivateKey)
	msg := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(k, msg)
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	k := testKey(b, AlgEd25519, "bench").(ed25519.PrivateKey)
	msg := benchMessage(b)
	sig := ed25519.Sign(k, msg)
	pub := k.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

var ratios = flag.Bool("ratios", false, "measure Issue and Verify against raw Ed25519 (go test -run TestRatios -ratios ./qr)")

// TestRatios reports Issue ÷ ed25519.Sign and Verify ÷ ed25519.Verify
// throughput. The pairs run alternately and each keeps its fastest round, so
// that other load on a shared machine skews both sides alike.
func TestRatios(t *testing.T) {
	if !*ratios {
		t.Skip("run with -ratios")
	}
	best := func(f func(*testing.B), cur float64) float64 {
		ns := float64(testing.Benchmark(f).NsPerOp())
		if cur == 0 || ns < cur {
			return ns
		}
		return cur
	}
	var issue, sign, verify, raw float64
	for range 5 {
		issue = best(func(b *testing.B) { benchIssue(b, AlgEd25519) }, issue)
		sign = best(BenchmarkEd25519Sign, sign)
		verify = best(func(b *testing.B) { benchVerify(b, AlgEd25519) }, verify)
		raw = best(BenchmarkEd25519Verify, raw)
	}
	t.Logf("Issue %.1f µs, ed25519.Sign %.1f µs: issue throughput = %.2f × raw sign (target ≥ 0.70)", issue/1e3, sign/1e3, sign/issue)
	t.Logf("Verify %.1f µs, ed25519.Verify %.1f µs: verify throughput = %.2f × raw verify (target ≥ 0.80)", verify/1e3, raw/1e3, raw/verify)
}
