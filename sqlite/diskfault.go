package sqlite

import (
	"errors"
	"path/filepath"
	"time"

	"healthcode"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// A write the disk refuses (full, read-only, failing) is not the caller's
// fault nor a bug: the request is answered EUNAVAILABLE with a Retry-After,
// nothing of it is committed (SQLite rolls the transaction back), reads go
// on, and WriteProblem says so until a write commits again.

// diskRetryAfter is how soon a client is told to retry a write the disk
// refused: long enough for an operator's alert to be acted on, short enough
// that a freed disk is used again soon.
const diskRetryAfter = 30 * time.Second

// LowDiskBytes is the free space below which WriteProblem reports the disk
// as nearly full before a write has failed on it.
var LowDiskBytes uint64 = 64 << 20

type diskFault struct {
	err error
	at  time.Time
}

// diskError classifies err: a refusal of the disk becomes EUNAVAILABLE with
// a stable detail and a Retry-After; anything else is returned as it is.
func diskError(err error) error {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	var detail, what string
	switch se.Code() & 0xff {
	case sqlite3lib.SQLITE_FULL:
		detail, what = "store.disk_full", "the node's disk is full"
	case sqlite3lib.SQLITE_READONLY:
		detail, what = "store.read_only", "the node's disk is read-only"
	case sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_CANTOPEN:
		detail, what = "store.io_error", "the node's disk fails to write"
	default:
		return err
	}
	e := healthcode.Errorfd(healthcode.EUNAVAILABLE, detail, "%s: nothing was written; try again later", what)
	e.RetryAfter = diskRetryAfter
	return e
}

// noteWrite records how a write transaction ended: a refusal of the disk
// is kept for WriteProblem, a commit clears it. It returns err, classified.
func (db *DB) noteWrite(err error) error {
	if err == nil {
		db.fault.Store(nil)
		return nil
	}
	c := diskError(err)
	if c != err {
		db.fault.Store(&diskFault{err: c, at: time.Now()})
	}
	return c
}

// WriteProblem says why the store cannot take writes now: the disk refused
// the last write (until one commits: a client's, or the probe it starts,
// diskprobe.go), or the volume has less than
// LowDiskBytes free. nil if writes should succeed.
func (db *DB) WriteProblem() error {
	if f := db.fault.Load(); f != nil {
		db.probeDisk(f)
		return f.err
	}
	if free, ok := freeBytes(filepath.Dir(db.path)); ok && free < LowDiskBytes {
		e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "store.disk_low", "the node's disk has %d MiB free (below %d MiB)", free>>20, LowDiskBytes>>20)
		e.RetryAfter = diskRetryAfter
		return e
	}
	return nil
}
