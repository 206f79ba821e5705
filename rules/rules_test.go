package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
)

// tmpl is a small valid rule set; tests break it one way at a time. Line 7
// holds the condition, whose text starts at column 16.
const tmpl = `version: "t1"
name: test
rules:
  - id: contact
    colour: red
    reason: close_contact
    condition: has(s.close_contact.at) && s.close_contact.day <= 10
    lifts_at: s.close_contact.at + days(10)
    window: 10d
    text: {zh: 密接, en: close contact}
    lift: {zh: 满10天, en: ten days}
    basis: test basis
  - id: default
    colour: green
    reason: none
    condition: "true"
    text: {zh: 无, en: none}
    basis: test basis
examples:
  - name: contact
    now: "2022-07-15T12:00:00Z"
    evidence: [{kind: close_contact, observed_at: -1d}]
    expect: {colour: red, reason: close_contact, lifts_at: +9d}
  - name: nobody
    now: "2022-07-15T12:00:00Z"
    evidence: []
    expect: {colour: green, reason: none}
`

func replace(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(tmpl, old) {
		t.Fatalf("template has no %q", old)
	}
	return strings.Replace(tmpl, old, new, 1)
}

const cond = "has(s.close_contact.at) && s.close_contact.day <= 10"

// TestEvidenceWindow checks that no rule sees evidence older than the rule
// set's window (28 days by default), whatever the rule says.
func TestEvidenceWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	// A rule with a time bound of its own longer than the evidence window.
	src := strings.Replace(replace(t, cond, "has(s.close_contact.at) && s.close_contact.day <= 300"), "window: 10d", "window: 300d", 1)
	src = strings.Replace(src, ", lifts_at: +9d}", "}", 1) // the lift time depends on the evidence window
	for _, tc := range []struct {
		window string // evidence_window line, "" for the default
		age    time.Duration
		want   healthcode.Colour
	}{
		{"", 28*Day - time.Minute, healthcode.Red},
		{"", 28*Day + time.Minute, healthcode.Green},
		{"", 6 * 365 * Day, healthcode.Green}, // sampled 2020, submitted today
		{"evidence_window: 7d\n", 6 * Day, healthcode.Red},
		{"evidence_window: 7d\n", 8 * Day, healthcode.Green},
	} {
		rs, err := Load("t.yaml", []byte(strings.Replace(src, "name: test\n", "name: test\n"+tc.window, 1)))
		if err != nil {
			t.Fatal(err)
		}
		evs := []healthcode.Evidence{ev(1, healthcode.CloseContact, now.Add(-tc.age)), ev(2, healthcode.Vaccination, now.Add(-time.Hour))}
		d, err := rs.Evaluate("p", evs, now)
		if err != nil {
			t.Fatal(err)
		}
		if d.Colour != tc.want {
			t.Errorf("window %q, contact %s ago: %s, want %s", tc.window, tc.age, d.Colour, tc.want)
		}
		if len(evs) != 2 || evs[0].ID != 1 {
			t.Errorf("Evaluate changed its input: %+v", evs)
		}
	}
}

