package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
	"healthcode/tlog"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// benchTlogAppend writes decisions in batches with their log leaves (leaf,
// stored hashes and subject opening in the same transaction), against the
// same decisions written without the log, in the same run: the decisions
// are cut into two parts per round, alternating, so that neither side
// always meets the larger table.
func benchTlogAppend(env *bench.Env) (bench.Result, error) {
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(env.Dir, "tlog-append")
	ta, err := newTlogAppender(env, cfg)
	if err != nil {
		return bench.Result{}, err
	}
	defer ta.n.close()
	parts := 2 * env.Rounds
	next := 0
	side := func(logged bool) func() (float64, error) {
		return func() (float64, error) {
			k := next
			next++
			return ta.write(ta.decisions[tlogAppendTotal*k/parts:tlogAppendTotal*(k+1)/parts], logged)
		}
	}
	p, err := env.Alternate(side(true), side(false))
	return p.Fill(bench.Result{Unit: "decisions/s", Baseline: "the same decisions without the log", Target: 0.5}), err
}

// tlogAppendTotal is how many decisions tlog.append writes in all, in
// batches of tlogAppendBatch per transaction.
const tlogAppendTotal, tlogAppendBatch = 60_000, 2000

// tlogAppender is a node of 10,000 registered people and the decisions
// tlog.append writes for them.
type tlogAppender struct {
	env       *bench.Env
	n         *node
	region    string
	decisions []*healthcode.Decision
}

func newTlogAppender(env *bench.Env, cfg Config) (*tlogAppender, error) {
	clock := healthcode.NewManualClock(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	cfg.Addr = "127.0.0.1:0"
	n, err := benchNodeWith(env, cfg, clock)
	if err != nil {
		return nil, err
	}
	city, err := sim.New(sim.Config{Seed: 9, People: 10_000})
	if err == nil {
		err = registerCity(env.Ctx, n, city)
	}
	if err != nil {
		n.close()
		return nil, err
	}
	ta := &tlogAppender{env: env, n: n, region: city.Region, decisions: make([]*healthcode.Decision, tlogAppendTotal)}
	for i := range ta.decisions {
		c := city.Person(i % city.Size)
		ta.decisions[i] = &healthcode.Decision{Subject: n.engine.Keys.Pseudonymize(city.Region, c.IDNumber), Colour: healthcode.Colour(1 + i%3),
			Reason: "bench", RuleID: "bench", RuleSetVersion: "bench", RuleSetHash: strings.Repeat("ab", 32),
			EvidenceDigest: strings.Repeat("cd", 32), ReviewAt: clock.Now(), DecidedAt: clock.Now(), Actor: "rules:bench"}
	}
	return ta, nil
}

// write stores ds, with their log leaves in the same transactions if
// logged, and returns decisions per second.
func (ta *tlogAppender) write(ds []*healthcode.Decision, logged bool) (float64, error) {
	ctx := ta.env.Ctx
	lg := &tlog.Log{}
	start := time.Now()
	for i := 0; i < len(ds); i += tlogAppendBatch {
		err := ta.n.db.Update(ctx, func(tx healthcode.Tx) error {
			next, err := tx.LogSize(ctx)
			if err != nil {
				return err
			}
			var entries []*healthcode.LogEntry
			for _, d := range ds[i:min(i+tlogAppendBatch, len(ds))] {
				if logged {
					e := &healthcode.LogEntry{Index: next, Type: healthcode.LogDecision, Time: d.DecidedAt, Region: ta.region,
						Subject: d.Subject, Colour: d.Colour, Reason: d.Reason, RuleID: d.RuleID, RuleSetHash: d.RuleSetHash,
						EvidenceDigest: d.EvidenceDigest, ActorName: d.Actor, ActorRole: healthcode.RoleSystem, Ref: "ruleset/bench"}
					d.LogIndex, next = next, next+1
					entries = append(entries, e)
				}
				if err := tx.PutDecision(ctx, d); err != nil {
					return err
				}
			}
			return lg.Append(ctx, tx, entries)
		})
		if err != nil {
			return 0, err
		}
	}
	return float64(len(ds)) / time.Since(start).Seconds(), nil
}

// benchTlogProve measures the p99 latency of an inclusion proof from the
// store at a tree of a million leaves (ten million under --scale), against
// the p99 of reading one stored hash from the same store; each round's
// samples alternate proof and read.
func benchTlogProve(env *bench.Env) (bench.Result, error) {
	clock := healthcode.NewManualClock(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	n, err := benchNode(env, "tlog-prove", clock)
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	size := int64(1_000_000)
	if env.Scale {
		size = 10_000_000
	}
	env.Logf("tlog.prove", "building a log of %d leaves…", size)
	lg := &tlog.Log{}
	const batch = 20_000
	for done := int64(0); done < size; {
		err := n.db.Update(env.Ctx, func(tx healthcode.Tx) error {
			next, err := tx.LogSize(env.Ctx)
			if err != nil {
				return err
			}
			entries := make([]*healthcode.LogEntry, 0, batch)
			for i := int64(0); i < batch && next+i < size; i++ {
				entries = append(entries, &healthcode.LogEntry{Index: next + i, Type: healthcode.LogKey, Time: clock.Now(), Region: "410100",
					ActorName: "bench", ActorRole: healthcode.RoleAdmin, Ref: "key/" + strconv.FormatInt(next+i, 10)})
			}
			done = next + int64(len(entries))
			return lg.Append(env.Ctx, tx, entries)
		})
		if err != nil {
			return bench.Result{}, err
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const samples = 1000 // per round
	var proofs, reads bench.Side
	for range env.Rounds {
		ps := make([]time.Duration, samples)
		rs := make([]time.Duration, samples)
		for i := range samples {
			idx := r.Int64N(size)
			t := time.Now()
			err := n.db.View(env.Ctx, func(tx healthcode.ReadTx) error {
				_, err := tlog.InclusionProof(idx, size, tlog.StoreHashReader(env.Ctx, tx))
				return err
			})
			ps[i] = time.Since(t)
			if err != nil {
				return bench.Result{}, err
			}
			t = time.Now()
			err = n.db.View(env.Ctx, func(tx healthcode.ReadTx) error {
				_, err := tx.LogHashes(env.Ctx, []int64{xtlog.StoredHashIndex(0, idx)})
				return err
			})
			rs[i] = time.Since(t)
			if err != nil {
				return bench.Result{}, err
			}
		}
		proofs, reads = append(proofs, bench.P99(ps)), append(reads, bench.P99(rs))
	}
	if len(proofs) == 0 {
		return bench.Result{}, fmt.Errorf("no round")
	}
	return bench.Pair{Value: proofs, Baseline: reads}.Fill(bench.Result{Unit: "ms p99", Baseline: "one stored-hash read, p99", Lower: true}), nil
}
