package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"
	"healthcode/bench"
	hchttp "healthcode/http"
	"healthcode/sim"
)

// benchOversightLag measures the p99 of the seconds from a restrictive
// action taking effect to the oversight alert about it, on a node serving
// its normal write load over HTTP (citizens' check-ins, a lab's negative
// results by tube) with its detectors running as serve runs them. Each
// action is the Zhengzhou pattern at the smallest size a detector calls a
// burst: a sampling site records samples of people who never gave them and
// a lab of another unit reports them positive, in one request; every action
// is by a lab and a sampling site of their own, so that each alert is
// attributed to its action by the officials it names. The baseline is the
// 60 s the node promises; the target (ratio 12) is 5 s.
func benchOversightLag(env *bench.Env) (bench.Result, error) {
	n, err := benchNode(env, "oversight", healthcode.SystemClock{})
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	people, samples := 20_000, 20
	if env.Scale {
		people, samples = 100_000, 100
	}
	city, err := sim.New(sim.Config{Seed: 17, People: people})
	if err != nil {
		return bench.Result{}, err
	}
	env.Logf("oversight.lag", "registering %d people…", people)
	if err := registerCity(env.Ctx, n, city); err != nil {
		return bench.Result{}, err
	}
	n.engine.CheckInPolicy = healthcode.CheckInPolicy{PerHour: 1e12, Burst: 1 << 30}
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		return bench.Result{}, err
	}
	defer n.server.Close(context.Background())
	bg, stop := context.WithCancel(env.Ctx)
	var jobs sync.WaitGroup
	defer jobs.Wait()
	defer stop()
	jobs.Add(1)
	go func() { defer jobs.Done(); n.background(bg) }()

	api := hchttp.NewClient(n.server.URL())
	token := func(p healthcode.Principal) (*hchttp.Client, error) {
		tok, err := n.engine.CreateToken(env.Ctx, &p)
		return api.As(tok), err
	}
	auditor, err := token(healthcode.Principal{ID: "bench-auditor", Name: "bench auditor", Role: healthcode.RoleAuditor, Unit: "bench oversight"})
	if err != nil {
		return bench.Result{}, err
	}
	// The normal write load: check-ins at 50 venues by 2,000 people, and
	// a lab's negative results of a sampling site's tubes.
	load, err := startOversightLoad(bg, n, city, token, &jobs)
	if err != nil {
		return bench.Result{}, err
	}
	// The actions, one every 0.5 to 1.5 s, each on people of its own
	// (after the load's), not waiting for the alerts.
	const perAction = 120
	effects := make([]time.Time, samples)
	labs := make([]string, samples)
	r := rand.New(rand.NewPCG(17, 18))
	now := time.Now().UTC()
	for k := range samples {
		lab := healthcode.Principal{ID: fmt.Sprintf("bench-lab-%03d", k), Name: fmt.Sprintf("检测公司 %d", k), Role: healthcode.RoleLab, Unit: fmt.Sprintf("检测公司 %d 检验科", k)}
		smp := healthcode.Principal{ID: fmt.Sprintf("bench-smp-%03d", k), Name: fmt.Sprintf("采样队 %d", k), Role: healthcode.RoleSampler, Unit: fmt.Sprintf("采样队 %d", k)}
		lc, err := token(lab)
		if err != nil {
			return bench.Result{}, err
		}
		sc, err := token(smp)
		if err != nil {
			return bench.Result{}, err
		}
		var cols []hchttp.CollectionJSON
		var results []hchttp.EvidenceJSON
		for i := range perAction {
			p := city.Person(loadPeople + k*perAction + i)
			tube := fmt.Sprintf("BENCH-LAG-%03d-%03d", k, i)
			cols = append(cols, hchttp.CollectionJSON{IDNumber: p.IDNumber, Tube: tube, Site: smp.Name, CollectedAt: now.Add(-time.Hour)})
			results = append(results, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "positive"})
		}
		if _, err := sc.Collect(env.Ctx, cols); err != nil {
			return bench.Result{}, err
		}
		out, err := lc.SubmitEvidence(env.Ctx, results)
		if err != nil {
			return bench.Result{}, err
		}
		effects[k], labs[k] = time.Now(), lab.ID
		if out.Summary["accepted"] != perAction {
			return bench.Result{}, fmt.Errorf("action %d: %v accepted of %d", k, out.Summary, perAction)
		}
		time.Sleep(500*time.Millisecond + time.Duration(r.Int64N(int64(time.Second))))
	}
	// Every alert, until each action has one or a minute has passed since
	// the last.
	lags := make([]float64, samples)
	found := 0
	for deadline := effects[samples-1].Add(time.Minute); found < samples && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		alerts, err := auditor.Alerts(env.Ctx)
		if err != nil {
			return bench.Result{}, err
		}
		found = 0
		for k := range samples {
			lags[k] = -1
			for _, a := range alerts {
				if slices.Contains(a.Officials, labs[k]) {
					if l := a.OpenedAt.Sub(effects[k]).Seconds(); lags[k] < 0 || l < lags[k] {
						lags[k] = l
					}
				}
			}
			if lags[k] >= 0 {
				found++
			}
		}
	}
	stop()
	if found < samples {
		return bench.Result{}, fmt.Errorf("%d of %d actions raised no alert within a minute", samples-found, samples)
	}
	env.Logf("oversight.lag", "%d actions during %d check-ins and %d results", samples, load.checkIns.Load(), load.results.Load())
	slices.Sort(lags)
	v := max(lags[(len(lags)*99+99)/100-1], 0.001)
	return bench.Result{Value: v, Unit: "s p99", Baseline: "the 60 s promised to oversight", BaselineValue: 60, Ratio: 60 / v, Target: 12, Lower: true}, nil
}

