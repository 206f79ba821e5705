package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLockRemovesStrayTempFiles: taking a data directory's lock (as serve,
// demo, sunset and key rotation do at start) removes the temporary files of
// atomic replacements a killed node left (".checkpoint<digits>" beside
// "checkpoint"), and nothing else: not a file of the node's, not another
// dot-file, not a name that only looks alike.
func TestLockRemovesStrayTempFiles(t *testing.T) {
	dir := t.TempDir()
	stray := []string{".checkpoint5577006791947779410", ".trust.json8674665223082153551", ".qr-retired.json6129484611666145821", ".notes.txt42"}
	kept := []string{"checkpoint", "trust.json", "notes.txt", "hc.db", ".checkpoint", ".hidden", ".hc.db-journal", ".checkpoint12ab"}
	for _, n := range append(slices.Clone(stray), kept...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unlock, err := lockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for _, n := range stray {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s left behind (err %v)", n, err)
		}
	}
	for _, n := range kept {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
}
