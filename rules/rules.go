// Package rules turns a person's evidence into a colour by a published rule
// set: a versioned YAML document of ordered rules whose conditions are CEL
// expressions over a typed evidence summary. The first rule that holds gives
// the colour; the last rule is the default green. A rule set carries examples
// and is refused unless every example passes and every rule is exercised.
//
// This package decides colours only from evidence, through Summarize, by
// rules that are published with their reason, lift condition and legal basis.
// It must never read a clock, a database or the network, never accept a colour
// from anywhere but a rule, and never let an unverified venue check-in reach a
// rule.
package rules

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"healthcode"
)

//go:embed baseline.yaml
var baseline []byte

// Baseline returns the source of the national baseline rule set.
func Baseline() []byte { return slices.Clone(baseline) }

// BaselineName is the file name the baseline is loaded under in messages.
const BaselineName = "baseline.yaml"

// environment is the CEL environment every rule is compiled in: the summary
// `s`, the time `now`, the standard library, the sets extension
// (sets.contains) and days(n), the duration of n protocol days.
var environment = sync.OnceValues(func() (*cel.Env, error) {
	p, err := newProvider()
	if err != nil {
		return nil, err
	}
	return cel.NewEnv(
		cel.CustomTypeProvider(p),
		cel.CustomTypeAdapter(p),
		cel.EnableMacroCallTracking(), // residual conditions are printed back to source
		cel.Variable("s", summaryType),
		cel.Variable("now", cel.TimestampType),
		ext.Sets(),
		cel.Function("days",
			cel.Overload("days_int", []*cel.Type{cel.IntType}, cel.DurationType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					n := int64(v.(types.Int))
					if n < -36500 || n > 36500 {
						return types.NewErr("days(%d) out of range", n)
					}
					return types.Duration{Duration: time.Duration(n) * Day}
				}))),
	)
})

// RuleSet is a compiled rule set whose examples all pass. It is safe for
// concurrent use.
type RuleSet struct {
	file  *File
	hash  string
	rules []compiled
	// maxWindow is the longest window of any rule (see changeAt).
	maxWindow time.Duration
}

type compiled struct {
	Rule
	cond    cel.Program
	liftsAt cel.Program // nil if the rule has no lifts_at
	refs    []slotRef   // what the rule reads, hence the evidence it rests on
	// guard has a bit for each episode the condition requires present (a
	// top-level conjunct has(s.x…)): if one is absent the condition is false
	// and is not evaluated. An index, not a semantic: CEL's && is false
	// whenever one side is. match evaluates only the residual condition,
	// the rest once the guard holds; nil if nothing is left.
	guard    uint64
	residual cel.Program
	// windowMask has a bit for each episode the rule's window counts from:
	// the episodes its guard requires, or, with no guard, every episode
	// whose event it reads (never its negative tests: a later negative
	// must not extend a restriction).
	windowMask uint64
	// dayMask has a bit for each episode whose day the rule reads: its
	// condition can change at each 24 hours of that episode (see changeAt).
	dayMask uint64
}

// slotRef is an episode of the summary and the part of it a rule reads.
type slotRef struct {
	slot int
	part part
}

// RuleInfo is what pages show of a rule.
type RuleInfo = healthcode.RuleInfo

var _ healthcode.RuleSet = (*RuleSet)(nil)

// Loader is a healthcode.RuleSetLoader for stored rule sets.
func Loader(src []byte) (healthcode.RuleSet, error) {
	return Load("ruleset.yaml", src)
}

// Load parses, compiles and checks a rule set: it is refused (healthcode
// EINVALID) if the YAML is malformed ("rules.parse"), an expression does not
// compile or has the wrong type ("rules.compile"), an example fails
// ("rules.example") or a rule is exercised by no example ("rules.coverage").
// Messages name the file, line and column.
func Load(name string, src []byte) (*RuleSet, error) {
	rs, err := compile(name, src)
	if err != nil {
		return nil, err
	}
	rep := rs.runExamples()
	for _, ex := range rep.Examples {
		if !ex.Pass {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.example", "%s:%s: example %q: %s", name, ex.Pos, ex.Name, ex.Problem)
		}
	}
	for _, c := range rep.Coverage {
		if len(c.Examples) == 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.coverage", "%s:%s: rule %q is exercised by no example", name, c.Pos, c.ID)
		}
	}
	if err := rs.checkWindows(); err != nil {
		return nil, err
	}
	return rs, nil
}

