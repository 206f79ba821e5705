package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"healthcode"
)

// auditPage is how many rows one read of an audit takes.
const auditPage = 1000

// MaxFlagged bounds how many people an audit names one by one. Beyond it
// the whole log is treated as in doubt (and the memory an audit holds stays
// bounded).
const MaxFlagged = 10000

// AuditResult is what a full audit of a store against its log found.
type AuditResult struct {
	// Size is the number of leaves whose hashes were recomputed.
	Size int64
	// Log is an ETAMPERED error if the log itself is in doubt (a changed
	// leaf or stored hash, a fork, a truncation, a decision entry that lost
	// the opening saying whose it is); nil if not.
	Log error
	// Subjects are the people whose stored state disagrees with the log,
	// each with an ETAMPERED error saying how.
	Subjects map[string]error
}

// Err returns the result as one error: the log's problem, else the problem
// of the first person flagged (in pseudonym order), else nil.
func (r *AuditResult) Err() error {
	if r.Log != nil {
		return r.Log
	}
	if len(r.Subjects) == 0 {
		return nil
	}
	keys := make([]string, 0, len(r.Subjects))
	for s := range r.Subjects {
		keys = append(keys, s)
	}
	slices.Sort(keys)
	err := r.Subjects[keys[0]]
	if len(keys) == 1 {
		return err
	}
	return healthcode.Errorfd(healthcode.ETAMPERED, healthcode.ErrorDetail(err), "%s (and %d more people)", healthcode.ErrorMessage(err), len(keys)-1)
}

func (r *AuditResult) logProblem(err error) {
	if r.Log == nil {
		r.Log = err
	}
}

func (r *AuditResult) flag(subject string, err error) {
	if r.Subjects == nil {
		r.Subjects = map[string]error{}
	}
	if _, ok := r.Subjects[subject]; ok {
		return
	}
	if len(r.Subjects) >= MaxFlagged {
		r.logProblem(tampered("tlog.too_many", "the stored state of more than %d people disagrees with the log", MaxFlagged))
		return
	}
	r.Subjects[subject] = err
}

