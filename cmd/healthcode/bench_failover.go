package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"healthcode"
	"healthcode/bench"
	hchttp "healthcode/http"
	"healthcode/postgres/pgcluster"
	"healthcode/sim"
)

// benchFailoverGap measures the seconds a node goes without an
// acknowledged write while its database fails over: the node on a
// PostgreSQL primary with a synchronous standby, managed by
// pg_auto_failover (pgcluster, with its shortened timeouts), connected by
// a multi-host URL, takes check-ins and a lab's results from several
// clients; the primary is killed (SIGKILL, keeper and postgres); the
// figure is the longest time between two acknowledged writes. The run
// counts only if every acknowledged write is there afterwards and every
// refused request was a 503 with Retry-After. Without pg_autoctl the
// figure is skipped. The baseline is the 10 s target.
func benchFailoverGap(env *bench.Env) (bench.Result, error) {
	const name = "failover.gap"
	if _, err := pgcluster.FindTools(); err != nil {
		return bench.Result{}, bench.Skip(err.Error())
	}
	ctx, cancel := context.WithTimeout(env.Ctx, 5*time.Minute)
	defer cancel()
	env.Logf(name, "starting a pg_auto_failover monitor, a primary and a synchronous standby…")
	cluster, err := pgcluster.Start(ctx, nil)
	if err != nil {
		return bench.Result{}, err
	}
	defer cluster.Close()
	first, err := cluster.Primary(ctx)
	if err != nil || first == nil {
		return bench.Result{}, fmt.Errorf("no primary: %v", err)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.DB = filepath.Join(env.Dir, "failover"), "127.0.0.1:0", cluster.URL()
	n, err := benchNodeWith(env, cfg, healthcode.SystemClock{})
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	const people = 1000
	city, err := sim.New(sim.Config{Seed: 23, People: people, Region: cfg.Region})
	if err != nil {
		return bench.Result{}, err
	}
	if err := registerCity(ctx, n, city); err != nil {
		return bench.Result{}, err
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		return bench.Result{}, err
	}
	defer n.server.Close(context.Background())
	load, err := startFailoverLoad(ctx, n, city, people)
	if err != nil {
		return bench.Result{}, err
	}
	load.waitEach(ctx, 50)
	env.Logf(name, "killing the primary (%s) under load…", first.Name)
	if err := cluster.Kill(first); err != nil {
		return bench.Result{}, err
	}
	load.kill()
	load.wait()
	if ctx.Err() != nil {
		return bench.Result{}, fmt.Errorf("the node took no writes again after the failover: %v (%s)", ctx.Err(), load.summary())
	}
	env.Logf(name, "%s", load.summary())
	if err := load.check(ctx, n.db); err != nil {
		return bench.Result{}, err
	}
	gap := load.gap().Seconds()
	return bench.Result{Value: gap, Unit: "s", Baseline: "the 10 s target", BaselineValue: 10, Ratio: 10 / gap, Target: 1, Lower: true,
		Extra: map[string]float64{"acknowledged": float64(load.acked()), "refused_503": float64(load.refused)}}, nil
}

// failoverLoad is the clients of benchFailoverGap and of
// TestFailoverRidesThrough, and what they saw.
type failoverLoad struct {
	url string

	mu       sync.Mutex
	checkIns []ackedCheckIn
	results  []ackedResult
	acks     []time.Time // when each write was acknowledged
	refused  int         // answered 503 with Retry-After
	bad      []string    // answered otherwise, or not at all
	total    []int       // per client, writes acknowledged
	after    []int       // per client, writes acknowledged since the kill
	killed   chan struct{}
	wg       sync.WaitGroup
}

type ackedCheckIn struct {
	subject string
	id      int64
	at      time.Time
}

// ackedResult is a sample collected into a tube (acknowledged), and the
// lab's result of it if that was acknowledged too (evidence non-zero).
type ackedResult struct {
	subject, tube        string
	collection, evidence int64
}

// failoverClients is how many clients of each kind write.
const failoverClients = 2

// failoverAfter is how many writes each client must have acknowledged
// after the kill for the load to end.
const failoverAfter = 10

// startFailoverLoad starts writing to n over HTTP: failoverClients
// citizens' apps checking in at venues (printed codes), and
// failoverClients pairs of a sampling site collecting a sample into a tube
// of its own and a lab of another unit reporting it negative. Each person
// of the city (people in all) is written about by one client only (a
// citizen checks in at each venue once), so every acknowledged write is a
// row of its own. A client pauses 100 ms
// after a refusal, and stops once it has had failoverAfter writes
// acknowledged after kill, or when ctx ends.
func startFailoverLoad(ctx context.Context, n *node, city *sim.City, people int) (*failoverLoad, error) {
	n.engine.CheckInPolicy = healthcode.CheckInPolicy{PerHour: 1e12, Burst: 1 << 30}
	venues, err := activeVenues(ctx, n, 20)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, v := range venues {
		codes = append(codes, v.StaticCode())
	}
	token := func(p healthcode.Principal) (string, error) { return n.engine.CreateToken(ctx, &p) }
	clients := 2 * failoverClients
	l := &failoverLoad{url: n.server.URL(), killed: make(chan struct{}), total: make([]int, clients), after: make([]int, clients)}
	per := people / clients
	for k := range clients {
		// Client k writes about people [k*per, (k+1)*per).
		var citizens, subjects []string
		var sampler, lab string
		if k%2 == 0 {
			// A token is a logged write: fifty citizens, each at
			// each venue once, are enough.
			for i := k * per; i < k*per+min(per, 50); i++ {
				s := n.engine.Keys.Pseudonymize(n.cfg.Region, city.Person(i).IDNumber)
				tok, err := token(healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: s})
				if err != nil {
					return nil, err
				}
				citizens, subjects = append(citizens, tok), append(subjects, s)
			}
		} else {
			var err error
			if sampler, err = token(healthcode.Principal{ID: fmt.Sprintf("failover-smp-%d", k), Name: fmt.Sprintf("采样点 %d", k), Role: healthcode.RoleSampler, Unit: fmt.Sprintf("采样队 %d", k)}); err != nil {
				return nil, err
			}
			if lab, err = token(healthcode.Principal{ID: fmt.Sprintf("failover-lab-%d", k), Name: fmt.Sprintf("检测所 %d", k), Role: healthcode.RoleLab, Unit: fmt.Sprintf("检测所 %d 检验科", k)}); err != nil {
				return nil, err
			}
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil && l.afterKill(k) < failoverAfter; i++ {
				if k%2 == 0 {
					// Each of the client's people at each venue once.
					if i >= len(citizens)*len(codes) {
						l.fail("client %d ran out of people", k)
						return
					}
					who, venue := i%len(citizens), i/len(citizens)
					var ci hchttp.CheckInJSON
					if l.post(ctx, citizens[who], "/api/v1/checkins", map[string]string{"code": codes[venue]}, &ci) {
						l.ack(k, func() { l.checkIns = append(l.checkIns, ackedCheckIn{subject: subjects[who], id: ci.ID, at: ci.At}) })
					}
					continue
				}
				if i >= per {
					l.fail("client %d ran out of people", k)
					return
				}
				p := city.Person(k*per + i)
				tube := fmt.Sprintf("FO-%d-%05d", k, i)
				var co hchttp.CollectionOutcomeJSON
				if !l.post(ctx, sampler, "/api/v1/collections",
					hchttp.CollectionJSON{IDNumber: p.IDNumber, Tube: tube, Site: "采样点", CollectedAt: n.engine.Clock.Now().Add(-time.Hour)}, &co) {
					continue
				}
				var at int
				l.ack(k, func() {
					at = len(l.results)
					l.results = append(l.results, ackedResult{subject: n.engine.Keys.Pseudonymize(n.cfg.Region, p.IDNumber), tube: tube, collection: co.CollectionID})
				})
				var o hchttp.OutcomeJSON
				if l.post(ctx, lab, "/api/v1/evidence", hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "negative"}, &o) {
					l.ack(k, func() { l.results[at].evidence = o.EvidenceID })
				}
			}
		}()
	}
	return l, nil
}

