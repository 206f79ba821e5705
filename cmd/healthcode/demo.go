package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"healthcode"
	"healthcode/postgres"
	"healthcode/sim"
	"healthcode/tlog"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	cfg.DataDir = "healthcode-demo"
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cfg.register(fs)
	people := fs.Int("people", 10_000, "people in the synthetic city (1,000 to 10,000,000)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic city (same seed, same city)")
	fresh := fs.Bool("fresh", false, "delete the data directory's database and published checkpoint first (without it, the demo refuses a directory that already holds a node's data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode demo [flags]\n\nGenerates a deterministic synthetic city (people, sampling sites, labs, clinics, a small outbreak) in a new\nSQLite file (never over a node's data unless --fresh), serves it, and prints what to open and the tokens to use.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := cfg.finish(); err != nil {
		return fail(stderr, "demo", err)
	}
	start := time.Now()
	// The city first: a mistake in its flags changes nothing on disk.
	now := start.UTC()
	city, err := sim.New(sim.Config{Seed: *seed, People: *people, Region: cfg.Region, Start: now.Truncate(time.Hour).Add(-6 * 24 * time.Hour)})
	if err != nil {
		return fail(stderr, "demo", err)
	}
	unlock, err := lockData(cfg.DataDir)
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer unlock()
	// A new city needs a new database and no published checkpoint (which a
	// new, shorter log would contradict: the self-audit would refuse to
	// start). A directory that already holds them is a node's data, maybe
	// not the demo's: it is deleted only when asked, and named as it goes.
	checkpoint := filepath.Join(cfg.DataDir, "checkpoint")
	var existing []string
	files := []string{cfg.DB, cfg.DB + "-wal", cfg.DB + "-shm", checkpoint, tlog.CosignedPath(checkpoint)}
	if isPostgres(cfg.DB) {
		files = files[3:]
		// Asked even of a demo cancelled at once: a refusal must not wait
		// on it.
		if has, err := storeExists(context.WithoutCancel(ctx), cfg.DB); err != nil {
			return fail(stderr, "demo", err)
		} else if has {
			existing = append(existing, displayDB(cfg.DB))
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fail(stderr, "demo", err)
		}
	}
	if len(existing) > 0 && !*fresh {
		return fail(stderr, "demo", fmt.Errorf("%s already holds a node's data (%s); nothing was changed.\n"+
			"  serve it:          healthcode serve --data %s\n"+
			"  or delete it and build a new city: healthcode demo --fresh --data %s",
			cfg.DataDir, strings.Join(existing, ", "), cfg.DataDir, cfg.DataDir))
	}
	for _, f := range existing {
		fmt.Fprintf(stderr, "demo: --fresh: deleting %s\n", f)
		if f == displayDB(cfg.DB) && isPostgres(cfg.DB) {
			if err := postgres.Drop(ctx, cfg.DB); err != nil {
				return fail(stderr, "demo", err)
			}
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(stderr, "demo", err)
		}
	}
	// The wall clock, but held at each outbreak event's time while the
	// story is replayed: the history spreads over the outbreak's days.
	n, err := openNode(ctx, cfg, &sim.StoryClock{}, stderr)
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer n.close()
	tokens, later, replayer, err := n.populate(ctx, city, now, stderr)
	if err != nil {
		return fail(stderr, "demo", err)
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		return fail(stderr, "demo", err)
	}
	noteServing(cfg.DataDir, n.server.URL())
	printDemo(stdout, n, city, tokens, time.Since(start), self())
	bg, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { n.background(bg); done <- struct{}{} }()
	go func() { n.replayLater(bg, replayer, later); done <- struct{}{} }()
	<-ctx.Done()
	cancel()
	<-done
	<-done
	shut, cancelShut := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShut()
	n.server.Close(shut)
	return exitOK
}

// The tubes the demo leaves collected and awaiting a lab's result.
const (
	demoSingleTube = "DEMO-T0001"
	demoMixedTube  = "DEMO-MIX0001"
)

