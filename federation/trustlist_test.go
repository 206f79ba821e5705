package federation

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/qr"
)

// TestTrustListCrossRegion: a code of region A verifies with the national
// list and names A; B's own codes name B.
func TestTrustListCrossRegion(t *testing.T) {
	t.Parallel()
	nat, natV := noteKeys(t, "national.example")
	a, b := newTestRegion(t, "410100"), newTestRegion(t, "310000")
	msg := signList(t, nat, 1, a.entry(t, "https://127.0.0.1:1"), b.entry(t, "https://127.0.0.1:2"))
	l, err := OpenTrustList(msg, note.VerifierList(natV), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*testRegion{a, b} {
		c, reg, err := l.VerifyCode(r.issue(t, "pk5ztv3xqyj3m4d2bqz7wl6fhcmxa", healthcode.Green, t0), t0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Region != r.code || reg.Code != r.code || reg.Name != "region "+r.code {
			t.Fatalf("code of %s: claims %s, region %+v", r.code, c.Region, reg)
		}
	}
	if _, err := l.Region("120000"); healthcode.ErrorDetail(err) != ReasonUnknownRegion {
		t.Fatalf("unknown region: %v", err)
	}
	// A code of a region the list does not hold does not verify.
	c := newTestRegion(t, "120000")
	if _, _, err := l.VerifyCode(c.issue(t, "pk5ztv3xqyj3m4d2bqz7wl6fhcmxa", healthcode.Green, t0), t0); qr.Reason(err) != qr.ReasonUnknownKey {
		t.Fatalf("code of a region not in the list: %v", err)
	}
}

// TestTrustListBadInput: every way a list can be wrong is a clear error.
func TestTrustListBadInput(t *testing.T) {
	t.Parallel()
	nat, natV := noteKeys(t, "national.example")
	forger := func() note.Signer {
		k := seedKey("forger")
		s, err := NodeNoteSigner("national.example", k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	a := newTestRegion(t, "410100")
	good := signList(t, nat, 1, a.entry(t, "https://127.0.0.1:1"))
	tampered := bytes.Replace(good, []byte(`"region 410100"`), []byte(`"region 410199"`), 1)
	for _, tc := range []struct {
		name string
		msg  []byte
		now  time.Time
		want string
	}{
		{"good", good, t0, ""},
		{"signed by another key of the same name", signList(t, forger, 1, a.entry(t, "https://127.0.0.1:1")), t0, ReasonTrustSignature},
		{"text changed after signing", tampered, t0, ReasonTrustSignature},
		{"no signature", good[:bytes.Index(good, []byte("\n\n"))+1], t0, ReasonTrustMalformed},
		{"expired", good, t0.Add(8 * 24 * time.Hour), ReasonTrustExpired},
		{"empty", nil, t0, ReasonTrustMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenTrustList(tc.msg, note.VerifierList(natV), tc.now)
			if healthcode.ErrorDetail(err) != tc.want {
				t.Fatalf("OpenTrustList = %v, want %q", err, tc.want)
			}
			if err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("code %s", healthcode.ErrorCode(err))
			}
		})
	}
	// Entries the parser refuses, each built from a good one.
	e := a.entry(t, "https://127.0.0.1:1")
	for _, tc := range []struct {
		name   string
		change func(r *Region)
	}{
		{"bad region code", func(r *Region) { r.Code = "999999" }},
		{"http endpoint", func(r *Region) { r.Endpoint = "http://127.0.0.1:1" }},
		{"node key not Ed25519", func(r *Region) { r.NodeKey = r.Keys[0].PublicKey + "AA" }},
		{"log key of another origin", func(r *Region) { r.LogOrigin = "other.example/log" }},
		{"kid not the key's", func(r *Region) { r.Keys[0].KID = base64.StdEncoding.EncodeToString([]byte("12345678")) }},
		{"no keys", func(r *Region) { r.Keys = nil }},
		{"key validity backwards", func(r *Region) { r.Keys[0].NotAfter = r.Keys[0].NotBefore }},
		{"revoked code not a hash", func(r *Region) { r.Keys[0].RevokedCodes = []string{"AAAA"} }},
		{"control character in name", func(r *Region) { r.Name = "a\x01" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e
			r.Keys = append([]Key(nil), e.Keys...)
			tc.change(&r)
			l := &TrustList{Serial: 1, Issued: t0, Expires: t0.Add(time.Hour), Regions: []Region{r}}
			if _, err := SignTrustList(l, nat); healthcode.ErrorDetail(err) != ReasonTrustMalformed {
				t.Fatalf("SignTrustList = %v, want %s", err, ReasonTrustMalformed)
			}
		})
	}
	dup := &TrustList{Serial: 1, Issued: t0, Expires: t0.Add(time.Hour), Regions: []Region{e, e}}
	if _, err := SignTrustList(dup, nat); healthcode.ErrorDetail(err) != ReasonTrustMalformed {
		t.Fatalf("a region listed twice: %v", err)
	}
	if _, err := ParseTrustList([]byte(`{"format":"healthcode trust list v1","serial":1,"unknown":1}`)); healthcode.ErrorDetail(err) != ReasonTrustMalformed {
		t.Fatalf("unknown field: %v", err)
	}
}

// TestCacheRevocation: a revoked key stops verifying at the next fetch (the
// kill switch), a revoked code stops while the key's other codes go on, and
// the cache refuses an older list (which would undo the revocation) and a
// second list of the same serial.
func TestCacheRevocation(t *testing.T) {
	t.Parallel()
	nat, natV := noteKeys(t, "national.example")
	a := newTestRegion(t, "410100")
	clock := healthcode.NewManualClock(t0)
	path := filepath.Join(t.TempDir(), "trust-list")
	var changes int
	c := &Cache{Path: path, National: note.VerifierList(natV), Clock: clock, OnChange: func(*TrustList) { changes++ }}
	code := a.issue(t, "pk5ztv3xqyj3m4d2bqz7wl6fhcmxa", healthcode.Red, t0)
	code2 := a.issue(t, "qk5ztv3xqyj3m4d2bqz7wl6fhcmxa", healthcode.Green, t0)
	verify := func(text string) error {
		_, _, err := c.Current().VerifyCode(text, t0.Add(time.Minute))
		return err
	}
	v1 := signList(t, nat, 1, a.entry(t, "https://127.0.0.1:1"))
	if ok, err := c.Offer(v1); !ok || err != nil {
		t.Fatalf("first list: %v %v", ok, err)
	}
	if err := verify(code); err != nil {
		t.Fatal(err)
	}
	// Serial 2 revokes the one code.
	_, h, err := qr.CodeHash(code)
	if err != nil {
		t.Fatal(err)
	}
	e := a.entry(t, "https://127.0.0.1:1")
	e.Keys[0].RevokedCodes = []string{base64.StdEncoding.EncodeToString(h)}
	if ok, err := c.Offer(signList(t, nat, 2, e)); !ok || err != nil {
		t.Fatalf("second list: %v %v", ok, err)
	}
	if err := verify(code); qr.Reason(err) != qr.ReasonCodeRevoked {
		t.Fatalf("revoked code: %v", err)
	}
	if err := verify(code2); err != nil {
		t.Fatalf("the key's other code: %v", err)
	}
	// Serial 3 revokes the key.
	revoked := t0
	e.Keys[0].Revoked = &revoked
	v3 := signList(t, nat, 3, e)
	if ok, err := c.Offer(v3); !ok || err != nil {
		t.Fatalf("third list: %v %v", ok, err)
	}
	if err := verify(code2); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("code of a revoked key: %v", err)
	}
	// The old lists are refused: the revocation stands.
	if _, err := c.Offer(v1); healthcode.ErrorDetail(err) != ReasonTrustRollback {
		t.Fatalf("rollback: %v", err)
	}
	e.Keys[0].Revoked = nil
	if _, err := c.Offer(signList(t, nat, 3, e)); healthcode.ErrorDetail(err) != ReasonTrustEquivocated {
		t.Fatalf("equivocation: %v", err)
	}
	if ok, err := c.Offer(v3); ok || err != nil {
		t.Fatalf("the same list again: %v %v", ok, err)
	}
	if err := verify(code2); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("after the refused lists: %v", err)
	}
	if changes != 3 {
		t.Fatalf("%d changes, want 3", changes)
	}
	// The cache file holds list 3; a new cache loads it.
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, v3) {
		t.Fatalf("cache file: %v", err)
	}
	var expired int
	c2 := &Cache{Path: path, National: note.VerifierList(natV), Clock: clock, OnExpire: func(*TrustList) { expired++ }}
	if err := c2.Load(); err != nil || c2.Current().Serial != 3 {
		t.Fatalf("Load: %v", err)
	}
	if c2.CheckExpiry() || expired != 0 {
		t.Fatal("a current list expired")
	}
	// An expired list is no longer current, and its holder is told once.
	clock.Advance(8 * 24 * time.Hour)
	if c2.Current() != nil {
		t.Fatal("an expired list is still current")
	}
	first, again := c2.CheckExpiry(), c2.CheckExpiry()
	if !first || !again || expired != 1 {
		t.Fatalf("expiry reported %d times", expired)
	}
	if !strings.Contains(string(v3), "revoked") {
		t.Fatal("list 3 does not say revoked")
	}
}