// AuditStore is the node's full audit of its store against its log, in one
// read transaction (a consistent snapshot):
//
//  1. the store's tree against each checkpoint in cps (nil ones skipped):
//     not shorter, not forked (CheckStore);
//  2. every leaf read and every stored hash recomputed from the raw leaf
//     bytes, and the root at the largest checkpoint's size compared with
//     that checkpoint (VerifyTree);
//  3. every stored decision explained by the leaf it names, and each
//     person's current code their latest stored decision;
//  4. each person's current decision their latest logged decision, by log
//     index (in the same walk of the leaves, with the openings kept beside
//     them), and every decision entry since the last sunset still carrying
//     the opening that says whose it is;
//  5. the rule set in force, which every decision is computed from: its
//     stored source hashes to its stored hash, and that hash is the one a
//     publication entry of the log records for its version (CheckRuleSet;
//     a mismatch is a problem of the log);
//  6. every stored piece of evidence, which decisions are computed from,
//     recorded by the evidence entry of the log that names it, with the
//     same digest (CheckEvidence).
//
// The first problem with the tree itself ends the audit (AuditResult.Log);
// problems with people are collected (AuditResult.Subjects). err is a failure
// to read the store, not a finding.
func AuditStore(ctx context.Context, s healthcode.Store, cps ...*Checkpoint) (*AuditResult, error) {
	res := &AuditResult{}
	err := s.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		res.Size = size
		r := StoreHashReader(ctx, tx)
		var largest *Checkpoint
		for _, cp := range cps {
			if cp == nil {
				continue
			}
			if err := CheckStore(size, r, cp); err != nil {
				return findingOrErr(res, err)
			}
			if largest == nil || cp.Size > largest.Size {
				largest = cp
			}
		}
		// Steps 2 and 4 in one walk of the leaves. Each decision entry
		// about someone is compared with their current decision a batch
		// at a time: it must be that entry or a later one.
		w := &latestWalk{ctx: ctx, tx: tx, res: res, lastSunset: -1}
		records := func(lo, hi int64) ([]healthcode.LogRecord, error) {
			if err := w.check(); err != nil {
				return nil, err
			}
			return tx.LogRecords(ctx, lo, int(hi-lo))
		}
		if err := verifyTree(size, records, largest, w.visit); err != nil {
			return findingOrErr(res, err)
		}
		if err := w.check(); err != nil {
			return err
		}
		if w.missing > 0 {
			res.logProblem(tampered("tlog.opening_missing",
				"%d decision entries of the log (the first: entry %d) have lost the opening that says whose they are: someone's later decision may have been hidden", w.missing, w.firstMissing))
		}
		if err := auditRuleSet(ctx, tx, res, w.published); err != nil {
			return err
		}
		if err := auditDecisionRows(ctx, tx, res); err != nil {
			return err
		}
		return auditEvidenceRows(ctx, tx, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// findingOrErr records an ETAMPERED error as the log's problem and returns
// nil; any other error is returned.
func findingOrErr(res *AuditResult, err error) error {
	if healthcode.ErrorCode(err) == healthcode.ETAMPERED {
		res.logProblem(err)
		return nil
	}
	return err
}

// The two helpers below are the only places where the audit looks inside a
// leaf beyond its hash; a change of the leaf format updates them.

// holdsColour reports whether a leaf records a colour its subject holds from
// then on: a decision of the rules, or an override put in force. (In
// version 1 leaves, requests and refusals of overrides had the override
// type too, and named no rule set.)
func holdsColour(l *Leaf) bool {
	if l.Commitment == nil || !l.Entry.Type.DecidesColour() {
		return false
	}
	if l.Version == leafVersion1 && l.Entry.Type == healthcode.LogOverride {
		return l.Entry.RuleSetHash != ""
	}
	return true
}

// isSunset reports whether a leaf records a sunset, which deletes every
// person and every subject opening before it.
func isSunset(l *Leaf) bool {
	return l.Entry.Type == healthcode.LogPurge && l.Entry.Reason == "sunset"
}

// auditRuleSet checks the rule set in force, from which every decision is
// computed: its stored source must hash to its stored hash, and that hash
// must be the one a publication entry of the log records for its version.
// An edited rule set puts every decision in doubt: a problem of the log.
func auditRuleSet(ctx context.Context, tx healthcode.ReadTx, res *AuditResult, published map[string][]string) error {
	rec, err := tx.ActiveRuleSet(ctx)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if err := CheckRuleSet(rec, published[rec.Version]); err != nil {
		res.logProblem(err)
	}
	return nil
}

// CheckRuleSet checks a stored rule set against the hashes the log records
// as published for its version (nil: none): its source must hash to its
// stored hash, and that hash must be among them. Returns ETAMPERED (detail
// "tlog.ruleset_edited") if not.
func CheckRuleSet(rec *healthcode.RuleSetRecord, published []string) error {
	sum := sha256.Sum256(rec.Source)
	if got := hex.EncodeToString(sum[:]); got != rec.Hash {
		return tampered("tlog.ruleset_edited",
			"the stored source of rule set %s hashes to %s, not to its recorded hash %s: the rule set was edited in the store", rec.Version, got, rec.Hash)
	}
	if !slices.Contains(published, rec.Hash) {
		return tampered("tlog.ruleset_edited",
			"rule set %s (hash %s) is not the one the log records as published: the rule set was edited in the store", rec.Version, rec.Hash)
	}
	return nil
}

// auditEvidenceRows checks every stored piece of evidence, which decisions
// are computed from, against the log entry that recorded it: a version 2
// evidence leaf about the same person naming the row ("evidence/ID") with
// the row's digest. A row with no such entry (inserted in the file) or
// another digest (edited) flags its subject. Evidence logged in version 1
// leaves, whose openings name only the person, is matched by count.
func auditEvidenceRows(ctx context.Context, tx healthcode.ReadTx, res *AuditResult) error {
	var after int64
	for {
		rows, err := tx.EvidenceRows(ctx, after, auditPage)
		if err != nil {
			return err
		}
		bySubject := map[string][]*healthcode.Evidence{}
		var order []string
		for i := range rows {
			s := rows[i].Subject
			if _, ok := bySubject[s]; !ok {
				order = append(order, s)
			}
			bySubject[s] = append(bySubject[s], &rows[i])
		}
		for _, s := range order {
			if err := CheckEvidence(ctx, tx, s, bySubject[s]); healthcode.ErrorCode(err) == healthcode.ETAMPERED {
				res.flag(s, err)
			} else if err != nil {
				return err
			}
		}
		if len(rows) < auditPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// CheckEvidence checks pieces of evidence stored about subject against the
// log entries that recorded them (see auditEvidenceRows). Returns ETAMPERED
// (detail "tlog.evidence_unlogged") naming the first piece that no entry
// explains.
func CheckEvidence(ctx context.Context, tx healthcode.ReadTx, subject string, evs []*healthcode.Evidence) error {
	if len(evs) == 0 {
		return nil
	}
	leaves, err := tx.SubjectLeaves(ctx, subject, 0)
	if err != nil {
		return err
	}
	logged := map[string]string{} // ref → evidence digest
	v1 := 0
	for _, i := range leaves {
		b, err := tx.LogLeaf(ctx, i)
		if err != nil {
			return err
		}
		l, err := DecodeLeaf(b)
		if err != nil {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "log entry %d does not decode: %s", i, healthcode.ErrorMessage(err))
		}
		if l.Entry.Type != healthcode.LogEvidence {
			continue
		}
		if l.Version == leafVersion1 {
			v1++
			continue
		}
		s, opening, err := tx.LogOpening(ctx, i)
		if err != nil {
			return err
		}
		e, err := l.Open(s, opening)
		if err != nil || e.Subject != subject {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "the opening of evidence entry %d does not open it", i)
		}
		logged[e.Ref] = e.EvidenceDigest
	}
	for _, ev := range evs {
		ref := "evidence/" + strconv.FormatInt(ev.ID, 10)
		want, ok := logged[ref]
		switch {
		case ok && want == healthcode.EvidenceSetDigest([]healthcode.Evidence{*ev}):
			continue
		case ok:
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.evidence_unlogged",
				"evidence row %d of %s is not what the log recorded for it: the row was edited in the store", ev.ID, subject)
		case v1 > 0:
			v1--
			continue
		}
		return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.evidence_unlogged",
			"evidence row %d of %s has no log entry: the row was put in the store without being logged", ev.ID, subject)
	}
	return nil
}

