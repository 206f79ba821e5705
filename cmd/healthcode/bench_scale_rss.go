package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"

	"healthcode/bench"
)

// rssPeople is how many of the city's people (at most a tenth) ask for their code (each
// once, then again at random) in the serving process of city.rss_peak.
const rssPeople = 10_000

// servingRSS measures city.rss_peak: the peak resident memory of a node
// started on the built city in a process of its own (`healthcode serve` on
// the city's directory and database, as an operator starts it), while it
// serves rssPeople people's first code requests, their cached codes and
// check-ins at the city's venues. The process that built the city holds its
// build's heap and caches; a node started on the city holds only what
// serving needs. tokens are citizens' tokens of the city, made before the
// building process closed its node; buildPeak is that process's own peak
// while it served (reported beside, as extra.build_process_peak_mib).
func (b *cityBench) servingRSS(tokens []string, buildPeakMiB float64) error {
	ctx := b.env.Ctx
	// Every check-in adds a row (a repeat within the window would answer
	// 200 with the earlier one: few people, many requests).
	extra := []string{"--checkin-rate", "3600", "--checkin-burst", "1000", "--checkin-repeat", "0"}
	if *b.flags.db != "" {
		extra = append(extra, "--db", b.n.cfg.DB)
	}
	c, err := startChild(b.n.cfg.DataDir, extra...)
	if err != nil {
		return fmt.Errorf("city.rss_peak: %w", err)
	}
	defer c.stop()
	startKiB, _ := c.rssKiB()
	const conc = 8
	cl := bench.NewClient(conc)
	defer cl.Close()
	get := func(tok string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.url()+"/api/v1/me/code", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	if _, err := bench.LoadN(ctx, cl, conc, len(tokens), 200, func(i int) *http.Request { return get(tokens[i]) }); err != nil {
		return fmt.Errorf("city.rss_peak: cold codes: %w: %.2000s", err, c.logs.String())
	}
	if _, err := bench.Load(ctx, cl, conc, b.env.Dur, 200, func(r *rand.Rand) *http.Request { return get(tokens[r.IntN(len(tokens))]) }); err != nil {
		return fmt.Errorf("city.rss_peak: cached codes: %w: %.2000s", err, c.logs.String())
	}
	var bodies [][]byte
	for _, v := range b.live {
		bodies = append(bodies, fmt.Appendf(nil, `{"code":%q}`, v.StaticCode()))
	}
	if _, err := bench.Load(ctx, cl, conc, b.env.Dur, 201, func(r *rand.Rand) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", c.url()+"/api/v1/checkins", bytes.NewReader(bodies[r.IntN(len(bodies))]))
		req.Header.Set("Authorization", "Bearer "+tokens[r.IntN(len(tokens))])
		req.Header.Set("Content-Type", "application/json")
		return req
	}); err != nil {
		return fmt.Errorf("city.rss_peak: check-ins: %w: %.2000s", err, c.logs.String())
	}
	_, peakKiB := c.rssKiB()
	if peakKiB == 0 {
		return fmt.Errorf("city.rss_peak: the serving process's memory is read from /proc (Linux only)")
	}
	peak := float64(peakKiB) / 1024
	b.emit(bench.Result{Name: "city.rss_peak", Value: peak, Unit: "MiB", Baseline: "the 1 GiB target", BaselineValue: 1024, Ratio: 1024 / peak, Lower: true,
		Extra: map[string]float64{"rss_at_start_mib": float64(startKiB) / 1024, "build_process_peak_mib": buildPeakMiB}})
	return nil
}
