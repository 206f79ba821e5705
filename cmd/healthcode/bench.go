package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"healthcode"
	"healthcode/bench"
)

// benchmarks are the figures of `healthcode bench`, in the order they run.
// Their names are a contract (the JSON lines): add, never rename. The
// harness (alternation, spreads, loads, the JSON line) is package bench;
// the figures that need a node live here, beside it.
func benchmarks() []bench.Figure {
	return []bench.Figure{
		{Name: "rules.eval", Run: benchRulesEval},
		{Name: "qr.verify", Run: benchQRVerify},
		{Name: "qr.issue", Run: benchQRIssue},
		{Name: "import.results", Run: benchImport},
		{Name: "code.get", Run: benchCodeGet},
		{Name: "tlog.append", Run: benchTlogAppend},
		{Name: "tlog.prove", Run: benchTlogProve},
		{Name: "checkin.ingest", Run: benchCheckInIngest},
		{Name: "trace.venue_window", Run: benchTraceVenueWindow},
		{Name: "federation.status", Run: benchFederationStatus},
		{Name: "oversight.lag", Run: benchOversightLag},
		{Name: "checkin.ingest.live", Run: benchCheckInIngestLive},
		{Name: "code.get.cold", Run: benchCodeGetCold},
		{Name: "qr.png", Run: benchQRPNG},
		{Name: "import.round", Run: benchImportRound},
		{Name: "failover.gap", Run: benchFailoverGap},
		{Name: "checkin.ingest.postgres", Run: benchCheckInIngestPostgres},
		{Name: "code.get.postgres", Run: benchCodeGetPostgres},
		{Name: "tlog.append.postgres", Run: benchTlogAppendPostgres},
	}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per figure")
	scale := fs.Bool("scale", false, "build a synthetic city (10 million people, 100 million check-ins; see --scale-*) and measure it (the city.* and reeval.city figures), and run the other figures at their big sizes; takes much longer")
	only := fs.String("only", "", "comma-separated figure names to run (default all)")
	dur := fs.Duration("duration", 3*time.Second, "how long each side of an HTTP load runs in all, split over the rounds")
	roundPeople := fs.Int("round-people", 0, "the size of import.round's testing round (default 100,000; ten million under --scale)")
	rounds := fs.Int("rounds", 5, "how many times each side of a ratio is measured, alternating (A,B,B,A,…)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	profileDir := fs.String("profile-dir", "", "write a CPU profile of each figure's measured rounds (set-up excluded) into this directory")
	city := registerScaleFlags(fs)
	overload := fs.Bool("overload", false, "instead of the figures: twice each route's capacity, open-loop, for --duration (default 60s here), with its refusals, /healthz latency, memory and recovery (bench_overload.go)")
	routes := fs.String("routes", strings.Join(overloadRoutes, ","), "the routes --overload overloads")
	faults := fs.Bool("faults", false, "instead of the figures: SIGKILL a node under writes --cycles times, then count the acknowledged writes lost, verify the log and look for stray files (bench_faults.go)")
	pgServer := fs.String("postgres", os.Getenv("HEALTHCODE_BENCH_POSTGRES"), "a PostgreSQL server (postgres://…, a role that may create databases) on which the *.postgres figures each create a database, dropped after; env HEALTHCODE_BENCH_POSTGRES; without it they are skipped")
	cycles := fs.Int("cycles", 50, "SIGKILL cycles of --faults")
	clients := fs.Int("clients", 32, "concurrent writers of --faults")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode bench [--json] [--scale] [--only NAMES]\n\nMeasures each figure against a baseline measured in the same run on the same machine,\nthe two sides alternating over --rounds rounds, and reports the medians, their ratio\n(figure/baseline; for latencies baseline/figure: see lower_is_better) and the spreads.\n\nfigures:")
		for _, b := range benchmarks() {
			fmt.Fprintf(stderr, "  %s\n", b.Name)
		}
		fmt.Fprintf(stderr, "  with --scale (\"city\" names them all): %s\n", strings.Join(cityFigures, " "))
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *rounds < 1 || *rounds > 100 {
		fmt.Fprintf(stderr, "healthcode bench: --rounds must be between 1 and 100, not %d\n", *rounds)
		return exitUsage
	}
	if *roundPeople < 0 || *roundPeople > 100_000_000 {
		fmt.Fprintf(stderr, "healthcode bench: --round-people must be between 0 and 100,000,000\n")
		return exitUsage
	}
	if *dur <= 0 {
		fmt.Fprintf(stderr, "healthcode bench: --duration must be positive\n")
		return exitUsage
	}
	if *faults {
		return runFaults(ctx, *cycles, *clients, *asJSON, stdout, stderr)
	}
	if *overload {
		if !flagSet(fs, "duration") {
			*dur = 60 * time.Second
		}
		return runOverload(ctx, strings.Split(*routes, ","), *dur, *asJSON, stdout, stderr)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for n := range want {
		found := n == "city" || slices.Contains(cityFigures, n)
		for _, b := range benchmarks() {
			found = found || b.Name == n
		}
		if !found {
			fmt.Fprintf(stderr, "healthcode bench: unknown figure %q\n", n)
			return exitUsage
		}
	}
	if *cpuprofile != "" && *profileDir != "" {
		fmt.Fprintf(stderr, "healthcode bench: --cpuprofile and --profile-dir exclude each other (one CPU profile at a time)\n")
		return exitUsage
	}
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			return fail(stderr, "bench", err)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fail(stderr, "bench", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(stderr, "bench", err)
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "healthcode-bench-")
	if err != nil {
		return fail(stderr, "bench", err)
	}
	defer os.RemoveAll(dir)
	env := &bench.Env{Ctx: ctx, Scale: *scale, Dir: dir, People: 20_000, Dur: *dur, Rounds: *rounds, Stderr: stderr, ProfileDir: *profileDir, RoundPeople: *roundPeople, Postgres: *pgServer}
	if *scale {
		env.People = 1_000_000
	}
	failed := false
	// --scale: the city first (its figures are asked for by name, or all of
	// them when none is).
	if *scale && (len(want) == 0 || want["city"] || slices.ContainsFunc(cityFigures, func(n string) bool { return want[n] })) {
		err := benchCity(env, city, func(r bench.Result) {
			if len(want) == 0 || want["city"] || want[r.Name] {
				bench.Write(stdout, r, *asJSON)
			}
		})
		if err != nil {
			fmt.Fprintf(stderr, "healthcode bench: --scale: %s\n", message(err))
			failed = true
		}
	}
	for _, b := range benchmarks() {
		if len(want) > 0 && !want[b.Name] {
			continue
		}
		env.Figure = b.Name
		r, err := b.Run(env)
		if errors.Is(err, bench.ErrSkipped) {
			fmt.Fprintf(stderr, "healthcode bench: %s: %v\n", b.Name, err)
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "healthcode bench: %s: %v\n", b.Name, err)
			failed = true
			continue
		}
		r.Name = b.Name
		bench.Write(stdout, r, *asJSON)
	}
	if failed {
		return exitError
	}
	return exitOK
}

// benchNode opens a node in a fresh directory under the bench's temp dir,
// with the baseline rules published.
func benchNode(env *bench.Env, name string, clock healthcode.Clock) (*node, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = filepath.Join(env.Dir, name), "127.0.0.1:0"
	return benchNodeWith(env, cfg, clock)
}

// benchNodeWith opens a node of cfg (whose DataDir and Addr the caller set)
// with the baseline rules published.
func benchNodeWith(env *bench.Env, cfg Config, clock healthcode.Clock) (*node, error) {
	return openBenchNode(env.Ctx, &cfg, clock)
}

// openBenchNode is benchNodeWith outside a figure (the --overload and
// --faults runs, which build a node's data for a child to serve); cfg is
// left finished (its defaults filled in, DB among them).
func openBenchNode(ctx context.Context, cfg *Config, clock healthcode.Clock) (*node, error) {
	if err := cfg.finish(); err != nil {
		return nil, err
	}
	n, err := openNode(ctx, *cfg, clock, io.Discard)
	if err != nil {
		return nil, err
	}
	if err := n.publishBaselineIfNone(ctx); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// activeVenues registers count retail venues in 410105 through the engine,
// each activated by an operator, as the bench's loads need them.
func activeVenues(ctx context.Context, n *node, count int) ([]*healthcode.Venue, error) {
	owner := &healthcode.Principal{ID: "bench-owner", Name: "bench", Role: healthcode.RoleVenue}
	operator := &healthcode.Principal{ID: "bench-op", Name: "bench", Role: healthcode.RoleOperator, Unit: "bench"}
	venues := make([]*healthcode.Venue, 0, count)
	for i := range count {
		v, err := n.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: fmt.Sprintf("场所 %d", i), Address: "金水路", Region: "410105", Category: "retail"})
		if err != nil {
			return nil, err
		}
		if err := n.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
			return nil, err
		}
		venues = append(venues, v)
	}
	return venues, nil
}

// citizenTokens creates a citizen's API token for each of subjects.
func citizenTokens(ctx context.Context, n *node, subjects []string) ([]string, error) {
	tokens := make([]string, 0, len(subjects))
	for _, p := range subjects {
		tok, err := n.engine.CreateToken(ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}
