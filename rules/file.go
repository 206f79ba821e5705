package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"healthcode"
)

// Limits on a rule-set document, so that a hostile file cannot exhaust the node.
const (
	MaxSourceBytes   = 1 << 20
	MaxRules         = 500
	MaxExamples      = 5000
	MaxExprBytes     = 4096
	MaxExampleEvents = 200
)

// Default review intervals.
const (
	DefaultReviewInterval      = time.Hour
	DefaultGreenReviewInterval = 24 * time.Hour
)

// DefaultEvidenceWindow bounds the age of the evidence a rule set that
// names no evidence_window sees: four weeks, longer than any period of the
// national protocol and no longer than tests are kept (28 days).
const DefaultEvidenceWindow = 28 * Day

// File is a parsed, not yet compiled, rule-set document.
type File struct {
	Filename string // the name given to Parse, used in messages
	Version  string
	Name     string
	// Region, if set, is the GB/T 2260 code of the region the rule set is
	// written for.
	Region string
	// ReviewInterval is how soon a yellow or red decision is re-evaluated
	// when nothing new arrives; GreenReviewInterval the same for green.
	ReviewInterval      time.Duration
	GreenReviewInterval time.Duration
	// EvidenceWindow bounds the age of the evidence the rules see: evidence
	// observed longer ago than this before the time of evaluation is
	// ignored, by every rule (an old positive test never makes anyone red).
	EvidenceWindow time.Duration
	Rules          []Rule
	Examples       []Example
}

// Pos is a position in a rule-set file: 1-based line and column.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Rule is one rule of a rule set. Rules are tried in order; the first whose
// condition holds gives the colour.
type Rule struct {
	ID        string
	Colour    healthcode.Colour
	Reason    string // reason code, e.g. "close_contact"
	Condition Expr   // CEL, bool
	// LiftsAt is a hint, for a condition that reads now directly: a time
	// at which the condition may stop holding (CEL, timestamp; empty if
	// none). The lift time of a decision is computed across all rules
	// (RuleSet.Decide); a hint only adds a time to look at.
	LiftsAt Expr
	// Window is, for a yellow or red rule, the longest it can hold a
	// person from the newest evidence it rests on (see RuleSet.Decide); 0
	// for green rules. Load refuses a restrictive rule without one.
	Window time.Duration
	Text   healthcode.Text
	Lift   healthcode.Text // the condition that lifts the colour
	Basis  string          // the legal basis
	Pos    Pos
}

// Expr is a CEL expression as written in the file.
type Expr struct {
	Source string
	Pos    Pos // where the expression's text starts
	segs   []segment
}

// segment maps a run of an expression's text, from rune offset off, to the
// file position where that run starts.
type segment struct {
	off int
	pos Pos
}

// position maps a rune offset in the expression to a file position.
func (e *Expr) position(off int) Pos {
	if len(e.segs) == 0 {
		return e.Pos
	}
	s := e.segs[0]
	for _, x := range e.segs[1:] {
		if x.off > off {
			break
		}
		s = x
	}
	return Pos{s.pos.Line, s.pos.Col + off - s.off}
}

// Example is a case a rule set carries: evidence, a time, and the decision
// the rule set must give.
type Example struct {
	Name     string
	Now      time.Time
	Evidence []healthcode.Evidence // IDs are 1, 2, 3… unless given
	Want     Expectation
	Pos      Pos
}

// Expectation is what an example must produce. Empty fields other than
// Colour and Reason are not checked.
type Expectation struct {
	Colour healthcode.Colour
	Reason string
	RuleID string
	// CheckLiftsAt asks that LiftsAt (nil: none) be checked.
	CheckLiftsAt bool
	LiftsAt      *time.Time
	// EvidenceIDs, if not nil, are the evidence ids the decision must rest on.
	EvidenceIDs []int64
}

// The YAML shape of a rule-set document. Decoding is strict: unknown keys
// are refused.
type fileDoc struct {
	Version             string       `yaml:"version"`
	Name                string       `yaml:"name"`
	Region              string       `yaml:"region"`
	ReviewInterval      string       `yaml:"review_interval"`
	GreenReviewInterval string       `yaml:"green_review_interval"`
	EvidenceWindow      string       `yaml:"evidence_window"`
	Rules               []ruleDoc    `yaml:"rules"`
	Examples            []exampleDoc `yaml:"examples"`
}

