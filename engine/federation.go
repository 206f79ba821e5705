package engine

import (
	"context"
	"fmt"

	"healthcode"
)

var _ healthcode.PeerQueryLogger = (*Engine)(nil)

// RecordPeerQuery logs one cross-region status query (invariant 8): on the
// answering side, that a peer region asked about one of this region's
// people; on the asking side, what this region did with the answer. The
// peer and the outcome are in clear; the traveller, the colour and its
// reason are commitments, and so is the note of the asking side
// (healthcode.PeerQueryNote). Returns EINVALID for a malformed query.
func (e *Engine) RecordPeerQuery(ctx context.Context, q *healthcode.PeerQuery) (int64, error) {
	if err := healthcode.ValidateRegion(q.Peer); err != nil {
		return 0, err
	}
	if q.Subject == "" || q.Outcome == "" {
		return 0, healthcode.Errorf(healthcode.EINVALID, "a peer query names its traveller and its outcome")
	}
	now := q.Time
	if now.IsZero() {
		now = e.now()
	}
	actor := &healthcode.Principal{Name: "peer region " + q.Peer, Role: healthcode.RolePeer}
	if q.Asked {
		actor = &healthcode.Principal{Name: fmt.Sprintf("healthcode (status asked of region %s)", q.Peer), Role: healthcode.RoleSystem}
	}
	// On the asking side the note says which of the peer's entries the
	// answer proved and whom it names: what this region's oversight needs
	// to name them when it alerts on a colour not propagated.
	note := ""
	if q.Asked {
		note = healthcode.PeerQueryNote(q)
	}
	// Committed with the other queries' entries waiting (federation_batch.go).
	idx, err := e.appendPeerEntry(ctx, &healthcode.LogEntry{Type: healthcode.LogFederation, Time: now.UTC(), Region: e.Region,
		Subject: q.Subject, Colour: q.Colour, Reason: q.Reason, RuleID: "peer/" + q.Peer,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: q.Outcome, Note: note})
	if err != nil {
		return 0, fmt.Errorf("engine.RecordPeerQuery: %w", err)
	}
	return idx, nil
}

// CurrentDecision returns the decision a person holds now, as Code does
// (the rule set's default, LogIndex -1, for someone about whom nothing was
// decided), without the evidence, history and words Code adds: what a
// peer region's status query needs. Returns ENOTFOUND for an unknown
// person and, like Code, ETAMPERED while the person's state or the log is
// in doubt: no colour is stated then.
func (e *Engine) CurrentDecision(ctx context.Context, subject string) (*healthcode.Decision, error) {
	if err := e.subjectProblem(subject); err != nil {
		return nil, err
	}
	var d *healthcode.Decision
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		if _, err := tx.Person(ctx, subject); err != nil {
			return err
		}
		var err error
		d, err = tx.Decision(ctx, subject)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			rs, _, err := e.ActiveRuleSet()
			if err != nil {
				return err
			}
			if d, err = rs.Evaluate(subject, nil, e.now()); err != nil {
				return err
			}
			d.LogIndex = -1
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
