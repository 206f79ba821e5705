package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"healthcode"
	"healthcode/sqlite"
	"healthcode/tlog"
)

// BenchmarkAuditStore measures the node's full self-audit (every stored
// hash recomputed from the leaves, every decision checked) on a log of
// HEALTHCODE_BENCH_LEAVES leaves (default 100,000) about as many people:
// one evidence leaf and one decision leaf each.
func BenchmarkAuditStore(b *testing.B) {
	leaves := 100_000
	if v := os.Getenv("HEALTHCODE_BENCH_LEAVES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		leaves = n
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)
	var log tlog.Log
	const batch = 5000
	for start := 0; start < leaves; start += batch {
		err := db.Update(ctx, func(tx healthcode.Tx) error {
			var entries []*healthcode.LogEntry
			for i := start; i < min(start+batch, leaves); i++ {
				subject := "p" + base32ish(i/2)
				e := &healthcode.LogEntry{Index: int64(i), Type: healthcode.LogEvidence, Time: t0, Region: "410100", Subject: subject,
					ActorName: "bench lab", ActorRole: healthcode.RoleLab, Ref: "evidence/" + strconv.Itoa(i)}
				if i%2 == 1 {
					e.Type, e.Colour, e.Reason, e.ActorRole, e.ActorName, e.Ref = healthcode.LogDecision, healthcode.Green, "none", healthcode.RoleSystem, "rules", "ruleset/bench"
				}
				entries = append(entries, e)
			}
			return log.Append(ctx, tx, entries)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		res, err := tlog.AuditStore(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		// No decision rows were stored for the decision leaves: the audit
		// names every person, up to its bound, which is work it must do too.
		if res.Size != int64(leaves) {
			b.Fatalf("audited %d leaves", res.Size)
		}
	}
	b.ReportMetric(float64(leaves), "leaves")
}

// base32ish spells n in the pseudonym alphabet, 24 letters.
func base32ish(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 24)
	for i := range b {
		b[23-i] = alphabet[n%32]
		n /= 32
	}
	return string(b)
}
