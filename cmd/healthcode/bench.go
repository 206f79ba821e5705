package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"healthcode"
	"healthcode/qr"
	"healthcode/rules"
	"healthcode/sim"
	"healthcode/sqlite"
	"healthcode/tlog"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// figure is one line of `healthcode bench --json`: a contract others read,
// so names and fields stay stable.
type figure struct {
	Name          string  `json:"name"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	// Target is the ratio the figure should reach (informative).
	Target float64 `json:"target,omitempty"`
	// Lower is set when a smaller value is better (latencies); Ratio is
	// then baseline/value, so that a higher ratio is always better.
	Lower bool `json:"lower_is_better,omitempty"`
	// P99Ms is the 99th percentile latency of one operation, where the
	// figure reports it, and P99TargetMs the latency it should stay under.
	P99Ms       float64 `json:"p99_ms,omitempty"`
	P99TargetMs float64 `json:"p99_target_ms,omitempty"`
}

type benchEnv struct {
	ctx    context.Context
	scale  bool
	dir    string
	people int
	dur    time.Duration
	stderr io.Writer
}

type benchmark struct {
	name string
	run  func(*benchEnv) (figure, error)
}

func benchmarks() []benchmark {
	return []benchmark{
		{"rules.eval", benchRulesEval},
		{"qr.verify", benchQRVerify},
		{"qr.issue", benchQRIssue},
		{"import.results", benchImport},
		{"code.get", benchCodeGet},
		{"tlog.append", benchTlogAppend},
		{"tlog.prove", benchTlogProve},
		{"checkin.ingest", benchCheckInIngest},
		{"trace.venue_window", benchTraceVenueWindow},
		{"federation.status", benchFederationStatus},
		{"oversight.lag", benchOversightLag},
	}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per figure")
	scale := fs.Bool("scale", false, "the big sizes (a million-person testing round); takes much longer")
	only := fs.String("only", "", "comma-separated figure names to run (default all)")
	dur := fs.Duration("duration", 3*time.Second, "how long each HTTP load runs")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode bench [--json] [--scale] [--only NAMES]\n\nMeasures each figure against a baseline measured in the same run on the same machine\nand reports the ratio (figure/baseline; for latencies, baseline/figure is not used: see lower_is_better).\n\nfigures:")
		for _, b := range benchmarks() {
			fmt.Fprintf(stderr, "  %s\n", b.name)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for n := range want {
		found := false
		for _, b := range benchmarks() {
			found = found || b.name == n
		}
		if !found {
			fmt.Fprintf(stderr, "healthcode bench: unknown figure %q\n", n)
			return exitUsage
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
	env := &benchEnv{ctx: ctx, scale: *scale, dir: dir, people: 20_000, dur: *dur, stderr: stderr}
	if *scale {
		env.people = 1_000_000
	}
	failed := false
	for _, b := range benchmarks() {
		if len(want) > 0 && !want[b.name] {
			continue
		}
		f, err := b.run(env)
		if err != nil {
			fmt.Fprintf(stderr, "healthcode bench: %s: %v\n", b.name, err)
			failed = true
			continue
		}
		f.Name = b.name
		if *asJSON {
			json.NewEncoder(stdout).Encode(f)
		} else {
			fmt.Fprintf(stdout, "%-16s %12.3f %-12s %-38s %12.3f  ratio %.3f", f.Name, f.Value, f.Unit, f.Baseline, f.BaselineValue, f.Ratio)
			if f.Target > 0 {
				fmt.Fprintf(stdout, " (target %.2f)", f.Target)
			}
			if f.P99Ms > 0 {
				fmt.Fprintf(stdout, "  p99 %.1f ms (target < %.0f ms)", f.P99Ms, f.P99TargetMs)
			}
			fmt.Fprintln(stdout)
		}
	}
	if failed {
		return exitError
	}
	return exitOK
}

func perSecond(r testing.BenchmarkResult) float64 {
	if r.NsPerOp() == 0 {
		return float64(r.N) / r.T.Seconds()
	}
	return 1e9 / (float64(r.T.Nanoseconds()) / float64(r.N))
}

// benchRulesEval evaluates the baseline rule set over the evidence summaries
// of the synthetic city's outbreak, against the same logic written in Go.
func benchRulesEval(env *benchEnv) (figure, error) {
	rs, err := rules.Load("baseline.yaml", rules.Baseline())
	if err != nil {
		return figure{}, err
	}
	city, err := sim.New(sim.Config{Seed: 1, People: 10_000})
	if err != nil {
		return figure{}, err
	}
	bySubject := map[string][]healthcode.Evidence{}
	var last time.Time
	for i, ev := range city.Outbreak() {
		e := ev.Evidence
		e.ID, e.Subject = int64(i+1), ev.SubjectID
		bySubject[ev.SubjectID] = append(bySubject[ev.SubjectID], e)
		last = ev.At
	}
	now := last.Add(time.Hour)
	var sums []rules.Summary
	for _, evs := range bySubject {
		sums = append(sums, rules.Summarize(evs, now))
	}
	sums = append(sums, rules.Summarize(nil, now)) // most people have no evidence at all
	if len(sums) == 0 {
		return figure{}, fmt.Errorf("no summaries")
	}
	var sink string
	cel := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r, err := rs.Match(&sums[i%len(sums)])
			if err != nil {
				b.Fatal(err)
			}
			sink = r.ID
		}
	})
	hand := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, sink = rules.EvaluateBaselineByHand(&sums[i%len(sums)], now)
		}
	})
	_ = sink
	v, bv := perSecond(cel), perSecond(hand)
	return figure{Value: v, Unit: "evals/s", Baseline: "baseline rules hand-written in Go", BaselineValue: bv, Ratio: v / bv, Target: 1.0 / 30}, nil
}

// qrBench is what both QR figures measure on: a signer, its trust list,
// claims, one token, and the size of the structure its signature covers
// (the message raw Ed25519 is measured on).
type qrBench struct {
	signer *qr.Signer
	trust  *qr.Trust
	claims *qr.Claims
	text   string
	size   int
}

func newQRBench() (*qrBench, error) {
	key, err := qr.GenerateKey("Ed25519")
	if err != nil {
		return nil, err
	}
	q := &qrBench{trust: qr.NewTrust()}
	if q.signer, err = qr.NewSigner(key); err != nil {
		return nil, err
	}
	if err := q.trust.Add("410100", q.signer.Public()); err != nil {
		return nil, err
	}
	now := time.Now().Truncate(time.Second)
	q.claims = &qr.Claims{Region: "410100", Subject: "pabcdefghijklmnopqrstuvwx", MaskedName: "张*明", Colour: healthcode.Green,
		IssuedAt: now, Expires: now.Add(5 * time.Minute), RuleSetVersion: "cn-national-2022.9"}
	if q.text, err = q.signer.Issue(q.claims); err != nil {
		return nil, err
	}
	q.size, err = qr.SignedSize(q.text)
	return q, err
}

// benchQRVerify measures full offline verifications against raw Ed25519
// verification of a message of the signed structure's size.
func benchQRVerify(env *benchEnv) (figure, error) {
	q, err := newQRBench()
	if err != nil {
		return figure{}, err
	}
	text, trust, size := q.text, q.trust, q.size
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, size)
	sig := ed25519.Sign(priv, msg)
	now := q.claims.IssuedAt.Add(time.Minute)
	full := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := qr.Verify(text, trust, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
	})
	v, bv := perSecond(full), perSecond(raw)
	return figure{Value: v, Unit: "verifies/s", Baseline: fmt.Sprintf("ed25519.Verify of %d bytes", size), BaselineValue: bv, Ratio: v / bv, Target: 0.8}, nil
}

// benchQRIssue measures issuances against raw Ed25519 signing.
func benchQRIssue(env *benchEnv) (figure, error) {
	q, err := newQRBench()
	if err != nil {
		return figure{}, err
	}
	s, c, size := q.signer, q.claims, q.size
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, size)
	full := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.Issue(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ed25519.Sign(priv, msg)
		}
	})
	v, bv := perSecond(full), perSecond(raw)
	return figure{Value: v, Unit: "issues/s", Baseline: fmt.Sprintf("ed25519.Sign of %d bytes", size), BaselineValue: bv, Ratio: v / bv, Target: 0.7}, nil
}

// benchNode opens a node in a fresh directory under the bench's temp dir.
func benchNode(env *benchEnv, name string, clock healthcode.Clock) (*node, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = filepath.Join(env.dir, name), "127.0.0.1:0"
	if err := cfg.finish(); err != nil {
		return nil, err
	}
	n, err := openNode(env.ctx, cfg, clock, io.Discard)
	if err != nil {
		return nil, err
	}
	if err := n.publishBaselineIfNone(env.ctx); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func registerCity(ctx context.Context, n *node, city *sim.City) error {
	const batch = 5000
	pds := make([]healthcode.PersonalData, 0, batch)
	for c := range city.People() {
		pds = append(pds, c.PersonalData())
		if len(pds) == batch {
			if err := n.engine.RegisterPeople(ctx, pds); err != nil {
				return err
			}
			pds = pds[:0]
		}
	}
	return n.engine.RegisterPeople(ctx, pds)
}

// benchImport imports a city-wide testing round (validated, deduplicated,
// stored, logged, everyone affected re-evaluated) against bare batched
// inserts of the same rows into SQLite.
func benchImport(env *benchEnv) (figure, error) {
	start := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := healthcode.NewManualClock(start.Add(48 * time.Hour))
	n, err := benchNode(env, "import", clock)
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 3, People: env.people, Start: start})
	if err != nil {
		return figure{}, err
	}
	fmt.Fprintf(env.stderr, "bench import.results: registering %d people…\n", env.people)
	if err := registerCity(env.ctx, n, city); err != nil {
		return figure{}, err
	}
	// The round's samples are collected first (not timed): the figure is
	// the lab's import of the results, by tube.
	lab, sampler := city.Labs[0].Principal(), city.Samplers[0].Principal()
	var subs []healthcode.Submission
	var cols []healthcode.CollectionRequest
	var bare []healthcode.Evidence
	for r := range city.TestingRound(start.Add(24*time.Hour), city.Samplers[0], city.Labs[0], true) {
		cols = append(cols, r.Collection(len(cols)))
		if r.LastInTube {
			subs = append(subs, r.Submission(len(subs)+1))
		}
		bare = append(bare, healthcode.Evidence{Kind: r.Kind, Subject: n.engine.Keys.Pseudonymize(city.Region, r.IDNumber),
			Submitter: lab.ID, SubmitterName: lab.Name, SubmitterRole: lab.Role, ExternalID: "tube/" + r.Tube + "/" + strconv.Itoa(len(bare)),
			ObservedAt: r.CollectedAt, RecordedAt: clock.Now(), Result: r.Result, Pooled: r.Mixed, PoolID: r.Tube})
	}
	fmt.Fprintf(env.stderr, "bench import.results: collecting %d samples…\n", len(cols))
	for i := 0; i < len(cols); i += 5000 {
		outs, err := n.engine.Collect(env.ctx, &sampler, cols[i:min(i+5000, len(cols))])
		if err != nil {
			return figure{}, err
		}
		for _, o := range outs {
			if o.Status != healthcode.Accepted {
				return figure{}, fmt.Errorf("collection %d: %s %v", o.Line, o.Status, o.Err)
			}
		}
	}
	// Baseline: the same rows, bare batched inserts, in the same run.
	bdb, err := sqlite.Open(env.ctx, filepath.Join(env.dir, "bare.db"))
	if err != nil {
		return figure{}, err
	}
	defer bdb.Close()
	t := time.Now()
	if err := bdb.BenchInsertEvidence(env.ctx, bare, 2000); err != nil {
		return figure{}, err
	}
	bareRate := float64(len(bare)) / time.Since(t).Seconds()
	t = time.Now()
	accepted := 0
	for i := 0; i < len(subs); i += 2000 {
		outs, err := n.engine.Submit(env.ctx, &lab, subs[i:min(i+2000, len(subs))])
		if err != nil {
			return figure{}, err
		}
		for _, o := range outs {
			if o.Status == healthcode.Accepted {
				accepted++
			}
		}
	}
	// A tube's result is one result per person in it: the rate counts
	// people's results, as the baseline's rows do.
	rate := float64(len(bare)) / time.Since(t).Seconds()
	if accepted != len(subs) {
		return figure{}, fmt.Errorf("accepted %d of %d tube results", accepted, len(subs))
	}
	return figure{Value: rate, Unit: "results/s", Baseline: "bare batched SQLite inserts", BaselineValue: bareRate, Ratio: rate / bareRate, Target: 0.3}, nil
}

// load runs GET requests against url from conc keep-alive clients for d and
// returns requests per second. Any non-200 answer is an error.
func load(ctx context.Context, url string, tokens []string, conc int, d time.Duration) (float64, error) {
	return loadWith(ctx, conc, d, 200, func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if len(tokens) > 0 {
			req.Header.Set("Authorization", "Bearer "+tokens[r.IntN(len(tokens))])
		}
		return req
	})
}

// loadWith sends the requests newReq makes from conc keep-alive clients for
// d and returns answers per second; an answer other than want is an error.
func loadWith(ctx context.Context, conc int, d time.Duration, want int, newReq func(*rand.Rand) *http.Request) (float64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var count atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req := newReq(r)
				resp, err := client.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
					return
				}
				count.Add(1)
			}
		}(w)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(count.Load()) / d.Seconds(), nil
}

// benchCodeGet measures citizens' code requests over HTTP against a trivial
// handler answering 200 bytes, both served by this process on 127.0.0.1.
func benchCodeGet(env *benchEnv) (figure, error) {
	n, err := benchNode(env, "code", healthcode.SystemClock{})
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 5, People: 2000, Start: time.Now().UTC().Add(-6 * 24 * time.Hour)})
	if err != nil {
		return figure{}, err
	}
	if _, _, _, err := n.populate(env.ctx, city, time.Now().UTC(), io.Discard); err != nil {
		return figure{}, err
	}
	var tokens []string
	for i := 0; i < 200; i++ {
		c := city.Person(i * 7)
		p := n.engine.Keys.Pseudonymize(city.Region, c.IDNumber)
		tok, err := n.engine.CreateToken(env.ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return figure{}, err
		}
		tokens = append(tokens, tok)
	}
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		return figure{}, err
	}
	defer n.server.Close(context.Background())
	body := []byte(strings.Repeat("x", 199) + "\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return figure{}, err
	}
	trivial := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go trivial.Serve(ln)
	defer trivial.Close()
	const conc = 4
	// Warm both (connections, caches), then measure each.
	if _, err := load(env.ctx, n.server.URL()+"/api/v1/me/code", tokens, conc, env.dur/3); err != nil {
		return figure{}, err
	}
	base, err := load(env.ctx, "http://"+ln.Addr().String()+"/", nil, conc, env.dur)
	if err != nil {
		return figure{}, err
	}
	v, err := load(env.ctx, n.server.URL()+"/api/v1/me/code", tokens, conc, env.dur)
	if err != nil {
		return figure{}, err
	}
	return figure{Value: v, Unit: "requests/s", Baseline: "trivial 200-byte handler", BaselineValue: base, Ratio: v / base, Target: 0.5}, nil
}

// benchTlogAppend writes decisions in batches with their log leaves (leaf,
// stored hashes and subject opening in the same transaction), against the
// same decisions written without the log, in the same run.
func benchTlogAppend(env *benchEnv) (figure, error) {
	clock := healthcode.NewManualClock(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	n, err := benchNode(env, "tlog-append", clock)
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 9, People: 10_000})
	if err != nil {
		return figure{}, err
	}
	if err := registerCity(env.ctx, n, city); err != nil {
		return figure{}, err
	}
	const total, batch = 60_000, 2000
	decisions := make([]*healthcode.Decision, total)
	for i := range decisions {
		c := city.Person(i % city.Size)
		decisions[i] = &healthcode.Decision{Subject: n.engine.Keys.Pseudonymize(city.Region, c.IDNumber), Colour: healthcode.Colour(1 + i%3),
			Reason: "bench", RuleID: "bench", RuleSetVersion: "bench", RuleSetHash: strings.Repeat("ab", 32),
			EvidenceDigest: strings.Repeat("cd", 32), ReviewAt: clock.Now(), DecidedAt: clock.Now(), Actor: "rules:bench"}
	}
	write := func(ds []*healthcode.Decision, logged bool) (float64, error) {
		lg := &tlog.Log{}
		start := time.Now()
		for i := 0; i < len(ds); i += batch {
			err := n.db.Update(env.ctx, func(tx healthcode.Tx) error {
				next, err := tx.LogSize(env.ctx)
				if err != nil {
					return err
				}
				var entries []*healthcode.LogEntry
				for _, d := range ds[i:min(i+batch, len(ds))] {
					if logged {
						e := &healthcode.LogEntry{Index: next, Type: healthcode.LogDecision, Time: d.DecidedAt, Region: city.Region,
							Subject: d.Subject, Colour: d.Colour, Reason: d.Reason, RuleID: d.RuleID, RuleSetHash: d.RuleSetHash,
							EvidenceDigest: d.EvidenceDigest, ActorName: d.Actor, ActorRole: healthcode.RoleSystem, Ref: "ruleset/bench"}
						d.LogIndex, next = next, next+1
						entries = append(entries, e)
					}
					if err := tx.PutDecision(env.ctx, d); err != nil {
						return err
					}
				}
				return lg.Append(env.ctx, tx, entries)
			})
			if err != nil {
				return 0, err
			}
		}
		return float64(len(ds)) / time.Since(start).Seconds(), nil
	}
	// Alternate halves so that neither side always meets the larger table.
	half := total / 2
	base1, err := write(decisions[:half/2], false)
	if err != nil {
		return figure{}, err
	}
	v1, err := write(decisions[half/2:half], true)
	if err != nil {
		return figure{}, err
	}
	v2, err := write(decisions[half:half+half/2], true)
	if err != nil {
		return figure{}, err
	}
	base2, err := write(decisions[half+half/2:], false)
	if err != nil {
		return figure{}, err
	}
	v, bv := (v1+v2)/2, (base1+base2)/2
	return figure{Value: v, Unit: "decisions/s", Baseline: "the same decisions without the log", BaselineValue: bv, Ratio: v / bv, Target: 0.5}, nil
}

// benchTlogProve measures the p99 latency of an inclusion proof from the
// store at a tree of a million leaves (ten million under --scale), against
// the p99 of reading one stored hash from the same store.
func benchTlogProve(env *benchEnv) (figure, error) {
	clock := healthcode.NewManualClock(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	n, err := benchNode(env, "tlog-prove", clock)
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	size := int64(1_000_000)
	if env.scale {
		size = 10_000_000
	}
	fmt.Fprintf(env.stderr, "bench tlog.prove: building a log of %d leaves…\n", size)
	lg := &tlog.Log{}
	const batch = 20_000
	for done := int64(0); done < size; {
		err := n.db.Update(env.ctx, func(tx healthcode.Tx) error {
			next, err := tx.LogSize(env.ctx)
			if err != nil {
				return err
			}
			entries := make([]*healthcode.LogEntry, 0, batch)
			for i := int64(0); i < batch && next+i < size; i++ {
				entries = append(entries, &healthcode.LogEntry{Index: next + i, Type: healthcode.LogKey, Time: clock.Now(), Region: "410100",
					ActorName: "bench", ActorRole: healthcode.RoleAdmin, Ref: "key/" + strconv.FormatInt(next+i, 10)})
			}
			done = next + int64(len(entries))
			return lg.Append(env.ctx, tx, entries)
		})
		if err != nil {
			return figure{}, err
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const samples = 2000
	proofs := make([]time.Duration, samples)
	reads := make([]time.Duration, samples)
	for i := range samples {
		idx := r.Int64N(size)
		t := time.Now()
		err := n.db.View(env.ctx, func(tx healthcode.ReadTx) error {
			_, err := tlog.InclusionProof(idx, size, tlog.StoreHashReader(env.ctx, tx))
			return err
		})
		proofs[i] = time.Since(t)
		if err != nil {
			return figure{}, err
		}
		t = time.Now()
		err = n.db.View(env.ctx, func(tx healthcode.ReadTx) error {
			_, err := tx.LogHashes(env.ctx, []int64{xtlog.StoredHashIndex(0, idx)})
			return err
		})
		reads[i] = time.Since(t)
		if err != nil {
			return figure{}, err
		}
	}
	p99 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)*99/100].Nanoseconds()) / 1e6
	}
	v, bv := p99(proofs), p99(reads)
	return figure{Value: v, Unit: "ms p99", Baseline: "one stored-hash read, p99", BaselineValue: bv, Ratio: bv / v, Lower: true}, nil
}

// benchCheckInIngest measures acknowledged check-ins over HTTP: each one
// authenticated, its venue code checked, written with group commit and
// committed (synchronous=FULL) before the answer, against a trivial handler
// answering 200 bytes in the same process.
func benchCheckInIngest(env *benchEnv) (figure, error) {
	n, err := benchNode(env, "checkin", healthcode.SystemClock{})
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 11, People: 2000})
	if err != nil {
		return figure{}, err
	}
	if err := registerCity(env.ctx, n, city); err != nil {
		return figure{}, err
	}
	// 2,000 people cannot respect a person's rate at a bench's pace: the
	// figure is the write path's, so every scan here is a new row.
	n.engine.CheckInPolicy = healthcode.CheckInPolicy{PerHour: 1e12, Burst: 1 << 30}
	owner := &healthcode.Principal{ID: "bench-owner", Name: "bench", Role: healthcode.RoleVenue}
	operator := &healthcode.Principal{ID: "bench-op", Name: "bench", Role: healthcode.RoleOperator}
	var bodies [][]byte
	for i := 0; i < 50; i++ {
		v, err := n.engine.RegisterVenue(env.ctx, owner, healthcode.Venue{Name: fmt.Sprintf("场所 %d", i), Address: "金水路", Region: "410105", Category: "retail"})
		if err != nil {
			return figure{}, err
		}
		if err := n.engine.SetVenueStatus(env.ctx, operator, v.ID, healthcode.VenueActive); err != nil {
			return figure{}, err
		}
		bodies = append(bodies, []byte(fmt.Sprintf(`{"code":%q}`, v.StaticCode())))
	}
	var tokens []string
	for i := 0; i < city.Size; i++ {
		p := n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber)
		tok, err := n.engine.CreateToken(env.ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return figure{}, err
		}
		tokens = append(tokens, tok)
	}
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		return figure{}, err
	}
	defer n.server.Close(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return figure{}, err
	}
	body := []byte(strings.Repeat("x", 199) + "\n")
	trivial := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go trivial.Serve(ln)
	defer trivial.Close()
	// Many phones at once: each waits for its check-in's commit, so the
	// group commit needs many in flight to fill its batches.
	const conc = 256
	checkIn := func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(env.ctx, "POST", n.server.URL()+"/api/v1/checkins", bytes.NewReader(bodies[r.IntN(len(bodies))]))
		req.Header.Set("Authorization", "Bearer "+tokens[r.IntN(len(tokens))])
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	post := func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(env.ctx, "POST", "http://"+ln.Addr().String()+"/", bytes.NewReader(bodies[r.IntN(len(bodies))]))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	if _, err := loadWith(env.ctx, conc, env.dur/3, 201, checkIn); err != nil {
		return figure{}, err
	}
	base, err := loadWith(env.ctx, conc, env.dur, 200, post)
	if err != nil {
		return figure{}, err
	}
	v, err := loadWith(env.ctx, conc, env.dur, 201, checkIn)
	if err != nil {
		return figure{}, err
	}
	return figure{Value: v, Unit: "check-ins/s", Baseline: "trivial 200-byte handler", BaselineValue: base, Ratio: v / base, Target: 0.4}, nil
}

// benchTraceVenueWindow measures "who was at venue V between t1 and t2"
// (the read recorded with its purpose, durably) over ten million stored
// check-ins (a hundred million under --scale), against one indexed point
// read from the same store.
func benchTraceVenueWindow(env *benchEnv) (figure, error) {
	start := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := healthcode.NewManualClock(start.Add(14 * 24 * time.Hour))
	total, venues := 10_000_000, 2000
	if env.scale {
		total, venues = 100_000_000, 20_000
	}
	// The data set takes minutes to build: it is built once and kept in the
	// user's cache directory (HEALTHCODE_BENCH_CACHE overrides), then reused.
	cache := os.Getenv("HEALTHCODE_BENCH_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		cache = filepath.Join(d, "healthcode-bench")
	}
	dir := filepath.Join(cache, fmt.Sprintf("trace-%d-v1", total))
	marker := filepath.Join(dir, "complete")
	_, statErr := os.Stat(marker)
	built := statErr == nil
	if !built {
		os.RemoveAll(dir)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	if err := cfg.finish(); err != nil {
		return figure{}, err
	}
	n, err := openNode(env.ctx, cfg, clock, io.Discard)
	if err != nil {
		return figure{}, err
	}
	defer n.close()
	if err := n.publishBaselineIfNone(env.ctx); err != nil {
		return figure{}, err
	}
	r := rand.New(rand.NewPCG(3, 4))
	var ids []string
	if built {
		fmt.Fprintf(env.stderr, "bench trace.venue_window: reusing %d check-ins in %s\n", total, dir)
		err := n.db.View(env.ctx, func(tx healthcode.ReadTx) error {
			vs, err := tx.VenuesIn(env.ctx, "410105")
			for _, v := range vs {
				ids = append(ids, v.ID)
			}
			return err
		})
		if err != nil {
			return figure{}, err
		}
	} else {
		fmt.Fprintf(env.stderr, "bench trace.venue_window: storing %d check-ins at %d venues in %s (once; later runs reuse them)…\n", total, venues, dir)
		if ids, err = buildTraceData(env, n, r, start, total, venues); err != nil {
			return figure{}, err
		}
		if err := os.WriteFile(marker, []byte("ok\n"), 0o644); err != nil {
			return figure{}, err
		}
	}
	span := int64(14 * 24 * time.Hour)
	epi := &healthcode.Principal{ID: "bench-epi", Name: "流调员", Role: healthcode.RoleEpidemiologist, Unit: "疾控"}
	const samples = 1000
	type sample struct {
		venue string
		from  time.Time
	}
	sr := rand.New(rand.NewPCG(5, 6))
	ss := make([]sample, samples)
	for i := range ss {
		ss[i] = sample{ids[sr.IntN(len(ids))], start.Add(time.Duration(sr.Int64N(span - int64(2*time.Hour))))}
	}
	// A trace cites a case that was at the venue in the window: one bench
	// case, present at every sampled venue and time.
	caseID, err := benchTraceCase(env, n, start, func(add func(venue string, at time.Time)) {
		for _, x := range ss {
			add(x.venue, x.from.Add(time.Hour))
		}
	})
	if err != nil {
		return figure{}, err
	}
	queries := make([]time.Duration, samples)
	points := make([]time.Duration, samples)
	rows := 0
	for i := range samples {
		v, from := ss[i].venue, ss[i].from
		t := time.Now()
		page, err := n.engine.TraceVenue(env.ctx, epi, v, from, from.Add(2*time.Hour), "contact_tracing", caseID, healthcode.CheckInCursor{}, 0)
		queries[i] = time.Since(t)
		if err != nil {
			return figure{}, err
		}
		rows += len(page.Presence)
		t = time.Now()
		err = n.db.View(env.ctx, func(tx healthcode.ReadTx) error { _, err := tx.Venue(env.ctx, v); return err })
		points[i] = time.Since(t)
		if err != nil {
			return figure{}, err
		}
	}
	p99 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)*99/100].Nanoseconds()) / 1e6
	}
	fmt.Fprintf(env.stderr, "bench trace.venue_window: %.1f check-ins per answer on average\n", float64(rows)/samples)
	v, bv := p99(queries), p99(points)
	return figure{Value: v, Unit: "ms p99", Baseline: "one indexed point read, p99", BaselineValue: bv, Ratio: bv / v, Lower: true}, nil
}

// benchTraceCase stores (directly, as bench data) a case whose infectious
// window spans the bench's fortnight, and a check-in of its person at each
// place visits names. It returns the case id.
func benchTraceCase(env *benchEnv, n *node, start time.Time, visits func(add func(venue string, at time.Time))) (string, error) {
	const id = "C-BENCHTRACE"
	city, err := sim.New(sim.Config{Seed: 13, People: 100_000}) // buildTraceData's
	if err != nil {
		return "", err
	}
	subject := n.engine.Keys.Pseudonymize(city.Region, city.Person(0).IDNumber)
	var cs []*healthcode.CheckIn
	visits(func(venue string, at time.Time) {
		cs = append(cs, &healthcode.CheckIn{Venue: venue, Subject: subject, At: at, Slot: -1})
	})
	err = n.db.Update(env.ctx, func(tx healthcode.Tx) error {
		if _, err := tx.Case(env.ctx, id); err != nil {
			if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				return err
			}
			if _, err := tx.Person(env.ctx, subject); err != nil {
				return fmt.Errorf("the bench case's person is not registered: %w", err)
			}
			if err := tx.CreateCase(env.ctx, &healthcode.Case{ID: id, Subject: subject, Clinic: healthcode.Principal{ID: "bench", Name: "bench", Role: healthcode.RoleClinic},
				DiagnosedAt: start.Add(14 * healthcode.Day), InfectiousFrom: start, InfectiousUntil: start.Add(14 * healthcode.Day), CreatedAt: start}); err != nil {
				return err
			}
		}
		_, err := tx.InsertCheckIns(env.ctx, cs)
		return err
	})
	return id, err
}

// buildTraceData registers a city of 100,000 people and venues venues and
// stores total check-ins spread over 14 days, in time order.
func buildTraceData(env *benchEnv, n *node, r *rand.Rand, start time.Time, total, venues int) ([]string, error) {
	city, err := sim.New(sim.Config{Seed: 13, People: 100_000})
	if err != nil {
		return nil, err
	}
	if err := registerCity(env.ctx, n, city); err != nil {
		return nil, err
	}
	owner := &healthcode.Principal{ID: "bench-owner", Name: "bench", Role: healthcode.RoleVenue}
	var ids []string
	for i := 0; i < venues; i++ {
		v, err := n.engine.RegisterVenue(env.ctx, owner, healthcode.Venue{Name: fmt.Sprintf("场所 %d", i), Address: "金水路", Region: "410105", Category: "retail"})
		if err != nil {
			return nil, err
		}
		ids = append(ids, v.ID)
	}
	subjects := make([]string, city.Size)
	for i := range subjects {
		subjects[i] = n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber)
	}
	span := int64(14 * 24 * time.Hour)
	const batch = 100_000
	// Check-ins arrive in time order, as they do at a real node.
	step := span / int64(total)
	for done := 0; done < total; done += batch {
		cs := make([]*healthcode.CheckIn, 0, batch)
		for i := 0; i < batch && done+i < total; i++ {
			at := start.Add(time.Duration(int64(done+i)*step + r.Int64N(step+1)))
			cs = append(cs, &healthcode.CheckIn{Venue: ids[r.IntN(len(ids))], Subject: subjects[r.IntN(len(subjects))], At: at, Slot: -1})
		}
		if err := n.db.Update(env.ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(env.ctx, cs); return err }); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
