package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"healthcode"
	"healthcode/engine"
	"healthcode/rules"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const rulesUsage = `usage:
  healthcode rules test FILE                      compile a rule set and run its examples
  healthcode rules publish --token ADMIN FILE     propose a rule set: the first admin's signature
  healthcode rules approve --token ADMIN2 VERSION second admin: put it in force, re-evaluate everyone
  healthcode rules review                         re-evaluate everyone whose decision is due (lift times, expiries)
  healthcode rules explain --export FILE [--rules FILE] [--at TIME]
                                                  recompute a person's colours offline from their export

test exits 0 if the rule set could be published, 3 if an example fails or a rule
is not covered, 1 if it does not compile. publish and review work in batches, each
committed on its own: if interrupted, run review to carry on where it stopped.`

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, rulesUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "test":
		return runRulesTest(args[1:], stdout, stderr)
	case "explain":
		return runRulesExplain(args[1:], stdout, stderr)
	case "publish", "approve", "review":
		return runRulesPublish(ctx, args[0], args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "healthcode rules: unknown subcommand %q\n\n%s\n", args[0], rulesUsage)
	return exitUsage
}

func runRulesTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(stderr, rulesUsage) }
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	path := fs.Arg(0)
	src, err := os.ReadFile(path)
	if err != nil {
		return fail(stderr, "rules test", err)
	}
	report, err := rules.Test(filepath.Base(path), src)
	if err != nil {
		fmt.Fprintf(stderr, "%s\n", message(err))
		return exitError
	}
	fmt.Fprint(stdout, report.String())
	if !report.OK() {
		return exitRejected
	}
	return exitOK
}

func runRulesPublish(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("rules "+sub, flag.ContinueOnError)
	cfg.register(fs)
	token := fs.String("token", os.Getenv("HEALTHCODE_TOKEN"), "publish: an admin's bearer token (env HEALTHCODE_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, rulesUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if (sub != "review" && (fs.NArg() != 1 || *token == "")) || (sub == "review" && fs.NArg() != 0) {
		fs.Usage()
		return exitUsage
	}
	if err := cfg.finishNodeConfig(fs, "rules "+sub, stderr); err != nil {
		return fail(stderr, "rules "+sub, err)
	}
	n, err := openExistingNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "rules "+sub, err)
	}
	defer n.close()
	switch sub {
	case "publish":
		src, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fail(stderr, "rules publish", err)
		}
		actor, err := n.engine.Authenticate(ctx, *token)
		if err != nil {
			return fail(stderr, "rules publish", err)
		}
		p, err := n.engine.ProposeRuleSet(ctx, actor, src)
		if err != nil {
			return fail(stderr, "rules publish", err)
		}
		fmt.Fprintf(stdout, "proposed %s (sha256 %s) by %s; a second admin approves it with:\n  healthcode rules approve --token ADMIN2 %s\n",
			p.Record.Version, p.Record.Hash, p.ProposedBy.Name, p.Record.Version)
		return exitOK
	case "approve":
		actor, err := n.engine.Authenticate(ctx, *token)
		if err != nil {
			return fail(stderr, "rules approve", err)
		}
		rec, err := n.engine.ApproveRuleSet(ctx, actor, fs.Arg(0))
		if err != nil {
			return fail(stderr, "rules approve", err)
		}
		fmt.Fprintf(stdout, "published %s (sha256 %s) by %s; re-evaluating everyone under it\n", rec.Version, rec.Hash, rec.PublishedBy)
	}
	reviewed, changed, err := n.engine.ReviewDue(ctx, progressOn(stderr, "re-evaluating"))
	fmt.Fprintf(stdout, "re-evaluated %d people, %d changed\n", reviewed, changed)
	if err != nil {
		return fail(stderr, "rules "+sub, err)
	}
	return exitOK
}

// progressOn returns a progress callback drawing a bar on w if w is a
// terminal, or nil.
func progressOn(w io.Writer, what string) engine.Progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	bar := progressbar.Default(-1, what)
	return func(done, total int64) {
		if total > 0 {
			bar.ChangeMax64(total)
		}
		bar.Set64(done)
	}
}