// loadPeople are the people the normal write load acts on (the first of
// the city); the measured actions name others.
const loadPeople = 2000

// oversightLoad counts what the normal write load did.
type oversightLoad struct {
	checkIns, results atomic.Int64
}

// startOversightLoad starts the normal write load of a city on n until ctx
// ends: about 200 check-ins a second at 50 venues by loadPeople people, and
// about 20 negative results a second of tubes a sampling site collected.
func startOversightLoad(ctx context.Context, n *node, city *sim.City, token func(healthcode.Principal) (*hchttp.Client, error), jobs *sync.WaitGroup) (*oversightLoad, error) {
	venues, err := activeVenues(ctx, n, 50)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, v := range venues {
		codes = append(codes, v.StaticCode())
	}
	var citizens []*hchttp.Client
	for i := range loadPeople {
		c, err := token(healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber)})
		if err != nil {
			return nil, err
		}
		citizens = append(citizens, c)
	}
	lab, err := token(healthcode.Principal{ID: "bench-load-lab", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "第一检测所检验科"})
	if err != nil {
		return nil, err
	}
	smp, err := token(healthcode.Principal{ID: "bench-load-smp", Name: "金水区采样点", Role: healthcode.RoleSampler, Unit: "金水区采样队"})
	if err != nil {
		return nil, err
	}
	l := &oversightLoad{}
	for w := range 4 {
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for ctx.Err() == nil {
				_, err := citizens[r.IntN(len(citizens))].Do(ctx, "POST", "/api/v1/checkins", map[string]string{"code": codes[r.IntN(len(codes))]}, nil)
				if err == nil {
					l.checkIns.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	jobs.Add(1)
	go func() {
		defer jobs.Done()
		r := rand.New(rand.NewPCG(9, 3))
		for batch := 0; ctx.Err() == nil; batch++ {
			var cols []hchttp.CollectionJSON
			var results []hchttp.EvidenceJSON
			for i := range 5 {
				tube := fmt.Sprintf("BENCH-LOAD-%06d-%d", batch, i)
				cols = append(cols, hchttp.CollectionJSON{IDNumber: city.Person(r.IntN(loadPeople)).IDNumber, Tube: tube, Site: "金水区采样点",
					CollectedAt: time.Now().UTC().Add(-time.Hour)})
				results = append(results, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "negative"})
			}
			if _, err := smp.Collect(ctx, cols); err == nil {
				if out, err := lab.SubmitEvidence(ctx, results); err == nil {
					l.results.Add(int64(out.Summary["accepted"]))
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	return l, nil
}
