package main

import (
	"os"
	"path/filepath"
	"strings"
)

// A file the node replaces atomically (the checkpoint, the trust list, the
// retired keys; github.com/google/renameio/v2) is first written to a
// temporary file beside it, ".<name><digits>", then renamed over it. A
// process killed between the two leaves the temporary file behind: an
// incomplete copy of something the directory holds whole, never anything
// else. removeStrayTemps deletes those of dir, and is called only with the
// directory's lock held (lockData), when no other process of ours can be
// writing one.

// replacedFiles are the names written by replacement in a data directory,
// whether or not they exist yet.
var replacedFiles = []string{"checkpoint", "trust.json", "qr-retired.json", "qr-signing.pem", "region-keys.json"}

// removeStrayTemps removes dir's temporary files of atomic replacements of
// the files in names or in dir, and returns the names removed.
func removeStrayTemps(dir string, names ...string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	known := map[string]bool{}
	for _, n := range append(names, replacedFiles...) {
		known[n] = true
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() {
			known[e.Name()] = true
		}
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") {
			continue
		}
		base := strings.TrimRight(name[1:], "0123456789")
		if len(base) == len(name)-1 || !known[base] {
			continue
		}
		if os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}
