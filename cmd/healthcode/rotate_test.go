package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/qr"
	"healthcode/tlog"
)

// TestRotateKeysWithOverlap: after a rotation of the QR signing key, a code
// the old key signed still verifies (online and offline, the trust file
// listing both keys) until it has expired, and then the old key is dropped;
// after a rotation of the venue secrets a printed code made before is still
// accepted until the overlap ends, then refused. Each rotation is a log
// entry naming the admin.
func TestRotateKeysWithOverlap(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	_, _, citizenTok := tn.citizen(t, 1)
	pseudonym, _, _ := tn.citizen(t, 2)
	citizen := &healthcode.Principal{Role: healthcode.RoleCitizen, Subject: pseudonym}
	admin := &healthcode.Principal{ID: "admin-1", Name: "管理员 钱伟", Role: healthcode.RoleAdmin, Unit: "市卫健委"}
	owner := &healthcode.Principal{ID: "owner-r", Name: "便利店", Role: healthcode.RoleVenue}
	v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "便利店", Address: "金水路1号", Region: "410105", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, &healthcode.Principal{ID: "op", Name: "操作员", Role: healthcode.RoleOperator, Unit: "大数据局"}, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	oldCode := tn.myCode(t, citizenTok).QR
	oldPoster := v.StaticCode()
	logBefore := logSize(t, tn)

	if _, _, err := tn.engine.RotateVenueSecrets(ctx, citizen, time.Hour); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Fatalf("a citizen rotating venue secrets: %v", err)
	}
	overlap := 48 * time.Hour
	if n, _, err := tn.engine.RotateVenueSecrets(ctx, admin, overlap); err != nil || n != 1 {
		t.Fatalf("RotateVenueSecrets = %d, %v", n, err)
	}
	newKey, err := qr.GenerateKey(qr.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := rotateQRKey(ctx, tn.node, admin, newKey, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Two log entries, of type key, naming the admin.
	if got := logSize(t, tn); got != logBefore+2 {
		t.Fatalf("log grew by %d, want 2", got-logBefore)
	}
	for i := logBefore; i < logBefore+2; i++ {
		var leaf []byte
		tn.db.View(ctx, func(tx healthcode.ReadTx) error { leaf, err = tx.LogLeaf(ctx, i); return err })
		l, err := tlog.DecodeLeaf(leaf)
		if err != nil || l.Entry.Type != healthcode.LogKey || l.Entry.ActorName != admin.Name {
			t.Errorf("log entry %d: %+v, %v; want a key entry by %s", i, l, err, admin.Name)
		}
	}

	// The node restarts with the new key.
	tn.server.Close(ctx)
	tn.close()
	n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	verify := func(code string) int {
		var out, errb bytes.Buffer
		return Run(ctx, []string{"verify", "--trust", filepath.Join(tn.dir, "trust.json"), "--at", tn.clock.Now().Format(time.RFC3339), code}, &out, &errb)
	}
	trustKeys := func() int {
		b, err := os.ReadFile(filepath.Join(tn.dir, "trust.json"))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := qr.ParseTrust(b)
		if err != nil {
			t.Fatal(err)
		}
		return tr.Len()
	}
	if k := trustKeys(); k != 2 {
		t.Fatalf("the trust file lists %d keys during the overlap, want 2", k)
	}
	if _, err := n.codes.VerifyCode(oldCode, tn.clock.Now()); err != nil {
		t.Errorf("a code of the old key during the overlap: %v", err)
	}
	if code := verify(oldCode); code != exitOK {
		t.Errorf("offline verification of a code of the old key during the overlap: exit %d", code)
	}
	fresh, err := n.codes.SignCode(&healthcode.HealthCode{Region: tn.cfg.Region, Subject: pseudonym, MaskedName: "张*", Colour: healthcode.Green,
		IssuedAt: tn.clock.Now(), Expires: tn.clock.Now().Add(5 * time.Minute), RuleSetVersion: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if code := verify(fresh); code != exitOK {
		t.Errorf("offline verification of a code of the new key: exit %d", code)
	}
	// The old printed poster and the new one both check in during the overlap.
	codes := func() (live, static string) {
		_, live, static, err := n.engine.VenueCodes(ctx, owner, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		return live, static
	}
	_, newPoster := codes()
	if newPoster == oldPoster {
		t.Fatal("the venue's printed code did not change")
	}
	for name, code := range map[string]string{"old poster": oldPoster, "new poster": newPoster} {
		if _, _, err := n.engine.CheckIn(ctx, citizen, code); err != nil {
			t.Errorf("%s during the overlap: %v", name, err)
		}
	}

	// Past the old codes' expiry the old QR key is dropped; past the overlap
	// the old poster is refused.
	tn.clock.Advance(tn.cfg.QRValidity + healthcode.MaxClockSkew + time.Second)
	n.expireRetiredKeys()
	if k := trustKeys(); k != 1 {
		t.Errorf("the trust file lists %d keys after the old codes expired, want 1", k)
	}
	if _, err := n.codes.VerifyCode(oldCode, tn.clock.Now().Add(-time.Hour)); err == nil || !strings.Contains(qr.Reason(err), "key") {
		t.Errorf("a code of the dropped key: %v", err)
	}
	tn.clock.Advance(overlap)
	live, _ := codes()
	if _, _, err := n.engine.CheckIn(ctx, citizen, oldPoster); healthcode.ErrorDetail(err) != "venue.bad_mac" {
		t.Errorf("the old poster after the overlap: %v, want venue.bad_mac", err)
	}
	if c, _, err := n.engine.CheckIn(ctx, citizen, live); err != nil || !c.Verified {
		t.Errorf("a live code of the new secret: %+v, %v", c, err)
	}
}

// TestRotateKeyCommand runs the command on a stopped node's data directory.
func TestRotateKeyCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, args, &out, &errb)
		return code, out.String() + errb.String()
	}
	// The node's admins (admin init), and an operator they register.
	find := func(out, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%q not in:\n%s", re, out)
		}
		return m[1]
	}
	code, out := run("admin", "init", "--data", dir, "--unit", "信息中心", "--admin", "管理员", "--admin", "管理员 乙")
	if code != exitOK {
		t.Fatalf("admin init: %d %s", code, out)
	}
	toks := regexp.MustCompile(`token (hc_\S+)`).FindAllStringSubmatch(out, -1)
	if len(toks) != 2 {
		t.Fatalf("admin init printed %d tokens: %s", len(toks), out)
	}
	adminTok, admin2Tok := toks[0][1], toks[1][1]
	_, out = run("admin", "unit", "--data", dir, "--token", adminTok, "--name", "大数据局")
	_, out = run("admin", "official", "--data", dir, "--token", adminTok, "--name", "操作员", "--role", "operator", "--unit", find(out, `unit (u\w+)`))
	_, out = run("admin", "approve", "--data", dir, "--token", admin2Tok, find(out, `proposal (\d+)`))
	opID := find(out, `official (o\w+)`)
	run("admin", "token", "--data", dir, "--token", adminTok, "--official", opID)
	_, out = run("admin", "token", "--data", dir, "--token", admin2Tok, "--official", opID)
	opTok := find(out, `token (hc_\S+)`)
	if code, out := run("admin", "rotate-key", "--data", dir, "--token", adminTok); code != exitUsage {
		t.Errorf("rotate-key with nothing to rotate: %d %s", code, out)
	}
	if code, out := run("admin", "rotate-key", "--data", dir, "--token", opTok, "--qr"); code == exitOK || !strings.Contains(out, "admin") {
		t.Errorf("rotate-key by an operator: %d %s", code, out)
	}
	unlock, err := lockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run("admin", "rotate-key", "--data", dir, "--token", adminTok, "--qr"); code == exitOK || !strings.Contains(out, "stop it first") {
		t.Errorf("rotate-key under a running node: %d %s", code, out)
	}
	unlock()
	if code, out := run("admin", "rotate-key", "--data", dir, "--token", adminTok, "--qr", "--venue-secrets"); code != exitOK || !strings.Contains(out, "stays trusted until") {
		t.Fatalf("rotate-key: %d %s", code, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := qr.ParseTrust(b); err != nil || tr.Len() != 2 {
		t.Errorf("trust file after rotation: %v keys, %v", tr, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "qr-signing.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the new key file: %v %v", st, err)
	}
}
