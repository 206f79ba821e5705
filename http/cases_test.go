package http

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"healthcode"
)

// openCase has the clinic diagnose the fixture's other person a confirmed
// case, and returns the id of the case it opens and the diagnosis's
// evidence id.
func openCase(t *testing.T, f *fixture, ref string) (string, int64) {
	t.Helper()
	// What the diagnosis rests on: a positive of a sample the sampling
	// site (another unit than the clinic's) collected.
	f.collect(t, "410102199003071250", "BASIS-"+ref, f.clock.Now().Add(-time.Hour))
	if a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json",
		mustJSON(t, EvidenceJSON{Kind: "nucleic_acid_test", Tube: "BASIS-" + ref, Result: "positive"})); a.status != 201 {
		t.Fatalf("the positive the diagnosis rests on: %d %s", a.status, a.body)
	}
	e := EvidenceJSON{Kind: "diagnosis", IDNumber: "410102199003071250", ExternalID: ref, ObservedAt: f.clock.Now().Add(-time.Minute), Diagnosis: "confirmed"}
	a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleClinic], "application/json", mustJSON(t, e))
	var o OutcomeJSON
	if err := json.Unmarshal(a.body, &o); a.status != 201 || err != nil || o.Case == "" {
		t.Fatalf("diagnosis: %d %s", a.status, a.body)
	}
	return o.Case, o.EvidenceID
}

// sharePresence has the case's person (the fixture's other person) and
// each of subjects check in with the venue's live code now: verified
// presence, which links them to the case.
func sharePresence(t *testing.T, f *fixture, venue string, subjects ...string) {
	t.Helper()
	ctx := context.Background()
	_, live, _, err := f.engine.VenueCodes(ctx, principal(t, f, f.tokens[healthcode.RoleVenue]), venue)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append([]string{f.other.Pseudonym}, subjects...) {
		if c, _, err := f.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s}, live); err != nil || !c.Verified {
			t.Fatalf("check-in of %s: %+v %v", s, c, err)
		}
	}
}
