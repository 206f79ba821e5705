package pgcluster_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode/postgres/pgcluster"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestClusterFailover checks the harness and pg_auto_failover together,
// with plain SQL: writers commit pairs of rows (an entry and its hash, in
// one transaction) through the multi-host connection string; the primary
// is killed with SIGKILL; the standby is promoted and the writers go on
// through the same pool. Every acknowledged commit must then be on the new
// primary, both of its rows, and no row without its pair.
func TestClusterFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := pgcluster.ForTest(t, ctx)
	first, err := c.Primary(ctx)
	if err != nil || first == nil {
		t.Fatalf("no primary after Start: %v", err)
	}
	// The URL a node is given is the one pg_auto_failover prints, with a
	// user and without TLS.
	uri, err := c.FormationURI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if !strings.Contains(uri, fmt.Sprintf("127.0.0.1:%d", n.Port)) || !strings.Contains(uri, "target_session_attrs=read-write") {
			t.Fatalf("pg_autoctl show uri --formation default = %q, want both nodes and target_session_attrs=read-write", uri)
		}
	}
	pool, err := pgxpool.New(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE entry (id bigint PRIMARY KEY, body text NOT NULL);
		CREATE TABLE entry_hash (id bigint PRIMARY KEY, hash bytea NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	var (
		mu     sync.Mutex
		acked  []int64
		commit []time.Time
		failed int
	)
	write := func(id int64) error {
		body := fmt.Sprintf("entry %d", id)
		h := sha256.Sum256([]byte(body))
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO entry (id, body) VALUES ($1, $2)", id, body); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO entry_hash (id, hash) VALUES ($1, $2)", id, h[:])
			return err
		})
	}
	// The writers run until each has committed 50 times after the kill.
	const writers = 4
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := 0
			for seq := int64(0); after < 50 && ctx.Err() == nil; seq++ {
				id := int64(w)<<32 | seq
				err := write(id)
				mu.Lock()
				if err == nil {
					acked = append(acked, id)
					commit = append(commit, time.Now())
				} else {
					failed++
				}
				mu.Unlock()
				select {
				case <-killed:
					if err == nil {
						after++
					}
				default:
				}
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	// Kill once the writers have committed 200 times.
	for {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 200 || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Kill(first); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	close(killed)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the writers did not resume: %v", ctx.Err())
	}
	second, err := c.Primary(ctx)
	if err != nil || second == nil || second == first {
		t.Fatalf("primary after the kill: %v (%v), was %s", second, err, first.Name)
	}

	// Every acknowledged commit is there, whole; nothing is half there.
	conn, err := pgx.Connect(ctx, c.NodeURL(second))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(ctx, `SELECT coalesce(e.id, h.id), e.id IS NOT NULL, h.id IS NOT NULL
		FROM entry e FULL JOIN entry_hash h ON e.id = h.id`)
	present := map[int64]bool{}
	var id int64
	var hasEntry, hasHash bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &hasEntry, &hasHash}, func() error {
		if !hasEntry || !hasHash {
			return fmt.Errorf("commit %#x is half applied: entry %v, hash %v", id, hasEntry, hasHash)
		}
		present[id] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, id := range acked {
		if !present[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged commits are missing on the new primary %s", lost, len(acked), second.Name)
	}
	slices.SortFunc(commit, func(a, b time.Time) int { return a.Compare(b) })
	gap := time.Duration(0)
	for i := 1; i < len(commit); i++ {
		gap = max(gap, commit[i].Sub(commit[i-1]))
	}
	t.Logf("%d commits acknowledged, %d refused; %s primary → %s; longest time without a commit %.1f s (kill at +%.1f s)",
		len(acked), failed, first.Name, second.Name, gap.Seconds(), killedAt.Sub(commit[0]).Seconds())
	if failed == 0 {
		t.Error("no write failed: the kill did not interrupt the primary")
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}

	// The old primary's machine comes back: its keeper rejoins it as the
	// synchronous standby of the new primary (pg_rewind), and every
	// acknowledged commit is on it too.
	if err := c.Restart(first); err != nil {
		t.Fatal(err)
	}
	if p, err := c.WaitPrimary(ctx, nil); err != nil || p != second {
		t.Fatalf("after %s rejoined: primary %v (%v), want %s with %s its synchronous standby", first.Name, p, err, second.Name, first.Name)
	}
	conn, err = pgx.Connect(ctx, c.NodeURL(first))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM entry WHERE id = ANY($1)", acked).Scan(&n); err != nil || n != len(acked) {
		t.Fatalf("the rejoined standby holds %d of the %d acknowledged commits (%v)", n, len(acked), err)
	}
}
