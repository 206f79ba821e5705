package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"healthcode/scenario"
)

// scenarioRun is one playing of `healthcode scenario zhengzhou --json`,
// shared by the tests that judge it (it takes most of a minute).
type scenarioRun struct {
	code     int
	stderr   string
	attempts map[string]scenario.Attempt
	lawful   scenario.Lawful
	targets  scenario.Targets
	summary  scenario.Summary
}

var (
	scenarioOnce   sync.Once
	scenarioResult *scenarioRun
)

// playScenario runs the command at a test's scale (200 people on the list
// of a city of 2,000: the bulk limits of 20 are crossed tenfold) and parses
// its JSON lines by their stable field names.
func playScenario(t *testing.T) *scenarioRun {
	t.Helper()
	if testing.Short() {
		t.Skip("the scenario plays for most of a minute")
	}
	scenarioOnce.Do(func() {
		var out, errb bytes.Buffer
		code := Run(context.Background(), []string{"scenario", "zhengzhou", "--json", "--people", "2000", "--targets", "200"}, &out, &errb)
		s := &scenarioRun{code: code, stderr: errb.String(), attempts: map[string]scenario.Attempt{}}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var kind struct {
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal([]byte(line), &kind); err != nil {
				s.stderr += "\nnot JSON: " + line
				continue
			}
			var err error
			switch kind.Kind {
			case "attempt":
				var a scenario.Attempt
				err = json.Unmarshal([]byte(line), &a)
				s.attempts[a.ID] = a
			case "lawful":
				err = json.Unmarshal([]byte(line), &s.lawful)
			case "targets":
				err = json.Unmarshal([]byte(line), &s.targets)
			case "summary":
				err = json.Unmarshal([]byte(line), &s.summary)
			default:
				s.stderr += "\nunknown kind: " + line
			}
			if err != nil {
				s.stderr += "\n" + err.Error()
			}
		}
		scenarioResult = s
	})
	s := scenarioResult
	if s.code != exitOK && s.code != exitRejected || len(s.attempts) != 8 || s.summary.Kind != "summary" {
		t.Fatalf("scenario: exit %d, %d attempts, summary %+v\n%s", s.code, len(s.attempts), s.summary, s.stderr)
	}
	return s
}

// TestScenarioRefusals: the attempts the node refuses outright are refused
// in full (every request, no target's colour changed); the lawful work in
// the same city is done with nothing refused and restricts its people;
// every target above green sees why and can appeal; and a direct write of
// the database is never shown as a colour once the node's audit has seen
// it (the node fails closed for those people).
func TestScenarioRefusals(t *testing.T) {
	s := playScenario(t)
	// (e2) changes no one's colour since a venue slot has a capacity: the
	// photo of the restaurant's live code, scanned by the list at once,
	// proves no one's presence, so the designation citing the case (which
	// is refused when the case's own check-in shared the crowded slot, and
	// approved, and alerted, when not) reaches none of them.
	if a := s.attempts["e2"]; a.TargetsChanged != 0 || a.Outcome != scenario.Refused && a.Outcome != scenario.Alerted {
		t.Errorf("attempt (e2) %s changed %d targets' colour: %+v", a.Path, a.TargetsChanged, a)
	}
	for _, id := range []string{"a", "b", "c", "e"} {
		a := s.attempts[id]
		if !a.Refused || a.TargetsChanged != 0 || a.InForce != 0 || a.Outcome != scenario.Refused {
			t.Errorf("attempt (%s) %s was not refused: %+v", id, a.Path, a)
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if a := s.attempts[id]; a.Requests == 0 || a.RequestsRefused != a.Requests {
			t.Errorf("attempt (%s) %s: %d of %d requests refused, want all", id, a.Path, a.RequestsRefused, a.Requests)
		}
	}
	// (d): past the bulk limit every contact waits for an auditor.
	if d := s.attempts["d"]; d.InForce > 20 || d.Held < 200-20 {
		t.Errorf("attempt (d): %d contacts in force, %d held; want at most 20 in force (the bulk limit), the rest held", d.InForce, d.Held)
	}
	if l := s.lawful; l.Refused != 0 || l.Actions < 100 || l.Restricted == 0 {
		t.Errorf("the lawful work: %+v", l)
	}
	tg := s.targets
	if tg.People != 200 || tg.Unexplained != 0 || tg.NoAppeal != 0 || tg.Appealed != tg.Yellow+tg.Red {
		t.Errorf("what the targets see: %+v", tg)
	}
	// The scenario waits a minute for oversight after the write: the
	// node's audit (every 15 s) has seen it, and shows none of it.
	if f := s.attempts["f"]; f.InForce != 200 || tg.Withheld != 200 {
		t.Errorf("attempt (f): %d rows written, %d people's codes withheld, want 200 and 200", f.InForce, tg.Withheld)
	}
}

// TestScenarioAlerts: every attempt is refused, or alerted within 60 s of
// its first effect by an alert naming each official whose requests are in
// the log; the attempts the node cannot refuse today (a second unit that
// colludes, a write under the node) are each alerted; the direct write, which no official makes through the node, by
// an alert naming the people concerned; and the lawful work raises none.
func TestScenarioAlerts(t *testing.T) {
	s := playScenario(t)
	if s.summary.AlertsAPI != "" {
		t.Fatalf("the alerts could not be read: %s", s.summary.AlertsAPI)
	}
	for id, a := range s.attempts {
		if a.Outcome != scenario.Refused && a.Outcome != scenario.Alerted {
			t.Errorf("attempt (%s) %s: %s: in force %d, %d targets changed, alert after %v s by %v, naming %v of %v", id, a.Path, a.Outcome,
				a.InForce, a.TargetsChanged, deref(a.AlertSeconds), a.Detectors, a.OfficialsNamed, a.Officials)
		}
	}
	for _, id := range []string{"d", "g", "f"} {
		if a := s.attempts[id]; a.Outcome != scenario.Alerted || a.AlertSeconds == nil || *a.AlertSeconds > 60 {
			t.Errorf("attempt (%s) %s took effect and was not alerted in time: %+v", id, a.Path, a)
		}
	}
	if s.lawful.FalseAlerts != 0 {
		t.Errorf("the lawful work raised %d alerts (%v)", s.lawful.FalseAlerts, s.lawful.Detectors)
	}
	if !s.summary.OK || s.code != exitOK {
		t.Errorf("the scenario says not OK: exit %d, %+v", s.code, s.summary)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
