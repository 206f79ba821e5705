package tlog

import (
	"context"
	"fmt"

	"healthcode"
)

// auditPage is how many decision rows one read transaction of an audit takes.
const auditPage = 1000

// AuditDecisions checks invariant 1 against a store: every stored decision
// must be explained by the log leaf it names — same type, subject, colour,
// reason, rule, rule set and evidence — and the colour each person holds now
// must be their latest decision's. It returns ETAMPERED with detail
// "tlog.unexplained" naming the first row that is not, or
// "tlog.current_mismatch" naming the person, or nil. A decision
// whose subject opening was deleted (retention, sunset) is checked on
// everything but the subject.
func AuditDecisions(ctx context.Context, s healthcode.Store) error {
	var after int64
	for {
		var rows []healthcode.Decision
		err := s.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			if rows, err = tx.DecisionRows(ctx, after, auditPage); err != nil {
				return err
			}
			for i := range rows {
				if err := explain(ctx, tx, &rows[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(rows) < auditPage {
			break
		}
		after = rows[len(rows)-1].ID
	}
	// The colour each person holds now must be their latest decision's.
	return s.View(ctx, func(tx healthcode.ReadTx) error {
		stale, err := tx.StaleCurrentCodes(ctx, 1)
		if err != nil {
			return err
		}
		if len(stale) > 0 {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.current_mismatch",
				"the current code of %s is not their latest logged decision", stale[0])
		}
		return nil
	})
}

func unexplained(d *healthcode.Decision, format string, args ...any) error {
	return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.unexplained", "decision row %d (subject %s, log entry %d): %s",
		d.ID, d.Subject, d.LogIndex, fmt.Sprintf(format, args...))
}

// explain checks one decision row against its leaf.
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
	e := &leaf.Entry
	subject, salt, err := tx.LogOpening(ctx, d.LogIndex)
	switch {
	case err == nil:
		opened, err := leaf.Open(subject, salt)
		if err != nil {
			return unexplained(d, "the log entry's subject opening does not match")
		}
		e = opened
		if e.Subject != d.Subject {
			return unexplained(d, "the log entry is about someone else")
		}
	case healthcode.ErrorCode(err) != healthcode.ENOTFOUND:
		return err
	}
	want := []struct {
		field, store, log string
	}{
		{"type", string(healthcode.LogDecision), string(e.Type)},
		{"colour", d.Colour.String(), e.Colour.String()},
		{"reason", d.Reason, e.Reason},
		{"rule", d.RuleID, e.RuleID},
		{"rule set", d.RuleSetHash, e.RuleSetHash},
		{"evidence", d.EvidenceDigest, e.EvidenceDigest},
	}
	for _, w := range want {
		if w.store != w.log && !(w.field == "type" && e.Type == healthcode.LogOverride) {
			return unexplained(d, "%s is %q in the store but %q in the log", w.field, w.store, w.log)
		}
	}
	return nil
}
