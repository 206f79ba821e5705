package sqlite

import (
	"context"
	"time"

	"healthcode"
)

// While the disk refuses writes, WriteProblem reports it until a write
// commits again. A node no client writes to would then say "degraded" long
// after space is back; so, at most once every diskProbeEvery while the
// problem lasts, a call to WriteProblem has a small write tried in the
// background (one row of disk_probe rewritten with diskProbeBytes of
// padding: it needs room, as a client's write would). Its commit clears the
// problem as any write's does; its refusal renews it.

var diskProbeEvery = time.Second

const diskProbeBytes = 64 << 10

// probeDisk starts a probe write if f is older than diskProbeEvery and none
// is under way.
func (db *DB) probeDisk(f *diskFault) {
	if time.Since(f.at) < diskProbeEvery || !db.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer db.probing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.Update(ctx, func(tx healthcode.Tx) error {
			_, err := tx.(*Tx).tx.ExecContext(ctx, "INSERT OR REPLACE INTO disk_probe (id, at, pad) VALUES (1, ?, zeroblob(?))", time.Now().UnixNano(), diskProbeBytes)
			return err
		})
	}()
}
