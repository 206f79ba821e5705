package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"healthcode"
	"healthcode/federation"
	"healthcode/sim"
)

// TestFederationSimulation runs HEALTHCODE_FEDERATION_SIM nodes (regions)
// in this process, bound by one trust list, each with a city of 1,000 people
// and its outbreak, and sends travellers between them: each trip, the
// destination asks the traveller's home region for their colour (mutual
// TLS, signed answer, log proof, both logs). It prints what docs/federation.md
// quotes: trust-list size, bytes per query, queries/s, latency, CPU per
// query. Skipped unless the variable is set (it takes minutes).
func TestFederationSimulation(t *testing.T) {
	nodes, _ := strconv.Atoi(os.Getenv("HEALTHCODE_FEDERATION_SIM"))
	if nodes < 2 {
		t.Skip("set HEALTHCODE_FEDERATION_SIM=20 to run the simulation")
	}
	ctx := context.Background()
	pub := newNationalPublisher(t)
	// Region codes: prefecture seats of distinct provinces, then more.
	var regions []string
	for p := 11; len(regions) < nodes; p++ {
		if p > 82 {
			t.Fatal("too many nodes")
		}
		if p%10 == 0 || p%10 > 5 {
			continue
		}
		regions = append(regions, fmt.Sprintf("%d0100", p))
	}
	start := time.Now()
	ns := make([]*testNode, len(regions))
	var entries []federation.Region
	for i, r := range regions {
		ns[i] = startRegionNodeCity(t, r, 1000, pub, nil, false)
		// Real clocks: answers are checked for freshness across nodes.
		ns[i].clock.Set(time.Now())
		entries = append(entries, ns[i].entry(t, "region "+r))
	}
	list := pub.publish(t, t0, entries...)
	for _, n := range ns {
		n.fetch(t)
	}
	t.Logf("%d nodes up in %s; trust list %d bytes (%d per region)", len(ns), time.Since(start).Round(time.Second), len(list), len(list)/len(ns))

	// Travellers: for each region, people with a logged decision (colours
	// from the city's outbreak), each with a QR.
	type traveller struct {
		home int
		qr   string
	}
	var travellers []traveller
	for i, n := range ns {
		city, err := sim.New(sim.Config{Seed: uint64(5 + i), People: 1000, Region: n.cfg.Region, Start: n.clock.Now().Add(-6 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := n.populate(ctx, city, n.clock.Now(), io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := n.log.Publish(ctx, n.clock.Now()); err != nil {
			t.Fatal(err)
		}
		var ps []string
		n.db.View(ctx, func(tx healthcode.ReadTx) error {
			all, err := tx.Pseudonyms(ctx, "", 1000)
			if err != nil {
				return err
			}
			ds, err := tx.DecisionsOf(ctx, all)
			for _, p := range all {
				if ds[p] != nil {
					ps = append(ps, p)
				}
			}
			return err
		})
		for _, p := range ps[:min(len(ps), 50)] {
			d, err := n.engine.Code(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			code, err := n.codes.SignCode(&healthcode.HealthCode{Region: n.cfg.Region, Subject: p, MaskedName: "张*明", Colour: d.Decision.Colour,
				IssuedAt: n.clock.Now(), Expires: n.clock.Now().Add(time.Hour), RuleSetVersion: d.Decision.RuleSetVersion})
			if err != nil {
				t.Fatal(err)
			}
			travellers = append(travellers, traveller{home: i, qr: code})
		}
	}
	t.Logf("%d travellers with logged colours", len(travellers))

	// Trips: each worker picks a traveller and a destination other than
	// home; the destination asks home.
	const workers = 8
	d := 20 * time.Second
	var mu sync.Mutex
	var lat []time.Duration
	var answerBytes, queries, honoured, refused, green int64
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for time.Now().Before(deadline) {
				tr := travellers[r.IntN(len(travellers))]
				dest := r.IntN(len(ns) - 1)
				if dest >= tr.home {
					dest++
				}
				t0 := time.Now()
				st, err := ns[dest].fed.client.Status(ctx, tr.qr)
				if err != nil {
					t.Error(err)
					return
				}
				el := time.Since(t0)
				mu.Lock()
				lat = append(lat, el)
				answerBytes += int64(len(st.Answer))
				queries++
				switch st.Outcome {
				case healthcode.PeerHonoured:
					honoured++
				case healthcode.PeerGreen:
					green++
				default:
					refused++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	if queries == 0 {
		t.Fatal("no query completed")
	}
	slices.Sort(lat)
	q := func(p int) time.Duration { return lat[len(lat)*p/100].Round(100 * time.Microsecond) }
	queryBytes := len(`{"from":"370100","code":"`) + len(travellers[0].qr) + len(`","nonce":"AAAAAAAAAAAAAAAAAAAAAA=="}`)
	t.Logf("%d queries in %s between %d nodes (%d workers): %.1f/s; p50 %s p99 %s; CPU %.2f ms per query (both sides); query %d bytes, answer %d bytes on average; honoured %d, green %d, refused %d",
		queries, d, len(ns), workers, float64(queries)/d.Seconds(), q(50), q(99), float64(cpu.Microseconds())/1000/float64(queries),
		queryBytes, answerBytes/queries, honoured, green, refused)
}