// checkWindows refuses a restrictive rule whose own condition outlasts its
// window, as far as the examples show: one that holds for a person with no
// evidence at all (nothing to count a window from), or that still holds, on
// an example's evidence, a window after the newest evidence it counts from.
// The window is enforced at evaluation whatever the condition says; this
// check keeps the condition, and so the rule's lift text, honest about it.
func (r *RuleSet) checkWindows() error {
	holds := func(c *compiled, s *Summary) (bool, error) {
		out, _, err := c.cond.Eval(s)
		if err != nil {
			return false, healthcode.Errorfd(healthcode.EINVALID, "rules.window", "%s:%s: rule %q: %v", r.file.Filename, c.Pos, c.ID, err)
		}
		return out == types.True, nil
	}
	for i := range r.rules {
		c := &r.rules[i]
		if c.Window == 0 {
			continue
		}
		for _, ex := range r.file.Examples {
			empty := Summarize(nil, ex.Now)
			if ok, err := holds(c, &empty); err != nil {
				return err
			} else if ok {
				return healthcode.Errorfd(healthcode.EINVALID, "rules.unbounded",
					"%s:%s: rule %q holds for a person with no evidence at all, so nothing bounds it in time: a %s rule must rest on evidence and end within its window", r.file.Filename, c.Pos, c.ID, c.Colour)
			}
			evs := Recent(ex.Evidence, ex.Now, r.file.EvidenceWindow)
			s := Summarize(evs, ex.Now)
			if ok, err := holds(c, &s); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			newest, ok := c.newest(&s)
			if !ok {
				continue
			}
			t := newest.Add(c.Window)
			later := Summarize(Recent(ex.Evidence, t, r.file.EvidenceWindow), t)
			if ok, err := holds(c, &later); err != nil {
				return err
			} else if ok {
				return healthcode.Errorfd(healthcode.EINVALID, "rules.window",
					"%s:%s: rule %q still holds %s after its newest evidence (the evidence of example %q): its condition must end within its window", r.file.Filename, c.Pos, c.ID, fmtDuration(c.Window), ex.Name)
			}
		}
	}
	return nil
}

