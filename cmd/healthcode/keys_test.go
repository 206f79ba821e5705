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
