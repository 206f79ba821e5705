package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"time"

	"healthcode"
)

// Submit accepts a batch of evidence from actor in one transaction: each item
// is validated, deduplicated by the submitter's external id, stored and
// logged, then every person it concerns is re-evaluated at once and any new
// decision logged. A bad item is rejected on its own (its Outcome says why)
// and changes nothing; a storage or log failure fails the whole batch.
func (e *Engine) Submit(ctx context.Context, actor *healthcode.Principal, items []healthcode.Submission) ([]healthcode.Outcome, error) {
	return e.submit(ctx, actor, "", items)
}

// SubmitOnce is Submit under the submitter's idempotency key (see
// healthcode.EvidenceService): what it answers is kept in the same
// transaction as what it stores, so a repeat of the key with the same items
// answers the same and changes nothing, whether or not the first answer
// reached the client.
func (e *Engine) SubmitOnce(ctx context.Context, actor *healthcode.Principal, key string, items []healthcode.Submission) ([]healthcode.Outcome, error) {
	if key == "" || len(key) > healthcode.MaxSubmitKey {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "submit.key", "an idempotency key has 1 to %d characters", healthcode.MaxSubmitKey)
	}
	return e.submit(ctx, actor, key, items)
}

func (e *Engine) submit(ctx context.Context, actor *healthcode.Principal, key string, items []healthcode.Submission) ([]healthcode.Outcome, error) {
	if actor == nil || !submitsAny(actor.Role) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only labs, clinics and epidemiologists submit evidence")
	}
	now := e.now()
	// Hash the ID numbers before the transaction: it is CPU work.
	idHashes := make([][]byte, len(items))
	for i := range items {
		if items[i].Evidence.Subject == "" && items[i].IDNumber != "" && !items[i].Evidence.Kind.IsTest() {
			idHashes[i] = e.Keys.IDHash(items[i].IDNumber)
		}
	}
	var digest []byte
	if key != "" {
		digest = submissionDigest(items)
	}
	var out []healthcode.Outcome
	err := e.update(ctx, func(u *unit) error {
		if key != "" {
			r, err := u.tx.SubmitReplay(ctx, actor.ID, key)
			switch {
			case err == nil && bytes.Equal(r.Digest, digest):
				out, err = decodeOutcomes(r.Outcomes)
				return err
			case err == nil:
				return healthcode.Errorfd(healthcode.ECONFLICT, "submit.key_reused", "that idempotency key was used for other items")
			case healthcode.ErrorCode(err) != healthcode.ENOTFOUND:
				return err
			}
		}
		rs, err := e.ruleSetIn(ctx, u.tx)
		if err != nil {
			return err
		}
		pseudonyms, err := u.tx.PseudonymsByIDHash(ctx, idHashes)
		if err != nil {
			return err
		}
		tubes, err := u.tx.TubesOf(ctx, tubeIDs(items))
		if err != nil {
			return err
		}
		out = make([]healthcode.Outcome, len(items))
		reject := func(i int, err error) error {
			if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
				return err
			}
			out[i] = healthcode.Outcome{Line: items[i].Line, Status: healthcode.Rejected, Err: err}
			return nil
		}
		var valid []*healthcode.Evidence
		var at []int // valid[k] is items[at[k]]; a tube's result is one piece per person in it
		opens := map[int]bool{}
	items:
		for i := range items {
			evs, err := e.prepare(ctx, u, actor, &items[i], idHashes[i], pseudonyms, tubes, now)
			adms := make([]admission, len(evs))
			for j := 0; err == nil && j < len(evs); j++ {
				adms[j], err = e.admit(ctx, u, actor, &items[i], evs[j], now)
				if err == nil && adms[j] == admitWait {
					// Only a contact, travel or quarantine record resting
					// on an interview, or a diagnosis resting on no test
					// of another unit (one person each), is held.
					var o healthcode.Outcome
					if o, err = e.hold(ctx, u, actor, evs[j], items[i].Link, now); err == nil {
						o.Line, out[i] = items[i].Line, o
						continue items
					}
				}
			}
			if err != nil {
				if err := reject(i, err); err != nil {
					return err
				}
				continue
			}
			for j, ev := range evs {
				opens[len(valid)] = adms[j] == admitOpens
				valid, at = append(valid, ev), append(at, i)
			}
		}
		stored, err := e.store(ctx, u, rs, actor, valid, now)
		if err != nil {
			return err
		}
		done := make([]bool, len(items))
		for k, o := range stored {
			i := at[k]
			o.Line = items[i].Line
			switch {
			case o.Status == healthcode.Rejected:
				if err := reject(i, o.Err); err != nil {
					return err
				}
				done[i] = true
			case !done[i]:
				out[i], done[i] = o, true
			case o.Status == healthcode.Accepted && out[i].Status == healthcode.Duplicate:
				out[i].Status = healthcode.Accepted
			}
			if o.Status == healthcode.Accepted && opens[k] {
				if err := e.openCase(ctx, u, actor, valid[k], now); err != nil {
					return err
				}
			}
			if opensCase(valid[k]) && out[i].Status != healthcode.Rejected {
				out[i].Case = valid[k].CaseRef
			}
		}
		if key != "" {
			b, err := encodeOutcomes(out)
			if err != nil {
				return err
			}
			return u.tx.PutSubmitReplay(ctx, &healthcode.SubmitReplay{Submitter: actor.ID, Key: key, Digest: digest, Outcomes: b, At: now})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// store inserts evidence already checked, logs each piece accepted, and
// re-evaluates everyone it concerns, within u. A repeat of an external id
// with the same content is a duplicate; with other content, rejected as a
// conflict. It returns one outcome per piece, with the person's decision
// after it for those accepted.
func (e *Engine) store(ctx context.Context, u *unit, rs healthcode.RuleSet, actor *healthcode.Principal, evs []*healthcode.Evidence, now time.Time) ([]healthcode.Outcome, error) {
	out := make([]healthcode.Outcome, len(evs))
	inserted, err := u.tx.InsertEvidence(ctx, evs)
	if err != nil {
		return nil, err
	}
	var touched []string
	seen := map[string]bool{}
	for k, ev := range evs {
		if !inserted[k] {
			o, err := e.duplicate(ctx, u, ev)
			if err != nil {
				if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
					return nil, err
				}
				o = healthcode.Outcome{Status: healthcode.Rejected, Err: err}
			}
			out[k] = o
			continue
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogEvidence, Time: now, Region: e.Region, Subject: ev.Subject,
			EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{*ev}), ActorName: actor.Name, ActorRole: actor.Role,
			Ref: "evidence/" + strconv.FormatInt(ev.ID, 10)})
		u.kinds = append(u.kinds, ev.Kind)
		out[k] = healthcode.Outcome{Status: healthcode.Accepted, EvidenceID: ev.ID, Subject: ev.Subject}
		if !seen[ev.Subject] {
			seen[ev.Subject] = true
			touched = append(touched, ev.Subject)
		}
	}
	decided, err := e.reevaluateAll(ctx, u, rs, touched, now)
	if err != nil {
		return nil, err
	}
	for k := range out {
		if out[k].Status == healthcode.Accepted {
			out[k].Decision = decided[out[k].Subject]
		}
	}
	return out, nil
}

