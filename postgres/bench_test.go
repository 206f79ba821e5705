package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"healthcode"
	"healthcode/postgres/pgtest"
	"healthcode/sqlite"
)

// BenchmarkStore measures the same store operations on both backends, one
// after the other in the same run (go test -bench Store -count N alternates
// them), for the ratio of PostgreSQL to SQLite:
//
//	HEALTHCODE_TEST_POSTGRES=1 go test ./postgres -run '^$' -bench Store -count 3
func BenchmarkStore(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) healthcode.Store
	}{
		{"sqlite", func(b *testing.B) healthcode.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hc.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) healthcode.Store { return pgtest.Open(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			p := mustPerson(b, s)
			v := &healthcode.Venue{ID: "v1", Name: "二七广场便利店", Address: "二七区", Region: "410103", Category: "retail",
				Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: time.Now()}
			if err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.CreateVenue(ctx, v) }); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			b.Run("checkins128", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					cs := make([]*healthcode.CheckIn, 128)
					for k := range cs {
						cs[k] = &healthcode.CheckIn{Venue: v.ID, Subject: p.Pseudonym, At: now.Add(time.Duration(i*128+k) * time.Millisecond), Slot: -1}
					}
					if err := s.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(ctx, cs); return err }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "checkins/s")
			})
			b.Run("evidence64", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					evs := make([]*healthcode.Evidence, 64)
					for k := range evs {
						evs[k] = &healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Subject: p.Pseudonym, Submitter: "lab", SubmitterName: "lab",
							SubmitterRole: healthcode.RoleLab, ExternalID: fmt.Sprintf("e%d-%d", i, k), ObservedAt: now, RecordedAt: now, Result: "negative"}
					}
					if err := s.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.InsertEvidence(ctx, evs); return err }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "evidence/s")
			})
			b.Run("leaves64", func(b *testing.B) {
				for b.Loop() {
					err := s.Update(ctx, func(tx healthcode.Tx) error {
						size, err := tx.LogSize(ctx)
						if err != nil {
							return err
						}
						rs := make([]*healthcode.LogRecord, 64)
						for k := range rs {
							rs[k] = &healthcode.LogRecord{Index: size + int64(k), Leaf: make([]byte, 200), Hashes: make([][32]byte, 2),
								Subject: p.Pseudonym, Opening: make([]byte, 48)}
						}
						return tx.AppendLeaves(ctx, rs)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "leaves/s")
			})
			b.Run("person", func(b *testing.B) {
				for b.Loop() {
					if err := s.View(ctx, func(tx healthcode.ReadTx) error { _, err := tx.Person(ctx, p.Pseudonym); return err }); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("decision", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					d := &healthcode.Decision{Subject: p.Pseudonym, Colour: healthcode.Green, Reason: "none", RuleID: "default", RuleSetVersion: "v1",
						RuleSetHash: "h", EvidenceDigest: "d", ReviewAt: now, DecidedAt: now, LogIndex: int64(i), Actor: "engine"}
					if err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.PutDecision(ctx, d) }); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func mustPerson(b *testing.B, s healthcode.Store) *healthcode.Person {
	keys := &healthcode.Keys{Pseudonym: make([]byte, 32), IDLookup: make([]byte, 32), Wrap: make([]byte, 32)}
	p, err := keys.NewPerson("410100", healthcode.PersonalData{Name: "张小明", IDNumber: "410102199001011234", Phone: "13800000000"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx healthcode.Tx) error { return tx.CreatePerson(context.Background(), p) }); err != nil {
		b.Fatal(err)
	}
	return p
}
