package engine

import (
	"context"
	"errors"

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
	// Most people's code is one statement, outside a transaction, and words
	// the engine holds in memory; anyone else's is read in one transaction.
	if qs, ok := e.Store.(healthcode.QuickCodeStore); ok {
		rec, complete, err := qs.QuickCodeRecord(ctx, pseudonym, e.now())
		if err != nil {
			return nil, err
		}
		if complete {
			v, err := e.codeView(ctx, pseudonym, rec, nil)
			if err != errNeedsTx {
				return v, err
			}
		}
	}
	var v *healthcode.CodeView
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		rec, err := tx.CodeRecord(ctx, pseudonym, e.now())
		if err != nil {
			return err
		}
		v, err = e.codeView(ctx, pseudonym, rec, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// errNeedsTx is codeView's answer, without a transaction, for a record whose
// words must be read from the store.
var errNeedsTx = errors.New("engine: the explanation needs a read transaction")

// codeView makes what a person sees of the record: the decision they hold
// (the rule set's default if none) and every decision, with their words.
// With a nil tx it uses only what the engine holds in memory, and returns
// errNeedsTx if that is not enough.
func (e *Engine) codeView(ctx context.Context, pseudonym string, rec *healthcode.CodeRecord, tx healthcode.ReadTx) (*healthcode.CodeView, error) {
	v := &healthcode.CodeView{Person: rec.Person, History: rec.History, Pending: rec.Pending, Evidence: rec.Evidence}
	d := rec.Decision
	if d == nil {
		// Nothing decided yet: the default, which rests on no evidence.
		rs, _, err := e.ActiveRuleSet()
		if err != nil {
			return nil, err
		}
		if d, err = rs.Evaluate(pseudonym, nil, e.now()); err != nil {
			return nil, err
		}
		d.LogIndex = -1
	}
	v.Decision = d
	if err := e.explain(ctx, tx, v.Decision); err != nil {
		return nil, err
	}
	for i := range v.History {
		if err := e.explain(ctx, tx, &v.History[i]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// explain fills a stored decision's words from the rule set that made it
// (or the override). With a nil tx it uses only rule sets the engine has
// compiled, and returns errNeedsTx for anything else.
func (e *Engine) explain(ctx context.Context, tx healthcode.ReadTx, d *healthcode.Decision) error {
	if d.Text.EN != "" {
		return nil
	}
	if id := overrideID(d); id != 0 {
		if tx == nil {
			return errNeedsTx
		}
		o, err := tx.Override(ctx, id)
		if err != nil {
			return err
		}
		explainOverride(d, o)
		return nil
	}
	var rs healthcode.RuleSet
	if tx == nil {
		e.mu.Lock()
		rs = e.compiled[d.RuleSetVersion]
		e.mu.Unlock()
		if rs == nil {
			return errNeedsTx
		}
	} else {
		var err error
		if rs, err = e.ruleSetByVersion(ctx, tx, d.RuleSetVersion); err != nil {
			return err
		}
	}
	if r, ok := rs.Rule(d.RuleID); ok {
		d.Text, d.Lift, d.Basis = r.Text, r.Lift, r.Basis
	}
	return nil
}