func TestTemplateLoads(t *testing.T) {
	t.Parallel()
	rs, err := Load("t.yaml", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Version() != "t1" || rs.Name() != "test" {
		t.Errorf("version %q name %q", rs.Version(), rs.Name())
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		src    string
		detail string
		msg    string // a substring of the message
	}{
		{"yaml syntax", replace(t, "    reason: close_contact\n", "    reason: [close_contact\n"), "rules.parse", "t.yaml: "},
		{"empty", "", "rules.parse", "empty document"},
		{"not a mapping", "- a\n- b\n", "rules.parse", "t.yaml:"},
		{"unknown key", replace(t, "    basis: test basis\n  - id: default", "    basys: test basis\n  - id: default"), "rules.parse", "field basys not found"},
		{"unknown colour", replace(t, "colour: red", "colour: purple"), "rules.parse", `t.yaml:5:13: rule "contact": unknown colour "purple"`},
		{"duplicate id", replace(t, "id: default", "id: contact"), "rules.parse", `t.yaml:13:9: duplicate rule id "contact" (first at 4:5)`},
		{"bad id", replace(t, "id: contact", "id: Contact!"), "rules.parse", `t.yaml:4:9: rule id "Contact!"`},
		{"no basis", replace(t, "    basis: test basis\n  - id: default", "  - id: default"), "rules.parse", `rule "contact": every rule needs its legal basis`},
		{"no lift text", replace(t, "    lift: {zh: 满10天, en: ten days}\n", ""), "rules.parse", `a red rule must say what lifts it`},
		{"no default", replace(t, `condition: "true"`, `condition: "1 == 1"`), "rules.parse", `the last rule ("default") must be the default`},
		{"bad region", replace(t, "name: test\n", "name: test\nregion: \"990000\"\n"), "rules.parse", `t.yaml:3:9: region "990000" has no valid province part`},
		{"bad review interval", replace(t, "name: test\n", "name: test\nreview_interval: soon\n"), "rules.parse", "review_interval must be a positive duration"},
		{"zero evidence window", replace(t, "name: test\n", "name: test\nevidence_window: 0d\n"), "rules.parse", "evidence_window must be a positive duration"},
		{"evidence window beyond a year", replace(t, "name: test\n", "name: test\nevidence_window: 400d\n"), "rules.parse", "evidence_window must be a positive duration"},
		{"bad example time", replace(t, "observed_at: -1d", "observed_at: yesterday"), "rules.parse", `example "contact", evidence 1: observed_at: "yesterday" is neither`},
		{"bad example evidence", replace(t, "kind: close_contact", "kind: rumour"), "rules.parse", `unknown evidence kind "rumour"`},
		{"future example evidence", replace(t, "observed_at: -1d", "observed_at: +1d"), "rules.parse", "in the future"},
		{"no now", replace(t, `    now: "2022-07-15T12:00:00Z"
    evidence: []`, `    evidence: []`), "rules.parse", `example "nobody": now must be an RFC 3339 time`},
		{"cel syntax", replace(t, cond, "has(s.close_contact.at) && s.close_contact.day <="), "rules.compile", `t.yaml:7:`},
		{"undeclared reference", replace(t, cond, "has(s.close_contact.at) && foo"), "rules.compile", `t.yaml:7:43: rule "contact": undeclared reference to 'foo'`},
		{"unknown field", replace(t, cond, "s.close_contact.when > now"), "rules.compile", `t.yaml:7:31: rule "contact": undefined field 'when'`},
		{"timestamp compared to int", replace(t, cond, "s.close_contact.at > 3"), "rules.compile", `t.yaml:7:35: rule "contact": found no matching overload for '_>_' applied to '(timestamp, int)'`},
		{"non-bool condition", replace(t, cond, "s.close_contact.day"), "rules.compile", `t.yaml:7:16: rule "contact": condition must be of type bool, not int`},
		{"dyn condition", replace(t, cond, "dyn(s.close_contact.day)"), "rules.compile", `condition must be of type bool, not dyn`},
		{"non-timestamp lifts_at", replace(t, "lifts_at: s.close_contact.at + days(10)", "lifts_at: s.close_contact.day"), "rules.compile", `t.yaml:8:15: rule "contact": lifts_at must be of type timestamp, not int`},
		{"lifts_at error", replace(t, "lifts_at: s.close_contact.at + days(10)", "lifts_at: s.close_contact.at + 10"), "rules.compile", `t.yaml:8:34: rule "contact": lifts_at: found no matching overload`},
		{"quoted condition", replace(t, cond, `"has(s.close_contact.at) && bar"`), "rules.compile", `t.yaml:7:44: rule "contact": undeclared reference to 'bar'`},
		{"block condition", replace(t, cond, "|-\n      has(s.close_contact.at) &&\n        s.close_contact.day <= 10 && baz"), "rules.compile", `t.yaml:9:38: rule "contact": undeclared reference to 'baz'`},
		{"folded condition", replace(t, cond, ">-\n      has(s.close_contact.at) &&\n      qux"), "rules.compile", `t.yaml:9:7: rule "contact": undeclared reference to 'qux'`},
		{"constructing a summary", replace(t, cond, "s == rules.Summary{}"), "rules.compile", `t.yaml:7:34: rule "contact": rules read the summary and cannot construct objects`},
		{"failing example", replace(t, "expect: {colour: red, reason: close_contact, lifts_at: +9d}", "expect: {colour: green, reason: none}"),
			"rules.example", `t.yaml:20:5: example "contact": got red/close_contact, want green/none`},
		{"wrong lift time", replace(t, "lifts_at: +9d}", "lifts_at: +8d}"), "rules.example", "lifts at 2022-07-24T12:00:00Z, want 2022-07-23T12:00:00Z"},
		{"restrictive rule with no window", replace(t, "    window: 10d\n", ""), "rules.unbounded", `t.yaml:4:5: rule "contact" is red and states no window`},
		{"bad window", replace(t, "window: 10d", "window: forever"), "rules.parse", `t.yaml:9:13: rule "contact": window must be a positive duration`},
		{"window beyond a year", replace(t, "window: 10d", "window: 367d"), "rules.parse", `rule "contact": window must be a positive duration`},
		{"green rule with a window", replace(t, "    condition: \"true\"\n", "    condition: \"true\"\n    window: 1d\n"), "rules.parse", `rule "default": a green rule restricts no one and takes no window`},
		{"condition outlasts its window", replace(t, cond, "has(s.close_contact.at)"), "rules.window",
			`t.yaml:4:5: rule "contact" still holds 10d after its newest evidence (the evidence of example "contact")`},
		{"condition holds with no evidence", replace(t, cond, "s.vaccination_doses == 0 || has(s.close_contact.at) && s.close_contact.day <= 10"), "rules.unbounded",
			`t.yaml:4:5: rule "contact" holds for a person with no evidence at all`},
		{"runtime error", replace(t, cond, "has(s.close_contact.at) && s.close_contact.day / 0 == 1"), "rules.example", "division by zero"},
		{"uncovered rule", replace(t, `  - name: contact
    now: "2022-07-15T12:00:00Z"
    evidence: [{kind: close_contact, observed_at: -1d}]
    expect: {colour: red, reason: close_contact, lifts_at: +9d}
`, ""), "rules.coverage", `t.yaml:4:5: rule "contact" is exercised by no example`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("loaded")
			}
			if got := healthcode.ErrorCode(err); got != healthcode.EINVALID {
				t.Errorf("code %q, want invalid (%v)", got, err)
			}
			if got := healthcode.ErrorDetail(err); got != tt.detail {
				t.Errorf("detail %q, want %q (%v)", got, tt.detail, err)
			}
			if msg := healthcode.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message\n%s\ndoes not contain\n%s", msg, tt.msg)
			}
		})
	}
}

