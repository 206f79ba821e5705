package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/rules"
)

const explainUsage = `usage: healthcode rules explain --export FILE [--rules FILE]... [--at TIME]

Recomputes, offline, the colours of the person whose export FILE is (GET /api/v1/me/export,
or "Download my data" on the citizen page) from their own evidence and the published rule
set, and says whether each logged decision is what the rules give: the same colour, reason,
rule, evidence and lift time, from the evidence the node held when it decided.

The rule set is found by the hash each decision names: the built-in national baseline, or a
file given with --rules (the rule set in force: GET /api/v1/rulesets/active?format=yaml).
With --at, also recomputes the colour at TIME (RFC 3339) from the evidence held then.

exits 0 if every decision checked matches, 3 if one does not, 1 if the export or a rule set
cannot be read.`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runRulesExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules explain", flag.ContinueOnError)
	export := fs.String("export", "", "the person's export (JSON from /api/v1/me/export)")
	var ruleFiles multiFlag
	fs.Var(&ruleFiles, "rules", "a rule set file (repeatable); the built-in baseline is always known")
	at := fs.String("at", "", "also recompute the colour at this time (RFC 3339)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, explainUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *export == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	var when time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "healthcode rules explain: --at must be an RFC 3339 time like 2022-07-15T12:00:00+08:00, not %q\n", *at)
			return exitUsage
		}
		when = t
	}

	known := map[string]*rules.RuleSet{} // by hash
	names := map[string]string{}
	base, err := rules.Load(rules.BaselineName, rules.Baseline())
	if err != nil {
		return fail(stderr, "rules explain", err)
	}
	known[base.Hash()], names[base.Hash()] = base, "the built-in baseline"
	for _, path := range ruleFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			return fail(stderr, "rules explain", err)
		}
		rs, err := rules.Load(filepath.Base(path), src)
		if err != nil {
			fmt.Fprintf(stderr, "healthcode rules explain: %s\n", message(err))
			return exitError
		}
		known[rs.Hash()], names[rs.Hash()] = rs, path
	}

	f, err := os.Open(*export)
	if err != nil {
		return fail(stderr, "rules explain", err)
	}
	x, err := hchttp.ReadExport(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "healthcode rules explain: %s: %s\n", *export, message(err))
		return exitError
	}
	history, current, err := x.Decisions()
	if err != nil {
		fmt.Fprintf(stderr, "healthcode rules explain: %s: not an export: %v\n", *export, err)
		return exitError
	}
	evidence := x.EvidenceOf()
	slices.SortStableFunc(history, func(a, b healthcode.Decision) int { return a.DecidedAt.Compare(b.DecidedAt) })
	if current.Actor == "" {
		// No decision in force was logged: the code is the rule set's
		// default, evaluated as the export was made.
		history = append(history, current)
	}

	fmt.Fprintf(stdout, "person %s (region %s), exported %s: %d piece(s) of evidence, %d decision(s)\n",
		x.Subject, x.Region, x.ExportedAt.UTC().Format(time.RFC3339), len(evidence), len(history))
	matched, differ, unchecked := 0, 0, 0
	for i := range history {
		d := &history[i]
		label := fmt.Sprintf("log index %d", d.LogIndex)
		if d.Actor == "" {
			label = "the default, never logged"
		}
		fmt.Fprintf(stdout, "\n%s, %s: %s/%s (rule %s), rule set %s (sha256 %.12s)\n", d.DecidedAt.UTC().Format(time.RFC3339), label,
			d.Colour, d.Reason, d.RuleID, d.RuleSetVersion, d.RuleSetHash)
		if strings.HasPrefix(d.Actor, "override") {
			fmt.Fprintf(stdout, "  an approved override (%s), not a rule: not recomputed\n", d.Actor)
			unchecked++
			continue
		}
		rs := known[d.RuleSetHash]
		if rs == nil {
			fmt.Fprintf(stdout, "  not checked: rule set %s (sha256 %.12s) not given; pass it with --rules FILE\n", d.RuleSetVersion, d.RuleSetHash)
			unchecked++
			continue
		}
		got, diff, err := rs.Recompute(evidence, d)
		if err != nil {
			return fail(stderr, "rules explain", err)
		}
		writeRecomputed(stdout, got, names[rs.Hash()])
		if diff != "" {
			fmt.Fprintf(stdout, "  DOES NOT MATCH the logged decision: %s\n", diff)
			differ++
			continue
		}
		fmt.Fprintln(stdout, "  matches the logged decision")
		matched++
	}
	if !when.IsZero() {
		rs := known[current.RuleSetHash]
		if rs == nil {
			rs = base
		}
		got, err := rs.Evaluate(x.Subject, rules.AsRecorded(evidence, when), when)
		if err != nil {
			return fail(stderr, "rules explain", err)
		}
		fmt.Fprintf(stdout, "\nat %s, from the evidence held then:\n", when.UTC().Format(time.RFC3339))
		writeRecomputed(stdout, got, names[rs.Hash()])
	}
	fmt.Fprintf(stdout, "\n%d decision(s) match the rules, %d do not, %d not checked\n", matched, differ, unchecked)
	if differ > 0 {
		return exitRejected
	}
	return exitOK
}

func writeRecomputed(w io.Writer, d *healthcode.Decision, source string) {
	fmt.Fprintf(w, "  recomputed with %s: %s/%s (rule %s): %s\n", source, d.Colour, d.Reason, d.RuleID, d.Text.EN)
	if d.Colour != healthcode.Green || d.LiftsAt != nil {
		fmt.Fprintf(w, "  lifts: %s\n", d.Lift.EN)
	}
	if d.LiftsAt != nil {
		fmt.Fprintf(w, "  changes by time alone at %s\n", d.LiftsAt.UTC().Format(time.RFC3339))
	}
	if len(d.EvidenceIDs) > 0 {
		fmt.Fprintf(w, "  rests on evidence %v\n", d.EvidenceIDs)
	}
}
