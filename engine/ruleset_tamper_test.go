package engine_test

import (
	"testing"
	"time"

	"healthcode"
)

// TestEditedRuleSetDecidesNothing edits the stored source of the rule set in
// force, as an insider with the database file would, and restarts the
// engine: it starts, but decides nothing from the edited source (no
// submission, no review), saying why. (The node's audit also finds the edit:
// see TestTamperDrill.)
func TestEditedRuleSetDecidesNothing(t *testing.T) {
	e := newEnv(t, envConfig{})
	if err := e.db.Exec(e.ctx, `UPDATE rulesets SET source = source || ? WHERE active`, []byte("\n# edited\n")); err != nil {
		t.Fatal(err)
	}
	before := len(e.history(e.subj[0]))
	eng := e.newEngine()
	if err := eng.Open(e.ctx); err != nil {
		t.Fatalf("Open on an edited rule set: %v (the node must start, to say why)", err)
	}
	if _, _, err := eng.ActiveRuleSet(); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Errorf("ActiveRuleSet = %v, want ETAMPERED", err)
	}
	e.eng = eng
	sent, _ := e.byTube([]healthcode.Submission{naTest(1, e.ids[0], "EDIT-1", e.clock.Now().Add(-time.Hour), "positive")})
	outs, err := eng.Submit(e.ctx, lab, sent)
	if healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Errorf("Submit under an edited rule set = %+v, %v; want ETAMPERED", outs, err)
	}
	if _, _, err := eng.ReviewDue(e.ctx, nil); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Errorf("ReviewDue under an edited rule set = %v, want ETAMPERED", err)
	}
	if n := len(e.history(e.subj[0])); n != before {
		t.Errorf("%d decisions about the person after the refused submission, %d before", n, before)
	}
}
