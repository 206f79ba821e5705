package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/engine"
	"healthcode/rules"
	"healthcode/scale"
	"healthcode/sim"
	"healthcode/tlog"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/mod/sumdb/note"
)

// cityFigures are the figures of the city-scale run (bench --scale), in the
// order they are printed. One build of the city yields all of them; "city"
// in --only names them all.
var cityFigures = []string{
	"city.build", "city.people_load", "city.checkin_load", "city.testing_round",
	"city.bytes_per_person", "city.bytes_per_checkin",
	"city.code.get.cold", "city.code.get.cached", "city.checkin.ingest", "city.trace.venue_window",
	"reeval.city", "city.rss_peak",
}

// scaleFlags size the synthetic city of bench --scale.
type scaleFlags struct {
	people   *int
	checkins *int64
	venues   *int
	tested   *int
	dir      *string
	db       *string
}

func registerScaleFlags(fs *flag.FlagSet) *scaleFlags {
	return &scaleFlags{
		people:   fs.Int("scale-people", 10_000_000, "--scale: people in the synthetic city (1,000 to 10,000,000)"),
		checkins: fs.Int64("scale-checkins", -1, "--scale: check-ins over the city's last 14 days, at most ten per person (default: ten per person)"),
		venues:   fs.Int("scale-venues", 0, "--scale: venues (default: one per 20,000 check-ins, 50 to 5,000)"),
		tested:   fs.Int("scale-tested", 100_000, "--scale: people in the testing round around the outbreak, each sample and result through the engine and the log"),
		dir:      fs.String("scale-dir", "", "--scale: build the city in this new directory and keep it (default: a temporary one, deleted)"),
		db:       fs.String("db", "", "--scale: the city's database: a SQLite file (default DIR/healthcode.db) or postgres://…"),
	}
}

// cityBench is one city-scale run: the node, the city and what the phases
// hand each other.
type cityBench struct {
	env        *bench.Env
	flags      *scaleFlags
	n          *node
	city       *sim.City
	now        time.Time
	pseudonyms []string            // by person index
	venues     []string            // by venue index
	live       []*healthcode.Venue // the first venues, with their secrets (for check-ins over HTTP)
	visits     sim.Visits
	admins     []*healthcode.Principal
	operator   *healthcode.Principal
	emit       func(bench.Result)
}