type demoToken struct {
	Who   string
	Role  healthcode.Role
	Unit  string // the unit's name, for an official
	Token string
	Page  string // the page the role works from, a path on the node ("" for none: the API or the CLI)
	Note  string
}

// pageOr shows a role's page, or that it has none.
func pageOr(p string) string {
	if p == "" {
		return "(API, CLI)"
	}
	return p
}

// rolePage is the page each role works from.
func rolePage(r healthcode.Role) string {
	switch r {
	case healthcode.RoleCitizen:
		return "/"
	case healthcode.RoleVerifier:
		return "/verify"
	case healthcode.RoleEpidemiologist, healthcode.RoleOperator, healthcode.RoleApprover, healthcode.RoleAuditor:
		return "/console"
	}
	return ""
}

// populate registers the city's people, makes tokens for its institutions
// and a few citizens, and submits the outbreak's evidence up to now. It
// returns the tokens and the events still in the future.
func (n *node) populate(ctx context.Context, city *sim.City, now time.Time, progress io.Writer) ([]demoToken, []sim.Event, *sim.Replayer, error) {
	if err := n.publishBaselineIfNone(ctx); err != nil {
		return nil, nil, nil, err
	}
	if err := n.registerCity(ctx, city, progress); err != nil {
		return nil, nil, nil, err
	}
	return n.populateStory(ctx, city, now, progress)
}

