package rules

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"healthcode"
)

// Report is the outcome of running a rule set's examples.
type Report struct {
	File     string
	Name     string
	Version  string
	Hash     string
	Examples []ExampleResult
	Coverage []RuleCoverage
	// Bounds is why a restrictive rule is not bounded in time ("" if every
	// one is): its condition holds with no evidence, or outlasts its window
	// on an example's evidence.
	Bounds string
}

// ExampleResult is one example's outcome.
type ExampleResult struct {
	Name    string
	Pos     Pos
	Pass    bool
	Want    Expectation
	Got     *healthcode.Decision // nil if evaluation failed
	Problem string               // why it failed, "" if it passed
}

// RuleCoverage lists the examples that a rule decided.
type RuleCoverage struct {
	ID       string
	Colour   healthcode.Colour
	Pos      Pos
	Examples []string
}

// OK reports whether every example passed, every rule is covered and
// every restrictive rule ends within its window.
func (r *Report) OK() bool {
	if r.Bounds != "" {
		return false
	}
	for _, e := range r.Examples {
		if !e.Pass {
			return false
		}
	}
	for _, c := range r.Coverage {
		if len(c.Examples) == 0 {
			return false
		}
	}
	return true
}

// Test compiles a rule set and runs all its examples, for `healthcode rules
// test FILE`. Failing examples and uncovered rules are in the report, not in
// the error; the error is for a rule set that does not parse or compile.
func Test(name string, src []byte) (*Report, error) {
	rs, err := compile(name, src)
	if err != nil {
		return nil, err
	}
	rep := rs.runExamples()
	if err := rs.checkWindows(); err != nil {
		rep.Bounds = healthcode.ErrorMessage(err)
	}
	return rep, nil
}

func (r *RuleSet) runExamples() *Report {
	rep := &Report{File: r.file.Filename, Name: r.file.Name, Version: r.file.Version, Hash: r.hash}
	byRule := map[string][]string{}
	for _, ex := range r.file.Examples {
		res := ExampleResult{Name: ex.Name, Pos: ex.Pos, Want: ex.Want}
		d, err := r.Evaluate("example", ex.Evidence, ex.Now)
		if err != nil {
			res.Problem = healthcode.ErrorMessage(err)
			rep.Examples = append(rep.Examples, res)
			continue
		}
		res.Got = d
		byRule[d.RuleID] = append(byRule[d.RuleID], ex.Name)
		res.Problem = check(&ex.Want, d)
		res.Pass = res.Problem == ""
		rep.Examples = append(rep.Examples, res)
	}
	for _, c := range r.rules {
		rep.Coverage = append(rep.Coverage, RuleCoverage{ID: c.ID, Colour: c.Colour, Pos: c.Pos, Examples: byRule[c.ID]})
	}
	return rep
}

// check compares a decision with what an example expects.
func check(w *Expectation, d *healthcode.Decision) string {
	var p []string
	if d.Colour != w.Colour || d.Reason != w.Reason {
		p = append(p, fmt.Sprintf("got %s/%s, want %s/%s", d.Colour, d.Reason, w.Colour, w.Reason))
	}
	if w.RuleID != "" && d.RuleID != w.RuleID {
		p = append(p, fmt.Sprintf("decided by rule %q, want %q", d.RuleID, w.RuleID))
	}
	if w.CheckLiftsAt {
		switch {
		case w.LiftsAt == nil && d.LiftsAt != nil:
			p = append(p, fmt.Sprintf("lifts at %s, want no lift time", fmtTime(d.LiftsAt)))
		case w.LiftsAt != nil && (d.LiftsAt == nil || !d.LiftsAt.Equal(*w.LiftsAt)):
			p = append(p, fmt.Sprintf("lifts at %s, want %s", fmtTime(d.LiftsAt), fmtTime(w.LiftsAt)))
		}
	}
	if w.EvidenceIDs != nil {
		want := slices.Sorted(slices.Values(w.EvidenceIDs))
		if !slices.Equal(want, d.EvidenceIDs) {
			p = append(p, fmt.Sprintf("rests on evidence %v, want %v", d.EvidenceIDs, want))
		}
	}
	return strings.Join(p, "; ")
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// Write prints the report for a terminal.
func (r *Report) Write(w io.Writer) error {
	_, err := io.WriteString(w, r.String())
	return err
}

// String formats the report for a terminal.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, version %s (sha256 %.12s)\n", r.File, r.Name, r.Version, r.Hash)
	pass := 0
	for _, e := range r.Examples {
		if e.Pass {
			pass++
			fmt.Fprintf(&b, "  PASS  %s\n", e.Name)
			continue
		}
		fmt.Fprintf(&b, "  FAIL  %s (%s:%s)\n        %s\n", e.Name, r.File, e.Pos, e.Problem)
	}
	fmt.Fprintf(&b, "examples: %d passed, %d failed\n", pass, len(r.Examples)-pass)
	b.WriteString("coverage:\n")
	uncovered := 0
	for _, c := range r.Coverage {
		if len(c.Examples) == 0 {
			uncovered++
			fmt.Fprintf(&b, "  %-22s %-6s NOT COVERED (%s:%s)\n", c.ID, c.Colour, r.File, c.Pos)
			continue
		}
		fmt.Fprintf(&b, "  %-22s %-6s %d example(s)\n", c.ID, c.Colour, len(c.Examples))
	}
	if r.Bounds != "" {
		fmt.Fprintf(&b, "unbounded: %s\n", r.Bounds)
	}
	if r.OK() {
		b.WriteString("ok\n")
	} else {
		fmt.Fprintf(&b, "FAILED: %d example(s) failed, %d rule(s) not covered", len(r.Examples)-pass, uncovered)
		if r.Bounds != "" {
			b.WriteString(", a restrictive rule not bounded in time")
		}
		b.WriteString("\n")
	}
	return b.String()
}
