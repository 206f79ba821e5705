package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/oversight"
	"healthcode/sim"
)

// lawfulPeople is the size of the city TestLawfulOutbreakRaisesNoAlert
// runs: the 100,000 (about 20 s here); HEALTHCODE_OVERSIGHT_PEOPLE
// overrides it.
func lawfulPeople(t *testing.T) int {
	if v := os.Getenv("HEALTHCODE_OVERSIGHT_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("HEALTHCODE_OVERSIGHT_PEOPLE=%q: %v", v, err)
		}
		return n
	}
	return 100_000
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
	tokens, later, replayer, err := n.populate(ctx, city, clock.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The demo leaves an appeal open for its operator to answer: answered,
	// as lawful work does (unanswered, it is an alert in time).
	for _, tok := range tokens {
		if tok.Role != healthcode.RoleOperator {
			continue
		}
		op, err := n.engine.Authenticate(ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		open, err := n.engine.Appeals(ctx, op, healthcode.AppealOpen)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range open {
			if _, err := n.engine.AnswerAppeal(ctx, op, a.ID, false, "the colour rests on the rules"); err != nil {
				t.Fatal(err)
			}
		}
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

// TestOversightRunCommand: `healthcode oversight run` on a node whose log
// was edited raises the integrity alert (its self-audit at open finds it),
// prints it (as JSON with --json), and a second run finds nothing new; bad
// usage is an error that changes nothing.
func TestOversightRunCommand(t *testing.T) {
	t.Parallel()
	tn := startNode(t, 1000)
	ctx := context.Background()
	for _, c := range [][]string{{"oversight"}, {"oversight", "walk"}, {"oversight", "run", "extra", "--data", tn.dir}} {
		if code, _, _ := runLine(t, c...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c, code, exitUsage)
		}
	}
	if code, _, errs := runLine(t, "oversight", "run", "--data", filepath.Join(tn.dir, "nowhere")); code != exitError || !strings.Contains(errs, "no node here") {
		t.Errorf("a directory with no node: %d %s", code, errs)
	}
	code, out, errs := runLine(t, "oversight", "run", "--data", tn.dir)
	if code != exitOK || !strings.Contains(out, "0 new alerts") {
		t.Fatalf("an untouched node: %d %s%s", code, out, errs)
	}
	var leaf []byte
	tn.db.View(ctx, func(tx healthcode.ReadTx) error { var err error; leaf, err = tx.LogLeaf(ctx, 0); return err })
	leaf[len(leaf)-1] ^= 1
	if err := tn.db.Exec(ctx, `UPDATE log_leaves SET data = ? WHERE leaf = 0`, leaf); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runLine(t, "oversight", "run", "--data", tn.dir, "--json")
	if code != exitOK {
		t.Fatalf("after the edit: %d %s%s", code, out, errs)
	}
	var a oversight.AlertPayload
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil || a.Detector != healthcode.DetectIntegrity || a.ID == 0 {
		t.Fatalf("printed %q: %+v %v", out, a, err)
	}
	if code, out, _ := runLine(t, "oversight", "run", "--data", tn.dir); code != exitOK || !strings.Contains(out, "0 new alerts") {
		t.Errorf("a second run: %d %s", code, out)
	}
	// The node's metrics count it open (from the store they share).
	resp, err := http.Get(tn.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`healthcode_oversight_alerts_open{detector="integrity"} 1`, `healthcode_oversight_alerts_open{detector="burst"} 0`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
