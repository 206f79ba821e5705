package main

import (
	"strings"
	"testing"
)

// TestSunsetRefusesALiveNode: while a node holds the data directory, sunset
// and purge refuse to run (and a second serve or demo too).
func TestSunsetRefusesALiveNode(t *testing.T) {
	dir := t.TempDir()
	// A node (it has a database), then something holding it.
	if code, out, errs := runCmd(t, "admin", "init", "--data", dir, "--unit", "x", "--admin", "a", "--admin", "b"); code != exitOK {
		t.Fatalf("admin init: exit %d\n%s%s", code, out, errs)
	}
	unlock, err := lockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for _, args := range [][]string{
		{"sunset", "--data", dir, "--token", "hc_x", "--yes"},
		{"purge", "--data", dir},
		{"serve", "--data", dir, "--addr", "127.0.0.1:0"},
	} {
		code, _, errs := runCmd(t, args...)
		if code != exitError || !strings.Contains(errs, "in use by a running node") {
			t.Errorf("%s under a live node: exit %d: %s", args[0], code, errs)
		}
	}
	unlock()
	if u, err := lockData(dir); err != nil {
		t.Errorf("the lock is not released: %v", err)
	} else {
		u()
	}
}
