package engine

import (
	"context"
	"testing"

	"healthcode"
	"healthcode/rules"
)

// Without a transaction, a decision's words come only from a rule set the
// engine has compiled; an override's words, or another version's, need the
// store, and say so (errNeedsTx) rather than leave the words out.
func TestExplainWithoutTransaction(t *testing.T) {
	t.Parallel()
	rs, err := rules.Loader(rules.Baseline())
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{compiled: map[string]healthcode.RuleSet{rs.Version(): rs}}
	ctx := context.Background()

	d := &healthcode.Decision{RuleID: "close_contact", RuleSetVersion: rs.Version()}
	if err := e.explain(ctx, nil, d); err != nil || d.Text.EN == "" || d.Lift.EN == "" {
		t.Errorf("compiled rule set: %v, words %+v", err, d)
	}
	words := healthcode.Text{ZH: "已有", EN: "already"}
	kept := &healthcode.Decision{RuleID: "override/7", Text: words}
	if err := e.explain(ctx, nil, kept); err != nil || kept.Text != words {
		t.Errorf("decision with words: %v, %+v", err, kept)
	}
	for _, d := range []*healthcode.Decision{
		{RuleID: "close_contact", RuleSetVersion: "2019.12.1"}, // not compiled here
		{RuleID: "override/7", RuleSetVersion: rs.Version()},   // the override's words are stored
	} {
		if err := e.explain(ctx, nil, d); err != errNeedsTx {
			t.Errorf("explain(%s, %s) without a transaction = %v, want errNeedsTx", d.RuleID, d.RuleSetVersion, err)
		}
		if d.Text.EN != "" {
			t.Errorf("explain(%s, %s) without a transaction gave words %+v", d.RuleID, d.RuleSetVersion, d.Text)
		}
	}
}
