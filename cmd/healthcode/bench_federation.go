package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/federation"
	"healthcode/sim"
	"healthcode/tlog"
)

// fedBenchNode opens a node of region in the bench's temp dir, with a node
// key and an endpoint for its peers on 127.0.0.1.
func fedBenchNode(env *bench.Env, region, national string) (*node, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.Region = filepath.Join(env.Dir, "federation-"+region), "127.0.0.1:0", region
	cfg.FederationAddr, cfg.TrustListURL, cfg.NationalKey = "127.0.0.1:0", "http://127.0.0.1:1/unused", national
	cfg.PeerRate, cfg.PeerBurst = 1e6, 1e6
	n, err := benchNodeWith(env, cfg, healthcode.SystemClock{})
	if err != nil {
		return nil, err
	}
	if err := n.listenFederation(); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// fedBenchPair opens the two nodes of federation.status: A (410100) with a
// city and its outbreak, serving its peers on 127.0.0.1, and B (370100),
// bound to it by one trust list; and codes of A's decided travellers. done
// closes both.
func fedBenchPair(env *bench.Env) (a, b *node, codes []string, done func(), err error) {
	var closers []func()
	done = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*node, *node, []string, func(), error) {
		done()
		return nil, nil, nil, nil, err
	}
	skey, vkey, err := tlog.GenerateKey(rand.Reader, "national.bench")
	if err != nil {
		return fail(err)
	}
	natSigner, err := tlog.ParseSigner(skey)
	if err != nil {
		return fail(err)
	}
	natFile := filepath.Join(env.Dir, "national.pub")
	if err := writeFileReplacing(natFile, []byte(vkey+"\n"), 0o644); err != nil {
		return fail(err)
	}
	a, err = fedBenchNode(env, "410100", natFile)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { a.close() })
	b, err = fedBenchNode(env, "370100", natFile)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { b.close() })
	now := time.Now().UTC()
	ea, err := a.regionEntry("郑州市", a.federationEndpoint(), now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return fail(err)
	}
	eb, err := b.regionEntry("济南市", b.federationEndpoint(), now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return fail(err)
	}
	list, err := federation.SignTrustList(&federation.TrustList{Serial: 1, Issued: now, Expires: now.Add(24 * time.Hour),
		Regions: []federation.Region{ea, eb}}, natSigner)
	if err != nil {
		return fail(err)
	}
	for _, n := range []*node{a, b} {
		if _, err := n.fed.cache.Offer(list); err != nil {
			return fail(err)
		}
	}
	go a.fed.server.Serve(a.fed.ln)
	closers = append(closers, func() { a.fed.server.Shutdown(context.Background()) })

	// A's travellers: a city with its outbreak, so that colours rest on
	// logged decisions; a checkpoint covering them.
	city, err := sim.New(sim.Config{Seed: 5, People: 2000, Region: "410100", Start: now.Add(-6 * 24 * time.Hour)})
	if err != nil {
		return fail(err)
	}
	if _, _, _, err := a.populate(env.Ctx, city, now, io.Discard); err != nil {
		return fail(err)
	}
	if _, err := a.log.Publish(env.Ctx, now); err != nil {
		return fail(err)
	}
	err = a.db.View(env.Ctx, func(tx healthcode.ReadTx) error {
		ps, err := tx.Pseudonyms(env.Ctx, "", 2000)
		if err != nil {
			return err
		}
		ds, err := tx.DecisionsOf(env.Ctx, ps)
		if err != nil {
			return err
		}
		for _, p := range ps {
			d := ds[p]
			if d == nil || len(codes) == 200 {
				continue
			}
			code, err := a.codes.SignCode(&healthcode.HealthCode{Region: "410100", Subject: p, MaskedName: "张*明", Colour: d.Colour,
				IssuedAt: now, Expires: now.Add(time.Hour), RuleSetVersion: d.RuleSetVersion})
			if err != nil {
				return err
			}
			codes = append(codes, code)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if len(codes) == 0 {
		return fail(fmt.Errorf("no decided traveller in the city"))
	}
	return a, b, codes, done, nil
}

// benchFederationStatus measures cross-region status queries between two
// nodes on 127.0.0.1 (B verifies the traveller's code of A offline, asks A
// over mutual TLS, A verifies the code, reads the colour, proves its log
// entry, logs the answer and signs it; B checks signature, nonce, proof and
// opened entry, applies its policy and logs the query) against the same
// query answered locally (A's answer, in process: no network, no B), and
// reports the cross-region p99.
func benchFederationStatus(env *bench.Env) (bench.Result, error) {
	a, b, codes, done, err := fedBenchPair(env)
	if err != nil {
		return bench.Result{}, err
	}
	defer done()
	local := func(i int) error {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		_, err := a.fed.server.Answer(env.Ctx, &federation.Query{From: "370100", Code: codes[i%len(codes)], Nonce: base64.StdEncoding.EncodeToString(nonce)})
		return err
	}
	remote := func(i int) error {
		_, err := b.fed.client.Status(env.Ctx, codes[i%len(codes)])
		return err
	}
	// Warm both, then alternate; the p99 is the remote calls' of every
	// round.
	d := env.RoundDur()
	if _, _, err := bench.LoadLatency(env.Ctx, 4, min(d, time.Second), remote); err != nil {
		return bench.Result{}, err
	}
	var lat []time.Duration
	p, err := env.Alternate(func() (float64, error) {
		v, l, err := bench.LoadLatency(env.Ctx, 4, d, remote)
		lat = append(lat, l...)
		return v, err
	}, func() (float64, error) {
		v, _, err := bench.LoadLatency(env.Ctx, 4, d, local)
		return v, err
	})
	if err != nil {
		return bench.Result{}, err
	}
	return p.Fill(bench.Result{Unit: "queries/s", Baseline: "the same query answered locally (no TLS, no peer)",
		Target: 0.3, P99Ms: bench.P99(lat), P99TargetMs: 50}), nil
}
