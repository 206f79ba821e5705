package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"

	"github.com/jackc/pgx/v5/pgconn"
)

// Check-ins are the largest table by far (a city makes millions a day) and
// the one retention empties fastest, so they are partitioned by day of
// their time (declarative range partitioning on at): a purge drops the
// partitions wholly past retention — unlinking their files, with no dead
// rows to vacuum — and deletes row by row only in the day it cuts through.
//
// Partitions are created as they are needed: Open creates today's and the
// next few days' ahead of time, and a batch of check-ins for a day without
// one creates it in its own transaction (so a rolled-back batch leaves
// none). There is no default partition, so no row ever has to be moved out
// of one.

// partitionSpan is the time one check-in partition holds.
const partitionSpan = 24 * time.Hour

// partitionsAhead is how many days after today Open makes partitions for.
const partitionsAhead = 3

// partitionOf returns the number of the day (since the Unix epoch) at falls in.
func partitionOf(at int64) int64 {
	d := int64(partitionSpan)
	p := at / d
	if at%d < 0 {
		p--
	}
	return p
}

// partitionName is the table name of partition p.
func partitionName(p int64) string {
	if p < 0 {
		return "checkins_dm" + strconv.FormatInt(-p, 10)
	}
	return "checkins_d" + strconv.FormatInt(p, 10)
}

// parsePartition is the inverse of partitionName.
func parsePartition(name string) (int64, bool) {
	neg := false
	s, ok := strings.CutPrefix(name, "checkins_d")
	if !ok {
		return 0, false
	}
	if rest, ok := strings.CutPrefix(s, "m"); ok {
		s, neg = rest, true
	}
	p, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		p = -p
	}
	return p, true
}

// retryErr marks an error after which the transaction may be run again.
type retryErr struct{ err error }

func (e *retryErr) Error() string { return e.err.Error() }
func (e *retryErr) Unwrap() error { return e.err }

// createPartitions makes sure a partition exists for each time in ats,
// creating the missing ones in tx.
func (tx *Tx) createPartitions(ctx context.Context, ats []int64) error {
	var want []int64
	seen := map[int64]bool{}
	tx.db.partsMu.Lock()
	for _, at := range ats {
		p := partitionOf(at)
		if !seen[p] && !tx.db.parts[p] {
			want = append(want, p)
		}
		seen[p] = true
	}
	tx.db.partsMu.Unlock()
	if len(want) == 0 {
		return nil
	}
	names := make([]string, len(want))
	for i, p := range want {
		names[i] = partitionName(p)
	}
	missing, err := tx.queryStrings(ctx, `SELECT n FROM unnest(?::text[]) AS n WHERE to_regclass(n) IS NULL`, names)
	if err != nil {
		return fmt.Errorf("postgres: check-in partitions: %w", err)
	}
	miss := map[string]bool{}
	for _, n := range missing {
		miss[n] = true
	}
	for _, p := range want {
		name := partitionName(p)
		if miss[name] {
			lo, hi := p*int64(partitionSpan), (p+1)*int64(partitionSpan)
			if _, err := tx.tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF checkins FOR VALUES FROM (%d) TO (%d)`, name, lo, hi)); err != nil {
				// Another transaction created it at the same moment:
				// running this one again finds it.
				var pe *pgconn.PgError
				if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
					return &retryErr{err}
				}
				return fmt.Errorf("postgres: check-in partition %s: %w", name, err)
			}
		}
		tx.newParts = append(tx.newParts, p)
	}
	return nil
}

// notePartitions remembers partitions a committed transaction made or found.
func (db *DB) notePartitions(ps []int64) {
	if len(ps) == 0 {
		return
	}
	db.partsMu.Lock()
	defer db.partsMu.Unlock()
	for _, p := range ps {
		db.parts[p] = true
	}
}

// ensurePartitions creates the partitions of the days from now to
// partitionsAhead days after it.
func (db *DB) ensurePartitions(ctx context.Context, now time.Time) error {
	ats := make([]int64, 0, partitionsAhead+1)
	for i := 0; i <= partitionsAhead; i++ {
		ats = append(ats, nanos(now.Add(time.Duration(i)*partitionSpan)))
	}
	return db.Update(ctx, func(htx healthcode.Tx) error {
		return htx.(*Tx).createPartitions(ctx, ats)
	})
}

// purgeCheckIns deletes the check-ins made before cutoff: the partitions
// wholly before it are dropped, the rest deleted row by row. It returns how
// many check-ins went.
func (tx *Tx) purgeCheckIns(ctx context.Context, cutoff time.Time) (int64, error) {
	cut := nanos(cutoff)
	if _, err := tx.exec(ctx, `DELETE FROM checkin_slots WHERE at < ?`, cut); err != nil {
		return 0, fmt.Errorf("postgres.Purge: check-ins: %w", err)
	}
	names, err := tx.queryStrings(ctx, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'checkins'::regclass`)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: check-in partitions: %w", err)
	}
	var total int64
	for _, name := range names {
		p, ok := parsePartition(name)
		if !ok || (p+1)*int64(partitionSpan) > cut {
			continue
		}
		var n int64
		if err := tx.queryRow(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			return 0, fmt.Errorf("postgres.Purge: check-ins: %w", err)
		}
		if _, err := tx.exec(ctx, `DROP TABLE `+name); err != nil {
			return 0, fmt.Errorf("postgres.Purge: check-ins: %w", err)
		}
		total += n
		tx.db.partsMu.Lock()
		delete(tx.db.parts, p)
		tx.db.partsMu.Unlock()
	}
	res, err := tx.exec(ctx, `DELETE FROM checkins WHERE at < ?`, cut)
	if err != nil {
		return 0, fmt.Errorf("postgres.Purge: check-ins: %w", err)
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}