// fmtDuration writes a duration in days where it can: 10d, 1d12h.
func fmtDuration(d time.Duration) string {
	days, rest := d/Day, d%Day
	switch {
	case days == 0:
		return rest.String()
	case rest == 0:
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%s", days, rest)
}

// compile parses and compiles, without running the examples.
func compile(name string, src []byte) (*RuleSet, error) {
	f, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	env, err := environment()
	if err != nil {
		return nil, fmt.Errorf("rules: CEL environment: %w", err)
	}
	sum := sha256.Sum256(src)
	rs := &RuleSet{file: f, hash: hex.EncodeToString(sum[:])}
	for _, r := range f.Rules {
		c := compiled{Rule: r}
		seen := map[slotRef]bool{}
		var ast *celast.AST
		if c.cond, ast, err = compileExpr(env, name, r.ID, "condition", &r.Condition, cel.BoolType); err != nil {
			return nil, err
		}
		collectRefs(ast.Expr(), false, seen)
		c.guard, _ = guardOf(ast.Expr())
		c.residual = compileResidual(env, &c, ast)
		c.dayMask = dayReads(ast.Expr())
		if c.windowMask = c.guard; c.windowMask == 0 {
			for ref := range seen {
				if ref.part&partEvent != 0 {
					c.windowMask |= 1 << ref.slot
				}
			}
		}
		rs.maxWindow = max(rs.maxWindow, r.Window)
		if r.LiftsAt.Source != "" {
			if c.liftsAt, ast, err = compileExpr(env, name, r.ID, "lifts_at", &r.LiftsAt, cel.TimestampType); err != nil {
				return nil, err
			}
			collectRefs(ast.Expr(), false, seen)
			c.dayMask |= dayReads(ast.Expr())
		}
		for ref := range seen {
			c.refs = append(c.refs, ref)
		}
		slices.SortFunc(c.refs, func(a, b slotRef) int {
			return cmp.Or(cmp.Compare(a.slot, b.slot), cmp.Compare(a.part, b.part))
		})
		rs.rules = append(rs.rules, c)
	}
	return rs, nil
}

func compileExpr(env *cel.Env, file, id, what string, e *Expr, want *cel.Type) (cel.Program, *celast.AST, error) {
	ast, iss := env.Compile(e.Source)
	if iss.Err() != nil {
		var msgs []string
		for _, ce := range iss.Errors() {
			pos := e.Pos
			if ce.Location != nil && ce.Location.Line() > 0 {
				pos = e.position(runeOffset(e.Source, ce.Location.Line(), ce.Location.Column()))
			}
			msgs = append(msgs, fmt.Sprintf("%s:%s: rule %q: %s%s", file, pos, id, prefix(what), ce.Message))
		}
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "rules.compile", "%s", strings.Join(msgs, "\n"))
	}
	if got := ast.OutputType(); !got.IsExactType(want) {
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "rules.compile", "%s:%s: rule %q: %s must be of type %s, not %s", file, e.Pos, id, what, typeName(want), typeName(got))
	}
	if sid := findStruct(ast.NativeRep().Expr()); sid != 0 {
		pos := e.Pos
		if loc := ast.NativeRep().SourceInfo().GetStartLocation(sid); loc.Line() > 0 {
			pos = e.position(runeOffset(e.Source, loc.Line(), loc.Column()))
		}
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "rules.compile", "%s:%s: rule %q: %srules read the summary and cannot construct objects", file, pos, id, prefix(what))
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "rules.compile", "%s:%s: rule %q: %s%v", file, e.Pos, id, prefix(what), err)
	}
	return prg, ast.NativeRep(), nil
}

// typeName is how messages name a CEL type.
func typeName(t *cel.Type) string {
	switch {
	case t.IsExactType(cel.TimestampType):
		return "timestamp"
	case t.IsExactType(cel.DurationType):
		return "duration"
	}
	return t.String()
}

// findStruct returns the id of an object construction in e, 0 if none.
func findStruct(e celast.Expr) int64 {
	var found int64
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(x celast.Expr) {
		if found == 0 && x.Kind() == celast.StructKind {
			found = x.ID()
		}
	}))
	return found
}

// prefix names the expression in a message: nothing for the condition (the
// common case), "lifts_at: " for the other.
func prefix(what string) string {
	if what == "condition" {
		return ""
	}
	return what + ": "
}

// compileResidual compiles what is left of a condition once its guard
// holds: nil if nothing is left. If the condition cannot be printed back
// (an expression the unparser does not know), it is the whole condition.
func compileResidual(env *cel.Env, c *compiled, ast *celast.AST) cel.Program {
	src, err := residual(ast)
	if err != nil {
		return c.cond
	}
	if src == "" {
		return nil
	}
	checked, iss := env.Compile(src)
	if iss.Err() != nil {
		return c.cond
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return c.cond
	}
	return prg
}

// runeOffset converts CEL's 1-based line and 0-based column (in code points)
// to a code-point offset in src.
func runeOffset(src string, line, col int) int {
	off := 0
	for i, l := range strings.Split(src, "\n") {
		if i == line-1 {
			return off + col
		}
		off += len([]rune(l)) + 1
	}
	return off
}