// prepare checks one submission and returns it as the evidence to store: one
// piece, or for a test result one per person collected into its tube.
// idHash is the keyed hash of its ID number (nil if it names a pseudonym),
// pseudonyms the batch's ID hashes resolved, tubes the batch's tubes read
// (tubeResult).
func (e *Engine) prepare(ctx context.Context, u *unit, actor *healthcode.Principal, s *healthcode.Submission, idHash []byte,
	pseudonyms map[string]string, tubes map[string]*healthcode.TubeSamples, now time.Time) ([]*healthcode.Evidence, error) {
	ev := s.Evidence
	if !actor.Role.SubmitsEvidence(ev.Kind) {
		if !ev.Kind.Valid() {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.kind", "unknown evidence kind %q", ev.Kind)
		}
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "evidence.kind_not_allowed", "a %s may not submit %s evidence", actor.Role, ev.Kind)
	}
	// A test result names its tube only, and is answered before any ID
	// number is looked at: whether someone is registered never shows.
	if ev.Kind.IsTest() {
		return e.tubeResult(ctx, u, actor, s, tubes, now)
	}
	if s.Tube != "" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.tube", "only a test result names a tube")
	}
	ev.Submitter, ev.SubmitterName, ev.SubmitterRole = actor.ID, actor.Name, actor.Role
	ev.RecordedAt = now
	if idHash != nil {
		p, ok := pseudonyms[string(idHash)]
		if !ok {
			return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person with that ID number")
		}
		ev.Subject = p
	} else if ev.Subject != "" {
		if _, err := u.tx.Person(ctx, ev.Subject); err != nil {
			return nil, err
		}
	}
	if err := ev.Validate(now); err != nil {
		return nil, err
	}
	if err := e.retention().CheckEvidenceAge(&ev, now); err != nil {
		return nil, err
	}
	// No colour changes for a person whose record disagrees with the log:
	// the item is refused, to be sent again once it is resolved.
	if err := e.subjectProblem(ev.Subject); err != nil {
		return nil, err
	}
	// The case it cites and its link are checked by admit (cases.go).
	return []*healthcode.Evidence{&ev}, nil
}