// benchCity builds the synthetic city and measures it, calling emit with
// each figure as it is measured.
func benchCity(env *bench.Env, fl *scaleFlags, emit func(bench.Result)) error {
	ctx := env.Ctx
	if *fl.people < sim.MinPeople || *fl.people > sim.MaxPeople {
		return healthcode.Errorfd(healthcode.EINVALID, "bench.scale_people", "--scale-people must be between %d and %d", sim.MinPeople, sim.MaxPeople)
	}
	if *fl.checkins == -1 {
		*fl.checkins = 10 * int64(*fl.people)
	}
	if *fl.checkins < 0 || *fl.checkins > 10*int64(*fl.people) {
		return healthcode.Errorfd(healthcode.EINVALID, "bench.scale_checkins", "--scale-checkins must be between 0 and ten per person")
	}
	dir := *fl.dir
	if dir == "" {
		dir = filepath.Join(env.Dir, "city")
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--scale-dir %s is not empty; the city is built in a new directory (nothing was changed)", dir)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.DB = dir, "127.0.0.1:0", *fl.db
	if err := cfg.finish(); err != nil {
		return err
	}
	b := &cityBench{env: env, flags: fl, emit: emit, now: time.Now().UTC().Truncate(time.Second)}
	var err error
	b.city, err = sim.New(sim.Config{Seed: 1, People: *fl.people, Region: cfg.Region, Start: b.now.Truncate(time.Hour).Add(-6 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	// The build, in the order a node would live it: venues and people
	// registered, the registry and the outbreak, a testing round; then the
	// re-evaluation after a new rule set (before the check-ins, so that the
	// figure is there early in a run of an hour); then the check-ins.
	var build time.Duration
	timed := func(step func() error) error {
		t := time.Now()
		err := step()
		build += time.Since(t)
		return err
	}
	if b.n, err = openNode(ctx, cfg, &sim.StoryClock{}, io.Discard); err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			b.n.close()
		}
	}()
	// A database that holds anything (a PostgreSQL one may be migrated
	// already) is a node's: the city is built in an empty one.
	var people, leaves int64
	err = b.n.db.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		if people, err = tx.PeopleCount(ctx); err == nil {
			leaves, err = tx.LogSize(ctx)
		}
		return err
	})
	if err != nil {
		return err
	}
	if people > 0 || leaves > 0 {
		return fmt.Errorf("the database %s already holds a node's data (%d people, %d log entries); the city is built in an empty one (nothing was changed)", displayDB(cfg.DB), people, leaves)
	}
	if err := b.n.publishBaselineIfNone(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "bench --scale: a city of %d people and %d check-ins in %s\n", b.city.Size, *fl.checkins, dir)
	for _, step := range []func() error{b.registerVenues, b.loadPeople, b.story, b.testingRound} {
		if err := timed(step); err != nil {
			return err
		}
	}
	if err := b.publishAndVerify(); err != nil {
		return err
	}
	if err := b.reeval(); err != nil {
		return err
	}
	if err := timed(b.loadCheckIns); err != nil {
		return err
	}
	if err := b.publishAndVerify(); err != nil {
		return err
	}
	emit(bench.Result{Name: "city.build", Value: build.Seconds(), Unit: "s", Baseline: "the 3-minute target of issue 15", BaselineValue: 180, Ratio: 180 / build.Seconds(), Lower: true})

	// Serving: the peak of resident memory is measured from here.
	debug.FreeOSMemory()
	resetPeakRSS()
	startRSS, _ := procStatus("VmRSS:")
	if err := b.n.server.Open("127.0.0.1:0"); err != nil {
		return err
	}
	defer b.n.server.Close(context.Background())
	trivial, err := bench.StartTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()
	// A failing figure does not lose the others of an hour's run: each is
	// tried, and the first failure is returned at the end.
	var failed error
	for _, step := range []func(string) error{b.codeGet, b.checkInIngest, b.traceVenueWindow} {
		if err := step(trivial.URL); err != nil {
			fmt.Fprintf(env.Stderr, "bench --scale: %v\n", err)
			failed = cmp.Or(failed, err)
		}
	}
	peak, err := procStatus("VmHWM:")
	if err != nil {
		return err
	}
	debugf("build process: rss at start of serving %d MiB, peak %d MiB", startRSS>>20, peak>>20)
	// The build ran in this process: what its heap and the store kept of
	// it is resident here, which a node started on the city would not
	// hold. city.rss_peak is measured in a node started on the city
	// (bench_scale_rss.go), once this one is closed.
	tokens, err := b.cityTokens(min(rssPeople, b.city.Size/10), 3)
	if err != nil {
		return err
	}
	if err := b.publishAndVerify(); err != nil {
		return err
	}
	b.n.server.Close(context.Background())
	closed = true
	if err := b.n.close(); err != nil {
		return err
	}
	return cmp.Or(b.servingRSS(tokens, float64(peak)/(1<<20)), failed)
}

// publishAndVerify signs a checkpoint and audits the database against it as
// `healthcode log verify` does.
func (b *cityBench) publishAndVerify() error {
	if _, err := b.n.log.Publish(b.env.Ctx, b.n.engine.Clock.Now()); err != nil {
		return err
	}
	return b.verifyLog()
}

// bar is a progress bar on the bench's stderr.
func (b *cityBench) bar(total int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(b.env.Stderr), progressbar.OptionSetDescription("bench --scale: "+what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(500*time.Millisecond),
		progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.env.Stderr) }))
}

// dbBytes is the size of the database on disk (SQLite: its file and WAL;
// PostgreSQL: the database's).
func (b *cityBench) dbBytes() int64 { return storeSize(b.env.Ctx, b.n.cfg.DB) }

func (b *cityBench) bulk() (healthcode.BulkLoader, error) {
	bl, ok := b.n.engine.Store.(healthcode.BulkLoader)
	if !ok {
		return nil, fmt.Errorf("the store (%T) has no bulk loader", b.n.engine.Store)
	}
	return bl, nil
}