// collectRefs records which episodes of the summary an expression reads and
// which part of each: s.x.at reads the event, s.x.negative_days the event and
// the tests since; s.x or s itself read everything they hold.
func collectRefs(e celast.Expr, shadowed bool, seen map[slotRef]bool) {
	isS := func(x celast.Expr) bool {
		return !shadowed && x.Kind() == celast.IdentKind && x.AsIdent() == "s"
	}
	switch e.Kind() {
	case celast.IdentKind:
		if isS(e) {
			for i := range summaryEpisodes {
				seen[slotRef{i, partAll}] = true
			}
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		op := sel.Operand()
		if isS(op) {
			if slot, ok := summarySlots[sel.FieldName()]; ok {
				p := summaryFields[sel.FieldName()].part
				seen[slotRef{slot, p}] = true
			}
			return
		}
		if op.Kind() == celast.SelectKind && isS(op.AsSelect().Operand()) {
			slot, ok := summarySlots[op.AsSelect().FieldName()]
			f, fok := episodeFields[sel.FieldName()]
			if ok && fok {
				seen[slotRef{slot, f.part}] = true
			}
			return
		}
		collectRefs(op, shadowed, seen)
	case celast.CallKind:
		call := e.AsCall()
		if call.IsMemberFunction() {
			collectRefs(call.Target(), shadowed, seen)
		}
		for _, a := range call.Args() {
			collectRefs(a, shadowed, seen)
		}
	case celast.ListKind:
		for _, x := range e.AsList().Elements() {
			collectRefs(x, shadowed, seen)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			collectRefs(me.Key(), shadowed, seen)
			collectRefs(me.Value(), shadowed, seen)
		}
	case celast.StructKind:
		for _, fl := range e.AsStruct().Fields() {
			collectRefs(fl.AsStructField().Value(), shadowed, seen)
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		collectRefs(c.IterRange(), shadowed, seen)
		collectRefs(c.AccuInit(), shadowed, seen)
		inner := shadowed || c.IterVar() == "s" || c.AccuVar() == "s" || (c.HasIterVar2() && c.IterVar2() == "s")
		collectRefs(c.LoopCondition(), inner, seen)
		collectRefs(c.LoopStep(), inner, seen)
		collectRefs(c.Result(), inner, seen)
	}
}

// dayReads returns the episodes whose day (s.x.day) e reads: the day
// changes with time alone, at each 24 hours of the episode. An expression
// that handles s whole (dyn(s).x.day) may read any episode's day.
func dayReads(e celast.Expr) uint64 {
	var mask uint64
	selected := map[int64]bool{} // ids of the s in s.x
	var idents []int64
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(x celast.Expr) {
		switch x.Kind() {
		case celast.IdentKind:
			if x.AsIdent() == "s" {
				idents = append(idents, x.ID())
			}
		case celast.SelectKind:
			op := x.AsSelect().Operand()
			if op.Kind() == celast.IdentKind && op.AsIdent() == "s" {
				selected[op.ID()] = true
			}
			if x.AsSelect().FieldName() != "day" || op.Kind() != celast.SelectKind {
				return
			}
			if in := op.AsSelect().Operand(); in.Kind() == celast.IdentKind && in.AsIdent() == "s" {
				if slot, ok := summarySlots[op.AsSelect().FieldName()]; ok {
					mask |= 1 << slot
				}
			}
		}
	}))
	for _, id := range idents {
		if !selected[id] {
			return 1<<len(summaryEpisodes) - 1
		}
	}
	return mask
}

