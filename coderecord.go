package healthcode

import (
	"context"
	"slices"
	"time"
)

// CodeRecord is what a person's own code is made of, read in one go: a
// citizen's first request of the day needs all of it, and a store answers it
// with as few statements as it can.
type CodeRecord struct {
	Person *Person
	// Decision is the person's current decision, as ReadTx.Decision returns
	// it; nil if they have none yet.
	Decision *Decision
	// History is every decision the person has held, oldest first, as
	// ReadTx.Decisions returns it (nil if none).
	History []Decision
	// Pending are the restrictive overrides about the person awaiting a
	// second signature, as ReadTx.PendingOverrides returns them (nil if none).
	Pending []Override
	// Evidence is the person's evidence that Decision cites, in the order of
	// ReadTx.Evidence (nil if none, or no Decision).
	Evidence []Evidence
}

// CodeReadTx reads what a person's code needs.
type CodeReadTx interface {
	// CodeRecord returns the person with the pseudonym and what their code
	// rests on (see CodeRecord), exactly as Person, Decision, Decisions,
	// PendingOverrides(subject, t) and Evidence (filtered to the current
	// decision's EvidenceIDs) would in the same transaction. Returns
	// ENOTFOUND if the person is unknown.
	CodeRecord(ctx context.Context, pseudonym string, t time.Time) (*CodeRecord, error)
}

// QuickCodeStore is a Store that can read most code records in one
// statement of their own, outside any transaction (on PostgreSQL one round
// trip instead of three). The statement is its own consistent snapshot.
type QuickCodeStore interface {
	// QuickCodeRecord returns the record CodeRecord would, with complete
	// true, when that one statement holds all of it (the person has held no
	// decision but the current one, none pending about them, no evidence
	// cited); otherwise nil and false, and the caller reads it with
	// ReadTx.CodeRecord in a transaction. Returns ENOTFOUND if the person is
	// unknown.
	QuickCodeRecord(ctx context.Context, pseudonym string, t time.Time) (rec *CodeRecord, complete bool, err error)
}

// Clone returns a copy of d that shares nothing with it.
func (d *Decision) Clone() Decision {
	c := *d
	if d.LiftsAt != nil {
		l := *d.LiftsAt
		c.LiftsAt = &l
	}
	c.EvidenceIDs = slices.Clone(d.EvidenceIDs)
	return c
}
