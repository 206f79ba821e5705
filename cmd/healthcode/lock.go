package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockData takes the data directory's exclusive lock: a serving node holds
// it, and sunset and purge need it, so they never run under a live node that
// keeps keys and cached codes in memory. Commands that only add (tokens,
// imports) or read (audits) do not take it: SQLite serializes them.
func lockData(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "node.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by a running node (serve or demo); stop it first", dir)
	}
	removeStrayTemps(dir) // what a killed node left half-written (stray.go)
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