type ruleDoc struct {
	ID        string          `yaml:"id"`
	Condition string          `yaml:"condition"`
	Colour    string          `yaml:"colour"`
	Reason    string          `yaml:"reason"`
	Text      healthcode.Text `yaml:"text"`
	Lift      healthcode.Text `yaml:"lift"`
	Basis     string          `yaml:"basis"`
	LiftsAt   string          `yaml:"lifts_at"`
	Window    string          `yaml:"window"`
}

type exampleDoc struct {
	Name     string        `yaml:"name"`
	Now      string        `yaml:"now"`
	Evidence []evidenceDoc `yaml:"evidence"`
	Expect   expectDoc     `yaml:"expect"`
}

type evidenceDoc struct {
	ID         int64  `yaml:"id"`
	Kind       string `yaml:"kind"`
	ObservedAt string `yaml:"observed_at"`
	Result     string `yaml:"result"`
	Pooled     bool   `yaml:"pooled"`
	PoolID     string `yaml:"pool_id"`
	Diagnosis  string `yaml:"diagnosis"`
	CaseRef    string `yaml:"case_ref"`
	RiskLevel  string `yaml:"risk_level"`
	Area       string `yaml:"area"`
	Dose       int    `yaml:"dose"`
	Venue      string `yaml:"venue"`
	Verified   bool   `yaml:"verified"`
	Until      string `yaml:"until"` // a testing duty's end, like observed_at
	Every      string `yaml:"every"` // a testing duty's interval: 72h, 7d
}

type expectDoc struct {
	Colour      string  `yaml:"colour"`
	Reason      string  `yaml:"reason"`
	Rule        string  `yaml:"rule"`
	LiftsAt     string  `yaml:"lifts_at"`
	EvidenceIDs []int64 `yaml:"evidence_ids"`
}

var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reasonPattern = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
)

// parser carries what error messages need.
type parser struct {
	filename string
	root     *yaml.Node // the document's top mapping, for positions
	lines    [][]rune   // the source, for expression positions
}

func (p *parser) errorf(pos Pos, format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s:%s: %s", p.filename, pos, fmt.Sprintf(format, args...))
}

// Parse reads a rule-set document. It checks the document's shape — keys,
// colours, ids, texts, times of the examples — but compiles nothing: see Load.
// Errors are healthcode EINVALID with detail "rules.parse" and name the file,
// line and column.
func Parse(name string, src []byte) (*File, error) {
	if len(src) > MaxSourceBytes {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s: rule set is %d bytes, more than %d", name, len(src), MaxSourceBytes)
	}
	if !utf8.Valid(src) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s: rule set is not valid UTF-8", name)
	}
	p := &parser{filename: name}
	var doc fileDoc
	if err := decodeStrict(src, &doc); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s: %s", name, yamlMessage(err))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s: %s", name, yamlMessage(err))
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "rules.parse", "%s: a rule set is a YAML mapping", name)
	}
	p.root = root.Content[0]
	for _, l := range strings.Split(string(src), "\n") {
		p.lines = append(p.lines, []rune(strings.TrimSuffix(l, "\r")))
	}
	return p.file(&doc)
}

func decodeStrict(src []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return errors.New("empty document")
	}
	return err
}

// yamlMessage turns yaml.v3's "yaml: line 3: …" into "3: …" so that the
// file name prefixes a position, as every other message does.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.Join(te.Errors, "; ")
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				return rest[:i] + ": " + rest[i+2:]
			}
		}
	}
	return msg
}

// node finds the node at a path of mapping keys (string) and sequence
// indexes (int) below the document, or the deepest node found on the way.
func (p *parser) node(path ...any) *yaml.Node {
	n := p.root
	for _, step := range path {
		next := child(n, step)
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// pos is the position of the node at path.
func (p *parser) pos(path ...any) Pos {
	n := p.node(path...)
	return Pos{n.Line, n.Column}
}

func child(n *yaml.Node, step any) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch s := step.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && s < len(n.Content) {
			return n.Content[s]
		}
	}
	return nil
}

