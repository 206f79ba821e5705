package engine_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// TestTestingDutyNeedsTwoUnits: a testing duty issued to a group by one
// epidemiologist changes no one's code and is no evidence until a second
// epidemiologist of another unit confirms it; then, under a rule set that
// makes a missed test yellow (rules/examples/shanghai-2022.yaml), a green
// code carries the time its test falls due, the review acts at that time,
// and a new sample lifts the yellow code.
func TestTestingDutyNeedsTwoUnits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 4})
	e.enrol(epi, epi2, epiSame)
	src, err := os.ReadFile("../rules/examples/shanghai-2022.yaml")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.Replace(string(src), "region: \"310000\"\n", "", 1)
	if _, err := publishByAdmins(e.eng, e.ctx, []byte(local)); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	began := now.Add(-71 * time.Hour) // a 72-hour duty: the first test is due in an hour
	duty := func(i int, link string) healthcode.Submission {
		return healthcode.Submission{IDNumber: e.ids[i], Link: healthcode.Link{Kind: link}, Evidence: healthcode.Evidence{
			Kind: healthcode.TestingDuty, ExternalID: fmt.Sprintf("DUTY-%d", i), ObservedAt: began, Until: began.Add(10 * healthcode.Day),
			Every: 72 * time.Hour, Area: "410105", CaseRef: "金水区 2022-09 全员核酸"}}
	}
	if o := e.one(epi, duty(1, healthcode.LinkInterview)); o.Status != healthcode.Rejected || healthcode.ErrorDetail(o.Err) != "link.kind" {
		t.Errorf("a duty resting on an interview: %s %v, want rejected link.kind", o.Status, o.Err)
	}
	outs := e.submit(epi, duty(1, healthcode.LinkOrder), duty(2, healthcode.LinkOrder), duty(3, healthcode.LinkOrder))
	for i, o := range outs {
		if o.Status != healthcode.Pending || o.Pending == 0 || o.EvidenceID != 0 || o.Decision != nil {
			t.Fatalf("duty %d issued by one epidemiologist: %+v, want pending", i+1, o)
		}
		if evs := e.evidence(e.subj[i+1]); len(evs) != 0 {
			t.Errorf("person %d holds evidence before confirmation: %+v", i+1, evs)
		}
	}
	for _, who := range []*healthcode.Principal{epi, epiSame} {
		_, err := e.eng.ConfirmRecord(e.ctx, who, outs[0].Pending)
		wantCode(t, "confirmation by "+who.Name, err, healthcode.EFORBIDDEN, "")
	}
	for i, o := range outs {
		r, err := e.eng.ConfirmRecord(e.ctx, epi2, o.Pending)
		if err != nil || r.Status != healthcode.RecordInForce {
			t.Fatalf("confirming duty %d: %+v %v", i+1, r, err)
		}
	}
	due := began.Add(72 * time.Hour)
	for i := 1; i <= 3; i++ {
		d := e.decision(e.subj[i])
		if d == nil || d.Colour != healthcode.Green || d.LiftsAt == nil || !d.LiftsAt.Equal(due) || !d.ReviewAt.Equal(due) {
			t.Fatalf("person %d under a duty: %+v, want green changing (and reviewed) at %s", i, d, due)
		}
	}
	// Person 1 is sampled before the test falls due; the others are not.
	e.clock.Set(now.Add(30 * time.Minute))
	e.collectOK(healthcode.CollectionRequest{IDNumber: e.ids[1], Tube: "DUTY-T1", Site: "金水区文化路采样点", CollectedAt: now.Add(30 * time.Minute)})
	e.clock.Set(now.Add(40 * time.Minute))
	e.submitOK(lab, tubeResult(0, "DUTY-T1", healthcode.Negative))
	e.clock.Set(due.Add(time.Minute))
	if _, changed, err := e.eng.ReviewDue(e.ctx, nil); err != nil || changed != 2 {
		t.Fatalf("review when the test fell due: %d changed, %v; want 2", changed, err)
	}
	for i, want := range map[int]healthcode.Colour{1: healthcode.Green, 2: healthcode.Yellow, 3: healthcode.Yellow} {
		if d := e.decision(e.subj[i]); d == nil || d.Colour != want || (want == healthcode.Yellow && d.Reason != "missed_required_test") {
			t.Errorf("person %d after the due time: %+v, want %s", i, d, want)
		}
	}
	// A new sample lifts the yellow code.
	e.clock.Set(due.Add(2 * time.Minute))
	e.collectOK(healthcode.CollectionRequest{IDNumber: e.ids[2], Tube: "DUTY-T2", Site: "金水区文化路采样点", CollectedAt: due.Add(2 * time.Minute)})
	e.clock.Set(due.Add(time.Hour))
	e.submitOK(lab, tubeResult(0, "DUTY-T2", healthcode.Negative))
	if c := e.colour(2); c != healthcode.Green {
		t.Errorf("person 2 after a new sample: %s", c)
	}
	checkExplained(t, e, e.subj)
}
