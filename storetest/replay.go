package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"
)

// SubmitReplays: a keyed submission's answer is kept per submitter and key,
// a key is kept once, and a submitter's replays older than
// healthcode.SubmitReplayKept go when a new one is kept.
func SubmitReplays(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	put := func(r healthcode.SubmitReplay) error {
		var err error
		update(t, s, func(tx healthcode.Tx) error { err = tx.PutSubmitReplay(ctx, &r); return nil })
		return err
	}
	get := func(submitter, key string) (*healthcode.SubmitReplay, error) {
		var r *healthcode.SubmitReplay
		var err error
		view(t, s, func(tx healthcode.ReadTx) error { r, err = tx.SubmitReplay(ctx, submitter, key); return nil })
		return r, err
	}
	first := healthcode.SubmitReplay{Submitter: "lab-1", Key: "k1", Digest: []byte{1, 2}, Outcomes: []byte(`[{"line":1}]`), At: at}
	if err := put(first); err != nil {
		t.Fatal(err)
	}
	r, err := get("lab-1", "k1")
	if err != nil || string(r.Outcomes) != `[{"line":1}]` || string(r.Digest) != "\x01\x02" || !r.At.Equal(at) {
		t.Fatalf("kept replay: %+v, %v", r, err)
	}
	_, err = get("lab-2", "k1")
	wantCode(t, err, healthcode.ENOTFOUND)
	wantCode(t, put(first), healthcode.ECONFLICT)
	// Another submitter may use the same key.
	if err := put(healthcode.SubmitReplay{Submitter: "lab-2", Key: "k1", Digest: []byte{3}, Outcomes: []byte(`[]`), At: at}); err != nil {
		t.Fatal(err)
	}
	// A week later, lab-1's new replay forgets the old one; lab-2's stays.
	if err := put(healthcode.SubmitReplay{Submitter: "lab-1", Key: "k2", Digest: []byte{4}, Outcomes: []byte(`[]`), At: at.Add(healthcode.SubmitReplayKept + time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err = get("lab-1", "k1")
	wantCode(t, err, healthcode.ENOTFOUND)
	if _, err := get("lab-2", "k1"); err != nil {
		t.Fatal(err)
	}
}
