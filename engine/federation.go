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
// reason are commitments. Returns EINVALID for a malformed query.
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
	var idx int64
	err := e.update(ctx, func(u *unit) error {
		idx = u.log(&healthcode.LogEntry{Type: healthcode.LogFederation, Time: now.UTC(), Region: e.Region,
			Subject: q.Subject, Colour: q.Colour, Reason: q.Reason, RuleID: "peer/" + q.Peer,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: q.Outcome})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("engine.RecordPeerQuery: %w", err)
	}
	return idx, nil
}
