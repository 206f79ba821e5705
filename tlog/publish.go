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

	"github.com/google/renameio/v2"
)

// Publisher signs checkpoints of a node's log and keeps the last one it
// published in a file outside the database (and, if CopyPath is set, in a
// second file elsewhere), so that a database restored from an older backup,
// or a deleted leaf, is caught against what the world has already seen.
//
// It also runs the node's own audit (Audit) and keeps what it found: it is
// the node's healthcode.Integrity. Once the store is found to disagree with
// the log, it refuses to sign anything until an operator resolves it and
// restarts the node.
type Publisher struct {
	Origin   string
	Signer   note.Signer
	Verifier note.Verifier
	Store    healthcode.Store
	// LastPath is the file holding the last published checkpoint.
	LastPath string
	// CopyPath, if set, is a second file holding the last published
	// checkpoint, kept outside the data directory (another volume, another
	// machine's mount): rolling back the database together with LastPath
	// (a restored backup of the data directory) leaves it ahead, and the
	// node sees the rollback. Once the log has a checkpoint, a missing copy
	// is itself a problem.
	CopyPath string
	Clock    healthcode.Clock

	// publishing serialises Publish, which holds it across its reads and
	// its write of the store. mu guards only what the audits found, and is
	// never held across a call to the store: the engine asks
	// SubjectProblem inside its write transactions, so a lock held while
	// waiting for the store's write lock would be a deadlock.
	publishing sync.Mutex
	mu         sync.Mutex
	problem    error            // set when the log itself disagrees with what was published
	subjects   map[string]error // people whose stored state disagrees with the log
}

var _ healthcode.Integrity = (*Publisher)(nil)

func (p *Publisher) now() time.Time {
	if p.Clock == nil {
		return time.Now().UTC()
	}
	return p.Clock.Now()
}

// Problem returns the integrity problem found, or nil: the log's, else a
// summary of the people whose stored state disagrees with it.
func (p *Publisher) Problem() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.problemLocked()
}

func (p *Publisher) problemLocked() error {
	if p.problem != nil {
		return p.problem
	}
	if len(p.subjects) > 0 {
		r := AuditResult{Subjects: p.subjects}
		return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.people",
			"the stored state of %d people disagrees with the log: %s", len(p.subjects), healthcode.ErrorMessage(r.Err()))
	}
	return nil
}

// LogProblem implements healthcode.Integrity.
func (p *Publisher) LogProblem() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.problem
}

// SubjectProblem implements healthcode.Integrity.
func (p *Publisher) SubjectProblem(subject string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.problem != nil {
		return p.problem
	}
	return p.subjects[subject]
}

// FlaggedSubjects returns the people whose stored state was found to
// disagree with the log.
func (p *Publisher) FlaggedSubjects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.subjects))
	for s := range p.subjects {
		out = append(out, s)
	}
	return out
}

// readCheckpointFile opens the checkpoint in the file at path; nil if there
// is no such file.
func (p *Publisher) readCheckpointFile(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("tlog.Publisher: %w", err)
	}
	cp, err := OpenCheckpoint(b, p.Origin, note.VerifierList(p.Verifier))
	if err != nil {
		return nil, fmt.Errorf("the checkpoint in %s: %w", path, err)
	}
	return cp, nil
}

// published returns every record of what the log has published: the
// checkpoint in LastPath, the one in CopyPath and the newest the store
// holds (any may be nil). A copy missing once anything was published is
// ETAMPERED ("tlog.copy_missing").
func (p *Publisher) published(ctx context.Context, tx healthcode.ReadTx) ([]*Checkpoint, error) {
	file, err := p.readCheckpointFile(p.LastPath)
	if err != nil {
		return nil, err
	}
	var stored *Checkpoint
	c, err := tx.LatestCheckpoint(ctx)
	switch {
	case err == nil:
		if stored, err = OpenCheckpoint(c.Note, p.Origin, note.VerifierList(p.Verifier)); err != nil {
			return nil, fmt.Errorf("the store's newest checkpoint: %w", err)
		}
	case healthcode.ErrorCode(err) != healthcode.ENOTFOUND:
		return nil, err
	}
	cps := []*Checkpoint{file, stored}
	if p.CopyPath != "" {
		cp, err := p.readCheckpointFile(p.CopyPath)
		if err != nil {
			return nil, err
		}
		if cp == nil && (file != nil || stored != nil) {
			return nil, tampered("tlog.copy_missing", "the copy of the last published checkpoint (%s) is missing: restore it, or, if this node never had one, copy %s there", p.CopyPath, p.LastPath)
		}
		cps = append(cps, cp)
	}
	return cps, nil
}

// latest returns the largest of cps (nil if all are nil).
func latest(cps []*Checkpoint) *Checkpoint {
	var l *Checkpoint
	for _, cp := range cps {
		if cp != nil && (l == nil || cp.Size > l.Size) {
			l = cp
		}
	}
	return l
}