// duplicate answers a submission whose external id its submitter has filed
// before: the same content is a harmless repeat, other content a conflict.
func (e *Engine) duplicate(ctx context.Context, u *unit, ev *healthcode.Evidence) (healthcode.Outcome, error) {
	old, err := u.tx.EvidenceByExternalID(ctx, ev.Submitter, ev.ExternalID)
	if err != nil {
		return healthcode.Outcome{}, err
	}
	if old.Digest() != ev.Digest() {
		return healthcode.Outcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "evidence.conflict",
			"%s was already submitted with different content; submit a correction under a new id", ev.ExternalID)
	}
	return healthcode.Outcome{Status: healthcode.Duplicate, EvidenceID: old.ID, Subject: old.Subject}, nil
}

// reevaluateAll applies rs to each subject's evidence and records the
// decisions that changed. It returns the decision each holds afterwards
// (nil for the rule set's default). A large batch's evidence is read in
// parts, each evaluated on the other cores while the next is read
// (evaluateParts).
func (e *Engine) reevaluateAll(ctx context.Context, u *unit, rs healthcode.RuleSet, subjects []string, now time.Time) (map[string]*healthcode.Decision, error) {
	out := make(map[string]*healthcode.Decision, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	cur, err := u.tx.DecisionsOf(ctx, subjects)
	if err != nil {
		return nil, err
	}
	overrides, err := u.tx.ActiveOverrides(ctx, subjects, now)
	if err != nil {
		return nil, err
	}
	for _, s := range subjects {
		if err := e.subjectProblem(s); err != nil {
			return nil, err
		}
	}
	// With log entries queued (an import's evidence), they are appended
	// while the rules run (evaluateLogging) and the evidence is read
	// first; else it is read in parts while the rules run (evaluateParts):
	// one user of the transaction at a time either way.
	var evs map[string][]healthcode.Evidence
	var evaluated []*healthcode.Decision
	if len(u.entries) == u.logged {
		evs, evaluated, err = evaluateParts(ctx, u.tx, rs, subjects, now)
	} else if evs, err = u.tx.EvidenceOf(ctx, subjects); err == nil {
		evaluated, err = e.evaluateLogging(ctx, u, rs, subjects, evs, now)
	}
	if err != nil {
		return nil, err
	}
	for i, s := range subjects {
		d, err := e.decide(ctx, u, rs, s, evaluated[i], evs[s], cur[s], overrides[s], now)
		if err != nil {
			return nil, err
		}
		out[s] = d
	}
	return out, nil
}

// evaluateLogging is evaluateAll, and for a large batch, at the same time on
// another core, the append of the log entries u has queued (its evidence's:
// rules are CPU work, the append mostly the store's). The entries are
// appended in u's transaction as update would have at its end; the rules
// read nothing from it.
func (e *Engine) evaluateLogging(ctx context.Context, u *unit, rs healthcode.RuleSet, subjects []string,
	evs map[string][]healthcode.Evidence, now time.Time) ([]*healthcode.Decision, error) {
	if len(subjects) < parallelFrom || len(u.entries) == u.logged {
		return evaluateAll(rs, subjects, evs, now)
	}
	logged := make(chan error, 1)
	go func() { logged <- e.flushLog(ctx, u) }()
	out, err := evaluateAll(rs, subjects, evs, now)
	if lerr := <-logged; lerr != nil {
		return nil, lerr
	}
	return out, err
}

// readPart is how many people's evidence one read of evaluateParts asks
// for.
const readPart = 512

// evaluateParts reads the subjects' evidence in parts of readPart people
// and evaluates each part (evaluateAll) while the next is read: the read
// holds the transaction's one connection, the evaluation the other cores.
// It returns everyone's evidence and what rs gives for it, in the order of
// subjects.
func evaluateParts(ctx context.Context, tx healthcode.ReadTx, rs healthcode.RuleSet, subjects []string, now time.Time) (map[string][]healthcode.Evidence, []*healthcode.Decision, error) {
	if len(subjects) <= readPart {
		evs, err := tx.EvidenceOf(ctx, subjects)
		if err != nil {
			return nil, nil, err
		}
		evaluated, err := evaluateAll(rs, subjects, evs, now)
		return evs, evaluated, err
	}
	parts := (len(subjects) + readPart - 1) / readPart
	read := make([]map[string][]healthcode.Evidence, parts)
	errs := make([]error, parts)
	evaluated := make([]*healthcode.Decision, len(subjects))
	var wg sync.WaitGroup
	var readErr error
	for k := range parts {
		lo, hi := k*readPart, min((k+1)*readPart, len(subjects))
		got, err := tx.EvidenceOf(ctx, subjects[lo:hi])
		if err != nil {
			readErr = err
			break
		}
		read[k] = got
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := evaluateAll(rs, subjects[lo:hi], got, now)
			copy(evaluated[lo:hi], ds)
			errs[k] = err
		}()
	}
	wg.Wait()
	if readErr != nil {
		return nil, nil, readErr
	}
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	evs := make(map[string][]healthcode.Evidence, len(subjects))
	for _, m := range read {
		maps.Copy(evs, m)
	}
	return evs, evaluated, nil
}