func (p *parser) file(doc *fileDoc) (*File, error) {
	f := &File{Filename: p.filename, Version: strings.TrimSpace(doc.Version), Name: strings.TrimSpace(doc.Name), Region: doc.Region}
	if f.Version == "" || len(f.Version) > 64 {
		return nil, p.errorf(p.pos(), "the rule set needs a version of at most 64 bytes")
	}
	if f.Name == "" {
		return nil, p.errorf(p.pos(), "the rule set needs a name")
	}
	if f.Region != "" {
		if err := healthcode.ValidateRegion(f.Region); err != nil {
			return nil, p.errorf(p.pos("region"), "%s", healthcode.ErrorMessage(err))
		}
	}
	var err error
	if f.ReviewInterval, err = p.interval(doc.ReviewInterval, DefaultReviewInterval, "review_interval"); err != nil {
		return nil, err
	}
	if f.GreenReviewInterval, err = p.interval(doc.GreenReviewInterval, DefaultGreenReviewInterval, "green_review_interval"); err != nil {
		return nil, err
	}
	if f.EvidenceWindow, err = p.interval(doc.EvidenceWindow, DefaultEvidenceWindow, "evidence_window"); err != nil {
		return nil, err
	}

	if len(doc.Rules) == 0 {
		return nil, p.errorf(p.pos(), "the rule set has no rules")
	}
	if len(doc.Rules) > MaxRules {
		return nil, p.errorf(p.pos("rules"), "the rule set has %d rules, more than %d", len(doc.Rules), MaxRules)
	}
	seen := map[string]Pos{}
	for i := range doc.Rules {
		r, err := p.rule(i, &doc.Rules[i])
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[r.ID]; dup {
			return nil, p.errorf(p.pos("rules", i, "id"), "duplicate rule id %q (first at %s)", r.ID, prev)
		}
		seen[r.ID] = r.Pos
		f.Rules = append(f.Rules, r)
	}
	last := f.Rules[len(f.Rules)-1]
	if last.Colour != healthcode.Green || strings.TrimSpace(last.Condition.Source) != "true" || last.LiftsAt.Source != "" {
		return nil, p.errorf(last.Pos, "the last rule (%q) must be the default: colour green, condition true, no lifts_at", last.ID)
	}

	if len(doc.Examples) > MaxExamples {
		return nil, p.errorf(p.pos("examples"), "the rule set has %d examples, more than %d", len(doc.Examples), MaxExamples)
	}
	for i := range doc.Examples {
		ex, err := p.example(i, &doc.Examples[i])
		if err != nil {
			return nil, err
		}
		f.Examples = append(f.Examples, ex)
	}
	return f, nil
}

func (p *parser) interval(s string, def time.Duration, key string) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := parseDuration(s)
	if err != nil || d <= 0 || d > 366*Day {
		return 0, p.errorf(p.pos(key), "%s must be a positive duration like 1h or 1d, up to a year, not %q", key, s)
	}
	return d, nil
}

func (p *parser) rule(i int, d *ruleDoc) (Rule, error) {
	at := func(key string) Pos { return p.pos("rules", i, key) }
	r := Rule{
		ID: d.ID, Reason: d.Reason, Basis: strings.TrimSpace(d.Basis),
		Text: trimText(d.Text), Lift: trimText(d.Lift), Pos: p.pos("rules", i),
	}
	if !idPattern.MatchString(r.ID) {
		return r, p.errorf(at("id"), "rule id %q must be lower-case letters, digits and _, starting with a letter, at most 64", r.ID)
	}
	c, err := healthcode.ParseColour(d.Colour)
	if err != nil {
		return r, p.errorf(at("colour"), "rule %q: %s", r.ID, healthcode.ErrorMessage(err))
	}
	r.Colour = c
	if !reasonPattern.MatchString(r.Reason) {
		return r, p.errorf(at("reason"), "rule %q: reason code %q must be lower-case letters, digits, _ and ., at most 64", r.ID, r.Reason)
	}
	if r.Text.ZH == "" || r.Text.EN == "" {
		return r, p.errorf(at("text"), "rule %q: text needs both zh and en", r.ID)
	}
	if r.Basis == "" {
		return r, p.errorf(r.Pos, "rule %q: every rule needs its legal basis (basis)", r.ID)
	}
	if c != healthcode.Green && (r.Lift.ZH == "" || r.Lift.EN == "") {
		return r, p.errorf(r.Pos, "rule %q: a %s rule must say what lifts it (lift, zh and en)", r.ID, c)
	}
	if strings.TrimSpace(d.Condition) == "" {
		return r, p.errorf(r.Pos, "rule %q: condition is empty", r.ID)
	}
	switch w := strings.TrimSpace(d.Window); {
	case c != healthcode.Green && w == "":
		return r, healthcode.Errorfd(healthcode.EINVALID, "rules.unbounded",
			"%s:%s: rule %q is %s and states no window: every restrictive rule names the longest it can hold a person from its newest evidence (window: 10d)", p.filename, r.Pos, r.ID, c)
	case c == healthcode.Green && w != "":
		return r, p.errorf(at("window"), "rule %q: a green rule restricts no one and takes no window", r.ID)
	case w != "":
		if r.Window, err = parseDuration(w); err != nil || r.Window <= 0 || r.Window > 366*Day {
			return r, p.errorf(at("window"), "rule %q: window must be a positive duration like 10d, up to a year, not %q", r.ID, w)
		}
	}
	if r.Condition, err = p.expr(r.ID, d.Condition, "rules", i, "condition"); err != nil {
		return r, err
	}
	if strings.TrimSpace(d.LiftsAt) != "" {
		if r.LiftsAt, err = p.expr(r.ID, d.LiftsAt, "rules", i, "lifts_at"); err != nil {
			return r, err
		}
	}
	return r, nil
}

