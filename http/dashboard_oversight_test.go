package http

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"healthcode"
	"healthcode/oversight"
	"healthcode/tlog"
)

// runDetectors runs one pass of the real detectors over the fixture's log
// and store, as the node's oversight loop does.
func runDetectors(t *testing.T, f *fixture) []healthcode.Alert {
	t.Helper()
	r := &oversight.Runner{Store: f.db, Entry: tlog.RecordEntry, Clock: f.clock}
	as, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// spikeAlert is an alert the detectors raised that names the spike's
// official.
func spikeAlert(t *testing.T, as []healthcode.Alert, official string) healthcode.Alert {
	t.Helper()
	for _, a := range as {
		for _, o := range a.Officials {
			if o == official {
				return a
			}
		}
	}
	t.Fatalf("no alert names %s: %+v", official, as)
	return healthcode.Alert{}
}

// TestDashboardReviews: after a spike the detectors flag, the dashboard
// lists the alert naming the official; an auditor opens a review from it
// (logged), which stops the official's next restrictive request; a second
// auditor confirms it, and it is closed. Only auditors may post these
// forms: the expectations are written here, not read from the route table.
func TestDashboardReviews(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sp := seedSpike(t, f, 25, true)
	alert := spikeAlert(t, runDetectors(t, f), sp.official)
	auditor := f.tokens[healthcode.RoleAuditor]
	form := "application/x-www-form-urlencoded"

	a := f.do(t, "GET", "/dashboard?lang=en", auditor, "", nil)
	body := string(a.body)
	row := regexp.MustCompile(fmt.Sprintf(`(?s)<tr data-alert="%d" data-detector="%s">(.*?)</tr>`, alert.ID, alert.Detector)).FindStringSubmatch(body)
	if a.status != 200 || row == nil {
		t.Fatalf("the dashboard does not list alert %d: %d", alert.ID, a.status)
	}
	if !strings.Contains(row[1], sp.official) || !strings.Contains(row[1], fmt.Sprintf(`action="/dashboard/alerts/%d/review"`, alert.ID)) {
		t.Errorf("the alert's row lacks its official or the review form: %s", row[1])
	}
	if !strings.Contains(body, `id="chart-alerts"`) || !strings.Contains(body, `data-series="`+alert.Detector+`"`) {
		t.Error("the alerts chart does not draw the alert")
	}

	note := []byte(url.Values{"note": {"25 requests in 25 minutes"}}.Encode())
	paths := []string{fmt.Sprintf("/dashboard/alerts/%d/review", alert.ID), "/dashboard/reviews/1/confirm", "/dashboard/reviews/1/close"}
	size := f.logSize(t)
	for _, path := range paths {
		for _, role := range []healthcode.Role{healthcode.RoleOperator, healthcode.RoleApprover, healthcode.RoleEpidemiologist, healthcode.RoleCitizen, healthcode.RoleAdmin} {
			if a := f.do(t, "POST", path, f.tokens[role], form, note); a.status != 403 {
				t.Errorf("POST %s as %s: %d, want 403", path, role, a.status)
			}
		}
		if a := f.do(t, "POST", path, "", form, note); a.status != 401 && a.status != 403 {
			t.Errorf("POST %s with no token: %d, want 401", path, a.status)
		}
	}
	if f.logSize(t) != size {
		t.Fatal("a refused review form changed the log")
	}

	// The auditor opens a review from the dashboard: logged, and the
	// official's next request is refused, naming the review.
	if a := f.do(t, "POST", paths[0], auditor, form, note); a.status != 303 || a.header.Get("Location") != "/dashboard#alerts" {
		t.Fatalf("opening a review: %d %s", a.status, a.body)
	}
	rs, err := f.engine.Reviews(ctx, principal(t, f, auditor), "")
	if err != nil || len(rs) != 1 || rs[0].AlertID != alert.ID || !rs[0].InForce(f.clock.Now()) {
		t.Fatalf("reviews after opening: %+v %v", rs, err)
	}
	if f.logSize(t) != size+1 {
		t.Errorf("opening a review logged %d entries, want 1", f.logSize(t)-size)
	}
	spiker := principal(t, f, sp.token)
	_, err = f.engine.RequestOverride(ctx, spiker, healthcode.Override{Subjects: []string{f.person.Pseudonym}, Colour: healthcode.Red,
		Reason: "lab_result_delayed", Basis: []int64{1}, Expires: f.clock.Now().Add(healthcode.Day)})
	if healthcode.ErrorDetail(err) != "oversight.under_review" {
		t.Errorf("the official under review requested an override: %v", err)
	}
	// Opening it again while in force is refused, shown as an error page.
	if a := f.do(t, "POST", paths[0], auditor, form, note); a.status != 409 {
		t.Errorf("a second review of the alert: %d", a.status)
	}
	// The auditor who opened it cannot confirm it; a second auditor can.
	confirm := fmt.Sprintf("/dashboard/reviews/%d/confirm", rs[0].ID)
	if a := f.do(t, "POST", confirm, auditor, form, nil); a.status != 403 {
		t.Errorf("confirming one's own review: %d", a.status)
	}
	second := pageToken(t, f, &healthcode.Principal{Name: "监督员 二", Role: healthcode.RoleAuditor, Unit: "unit-auditor-2"})
	if a := f.do(t, "POST", confirm, second, form, nil); a.status != 303 {
		t.Errorf("a second auditor's confirmation: %d %s", a.status, a.body)
	}
	a = f.do(t, "GET", "/dashboard?lang=en", second, "", nil)
	if !strings.Contains(string(a.body), "In force, confirmed") {
		t.Error("the dashboard does not show the review confirmed")
	}
	// Closing it, with a reason.
	closeIt := fmt.Sprintf("/dashboard/reviews/%d/close", rs[0].ID)
	if a := f.do(t, "POST", closeIt, second, form, []byte("note=")); a.status != 400 {
		t.Errorf("closing with no reason: %d", a.status)
	}
	if a := f.do(t, "POST", closeIt, second, form, []byte(url.Values{"note": {"referred to the discipline inspection"}}.Encode())); a.status != 303 {
		t.Errorf("closing: %d %s", a.status, a.body)
	}
	if rs, _ := f.engine.Reviews(ctx, principal(t, f, auditor), ""); len(rs) != 1 || rs[0].Status != healthcode.ReviewClosed {
		t.Errorf("after closing: %+v", rs)
	}
	for _, bad := range []string{"/dashboard/alerts/0/review", "/dashboard/alerts/x/review", "/dashboard/reviews/-1/close"} {
		if a := f.do(t, "POST", bad, auditor, form, note); a.status != 400 {
			t.Errorf("POST %s: %d, want 400", bad, a.status)
		}
	}
	if a := f.do(t, "POST", "/dashboard/alerts/999/review", auditor, form, note); a.status != 404 {
		t.Errorf("a review of no alert: %d", a.status)
	}
}
