package engine_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/oversight"
	"healthcode/tlog"
)

// watch returns an oversight runner over e's store and clock.
func (e *env) watch() *oversight.Runner {
	return &oversight.Runner{Store: e.db, Entry: tlog.RecordEntry, Clock: e.clock}
}

// pass runs the runner once and returns the new alerts by detector.
func (e *env) pass(r *oversight.Runner) map[string][]healthcode.Alert {
	e.t.Helper()
	as, err := r.Pass(e.ctx)
	if err != nil {
		e.t.Fatalf("oversight pass: %v", err)
	}
	out := map[string][]healthcode.Alert{}
	for _, a := range as {
		out[a.Detector] = append(out[a.Detector], a)
	}
	return out
}

// overrideCrowd has op request and ap approve a red override of people
// citing case c (basis b); it returns the override.
func (e *env) overrideCrowd(op, ap *healthcode.Principal, people []string, c string, b int64) *healthcode.Override {
	e.t.Helper()
	o, err := e.eng.RequestOverride(e.ctx, op, redOverride(people, c, b, e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	if o, err = e.eng.ApproveOverride(e.ctx, ap, o.ID); err != nil {
		e.t.Fatal(err)
	}
	if o.Status != healthcode.OverrideActive {
		e.t.Fatalf("override %d is %s", o.ID, o.Status)
	}
	return o
}

// TestOversightOverrideOnly: people made red by an override alone, with no
// health evidence of their own, are one alert naming the operator and the
// approver, the people and the log entries; the two cases of the same
// world, red on corroborated diagnoses, raise none.
func TestOversightOverrideOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 12})
	op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
	ap := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
	r := e.watch()
	cases, basis, crowd := linkedCrowd(t, e)
	if got := e.pass(r); len(got) != 0 {
		t.Fatalf("the two corroborated cases raised %+v", got)
	}
	e.clock.Advance(time.Minute)
	o := e.overrideCrowd(op, ap, crowd[:5], cases[0], basis[0])
	got := e.pass(r)
	as := got[healthcode.DetectUncorroborated]
	if len(as) != 1 {
		t.Fatalf("alerts = %+v, want one %s", got, healthcode.DetectUncorroborated)
	}
	a := as[0]
	if !slices.Equal(a.People, sorted(crowd[:5])) || !slices.Equal(a.Officials, sorted([]string{op.ID, ap.ID})) || len(a.Units) != 2 ||
		len(a.LogIndexes) != 5 || !a.FirstEffectAt.Equal(e.clock.Now()) || !strings.Contains(a.Summary, "override") {
		t.Errorf("alert = %+v (override %d)", a, o.ID)
	}
	if a.OpenedAt.Sub(a.FirstEffectAt) > time.Minute {
		t.Errorf("opened %s after the first effect", a.OpenedAt.Sub(a.FirstEffectAt))
	}
	// Each log entry it cites is one of the override's decisions.
	e.view(func(tx healthcode.ReadTx) error {
		for _, i := range a.LogIndexes {
			recs, err := tx.LogRecords(e.ctx, i, 1)
			if err != nil {
				return err
			}
			entry, err := tlog.RecordEntry(&recs[0])
			if err != nil || entry.Type != healthcode.LogOverride || entry.Colour != healthcode.Red || !slices.Contains(crowd[:5], entry.Subject) {
				t.Errorf("log entry %d = %+v, %v", i, entry, err)
			}
		}
		return nil
	})
	// Nothing new, nothing raised again.
	if got := e.pass(r); len(got) != 0 {
		t.Errorf("a second pass raised %+v", got)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

// TestReviewFreezesNamedOfficials: while an auditor's review of an alert is
// in force, the officials it names can take no restrictive action (their
// requests, approvals and evidence refused with oversight.under_review,
// naming the review), officials it does not name go on; the review lapses
// after 24 hours unless a second auditor confirms it; closing it frees them;
// opening, confirming and closing are logged.
func TestReviewFreezesNamedOfficials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 16})
	op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
	op2 := e.registered("操作员 冯涛", healthcode.RoleOperator, "区大数据局")
	ap := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
	ap2 := e.registered("审批员 吴刚", healthcode.RoleApprover, "省卫健委")
	aud := e.registered("监督员 郑红", healthcode.RoleAuditor, "纪检监察组")
	aud2 := e.registered("监督员 王兵", healthcode.RoleAuditor, "省纪检监察组")
	r := e.watch()
	cases, basis, crowd := linkedCrowd(t, e)
	e.overrideCrowd(op, ap, crowd[:3], cases[0], basis[0])
	as := e.pass(r)[healthcode.DetectUncorroborated]
	if len(as) != 1 {
		t.Fatalf("no alert to review: %+v", as)
	}
	alert := as[0]

	// Only an auditor opens a review, with a note.
	if _, err := e.eng.OpenReview(e.ctx, op2, alert.ID, "looks wrong"); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("an operator opened a review: %v", err)
	}
	if _, err := e.eng.OpenReview(e.ctx, aud, alert.ID, ""); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("a review with no note: %v", err)
	}
	if _, err := e.eng.OpenReview(e.ctx, aud, 999, "x"); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Errorf("a review of no alert: %v", err)
	}
	before := e.logSize()
	rv, err := e.eng.OpenReview(e.ctx, aud, alert.ID, "override of people with no health evidence")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rv.Officials, alert.Officials) || !rv.Expires.Equal(e.clock.Now().Add(healthcode.ReviewSingleAuditor)) {
		t.Errorf("review = %+v", rv)
	}
	e.wantReviewEntry(before, "opened", aud, rv)
	if _, err := e.eng.OpenReview(e.ctx, aud2, alert.ID, "again"); healthcode.ErrorCode(err) != healthcode.ECONFLICT {
		t.Errorf("a second review of the alert: %v", err)
	}

	frozen := func(what string, err error) {
		t.Helper()
		if healthcode.ErrorCode(err) != healthcode.EFORBIDDEN || healthcode.ErrorDetail(err) != "oversight.under_review" ||
			!strings.Contains(healthcode.ErrorMessage(err), "review "+strconv.FormatInt(rv.ID, 10)) {
			t.Errorf("%s: %v, want oversight.under_review naming review %d", what, err, rv.ID)
		}
	}
	now := e.clock.Now()
	// The named operator: no request. The named approver: no approval of
	// another's request. Others: both go on.
	_, err = e.eng.RequestOverride(e.ctx, op, redOverride(crowd[3:4], cases[0], basis[0], now))
	frozen("the named operator's request", err)
	o2, err := e.eng.RequestOverride(e.ctx, op2, redOverride(crowd[4:5], cases[0], basis[0], now))
	if err != nil {
		t.Fatalf("an operator not named: %v", err)
	}
	_, err = e.eng.ApproveOverride(e.ctx, ap, o2.ID)
	frozen("the named approver's approval", err)
	if _, err := e.eng.ApproveOverride(e.ctx, ap2, o2.ID); err != nil {
		t.Errorf("an approver not named: %v", err)
	}
	// A correction toward green is no restriction: the named operator may.
	green := redOverride(crowd[:1], "", 0, now)
	green.Colour, green.Basis, green.Reason = healthcode.Green, nil, "data_entry_correction"
	if _, err := e.eng.RequestOverride(e.ctx, op, green); err != nil {
		t.Errorf("a correction toward green by the named operator: %v", err)
	}

	// One auditor cannot confirm their own review; a second can, and the
	// review then outlasts 24 hours.
	if _, err := e.eng.ConfirmReview(e.ctx, aud, rv.ID); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("the opener confirmed: %v", err)
	}
	e.clock.Advance(healthcode.ReviewSingleAuditor + time.Minute)
	_, err = e.eng.RequestOverride(e.ctx, op, redOverride(crowd[5:6], cases[0], basis[0], e.clock.Now()))
	if err != nil {
		t.Errorf("the review lapsed unconfirmed after 24 h, yet: %v", err)
	}
	if _, err := e.eng.ConfirmReview(e.ctx, aud2, rv.ID); healthcode.ErrorCode(err) != healthcode.ECONFLICT {
		t.Errorf("a lapsed review confirmed: %v", err)
	}
	rv2, err := e.eng.OpenReview(e.ctx, aud, alert.ID, "reopened")
	if err != nil {
		t.Fatal(err)
	}
	before = e.logSize()
	if rv2, err = e.eng.ConfirmReview(e.ctx, aud2, rv2.ID); err != nil {
		t.Fatal(err)
	}
	e.wantReviewEntry(before, "confirmed", aud2, rv2)
	e.clock.Advance(healthcode.ReviewSingleAuditor + time.Minute)
	_, err = e.eng.RequestOverride(e.ctx, op, redOverride(crowd[6:7], cases[0], basis[0], e.clock.Now()))
	if healthcode.ErrorDetail(err) != "oversight.under_review" {
		t.Errorf("a confirmed review lapsed after 24 h: %v", err)
	}

	// Closing frees them, and closes the alert.
	before = e.logSize()
	if rv2, err = e.eng.CloseReview(e.ctx, aud2, rv2.ID, "explained by the bureau"); err != nil {
		t.Fatal(err)
	}
	e.wantReviewEntry(before, "closed", aud2, rv2)
	if _, err := e.eng.CloseReview(e.ctx, aud, rv2.ID, "twice"); healthcode.ErrorCode(err) != healthcode.ECONFLICT {
		t.Errorf("closed twice: %v", err)
	}
	if _, err := e.eng.RequestOverride(e.ctx, op, redOverride(crowd[7:8], cases[0], basis[0], e.clock.Now())); err != nil {
		t.Errorf("after the review closed: %v", err)
	}
	open := true
	if as, err := e.eng.Alerts(e.ctx, aud, healthcode.AlertQuery{Open: &open}); err != nil || slices.ContainsFunc(as, func(a healthcode.Alert) bool { return a.ID == alert.ID }) {
		t.Errorf("the reviewed alert is still open: %v", err)
	}
	if _, err := e.eng.Alerts(e.ctx, op, healthcode.AlertQuery{}); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("an operator listed alerts: %v", err)
	}
}

// wantReviewEntry checks that the one entry logged since before records
// the review's step, naming the auditor, the alert and the officials.
func (e *env) wantReviewEntry(before int64, what string, aud *healthcode.Principal, rv *healthcode.Review) {
	e.t.Helper()
	entries := e.openedLeaves(before)
	if len(entries) != 1 {
		e.t.Fatalf("%s: %d entries logged, want 1", what, len(entries))
	}
	l := entries[0]
	if l.Type != healthcode.LogReview || l.Reason != what || l.ActorName != healthcode.ActorLabel(aud) ||
		!strings.Contains(l.Ref, "review/"+strconv.FormatInt(rv.ID, 10)+" "+what+" alert/"+strconv.FormatInt(rv.AlertID, 10)) || !strings.Contains(l.Ref, strings.Join(rv.Officials, ",")) {
		e.t.Errorf("%s entry = %+v", what, l)
	}
}