// registerVenues registers the city's venues through the engine, as their
// owners would.
func (b *cityBench) registerVenues() error {
	nv := *b.flags.venues
	if nv <= 0 {
		nv = int(min(max(*b.flags.checkins/20_000, 50), 5000))
	}
	owner := &healthcode.Principal{ID: "bench-owner", Name: "bench", Role: healthcode.RoleVenue}
	cats := []string{"retail", "restaurant", "transport", "office", "residential", "school", "hospital"}
	bar := b.bar(int64(nv), "venues")
	for i := range nv {
		d := b.city.Districts[i%len(b.city.Districts)]
		v, err := b.n.engine.RegisterVenue(b.env.Ctx, owner, healthcode.Venue{Name: fmt.Sprintf("%s场所 %d", d.Name, i+1), Address: d.Name + "中心路", Region: d.Code, Category: cats[i%len(cats)]})
		if err != nil {
			return err
		}
		b.venues = append(b.venues, v.ID)
		if len(b.live) < 50 {
			b.live = append(b.live, v)
		}
		bar.Add(1)
	}
	bar.Finish()
	b.visits = sim.Visits{City: b.city, Venues: nv, From: b.now.Add(-14 * 24 * time.Hour), Span: 14 * 24 * time.Hour, Total: *b.flags.checkins}
	return nil
}

// loadPeople registers the city's people: most through the bulk loader, the
// last ones through the engine's RegisterPeople (the baseline).
func (b *cityBench) loadPeople() error {
	ctx := b.env.Ctx
	bl, err := b.bulk()
	if err != nil {
		return err
	}
	size := b.city.Size
	tail := min(20_000, size/10)
	head := size - tail
	if err := b.checkpointWAL(); err != nil {
		return err
	}
	before := b.dbBytes()
	bar := b.bar(int64(size), "people")
	t := time.Now()
	b.pseudonyms, err = scale.People(ctx, bl, b.n.engine.Keys, b.n.engine.Region, b.city, head, b.now, func(done int64) { bar.Set64(done) })
	if err != nil {
		return err
	}
	bulkRate := float64(head) / time.Since(t).Seconds()
	t = time.Now()
	pds := make([]healthcode.PersonalData, 0, 5000)
	for i := head; i < size; i++ {
		pds = append(pds, b.city.Person(i).PersonalData())
		if len(pds) == cap(pds) || i == size-1 {
			if err := b.n.engine.RegisterPeople(ctx, pds); err != nil {
				return err
			}
			pds = pds[:0]
			bar.Set64(int64(i + 1))
		}
	}
	engineRate := float64(tail) / time.Since(t).Seconds()
	bar.Finish()
	for i := head; i < size; i++ {
		b.pseudonyms = append(b.pseudonyms, b.n.engine.Keys.Pseudonymize(b.n.engine.Region, b.city.Person(i).IDNumber))
	}
	if err := b.checkpointWAL(); err != nil {
		return err
	}
	b.emit(bench.Result{Name: "city.people_load", Value: bulkRate, Unit: "people/s", Baseline: "engine RegisterPeople, same run", BaselineValue: engineRate, Ratio: bulkRate / engineRate})
	b.emit(bench.Result{Name: "city.bytes_per_person", Value: float64(b.dbBytes()-before) / float64(size), Unit: "bytes", Baseline: "database growth per person, indexes included", BaselineValue: 0})
	return nil
}

// checkpointWAL folds SQLite's write-ahead log into the database file, so
// that its size is the data's.
func (b *cityBench) checkpointWAL() error {
	if isPostgres(b.n.cfg.DB) {
		return nil
	}
	return b.n.db.Exec(b.env.Ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}

// loadCheckIns stores the city's check-ins: the first ones through the
// store's own InsertCheckIns (the baseline), the rest through the bulk
// loader.
func (b *cityBench) loadCheckIns() error {
	ctx := b.env.Ctx
	total := b.visits.Total
	if total == 0 {
		return nil
	}
	bl, err := b.bulk()
	if err != nil {
		return err
	}
	if err := b.checkpointWAL(); err != nil {
		return err
	}
	before := b.dbBytes()
	head := min(200_000, total/20)
	bar := b.bar(total, "check-ins")
	t := time.Now()
	for lo := int64(0); lo < head; lo += 10_000 {
		cs := make([]*healthcode.CheckIn, 0, 10_000)
		for k := lo; k < min(lo+10_000, head); k++ {
			cs = append(cs, b.checkIn(k))
		}
		if err := b.n.db.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(ctx, cs); return err }); err != nil {
			return err
		}
		bar.Set64(lo + int64(len(cs)))
	}
	storeRate := float64(head) / time.Since(t).Seconds()
	t = time.Now()
	if err := scale.CheckIns(ctx, bl, b.visits, head, b.pseudonyms, b.venues, func(done int64) { bar.Set64(head + done) }); err != nil {
		return err
	}
	bulkRate := float64(total-head) / time.Since(t).Seconds()
	bar.Finish()
	if err := b.checkpointWAL(); err != nil {
		return err
	}
	b.emit(bench.Result{Name: "city.checkin_load", Value: bulkRate, Unit: "check-ins/s", Baseline: "Tx.InsertCheckIns in 10,000-row transactions, same run", BaselineValue: storeRate, Ratio: bulkRate / storeRate})
	b.emit(bench.Result{Name: "city.bytes_per_checkin", Value: float64(b.dbBytes()-before) / float64(total), Unit: "bytes", Baseline: "database growth per check-in, indexes included", BaselineValue: 0})
	return nil
}

