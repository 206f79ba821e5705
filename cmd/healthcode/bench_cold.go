package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// coldPerRound is how many citizens not seen before one round of a cold
// figure serves (fixed work: each is served once).
const coldPerRound = 2000

// coldNode is a node of a city with its outbreak (so that some people have
// decisions and evidence, most have none), a citizen's token for each of
// its people in a shuffled order, its server open and a trivial handler.
type coldNode struct {
	n       *node
	tokens  []string
	trivial *bench.Trivial
}

func newColdNode(env *bench.Env, name string, people int) (*coldNode, error) {
	n, err := benchNode(env, name, healthcode.SystemClock{})
	if err != nil {
		return nil, err
	}
	c := &coldNode{n: n}
	if err := c.setUp(env, people); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *coldNode) setUp(env *bench.Env, people int) error {
	n := c.n
	city, err := sim.New(sim.Config{Seed: 5, People: people, Start: time.Now().UTC().Add(-6 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	env.Logf("cold", "a city of %d with its outbreak, and a token for each…", people)
	if _, _, _, err := n.populate(env.Ctx, city, time.Now().UTC(), io.Discard); err != nil {
		return err
	}
	subjects := make([]string, people)
	for i := range subjects {
		subjects[i] = n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber)
	}
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(subjects), func(i, j int) { subjects[i], subjects[j] = subjects[j], subjects[i] })
	if c.tokens, err = citizenTokens(env.Ctx, n, subjects); err != nil {
		return err
	}
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		return err
	}
	c.trivial, err = bench.StartTrivial()
	return err
}

func (c *coldNode) close() {
	if c.trivial != nil {
		c.trivial.Close()
	}
	c.n.server.Close(context.Background())
	c.n.close()
}

// coldPair alternates rounds of coldPerRound requests to path, each by a
// citizen the node has not served before (tokens from *next on), with as
// many requests to the trivial handler.
func (c *coldNode) coldPair(env *bench.Env, conc int, path string, next *int) (bench.Pair, error) {
	nc, tc := bench.NewClient(conc), bench.NewClient(conc)
	defer nc.Close()
	defer tc.Close()
	fresh := func() (float64, error) {
		from := *next
		*next += coldPerRound
		return bench.LoadN(env.Ctx, nc, conc, coldPerRound, 200, func(i int) *http.Request {
			req, _ := http.NewRequestWithContext(env.Ctx, "GET", c.n.server.URL()+path, nil)
			req.Header.Set("Authorization", "Bearer "+c.tokens[from+i])
			return req
		})
	}
	trivial := func() (float64, error) {
		return bench.LoadN(env.Ctx, tc, conc, coldPerRound, 200, func(int) *http.Request {
			req, _ := http.NewRequestWithContext(env.Ctx, "GET", c.trivial.URL, nil)
			return req
		})
	}
	// Warm both (connections, the rule set), on citizens of their own.
	if _, err := fresh(); err != nil {
		return bench.Pair{}, err
	}
	if _, err := trivial(); err != nil {
		return bench.Pair{}, err
	}
	return env.Alternate(fresh, trivial)
}

// benchCodeGetCold measures code requests each by a citizen the node has
// not served before (token, person, decision or rules, evidence read from
// the database, the colour decided if due, the QR signed, the answer
// cached), against the trivial handler, over HTTP from 4 clients.
func benchCodeGetCold(env *bench.Env) (bench.Result, error) {
	c, err := newColdNode(env, "code-cold", coldPerRound*(env.Rounds+1))
	if err != nil {
		return bench.Result{}, err
	}
	defer c.close()
	next := 0
	p, err := c.coldPair(env, 4, "/api/v1/me/code", &next)
	return p.Fill(bench.Result{Unit: "requests/s", Baseline: "trivial 200-byte handler", Target: 0.3}), err
}

// benchQRPNG measures QR image requests (/api/v1/me/qr.png, the default
// size) over HTTP from 4 clients against the trivial handler: cached (200
// citizens asking again for the image of their current code: rendered once
// per issued code) as the figure's value, and cold (each request a citizen
// not seen before: code read, signed and the image rendered) in Extra,
// each alternating with the trivial handler.
func benchQRPNG(env *bench.Env) (bench.Result, error) {
	c, err := newColdNode(env, "qr-png", 200+coldPerRound*(env.Rounds+1))
	if err != nil {
		return bench.Result{}, err
	}
	defer c.close()
	const path = "/api/v1/me/qr.png"
	// Cached: each of the 200 has fetched their image once before.
	if err := warmEach(env, c.n.server.URL()+path, c.tokens[:200]); err != nil {
		return bench.Result{}, err
	}
	p, err := httpPair(env, 4, 200, getReq(env.Ctx, c.n.server.URL()+path, c.tokens[:200]), getReq(env.Ctx, c.trivial.URL, nil))
	if err != nil {
		return bench.Result{}, err
	}
	next := 200
	cold, err := c.coldPair(env, 4, path, &next)
	if err != nil {
		return bench.Result{}, err
	}
	r := p.Fill(bench.Result{Unit: "images/s", Baseline: "trivial 200-byte handler", Target: 0.5})
	cr := cold.Fill(bench.Result{})
	r.Extra = map[string]float64{"cold_per_s": cr.Value, "cold_min_per_s": cr.ValueMin, "cold_max_per_s": cr.ValueMax,
		"cold_ratio": cr.Ratio, "cold_target_per_s": 2000}
	return r, nil
}

// warmEach requests url once as each of tokens, so that the measured
// requests that follow are what the figure says they are (cache hits).
func warmEach(env *bench.Env, url string, tokens []string) error {
	c := bench.NewClient(4)
	defer c.Close()
	_, err := bench.LoadN(env.Ctx, c, 4, len(tokens), 200, func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(env.Ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i])
		return req
	})
	return err
}
