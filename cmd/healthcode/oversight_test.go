package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"healthcode"
	"healthcode/sim"
)

// lawfulPeople is the size of the city TestLawfulOutbreakRaisesNoAlert
// runs (HEALTHCODE_OVERSIGHT_PEOPLE overrides it: 100000 is the issue's).
func lawfulPeople(t *testing.T) int {
	if v := os.Getenv("HEALTHCODE_OVERSIGHT_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("HEALTHCODE_OVERSIGHT_PEOPLE=%q: %v", v, err)
		}
		return n
	}
	return 20_000
}

// TestLawfulOutbreakRaisesNoAlert: the sim's lawful outbreak — cases,
// contacts confirmed by a second epidemiologist, travellers, a mass testing
// round, a suspected case — raises no oversight alert: the past of it
// submitted at once as the demo does, the rest event by event as its time
// comes, with a pass of the detectors after each.
func TestLawfulOutbreakRaisesNoAlert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	people := lawfulPeople(t)
	city, err := sim.New(sim.Config{Seed: 11, People: people, Region: cfg.Region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	clock := healthcode.NewManualClock(t0.Add(30 * time.Hour))
	n, err := openNode(ctx, cfg, clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	start := time.Now()
	_, later, replayer, err := n.populate(ctx, city, clock.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d people, the past of the outbreak populated in %s; %d events to come", people, time.Since(start).Round(time.Millisecond), len(later))
	var alerts []healthcode.Alert
	pass := func() {
		t.Helper()
		as, err := n.oversight.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, as...)
	}
	pass()
	refused := 0
	replayer.OnRefused = func(ev sim.Event, err error) {
		refused++
		t.Errorf("the node refused %s: %v", ev.Note, err)
	}
	for _, ev := range later {
		if ev.At.After(clock.Now()) {
			pass()
			clock.Set(ev.At)
		}
		if err := replayer.Replay(ctx, []sim.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(healthcode.AppealDeadline)
	pass()
	for _, a := range alerts {
		t.Errorf("false alert %d [%s] %s: officials %v, %d people", a.ID, a.Detector, a.Summary, a.Officials, len(a.People))
	}
	var size int64
	n.db.View(ctx, func(tx healthcode.ReadTx) error { size, _ = tx.LogSize(ctx); return nil })
	t.Logf("%d log entries watched in %s, %d alerts", size, time.Since(start).Round(time.Millisecond), len(alerts))
}
