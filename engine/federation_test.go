package engine_test

import (
	"testing"
	"time"

	"healthcode"
)

// flaggedSubject is an Integrity that says one person's state disagrees
// with the log.
type flaggedSubject string

func (f flaggedSubject) LogProblem() error { return nil }

func (f flaggedSubject) SubjectProblem(subject string) error {
	if subject == string(f) {
		return healthcode.Errorfd(healthcode.ETAMPERED, "integrity.subject", "flagged")
	}
	return nil
}

// TestCurrentDecision: what a peer region is told is the decision the
// person holds (Code's), the default for someone never decided, nothing
// for an unknown person, and nothing while the person's state is in doubt.
func TestCurrentDecision(t *testing.T) {
	e := newEnv(t, envConfig{})
	subj := e.subj[0]
	e.submitOK(lab, naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive))
	v, err := e.eng.Code(e.ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.eng.CurrentDecision(e.ctx, subj)
	if err != nil || d.Colour != healthcode.Red || d.LogIndex != v.Decision.LogIndex || d.Reason != v.Decision.Reason || d.LogIndex < 0 {
		t.Fatalf("CurrentDecision = %+v, %v; Code says %+v", d, err, v.Decision)
	}
	if d, err := e.eng.CurrentDecision(e.ctx, e.subj[1]); err != nil || d.Colour != healthcode.Green || d.LogIndex != -1 {
		t.Fatalf("never decided: %+v %v", d, err)
	}
	if _, err := e.eng.CurrentDecision(e.ctx, "pnobodyaaaaaaaaaaaaaaaaaa"); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Fatalf("unknown person: %v", err)
	}
	e.eng.Integrity = flaggedSubject(subj)
	if d, err := e.eng.CurrentDecision(e.ctx, subj); healthcode.ErrorCode(err) != healthcode.ETAMPERED || d != nil {
		t.Fatalf("a flagged person: %+v %v", d, err)
	}
}