// populateStory builds the registry and tells the outbreak up to now, on a
// node whose people are registered (populate, or a bulk load).
func (n *node) populateStory(ctx context.Context, city *sim.City, now time.Time, progress io.Writer) ([]demoToken, []sim.Event, *sim.Replayer, error) {
	// The registry, as a real node's admins would build it, through the
	// engine and the log: the first unit and two admins (admin init), then a
	// unit and an official for each institution of the city, and tokens.
	first, inits, err := n.engine.Init(ctx, healthcode.Unit{Name: "卫健委信息中心"}, []string{"系统管理员 王磊", "系统管理员 李静"})
	if err != nil {
		return nil, nil, nil, err
	}
	admin, admin2 := &inits[0].Token.Principal, &inits[1].Token.Principal
	var tokens []demoToken
	for _, it := range inits {
		tokens = append(tokens, demoToken{Who: it.Token.Principal.Name, Role: it.Token.Principal.Role, Unit: first.Name, Token: it.Secret})
	}
	officials := map[string]*healthcode.Principal{}              // by the city's institution id
	demoOfficials := map[healthcode.Role]*healthcode.Principal{} // the first of each role not of the city's institutions
	units := map[string]string{}                                 // registry unit id by name
	register := func(name string, role healthcode.Role, unitName string) (*healthcode.Principal, error) {
		uid, ok := units[unitName]
		if !ok {
			u, err := n.engine.CreateUnit(ctx, admin, healthcode.Unit{Name: unitName})
			if err != nil {
				return nil, err
			}
			uid, units[unitName] = u.ID, u.ID
		}
		o, prop, err := n.engine.CreateOfficial(ctx, admin, healthcode.Official{Name: name, Role: role, Unit: uid})
		if err != nil {
			return nil, err
		}
		if prop != nil {
			if o, err = n.engine.ApproveOfficial(ctx, admin2, prop.ID); err != nil {
				return nil, err
			}
		}
		return o.Principal(), nil
	}
	// token issues an official's token: every official's is
	// proposed by the first admin and issued by the second.
	token := func(p *healthcode.Principal) (string, error) {
		it, prop, err := n.engine.IssueToken(ctx, admin, p.ID)
		if err != nil {
			return "", err
		}
		if prop != nil {
			if it, _, err = n.engine.IssueToken(ctx, admin2, p.ID); err != nil {
				return "", err
			}
		}
		return it.Secret, nil
	}
	for _, group := range [][]sim.Institution{city.Samplers, city.Labs, city.Clinics, city.Epidemiologists} {
		for i, in := range group {
			unitName := in.Name + " " + in.Unit // a lab's or a hospital's department
			if in.Role == healthcode.RoleEpidemiologist || in.Role == healthcode.RoleSampler {
				unitName = in.Unit // an investigation team, a district's sampling team
			}
			p, err := register(in.Name, in.Role, unitName)
			if err != nil {
				return nil, nil, nil, err
			}
			officials[in.ID] = p
			// Two of each, of two units: every step that needs a second
			// official of another unit can be tried from both sides.
			if i < 2 {
				secret, err := token(p)
				if err != nil {
					return nil, nil, nil, err
				}
				tokens = append(tokens, demoToken{Who: in.Name, Role: in.Role, Unit: unitName, Token: secret, Page: rolePage(in.Role)})
			}
		}
	}
	for _, o := range []struct {
		name string
		role healthcode.Role
		unit string
	}{
		{"地铁站检查点 1", healthcode.RoleVerifier, "郑州地铁"},
		{"操作员 赵敏", healthcode.RoleOperator, "市大数据局"},
		{"操作员 陈晨", healthcode.RoleOperator, "金水区卫健委"},
		{"审批人 王强", healthcode.RoleApprover, "市卫健委"},
		{"审批人 刘洋", healthcode.RoleApprover, "市疾控中心"},
		{"监督员 孙丽", healthcode.RoleAuditor, "市纪委监委"},
		{"监督员 周平", healthcode.RoleAuditor, "市人大常委会"},
		{"老郑州烩面馆 店主", healthcode.RoleVenue, "老郑州烩面馆"},
		{"开封市健康码节点", healthcode.RolePeer, "开封市卫健委"},
	} {
		p, err := register(o.name, o.role, o.unit)
		if err != nil {
			return nil, nil, nil, err
		}
		secret, err := token(p)
		if err != nil {
			return nil, nil, nil, err
		}
		tokens = append(tokens, demoToken{Who: o.name, Role: o.role, Unit: o.unit, Token: secret, Page: rolePage(o.role)})
		if demoOfficials[o.role] == nil {
			demoOfficials[o.role] = p
		}
	}
	n.logger.Info("demo: registry built", "first unit", first.ID, "units", len(units)+1, "officials", len(officials)+6)
	// The outbreak, as its submitters would have sent it: in time order
	// (a contact designation needs its case diagnosed first, a result its
	// tube collected), consecutive items of one submitter in one batch.
	var later []sim.Event
	var pending []healthcode.Submission
	var collections []healthcode.CollectionRequest
	var from *healthcode.Principal
	flush := func() error {
		if len(collections) > 0 {
			outs, err := n.engine.Collect(ctx, from, collections)
			for _, o := range outs {
				if o.Status == healthcode.Rejected {
					n.logger.Warn("demo: an outbreak collection was refused", "line", o.Line, "err", o.Err)
				}
			}
			collections = nil
			if err != nil {
				return err
			}
		}
		if len(pending) == 0 {
			return nil
		}
		outs, err := n.engine.Submit(ctx, from, pending)
		for _, o := range outs {
			if o.Status == healthcode.Rejected {
				n.logger.Warn("demo: an outbreak event was refused", "line", o.Line, "err", o.Err)
			}
		}
		pending = pending[:0]
		return err
	}
	// Every sample of the past is collected first, one batch per sampling
	// site (a collection depends on nothing but its person).
	outbreak := city.Outbreak()
	bySampler := map[string][]healthcode.CollectionRequest{}
	var samplers []string
	for _, ev := range outbreak {
		if ev.IsCollection() && !ev.At.After(now) {
			if _, ok := bySampler[ev.Submitter.ID]; !ok {
				samplers = append(samplers, ev.Submitter.ID)
			}
			c := ev.Collection
			c.Line = len(bySampler[ev.Submitter.ID])
			bySampler[ev.Submitter.ID] = append(bySampler[ev.Submitter.ID], c)
		}
	}
	for _, id := range samplers {
		from, collections = officials[id], bySampler[id]
		if err := flush(); err != nil {
			return nil, nil, nil, err
		}
	}
	// Then the rest through a Replayer: the story's case labels become the
	// node's case ids, and each interview-linked record is confirmed by a
	// second epidemiologist of another unit.
	var past []sim.Event
	for _, ev := range outbreak {
		if ev.At.After(now) {
			later = append(later, ev)
			continue
		}
		if ev.IsCollection() {
			continue
		}
		past = append(past, ev)
	}
	story, _ := n.engine.Clock.(*sim.StoryClock)
	replayer := &sim.Replayer{Evidence: n.engine, Records: n.engine, Samples: n.engine, Actors: officials, Clock: story, OnRefused: func(ev sim.Event, err error) {
		n.logger.Warn("demo: an outbreak event was refused", "note", ev.Note, "err", err)
	}}
	if err := replayer.Replay(ctx, past); err != nil {
		return nil, nil, nil, err
	}
	// Tubes collected and awaiting their result, for the lab's examples
	// the demo prints (and README shows): a single tube of the first
	// resident, and a mixed tube of the next ten.
	smp := officials[city.Samplers[0].ID]
	var waiting []healthcode.CollectionRequest
	for i := range 11 {
		c := healthcode.CollectionRequest{Line: i, IDNumber: city.Person(i).IDNumber, Tube: demoSingleTube, Site: city.Samplers[0].Name, CollectedAt: now.Add(-time.Hour)}
		if i > 0 {
			c.Tube, c.Mixed = demoMixedTube, true
		}
		waiting = append(waiting, c)
	}
	outs, err := n.engine.Collect(ctx, smp, waiting)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, o := range outs {
		if o.Status == healthcode.Rejected {
			return nil, nil, nil, fmt.Errorf("demo: collecting the example tubes: %w", o.Err)
		}
	}
	if _, _, err := n.engine.ReviewDue(ctx, nil); err != nil {
		return nil, nil, nil, err
	}
	// A live venue with its poster, approved by an operator.
	v, err := n.demoVenue(ctx, demoOfficials[healthcode.RoleVenue], demoOfficials[healthcode.RoleOperator])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("demo: the venue: %w", err)
	}
	for i := range tokens {
		if tokens[i].Role == healthcode.RoleVenue {
			tokens[i].Page = "/venue/" + v.ID
			tokens[i].Note = "its poster, with the live code: /venue/" + v.ID + " (printed: /venue/" + v.ID + "/print)"
		}
	}
	// Citizens: one for each situation to see from their side.
	people, err := n.demoPeople(ctx, city, past, demoOfficials[healthcode.RoleOperator], now)
	if err != nil {
		return nil, nil, nil, err
	}
	tokens = append(tokens, people...)
	if _, err := n.log.Publish(ctx, n.engine.Clock.Now()); err != nil {
		return nil, nil, nil, err
	}
	return tokens, later, replayer, nil
}