// auditDecisionRows checks every stored decision against its leaf, and each
// person's current code against their latest stored decision.
func auditDecisionRows(ctx context.Context, tx healthcode.ReadTx, res *AuditResult) error {
	var after int64
	for {
		rows, err := tx.DecisionRows(ctx, after, auditPage)
		if err != nil {
			return err
		}
		for i := range rows {
			if err := explain(ctx, tx, &rows[i]); healthcode.ErrorCode(err) == healthcode.ETAMPERED {
				res.flag(rows[i].Subject, err)
			} else if err != nil {
				return err
			}
		}
		if len(rows) < auditPage {
			break
		}
		after = rows[len(rows)-1].ID
	}
	stale, err := tx.StaleCurrentCodes(ctx, MaxFlagged+1)
	if err != nil {
		return err
	}
	for _, s := range stale {
		res.flag(s, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.current_mismatch",
			"the current code of %s is not their latest logged decision", s))
	}
	return nil
}

// latestWalk checks, leaf by leaf, that each person's current decision is
// their latest logged one: for every decision entry about someone (opened
// with the opening kept beside it), their current decision must be that
// entry or a later one; and every decision entry after the last sunset
// must still have its opening.
type latestWalk struct {
	ctx        context.Context
	tx         healthcode.ReadTx
	res        *AuditResult
	lastSunset int64
	// missing counts decision entries since the last sunset with no
	// opening; firstMissing is the first of them.
	missing, firstMissing int64
	pending               []pendingDecision // of the batch being read
	// published holds, by version, the hashes of the rule sets the log
	// records as published.
	published map[string][]string
}

type pendingDecision struct {
	subject string
	index   int64
}

func (w *latestWalk) visit(i int64, l *Leaf, rec *healthcode.LogRecord) {
	switch {
	case l.Entry.Type == healthcode.LogRuleSet:
		if w.published == nil {
			w.published = map[string][]string{}
		}
		w.published[l.Entry.Ref] = append(w.published[l.Entry.Ref], l.Entry.RuleSetHash)
	case isSunset(l):
		// A sunset deletes every opening before it, with every person.
		w.lastSunset, w.missing = i, 0
	case holdsColour(l):
		if rec.Opening == nil && rec.Subject == "" {
			if w.missing == 0 {
				w.firstMissing = i
			}
			w.missing++
			return
		}
		if _, err := l.Open(rec.Subject, rec.Opening); err != nil {
			w.res.logProblem(tampered("tlog.opening_mismatch",
				"the opening of decision entry %d does not open it: the store no longer knows whose decision it is", i))
			return
		}
		w.pending = append(w.pending, pendingDecision{rec.Subject, i})
	}
}

