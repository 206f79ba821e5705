package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

// The witness interop tests: filippo.io/torchwood, an independent
// implementation of C2SP tlog-cosignature, checks the cosignatures our
// witness makes, and our node checks the cosignatures torchwood's signer
// makes, each through the add-checkpoint protocol.

var cosignTime = time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)

// witnessSeed returns a witness's secret note key with a fixed seed, and
// the seed.
func witnessSeed(tb testing.TB, name string, seed byte) (skey string, priv ed25519.PrivateKey) {
	tb.Helper()
	skey, _, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		tb.Fatal(err)
	}
	return skey, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func TestTorchwoodAcceptsOurCosignature(t *testing.T) {
	t.Parallel()
	skey, priv := witnessSeed(t, "witness.court.example", 9)
	ours, err := NewCosignatureSigner(skey, healthcode.NewManualClock(cosignTime))
	if err != nil {
		t.Fatal(err)
	}
	tw, err := torchwood.NewCosignatureSigner("witness.court.example", priv)
	if err != nil {
		t.Fatal(err)
	}
	// The same key, written by two implementations: one public key text.
	if got, want := ours.VerifierKey(), tw.Verifier().String(); got != want {
		t.Fatalf("our cosignature key %q, torchwood's %q", got, want)
	}
	logSigner, logV, _ := fixedKey(t, testOrigin, 1)
	ws, err := NewWitnessServer(ours, filepath.Join(t.TempDir(), "state.json"), logV)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)

	m := buildLog(t, 10)
	cp := signedCheckpoint(t, m, logSigner)
	sigs, err := RequestCosignature(context.Background(), srv.URL, 0, nil, cp)
	if err != nil {
		t.Fatal(err)
	}
	cosigned := []byte(noteText(cp) + "\n" + string(sigs))
	n, err := note.Open(cosigned, note.VerifierList(logV, tw.Verifier()))
	if err != nil {
		t.Fatalf("torchwood's verifier refuses our witness's cosignature: %v\n%s", err, cosigned)
	}
	var witnessSig *note.Signature
	for i, s := range n.Sigs {
		if s.Name == "witness.court.example" {
			witnessSig = &n.Sigs[i]
		}
	}
	if witnessSig == nil {
		t.Fatalf("no cosignature by the witness verified: %+v", n.Sigs)
	}
	if ts, err := torchwood.CosignatureTimestamp(*witnessSig); err != nil || ts != cosignTime.Unix() {
		t.Errorf("torchwood reads the cosignature's time as %d (%v), want %d", ts, err, cosignTime.Unix())
	}
	// A cosignature whose timestamp is changed no longer verifies.
	raw, _ := base64.StdEncoding.DecodeString(witnessSig.Base64)
	raw[4+7] ^= 1 // the timestamp's last byte, after the key hash
	bent := &note.Note{Text: n.Text, Sigs: []note.Signature{{Name: witnessSig.Name, Hash: witnessSig.Hash, Base64: base64.StdEncoding.EncodeToString(raw)}}}
	bentMsg, err := note.Sign(bent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(bentMsg, note.VerifierList(tw.Verifier())); err == nil {
		t.Error("torchwood accepts a cosignature with a changed timestamp")
	}
}

