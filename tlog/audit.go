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
	opened := false
	subject, opening, err := tx.LogOpening(ctx, d.LogIndex)
	switch {
	case err == nil:
		o, err := leaf.Open(subject, opening)
		if err != nil {
			return unexplained(d, "the log entry's opening does not match it")
		}
		e, opened = o, true
		if e.Subject != d.Subject {
			return unexplained(d, "the log entry is about someone else")
		}
	case healthcode.ErrorCode(err) != healthcode.ENOTFOUND:
		return err
	}
	want := []struct {
		field      string
		f          healthcode.LogFields
		store, log string
	}{
		{"type", 0, string(healthcode.LogDecision), string(e.Type)},
		{"colour", healthcode.FieldColour, d.Colour.String(), e.Colour.String()},
		{"reason", healthcode.FieldReason, d.Reason, e.Reason},
		{"rule", healthcode.FieldRuleID, d.RuleID, e.RuleID},
		{"rule set", healthcode.FieldRuleSetHash, d.RuleSetHash, e.RuleSetHash},
		{"evidence", healthcode.FieldEvidenceDigest, d.EvidenceDigest, e.EvidenceDigest},
	}
	for _, w := range want {
		if !opened && leaf.Committed&w.f != 0 {
			continue // committed, and its opening deleted: nothing to compare
		}
		if w.store != w.log && !(w.field == "type" && e.Type == healthcode.LogOverride) {
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
