// Package engine is the one place where a person's state changes. Evidence
// accepted, the decision it leads to and the log entries that record both are
// committed together in one store transaction, so "decided" always implies
// "logged" and a failed log append undoes the change.
//
// The engine never talks SQL, HTTP or Merkle maths: it composes the domain's
// Store, RuleSet and the Log defined here.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"
)

// Log appends entries to the transparency log inside the caller's
// transaction. Each entry's Index is already set to the next free index, in
// order; Append writes the leaves and the stored hashes they create. Open
// checks that subject and opening (as the store keeps them) open a leaf's
// commitments and returns the entry with every field filled in. Decode
// returns a leaf's entry as the public sees it: committed fields empty,
// Commit naming them.
type Log interface {
	Append(ctx context.Context, tx healthcode.Tx, entries []*healthcode.LogEntry) error
	Open(leaf []byte, subject string, opening []byte) (*healthcode.LogEntry, error)
	Decode(leaf []byte) (*healthcode.LogEntry, error)
}

// Engine turns evidence into decisions.
type Engine struct {
	Store  healthcode.Store
	Log    Log
	Keys   *healthcode.Keys
	Region string
	Clock  healthcode.Clock
	// LoadRuleSet compiles a stored rule set (rules.Load).
	LoadRuleSet healthcode.RuleSetLoader
	// Codes verifies the health codes samplers scan (qr.Service); without
	// it a collection names the person by ID number only.
	Codes healthcode.CodeVerifier

	// CheckInPolicy bounds each person's check-ins (zero value:
	// healthcode.DefaultCheckInPolicy).
	CheckInPolicy healthcode.CheckInPolicy
	// DesignationCoSignAbove is how many exposures a designation may create
	// before its approval needs an auditor's co-signature (0:
	// healthcode.DefaultDesignationCoSignAbove).
	DesignationCoSignAbove int64
	// TokenTTL is how long a token issued to each role lives (nil: the
	// defaults, healthcode.DefaultTokenTTL).
	TokenTTL healthcode.TokenTTL
	// Bulk bounds how many people restrictive requests name before an
	// auditor co-signs; zero fields take the defaults (BulkLimit people,
	// DefaultBulkWindow).
	Bulk healthcode.BulkLimits

	// OnChange, if set, is called after a commit with the people whose
	// decisions changed (for caches of their codes).
	OnChange func(subjects []string)
	// OnCommit, if set, is called after each commit that logged anything,
	// with what it logged (for the node's metrics: entries by type,
	// evidence by kind). It must not block.
	OnCommit func(Committed)
	// Integrity, if set, is what the node's audit found: the engine fails
	// closed on it (no code for a person whose stored state disagrees with
	// the log, no colour change for them; nothing logged at all while the
	// log itself is in doubt).
	Integrity healthcode.Integrity
	// Retention bounds the age of the evidence accepted (evidence older
	// than its retention period is refused); zero means
	// healthcode.DefaultRetention.
	Retention healthcode.Retention
	// CheckInWait bounds how long a check-in may expect to wait in the
	// group-commit queue: beyond it the check-in is refused at once
	// (EUNAVAILABLE with a Retry-After) rather than queued for an answer
	// the client will have given up on (0: DefaultCheckInWait).
	CheckInWait time.Duration
	// SlotCapacity is how many people one venue's live code of one slot
	// can prove present (0: healthcode.DefaultSlotCapacity; see it).
	SlotCapacity int
	// TokenRecheck is how often the token cache asks the store whether
	// another process or node changed tokens or officials: the longest a
	// revocation made elsewhere goes unseen here (0: DefaultTokenRecheck;
	// negative: ask on every use). One made by this engine is seen at once.
	TokenRecheck time.Duration

	active   atomic.Pointer[ruleSetEntry]
	edited   atomic.Pointer[error] // why the stored rule set in force was refused at Open
	checkins checkInQueue
	slots    slotCounts
	limiter  checkInLimiter
	venues   venueCache
	tokens   tokenCache
	peerLog  peerLog // group commit of cross-region query entries
	mu       sync.Mutex
	compiled map[string]healthcode.RuleSet // by version
}

