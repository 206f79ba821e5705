// Command healthcode runs and inspects a healthcode node: serve, demo,
// verify, rules, import, admin, bench. It only wires the packages together;
// every subcommand is a function of (ctx, args, stdout, stderr) that tests
// call directly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"healthcode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes. verify has its own (see verify.go).
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitRejected = 3 // rules test failed, import had rejected rows…
)

type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run a node: the API, the pages, the re-evaluation loop", runServe},
		{"demo", "generate a synthetic city in a SQLite file and serve it on 127.0.0.1:8080", runDemo},
		{"verify", "verify a health QR offline (text or PNG) against a trust file", runVerify},
		{"rules", "test a rule set file: rules test FILE", runRules},
		{"import", "import a lab's batch of results (CSV or JSON lines)", runImport},
		{"log", "audit the transparency log; check a citizen's receipt offline", runLog},
		{"federation", "the national trust list: federation keygen, entry (a node's), sign (the national key's)", runFederationCmd},
		{"witness", "run a witness that cosigns a log's consistent checkpoints (an oversight body, a court)", runWitness},
		{"purge", "delete now the personal data past its retention period, and log it", runPurge},
		{"sunset", "end the emergency: delete every person's data, keep the log verifiable", runSunset},
		{"admin", "the registry: admin init, then admin unit, official, approve, token, revoke, list --token ADMIN", runAdmin},
		{"bench", "measure throughput figures against same-run baselines", runBench},
		{"scenario", "play the reference scenario (zhengzhou): officials try to red-code a list; refused or alerted?", runScenario},
		{"oversight", "run the oversight detectors once: oversight run --data DIR", runOversight},
	}
}

// Run runs the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "healthcode: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: healthcode COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'healthcode COMMAND --help' for a command's flags.")
}

// parseFlags parses args, printing errors and help to stderr. It returns the
// exit code to use if parsing ended the command (help or a bad flag).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// fail prints err for a person at a terminal and returns the exit code.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "healthcode %s: %s\n", cmd, message(err))
	return exitError
}

func message(err error) string {
	if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
		return err.Error()
	}
	msg := healthcode.ErrorMessage(err)
	if d := healthcode.ErrorDetail(err); d != "" {
		msg += " (" + d + ")"
	}
	return msg
}
