package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"healthcode"
)

// TestKeyFilesOpenToOthersAreRefused: a node whose key file group or others
// may read does not start, and says which file and what to do; so does a
// witness. The database files are the owner's only.
func TestKeyFilesOpenToOthersAreRefused(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	tn.server.Close(ctx)
	tn.close()
	for _, p := range []string{tn.cfg.DB, tn.cfg.DB + "-wal", tn.cfg.DB + "-shm", filepath.Join(tn.dir, "region-keys.json"),
		filepath.Join(tn.dir, "qr-signing.pem"), filepath.Join(tn.dir, "log-signing.key")} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	for _, name := range []string{"region-keys.json", "qr-signing.pem", "log-signing.key"} {
		for _, mode := range []os.FileMode{0o640, 0o604, 0o620} {
			path := filepath.Join(tn.dir, name)
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := openNode(ctx, tn.cfg, healthcode.NewManualClock(t0), io.Discard)
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("%s with mode %#o: openNode = %v, want a refusal naming the file and chmod 600", name, mode, err)
			}
			// A cancelled context: a serve that wrongly starts stops at once.
			done, cancel := context.WithCancel(ctx)
			cancel()
			var out, errb bytes.Buffer
			if code := Run(done, []string{"serve", "--data", tn.dir, "--addr", "127.0.0.1:0"}, &out, &errb); code == exitOK || !strings.Contains(errb.String(), "chmod 600") {
				t.Errorf("serve with %s mode %#o: exit %d, %q", name, mode, code, errb.String())
			}
			os.Chmod(path, 0o600)
		}
	}
	n, err := openNode(ctx, tn.cfg, healthcode.NewManualClock(t0), io.Discard)
	if err != nil {
		t.Fatalf("with the modes restored: %v", err)
	}
	n.close()

	key := filepath.Join(t.TempDir(), "w.key")
	if code, _, errs := witnessCmd(t, "--generate-key", "witness.example", "--key", key); code != 0 {
		t.Fatal(errs)
	}
	os.Chmod(key, 0o644)
	if code, _, errs := witnessCmd(t, "--key", key, "--print-key"); code == exitOK || !strings.Contains(errs, "chmod 600") {
		t.Errorf("a witness key readable by others: exit %d, %q", code, errs)
	}
}

// TestVenueSecretsAreSealed: a venue's secret is stored sealed under the
// region key (not in the database file or its WAL in clear), and a secret an
// older node stored in clear is sealed at the next start, its codes still
// good.
func TestVenueSecretsAreSealed(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	owner := &healthcode.Principal{ID: "owner-s", Name: "便利店", Role: healthcode.RoleVenue}
	operator := &healthcode.Principal{ID: "op-s", Name: "操作员", Role: healthcode.RoleOperator, Unit: "大数据局"}
	register := func(name string) *healthcode.Venue {
		v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: name, Address: "金水路1号", Region: "410105", Category: "retail"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
			t.Fatal(err)
		}
		return v
	}
	sealedV, oldV := register("新店"), register("老店")
	stored := func(id string) []byte {
		var b []byte
		if err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
			v, err := tx.Venue(ctx, id)
			if err == nil {
				b = v.SealedSecret
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := stored(sealedV.ID); len(b) == healthcode.VenueSecretSize || bytes.Contains(b, sealedV.Secret) {
		t.Fatalf("the stored secret is in clear: %x", b)
	}
	// An older node's row: the secret in clear.
	if err := tn.db.Update(ctx, func(tx healthcode.Tx) error { return tx.SetVenueSecret(ctx, oldV.ID, oldV.Secret) }); err != nil {
		t.Fatal(err)
	}
	tn.server.Close(ctx)
	tn.close()
	n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	tn.node = n
	if b := stored(oldV.ID); len(b) == healthcode.VenueSecretSize || bytes.Contains(b, oldV.Secret) {
		t.Fatalf("the clear secret was not sealed at start: %x", b)
	}
	for _, p := range []string{tn.cfg.DB, tn.cfg.DB + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []*healthcode.Venue{sealedV, oldV} {
			if bytes.Contains(b, v.Secret) {
				t.Errorf("%s holds venue %s's secret in clear", filepath.Base(p), v.ID)
			}
		}
	}
	pseudonym, _, _ := tn.citizen(t, 5)
	citizen := &healthcode.Principal{Role: healthcode.RoleCitizen, Subject: pseudonym}
	for _, v := range []*healthcode.Venue{sealedV, oldV} {
		if c, _, err := n.engine.CheckIn(ctx, citizen, v.LiveCode(tn.clock.Now())); err != nil || !c.Verified {
			t.Errorf("venue %s: a live code after sealing: %+v, %v", v.Name, c, err)
		}
	}
	// Under another region's key the sealed secret does not open.
	other := &healthcode.Keys{Wrap: bytes.Repeat([]byte{7}, 32)}
	v := &healthcode.Venue{ID: sealedV.ID, SealedSecret: stored(sealedV.ID)}
	if err := other.OpenVenue(v); err == nil {
		t.Error("the sealed secret opened under another key")
	}
}