func (b *cityBench) checkIn(k int64) *healthcode.CheckIn {
	x := b.visits.At(k)
	c := &healthcode.CheckIn{Venue: b.venues[x.Venue], Subject: b.pseudonyms[x.Person], At: x.At, Slot: -1}
	if x.Live {
		c.Slot, c.Verified = healthcode.SlotOf(x.At), true
	}
	return c
}

// story builds the registry and tells the outbreak through the engine, as
// the demo does.
func (b *cityBench) story() error {
	ctx := b.env.Ctx
	t := time.Now()
	fmt.Fprintf(b.env.Stderr, "bench --scale: the registry and the outbreak, through the engine…\n")
	tokens, _, _, err := b.n.populateStory(ctx, b.city, b.now, io.Discard)
	if err != nil {
		return err
	}
	for _, tok := range tokens {
		p, err := b.n.engine.Authenticate(ctx, tok.Token)
		if err != nil {
			return err
		}
		switch {
		case p.Role == healthcode.RoleAdmin:
			b.admins = append(b.admins, p)
		case p.Role == healthcode.RoleOperator && b.operator == nil:
			b.operator = p
		}
	}
	if len(b.admins) < 2 || b.operator == nil {
		return fmt.Errorf("the story made %d admins and no operator", len(b.admins))
	}
	fmt.Fprintf(b.env.Stderr, "bench --scale: the outbreak took %.1f s\n", time.Since(t).Seconds())
	return nil
}

// official returns the registered official of one of the city's
// institutions.
func (b *cityBench) official(in sim.Institution) (*healthcode.Principal, error) {
	var out *healthcode.Principal
	err := b.n.db.View(b.env.Ctx, func(tx healthcode.ReadTx) error {
		os, err := tx.Officials(b.env.Ctx)
		if err != nil {
			return err
		}
		for _, o := range os {
			if o.Name == in.Name && o.Role == in.Role {
				out = o.Principal()
				return nil
			}
		}
		return fmt.Errorf("no registered official for %s", in.ID)
	})
	return out, err
}