// Check compares the store with every record of the last published
// checkpoint: a restored backup, a deleted leaf or a fork. It reads O(log n)
// hashes; Audit recomputes them all. A problem found is kept: Publish
// refuses until it is resolved and the node restarted.
func (p *Publisher) Check(ctx context.Context) error {
	err := p.Store.View(ctx, func(tx healthcode.ReadTx) error {
		cps, err := p.published(ctx, tx)
		if err != nil {
			return err
		}
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		for _, cp := range cps {
			if err := CheckStore(size, StoreHashReader(ctx, tx), cp); err != nil {
				return err
			}
		}
		return nil
	})
	return p.keep(&AuditResult{}, err)
}

// Audit is the node's full self-audit (AuditStore) against every record of
// the last published checkpoint: every stored hash recomputed from the
// leaves, the tree checked against the checkpoints, every stored decision
// and each person's current one checked against the log. What it finds is
// kept (Problem, LogProblem, SubjectProblem) until the node restarts. It
// returns the first problem, or an error reading the store.
func (p *Publisher) Audit(ctx context.Context) error {
	var cps []*Checkpoint
	err := p.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		cps, err = p.published(ctx, tx)
		return err
	})
	if err != nil {
		return p.keep(&AuditResult{}, err)
	}
	res, err := AuditStore(ctx, p.Store, cps...)
	if err != nil {
		return err
	}
	return p.keep(res, nil)
}

// keep records what an audit found, and an ETAMPERED or EINVALID err (a
// checkpoint that does not verify) as a problem with the log, so that
// Publish refuses. It returns the first problem, or err.
func (p *Publisher) keep(res *AuditResult, err error) error {
	if code := healthcode.ErrorCode(err); code == healthcode.ETAMPERED || code == healthcode.EINVALID {
		res.logProblem(err)
		err = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res.Log != nil && p.problem == nil {
		p.problem = res.Log
	}
	for s, e := range res.Subjects {
		if p.subjects == nil {
			p.subjects = map[string]error{}
		}
		if _, ok := p.subjects[s]; !ok {
			p.subjects[s] = e
		}
	}
	if err != nil {
		return err
	}
	return res.Err()
}

// Publish signs a checkpoint of the log as it is now, records it in the
// store, in LastPath and in CopyPath, and returns it. It signs nothing while
// an integrity problem is known, nor if the store does not extend every
// record of the last published checkpoint (ETAMPERED), and re-signs nothing
// if the log has not grown since.
func (p *Publisher) Publish(ctx context.Context, now time.Time) (*healthcode.Checkpoint, error) {
	p.publishing.Lock()
	defer p.publishing.Unlock()
	if prob := p.Problem(); prob != nil {
		return nil, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.refuse_sign", "refusing to sign: %s", healthcode.ErrorMessage(prob))
	}
	var signed []byte
	var size int64
	err := p.Store.View(ctx, func(tx healthcode.ReadTx) error {
		cps, err := p.published(ctx, tx)
		if err != nil {
			return err
		}
		if size, err = tx.LogSize(ctx); err != nil {
			return err
		}
		r := StoreHashReader(ctx, tx)
		for _, cp := range cps {
			if err := CheckStore(size, r, cp); err != nil {
				return err
			}
		}
		last := latest(cps)
		if last != nil && last.Size == size && size > 0 {
			signed = last.Note
			return nil
		}
		signed, err = SignTree(p.Origin, size, r, last, p.Signer)
		return err
	})
	if code := healthcode.ErrorCode(err); code == healthcode.ETAMPERED || code == healthcode.EINVALID {
		p.mu.Lock()
		p.problem = err
		p.mu.Unlock()
		return nil, err
	} else if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(signed, p.Origin, note.VerifierList(p.Verifier))
	if err != nil {
		return nil, err
	}
	dc := cp.Domain(now)
	if err := p.Store.Update(ctx, func(tx healthcode.Tx) error {
		// An audit may have found a problem since the check above.
		if prob := p.Problem(); prob != nil {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.refuse_sign", "refusing to sign: %s", healthcode.ErrorMessage(prob))
		}
		return tx.PutCheckpoint(ctx, dc)
	}); err != nil {
		return nil, err
	}
	if p.CopyPath != "" {
		if err := writeFileAtomic(p.CopyPath, signed); err != nil {
			return nil, fmt.Errorf("tlog.Publisher: the checkpoint's copy: %w", err)
		}
	}
	if err := writeFileAtomic(p.LastPath, signed); err != nil {
		return nil, err
	}
	return dc, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := renameio.WriteFile(path, b, 0o600, renameio.WithStaticPermissions(0o600)); err != nil {
		return err
	}
	// The rename is durable only once the directory is synced.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
