package tlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
)

// Publisher signs checkpoints of a node's log and keeps the last one it
// published in a file outside the database, so that a database restored
// from an older backup, or a deleted leaf, is caught against what the world
// has already seen. Once it finds the store inconsistent with that
// checkpoint it refuses to sign anything until an operator resolves it.
type Publisher struct {
	Origin   string
	Signer   note.Signer
	Verifier note.Verifier
	Store    healthcode.Store
	// LastPath is the file holding the last published checkpoint.
	LastPath string
	Clock    healthcode.Clock

	mu      sync.Mutex
	problem error // set when the store disagrees with the published log
}

func (p *Publisher) now() time.Time {
	if p.Clock == nil {
		return time.Now().UTC()
	}
	return p.Clock.Now()
}

// Problem returns the integrity problem found, or nil.
func (p *Publisher) Problem() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.problem
}

// last returns the last published checkpoint: the file if present, else the
// newest the store holds. nil before the first.
func (p *Publisher) last(ctx context.Context, tx healthcode.ReadTx) (*Checkpoint, error) {
	b, err := os.ReadFile(p.LastPath)
	if errors.Is(err, fs.ErrNotExist) {
		c, err := tx.LatestCheckpoint(ctx)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		b = c.Note
	} else if err != nil {
		return nil, fmt.Errorf("tlog.Publisher: %w", err)
	}
	cp, err := OpenCheckpoint(b, p.Origin, note.VerifierList(p.Verifier))
	if err != nil {
		return nil, fmt.Errorf("last published checkpoint: %w", err)
	}
	return cp, nil
}

// Check compares the store with the last published checkpoint: a restored
// backup, a deleted leaf or a fork (on start: it reads O(log n) hashes). A
// problem found is kept: Publish refuses until it is resolved and the node
// restarted.
func (p *Publisher) Check(ctx context.Context) error {
	return p.keep(p.checkStore(ctx))
}

// Audit is Check and, on top, every stored decision and current colour
// checked against the log (AuditDecisions: a full scan, run in the
// background and periodically, never on the start-up path).
func (p *Publisher) Audit(ctx context.Context) error {
	err := p.checkStore(ctx)
	if err == nil {
		err = AuditDecisions(ctx, p.Store)
	}
	return p.keep(err)
}

// keep records an integrity problem so that Publish refuses.
func (p *Publisher) keep(err error) error {
	if healthcode.ErrorCode(err) == healthcode.ETAMPERED || healthcode.ErrorCode(err) == healthcode.EINVALID {
		p.mu.Lock()
		p.problem = err
		p.mu.Unlock()
	}
	return err
}

func (p *Publisher) checkStore(ctx context.Context) error {
	return p.Store.View(ctx, func(tx healthcode.ReadTx) error {
		last, err := p.last(ctx, tx)
		if err != nil {
			return err
		}
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		return CheckStore(size, StoreHashReader(ctx, tx), last)
	})
}

// Publish signs a checkpoint of the log as it is now, records it in the
// store and in LastPath, and returns it. It signs nothing if the store does
// not extend the last published checkpoint (ETAMPERED), and re-signs nothing
// if the log has not grown since.
func (p *Publisher) Publish(ctx context.Context, now time.Time) (*healthcode.Checkpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.problem != nil {
		return nil, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.refuse_sign", "refusing to sign: %s", healthcode.ErrorMessage(p.problem))
	}
	var signed []byte
	var size int64
	err := p.Store.View(ctx, func(tx healthcode.ReadTx) error {
		last, err := p.last(ctx, tx)
		if err != nil {
			return err
		}
		if size, err = tx.LogSize(ctx); err != nil {
			return err
		}
		if last != nil && last.Size == size && size > 0 {
			if err := CheckStore(size, StoreHashReader(ctx, tx), last); err != nil {
				return err
			}
			signed = last.Note
			return nil
		}
		signed, err = SignTree(p.Origin, size, StoreHashReader(ctx, tx), last, p.Signer)
		return err
	})
	if healthcode.ErrorCode(err) == healthcode.ETAMPERED {
		p.problem = err
		return nil, err
	} else if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(signed, p.Origin, note.VerifierList(p.Verifier))
	if err != nil {
		return nil, err
	}
	dc := cp.Domain(now)
	if err := p.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.PutCheckpoint(ctx, dc) }); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(p.LastPath, signed); err != nil {
		return nil, err
	}
	return dc, nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