// testingRound runs a city-wide pooled testing round through the engine:
// every sample collected by a sampling site, every tube's result reported
// by a lab, each one logged.
func (b *cityBench) testingRound() error {
	ctx := b.env.Ctx
	tested := min(max(*b.flags.tested, 0), b.city.Size)
	if tested == 0 {
		return nil
	}
	sampler, err := b.official(b.city.Samplers[0])
	if err != nil {
		return err
	}
	lab, err := b.official(b.city.Labs[0])
	if err != nil {
		return err
	}
	at := b.now.Add(-30 * time.Hour)
	bar := b.bar(int64(tested), "testing round")
	t := time.Now()
	var cols []healthcode.CollectionRequest
	var subs []healthcode.Submission
	flush := func(done int) error {
		tc := time.Now()
		defer func() {
			debugf("round: %d collections, %d results: collect+submit %v", len(cols), len(subs), time.Since(tc))
		}()
		if len(cols) > 0 {
			outs, err := b.n.engine.Collect(ctx, sampler, cols)
			debugf("collect %v", time.Since(tc))
			if err != nil {
				return err
			}
			for _, o := range outs {
				if o.Status != healthcode.Accepted {
					return fmt.Errorf("collection %d: %s %v", o.Line, o.Status, o.Err)
				}
			}
		}
		if len(subs) > 0 {
			outs, err := b.n.engine.Submit(ctx, lab, subs)
			if err != nil {
				return err
			}
			for _, o := range outs {
				if o.Status == healthcode.Rejected {
					return fmt.Errorf("result %d: %v", o.Line, o.Err)
				}
			}
		}
		cols, subs = cols[:0], subs[:0]
		bar.Set64(int64(done))
		return nil
	}
	i := 0
	for r := range b.city.TestingRound(at, b.city.Samplers[0], b.city.Labs[0], true) {
		if i >= tested && r.LastInTube || i >= tested+10 {
			break
		}
		cols = append(cols, r.Collection(len(cols)))
		if r.LastInTube {
			subs = append(subs, r.Submission(len(subs)))
		}
		i++
		if r.LastInTube && len(cols) >= 5000 {
			if err := flush(i); err != nil {
				return err
			}
		}
	}
	if err := flush(i); err != nil {
		return err
	}
	bar.Finish()
	rate := float64(i) / time.Since(t).Seconds()
	b.emit(bench.Result{Name: "city.testing_round", Value: rate, Unit: "people/s", Baseline: "collected and resulted through the engine, each logged", BaselineValue: 0})
	return nil
}

// verifyLog audits the database as `healthcode log verify` does.
func (b *cityBench) verifyLog() error {
	t := time.Now()
	pub, err := os.ReadFile(filepath.Join(b.n.cfg.DataDir, "log-signing.pub"))
	if err != nil {
		return err
	}
	v, err := tlog.ParseVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		return err
	}
	size, err := verifyLogDB(b.env.Ctx, b.n.cfg.DB, v.Name(), note.VerifierList(v), nil)
	if err != nil {
		return fmt.Errorf("log verify: %w", err)
	}
	fmt.Fprintf(b.env.Stderr, "bench --scale: log verify: OK, %d entries (%.1f s)\n", size, time.Since(t).Seconds())
	return nil
}

