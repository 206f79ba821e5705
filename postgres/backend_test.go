package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
	"healthcode/postgres"
	"healthcode/postgres/pgtest"
	"healthcode/storetest"

	"github.com/jackc/pgx/v5"
)

// Tests of what is PostgreSQL's own: the log's indexes under concurrent
// writers, check-in partitions, and a database that goes away.

func appendOne(ctx context.Context, tx healthcode.Tx, tag string) (int64, error) {
	size, err := tx.LogSize(ctx)
	if err != nil {
		return 0, err
	}
	r := &healthcode.LogRecord{Index: size, Leaf: []byte(tag), Hashes: [][32]byte{{byte(size)}}}
	return size, tx.AppendLeaves(ctx, []*healthcode.LogRecord{r})
}

func TestLogIndexesHaveNoGapsUnderConcurrentWriters(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	// A writer that rolls back leaves no index behind it.
	err := db.Update(ctx, func(tx healthcode.Tx) error {
		if _, err := appendOne(ctx, tx, "rolled back"); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil || err.Error() != "changed my mind" {
		t.Fatalf("Update = %v", err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := db.Update(ctx, func(tx healthcode.Tx) error {
					_, err := appendOne(ctx, tx, fmt.Sprintf("w%d-%d", w, i))
					return err
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a concurrent append failed: %v", err)
	}
	err = db.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		if size != writers*each {
			t.Errorf("log size = %d after %d appends", size, writers*each)
		}
		rs, err := tx.LogRecords(ctx, 0, writers*each)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range rs {
			if r.Leaf == nil || r.Hashes == nil || string(r.Leaf) == "rolled back" || seen[string(r.Leaf)] {
				t.Errorf("leaf %d: %q %x", r.Index, r.Leaf, r.Hashes)
			}
			seen[string(r.Leaf)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func partitions(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'checkins'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestPurgeDropsCheckInPartitions(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	p := storetest.MustPerson(t, db, "张小明", "410102199001011234")
	day0 := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	v := &healthcode.Venue{ID: "v1", Name: "二七广场便利店", Address: "二七区", Region: "410103", Category: "retail",
		Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: day0}
	var cs []*healthcode.CheckIn
	for d := range 5 {
		for h := range 3 {
			cs = append(cs, &healthcode.CheckIn{Venue: v.ID, Subject: p.Pseudonym, At: day0.Add(time.Duration(d)*24*time.Hour + time.Duration(h*8)*time.Hour), Slot: -1})
		}
	}
	before := len(partitions(t, db))
	err := db.Update(ctx, func(tx healthcode.Tx) error {
		if err := tx.CreateVenue(ctx, v); err != nil {
			return err
		}
		_, err := tx.InsertCheckIns(ctx, cs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(partitions(t, db)); got != before+5 {
		t.Fatalf("%d partitions after check-ins on 5 new days, had %d", got, before)
	}
	// The cutoff falls inside day 2: days 0 and 1 go whole, day 2 loses
	// one check-in.
	cut := day0.Add(2*24*time.Hour + time.Hour)
	var rep *healthcode.PurgeReport
	err = db.Update(ctx, func(tx healthcode.Tx) error {
		var err error
		rep, err = tx.Purge(ctx, &healthcode.PurgePlan{CheckInsBefore: cut})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts["checkins"] != 7 {
		t.Errorf("purge counted %d check-ins, want 7", rep.Counts["checkins"])
	}
	names := partitions(t, db)
	for _, n := range names {
		for d := range 2 {
			if strings.HasSuffix(n, fmt.Sprint(day0.Unix()/86400+int64(d))) {
				t.Errorf("partition %s of a purged day is still there", n)
			}
		}
	}
	if len(names) != before+3 {
		t.Errorf("%d partitions after the purge, want %d", len(names), before+3)
	}
	err = db.View(ctx, func(tx healthcode.ReadTx) error {
		left, err := tx.CheckInsOf(ctx, p.Pseudonym, day0, day0.Add(10*24*time.Hour))
		if len(left) != 8 || left[0].At.Before(cut) {
			t.Errorf("check-ins left: %d, first %v", len(left), left[0].At)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A day whose partition was dropped takes check-ins again.
	err = db.Update(ctx, func(tx healthcode.Tx) error {
		_, err := tx.InsertCheckIns(ctx, []*healthcode.CheckIn{{Venue: v.ID, Subject: p.Pseudonym, At: day0, Slot: -1}})
		return err
	})
	if err != nil {
		t.Fatalf("a check-in on a purged day: %v", err)
	}
}

func TestUnavailableDatabaseIsARetryableAnswer(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	name := url[strings.LastIndex(url, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	admin := func(sql string) {
		t.Helper()
		c, err := pgx.Connect(ctx, pgtest.WithDatabase(url, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.WriteProblem(); err != nil {
		t.Fatalf("WriteProblem of a healthy database: %v", err)
	}
	admin(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`)
	admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`)
	write := func() error {
		return db.Update(ctx, func(tx healthcode.Tx) error {
			_, err := appendOne(ctx, tx, "x")
			return err
		})
	}
	for _, err := range []error{write(), db.View(ctx, func(tx healthcode.ReadTx) error { _, err := tx.LogSize(ctx); return err })} {
		var he *healthcode.Error
		if !errors.As(err, &he) || he.Code != healthcode.EUNAVAILABLE || he.Detail != "store.unavailable" || he.RetryAfter <= 0 {
			t.Fatalf("with the database gone: %#v, want EUNAVAILABLE store.unavailable with a Retry-After", err)
		}
	}
	if err := db.WriteProblem(); healthcode.ErrorCode(err) != healthcode.EUNAVAILABLE {
		t.Fatalf("WriteProblem with the database gone = %v", err)
	}
	admin(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`)
	if err := write(); err != nil {
		t.Fatalf("a write once the database is back: %v", err)
	}
	if err := db.WriteProblem(); err != nil {
		t.Fatalf("WriteProblem once the database is back: %v", err)
	}
}

func TestReadOnlyOpenRefusesWrites(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.OpenReadOnly(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(context.Background(), func(tx healthcode.Tx) error { return nil })
	if healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Fatalf("Update on a read-only store = %v", err)
	}
	// Even raw SQL cannot write through it.
	if err := db.Exec(context.Background(), `UPDATE log_head SET size = 7`); err == nil {
		t.Fatal("a read-only store wrote")
	}
}

func TestOpenRefusesANonURL(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "/tmp/hc.db"); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Fatalf("Open of a file path = %v, want EINVALID", err)
	}
}

// Text SQLite keeps but PostgreSQL refuses is the caller's mistake: EINVALID,
// nothing written, and the store stays healthy.
func TestTextPostgreSQLRefusesIsInvalid(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	for _, name := range []string{"nul\x00inside", "not utf-8 \xff\xfe"} {
		err := db.Update(ctx, func(tx healthcode.Tx) error {
			return tx.CreateUnit(ctx, &healthcode.Unit{ID: "u1", Name: name, Region: "410100", CreatedAt: time.Now(), CreatedBy: "admin"})
		})
		var he *healthcode.Error
		if !errors.As(err, &he) || he.Code != healthcode.EINVALID || he.Detail != "store.bad_text" {
			t.Fatalf("a unit named %q: %v, want EINVALID store.bad_text", name, err)
		}
	}
	if err := db.WriteProblem(); err != nil {
		t.Fatalf("WriteProblem after refused text: %v", err)
	}
	err := db.View(ctx, func(tx healthcode.ReadTx) error {
		_, err := tx.Unit(ctx, "u1")
		return err
	})
	if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Fatalf("the refused unit: %v, want ENOTFOUND", err)
	}
}