// check compares the pending decision entries with the current decisions.
func (w *latestWalk) check() error {
	if len(w.pending) == 0 {
		return nil
	}
	subjects := make([]string, 0, len(w.pending))
	seen := map[string]bool{}
	for _, p := range w.pending {
		if !seen[p.subject] {
			seen[p.subject] = true
			subjects = append(subjects, p.subject)
		}
	}
	current, err := w.tx.DecisionsOf(w.ctx, subjects)
	if err != nil {
		return err
	}
	for _, p := range w.pending {
		switch d := current[p.subject]; {
		case d == nil:
			w.res.flag(p.subject, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.not_latest",
				"%s holds no decision in the store, but log entry %d is a logged decision about them", p.subject, p.index))
		case d.LogIndex < p.index:
			w.res.flag(p.subject, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.not_latest",
				"the stored decision of %s is log entry %d, but entry %d is a later logged decision about them: the store was edited or rolled back", p.subject, d.LogIndex, p.index))
		}
	}
	w.pending = w.pending[:0]
	return nil
}

func unexplained(d *healthcode.Decision, format string, args ...any) error {
	return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "decision row %d (subject %s, log entry %d): %s",
		d.ID, d.Subject, d.LogIndex, fmt.Sprintf(format, args...))
}

// explain checks one decision row against its leaf: the leaf exists, records
// a colour, is about the row's subject (its opening must be there: decision
// openings are deleted only by a sunset, with the decisions) and says the
// same colour, reason, rule, rule set and evidence.
func explain(ctx context.Context, tx healthcode.ReadTx, d *healthcode.Decision) error {
	b, err := tx.LogLeaf(ctx, d.LogIndex)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return unexplained(d, "the log has no such entry")
	} else if err != nil {
		return err
	}
	leaf, err := DecodeLeaf(b)
	if err != nil {
		return unexplained(d, "its log entry does not decode: %s", healthcode.ErrorMessage(err))
	}
	if !holdsColour(leaf) {
		return unexplained(d, "its log entry records no decision")
	}
	subject, opening, err := tx.LogOpening(ctx, d.LogIndex)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return unexplained(d, "its log entry has lost the opening that says whose it is")
	} else if err != nil {
		return err
	}
	e, err := leaf.Open(subject, opening)
	if err != nil {
		return unexplained(d, "the log entry's opening does not match it")
	}
	if e.Subject != d.Subject {
		return unexplained(d, "the log entry is about someone else")
	}
	want := []struct {
		field, store, log string
	}{
		{"colour", d.Colour.String(), e.Colour.String()},
		{"reason", d.Reason, e.Reason},
		{"rule", d.RuleID, e.RuleID},
		{"rule set", d.RuleSetHash, e.RuleSetHash},
		{"evidence", d.EvidenceDigest, e.EvidenceDigest},
	}
	for _, w := range want {
		if w.store != w.log {
			return unexplained(d, "%s is %q in the store but %q in the log", w.field, w.store, w.log)
		}
	}
	return nil
}

// LatestDecision returns the newest leaf that records a colour decision
// about subject (a rules decision or an override in force), opened, and its
// index. Returns ENOTFOUND (detail "tlog.no_decision") if the log holds none
// whose opening is still kept, and ETAMPERED (detail "tlog.unexplained") if
// a leaf does not decode or its opening does not open it.
func LatestDecision(ctx context.Context, tx healthcode.ReadTx, subject string) (int64, *healthcode.LogEntry, error) {
	leaves, err := tx.SubjectLeaves(ctx, subject, 0)
	if err != nil {
		return 0, nil, err
	}
	for _, i := range leaves {
		b, err := tx.LogLeaf(ctx, i)
		if err != nil {
			return 0, nil, err
		}
		l, err := DecodeLeaf(b)
		if err != nil {
			return 0, nil, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "log entry %d does not decode: %s", i, healthcode.ErrorMessage(err))
		}
		if !l.Entry.Type.DecidesColour() {
			continue
		}
		s, opening, err := tx.LogOpening(ctx, i)
		if err != nil {
			return 0, nil, err
		}
		e, err := l.Open(s, opening)
		if err != nil {
			return 0, nil, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "the opening of log entry %d does not open it", i)
		}
		e.Index = i
		return i, e, nil
	}
	return 0, nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_decision", "the log holds no decision about this person")
}
