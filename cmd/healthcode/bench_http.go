package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// httpPair alternates a load on the node (want the node's status) with the
// same load's shape on the trivial handler, each round env.RoundDur() long,
// after warming both; each side keeps its connections across rounds.
func httpPair(env *bench.Env, conc, want int, node, trivial func(*rand.Rand) *http.Request) (bench.Pair, error) {
	p, _, err := httpPairRefused(env, conc, want, 0, node, trivial)
	return p, err
}

// httpPairRefused is httpPair where the node's answers with status refused
// (503: its queue would wait past its budget) are counted, not errors; it
// returns how many there were in the measured rounds.
func httpPairRefused(env *bench.Env, conc, want, refused int, node, trivial func(*rand.Rand) *http.Request) (bench.Pair, int64, error) {
	p, refusals, _, err := httpSides(env, conc, loadSide{want, refused, node}, loadSide{200, 0, trivial})
	return p, refusals, err
}

// loadSide is one side of an alternated HTTP load: its requests, the status
// each must answer, and a status counted as a refusal rather than an error
// (0: none).
type loadSide struct {
	want, refused int
	req           func(*rand.Rand) *http.Request
}

// httpSides alternates side a's load with side b's, each round env.RoundDur()
// long, after warming both, each side keeping its connections across rounds;
// it returns the refusals of each side in the measured rounds.
func httpSides(env *bench.Env, conc int, a, b loadSide) (bench.Pair, int64, int64, error) {
	ac, bc := bench.NewClient(conc), bench.NewClient(conc)
	defer ac.Close()
	defer bc.Close()
	warm := min(env.RoundDur(), time.Second)
	for _, s := range []struct {
		c *bench.Client
		loadSide
	}{{ac, a}, {bc, b}} {
		if _, _, err := bench.LoadRefused(env.Ctx, s.c, conc, warm, s.want, s.refused, s.req); err != nil {
			return bench.Pair{}, 0, 0, err
		}
	}
	var aRefused, bRefused int64
	p, err := env.Alternate(func() (float64, error) {
		v, n, err := bench.LoadRefused(env.Ctx, ac, conc, env.RoundDur(), a.want, a.refused, a.req)
		aRefused += n
		return v, err
	}, func() (float64, error) {
		v, n, err := bench.LoadRefused(env.Ctx, bc, conc, env.RoundDur(), b.want, b.refused, b.req)
		bRefused += n
		return v, err
	})
	return p, aRefused, bRefused, err
}

// getReq returns a request maker for GET url with one of tokens (if any).
func getReq(ctx context.Context, url string, tokens []string) func(*rand.Rand) *http.Request {
	return func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if len(tokens) > 0 {
			req.Header.Set("Authorization", "Bearer "+tokens[r.IntN(len(tokens))])
		}
		return req
	}
}

// benchCodeGet measures citizens' code requests over HTTP against a trivial
// handler answering 200 bytes, both served by this process on 127.0.0.1.
func benchCodeGet(env *bench.Env) (bench.Result, error) {
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(env.Dir, "code")
	n, tokens, err := newCodeNode(env, cfg)
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	defer n.server.Close(context.Background())
	trivial, err := bench.StartTrivial()
	if err != nil {
		return bench.Result{}, err
	}
	defer trivial.Close()
	p, err := httpPair(env, 4, 200, getReq(env.Ctx, n.server.URL()+"/api/v1/me/code", tokens), getReq(env.Ctx, trivial.URL, nil))
	return p.Fill(bench.Result{Unit: "requests/s", Baseline: "trivial 200-byte handler", Target: 0.5}), err
}