func TestWeAcceptTorchwoodCosignature(t *testing.T) {
	t.Parallel()
	_, priv := witnessSeed(t, "witness.litewitness.example", 11)
	tw, err := torchwood.NewCosignatureSigner("witness.litewitness.example", priv)
	if err != nil {
		t.Fatal(err)
	}
	// The node is given the witness's public key as torchwood writes it.
	wv, err := ParseWitnessVerifier(tw.Verifier().String() + "\n")
	if err != nil {
		t.Fatalf("the node refuses torchwood's cosignature key: %v", err)
	}
	logSigner, logV, _ := fixedKey(t, testOrigin, 1)
	// A witness whose signatures torchwood makes, speaking add-checkpoint.
	ws, err := NewWitnessServer(tw, filepath.Join(t.TempDir(), "state.json"), logV)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)

	m := buildLog(t, 10)
	cp := signedCheckpoint(t, m, logSigner)
	sigs, err := RequestCosignature(context.Background(), srv.URL, 0, nil, cp)
	if err != nil {
		t.Fatal(err)
	}
	all := note.VerifierList(logV, wv)
	merged, err := AddCosignatures(cp, all, []byte(noteText(cp)+"\n"+string(sigs)))
	if err != nil {
		t.Fatalf("the node refuses torchwood's cosignature: %v", err)
	}
	names, err := Cosigners(merged, note.VerifierList(wv))
	if err != nil || len(names) != 1 || names[0] != "witness.litewitness.example" {
		t.Fatalf("cosigners of the merged checkpoint: %v, %v", names, err)
	}
	// The grown log: the witness checks the proof, the node the cosignature.
	for i := 10; i < 15; i++ {
		m.Append(testLeaf(t, i))
	}
	cp2 := signedCheckpoint(t, m, logSigner)
	proof, err := ConsistencyProof(10, 15, m)
	if err != nil {
		t.Fatal(err)
	}
	sigs2, err := RequestCosignature(context.Background(), srv.URL, 10, proof, cp2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AddCosignatures(cp2, all, []byte(noteText(cp2)+"\n"+string(sigs2))); err != nil {
		t.Fatalf("the node refuses torchwood's second cosignature: %v", err)
	}
	// Torchwood's cosignature of one checkpoint does not pass for another.
	if _, err := AddCosignatures(cp2, all, []byte(noteText(cp2)+"\n"+string(sigs))); err == nil {
		t.Error("the node accepts a cosignature of another checkpoint")
	}
}

func TestWitnessKeys(t *testing.T) {
	t.Parallel()
	skey, vkey, err := GenerateKey(nil, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCosignatureSigner(skey, healthcode.NewManualClock(cosignTime))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseWitnessVerifier(s.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	_, err = ParseWitnessVerifier(vkey)
	wantErr(t, err, healthcode.EINVALID, "tlog.witness_key_type")
	pub := s.VerifierKey()
	for name, bad := range map[string]string{
		"no hash":        "witness.example+" + pub[strings.LastIndex(pub, "+")+1:],
		"wrong hash":     strings.Replace(pub, pub[len("witness.example+"):len("witness.example+")+8], "00000000", 1),
		"renamed":        "witness.other" + pub[len("witness.example"):],
		"not base64":     "witness.example+01234567+!!!",
		"empty":          "",
		"short key":      "witness.example+01234567+BAAA",
		"space in name":  "witness example" + pub[len("witness.example"):],
		"unknown type 9": "witness.example+01234567+" + base64.StdEncoding.EncodeToString(append([]byte{9}, make([]byte, 32)...)),
	} {
		if _, err := ParseWitnessVerifier(bad); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("%s: ParseWitnessVerifier(%q) = %v, want EINVALID", name, bad, err)
		}
	}
	for name, bad := range map[string]string{
		"a public key":   vkey,
		"damaged hash":   strings.Replace(skey, skey[len("PRIVATE+KEY+witness.example+"):len("PRIVATE+KEY+witness.example+")+8], "00000000", 1),
		"truncated":      skey[:len(skey)-4],
		"no PRIVATE+KEY": strings.TrimPrefix(skey, "PRIVATE+KEY+"),
	} {
		if _, err := NewCosignatureSigner(bad, nil); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("%s: NewCosignatureSigner = %v, want EINVALID", name, err)
		}
	}
	// Only checkpoints are cosigned.
	if _, err := s.Sign([]byte("hello\n")); err == nil {
		t.Error("the witness signed a message that is not a checkpoint")
	}
	if s.Verifier().Verify([]byte("x\n"), make([]byte, 72)) {
		t.Error("a zero signature verified")
	}
}
