package http

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// TestOversightAPI: an auditor lists alerts (filtered), opens a review, and
// closes it; bad input is a problem and changes nothing; the official the
// alert names is refused a restrictive override with
// oversight.under_review while the review is in force.
func TestOversightAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	aud, op := f.tokens[healthcode.RoleAuditor], f.tokens[healthcode.RoleOperator]
	operator, err := f.engine.Authenticate(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	// Two alerts as the detectors store them: one naming the operator.
	burst := &healthcode.Alert{Detector: healthcode.DetectBurst, Key: "official:" + operator.ID + "/1", OpenedAt: t0.Add(time.Minute), FirstEffectAt: t0,
		Summary: "official restricted 120 people", Officials: []string{operator.ID}, Units: []string{operator.Unit}, People: []string{f.other.Pseudonym},
		LogIndexes: []int64{1}}
	appeal := &healthcode.Alert{Detector: healthcode.DetectOverdueAppeal, Key: "appeal/1", OpenedAt: t0.Add(2 * time.Minute), FirstEffectAt: t0,
		Summary: "appeal 1 unanswered", People: []string{f.person.Pseudonym}}
	if err := f.db.Update(ctx, func(tx healthcode.Tx) error {
		for _, a := range []*healthcode.Alert{burst, appeal} {
			if _, err := tx.CreateAlert(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	list := func(query string) []map[string]any {
		t.Helper()
		a := f.do(t, "GET", "/api/v1/oversight/alerts"+query, aud, "", nil)
		if a.status != 200 {
			t.Fatalf("alerts%s: %d %s", query, a.status, a.body)
		}
		var out struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if err := json.Unmarshal(a.body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Alerts
	}
	all := list("")
	if len(all) != 2 || all[0]["id"] != float64(appeal.ID) || all[1]["id"] != float64(burst.ID) {
		t.Fatalf("alerts = %+v", all)
	}
	for _, field := range []string{"id", "detector", "opened_at", "first_effect_at", "summary", "officials", "units", "people", "log_indexes", "review_id"} {
		if _, ok := all[1][field]; !ok {
			t.Errorf("alert has no %q: %+v", field, all[1])
		}
	}
	if all[1]["review_id"] != nil || all[1]["detector"] != "burst" || all[1]["officials"].([]any)[0] != operator.ID {
		t.Errorf("alert = %+v", all[1])
	}
	if got := list("?detector=burst"); len(got) != 1 || got[0]["id"] != float64(burst.ID) {
		t.Errorf("?detector=burst: %+v", got)
	}
	if got := list("?official=" + operator.ID + "&open=true"); len(got) != 1 {
		t.Errorf("?official: %+v", got)
	}
	before := f.logSize(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		reason             string
	}{
		{"GET", "/api/v1/oversight/alerts?detector=mood", "", 400, "alert.detector"},
		{"GET", "/api/v1/oversight/alerts?open=maybe", "", 400, "alert.open"},
		{"GET", "/api/v1/oversight/alerts?since=yesterday", "", 400, "alert.since"},
		{"GET", "/api/v1/oversight/alerts?limit=0", "", 400, "alert.limit"},
		{"GET", "/api/v1/oversight/alerts?limit=101", "", 400, "alert.limit"},
		{"GET", "/api/v1/oversight/reviews?status=pending", "", 400, "review.status"},
		{"POST", "/api/v1/oversight/reviews", `{"alert_id":0,"note":"x"}`, 400, "review.alert"},
		{"POST", "/api/v1/oversight/reviews", `{"alert_id":999,"note":"x"}`, 404, "alert.unknown"},
		{"POST", "/api/v1/oversight/reviews", `{"alert_id":1,"note":""}`, 400, "review.note"},
		{"POST", "/api/v1/oversight/reviews", `{"alert_id":1,"note":"x","colour":"green"}`, 400, "http.malformed_json"},
		{"POST", "/api/v1/oversight/reviews/999/close", `{"note":"x"}`, 404, "review.unknown"},
		{"POST", "/api/v1/oversight/reviews/abc/close", `{"note":"x"}`, 400, "http.id"},
		{"POST", "/api/v1/oversight/reviews/999/confirm", ``, 404, "review.unknown"},
	} {
		a := f.do(t, c.method, c.path, aud, "application/json", []byte(c.body))
		wantProblem(t, c.method+" "+c.path+" "+c.body, a, c.status, c.reason)
	}
	if after := f.logSize(t); after != before {
		t.Errorf("refused calls logged %d entries", after-before)
	}

	a := f.do(t, "POST", "/api/v1/oversight/reviews", aud, "application/json", []byte(`{"alert_id":`+strconv.FormatInt(burst.ID, 10)+`,"note":"120 people in an hour"}`))
	if a.status != 201 {
		t.Fatalf("open review: %d %s", a.status, a.body)
	}
	var rv ReviewJSON
	if err := json.Unmarshal(a.body, &rv); err != nil || rv.AlertID != burst.ID || !rv.InForce || rv.Status != "open" || len(rv.Officials) != 1 ||
		rv.Officials[0] != operator.ID || !strings.Contains(rv.OpenedBy, "auditor") || rv.LogIndex != before {
		t.Fatalf("review = %+v (%v)", rv, err)
	}
	// A second auditor confirms it; the first may not.
	aud2 := &healthcode.Principal{Name: "test auditor 2", Role: healthcode.RoleAuditor, Unit: "unit-auditor-2"}
	tok2, err := f.engine.CreateToken(ctx, aud2)
	if err != nil {
		t.Fatal(err)
	}
	confirm := "/api/v1/oversight/reviews/" + strconv.FormatInt(rv.ID, 10) + "/confirm"
	wantProblem(t, "the opener confirms", f.do(t, "POST", confirm, aud, "", nil), 403, "review.self_confirm")
	if a := f.do(t, "POST", confirm, tok2, "", nil); a.status != 200 || !strings.Contains(string(a.body), `"confirmed_by":"test auditor 2`) {
		t.Fatalf("confirm: %d %s", a.status, a.body)
	}
	wantProblem(t, "confirmed twice", f.do(t, "POST", confirm, tok2, "", nil), 409, "review.confirmed")
	wantProblem(t, "a second review of the alert", f.do(t, "POST", "/api/v1/oversight/reviews", aud, "application/json",
		[]byte(`{"alert_id":`+strconv.FormatInt(burst.ID, 10)+`,"note":"again"}`)), 409, "review.in_force")
	if got := list("?detector=burst"); got[0]["review_id"] != float64(rv.ID) {
		t.Errorf("alert's review_id = %v", got[0]["review_id"])
	}
	// The operator named is refused a restrictive override, naming the review.
	o := mustJSON(t, OverrideJSON{Subjects: []string{f.other.Pseudonym}, Colour: "red", Reason: "epidemiologist_judgement", Basis: []int64{1},
		Case: "C-AAAAAAAAAA", Expires: t0.Add(24 * time.Hour)})
	a = f.do(t, "POST", "/api/v1/overrides", op, "application/json", o)
	wantProblem(t, "an override by the operator under review", a, 403, "oversight.under_review")
	if !strings.Contains(string(a.body), "review "+strconv.FormatInt(rv.ID, 10)) {
		t.Errorf("the refusal does not name the review: %s", a.body)
	}
	a = f.do(t, "POST", "/api/v1/oversight/reviews/"+strconv.FormatInt(rv.ID, 10)+"/close", aud, "application/json", []byte(`{"note":"explained"}`))
	if a.status != 200 || !strings.Contains(string(a.body), `"status":"closed"`) {
		t.Fatalf("close: %d %s", a.status, a.body)
	}
	wantProblem(t, "closed twice", f.do(t, "POST", "/api/v1/oversight/reviews/"+strconv.FormatInt(rv.ID, 10)+"/close", aud, "application/json",
		[]byte(`{"note":"again"}`)), 409, "review.closed")
	a = f.do(t, "GET", "/api/v1/oversight/reviews?status=closed", aud, "", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"close_note":"explained"`) {
		t.Errorf("closed reviews: %d %s", a.status, a.body)
	}
	if got := list("?open=false"); len(got) != 1 || got[0]["id"] != float64(burst.ID) || got[0]["closed_at"] == nil {
		t.Errorf("closed alerts: %+v", got)
	}
	// Now the override goes as far as its own checks (the basis is no case).
	a = f.do(t, "POST", "/api/v1/overrides", op, "application/json", o)
	if a.status == 403 {
		t.Errorf("after the review closed: %d %s", a.status, a.body)
	}
}