// newCodeNode opens a node of cfg (DataDir set; DB too for PostgreSQL) with
// a simulated city of 2,000, tokens for 200 of its citizens, the server
// open, and each citizen's code asked once (every timed request a cache
// hit). Close the server, then the node.
func newCodeNode(env *bench.Env, cfg Config) (*node, []string, error) {
	cfg.Addr = "127.0.0.1:0"
	n, err := benchNodeWith(env, cfg, healthcode.SystemClock{})
	if err != nil {
		return nil, nil, err
	}
	tokens, err := func() ([]string, error) {
		city, err := sim.New(sim.Config{Seed: 5, People: 2000, Start: time.Now().UTC().Add(-6 * 24 * time.Hour)})
		if err != nil {
			return nil, err
		}
		if _, _, _, err := n.populate(env.Ctx, city, time.Now().UTC(), io.Discard); err != nil {
			return nil, err
		}
		var subjects []string
		for i := 0; i < 200; i++ {
			subjects = append(subjects, n.engine.Keys.Pseudonymize(city.Region, city.Person(i*7).IDNumber))
		}
		tokens, err := citizenTokens(env.Ctx, n, subjects)
		if err != nil {
			return nil, err
		}
		if err := n.server.Open("127.0.0.1:0"); err != nil {
			return nil, err
		}
		return tokens, warmEach(env, n.server.URL()+"/api/v1/me/code", tokens)
	}()
	if err != nil {
		n.server.Close(context.Background())
		n.close()
		return nil, nil, err
	}
	return n, tokens, nil
}

// checkInNode is a node ready for check-ins over HTTP: 2,000 registered
// citizens with tokens, active venues, the server open, and a trivial
// handler beside it.
type checkInNode struct {
	n       *node
	tokens  []string
	venues  []healthcode.Venue
	trivial *bench.Trivial
}

func newCheckInNode(env *bench.Env, name string, venues int) (*checkInNode, error) {
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(env.Dir, name)
	return newCheckInNodeWith(env, cfg, venues)
}

// newCheckInNodeWith is newCheckInNode on a node of cfg (DataDir set; DB
// too for PostgreSQL).
func newCheckInNodeWith(env *bench.Env, cfg Config, venues int) (*checkInNode, error) {
	cfg.Addr = "127.0.0.1:0"
	n, err := benchNodeWith(env, cfg, healthcode.SystemClock{})
	if err != nil {
		return nil, err
	}
	c := &checkInNode{n: n}
	if err := c.setUp(env, venues); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *checkInNode) setUp(env *bench.Env, venues int) error {
	n := c.n
	city, err := sim.New(sim.Config{Seed: 11, People: 2000})
	if err != nil {
		return err
	}
	if err := registerCity(env.Ctx, n, city); err != nil {
		return err
	}
	// 2,000 people cannot respect a person's rate at a bench's pace: the
	// figure is the write path's, so every scan here is a new row.
	n.engine.CheckInPolicy = healthcode.CheckInPolicy{PerHour: 1e12, Burst: 1 << 30}
	// Nor can 1,000 venues take a city's 25,000 scans a second within a
	// door's slot capacity (a city with that rate has tens of thousands
	// of venues): the capacity is out of reach here, so every live scan
	// stays verified, while its count (one read per venue and slot, then
	// kept in memory) is still on the path.
	n.engine.SlotCapacity = 1 << 30
	vs, err := activeVenues(env.Ctx, n, venues)
	if err != nil {
		return err
	}
	for _, v := range vs {
		c.venues = append(c.venues, *v)
	}
	var subjects []string
	for i := 0; i < city.Size; i++ {
		subjects = append(subjects, n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber))
	}
	if c.tokens, err = citizenTokens(env.Ctx, n, subjects); err != nil {
		return err
	}
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		return err
	}
	// Each citizen has opened the app before (their token checked and
	// their code issued, both cached), as the figure's 2,000 regulars
	// would have: the timed check-ins are the write path's, not the first
	// request's (that is code.get.cold).
	if err := warmEach(env, n.server.URL()+"/api/v1/me/code", c.tokens); err != nil {
		return err
	}
	c.trivial, err = bench.StartTrivial()
	return err
}

func (c *checkInNode) close() {
	if c.trivial != nil {
		c.trivial.Close()
	}
	c.n.server.Close(context.Background())
	c.n.close()
}

// post returns a request maker for a check-in with the body code(r) makes
// and a random citizen's token, to url (the node's or the trivial one).
func (c *checkInNode) post(ctx context.Context, url string, code func(*rand.Rand) string) func(*rand.Rand) *http.Request {
	return func(r *rand.Rand) *http.Request {
		body := fmt.Appendf(nil, `{"code":%q}`, code(r))
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.tokens[r.IntN(len(c.tokens))])
		req.Header.Set("Content-Type", "application/json")
		return req
	}
}

