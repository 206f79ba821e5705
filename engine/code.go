package engine

import (
	"context"

	"healthcode"
)

var (
	_ healthcode.CodeService     = (*Engine)(nil)
	_ healthcode.EvidenceService = (*Engine)(nil)
)

// Code returns what a person may see of their own code: the decision they
// hold with its words, the evidence it rests on, and every earlier decision.
// A person about whom nothing was ever decided holds the default of the rule
// set in force, computed here and marked with LogIndex -1.
// Returns ENOTFOUND if the person is unknown.
//
// Returns ETAMPERED (detail "integrity.subject") while the person's stored
// state disagrees with the log, or the log itself is in doubt: no colour is
// shown as theirs, so none is signed.
func (e *Engine) Code(ctx context.Context, pseudonym string) (*healthcode.CodeView, error) {
	if err := e.subjectProblem(pseudonym); err != nil {
		return nil, err
	}
	v := &healthcode.CodeView{}
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		rec, err := tx.CodeRecord(ctx, pseudonym, e.now())
		if err != nil {
			return err
		}
		v.Person, v.History, v.Pending, v.Evidence = rec.Person, rec.History, rec.Pending, rec.Evidence
		d := rec.Decision
		if d == nil {
			// Nothing decided yet: the default, which rests on no evidence.
			rs, _, err := e.ActiveRuleSet()
			if err != nil {
				return err
			}
			if d, err = rs.Evaluate(pseudonym, nil, e.now()); err != nil {
				return err
			}
			d.LogIndex = -1
		}
		v.Decision = d
		if err := e.explain(ctx, tx, v.Decision); err != nil {
			return err
		}
		for i := range v.History {
			if err := e.explain(ctx, tx, &v.History[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// explain fills a stored decision's words from the rule set that made it.
func (e *Engine) explain(ctx context.Context, tx healthcode.ReadTx, d *healthcode.Decision) error {
	if d.Text.EN != "" {
		return nil
	}
	if id := overrideID(d); id != 0 {
		o, err := tx.Override(ctx, id)
		if err != nil {
			return err
		}
		explainOverride(d, o)
		return nil
	}
	rs, err := e.ruleSetByVersion(ctx, tx, d.RuleSetVersion)
	if err != nil {
		return err
	}
	if r, ok := rs.Rule(d.RuleID); ok {
		d.Text, d.Lift, d.Basis = r.Text, r.Lift, r.Basis
	}
	return nil
}
