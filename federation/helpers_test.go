package federation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/qr"
)

// t0 is the time of every test.
var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// seedKey returns a fixed Ed25519 key named by name, so that lists and the
// fuzz corpus are reproducible.
func seedKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// noteKeys returns a fixed note signer and verifier named name.
func noteKeys(tb testing.TB, name string) (note.Signer, note.Verifier) {
	tb.Helper()
	k := seedKey("note:" + name)
	vkey, err := note.NewEd25519VerifierKey(name, k.Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NodeNoteSigner(name, k)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v
}

// testRegion is one region's keys.
type testRegion struct {
	code   string
	qr     *qr.Signer
	node   ed25519.PrivateKey
	logKey note.Signer
	logVer note.Verifier
}

func newTestRegion(tb testing.TB, code string) *testRegion {
	tb.Helper()
	s, err := qr.NewSigner(seedKey("qr:" + code))
	if err != nil {
		tb.Fatal(err)
	}
	ls, lv := noteKeys(tb, "log.region"+code+".example")
	return &testRegion{code: code, qr: s, node: seedKey("node:" + code), logKey: ls, logVer: lv}
}

// entry returns the region's trust-list entry, its key valid around t0.
func (r *testRegion) entry(tb testing.TB, endpoint string) Region {
	tb.Helper()
	spki, err := x509.MarshalPKIXPublicKey(r.qr.Public())
	if err != nil {
		tb.Fatal(err)
	}
	nk, err := NodeKeyString(r.node.Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	vkey, err := note.NewEd25519VerifierKey(r.logVer.Name(), seedKey("note:"+r.logVer.Name()).Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	return Region{Code: r.code, Name: "region " + r.code, Endpoint: endpoint, NodeKey: nk,
		LogOrigin: r.logVer.Name(), LogKey: vkey,
		Keys: []Key{{KID: base64.StdEncoding.EncodeToString(r.qr.KeyID()), Alg: r.qr.Alg(),
			PublicKey: base64.StdEncoding.EncodeToString(spki), NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(30 * 24 * time.Hour)}}}
}

// issue issues a QR of the region for subject at t.
func (r *testRegion) issue(tb testing.TB, subject string, colour healthcode.Colour, t time.Time) string {
	tb.Helper()
	tok, err := r.qr.Issue(&qr.Claims{Region: r.code, Subject: subject, MaskedName: "张*明", Colour: colour,
		IssuedAt: t, Expires: t.Add(5 * time.Minute), RuleSetVersion: "2026.1"})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// signList signs a list of the regions' entries with the national key.
func signList(tb testing.TB, national note.Signer, serial int64, regions ...Region) []byte {
	tb.Helper()
	l := &TrustList{Serial: serial, Issued: t0.Add(-time.Hour), Expires: t0.Add(7 * 24 * time.Hour), Regions: regions}
	msg, err := SignTrustList(l, national)
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}
