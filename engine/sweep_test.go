package engine_test

import (
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/rules"
)

// greenOnly is a rule set whose one rule is the baseline's default: every
// person green, none of them holding a stored decision.
func greenOnly(t *testing.T) []byte {
	t.Helper()
	src := string(rules.Baseline())
	head := src[:strings.Index(src, "\nrules:\n")]
	def := src[strings.Index(src, "  - id: default\n"):strings.Index(src, "\nexamples:\n")]
	head = strings.Replace(head, "\nversion: \"", "\nversion: \"green-only-", 1)
	return []byte(head + "\nrules:\n" + def + `
examples:
  - name: a fever visit is green here
    now: "2022-07-15T12:00:00+08:00"
    evidence:
      - {kind: diagnosis, observed_at: -1h, diagnosis: fever}
    expect: {colour: green, reason: none, rule: default, lifts_at: none, evidence_ids: []}
`)
}

// TestPublicationReevaluatesEvidenceWithoutDecision: a person whose
// evidence gave the old rule set's default holds no decision, so nothing
// marks them for review; the new rule set gives their evidence a colour,
// and the review after the publication must find them (the sweep over
// everyone with evidence), not leave them green until new evidence comes.
func TestPublicationReevaluatesEvidenceWithoutDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3, noRuleSet: true})
	if _, err := e.eng.PublishRuleSet(e.ctx, system, greenOnly(t)); err != nil {
		t.Fatal(err)
	}
	fever := healthcode.Submission{Line: 1, IDNumber: e.ids[0], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
		Diagnosis: healthcode.DiagnosisFever, ExternalID: "fever-1", ObservedAt: t0.Add(-time.Hour)}}
	e.submitOK(clinic, fever)
	if d := e.decision(e.subj[0]); d != nil {
		t.Fatalf("under the green-only rule set the person holds %+v, want no decision", d)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.eng.PublishRuleSet(e.ctx, system, rules.Baseline()); err != nil {
		t.Fatal(err)
	}
	reviewed, changed, err := e.eng.ReviewDue(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := e.decision(e.subj[0])
	if d == nil || d.Colour != healthcode.Yellow || d.RuleID != "fever" {
		t.Fatalf("after the baseline's publication and review the person with a fever visit holds %+v, want yellow by rule fever", d)
	}
	if reviewed != 1 || changed != 1 {
		t.Errorf("ReviewDue = %d reviewed, %d changed; want 1, 1 (the one person with evidence)", reviewed, changed)
	}
	// Their code says so (not the default computed for no evidence), and
	// the log explains it.
	v, err := e.eng.Code(e.ctx, e.subj[0])
	if err != nil || v.Decision.Colour != healthcode.Yellow {
		t.Errorf("Code = %+v, %v; want yellow", v, err)
	}
	checkExplained(t, e, e.subj)
	// The sweep is over: a second review finds nothing to do.
	if reviewed, changed, err := e.eng.ReviewDue(e.ctx, nil); err != nil || reviewed != 0 || changed != 0 {
		t.Errorf("a second ReviewDue = %d, %d, %v; want 0, 0", reviewed, changed, err)
	}
}
