package tlog

import (
	"context"
	"strings"

	"healthcode"
)

// Reader serves the log to the outside, read-only, as of the last signed
// checkpoint: the checkpoint itself, C2SP tiles and entry bundles, and the
// citizens' receipts. It never serves a tree the checkpoint does not cover,
// so everything it hands out verifies against the checkpoint it hands out.
type Reader struct {
	Store     healthcode.Store
	Publisher *Publisher
	// CosignedPath is the file Witnesses.Cosign keeps the checkpoint in with
	// the witnesses' cosignatures; CosignedPath(Publisher.LastPath) if empty.
	// When it carries the store's latest checkpoint, the checkpoint and the
	// receipts are served with those cosignatures.
	CosignedPath string
}

// cosigned returns the latest checkpoint's note as served: with the
// witnesses' cosignatures when the cosigned file carries the same checkpoint.
func (r *Reader) cosigned(stored []byte) []byte {
	path := r.CosignedPath
	if path == "" && r.Publisher != nil && r.Publisher.LastPath != "" {
		path = CosignedPath(r.Publisher.LastPath)
	}
	return cosignedNote(path, stored)
}

// Checkpoint returns the last signed checkpoint (a C2SP signed note).
// Returns ENOTFOUND before the first.
func (r *Reader) Checkpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		c, err := tx.LatestCheckpoint(ctx)
		if err == nil {
			note = r.cosigned(c.Note)
		}
		return err
	})
	return note, err
}

// Tile returns the hash tile or entry bundle at path (C2SP tlog-tiles, path
// relative to the log's root, e.g. "tile/0/x001/234" or
// "tile/entries/000.p/5"), and whether it is a full tile that never changes.
func (r *Reader) Tile(ctx context.Context, path string) (data []byte, immutable bool, err error) {
	tp, err := ParseTilePath(path)
	if err != nil {
		return nil, false, err
	}
	err = r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		c, err := tx.LatestCheckpoint(ctx)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.tile_beyond_tree", "no checkpoint has been signed yet")
		} else if err != nil {
			return err
		}
		if strings.HasPrefix(path, "tile/entries/") {
			data, err = ReadEntryBundle(path, c.Size, func(i int64) ([]byte, error) { return tx.LogLeaf(ctx, i) })
		} else {
			data, err = ReadTile(path, c.Size, StoreHashReader(ctx, tx))
		}
		return err
	})
	return data, err == nil && tp.Full(), err
}

// Receipt returns the self-contained inclusion proof (C2SP tlog-proof) of
// log entry index, which must concern subject, with the opening of the
// entry's commitments: a citizen's receipt of a change to their code, which
// opens to its reason. If no checkpoint covers the entry yet, one is
// signed now. Returns ENOTFOUND if the entry does not exist or is about
// someone else (the two are not told apart).
func (r *Reader) Receipt(ctx context.Context, subject string, index int64) ([]byte, error) {
	notYours := healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_receipt", "no log entry %d about you", index)
	var covered bool
	var opening []byte
	err := r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		s, o, err := tx.LogOpening(ctx, index)
		opening = o
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND || (err == nil && (subject == "" || s != subject)) {
			return notYours
		} else if err != nil {
			return err
		}
		c, err := tx.LatestCheckpoint(ctx)
		covered = err == nil && c.Size > index
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !covered {
		if _, err := r.Publisher.Publish(ctx, r.Publisher.now()); err != nil {
			return nil, err
		}
	}
	var out []byte
	err = r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		c, err := tx.LatestCheckpoint(ctx)
		if err != nil {
			return err
		}
		leaf, err := tx.LogLeaf(ctx, index)
		if err != nil {
			return err
		}
		proof, err := InclusionProof(index, c.Size, StoreHashReader(ctx, tx))
		if err != nil {
			return err
		}
		out = FormatProof(index, leaf, subject, opening, proof, r.cosigned(c.Note))
		return nil
	})
	return out, err
}

// Proof returns the self-contained inclusion proof (C2SP tlog-proof) of log
// entry index, with its leaf and without its opening: what anyone reading
// the tiles could compute, handed to an auditor ready to verify. If no
// checkpoint covers the entry yet, one is signed now. Returns ENOTFOUND if
// there is no such entry.
func (r *Reader) Proof(ctx context.Context, index int64) ([]byte, error) {
	var covered bool
	err := r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		if index < 0 || index >= size {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.index_beyond_tree", "no log entry %d", index)
		}
		c, err := tx.LatestCheckpoint(ctx)
		covered = err == nil && c.Size > index
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !covered {
		if _, err := r.Publisher.Publish(ctx, r.Publisher.now()); err != nil {
			return nil, err
		}
	}
	var out []byte
	err = r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		c, err := tx.LatestCheckpoint(ctx)
		if err != nil {
			return err
		}
		leaf, err := tx.LogLeaf(ctx, index)
		if err != nil {
			return err
		}
		proof, err := InclusionProof(index, c.Size, StoreHashReader(ctx, tx))
		if err != nil {
			return err
		}
		out = FormatProof(index, leaf, "", nil, proof, r.cosigned(c.Note))
		return nil
	})
	return out, err
}