type ruleSetEntry struct {
	rs  healthcode.RuleSet
	rec *healthcode.RuleSetRecord
}

// Open loads the rule set in force. It returns an engine with no rule set
// (every submission refused) if none has been published yet.
func (e *Engine) Open(ctx context.Context) error {
	var rec *healthcode.RuleSetRecord
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		rec, err = tx.ActiveRuleSet(ctx)
		return err
	})
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("engine.Open: %w", err)
	}
	rs, err := e.ruleSet(ctx, rec)
	if healthcode.ErrorCode(err) == healthcode.ETAMPERED {
		// No rule set in force: every decision is refused, saying why,
		// and the node's audit reports it.
		e.edited.Store(&err)
		return nil
	} else if err != nil {
		return fmt.Errorf("engine.Open: rule set %s: %w", rec.Version, err)
	}
	e.active.Store(&ruleSetEntry{rs: rs, rec: rec})
	return nil
}

// ActiveRuleSet returns the rule set in force, or ENOTFOUND.
func (e *Engine) ActiveRuleSet() (healthcode.RuleSet, *healthcode.RuleSetRecord, error) {
	a := e.active.Load()
	if a == nil && e.edited.Load() != nil {
		return nil, nil, *e.edited.Load()
	}
	if a == nil {
		return nil, nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "ruleset.none", "no rule set has been published")
	}
	return a.rs, a.rec, nil
}

func (e *Engine) ruleSet(ctx context.Context, rec *healthcode.RuleSetRecord) (healthcode.RuleSet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.compiled == nil {
		e.compiled = map[string]healthcode.RuleSet{}
	}
	if rs, ok := e.compiled[rec.Version]; ok {
		return rs, nil
	}
	// The stored source must be the one published: its hash is the one
	// recorded with it (and the node's audit checks that hash against the
	// publication entry of the log). An edited source decides nothing.
	if sum := sha256.Sum256(rec.Source); hex.EncodeToString(sum[:]) != rec.Hash {
		return nil, healthcode.Errorfd(healthcode.ETAMPERED, "ruleset.edited",
			"the stored rule set %s is not the one published (its source does not hash to its recorded hash %s): no decision is made from it until an operator restores it",
			rec.Version, rec.Hash)
	}
	rs, err := e.LoadRuleSet(rec.Source)
	if err != nil {
		return nil, err
	}
	if rs.Version() != rec.Version {
		return nil, healthcode.Errorfd(healthcode.ETAMPERED, "ruleset.edited",
			"the stored rule set %s names itself %s: no decision is made from it until an operator restores it", rec.Version, rs.Version())
	}
	e.compiled[rec.Version] = rs
	return rs, nil
}

// ruleSetByVersion returns a compiled rule set, loading it from the store if
// needed.
func (e *Engine) ruleSetByVersion(ctx context.Context, tx healthcode.ReadTx, version string) (healthcode.RuleSet, error) {
	e.mu.Lock()
	rs, ok := e.compiled[version]
	e.mu.Unlock()
	if ok {
		return rs, nil
	}
	rec, err := tx.RuleSet(ctx, version)
	if err != nil {
		return nil, err
	}
	return e.ruleSet(ctx, rec)
}

// ruleSetIn returns the rule set in force as the transaction sees it, so that
// a rule set published while a batch waited for the writer is the one the
// batch uses (and its "review everyone" mark is not overwritten by a decision
// made under the old one).
func (e *Engine) ruleSetIn(ctx context.Context, tx healthcode.ReadTx) (healthcode.RuleSet, error) {
	rec, err := tx.ActiveRuleSet(ctx)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "ruleset.none", "no rule set has been published")
	} else if err != nil {
		return nil, err
	}
	if a := e.active.Load(); a != nil && a.rec.Version == rec.Version {
		return a.rs, nil
	}
	rs, err := e.ruleSet(ctx, rec)
	if err != nil {
		return nil, err
	}
	e.active.Store(&ruleSetEntry{rs: rs, rec: rec})
	return rs, nil
}