// guardOf returns the episodes that the top-level conjuncts of a condition
// require present: has(s.x) and has(s.x.field) are false when episode x is
// absent. exact reports whether e is itself such a test and says no more
// than "x is present" (has(s.x), has(s.x.at)), so that it can be dropped
// once the guard holds.
func guardOf(e celast.Expr) (guard uint64, exact bool) {
	switch e.Kind() {
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() == operators.LogicalAnd && len(call.Args()) == 2 {
			a, _ := guardOf(call.Args()[0])
			b, _ := guardOf(call.Args()[1])
			return a | b, false
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		if !sel.IsTestOnly() {
			return 0, false
		}
		op, name, field := sel.Operand(), sel.FieldName(), ""
		if op.Kind() == celast.SelectKind {
			op, name, field = op.AsSelect().Operand(), op.AsSelect().FieldName(), name
		}
		if op.Kind() == celast.IdentKind && op.AsIdent() == "s" {
			if slot, ok := summarySlots[name]; ok && summaryFields[name].typ == episodeType {
				return 1 << slot, field == "" || field == "at"
			}
		}
	}
	return 0, false
}

// residual is the condition without the top-level conjuncts that the guard
// already decides (exact has() tests, literal true), as CEL source; "" if
// nothing is left, i.e. the condition holds whenever the guard does.
func residual(a *celast.AST) (string, error) {
	var keep []string
	var walk func(e celast.Expr) error
	walk = func(e celast.Expr) error {
		if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd && len(e.AsCall().Args()) == 2 {
			if err := walk(e.AsCall().Args()[0]); err != nil {
				return err
			}
			return walk(e.AsCall().Args()[1])
		}
		if _, exact := guardOf(e); exact {
			return nil
		}
		if e.Kind() == celast.LiteralKind && e.AsLiteral() == types.True {
			return nil
		}
		src, err := cel.ExprToString(e, a.SourceInfo())
		if err != nil {
			return err
		}
		keep = append(keep, "("+src+")")
		return nil
	}
	if err := walk(a.Expr()); err != nil {
		return "", err
	}
	return strings.Join(keep, " && "), nil
}

// Version returns the rule set's version.
func (r *RuleSet) Version() string { return r.file.Version }

// Name returns the rule set's name.
func (r *RuleSet) Name() string { return r.file.Name }

// Region returns the region the rule set is written for, "" for any.
func (r *RuleSet) Region() string { return r.file.Region }

// Hash returns the hex SHA-256 of the rule set's source.
func (r *RuleSet) Hash() string { return r.hash }

// File returns the parsed document.
func (r *RuleSet) File() *File { return r.file }

// Rules describes the rules in order, for pages.
func (r *RuleSet) Rules() []RuleInfo {
	out := make([]RuleInfo, len(r.rules))
	for i, c := range r.rules {
		out[i] = RuleInfo{ID: c.ID, Colour: c.Colour, Reason: c.Reason, Text: c.Text, Lift: c.Lift, Basis: c.Basis}
	}
	return out
}

// Rule returns what the rule with the id says, for explaining stored decisions.
func (r *RuleSet) Rule(id string) (RuleInfo, bool) {
	for _, c := range r.rules {
		if c.ID == id {
			return RuleInfo{ID: c.ID, Colour: c.Colour, Reason: c.Reason, Text: c.Text, Lift: c.Lift, Basis: c.Basis}, true
		}
	}
	return RuleInfo{}, false
}

// Evaluate decides the colour of subject from evidence at now. The same
// evidence (in any order), rule set and time always give the same decision.
// It fills every field of the decision but LogIndex and Actor. A rule that
// fails at run time (it should not, having passed its type check and
// examples) is an EINTERNAL error with detail "rules.eval": no colour is
// guessed.
//
// Evidence observed longer than the rule set's evidence window before now
// is ignored: no rule sees it.
func (r *RuleSet) Evaluate(subject string, evidence []healthcode.Evidence, now time.Time) (*healthcode.Decision, error) {
	// Decide keeps nothing of s: it goes back to the pool.
	s := newSummary()
	defer freeSummary(s)
	summarize(s, Recent(evidence, now, r.file.EvidenceWindow), now)
	return r.Decide(subject, s)
}

// Recent returns the evidence observed within window before now (after
// now-window), in the same order; evidence itself if all of it is.
func Recent(evidence []healthcode.Evidence, now time.Time, window time.Duration) []healthcode.Evidence {
	cutoff := now.Add(-window)
	for i := range evidence {
		if !evidence[i].ObservedAt.After(cutoff) {
			out := append([]healthcode.Evidence(nil), evidence[:i]...)
			for _, e := range evidence[i+1:] {
				if e.ObservedAt.After(cutoff) {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return evidence
}

// Match returns the first rule whose condition holds for s. It allocates
// nothing of its own; the hot path of Evaluate.
func (r *RuleSet) Match(s *Summary) (*Rule, error) {
	i, err := r.match(s)
	if err != nil {
		return nil, err
	}
	return &r.rules[i].Rule, nil
}

func (r *RuleSet) match(s *Summary) (int, error) {
	var frame *interpreter.ExecutionFrame // made on first use: many people reach only the default
	i, err := r.matchIn(s, &frame)
	if frame != nil {
		frame.Close()
	}
	return i, err
}

func (r *RuleSet) matchIn(s *Summary, frame **interpreter.ExecutionFrame) (int, error) {
	for i := range r.rules {
		c := &r.rules[i]
		if s.present&c.guard != c.guard {
			continue
		}
		if c.Window != 0 && !c.inWindow(s) {
			continue
		}
		if c.residual == nil {
			return i, nil
		}
		if *frame == nil {
			f, err := interpreter.NewExecutionFrame(s)
			if err != nil {
				return 0, healthcode.Errorfd(healthcode.EINTERNAL, "rules.eval", "rule set %s: %v", r.file.Version, err)
			}
			*frame = f
		}
		out, _, err := c.residual.Eval(*frame)
		if err != nil {
			return 0, healthcode.Errorfd(healthcode.EINTERNAL, "rules.eval", "rule set %s, rule %q: %v", r.file.Version, c.ID, err)
		}
		if out == types.True {
			return i, nil
		}
	}
	// Unreachable: Parse insists on a final rule whose condition is true.
	return 0, healthcode.Errorfd(healthcode.EINTERNAL, "rules.eval", "rule set %s: no rule matched", r.file.Version)
}

// Decide is Evaluate on a summary already made.
func (r *RuleSet) Decide(subject string, s *Summary) (*healthcode.Decision, error) {
	i, err := r.match(s)
	if err != nil {
		return nil, err
	}
	c := &r.rules[i]
	now := s.Now
	d := &healthcode.Decision{
		Subject:        subject,
		Colour:         c.Colour,
		Reason:         c.Reason,
		RuleID:         c.ID,
		RuleSetVersion: r.file.Version,
		RuleSetHash:    r.hash,
		Text:           c.Text,
		Lift:           c.Lift,
		Basis:          c.Basis,
		DecidedAt:      now,
	}
	used := c.evidence(s)
	d.EvidenceIDs = make([]int64, len(used))
	for k := range used {
		d.EvidenceIDs[k] = used[k].ID
	}
	d.EvidenceDigest = healthcode.EvidenceSetDigest(used)

	if d.LiftsAt, err = r.changeAt(s, c.Colour); err != nil {
		return nil, err
	}
	interval := r.file.ReviewInterval
	if c.Colour == healthcode.Green {
		interval = r.file.GreenReviewInterval
	}
	d.ReviewAt = now.Add(interval)
	if d.LiftsAt != nil && d.LiftsAt.Before(d.ReviewAt) {
		d.ReviewAt = *d.LiftsAt
	}
	return d, nil
}

// newest returns the time of the newest episode the rule's window counts
// from, false if none is present.
func (c *compiled) newest(s *Summary) (time.Time, bool) {
	var t time.Time
	ok := false
	for m := c.windowMask & s.present; m != 0; m &= m - 1 {
		at := summaryEpisodes[bits.TrailingZeros64(m)].get(s).At
		if !ok || at.After(t) {
			t, ok = at, true
		}
	}
	return t, ok
}

// inWindow reports whether the rule's newest evidence is less than its
// window old: a restrictive rule holds no one longer, whatever its
// condition says.
func (c *compiled) inWindow(s *Summary) bool {
	t, ok := c.newest(s)
	return ok && s.Now.Sub(t) < c.Window
}

// changeAt returns the earliest time after s.Now at which the colour of a
// person with this evidence changes by time alone, across all rules; nil if
// it never does. A decision can change with time only when an episode's day
// turns (at each 24 hours of an episode whose day a rule reads, while the
// rule can hold), a rule's window closes, evidence leaves the evidence
// window, or at a rule's lifts_at hint (for conditions that read now):
// those times are tried in order, each by evaluating the rule set as it
// would be then. Once the newest evidence is older than every window,
// every person is green.
func (r *RuleSet) changeAt(s *Summary, colour healthcode.Colour) (*time.Time, error) {
	now := s.Now
	if len(s.evidence) == 0 {
		return nil, nil
	}
	var times []time.Time
	add := func(t time.Time) {
		if t.After(now) {
			times = append(times, t)
		}
	}
	var latest time.Time
	for i := range s.evidence {
		o := s.evidence[i].ObservedAt
		if o.After(latest) {
			latest = o
		}
		add(o.Add(r.file.EvidenceWindow))
	}
	horizon := latest.Add(r.maxWindow)
	for i := range r.rules {
		c := &r.rules[i]
		until := horizon
		if c.Window != 0 {
			t, ok := c.newest(s)
			if !ok {
				continue // it cannot hold before new evidence arrives
			}
			until = t.Add(c.Window)
			add(until)
		}
		if c.liftsAt != nil {
			out, _, err := c.liftsAt.Eval(s)
			if err != nil {
				return nil, healthcode.Errorfd(healthcode.EINTERNAL, "rules.eval", "rule set %s, rule %q: lifts_at: %v", r.file.Version, c.ID, err)
			}
			if ts, ok := out.(types.Timestamp); ok {
				add(ts.Time)
			}
		}
		for m := c.dayMask & s.present; m != 0; m &= m - 1 {
			ep := summaryEpisodes[bits.TrailingZeros64(m)].get(s)
			for t := ep.At.Add(time.Duration(ep.Day) * Day); !t.After(until); t = t.Add(Day) {
				add(t)
			}
		}
	}
	// A testing duty changes what conditions reading now find at its due
	// time and at its end.
	if s.TestingDuty.Present() {
		add(s.TestingDuty.DueAt)
		add(s.TestingDuty.Until)
	}
	slices.SortFunc(times, time.Time.Compare)
	times = slices.CompactFunc(times, time.Time.Equal)
	// later is the summary at each time tried: shifted from base while no
	// evidence leaves the evidence window, made again when some does.
	base, leaves := s, r.leaves(s.evidence)
	later, rebased := newSummary(), newSummary()
	defer freeSummary(later)
	defer freeSummary(rebased)
	for _, t := range times {
		if t.After(horizon) {
			break
		}
		if t.Before(leaves) {
			base.shiftTo(later, t)
		} else {
			summarize(rebased, Recent(s.evidence, t, r.file.EvidenceWindow), t)
			base, leaves = rebased, r.leaves(rebased.evidence)
			*later = *rebased
		}
		i, err := r.match(later)
		if err != nil {
			return nil, err
		}
		if r.rules[i].Colour != colour {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, nil
}

// leaves returns when the first of evidence leaves the evidence window.
func (r *RuleSet) leaves(evidence []healthcode.Evidence) time.Time {
	var first time.Time
	for i := range evidence {
		if o := evidence[i].ObservedAt; i == 0 || o.Before(first) {
			first = o
		}
	}
	return first.Add(r.file.EvidenceWindow)
}

// evidence returns the evidence the rule rests on for s, ordered by id: every
// piece of evidence that set a part of the summary the rule reads.
func (c *compiled) evidence(s *Summary) []healthcode.Evidence {
	var idx []int
	for _, ref := range c.refs {
		ep := summaryEpisodes[ref.slot].get(s)
		if ep.ev == 0 {
			continue
		}
		if ref.part&partEvent != 0 {
			idx = append(idx, ep.ev-1)
		}
		if ref.part&partNegatives != 0 {
			idx = append(idx, ep.neg...)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.evidence[a].ID, s.evidence[b].ID) })
	out := make([]healthcode.Evidence, len(idx))
	for k, i := range idx {
		out[k] = s.evidence[i]
	}
	return out
}
