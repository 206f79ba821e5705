package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/postgres/pgcluster"
)

// The node on a PostgreSQL primary with a synchronous standby, managed by
// pg_auto_failover, connected by a multi-host URL: it takes citizens'
// check-ins and a lab's results from several clients; the primary is
// killed (SIGKILL, keeper and postgres); pg_auto_failover promotes the
// standby. Then every write the node acknowledged is there; every request
// it could not serve was answered 503 with Retry-After (never a 500, never
// a dropped connection); it took writes again by itself, without a
// restart; and the log verifies, from the database, against a checkpoint
// signed before the kill (no acknowledged entry lost, nothing half
// applied: each evidence row and decision has its leaf).
func TestFailoverRidesThrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cluster := pgcluster.ForTest(t, ctx)
	t.Logf("cluster up in %.1f s", time.Since(start).Seconds())
	first, err := cluster.Primary(ctx)
	if err != nil || first == nil {
		t.Fatalf("no primary: %v", err)
	}
	const people = 1000
	tn := startNodeOn(t, people, t0, cluster.URL())
	t.Logf("node up at %.1f s", time.Since(start).Seconds())
	load, err := startFailoverLoad(ctx, tn.node, tn.city, people)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load started at %.1f s", time.Since(start).Seconds())
	// Writes, a checkpoint of them, more writes; then the kill.
	load.waitAcked(ctx, 100)
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	before := filepath.Join(t.TempDir(), "checkpoint")
	copyFile(t, filepath.Join(tn.dir, "checkpoint"), before)
	load.waitEach(ctx, 40)
	if err := cluster.Kill(first); err != nil {
		t.Fatal(err)
	}
	load.kill()
	t.Logf("primary killed at %.1f s", time.Since(start).Seconds())
	load.wait()
	t.Log(load.summary())
	if ctx.Err() != nil {
		t.Fatalf("the node took no writes again after the failover: %v", ctx.Err())
	}
	second, err := cluster.Primary(ctx)
	if err != nil || second == nil || second == first {
		t.Fatalf("primary after the kill: %v (%v), was %s", second, err, first.Name)
	}
	if err := load.check(ctx, tn.db); err != nil {
		t.Error(err)
	}
	t.Logf("checked at %.1f s", time.Since(start).Seconds())
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatalf("publish after the failover: %v", err)
	}
	key := filepath.Join(tn.dir, "log-signing.pub")
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", before, cluster.URL()); code != exitOK {
		t.Fatalf("log verify after the failover: exit %d\n%s%s", code, out, errs)
	}
	if err := tn.log.Audit(ctx); err != nil {
		t.Fatalf("the node's own audit after the failover: %v", err)
	}
	if st, body := tn.healthz(t); st != http.StatusOK || strings.Contains(body, "degraded") {
		t.Fatalf("/healthz after the failover = %d %s", st, body)
	}

	// A backup of the new primary, restored elsewhere, is checked against
	// the published checkpoint as docs/scaling.md says: it holds the
	// checkpoint published when it was taken; a checkpoint published after
	// more writes, which the backup lacks, finds it short.
	published := filepath.Join(t.TempDir(), "checkpoint")
	copyFile(t, filepath.Join(tn.dir, "checkpoint"), published)
	restored, err := cluster.Restore(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", published, restored); code != exitOK || !strings.Contains(out, "OK: ") {
		t.Fatalf("log verify of the restored backup against the checkpoint published when it was taken: exit %d\n%s%s", code, out, errs)
	}
	lab := tn.token(t, healthcode.Principal{ID: "failover-lab-after", Name: "检测所", Role: healthcode.RoleLab, Unit: "检测所 检验科"})
	_, id, _ := tn.citizen(t, people-1)
	tn.submit(t, lab, evidence("nucleic_acid_test", id, "FO-AFTER", "negative"))
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", filepath.Join(tn.dir, "checkpoint"), restored); code != exitError || !strings.Contains(errs, "FAILED") {
		t.Fatalf("log verify of a backup older than the published checkpoint: exit %d, want %d\n%s%s", code, exitError, out, errs)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