func TestBaseline(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	sum := sha256.Sum256(Baseline())
	if rs.Hash() != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s", rs.Hash())
	}
	var ids []string
	for _, r := range rs.Rules() {
		ids = append(ids, r.ID)
		if r.Text.ZH == "" || r.Text.EN == "" || r.Basis == "" || !r.Colour.Valid() {
			t.Errorf("rule %s is not fully described: %+v", r.ID, r)
		}
		if got, ok := rs.Rule(r.ID); !ok || got != r {
			t.Errorf("Rule(%q) = %+v, %v", r.ID, got, ok)
		}
	}
	want := []string{"confirmed", "asymptomatic", "suspected", "positive_test", "pooled_positive", "close_contact",
		"high_risk_arrival", "isolation", "secondary_contact", "medium_risk_arrival", "venue_exposure", "antigen_positive", "fever", "discharged",
		"isolation_monitoring", "low_risk_arrival", "default"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if _, ok := rs.Rule("nonexistent"); ok {
		t.Error("Rule found a nonexistent rule")
	}
	// Baseline returns a copy: a caller cannot change the embedded source.
	b := Baseline()
	b[0] = 'X'
	if Baseline()[0] == 'X' {
		t.Error("Baseline exposes the embedded bytes")
	}
}

func TestShanghaiVariant(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("examples/shanghai-2022.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Load("shanghai-2022.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Region() != "310000" {
		t.Errorf("region %q", rs.Region())
	}
	// Every restrictive rule is bounded: no local rule holds anyone with
	// no evidence.
	now := benchNow
	d, err := rs.Evaluate("p", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Colour != healthcode.Green {
		t.Errorf("no evidence: %s/%s", d.Colour, d.Reason)
	}
	// The variant turns yellow someone under a testing duty whom the
	// baseline leaves green; the green code before says when.
	began := now.Add(-4 * Day)
	duty := ev(1, healthcode.TestingDuty, began, func(e *healthcode.Evidence) {
		e.Until, e.Every, e.Area, e.CaseRef = began.Add(10*Day), 72*time.Hour, "310104", "round-1"
	})
	d, err = rs.Evaluate("p", []healthcode.Evidence{duty}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Colour != healthcode.Yellow || d.Reason != "missed_required_test" || d.LiftsAt == nil || !d.LiftsAt.Equal(duty.Until) {
		t.Errorf("duty with no test: %s/%s lifts at %v", d.Colour, d.Reason, d.LiftsAt)
	}
	before, err := rs.Evaluate("p", []healthcode.Evidence{duty}, began.Add(71*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if due := began.Add(72 * time.Hour); before.Colour != healthcode.Green || before.LiftsAt == nil || !before.LiftsAt.Equal(due) || !before.ReviewAt.Equal(due) {
		t.Errorf("an hour before the test is due: %s, changes at %v, reviewed at %v; want green changing at %v", before.Colour, before.LiftsAt, before.ReviewAt, due)
	}
	base, err := loadBaseline(t).Evaluate("p", []healthcode.Evidence{duty}, now)
	if err != nil {
		t.Fatal(err)
	}
	if base.Colour != healthcode.Green || base.LiftsAt != nil {
		t.Errorf("baseline, a duty with no test: %s changing at %v", base.Colour, base.LiftsAt)
	}
}

// ev builds evidence for tests.
func ev(id int64, kind healthcode.EvidenceKind, at time.Time, f ...func(*healthcode.Evidence)) healthcode.Evidence {
	e := healthcode.Evidence{ID: id, Kind: kind, Subject: "p", Submitter: "lab-1", ExternalID: "x", ObservedAt: at}
	for _, fn := range f {
		fn(&e)
	}
	return e
}

func negative(e *healthcode.Evidence) { e.Result = healthcode.Negative }
func positive(e *healthcode.Evidence) { e.Result = healthcode.Positive }
func pooled(e *healthcode.Evidence)   { e.Pooled, e.PoolID = true, "tube-1" }

func TestEvaluateDecision(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	now := time.Date(2022, 7, 15, 4, 0, 0, 0, time.UTC)
	contact := now.Add(-5 * Day)
	evs := []healthcode.Evidence{
		ev(30, healthcode.NucleicAcidTest, now.Add(-4*Day), negative),
		ev(10, healthcode.CloseContact, contact, func(e *healthcode.Evidence) { e.CaseRef = "C-1" }),
		ev(20, healthcode.NucleicAcidTest, now.Add(-6*Day), negative), // before the exposure: not used
		ev(40, healthcode.Vaccination, now.Add(-90*Day), func(e *healthcode.Evidence) { e.Dose = 2 }),
	}
	got, err := rs.Evaluate("p1", evs, now)
	if err != nil {
		t.Fatal(err)
	}
	lifts := contact.Add(14 * Day) // tests are still due: by time alone, at the end of the window
	info, _ := rs.Rule("close_contact")
	want := &healthcode.Decision{
		Subject: "p1", Colour: healthcode.Red, Reason: "close_contact", RuleID: "close_contact",
		RuleSetVersion: rs.Version(), RuleSetHash: rs.Hash(),
		EvidenceIDs:    []int64{10, 30},
		EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{evs[1], evs[0]}),
		Text:           info.Text, Lift: info.Lift, Basis: info.Basis,
		LiftsAt: &lifts, ReviewAt: now.Add(time.Hour), DecidedAt: now,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}

	// Lifting within the review interval: review at the lift time.
	soon := now.Add(-7*Day + 20*time.Minute)
	got, err = rs.Evaluate("p1", []healthcode.Evidence{ev(1, healthcode.Travel, soon, func(e *healthcode.Evidence) { e.RiskLevel, e.Area = healthcode.RiskHigh, "420100" })}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.LiftsAt == nil || !got.LiftsAt.Equal(now.Add(20*time.Minute)) || !got.ReviewAt.Equal(*got.LiftsAt) {
		t.Errorf("lifts at %v, review at %v; want both %v", got.LiftsAt, got.ReviewAt, now.Add(20*time.Minute))
	}

	// Green: no evidence named, reviewed a day later.
	got, err = rs.Evaluate("p1", evs[3:], now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Colour != healthcode.Green || len(got.EvidenceIDs) != 0 || got.LiftsAt != nil ||
		!got.ReviewAt.Equal(now.Add(24*time.Hour)) || got.EvidenceDigest != healthcode.EvidenceSetDigest(nil) {
		t.Errorf("green decision: %+v", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	now := time.Date(2022, 7, 15, 12, 0, 0, 0, time.UTC)
	exp := now.Add(-10*Day - 2*time.Hour)
	evs := []healthcode.Evidence{
		ev(9, healthcode.NucleicAcidTest, exp.Add(9*Day+3*time.Hour), negative),
		ev(1, healthcode.CloseContact, exp),
		ev(2, healthcode.NucleicAcidTest, exp.Add(time.Hour), negative),
		ev(3, healthcode.NucleicAcidTest, exp.Add(5*time.Hour), negative, pooled), // same day 1
		ev(4, healthcode.NucleicAcidTest, exp.Add(2*Day), positive, pooled),
		ev(5, healthcode.NucleicAcidTest, exp.Add(4*Day), positive),
		ev(6, healthcode.AntigenTest, exp.Add(5*Day), negative),
		ev(7, "check_in", exp.Add(5*Day)),                                                                      // unknown kind: ignored
		ev(8, healthcode.NucleicAcidTest, exp.Add(6*Day), func(e *healthcode.Evidence) { e.Result = "maybe" }), // ignored
		ev(10, healthcode.Vaccination, exp.Add(-Day), func(e *healthcode.Evidence) { e.Dose = 3 }),
		ev(11, healthcode.Vaccination, exp, func(e *healthcode.Evidence) { e.Dose = 2 }),
	}
	s := Summarize(evs, now)
	cc := s.CloseContact
	type view struct {
		At                                  time.Time
		Day, LastNegativeDay, NegativeCount int64
		NegativeDays                        []int64
		NegativeSpan                        time.Duration
	}
	got := view{cc.At, cc.Day, cc.LastNegativeDay, cc.NegativeCount, cc.NegativeDays, cc.NegativeSpan}
	want := view{exp, 11, 10, 3, []int64{1, 10}, 9*Day + 2*time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("close contact (-want +got):\n%s", diff)
	}
	checks := []struct {
		name string
		ep   Episode
		at   time.Time
	}{
		{"last test", s.LastTest, exp.Add(9*Day + 3*time.Hour)},
		{"pooled positive", s.PooledPositive, exp.Add(2 * Day)},
		{"single positive", s.SinglePositive, exp.Add(4 * Day)},
		{"single test", s.SingleTest, exp.Add(9*Day + 3*time.Hour)},
		{"single negative", s.SingleNegative, exp.Add(9*Day + 3*time.Hour)},
		{"vaccination", s.Vaccination, exp.Add(-Day)},
	}
	for _, c := range checks {
		if !c.ep.Present() || !c.ep.At.Equal(c.at) {
			t.Errorf("%s at %v, want %v", c.name, c.ep.At, c.at)
		}
	}
	if s.AntigenPositive.Present() || s.Confirmed.Present() {
		t.Error("absent episodes present")
	}
	if s.VaccinationDoses != 3 {
		t.Errorf("doses %d", s.VaccinationDoses)
	}
	// Order does not matter.
	rev := make([]healthcode.Evidence, len(evs))
	for i := range evs {
		rev[len(evs)-1-i] = evs[i]
	}
	s2 := Summarize(rev, now)
	if s2.CloseContact.NegativeSpan != cc.NegativeSpan || !slicesEqual(s2.CloseContact.NegativeDays, cc.NegativeDays) || s2.present != s.present {
		t.Error("summary depends on evidence order")
	}
}

func slicesEqual(a, b []int64) bool { return cmp.Equal(a, b) }

// TestDeterministic evaluates random evidence sets twice, the second time
// shuffled, and wants the same decision.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 2000 {
		evs := randomEvidence(r, benchNow)
		a, err := rs.Evaluate("p", evs, benchNow)
		if err != nil {
			t.Fatal(err)
		}
		shuffled := append([]healthcode.Evidence(nil), evs...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		b, err := rs.Evaluate("p", shuffled, benchNow)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("set %d: decisions differ (-first +shuffled):\n%s", i, diff)
		}
		if !a.Same(b) {
			t.Fatalf("set %d: not Same", i)
		}
		// The decision names the evidence that triggered it.
		if a.Colour != healthcode.Green && a.RuleID != "default" && len(a.EvidenceIDs) == 0 {
			t.Fatalf("set %d: %s decision rests on no evidence", i, a.RuleID)
		}
	}
}

// TestDifferential checks the CEL baseline against the hand-written one.
func TestDifferential(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	r := rand.New(rand.NewPCG(2022, 6))
	seen := map[string]int{}
	for i := range 20000 {
		now := benchNow.Add(time.Duration(r.Int64N(int64(30 * Day))))
		evs := randomEvidence(r, now)
		s := Summarize(evs, now)
		rule, err := rs.Match(&s)
		if err != nil {
			t.Fatal(err)
		}
		colour, reason := EvaluateBaselineByHand(&s, now)
		if rule.Colour.String() != colour || rule.Reason != reason {
			t.Fatalf("set %d: CEL says %s/%s (rule %s), by hand %s/%s; evidence %+v", i, rule.Colour, rule.Reason, rule.ID, colour, reason, evs)
		}
		seen[rule.ID]++
	}
	for _, info := range rs.Rules() {
		if seen[info.ID] == 0 {
			t.Errorf("rule %s never decided in the random sets: the test does not reach it", info.ID)
		}
	}
}

// TestDynamicAccess exercises paths the baseline does not: whole episodes as
// values, dynamic field access and a comprehension variable shadowing s.
func TestDynamicAccess(t *testing.T) {
	t.Parallel()
	src := replace(t, cond, `has(dyn(s).close_contact.at) && s.close_contact == s.close_contact && [1].exists(s, s == 1) && dyn(s).close_contact.day <= 10 && s.vaccination_doses == 0`)
	rs, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	now := benchNow
	d, err := rs.Evaluate("p", []healthcode.Evidence{ev(5, healthcode.CloseContact, now.Add(-Day)), ev(6, healthcode.NucleicAcidTest, now, negative)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Colour != healthcode.Red {
		t.Errorf("colour %s", d.Colour)
	}
	// s as a whole is read (dyn(s)), so every episode's evidence counts.
	if diff := cmp.Diff([]int64{5, 6}, d.EvidenceIDs); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	src := replace(t, "expect: {colour: red, reason: close_contact, lifts_at: +9d}", "expect: {colour: yellow, reason: close_contact}")
	rep, err := Test("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Error("report OK with a failing example")
	}
	out := rep.String()
	for _, want := range []string{"FAIL  contact (t.yaml:20:5)", "got red/close_contact, want yellow/close_contact",
		"PASS  nobody", "examples: 1 passed, 1 failed", "FAILED"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil || b.String() != out {
		t.Errorf("Write: %v", err)
	}

	rep, err = Test(BaselineName, Baseline())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !strings.HasSuffix(rep.String(), "ok\n") {
		t.Errorf("baseline report:\n%s", rep)
	}
	if _, err := Test("t.yaml", []byte("rules: [")); healthcode.ErrorDetail(err) != "rules.parse" {
		t.Errorf("Test on bad YAML: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2022, 7, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"-3d", now.Add(-3 * Day), true},
		{"-2d12h", now.Add(-2*Day - 12*time.Hour), true},
		{"+30m", now.Add(30 * time.Minute), true},
		{"0", now, true},
		{"2022-07-01T08:00:00+08:00", time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"-", time.Time{}, false},
		{"-d", time.Time{}, false},
		{"3x", time.Time{}, false},
		{"-1d-3h", time.Time{}, false},
		{"-99999999d", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, now)
		if (err == nil) != tt.ok || (tt.ok && !got.Equal(tt.want)) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestGuards checks that the baseline is evaluated through its guards and
// residual conditions, the fast path, and never falls back to whole
// conditions.
func TestGuards(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	for _, c := range rs.rules {
		switch {
		case c.ID == "default":
			if c.guard != 0 || c.residual != nil {
				t.Errorf("default: guard %b, residual %v", c.guard, c.residual)
			}
		case c.guard == 0:
			t.Errorf("%s: no guard", c.ID)
		case c.residual == c.cond:
			t.Errorf("%s: residual fell back to the whole condition", c.ID)
		}
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	t.Parallel()
	rs := loadBaseline(t)
	r := rand.New(rand.NewPCG(3, 4))
	sets := make([][]healthcode.Evidence, 200)
	want := make([]*healthcode.Decision, len(sets))
	for i := range sets {
		sets[i] = randomEvidence(r, benchNow)
		d, err := rs.Evaluate("p", sets[i], benchNow)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for i := range sets {
				d, err := rs.Evaluate("p", sets[i], benchNow)
				if err == nil && !cmp.Equal(d, want[i]) {
					err = fmt.Errorf("set %d: decision differs under concurrency", i)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestLoader(t *testing.T) {
	t.Parallel()
	rs, err := Loader(Baseline())
	if err != nil {
		t.Fatal(err)
	}
	if rs.Version() != "cn-2022.06-9" {
		t.Errorf("version %q", rs.Version())
	}
	if _, err := Loader([]byte("version: x")); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("Loader on a bad rule set: %v", err)
	}
}

// TestUnverifiedPresenceNeverRaisesAColour is invariant 5 against a rule set
// that tries: its only non-green rule fires on any venue exposure, and still
// an unverified one (a printed code, a forwarded photo) leaves the person
// green; a verified one does not.
func TestUnverifiedPresenceNeverRaisesAColour(t *testing.T) {
	t.Parallel()
	src := `version: tries-1
name: a rule set that tries to use unverified presence
rules:
  - id: any_presence
    colour: red
    reason: was_there
    condition: (has(s.venue_exposure.at) || s.venue_exposure.day >= 0 && s.venue_exposure.at != timestamp('0001-01-01T00:00:00Z')) && s.venue_exposure.day <= 7
    window: 7d
    text: {zh: 到过, en: was there}
    lift: {zh: 无, en: never}
    basis: none
  - id: default
    colour: green
    reason: none
    condition: "true"
    text: {zh: 绿码, en: green}
    basis: none
examples:
  - name: verified
    now: "2022-07-15T12:00:00Z"
    evidence: [{kind: venue_exposure, observed_at: -1d, verified: true}]
    expect: {colour: red, reason: was_there}
  - name: unverified
    now: "2022-07-15T12:00:00Z"
    evidence: [{kind: venue_exposure, observed_at: -1d, verified: false}]
    expect: {colour: green, reason: none}
`
	rs, err := Load("tries.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	now := time.Date(2022, 7, 15, 12, 0, 0, 0, time.UTC)
	for _, verified := range []bool{false, true} {
		ev := healthcode.Evidence{ID: 1, Kind: healthcode.VenueExposure, Subject: "p", Venue: "v", CaseRef: "designation/1",
			RiskLevel: healthcode.RiskHigh, ObservedAt: now.Add(-time.Hour), Verified: verified}
		d, err := rs.Evaluate("p", []healthcode.Evidence{ev, ev, ev}, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]healthcode.Colour{false: healthcode.Green, true: healthcode.Red}[verified]; d.Colour != want {
			t.Errorf("verified=%v: colour %s, want %s", verified, d.Colour, want)
		}
	}
}
