package engine_test

import (
	"fmt"
	"testing"
	"time"

	"healthcode"
)

// TestLargeTubeBatch is a lab's batch as `healthcode import` sends one: more
// people than the batch size from which the engine evaluates rules on every
// core while it appends the evidence's leaves (evaluateLogging), the same
// tube named twice, and tubes read for the whole batch at once (TubesOf).
// Every result is stored and logged, its leaf and the decisions after it in
// order, the tree and the audit agree, and a tube resulted earlier in the
// batch is resulted for the items after it: the same result again is a
// duplicate, another result a conflict.
func TestLargeTubeBatch(t *testing.T) {
	t.Parallel()
	const tubes, per = 30, 10 // 300 people, above parallelFrom (256)
	e := newEnv(t, envConfig{people: tubes * per})
	at := t0.Add(-2 * time.Hour)
	var reqs []healthcode.CollectionRequest
	for k := range tubes {
		for j := range per {
			c := sample(e.ids[k*per+j], fmt.Sprintf("BIG-%02d", k), at)
			c.Mixed = true
			reqs = append(reqs, c)
		}
	}
	e.collectOK(reqs...)
	size := e.logSize()
	var items []healthcode.Submission
	for k := range tubes {
		result := healthcode.Negative
		if k == 7 {
			result = healthcode.Positive
		}
		items = append(items, tubeResult(k+1, fmt.Sprintf("BIG-%02d", k), result))
	}
	// The same tube again in the same batch: once with the same result,
	// once with another.
	items = append(items, tubeResult(len(items)+1, "BIG-03", healthcode.Negative), tubeResult(len(items)+2, "BIG-07", healthcode.Negative))
	outs := e.submit(lab, items...)
	for k := range tubes {
		if outs[k].Status != healthcode.Accepted {
			t.Fatalf("tube %d: %s %v", k, outs[k].Status, outs[k].Err)
		}
	}
	if o := outs[tubes]; o.Status != healthcode.Duplicate {
		t.Errorf("the same tube and result again in the batch: %s %v, want a duplicate", o.Status, o.Err)
	}
	if o := outs[tubes+1]; o.Status != healthcode.Rejected {
		t.Errorf("the same tube with another result in the batch: %s, want it rejected", o.Status)
	} else {
		wantCode(t, "another result for a tube resulted earlier in the batch", o.Err, healthcode.ECONFLICT, "tube.resulted")
	}
	// One evidence leaf per person, then one decision leaf for each of the
	// positive tube's ten (a negative result leaves the default green).
	leaves := e.leaves(size)
	if len(leaves) != tubes*per+per {
		t.Fatalf("the batch logged %d leaves, want %d", len(leaves), tubes*per+per)
	}
	for i, l := range leaves {
		want := healthcode.LogEvidence
		if i >= tubes*per {
			want = healthcode.LogDecision
		}
		if l.Entry.Type != want {
			t.Fatalf("leaf %d of the batch is %s, want %s", i, l.Entry.Type, want)
		}
	}
	for j := range per {
		s := e.subj[7*per+j]
		d := e.decision(s)
		if d == nil || d.Colour == healthcode.Green {
			t.Fatalf("a person of the positive tube holds %+v", d)
		}
		if d.LogIndex < size+tubes*per {
			t.Errorf("decision of %s logged at %d, among the evidence's leaves", s, d.LogIndex)
		}
	}
	for k := range tubes {
		if k == 7 {
			continue
		}
		if evs := e.evidence(e.subj[k*per]); len(evs) != 1 || evs[0].Result != healthcode.Negative {
			t.Errorf("tube %d's first person has evidence %+v", k, evs)
		}
	}
	e.verifyTree()
}