// parallelFrom is the batch size from which evaluateAll uses every core.
const parallelFrom = 256

// evaluateAll applies rs to each subject's evidence, on every core for a
// large batch (a rule set is pure: the same evidence and time give the same
// decision, whichever goroutine computes it).
func evaluateAll(rs healthcode.RuleSet, subjects []string, evs map[string][]healthcode.Evidence, now time.Time) ([]*healthcode.Decision, error) {
	out := make([]*healthcode.Decision, len(subjects))
	errs := make([]error, len(subjects))
	eval := func(i int) {
		d, err := rs.Evaluate(subjects[i], evs[subjects[i]], now)
		if err != nil {
			errs[i] = fmt.Errorf("engine: evaluate %s: %w", subjects[i], err)
		}
		out[i] = d
	}
	workers := min(runtime.GOMAXPROCS(0), len(subjects)/parallelFrom*2)
	if workers <= 1 {
		for i := range subjects {
			eval(i)
		}
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(subjects); i += workers {
					eval(i)
				}
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decide takes d, what rs gives for a person's evidence — or, while an
// approved override names them, the override's colour — and, if it differs from
// the decision cur the person holds, stores and logs the new decision. It
// returns the decision the person holds afterwards.
func (e *Engine) decide(ctx context.Context, u *unit, rs healthcode.RuleSet, subject string, d *healthcode.Decision, evs []healthcode.Evidence, cur *healthcode.Decision, o *healthcode.Override, now time.Time) (*healthcode.Decision, error) {
	d.Actor = "rules:" + rs.Version()
	logType := healthcode.LogDecision
	// An override decides while it is in force, except that a correction
	// toward green never hides evidence that came after it: a positive test
	// recorded after a green override is approved raises the colour again.
	if o != nil && !(o.Colour < d.Colour && restsOnEvidenceAfter(d, evs, o.ApprovedAt)) {
		d, logType = overrideDecision(subject, o, rs, now), healthcode.LogOverride
	} else {
		o = nil
	}
	if o == nil && cur == nil && isDefault(d) {
		// Nothing decided before and the rules find nothing now: the
		// person holds the rule set's default, which needs no decision.
		return nil, nil
	}
	if cur != nil && cur.Same(d) {
		if !cur.ReviewAt.Equal(d.ReviewAt) {
			if err := u.tx.SetReviewAt(ctx, subject, d.ReviewAt); err != nil {
				return nil, err
			}
			cur.ReviewAt = d.ReviewAt
		}
		return cur, nil
	}
	entry := &healthcode.LogEntry{Type: logType, Time: now, Region: e.Region, Subject: subject,
		Colour: d.Colour, Reason: d.Reason, RuleID: d.RuleID, RuleSetHash: d.RuleSetHash, EvidenceDigest: d.EvidenceDigest,
		ActorName: d.Actor, ActorRole: healthcode.RoleSystem, Ref: "ruleset/" + rs.Version()}
	if o != nil {
		entry.ActorRole, entry.Ref = healthcode.RoleApprover, d.RuleID
		if o.Approver == nil { // a correction toward green, on the operator's word
			entry.ActorRole = healthcode.RoleOperator
		}
	}
	d.LogIndex = u.log(entry)
	if err := u.tx.PutDecision(ctx, d); err != nil {
		return nil, err
	}
	u.changed = append(u.changed, subject)
	return d, nil
}

// restsOnEvidenceAfter reports whether any evidence d rests on was recorded
// after t.
func restsOnEvidenceAfter(d *healthcode.Decision, evs []healthcode.Evidence, t time.Time) bool {
	used := map[int64]bool{}
	for _, id := range d.EvidenceIDs {
		used[id] = true
	}
	for i := range evs {
		if used[evs[i].ID] && evs[i].RecordedAt.After(t) {
			return true
		}
	}
	return false
}

// submitsAny reports whether role may submit evidence of some kind.
func submitsAny(role healthcode.Role) bool {
	for _, k := range healthcode.EvidenceKinds {
		if role.SubmitsEvidence(k) {
			return true
		}
	}
	return false
}

// isDefault reports whether d is the rule set's default green, resting on no
// evidence, that time alone will not change (a green decision that will
// change is stored, so that the review acts at its time).
func isDefault(d *healthcode.Decision) bool {
	return d.Colour == healthcode.Green && len(d.EvidenceIDs) == 0 && d.LiftsAt == nil
}