// replayLater submits the outbreak's future events when their time comes,
// each as the registered official of its institution.
func (n *node) replayLater(ctx context.Context, r *sim.Replayer, events []sim.Event) {
	for _, ev := range events {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(ev.At)):
		}
		if err := r.Replay(ctx, []sim.Event{ev}); err != nil {
			n.logger.Error("demo: replaying an event failed", "note", ev.Note, "err", err)
		}
	}
}

// self is how the user ran this program, for the commands the demo prints:
// "go run ./cmd/healthcode" after go run (whose binary is in a temporary
// build directory), else the program as it was typed ("./healthcode", or
// "healthcode" from PATH). A variable so that a test can name its own.
var self = func() string {
	arg0 := os.Args[0]
	if strings.Contains(filepath.ToSlash(arg0), "/go-build") {
		return "go run ./cmd/healthcode"
	}
	return arg0
}

func printDemo(w io.Writer, n *node, city *sim.City, tokens []demoToken, took time.Duration, prog string) {
	url := n.server.URL()
	if n.cfg.PublicURL != "" {
		url = strings.TrimSuffix(n.cfg.PublicURL, "/")
	}
	fmt.Fprintf(w, "healthcode demo: %s (%s), %d people, ready in %s\n", city.Name, city.Region, city.Size, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  database   %s\n  trust file %s\n\n", displayDB(n.cfg.DB), filepath.Join(n.cfg.DataDir, "trust.json"))
	fmt.Fprintf(w, "Open %s/login and log in with a token below; each role's page is under PAGE (admins, samplers, labs,\nclinics and peers work through the API and the CLI). Every step that needs a second official of another\nunit has officials of two units here.\n\n", url)
	header := demoToken{Role: "ROLE", Who: "WHO", Unit: "UNIT", Page: "PAGE", Token: "TOKEN"}
	widths := [4]int{}
	for _, t := range append([]demoToken{header}, tokens...) {
		for i, s := range []string{string(t.Role), t.Who, t.Unit, pageOr(t.Page)} {
			widths[i] = max(widths[i], displayWidth(s))
		}
	}
	var lab, citizen, sampler, admin string
	for _, t := range append([]demoToken{header}, tokens...) {
		fmt.Fprintf(w, "  %s  %s  %s  %s  %s\n", pad(string(t.Role), widths[0]), pad(t.Who, widths[1]), pad(t.Unit, widths[2]), pad(pageOr(t.Page), widths[3]), t.Token)
		if t.Note != "" {
			fmt.Fprintf(w, "  %s  ↳ %s\n", pad("", widths[0]), t.Note)
		}
		if t.Role == healthcode.RoleSampler && sampler == "" {
			sampler = t.Token
		}
		if t.Role == healthcode.RoleLab && lab == "" {
			lab = t.Token
		}
		if t.Role == healthcode.RoleCitizen && citizen == "" {
			citizen = t.Token
		}
		if t.Role == healthcode.RoleAdmin && admin == "" {
			admin = t.Token
		}
	}
	first := city.Person(0)
	// Every command below must work when pasted, in another terminal of the
	// same directory, while the demo runs: TestDemoPrintedCommands runs them.
	fmt.Fprintf(w, `
Try it (in another terminal, in this directory):
  # the citizen's code, with the rule and evidence behind it
  curl -s -H 'Authorization: Bearer %[2]s' %[1]s/api/v1/me/code
  # tube %[7]s holds that citizen's sample (collected by a sampling site); a lab reports it
  # positive, by tube only: the colour turns red at once
  curl -s -H 'Authorization: Bearer %[3]s' -H 'Content-Type: application/json' %[1]s/api/v1/evidence \
    -d '{"kind":"nucleic_acid_test","tube":"%[7]s","result":"positive"}'
  # a sampling site records a new sample (the person's scanned code, or ID number) in a tube
  curl -s -H 'Authorization: Bearer %[8]s' -H 'Content-Type: application/json' %[1]s/api/v1/collections \
    -d '{"id_number":"%[4]s","tube":"DEMO-T0002","site":"demo site","collected_at":"%[5]s"}'
  # mixed tube %[9]s (ten people) is still waiting for its result
  # verify the QR offline
  curl -s -H 'Authorization: Bearer %[2]s' %[1]s/api/v1/me/qr.png -o code.png
  %[10]s verify --trust %[6]s code.png
  # commands that act on the node find its store (%[11]s, which this demo serves) and say so
  %[10]s admin list --token %[12]s
  # the API: %[1]s/api/v1/openapi.json   metrics: %[1]s/metrics

Press Ctrl-C to stop.
`, url, citizen, lab, first.IDNumber, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), filepath.Join(n.cfg.DataDir, "trust.json"),
		demoSingleTube, sampler, demoMixedTube, prog, n.cfg.DataDir, admin)
}
