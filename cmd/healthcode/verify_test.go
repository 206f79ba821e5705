package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/qr"
)

// TestVerifyCommandExitCodes: each reason a code is refused has its own
// exit code and a message naming it.
func TestVerifyCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	key, _ := qr.GenerateKey(qr.AlgEd25519)
	svc, err := qr.NewService(key, "410100")
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "trust.json")
	os.WriteFile(trust, svc.TrustList(), 0o644)
	other, _ := qr.GenerateKey(qr.AlgES256)
	otherSvc, _ := qr.NewService(other, "410100")
	code := func(s *qr.Service) string {
		text, err := s.SignCode(&healthcode.HealthCode{Region: "410100", Subject: "pabcdefghijklmnopqrstuvwx", MaskedName: "张*明",
			Colour: healthcode.Yellow, IssuedAt: t0, Expires: t0.Add(5 * time.Minute), RuleSetVersion: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	good := code(svc)
	// A bad signature needs a re-encoded token (zlib's checksum catches a
	// flipped character first): the qr package's own tests make those; the
	// exit code for it is the same table lookup as for the others.
	at := t0.Add(time.Minute).Format(time.RFC3339)
	for _, tt := range []struct {
		name, code, at string
		exit           int
		want           string
	}{
		{"valid", good, at, 0, "VALID YELLOW"},
		{"malformed", "HCN1:not base45!", at, 4, "qr.malformed"},
		{"truncated", good[:len(good)/2], at, 4, "qr.malformed"},
		{"unknown key", code(otherSvc), at, 5, "qr.unknown_key"},
		{"expired", good, t0.Add(time.Hour).Format(time.RFC3339), 7, "qr.expired"},
		{"not yet valid", good, t0.Add(-time.Hour).Format(time.RFC3339), 8, "qr.not_yet_valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exit, out, errs := runCmd(t, "verify", "--trust", trust, "--at", tt.at, tt.code)
			if exit != tt.exit || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", exit, tt.exit, tt.want, out, errs)
			}
		})
	}
	if exit, _, _ := runCmd(t, "verify", good); exit != exitUsage {
		t.Errorf("verify without a trust file: exit %d, want %d", exit, exitUsage)
	}
	if exit, _, _ := runCmd(t, "verify", "--trust", filepath.Join(dir, "none.json"), good); exit != exitError {
		t.Errorf("verify with a missing trust file: exit %d, want %d", exit, exitError)
	}
}
