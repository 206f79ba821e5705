package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"path/filepath"

	"healthcode/bench"
	"healthcode/postgres"
)

// The *.postgres figures (issue 14): checkin.ingest, code.get and
// tlog.append measured on a node whose store is PostgreSQL, against the
// same figure on a node on SQLite set up the same way in the same run, the
// two alternating round by round. Each run creates a database of its own on
// the server --postgres names (HEALTHCODE_BENCH_POSTGRES) and drops it
// after; without one the figures are skipped.

// postgresConfig is a node's configuration on a new database of env's
// server (its data directory name under env.Dir), with the func that drops
// the database.
func postgresConfig(env *bench.Env, name string) (Config, func(), error) {
	if env.Postgres == "" {
		return Config{}, nil, bench.Skip("needs a PostgreSQL server: --postgres postgres://… (or HEALTHCODE_BENCH_POSTGRES)")
	}
	dbURL, drop, err := postgres.CreateDatabase(env.Ctx, env.Postgres, "healthcode_bench")
	if err != nil {
		return Config{}, nil, err
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.DB = filepath.Join(env.Dir, name+"-postgres"), dbURL
	return cfg, func() { drop(context.Background()) }, nil
}

func sqliteConfig(env *bench.Env, name string) Config {
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(env.Dir, name+"-sqlite")
	return cfg
}

const postgresBaseline = "the same figure on SQLite, same run"

// benchCheckInIngestPostgres is checkin.ingest (printed codes, 256 clients,
// group commit) on PostgreSQL against SQLite.
func benchCheckInIngestPostgres(env *bench.Env) (bench.Result, error) {
	pcfg, drop, err := postgresConfig(env, "checkin")
	if err != nil {
		return bench.Result{}, err
	}
	defer drop()
	nodes := make([]*checkInNode, 2)
	for i, cfg := range []Config{pcfg, sqliteConfig(env, "checkin")} {
		if nodes[i], err = newCheckInNodeWith(env, cfg, 50); err != nil {
			return bench.Result{}, err
		}
		defer nodes[i].close()
	}
	side := func(c *checkInNode) loadSide {
		codes := make([]string, len(c.venues))
		for i, v := range c.venues {
			codes[i] = v.StaticCode()
		}
		return loadSide{want: 201, refused: http.StatusServiceUnavailable,
			req: c.post(env.Ctx, c.n.server.URL()+"/api/v1/checkins", func(r *rand.Rand) string { return codes[r.IntN(len(codes))] })}
	}
	p, pr, sr, err := httpSides(env, checkInClients, side(nodes[0]), side(nodes[1]))
	r := p.Fill(bench.Result{Unit: "check-ins/s", Baseline: postgresBaseline})
	r.Extra = map[string]float64{"refused_503": float64(pr), "baseline_refused_503": float64(sr)}
	return r, err
}

// benchCodeGetPostgres is code.get (cached codes, 4 clients) on PostgreSQL
// against SQLite.
func benchCodeGetPostgres(env *bench.Env) (bench.Result, error) {
	pcfg, drop, err := postgresConfig(env, "code")
	if err != nil {
		return bench.Result{}, err
	}
	defer drop()
	var sides []loadSide
	for _, cfg := range []Config{pcfg, sqliteConfig(env, "code")} {
		n, tokens, err := newCodeNode(env, cfg)
		if err != nil {
			return bench.Result{}, err
		}
		defer n.close()
		defer n.server.Close(context.Background())
		sides = append(sides, loadSide{want: 200, req: getReq(env.Ctx, n.server.URL()+"/api/v1/me/code", tokens)})
	}
	p, _, _, err := httpSides(env, 4, sides[0], sides[1])
	return p.Fill(bench.Result{Unit: "requests/s", Baseline: postgresBaseline}), err
}

// benchTlogAppendPostgres is tlog.append's logged side (decisions with
// their log leaves in the same transaction) on PostgreSQL against SQLite.
func benchTlogAppendPostgres(env *bench.Env) (bench.Result, error) {
	pcfg, drop, err := postgresConfig(env, "tlog-append")
	if err != nil {
		return bench.Result{}, err
	}
	defer drop()
	var tas []*tlogAppender
	for _, cfg := range []Config{pcfg, sqliteConfig(env, "tlog-append")} {
		ta, err := newTlogAppender(env, cfg)
		if err != nil {
			return bench.Result{}, err
		}
		defer ta.n.close()
		tas = append(tas, ta)
	}
	parts := 2 * env.Rounds
	next := []int{0, 0}
	side := func(i int) func() (float64, error) {
		return func() (float64, error) {
			k := next[i]
			next[i]++
			return tas[i].write(tas[i].decisions[tlogAppendTotal*k/parts:tlogAppendTotal*(k+1)/parts], true)
		}
	}
	p, err := env.Alternate(side(0), side(1))
	return p.Fill(bench.Result{Unit: "decisions/s", Baseline: postgresBaseline}), err
}