func trimText(t healthcode.Text) healthcode.Text {
	return healthcode.Text{ZH: strings.TrimSpace(t.ZH), EN: strings.TrimSpace(t.EN)}
}

// expr records an expression with the map from its text to the file.
func (p *parser) expr(id, src string, path ...any) (Expr, error) {
	n := p.node(path...)
	e := Expr{Source: src, Pos: Pos{n.Line, n.Column}}
	if len(src) > MaxExprBytes {
		return e, p.errorf(e.Pos, "rule %q: expression longer than %d bytes", id, MaxExprBytes)
	}
	if n.Kind != yaml.ScalarNode || n.Value != src {
		return e, nil // an alias or something unusual: report at the node
	}
	e.segs = p.segments(n)
	if len(e.segs) > 0 {
		e.Pos = e.segs[0].pos
	}
	return e, nil
}

// segments maps the runes of a scalar's value back to the file. Block
// scalars (| and >) keep one source line per value line (a folded newline
// becomes one space, the same length); flow scalars continue on following
// lines with their indentation dropped. Escapes in quoted scalars can shift
// columns slightly; lines stay right.
func (p *parser) segments(n *yaml.Node) []segment {
	value := []rune(n.Value)
	var segs []segment
	off := 0
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		indent := -1
		for li := n.Line; li < len(p.lines) && off < len(value); li++ {
			line := p.lines[li]
			if strings.TrimSpace(string(line)) == "" {
				off++
				continue
			}
			if indent < 0 {
				indent = len(line) - len([]rune(strings.TrimLeft(string(line), " ")))
			}
			start := min(indent, len(line))
			segs = append(segs, segment{off, Pos{li + 1, start + 1}})
			off += len(line) - start + 1
		}
		return segs
	}
	col := n.Column
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	for li := n.Line - 1; li < len(p.lines) && off < len(value); li++ {
		line := p.lines[li]
		start := col - 1
		if li != n.Line-1 {
			start = len(line) - len([]rune(strings.TrimLeft(string(line), " \t")))
		}
		start = max(0, min(start, len(line)))
		segs = append(segs, segment{off, Pos{li + 1, start + 1}})
		off += len(line) - start + 1
	}
	return segs
}

func (p *parser) example(i int, d *exampleDoc) (Example, error) {
	at := func(path ...any) Pos { return p.pos(append([]any{"examples", i}, path...)...) }
	ex := Example{Name: strings.TrimSpace(d.Name), Pos: at()}
	if ex.Name == "" {
		return ex, p.errorf(ex.Pos, "example %d needs a name", i+1)
	}
	now, err := time.Parse(time.RFC3339, strings.TrimSpace(d.Now))
	if err != nil {
		return ex, p.errorf(at("now"), "example %q: now must be an RFC 3339 time, not %q", ex.Name, d.Now)
	}
	ex.Now = now
	if len(d.Evidence) > MaxExampleEvents {
		return ex, p.errorf(at("evidence"), "example %q has more than %d pieces of evidence", ex.Name, MaxExampleEvents)
	}
	ids := map[int64]bool{}
	for j := range d.Evidence {
		e, err := p.evidence(ex.Name, now, j, at("evidence", j), &d.Evidence[j])
		if err != nil {
			return ex, err
		}
		if ids[e.ID] {
			return ex, p.errorf(at("evidence", j), "example %q: duplicate evidence id %d", ex.Name, e.ID)
		}
		ids[e.ID] = true
		ex.Evidence = append(ex.Evidence, e)
	}
	w := &ex.Want
	if w.Colour, err = healthcode.ParseColour(d.Expect.Colour); err != nil {
		return ex, p.errorf(at("expect", "colour"), "example %q: %s", ex.Name, healthcode.ErrorMessage(err))
	}
	if w.Reason = d.Expect.Reason; w.Reason == "" {
		return ex, p.errorf(at("expect"), "example %q: expect needs a reason", ex.Name)
	}
	w.RuleID = d.Expect.Rule
	if s := strings.TrimSpace(d.Expect.LiftsAt); s != "" {
		w.CheckLiftsAt = true
		if s != "none" {
			t, err := parseTime(s, now)
			if err != nil {
				return ex, p.errorf(at("expect", "lifts_at"), "example %q: lifts_at: %v", ex.Name, err)
			}
			w.LiftsAt = &t
		}
	}
	if d.Expect.EvidenceIDs != nil {
		w.EvidenceIDs = append([]int64{}, d.Expect.EvidenceIDs...)
	}
	return ex, nil
}

