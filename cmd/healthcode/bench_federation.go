package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"healthcode"
	"healthcode/federation"
	"healthcode/sim"
	"healthcode/tlog"
)

// fedBenchNode opens a node of region in the bench's temp dir, with a node
// key and an endpoint for its peers on 127.0.0.1.
func fedBenchNode(env *benchEnv, region, national string) (*node, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.Region = filepath.Join(env.dir, "federation-"+region), "127.0.0.1:0", region
	cfg.FederationAddr, cfg.TrustListURL, cfg.NationalKey = "127.0.0.1:0", "http://127.0.0.1:1/unused", national
	cfg.PeerRate, cfg.PeerBurst = 1e6, 1e6
	if err := cfg.finish(); err != nil {
		return nil, err
	}
	n, err := openNode(env.ctx, cfg, healthcode.SystemClock{}, io.Discard)
	if err != nil {
		return nil, err
	}
	if err := n.publishBaselineIfNone(env.ctx); err != nil {
		n.close()
		return nil, err
	}
	if err := n.listenFederation(); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// benchFederationStatus measures cross-region status queries between two
// nodes on 127.0.0.1 (B verifies the traveller's code of A offline, asks A
// over mutual TLS, A verifies the code, reads the colour, proves its log
// entry, logs the answer and signs it; B checks signature, nonce, proof and
// opened entry, applies its policy and logs the query) against the same
// query answered locally (A's answer, in process: no network, no B), and
// reports the cross-region p99.
func benchFederationStatus(env *benchEnv) (figure, error) {
	skey, vkey, err := tlog.GenerateKey(rand.Reader, "national.bench")
	if err != nil {
		return figure{}, err
	}
	natSigner, err := tlog.ParseSigner(skey)
	if err != nil {
		return figure{}, err
	}
	natFile := filepath.Join(env.dir, "national.pub")
	if err := writeFileReplacing(natFile, []byte(vkey+"\n"), 0o644); err != nil {
		return figure{}, err
	}
	a, err := fedBenchNode(env, "410100", natFile)
	if err != nil {
		return figure{}, err
	}
	defer a.close()
	b, err := fedBenchNode(env, "370100", natFile)
	if err != nil {
		return figure{}, err
	}
	defer b.close()
	now := time.Now().UTC()
	ea, err := a.regionEntry("郑州市", a.federationEndpoint(), now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return figure{}, err
	}
	eb, err := b.regionEntry("济南市", b.federationEndpoint(), now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return figure{}, err
	}
	list, err := federation.SignTrustList(&federation.TrustList{Serial: 1, Issued: now, Expires: now.Add(24 * time.Hour),
		Regions: []federation.Region{ea, eb}}, natSigner)
	if err != nil {
		return figure{}, err
	}
	for _, n := range []*node{a, b} {
		if _, err := n.fed.cache.Offer(list); err != nil {
			return figure{}, err
		}
	}
	go a.fed.server.Serve(a.fed.ln)
	defer a.fed.server.Shutdown(context.Background())

	// A's travellers: a city with its outbreak, so that colours rest on
	// logged decisions; a checkpoint covering them.
	city, err := sim.New(sim.Config{Seed: 5, People: 2000, Region: "410100", Start: now.Add(-6 * 24 * time.Hour)})
	if err != nil {
		return figure{}, err
	}
	if _, _, _, err := a.populate(env.ctx, city, now, io.Discard); err != nil {
		return figure{}, err
	}
	if _, err := a.log.Publish(env.ctx, now); err != nil {
		return figure{}, err
	}
	var codes []string
	err = a.db.View(env.ctx, func(tx healthcode.ReadTx) error {
		ps, err := tx.Pseudonyms(env.ctx, "", 2000)
		if err != nil {
			return err
		}
		ds, err := tx.DecisionsOf(env.ctx, ps)
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
		return figure{}, err
	}
	if len(codes) == 0 {
		return figure{}, fmt.Errorf("no decided traveller in the city")
	}
	local := func(i int) error {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		_, err := a.fed.server.Answer(env.ctx, &federation.Query{From: "370100", Code: codes[i%len(codes)], Nonce: base64.StdEncoding.EncodeToString(nonce)})
		return err
	}
	remote := func(i int) error {
		_, err := b.fed.client.Status(env.ctx, codes[i%len(codes)])
		return err
	}
	// Warm both, then measure each.
	if _, _, err := statusLoad(env.ctx, 4, env.dur/3, remote); err != nil {
		return figure{}, err
	}
	base, _, err := statusLoad(env.ctx, 4, env.dur, local)
	if err != nil {
		return figure{}, err
	}
	v, p99, err := statusLoad(env.ctx, 4, env.dur, remote)
	if err != nil {
		return figure{}, err
	}
	return figure{Value: v, Unit: "queries/s", Baseline: "the same query answered locally (no TLS, no peer)", BaselineValue: base,
		Ratio: v / base, Target: 0.3, P99Ms: float64(p99.Microseconds()) / 1000, P99TargetMs: 50}, nil
}

// statusLoad runs do from conc goroutines for d and returns calls per
// second and the 99th percentile latency.
func statusLoad(ctx context.Context, conc int, d time.Duration, do func(i int) error) (float64, time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var mine []time.Duration
			for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i += conc {
				start := time.Now()
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("no call completed in %s", d)
	}
	slices.Sort(lat)
	return float64(len(lat)) / d.Seconds(), lat[(len(lat)*99)/100], nil
}
