package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz from the seeds")

// trustSeeds are trust lists, good and bad, signed by the fuzz national key.
func trustSeeds(tb testing.TB) map[string][]byte {
	nat, _ := noteKeys(tb, "national.example")
	a, b := newTestRegion(tb, "410100"), newTestRegion(tb, "310000")
	ea, eb := a.entry(tb, "https://127.0.0.1:1"), b.entry(tb, "https://127.0.0.1:2")
	good := signList(tb, nat, 1, ea, eb)
	revoked := ea
	revoked.Keys = append([]Key(nil), ea.Keys...)
	r := t0
	revoked.Keys[0].Revoked = &r
	revoked.Keys[0].RevokedCodes = []string{base64.StdEncoding.EncodeToString(make([]byte, 16))}
	text := good[:bytes.Index(good, []byte("\n\n"))+1]
	return map[string][]byte{
		"good":           good,
		"revoked":        signList(tb, nat, 2, revoked, eb),
		"tampered":       bytes.Replace(good, []byte("310000"), []byte("310100"), 1),
		"unsigned":       text,
		"empty":          nil,
		"json_only":      []byte(`{"format":"healthcode trust list v1","serial":1}` + "\n"),
		"two_signatures": append(append([]byte(nil), good...), good[bytes.Index(good, []byte("\n\n"))+2:]...),
	}
}

// answerSeeds are status answers signed by the fuzz node key of 410100.
func answerSeeds(tb testing.TB) map[string][]byte {
	a := newTestRegion(tb, "410100")
	s, err := NodeNoteSigner(NodeNoteName(a.code), a.node)
	if err != nil {
		tb.Fatal(err)
	}
	log := newMemLog(a)
	i := log.decide(tb, healthcode.LogDecision, caseSubj, healthcode.Red, "confirmed_case")
	receipt, err := log.Receipt(context.Background(), caseSubj, i)
	if err != nil {
		tb.Fatal(err)
	}
	ans := func(change func(*Answer)) []byte {
		x := &Answer{From: a.code, To: "370100", Nonce: base64.StdEncoding.EncodeToString(make([]byte, nonceLen)), Subject: caseSubj,
			Colour: "red", Reason: "confirmed_case", LogIndex: i, Answered: t0, Receipt: base64.StdEncoding.EncodeToString(receipt)}
		if change != nil {
			change(x)
		}
		msg, err := signAnswer(x, s)
		if err != nil {
			tb.Fatal(err)
		}
		return msg
	}
	good := ans(nil)
	return map[string][]byte{
		"good":       good,
		"green":      ans(func(x *Answer) { x.Colour, x.Reason, x.LogIndex, x.Receipt = "green", "none", -1, "" }),
		"bad_colour": ans(func(x *Answer) { x.Colour = "purple" }),
		"tampered":   bytes.Replace(good, []byte("confirmed_case"), []byte("close_contact!"), 1),
		"empty":      nil,
		"not_a_note": []byte("{}\n"),
	}
}

// TestWriteFuzzCorpus rewrites the stored seed corpus with -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	for name, seeds := range map[string]map[string][]byte{"FuzzOpenTrustList": trustSeeds(t), "FuzzOpenAnswer": answerSeeds(t)} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for seed, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, seed), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var trustReasons = map[string]bool{ReasonTrustMalformed: true, ReasonTrustSignature: true, ReasonTrustExpired: true}

// FuzzOpenTrustList feeds OpenTrustList arbitrary bytes: it never panics,
// fails only with EINVALID and a trust-list reason, and a list it accepts
// is signed by the national key, unexpired, and its every region usable.
func FuzzOpenTrustList(f *testing.F) {
	for _, s := range trustSeeds(f) {
		f.Add(s)
	}
	_, natV := noteKeys(f, "national.example")
	f.Fuzz(func(t *testing.T, msg []byte) {
		l, err := OpenTrustList(msg, note.VerifierList(natV), t0)
		if err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID || !trustReasons[healthcode.ErrorDetail(err)] || l != nil {
				t.Fatalf("OpenTrustList: %v", err)
			}
			return
		}
		if !bytes.HasPrefix(msg, []byte("{")) || l.QRTrust() == nil || t0.After(l.Expires) {
			t.Fatalf("accepted %q", msg)
		}
		for i := range l.Regions {
			r := &l.Regions[i]
			if got, err := l.Region(r.Code); err != nil || got != r || r.NodePublicKey() == nil || r.LogVerifier() == nil {
				t.Fatalf("region %s: %v", r.Code, err)
			}
		}
	})
}

var answerReasons = map[string]bool{ReasonAnswerMalformed: true, ReasonAnswerSignature: true}

// FuzzOpenAnswer feeds OpenAnswer arbitrary bytes: it never panics, fails
// only with EINVALID and an answer reason, and an answer it accepts is
// complete.
func FuzzOpenAnswer(f *testing.F) {
	for _, s := range answerSeeds(f) {
		f.Add(s)
	}
	a := newTestRegion(f, "410100")
	v, err := nodeNoteVerifier(a.code, a.node.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ans, err := OpenAnswer(msg, v)
		if err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID || !answerReasons[healthcode.ErrorDetail(err)] || ans != nil {
				t.Fatalf("OpenAnswer: %v", err)
			}
			return
		}
		if ans.From == "" || ans.Subject == "" || ans.Answered.IsZero() || (ans.LogIndex >= 0) != (ans.Receipt != "") {
			t.Fatalf("accepted %+v", ans)
		}
	})
}
