package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"healthcode"
	"healthcode/qr"

	"github.com/google/renameio/v2"
)

const rotateUsage = `usage: healthcode admin rotate-key --token ADMIN [--qr] [--venue-secrets] [flags]

Rotates the node's keys, with the node stopped, each rotation a log entry naming
the admin:

  --qr             a new QR signing key (DATA/qr-signing.pem) signs codes from now
                   on; the old private key is not kept, its public half stays in
                   the trust file (DATA/trust.json, /api/v1/trust) and verification
                   until every code it signed has expired (--qr-validity plus the
                   clock skew allowed), listed in DATA/qr-retired.json.
  --venue-secrets  every venue gets a new secret; its old one (printed posters)
                   stays accepted for --overlap while the posters are reprinted.

flags:`

// retiredPath is the file of QR signing keys a rotation retired.
func retiredPath(dataDir string) string { return filepath.Join(dataDir, "qr-retired.json") }

// readRetired reads the retired QR keys (none if the file does not exist).
func readRetired(dataDir string) ([]qr.RetiredKey, error) {
	b, err := os.ReadFile(retiredPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return qr.ParseRetired(b)
}

// writeFileReplacing writes b to path through a temporary file and a rename,
// so that path holds either the old or the new content.
func writeFileReplacing(path string, b []byte, mode os.FileMode) error {
	return renameio.WriteFile(path, b, mode, renameio.WithStaticPermissions(mode))
}

func runRotateKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fset := flag.NewFlagSet("admin rotate-key", flag.ContinueOnError)
	cfg.register(fset)
	token := fset.String("token", "", "an admin's bearer token (required)")
	rotateQR := fset.Bool("qr", false, "rotate the QR signing key")
	rotateVenues := fset.Bool("venue-secrets", false, "rotate every venue's secret")
	overlap := fset.Duration("overlap", 7*24*time.Hour, "how long a venue's old secret stays accepted")
	alg := fset.String("alg", qr.AlgEd25519, "algorithm of the new QR signing key: Ed25519 or ES256")
	fset.Usage = func() {
		fmt.Fprintln(stderr, rotateUsage)
		fset.PrintDefaults()
	}
	if code, ok := parseFlags(fset, args, stderr); !ok {
		return code
	}
	if *token == "" || fset.NArg() != 0 || (!*rotateQR && !*rotateVenues) {
		fset.Usage()
		return exitUsage
	}
	if err := cfg.finishNodeConfig(fset, "admin rotate-key", stderr); err != nil {
		return fail(stderr, "rotate-key", err)
	}
	newKey, err := qr.GenerateKey(*alg)
	if err != nil {
		return fail(stderr, "rotate-key", err)
	}
	if err := requireNode(cfg); err != nil {
		return fail(stderr, "rotate-key", err)
	}
	// A live node keeps its keys in memory: it must be stopped.
	unlock, err := lockData(cfg.DataDir)
	if err != nil {
		return fail(stderr, "rotate-key", err)
	}
	defer unlock()
	clock := healthcode.SystemClock{}
	n, err := openNode(ctx, cfg, clock, stderr)
	if err != nil {
		return fail(stderr, "rotate-key", err)
	}
	defer n.close()
	actor, err := n.engine.Authenticate(ctx, *token)
	if err != nil {
		return fail(stderr, "rotate-key", err)
	}
	if actor.Role != healthcode.RoleAdmin {
		return fail(stderr, "rotate-key", healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an admin rotates keys"))
	}
	if *rotateVenues {
		count, index, err := n.engine.RotateVenueSecrets(ctx, actor, *overlap)
		if err != nil {
			return fail(stderr, "rotate-key", err)
		}
		fmt.Fprintf(stdout, "venue secrets: %d venues have a new secret; the old ones are accepted until %s (log entry %d)\n",
			count, clock.Now().Add(*overlap).UTC().Format(time.RFC3339), index)
	}
	if *rotateQR {
		if err := rotateQRKey(ctx, n, actor, newKey, stdout); err != nil {
			return fail(stderr, "rotate-key", err)
		}
	}
	return exitOK
}

// rotateQRKey replaces the node's QR signing key by key: the old public key
// goes to the retired list until the last code it signed has expired, the
// rotation is logged, and the trust file lists both.
func rotateQRKey(ctx context.Context, n *node, actor *healthcode.Principal, key crypto.Signer, stdout io.Writer) error {
	dir := n.cfg.DataDir
	keyPath := filepath.Join(dir, "qr-signing.pem")
	oldPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	oldKey, err := qr.ParsePrivateKey(oldPEM)
	if err != nil {
		return err
	}
	oldSigner, err := qr.NewSigner(oldKey)
	if err != nil {
		return err
	}
	newSigner, err := qr.NewSigner(key)
	if err != nil {
		return err
	}
	newPEM, err := qr.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	now := n.engine.Clock.Now()
	until := now.Add(n.cfg.QRValidity + healthcode.MaxClockSkew)
	retired, err := readRetired(dir)
	if err != nil {
		return err
	}
	kept := retired[:0]
	for _, r := range retired {
		if r.Until.After(now) {
			kept = append(kept, r)
		}
	}
	old, err := qr.Retire(oldSigner, until)
	if err != nil {
		return err
	}
	retiredJSON, err := json.MarshalIndent(append(kept, old), "", "  ")
	if err != nil {
		return err
	}
	newKID := base64.StdEncoding.EncodeToString(newSigner.KeyID())
	index, err := n.engine.LogKeyRotation(ctx, actor, fmt.Sprintf("qr key %s replaces %s, which stays trusted until %s",
		newKID, old.KID, until.UTC().Format(time.RFC3339)))
	if err != nil {
		return err
	}
	// The retired list first: a crash before the key is replaced leaves the
	// old key current and also listed, which trusts nothing new.
	if err := writeFileReplacing(retiredPath(dir), append(retiredJSON, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeFileReplacing(keyPath, newPEM, 0o600); err != nil {
		return err
	}
	svc, err := qr.NewServiceWithRetired(newSigner, n.cfg.Region, append(kept, old), now)
	if err != nil {
		return err
	}
	if err := writeFileReplacing(filepath.Join(dir, "trust.json"), svc.TrustList(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "QR signing key: %s signs from now on; %s stays trusted until %s (log entry %d); trust file %s lists both\n",
		newKID, old.KID, until.UTC().Format(time.RFC3339), index, filepath.Join(dir, "trust.json"))
	return nil
}
