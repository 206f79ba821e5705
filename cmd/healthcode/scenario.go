package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"healthcode"
	"healthcode/scenario"
)

// scenarioAuditEvery is how often the scenario's node audits its store
// against its log: what bounds the time to detect a direct write.
const scenarioAuditEvery = 15 * time.Second

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per line: each attempt, the lawful work, the targets, a summary")
	people := fs.Int("people", 10_000, "people in the synthetic city")
	targets := fs.Int("targets", scenario.DefaultTargets, "people on the list the officials try to red-code")
	seed := fs.Uint64("seed", 1, "seed of the synthetic city")
	within := fs.Duration("alert-within", scenario.DefaultAlertWithin, "how soon after an attempt's first effect oversight must have been alerted")
	verbose := fs.Bool("v", false, "print the node's log and the scenario's progress to stderr")
	keep := fs.Bool("keep", false, "after the report, keep the node serving (until interrupted) and print its dashboard's address and the scenario auditor's token, to look at what oversight saw")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: healthcode scenario zhengzhou [--json] [flags]

Starts a real node on 127.0.0.1 with a fresh database in a temporary directory: a synthetic city with an
ordinary outbreak and lawful epidemiological work, while a group of officials tries to red-code a list
of people (1,317 depositors in 2022) by (a) a bulk override, (b) many small overrides, (c) a designation
without a case, (d) a designation or contacts citing a case unrelated to them, (e) a venue code photo
sent to people who are elsewhere, (f) a direct write of the database file, (g) positives for tubes never
collected. Every attempt goes through the API with the officials' own tokens, except (f).

For each attempt it prints whether it was refused, how many targets' colour changed, the seconds until
oversight's first alert and the officials the alerts named; for the lawful work, the actions done and
any false alert; then what the people on the list see. Exit status 0 if every attempt was refused or
alerted within 60 s (--alert-within) naming its officials, no false alert was raised and every target above green sees
why and can appeal; 3 otherwise.

flags:`)
		fs.PrintDefaults()
	}
	// The scenario's name may come before or after the flags.
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		name = "" // more than one name
	}
	if name != "zhengzhou" || fs.NArg() > 1 {
		fmt.Fprintln(stderr, "healthcode scenario: name the scenario: healthcode scenario zhengzhou [--json]")
		return exitUsage
	}
	if *targets < 1 || *targets > *people/2 {
		fmt.Fprintf(stderr, "healthcode scenario: --targets must be between 1 and half of --people (%d)\n", *people/2)
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "healthcode-scenario-")
	if err != nil {
		return fail(stderr, "scenario", err)
	}
	defer os.RemoveAll(dir)
	logw, progress := io.Discard, io.Discard
	if *verbose {
		logw, progress = stderr, stderr
	}
	sn, stop, err := startScenarioNode(ctx, dir, *people, *seed, logw)
	if err != nil {
		return fail(stderr, "scenario", err)
	}
	defer stop()
	rep, err := scenario.Run(ctx, sn, scenario.Config{Targets: *targets, AlertWithin: *within, Progress: progress})
	if err != nil {
		return fail(stderr, "scenario", err)
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return fail(stderr, "scenario", err)
	}
	if *keep {
		if err := keepServing(ctx, sn, rep, *asJSON, stdout); err != nil {
			return fail(stderr, "scenario", err)
		}
	}
	if !rep.OK() {
		return exitRejected
	}
	return exitOK
}

// keepServing says where the node's dashboard is and who may sign in to
// it, and waits until ctx ends (an interrupt).
func keepServing(ctx context.Context, sn scenario.Node, rep *scenario.Report, asJSON bool, stdout io.Writer) error {
	dash := sn.URL + "/dashboard"
	var err error
	if asJSON {
		err = json.NewEncoder(stdout).Encode(struct {
			Kind      string `json:"kind"` // "node"
			URL       string `json:"url"`
			Dashboard string `json:"dashboard"`
			Auditor   string `json:"auditor_token"`
		}{"node", sn.URL, dash, rep.Auditor})
	} else {
		_, err = fmt.Fprintf(stdout, "\nThe node is still serving: open %s and sign in as the scenario's auditor (市纪委监委) with the token\n  %s\nCtrl-C stops it and deletes its data.\n", dash, rep.Auditor)
	}
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// startScenarioNode starts a node in dir, on 127.0.0.1 and the wall clock,
// with its background jobs (review, checkpoints, audit, oversight): the
// baseline rules in force, the city's people registered, two admins. It
// returns what the scenario needs of it and a function that stops it.
func startScenarioNode(ctx context.Context, dir string, people int, seed uint64, logw io.Writer) (scenario.Node, func(), error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.AuditEvery = dir, "127.0.0.1:0", scenarioAuditEvery
	if err := cfg.finish(); err != nil {
		return scenario.Node{}, nil, err
	}
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, logw)
	if err != nil {
		return scenario.Node{}, nil, err
	}
	fail := func(err error) (scenario.Node, func(), error) {
		n.close()
		return scenario.Node{}, nil, err
	}
	if err := n.publishBaselineIfNone(ctx); err != nil {
		return fail(err)
	}
	city, err := scenario.CityFor(seed, people, cfg.Region, time.Now().UTC())
	if err != nil {
		return fail(err)
	}
	if err := registerCity(ctx, n, city); err != nil {
		return fail(err)
	}
	_, inits, err := n.engine.Init(ctx, healthcode.Unit{Name: "卫健委信息中心"}, []string{"系统管理员 王磊", "系统管理员 李静"})
	if err != nil {
		return fail(err)
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		return fail(err)
	}
	bg, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.background(bg); close(done) }()
	stop := func() {
		cancel()
		<-done
		shut, cancelShut := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelShut()
		n.server.Close(shut)
		n.close()
	}
	citizens := func(ctx context.Context, ids []string) ([]string, error) {
		out := make([]string, len(ids))
		for i, id := range ids {
			// The system gives each person their token at set-up (logged,
			// and shown in the person's access records), as the demo does.
			tok, err := n.engine.CreateToken(ctx, &healthcode.Principal{Name: "居民", Role: healthcode.RoleCitizen, Subject: n.engine.Keys.Pseudonymize(cfg.Region, id)})
			if err != nil {
				return nil, err
			}
			out[i] = tok
		}
		return out, nil
	}
	return scenario.Node{URL: n.server.URL(), DB: cfg.DB, City: city, Admins: [2]string{inits[0].Secret, inits[1].Secret},
		CitizenTokens: citizens, AuditEvery: cfg.AuditEvery}, stop, nil
}
