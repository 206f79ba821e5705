package tlog

import (
	"context"
	"fmt"
	"io"

	"healthcode"
)

// Log appends log entries inside the caller's store transaction (it
// implements engine.Log). It keeps no state between transactions: each
// Append loads the tree's right edge once (one read of at most 64 hashes)
// and computes every leaf of the batch in memory, so a rolled-back
// transaction leaves nothing behind to discard.
type Log struct {
	// Random supplies the leaves' salts; crypto/rand if nil.
	Random io.Reader
}

// Append encodes entries (whose Index fields must run on from the log's
// size, in order) with a fresh salt for each leaf that commits anything, and
// writes the leaves with their stored hashes and openings through
// tx.AppendLeaves. Any error leaves the transaction to be rolled back: a
// change whose log append fails does not happen.
func (l *Log) Append(ctx context.Context, tx healthcode.Tx, entries []*healthcode.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	a, err := NewAppender(entries[0].Index, StoreHashReader(ctx, tx))
	if err != nil {
		return fmt.Errorf("tlog.Log.Append: %w", err)
	}
	records := make([]*healthcode.LogRecord, 0, len(entries))
	for _, e := range entries {
		if e.Index != a.Size() {
			return healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log entry has index %d, the log's next is %d", e.Index, a.Size())
		}
		var salt []byte
		if e.Committed() != 0 {
			if salt, err = NewSalt(l.Random); err != nil {
				return err
			}
		}
		leaf, opening, err := EncodeLeaf(e, salt)
		if err != nil {
			return err
		}
		i, hs, err := a.Append(leaf)
		if err != nil {
			return err
		}
		records = append(records, &healthcode.LogRecord{Index: i, Leaf: leaf, Hashes: HashArrays(hs), Subject: e.Subject, Opening: opening})
	}
	if err := tx.AppendLeaves(ctx, records); err != nil {
		return fmt.Errorf("tlog.Log.Append: %w", err)
	}
	return nil
}

// Open decodes leaf and opens its commitments with subject and opening (as
// EncodeLeaf returned them and the store keeps them). See Leaf.Open.
func (l *Log) Open(leaf []byte, subject string, opening []byte) (*healthcode.LogEntry, error) {
	d, err := DecodeLeaf(leaf)
	if err != nil {
		return nil, err
	}
	return d.Open(subject, opening)
}

// Decode decodes leaf as the public reads it: the entry's fields in clear,
// the committed ones empty and named by the entry's Commit.
func (l *Log) Decode(leaf []byte) (*healthcode.LogEntry, error) {
	d, err := DecodeLeaf(leaf)
	if err != nil {
		return nil, err
	}
	e := d.Entry
	return &e, nil
}

// RecordEntry returns the log entry a stored record holds: opened with the
// opening kept beside the tree if there is one (every field filled in), or
// else only the fields the leaf holds in clear (committed ones empty: an
// entry about no one, or one whose opening retention or sunset deleted).
func RecordEntry(rec *healthcode.LogRecord) (*healthcode.LogEntry, error) {
	l, err := DecodeLeaf(rec.Leaf)
	if err != nil {
		return nil, err
	}
	if l.Committed != 0 && len(rec.Opening) > 0 {
		if e, err := l.Open(rec.Subject, rec.Opening); err == nil {
			e.Index = rec.Index
			return e, nil
		}
	}
	e := l.Entry
	e.Index = rec.Index
	return &e, nil
}