// unit is one transaction's work: the log entries it must append before it
// commits.
type unit struct {
	tx      healthcode.Tx
	next    int64
	entries []*healthcode.LogEntry
	logged  int                       // how many of entries are appended already (flushLog)
	changed []string                  // people whose decision changed
	kinds   []healthcode.EvidenceKind // of the evidence it accepted
}

// Committed is what one commit logged: its entries, and the kind of each
// piece of evidence it accepted (an evidence entry holds its kind only as a
// commitment).
type Committed struct {
	Entries  []*healthcode.LogEntry
	Evidence []healthcode.EvidenceKind
}

// update runs fn in one store transaction and appends the log entries fn
// produced in that same transaction, just before it commits.
func (e *Engine) update(ctx context.Context, fn func(u *unit) error) error {
	var u *unit
	var authEpoch int64
	err := e.Store.Update(ctx, func(tx healthcode.Tx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		u = &unit{tx: tx, next: size}
		if err := fn(u); err != nil {
			return err
		}
		if err := e.flushLog(ctx, u); err != nil {
			return err
		}
		// Last: whatever fn did to tokens and officials has moved it, and
		// once this commits no kept token read before it is used again
		// (tokencache.go).
		authEpoch, err = tx.AuthEpoch(ctx)
		return err
	})
	if err == nil {
		e.tokens.observe(authEpoch, 0)
	}
	if err == nil && len(u.changed) > 0 && e.OnChange != nil {
		e.OnChange(u.changed)
	}
	if err == nil && len(u.entries) > 0 && e.OnCommit != nil {
		e.OnCommit(Committed{Entries: u.entries, Evidence: u.kinds})
	}
	return err
}

// flushLog appends the entries u queued since its last flush, in u's
// transaction: update does at its end, and a large batch may earlier (its
// log's leaves written while its rules are evaluated, evaluateLogging).
func (e *Engine) flushLog(ctx context.Context, u *unit) error {
	pending := u.entries[u.logged:]
	if len(pending) == 0 {
		return nil
	}
	if err := e.logProblem(); err != nil {
		return err
	}
	if err := e.Log.Append(ctx, u.tx, pending); err != nil {
		return fmt.Errorf("engine: log append: %w", err)
	}
	u.logged = len(u.entries)
	return nil
}

// log reserves the next log index for entry and queues it for append.
func (u *unit) log(entry *healthcode.LogEntry) int64 {
	entry.Index = u.next
	u.next++
	u.entries = append(u.entries, entry)
	return entry.Index
}

func (e *Engine) now() time.Time { return e.Clock.Now().UTC() }

// retention returns the retention periods evidence is held to.
func (e *Engine) retention() healthcode.Retention {
	if e.Retention.Evidence == nil {
		return healthcode.DefaultRetention()
	}
	return e.Retention
}

// logProblem refuses to log anything while the log itself is in doubt: an
// entry appended to a tree that was edited or forked would be signed over
// it.
func (e *Engine) logProblem() error {
	if e.Integrity == nil {
		return nil
	}
	if err := e.Integrity.LogProblem(); err != nil {
		return healthcode.Errorfd(healthcode.ETAMPERED, "integrity.log",
			"the node's log disagrees with what it published (%s); nothing is recorded until an operator resolves it", healthcode.ErrorMessage(err))
	}
	return nil
}

