package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"healthcode"
)

// AsRecorded returns the evidence the node held at t: recorded at or
// before it. A decision was made from exactly that evidence.
func AsRecorded(evidence []healthcode.Evidence, t time.Time) []healthcode.Evidence {
	var out []healthcode.Evidence
	for _, e := range evidence {
		if !e.RecordedAt.After(t) {
			out = append(out, e)
		}
	}
	return out
}

// Recompute evaluates the rule set on the evidence held when the logged
// decision was made, at its time, and says how the result differs from
// it: "" if it is the same colour, reason, rule, evidence and lift time.
// The rule set must be the one the decision names (its hash): the caller
// checks it. This is what lets a person, or their lawyer, check offline
// that a colour came from the published rules.
func (r *RuleSet) Recompute(evidence []healthcode.Evidence, logged *healthcode.Decision) (*healthcode.Decision, string, error) {
	d, err := r.Evaluate(logged.Subject, AsRecorded(evidence, logged.DecidedAt), logged.DecidedAt)
	if err != nil {
		return nil, "", err
	}
	return d, Differences(logged, d), nil
}

// Differences says how a recomputed decision differs from a logged one, ""
// if in nothing the rules decide.
func Differences(logged, got *healthcode.Decision) string {
	var p []string
	if logged.Colour != got.Colour || logged.Reason != got.Reason {
		p = append(p, fmt.Sprintf("logged %s/%s, recomputed %s/%s", logged.Colour, logged.Reason, got.Colour, got.Reason))
	}
	if logged.RuleID != got.RuleID {
		p = append(p, fmt.Sprintf("logged rule %q, recomputed %q", logged.RuleID, got.RuleID))
	}
	a, b := slices.Sorted(slices.Values(logged.EvidenceIDs)), slices.Sorted(slices.Values(got.EvidenceIDs))
	if !slices.Equal(a, b) {
		p = append(p, fmt.Sprintf("logged evidence %v, recomputed %v", a, b))
	}
	if (logged.LiftsAt == nil) != (got.LiftsAt == nil) || (logged.LiftsAt != nil && !logged.LiftsAt.Equal(*got.LiftsAt)) {
		p = append(p, fmt.Sprintf("logged lift time %s, recomputed %s", fmtTime(logged.LiftsAt), fmtTime(got.LiftsAt)))
	}
	return strings.Join(p, "; ")
}