// checkInClients is how many phones check in at once: each waits for its
// check-in's commit, so the group commit needs many in flight to fill its
// batches.
const checkInClients = 256

// benchCheckInIngest measures acknowledged check-ins over HTTP with printed
// (static) venue codes: each one authenticated, its venue code checked,
// written with group commit and committed (synchronous=FULL) before the
// answer, against a trivial handler answering 200 bytes in the same process.
func benchCheckInIngest(env *bench.Env) (bench.Result, error) {
	c, err := newCheckInNode(env, "checkin", 50)
	if err != nil {
		return bench.Result{}, err
	}
	defer c.close()
	var codes []string
	for _, v := range c.venues {
		codes = append(codes, v.StaticCode())
	}
	code := func(r *rand.Rand) string { return codes[r.IntN(len(codes))] }
	p, refused, err := httpPairRefused(env, checkInClients, 201, http.StatusServiceUnavailable,
		c.post(env.Ctx, c.n.server.URL()+"/api/v1/checkins", code), c.post(env.Ctx, c.trivial.URL, code))
	r := p.Fill(bench.Result{Unit: "check-ins/s", Baseline: "trivial 200-byte handler", Target: 0.4})
	r.Extra = map[string]float64{"refused_503": float64(refused)}
	return r, err
}

// benchCheckInIngestLive measures acknowledged check-ins over HTTP with
// live venue codes, as phones scan them off a venue's screen: the code of
// the current 30-second slot, its HMAC checked against the venue's secret,
// the replay guard on (one check-in per person, venue and slot; every scan
// here is a new triple, as distinct phones' are), group commit, committed
// before the answer; against the trivial handler. The node's clock is the
// system's, so codes rotate during the run as they do at a venue.
func benchCheckInIngestLive(env *bench.Env) (bench.Result, error) {
	const venues = 1000
	c, err := newCheckInNode(env, "checkin-live", venues)
	if err != nil {
		return bench.Result{}, err
	}
	defer c.close()
	// Each scan takes the next (person, venue) pair: 2,000,000 of them,
	// more than a slot of 30 seconds sees at this rate, so the guard never
	// refuses one and every answer is 201 (a replay would be a 409 and end
	// the run).
	var next atomic.Int64
	var mu sync.Mutex
	codes := map[int64][]string{}
	liveCodes := func(slot int64) []string {
		mu.Lock()
		defer mu.Unlock()
		cs := codes[slot]
		if cs == nil {
			at := time.Unix(slot*int64(healthcode.VenueSlot/time.Second), 0)
			for _, v := range c.venues {
				cs = append(cs, v.LiveCode(at))
			}
			codes[slot] = cs
		}
		return cs
	}
	people := int64(len(c.tokens))
	newReq := func(url string) func(*rand.Rand) *http.Request {
		return func(*rand.Rand) *http.Request {
			i := next.Add(1)
			body := fmt.Appendf(nil, `{"code":%q}`, liveCodes(healthcode.SlotOf(time.Now()))[(i/people)%venues])
			req, _ := http.NewRequestWithContext(env.Ctx, "POST", url, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+c.tokens[i%people])
			req.Header.Set("Content-Type", "application/json")
			return req
		}
	}
	p, refused, err := httpPairRefused(env, checkInClients, 201, http.StatusServiceUnavailable, newReq(c.n.server.URL()+"/api/v1/checkins"), newReq(c.trivial.URL))
	if err != nil {
		return bench.Result{}, err
	}
	var verified int
	err = c.n.db.View(env.Ctx, func(tx healthcode.ReadTx) error {
		cs, err := tx.CheckIns(env.Ctx, healthcode.CheckInQuery{Venue: c.venues[0].ID, From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}, healthcode.CheckInCursor{}, 1000)
		for _, x := range cs {
			if x.Verified {
				verified++
			}
		}
		return err
	})
	if err != nil {
		return bench.Result{}, err
	}
	if verified == 0 {
		return bench.Result{}, fmt.Errorf("no check-in was verified: the figure did not measure live codes")
	}
	r := p.Fill(bench.Result{Unit: "check-ins/s", Baseline: "trivial 200-byte handler", Target: 0.45})
	r.Extra = map[string]float64{"refused_503": float64(refused)}
	return r, nil
}