// citizenTokens issues tokens to n people of the city, chosen at random.
func (b *cityBench) cityTokens(n int, seed uint64) ([]string, error) {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []string
	for range n {
		p := b.pseudonyms[r.IntN(len(b.pseudonyms))]
		tok, err := b.n.engine.CreateToken(b.env.Ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, nil
}

// codeGet measures citizens' code requests: cold (each person's first, so
// nothing of theirs is cached) and cached (the same people again).
func (b *cityBench) codeGet(trivial string) error {
	ctx := b.env.Ctx
	tokens, err := b.cityTokens(2000, 1)
	if err != nil {
		return err
	}
	const conc = 4
	c := bench.NewClient(conc)
	defer c.Close()
	url := b.n.server.URL() + "/api/v1/me/code"
	get := func(tok string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	cold, err := bench.LoadN(ctx, c, conc, len(tokens), 200, func(i int) *http.Request { return get(tokens[i]) })
	if err != nil {
		return err
	}
	base, err := bench.Load(ctx, c, conc, b.env.Dur, 200, func(*rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", trivial, nil)
		return req
	})
	if err != nil {
		return err
	}
	cached, err := bench.Load(ctx, c, conc, b.env.Dur, 200, func(r *rand.Rand) *http.Request { return get(tokens[r.IntN(len(tokens))]) })
	if err != nil {
		return err
	}
	b.emit(bench.Result{Name: "city.code.get.cold", Value: cold, Unit: "requests/s", Baseline: "trivial 200-byte handler", BaselineValue: base, Ratio: cold / base})
	b.emit(bench.Result{Name: "city.code.get.cached", Value: cached, Unit: "requests/s", Baseline: "trivial 200-byte handler", BaselineValue: base, Ratio: cached / base, Target: 0.5})
	return nil
}

// checkInIngest measures acknowledged check-ins over HTTP into the city's
// store, against the trivial handler.
func (b *cityBench) checkInIngest(trivial string) error {
	ctx := b.env.Ctx
	saved, wait := b.n.engine.CheckInPolicy, b.n.engine.CheckInWait
	defer func() { b.n.engine.CheckInPolicy, b.n.engine.CheckInWait = saved, wait }()
	// A few thousand phones cannot keep a person's rate at a bench's pace,
	// and 256 of them at once on a shared machine wait longer than the
	// queue's budget: the figure is the write path's, not the admission's.
	b.n.engine.CheckInPolicy = healthcode.CheckInPolicy{PerHour: 1e12, Burst: 1 << 30}
	b.n.engine.CheckInWait = 10 * time.Second
	var bodies [][]byte
	for _, v := range b.live {
		if err := b.n.engine.SetVenueStatus(ctx, b.operator, v.ID, healthcode.VenueActive); err != nil {
			return err
		}
		bodies = append(bodies, []byte(fmt.Sprintf(`{"code":%q}`, v.StaticCode())))
	}
	tokens, err := b.cityTokens(2000, 2)
	if err != nil {
		return err
	}
	const conc = 256
	checkIn := func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", b.n.server.URL()+"/api/v1/checkins", bytes.NewReader(bodies[r.IntN(len(bodies))]))
		req.Header.Set("Authorization", "Bearer "+tokens[r.IntN(len(tokens))])
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	post := func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", trivial, bytes.NewReader(bodies[r.IntN(len(bodies))]))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	c := bench.NewClient(conc)
	defer c.Close()
	if _, err := bench.Load(ctx, c, conc, b.env.Dur/3, 201, checkIn); err != nil {
		return err
	}
	base, err := bench.Load(ctx, c, conc, b.env.Dur, 200, post)
	if err != nil {
		return err
	}
	v, err := bench.Load(ctx, c, conc, b.env.Dur, 201, checkIn)
	if err != nil {
		return err
	}
	b.emit(bench.Result{Name: "city.checkin.ingest", Value: v, Unit: "check-ins/s", Baseline: "trivial 200-byte handler", BaselineValue: base, Ratio: v / base, Target: 0.4})
	return nil
}

// traceVenueWindow measures "who was at venue V between t1 and t2" over the
// city's check-ins, citing a real case of the outbreak at a venue it
// visited, against one indexed point read.
func (b *cityBench) traceVenueWindow(string) error {
	ctx := b.env.Ctx
	var cs *healthcode.Case
	err := b.n.db.View(ctx, func(tx healthcode.ReadTx) error {
		for _, ev := range b.city.Outbreak() {
			if ev.Evidence.Kind != healthcode.Diagnosis || ev.Evidence.Diagnosis != healthcode.DiagnosisConfirmed {
				continue
			}
			got, err := tx.CasesOf(ctx, b.n.engine.Keys.Pseudonymize(b.n.engine.Region, ev.SubjectID))
			if err != nil {
				return err
			}
			if len(got) > 0 {
				cs = &got[0]
				return nil
			}
		}
		return fmt.Errorf("the outbreak opened no case")
	})
	if err != nil {
		return err
	}
	// The case's person was where the city's check-ins put them; a few
	// more visits in its infectious window give the trace places to ask
	// about (a normal write of the store, as the node's check-ins are).
	lo, hi := maxT(cs.InfectiousFrom, b.visits.From), minT(cs.InfectiousUntil, b.now)
	if !hi.After(lo.Add(time.Hour)) {
		lo, hi = b.now.Add(-48*time.Hour), b.now
	}
	r := rand.New(rand.NewPCG(5, 6))
	type sample struct {
		venue string
		from  time.Time
	}
	var ss []sample
	var extra []*healthcode.CheckIn
	for range 1000 {
		at := lo.Add(time.Duration(r.Int64N(int64(hi.Sub(lo)))))
		v := b.venues[r.IntN(len(b.venues))]
		extra = append(extra, &healthcode.CheckIn{Venue: v, Subject: cs.Subject, At: at, Slot: -1})
		ss = append(ss, sample{v, at.Add(-time.Duration(r.Int64N(int64(2 * time.Hour))))})
	}
	if err := b.n.db.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(ctx, extra); return err }); err != nil {
		return err
	}
	epi, err := b.official(b.city.Epidemiologists[0])
	if err != nil {
		return err
	}
	queries := make([]time.Duration, len(ss))
	points := make([]time.Duration, len(ss))
	rows := 0
	for i, x := range ss {
		t := time.Now()
		page, err := b.n.engine.TraceVenue(ctx, epi, x.venue, x.from, x.from.Add(2*time.Hour), "contact_tracing", cs.ID, healthcode.CheckInCursor{}, 0)
		queries[i] = time.Since(t)
		if err != nil {
			return err
		}
		rows += len(page.Presence)
		t = time.Now()
		err = b.n.db.View(ctx, func(tx healthcode.ReadTx) error { _, err := tx.Venue(ctx, x.venue); return err })
		points[i] = time.Since(t)
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(b.env.Stderr, "bench --scale: trace: %.1f check-ins per answer on average\n", float64(rows)/float64(len(ss)))
	v, bv := bench.Percentile(queries, 0.99), bench.Percentile(points, 0.99)
	b.emit(bench.Result{Name: "city.trace.venue_window", Value: v, Unit: "ms p99", Baseline: "one indexed point read, p99", BaselineValue: bv, Ratio: bv / v, Lower: true})
	return nil
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// reeval publishes a new rule set (two admins) and re-evaluates the city as
// the node does after a publication (Engine.ReviewDue), against a bare
// sequential read of the same evidence in the same run.
func (b *cityBench) reeval() error {
	ctx := b.env.Ctx
	// The baseline: every person with evidence, their evidence read in the
	// same batches, nothing evaluated or written.
	t := time.Now()
	people, rows, err := b.readAllEvidence()
	if err != nil {
		return err
	}
	bare := float64(people) / time.Since(t).Seconds()
	src := bytes.Replace(rules.Baseline(), []byte("\nversion: \""), []byte("\nversion: \"scale-"), 1)
	if bytes.Equal(src, rules.Baseline()) {
		return fmt.Errorf("the baseline rule set has no version line to change")
	}
	if _, err := b.n.engine.ProposeRuleSet(ctx, b.admins[0], src); err != nil {
		return err
	}
	bar := b.bar(-1, "re-evaluation")
	t = time.Now()
	if _, err := b.n.engine.ApproveRuleSet(ctx, b.admins[1], bytesVersion(src)); err != nil {
		return err
	}
	debugf("approve %v", time.Since(t))
	var reviewed, changed int64
	err = b.profile("reeval.city", func() error {
		var err error
		reviewed, changed, err = b.n.engine.ReviewDue(ctx, func(done, total int64) { bar.Set64(done); debugf("review %d %v", done, time.Since(t)) })
		return err
	})
	if err != nil {
		return err
	}
	took := time.Since(t).Seconds()
	bar.Finish()
	fmt.Fprintf(b.env.Stderr, "bench --scale: re-evaluation: %d people reviewed, %d new decisions, in %.1f s (bare read: %d people, %d rows)\n", reviewed, changed, took, people, rows)
	v := float64(reviewed) / took
	b.emit(bench.Result{Name: "reeval.city", Value: v, Unit: "people/s", Baseline: "bare sequential read of the same evidence", BaselineValue: bare, Ratio: v / bare, Target: 0.3})
	return nil
}

// bytesVersion returns the version a rule set source declares.
func bytesVersion(src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		if v, ok := strings.CutPrefix(line, "version: "); ok {
			s, err := strconv.Unquote(strings.TrimSpace(v))
			if err == nil {
				return s
			}
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readAllEvidence reads the evidence of everyone who has any, in the
// re-evaluation's batches: the bare cost of the data a re-evaluation needs.
func (b *cityBench) readAllEvidence() (people, rows int64, err error) {
	ctx := b.env.Ctx
	after := ""
	for {
		var subjects []string
		err := b.n.db.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			if subjects, err = tx.EvidenceSubjects(ctx, after, engine.SweepBatch); err != nil {
				return err
			}
			evs, err := tx.EvidenceOf(ctx, subjects)
			for _, e := range evs {
				rows += int64(len(e))
			}
			return err
		})
		if err != nil {
			return people, rows, err
		}
		if len(subjects) == 0 {
			return people, rows, nil
		}
		people += int64(len(subjects))
		after = subjects[len(subjects)-1]
	}
}

// resetPeakRSS starts the process's peak resident memory (VmHWM) afresh
// (Linux: clear_refs 5); elsewhere it does nothing.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatus returns a memory figure of /proc/self/status (VmHWM: the peak
// resident memory since the last reset; VmRSS: now), in bytes.
func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, errors.New("resident memory is read from /proc/self/status (Linux only)")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(v)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

func debugf(format string, args ...any) {
	if os.Getenv("HC_SCALE_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}