// post sends one write and reports whether it was acknowledged (2xx). A
// refusal, 503 with Retry-After, is counted; anything else is recorded in
// bad.
func (l *failoverLoad) post(ctx context.Context, token, path string, body, out any) bool {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", l.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.fail("POST %s: %v", path, err)
		}
		return false
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		if err := json.Unmarshal(rb, out); err != nil {
			l.fail("POST %s: %d %s", path, resp.StatusCode, rb)
			return false
		}
		return true
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		l.mu.Lock()
		l.refused++
		l.mu.Unlock()
	default:
		l.fail("POST %s: %d (Retry-After %q) %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), rb)
	}
	time.Sleep(100 * time.Millisecond)
	return false
}

// ack records an acknowledged write of client k.
func (l *failoverLoad) ack(k int, record func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	record()
	l.acks = append(l.acks, time.Now())
	l.total[k]++
	select {
	case <-l.killed:
		l.after[k]++
	default:
	}
}

func (l *failoverLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bad = append(l.bad, fmt.Sprintf(format, args...))
}

func (l *failoverLoad) afterKill(k int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.after[k]
}

func (l *failoverLoad) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// waitAcked waits until k writes in all have been acknowledged.
func (l *failoverLoad) waitAcked(ctx context.Context, k int) {
	for ctx.Err() == nil && l.acked() < k {
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEach waits until each client has had k writes acknowledged.
func (l *failoverLoad) waitEach(ctx context.Context, k int) {
	for ctx.Err() == nil {
		l.mu.Lock()
		least := slices.Min(l.total)
		l.mu.Unlock()
		if least >= k {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill marks the moment the primary was killed.
func (l *failoverLoad) kill() { close(l.killed) }

// wait waits for the clients to stop.
func (l *failoverLoad) wait() { l.wg.Wait() }

// gap is the longest time between two acknowledged writes: how long the
// failover left the node without a successful write.
func (l *failoverLoad) gap() time.Duration {
	l.mu.Lock()
	acks := slices.Clone(l.acks)
	l.mu.Unlock()
	slices.SortFunc(acks, time.Time.Compare)
	var g time.Duration
	for i := 1; i < len(acks); i++ {
		g = max(g, acks[i].Sub(acks[i-1]))
	}
	return g
}

func (l *failoverLoad) summary() string {
	g := l.gap()
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d writes acknowledged (%d check-ins, %d collections with their results), %d refused with 503 and Retry-After, %d answered otherwise; longest time without an acknowledged write %.1f s",
		len(l.acks), len(l.checkIns), len(l.results), l.refused, len(l.bad), g.Seconds())
}

// check says what went wrong: a request answered other than 2xx or 503
// with Retry-After, no request refused at all (the kill missed the
// writes), or an acknowledged write missing from the store.
func (l *failoverLoad) check(ctx context.Context, db healthcode.Store) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var problems []string
	if len(l.bad) > 0 {
		problems = append(problems, fmt.Sprintf("%d requests were answered other than 2xx or 503 with Retry-After, e.g. %s", len(l.bad), strings.Join(l.bad[:min(3, len(l.bad))], "; ")))
	}
	if l.refused == 0 {
		problems = append(problems, "no request was refused: the kill did not reach the node's writes")
	}
	var missing []string
	err := db.View(ctx, func(tx healthcode.ReadTx) error {
		for _, ci := range l.checkIns {
			got, err := tx.CheckInsOf(ctx, ci.subject, ci.at.Add(-time.Minute), ci.at.Add(time.Minute))
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(got, func(c healthcode.CheckIn) bool { return c.ID == ci.id }) {
				missing = append(missing, fmt.Sprintf("check-in %d", ci.id))
			}
		}
		for _, r := range l.results {
			members, err := tx.TubeMembers(ctx, r.tube)
			if err != nil && healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				return err
			}
			if !slices.ContainsFunc(members, func(c healthcode.Collection) bool { return c.ID == r.collection && c.Subject == r.subject }) {
				missing = append(missing, fmt.Sprintf("collection %d into %s", r.collection, r.tube))
			}
			if r.evidence == 0 {
				continue
			}
			e, err := tx.EvidenceByID(ctx, r.evidence)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND || (err == nil && e.Subject != r.subject) {
				missing = append(missing, fmt.Sprintf("result %d of %s", r.evidence, r.tube))
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the acknowledged writes back: %w", err)
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged writes are missing after the failover, e.g. %s", len(missing), strings.Join(missing[:min(5, len(missing))], "; ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
