package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"healthcode/rules"
)

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: healthcode rules test FILE

Compiles a rule set, runs every example it carries, and reports each example
and which rules they cover. Exits 0 if the rule set could be published, 3 if
an example fails or a rule is not covered, 1 if it does not compile.`)
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 2 || fs.Arg(0) != "test" {
		fs.Usage()
		return exitUsage
	}
	path := fs.Arg(1)
	src, err := os.ReadFile(path)
	if err != nil {
		return fail(stderr, "rules", err)
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
