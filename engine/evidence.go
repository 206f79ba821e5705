package engine

import (
	"context"
	"fmt"
	"time"

	"healthcode"
)

// Submit accepts a batch of evidence from actor in one transaction: each item
// is validated, deduplicated by the submitter's external id, stored and
// logged, then every person it concerns is re-evaluated at once and any new
// decision logged. A bad item is rejected on its own (its Outcome says why)
// and changes nothing; a storage or log failure fails the whole batch.
func (e *Engine) Submit(ctx context.Context, actor *healthcode.Principal, items []healthcode.Submission) ([]healthcode.Outcome, error) {
	if actor == nil || !actor.Official() {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only labs, clinics and officials submit evidence")
	}
	rs, _, err := e.ActiveRuleSet()
	if err != nil {
		return nil, err
	}
	now := e.now()
	var out []healthcode.Outcome
	err = e.update(ctx, func(u *unit) error {
		out = make([]healthcode.Outcome, len(items))
		var touched []string
		seen := map[string]bool{}
		for i := range items {
			o, err := e.accept(ctx, u, actor, &items[i], now)
			if err != nil && healthcode.ErrorCode(err) == healthcode.EINTERNAL {
				return err
			}
			o.Line, o.Err = items[i].Line, err
			if err != nil {
				o.Status = healthcode.Rejected
			}
			out[i] = o
			if o.Status == healthcode.Accepted && !seen[o.Subject] {
				seen[o.Subject] = true
				touched = append(touched, o.Subject)
			}
		}
		decided := map[string]*healthcode.Decision{}
		for _, s := range touched {
			d, err := e.reevaluate(ctx, u, rs, s, now)
			if err != nil {
				return err
			}
			decided[s] = d
		}
		for i := range out {
			if out[i].Status == healthcode.Accepted {
				out[i].Decision = decided[out[i].Subject]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// accept validates, stores and logs one submission.
func (e *Engine) accept(ctx context.Context, u *unit, actor *healthcode.Principal, s *healthcode.Submission, now time.Time) (healthcode.Outcome, error) {
	ev := s.Evidence
	if !actor.Role.SubmitsEvidence(ev.Kind) {
		if !ev.Kind.Valid() {
			return healthcode.Outcome{}, healthcode.Errorfd(healthcode.EINVALID, "evidence.kind", "unknown evidence kind %q", ev.Kind)
		}
		return healthcode.Outcome{}, healthcode.Errorfd(healthcode.EFORBIDDEN, "evidence.kind_not_allowed", "a %s may not submit %s evidence", actor.Role, ev.Kind)
	}
	ev.Submitter, ev.SubmitterName, ev.SubmitterRole = actor.ID, actor.Name, actor.Role
	ev.RecordedAt = now
	if ev.Subject == "" && s.IDNumber != "" {
		p, err := u.tx.PersonByIDHash(ctx, e.Keys.IDHash(s.IDNumber))
		if err != nil {
			return healthcode.Outcome{}, err
		}
		ev.Subject = p.Pseudonym
	} else if ev.Subject != "" {
		if _, err := u.tx.Person(ctx, ev.Subject); err != nil {
			return healthcode.Outcome{}, err
		}
	}
	if err := ev.Validate(now); err != nil {
		return healthcode.Outcome{}, err
	}
	if old, err := u.tx.EvidenceByExternalID(ctx, ev.Submitter, ev.ExternalID); err == nil {
		if old.Digest() != ev.Digest() {
			return healthcode.Outcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "evidence.conflict",
				"%s was already submitted with different content; submit a correction under a new id", ev.ExternalID)
		}
		return healthcode.Outcome{Status: healthcode.Duplicate, EvidenceID: old.ID, Subject: old.Subject}, nil
	} else if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		return healthcode.Outcome{}, err
	}
	if err := u.tx.InsertEvidence(ctx, &ev); err != nil {
		return healthcode.Outcome{}, err
	}
	u.log(&healthcode.LogEntry{Type: healthcode.LogEvidence, Time: now, Region: e.Region, Subject: ev.Subject,
		EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{ev}), ActorName: actor.Name, ActorRole: actor.Role,
		Ref: fmt.Sprintf("evidence/%d", ev.ID)})
	return healthcode.Outcome{Status: healthcode.Accepted, EvidenceID: ev.ID, Subject: ev.Subject}, nil
}

// reevaluate applies rs to the person's evidence and, if the result differs
// from the decision the person holds, stores and logs the new decision.
// It returns the decision the person holds afterwards.
func (e *Engine) reevaluate(ctx context.Context, u *unit, rs healthcode.RuleSet, subject string, now time.Time) (*healthcode.Decision, error) {
	evs, err := u.tx.Evidence(ctx, subject)
	if err != nil {
		return nil, err
	}
	d, err := rs.Evaluate(subject, evs, now)
	if err != nil {
		return nil, fmt.Errorf("engine: evaluate %s: %w", subject, err)
	}
	cur, err := u.tx.Decision(ctx, subject)
	if err != nil && healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		return nil, err
	}
	if cur == nil && isDefault(d) {
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
	d.Actor = "rules:" + rs.Version()
	d.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogDecision, Time: now, Region: e.Region, Subject: subject,
		Colour: d.Colour, Reason: d.Reason, RuleID: d.RuleID, RuleSetHash: d.RuleSetHash, EvidenceDigest: d.EvidenceDigest,
		ActorName: d.Actor, ActorRole: healthcode.RoleSystem, Ref: "ruleset/" + rs.Version()})
	if err := u.tx.PutDecision(ctx, d); err != nil {
		return nil, err
	}
	u.changed = append(u.changed, subject)
	return d, nil
}

// isDefault reports whether d is the rule set's default green, resting on no
// evidence.
func isDefault(d *healthcode.Decision) bool {
	return d.Colour == healthcode.Green && len(d.EvidenceIDs) == 0
}
