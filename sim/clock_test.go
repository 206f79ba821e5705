package sim

import (
	"context"
	"testing"
	"time"

	"healthcode"
)

// clockedSubmitter is a node that notes the time of its clock at each
// batch it is sent.
type clockedSubmitter struct {
	clock healthcode.Clock
	at    []time.Time
}

func (c *clockedSubmitter) Submit(_ context.Context, _ *healthcode.Principal, items []healthcode.Submission) ([]healthcode.Outcome, error) {
	c.at = append(c.at, c.clock.Now())
	return make([]healthcode.Outcome, len(items)), nil
}

// TestReplayHoldsTheClockAtEachEvent: while a story is replayed the node's
// clock reads each batch's time (never going back, never past the wall
// clock), and the wall clock once the replay is done, so that a demo's
// history is spread over the outbreak's days.
func TestReplayHoldsTheClockAtEachEvent(t *testing.T) {
	t.Parallel()
	clock := &StoryClock{}
	node := &clockedSubmitter{clock: clock}
	lab := Institution{ID: "lab", Name: "lab", Role: healthcode.RoleLab}
	clinic := Institution{ID: "clinic", Name: "clinic", Role: healthcode.RoleClinic}
	day1 := time.Now().UTC().Add(-5 * 24 * time.Hour).Truncate(time.Minute)
	events := []Event{
		{At: day1, Submitter: lab, SubjectID: "a"},
		{At: day1.Add(time.Hour), Submitter: lab, SubjectID: "b"}, // one batch with the first
		{At: day1.Add(48 * time.Hour), Submitter: clinic, SubjectID: "a"},
		{At: day1.Add(24 * time.Hour), Submitter: lab, SubjectID: "c"},          // out of order: held at the last time
		{At: time.Now().Add(48 * time.Hour), Submitter: clinic, SubjectID: "d"}, // the future: the wall clock
	}
	r := &Replayer{Evidence: node, Clock: clock}
	before := time.Now().UTC()
	if err := r.Replay(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if len(node.at) != 4 {
		t.Fatalf("%d batches, want 4: %v", len(node.at), node.at)
	}
	for i, want := range []time.Time{day1.Add(time.Hour), day1.Add(48 * time.Hour), day1.Add(48 * time.Hour)} {
		if !node.at[i].Equal(want) {
			t.Errorf("batch %d submitted at %v, want %v", i, node.at[i], want)
		}
	}
	if last := node.at[3]; last.Before(before) || last.After(time.Now()) {
		t.Errorf("a future event submitted at %v, not the wall clock", last)
	}
	if now := clock.Now(); time.Until(now).Abs() > time.Minute {
		t.Errorf("after the replay the clock reads %v, not the wall clock", now)
	}
}