// subjectProblem refuses to act on a person whose stored state disagrees
// with the log (or on anyone while the log itself is in doubt).
func (e *Engine) subjectProblem(subject string) error {
	if e.Integrity == nil {
		return nil
	}
	if err := e.Integrity.SubjectProblem(subject); err != nil {
		return healthcode.Errorfd(healthcode.ETAMPERED, "integrity.subject",
			"this person's stored record disagrees with the transparency log (%s); no code is issued and no colour changed for them until an operator resolves it: oversight has been alerted, and the person's receipts of earlier changes still verify", healthcode.ErrorMessage(err))
	}
	return nil
}

// RegisterPerson creates a person in the engine's region. Returns ECONFLICT
// if the ID number is already registered.
func (e *Engine) RegisterPerson(ctx context.Context, pd healthcode.PersonalData) (*healthcode.Person, error) {
	p, err := e.Keys.NewPerson(e.Region, pd, e.now())
	if err != nil {
		return nil, err
	}
	err = e.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.CreatePerson(ctx, p) })
	if err != nil {
		return nil, err
	}
	return p, nil
}

// RegisterPeople creates many people in one transaction (for imports of a
// population register and the synthetic city).
func (e *Engine) RegisterPeople(ctx context.Context, pds []healthcode.PersonalData) error {
	now := e.now()
	// Each person's data key, its wrapping, the pseudonym and the ID hash
	// are CPU work: done on every core, before the one write transaction.
	people := make([]*healthcode.Person, len(pds))
	errs := make([]error, len(pds))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(pds)/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(pds); i += workers {
				people[i], errs[i] = e.Keys.NewPerson(e.Region, pds[i], now)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("person %d: %w", i, err)
		}
	}
	return e.Store.Update(ctx, func(tx healthcode.Tx) error {
		for _, p := range people {
			if err := tx.CreatePerson(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// PublishRuleSet puts the shipped baseline in force on a node's first
// start: only the system may call it. Admins publish with two signatures:
// ProposeRuleSet, then ApproveRuleSet by another admin.
func (e *Engine) PublishRuleSet(ctx context.Context, actor *healthcode.Principal, source []byte) (*healthcode.RuleSetRecord, error) {
	if actor == nil || actor.Role != healthcode.RoleSystem {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "a rule set is published by two admins: one proposes, another approves")
	}
	return e.publish(ctx, []*healthcode.Principal{actor}, source)
}

// publish compiles source (refusing it if any of its examples fails), stores
// it, puts it in force, logs the publication naming everyone who signed it,
// and marks everyone for re-evaluation under it.
func (e *Engine) publish(ctx context.Context, signers []*healthcode.Principal, source []byte) (*healthcode.RuleSetRecord, error) {
	rs, err := e.LoadRuleSet(source)
	if err != nil {
		return nil, err
	}
	now := e.now()
	names := make([]string, len(signers))
	for i, s := range signers {
		names[i] = healthcode.ActorLabel(s)
	}
	rec := &healthcode.RuleSetRecord{Version: rs.Version(), Hash: rs.Hash(), Source: source, PublishedAt: now, PublishedBy: strings.Join(names, " & ")}
	last := signers[len(signers)-1]
	err = e.update(ctx, func(u *unit) error {
		if err := u.tx.PutRuleSet(ctx, rec, true); err != nil {
			return err
		}
		if len(signers) > 1 {
			if err := u.tx.DeleteRuleSetProposal(ctx, rec.Version); err != nil {
				return err
			}
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogRuleSet, Time: now, Region: e.Region, RuleSetHash: rec.Hash,
			ActorName: rec.PublishedBy, ActorRole: last.Role, Ref: rec.Version})
		// Everyone who holds a decision is due now; everyone with evidence
		// and no decision is swept (ReviewDue, review.go).
		if err := u.tx.SetReviewSweep(ctx, rec.Version, ""); err != nil {
			return err
		}
		return u.tx.SetReviewAt(ctx, "", now)
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.compiled == nil {
		e.compiled = map[string]healthcode.RuleSet{}
	}
	e.compiled[rec.Version] = rs
	e.mu.Unlock()
	e.active.Store(&ruleSetEntry{rs: rs, rec: rec})
	return rec, nil
}
