package healthcode

import "context"

// BulkLoader is implemented by a store that can load people and check-ins
// much faster than one Update at a time: into a new node, for the synthetic
// city of `healthcode bench --scale` or a migration from another system.
// Each backend takes its most native road (SQLite: large transactions of
// prepared multi-row inserts, secondary indexes of the check-ins built after
// the load; PostgreSQL: COPY).
//
// A bulk load writes only what the node never logs one row at a time: people
// as RegisterPeople creates them (pseudonym, ID hash, sealed personal data,
// wrapped data key; registration is not a logged action) and citizens' own
// check-ins (invariant 2: a decision that rests on them logs their digest).
// It never writes evidence, decisions or anything an official does: those
// go through the engine and the log, so the log verifies after a bulk load
// exactly as before it.
type BulkLoader interface {
	// BulkLoad runs fn with a BulkTx. Nothing else should write to the
	// store while it runs (writers wait for it). What fn loaded is
	// committed in large steps as it goes: on an error, the steps committed
	// before it stay, so a failed load is for a store to be discarded.
	// Every constraint of the store still holds when BulkLoad returns nil.
	BulkLoad(ctx context.Context, fn func(BulkTx) error) error
}

// BulkTx loads rows inside BulkLoad.
type BulkTx interface {
	// AddPeople stores new people, with their WrappedKey and Sealed data, as
	// Tx.CreatePerson does. Returns ECONFLICT if a pseudonym or an ID hash
	// exists.
	AddPeople(ctx context.Context, ps []*Person) error
	// AddCheckIns stores check-ins (IDs not set). Their venues and people
	// must exist, and a live-code check-in (Slot >= 0) must not repeat a
	// stored one (same venue, person and slot): BulkLoad returns ECONFLICT
	// or ENOTFOUND at the end if one does, when the check-ins' indexes are
	// built.
	AddCheckIns(ctx context.Context, cs []*CheckIn) error
}
