package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSIGKILLCycles is the short version of `healthcode bench --faults`:
// a node in a child process takes check-ins, lab results and appeals from
// 16 clients and is killed with SIGKILL at a random moment, five times;
// then every acknowledged write is in the store, the log verifies, and the
// data directory holds only the node's own files.
func TestSIGKILLCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server process")
	}
	childFromTest(t)
	ctx := context.Background()
	fn, err := prepareFaultsNode(ctx, filepath.Join(t.TempDir(), "node"), 1000, 300)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := faultCycles(ctx, fn, 5, 16, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if f := rep.failures(); len(f) > 0 {
		t.Fatal(strings.Join(f, "; "))
	}
}
