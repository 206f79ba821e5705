package federation

import (
	"slices"
	"testing"

	"healthcode"
	"healthcode/rules"
)

// TestDefaultAcceptedReasons: the default epidemiological list is exactly
// the reasons of the baseline rule set's yellow and red rules (a rule
// added to the baseline is honoured across regions; nothing else is), and
// no override reason is on it.
func TestDefaultAcceptedReasons(t *testing.T) {
	rs, err := rules.Load("baseline", rules.Baseline())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rs.Rules() {
		if r.Colour.Restrictive() && !slices.Contains(want, r.Reason) {
			want = append(want, r.Reason)
		}
	}
	got := slices.Clone(healthcode.DefaultAcceptedReasons)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("DefaultAcceptedReasons = %v\nbaseline's restrictive reasons = %v", got, want)
	}
	p := healthcode.AcceptancePolicy{Reasons: healthcode.DefaultAcceptedReasons}
	for _, o := range healthcode.OverrideReasons {
		if p.Accepts(o) || p.Accepts("override."+o) {
			t.Errorf("the override reason %s is accepted", o)
		}
	}
	if p.Accepts("") || p.Accepts("none") {
		t.Error("no reason is accepted")
	}
}
