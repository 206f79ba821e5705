//go:build !linux

package sqlite

// freeBytes is not measured here: only a refused write reports the disk.
func freeBytes(string) (uint64, bool) { return 0, false }