func (p *parser) evidence(exName string, now time.Time, j int, pos Pos, d *evidenceDoc) (healthcode.Evidence, error) {
	t, err := parseTime(strings.TrimSpace(d.ObservedAt), now)
	if err != nil {
		return healthcode.Evidence{}, p.errorf(pos, "example %q, evidence %d: observed_at: %v", exName, j+1, err)
	}
	e := healthcode.Evidence{
		ID:            d.ID,
		Kind:          healthcode.EvidenceKind(d.Kind),
		Subject:       "example",
		Submitter:     "example",
		SubmitterName: "example",
		ExternalID:    fmt.Sprintf("example-%d", j+1),
		ObservedAt:    t,
		RecordedAt:    t,
		Result:        d.Result,
		Pooled:        d.Pooled,
		PoolID:        d.PoolID,
		Diagnosis:     d.Diagnosis,
		CaseRef:       d.CaseRef,
		RiskLevel:     d.RiskLevel,
		Area:          d.Area,
		Dose:          d.Dose,
		Venue:         d.Venue,
		Verified:      d.Verified,
	}
	if e.Kind == healthcode.VenueExposure {
		if e.Venue == "" {
			e.Venue = "example-venue"
		}
		if e.CaseRef == "" {
			e.CaseRef = "example-designation"
		}
		if e.RiskLevel == "" {
			e.RiskLevel = healthcode.RiskMedium
		}
	}
	if e.ID == 0 {
		e.ID = int64(j + 1)
	}
	// Defaults that keep examples short without making them unrealistic.
	if e.Pooled && e.PoolID == "" {
		e.PoolID = fmt.Sprintf("tube-%d", j+1)
	}
	if (e.Kind == healthcode.CloseContact || e.Kind == healthcode.SecondaryContact) && e.CaseRef == "" {
		e.CaseRef = "example-case"
	}
	if e.Kind == healthcode.Travel && e.Area == "" {
		e.Area = "110000"
	}
	if e.Kind == healthcode.TestingDuty {
		if e.Area == "" {
			e.Area = "110000"
		}
		if e.CaseRef == "" {
			e.CaseRef = "example-round"
		}
	}
	if s := strings.TrimSpace(d.Until); s != "" {
		if e.Until, err = parseTime(s, now); err != nil {
			return e, p.errorf(pos, "example %q, evidence %d: until: %v", exName, j+1, err)
		}
	}
	if s := strings.TrimSpace(d.Every); s != "" {
		if e.Every, err = parseDuration(s); err != nil {
			return e, p.errorf(pos, "example %q, evidence %d: every: %v", exName, j+1, err)
		}
	}
	if err := e.Validate(now); err != nil {
		return e, p.errorf(pos, "example %q, evidence %d: %s", exName, j+1, healthcode.ErrorMessage(err))
	}
	return e, nil
}

// parseTime reads an absolute RFC 3339 time or one relative to now:
// "-3d", "-2d12h", "+30m", "0".
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor relative to now like -3d or -2d12h", s)
	}
	return now.Add(d), nil
}

// parseDuration is time.ParseDuration with a leading day count: "1d", "-2d12h".
func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	bad := fmt.Errorf("bad duration %q", s)
	sign := time.Duration(1)
	rest := s
	switch {
	case strings.HasPrefix(rest, "-"):
		sign, rest = -1, rest[1:]
	case strings.HasPrefix(rest, "+"):
		rest = rest[1:]
	}
	if rest == "" {
		return 0, bad
	}
	var d time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		if err != nil || n > 36500 {
			return 0, bad
		}
		d = time.Duration(n) * Day
		rest = rest[i+1:]
	}
	if rest != "" {
		x, err := time.ParseDuration(rest)
		if err != nil || x < 0 || x > 36500*Day || strings.ContainsAny(rest, "+-") {
			return 0, bad
		}
		d += x
	}
	return sign * d, nil
}
