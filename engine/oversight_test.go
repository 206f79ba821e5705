package engine_test

import (
	"crypto/rand"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/oversight"
	"healthcode/sim"
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

// importBatch registers n more people, a minute after the others (one
// import), and adds them to e.ids and e.subj; it returns their indexes.
func (e *env) importBatch(n int) []int {
	e.t.Helper()
	e.clock.Advance(time.Hour)
	city, err := sim.New(sim.Config{Seed: 7, People: 10000, Region: region, Start: t0})
	if err != nil {
		e.t.Fatal(err)
	}
	var pds []healthcode.PersonalData
	var idx []int
	for i := range n {
		c := city.Person(5000 + i)
		pds = append(pds, c.PersonalData())
		idx = append(idx, len(e.ids))
		e.ids = append(e.ids, c.IDNumber)
		e.subj = append(e.subj, e.eng.Keys.Pseudonymize(region, c.IDNumber))
	}
	if err := e.eng.RegisterPeople(e.ctx, pds); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	return idx
}

// overrideMany has op request red overrides of people, 20 a request, each
// approved by ap and co-signed by aud when it needs it.
func (e *env) overrideMany(op, ap, aud *healthcode.Principal, people []string, c string, b int64) {
	e.t.Helper()
	for len(people) > 0 {
		n := min(20, len(people))
		o, err := e.eng.RequestOverride(e.ctx, op, redOverride(people[:n], c, b, e.clock.Now()))
		if err != nil {
			e.t.Fatal(err)
		}
		if ap != nil {
			if o, err = e.eng.ApproveOverride(e.ctx, ap, o.ID); err != nil {
				e.t.Fatal(err)
			}
			if o.NeedsCoSign() && o.CoSigner == nil {
				if _, err = e.eng.CoSignOverride(e.ctx, aud, o.ID); err != nil {
					e.t.Fatal(err)
				}
			}
		}
		people = people[n:]
	}
}

func alertNaming(as []healthcode.Alert, official string) *healthcode.Alert {
	for i := range as {
		if slices.Contains(as[i].Officials, official) {
			return &as[i]
		}
	}
	return nil
}

// TestOversightBurst: one operator requesting red for 120 people in small
// requests within the hour is a burst of that official (and of the case
// cited), however it was split; 60 people is not.
func TestOversightBurst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		people int
		want   bool
	}{{120, true}, {60, false}} {
		t.Run(strconv.Itoa(tc.people), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: tc.people + 2})
			op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
			r := e.watch()
			cases, basis, crowd := linkedCrowd(t, e)
			e.pass(r)
			e.overrideMany(op, nil, nil, crowd, cases[0], basis[0])
			as := e.pass(r)[healthcode.DetectBurst]
			if !tc.want {
				if len(as) != 0 {
					t.Errorf("%d people in small requests raised %+v", tc.people, as)
				}
				return
			}
			a := alertNaming(as, op.ID)
			if a == nil || !strings.HasPrefix(a.Key, "official:"+op.ID+"/") || len(a.People) != tc.people || len(a.LogIndexes) != tc.people ||
				!slices.Equal(a.Officials, []string{op.ID}) || len(a.Units) != 1 {
				t.Fatalf("burst alerts = %+v", as)
			}
			if !slices.ContainsFunc(as, func(a healthcode.Alert) bool { return strings.HasPrefix(a.Key, "case:"+cases[0]+"/") }) {
				t.Errorf("no burst of the case cited: %+v", as)
			}
		})
	}
}

// TestOversightCohort: 40 people imported together (a rare batch) made red
// together by overrides, with no case, tube or venue of their own, are a
// cohort; 40 people of the one batch everyone is in are not (the batch
// says nothing), nor 40 of the rare batch who are contacts of one case.
func TestOversightCohort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		imported bool
		contacts bool
		want     bool
	}{
		{"imported together, overrides", true, false, true},
		{"everyone's batch, overrides", false, false, false},
		{"imported together, contacts of one case", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A batch of 40 is rare among 500 people (lift 12 or more).
			n := 42
			if tc.imported {
				n = 460
			}
			e := newEnv(t, envConfig{people: n})
			op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
			ap := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
			aud := e.registered("监督员 郑红", healthcode.RoleAuditor, "纪检监察组")
			var targets []int
			if tc.imported {
				targets = e.importBatch(40)
			} else {
				for i := 2; i < 42; i++ {
					targets = append(targets, i)
				}
			}
			r := e.watch()
			v := e.liveVenue("410103")
			caseID := e.openCaseOf(0, e.clock.Now())
			var c *healthcode.Case
			e.view(func(tx healthcode.ReadTx) error { var err error; c, err = tx.Case(e.ctx, caseID); return err })
			e.checkIn(0, v, true)
			var people []string
			for _, i := range targets {
				e.checkIn(i, v, true)
				people = append(people, e.subj[i])
			}
			now := e.clock.Now()
			e.clock.Advance(time.Minute)
			e.pass(r)
			if tc.contacts {
				for k, i := range targets {
					o := e.one(epi, contact(healthcode.CloseContact, i, e.ids, "CC-"+strconv.Itoa(k), caseID, now,
						healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: v.ID}))
					if o.Status != healthcode.Accepted {
						t.Fatalf("contact %d: %s %v", k, o.Status, o.Err)
					}
				}
			} else {
				e.overrideMany(op, ap, aud, people, caseID, c.Diagnosis)
			}
			as := e.pass(r)[healthcode.DetectCohort]
			if !tc.want {
				if len(as) != 0 {
					t.Errorf("raised %+v", as)
				}
				return
			}
			if len(as) != 1 || !slices.Equal(as[0].People, sorted(people)) || !slices.Equal(as[0].Officials, sorted([]string{op.ID, ap.ID, aud.ID})) ||
				len(as[0].LogIndexes) != 40 || !strings.Contains(as[0].Summary, "registered in the same minute") {
				t.Fatalf("cohort alerts = %+v", as)
			}
		})
	}
}

// TestOversightPresence: a live venue code scanned by a dozen people twenty
// minutes after it was shown (a photo passed around) is an alert naming
// them; fresh scans are not. People checked in at venues of two provinces
// five minutes apart are an alert; two hours apart, not.
func TestOversightPresence(t *testing.T) {
	t.Parallel()
	t.Run("photo", func(t *testing.T) {
		t.Parallel()
		for _, stale := range []bool{true, false} {
			e := newEnv(t, envConfig{people: 14})
			r := e.watch()
			v := e.liveVenue("410103")
			photo := v.LiveCode(e.clock.Now())
			e.clock.Advance(20 * time.Minute)
			var scanned []string
			for i := 0; i < 12; i++ {
				code := photo
				if !stale {
					code = v.LiveCode(e.clock.Now())
				}
				c, _, err := e.eng.CheckIn(e.ctx, &healthcode.Principal{ID: e.subj[i], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[i]}, code)
				if err != nil || c.Verified == stale {
					t.Fatalf("check-in %d: %+v %v", i, c, err)
				}
				scanned = append(scanned, e.subj[i])
			}
			e.eng.Close() // the check-in queue is written
			as := e.pass(r)[healthcode.DetectPresence]
			if !stale {
				if len(as) != 0 {
					t.Errorf("fresh scans raised %+v", as)
				}
				continue
			}
			if len(as) != 1 || !strings.HasPrefix(as[0].Key, "photo/"+v.ID+"/") || !slices.Equal(as[0].People, sorted(scanned[:10])) &&
				!slices.Equal(as[0].People, sorted(scanned)) || !slices.Equal(as[0].Officials, []string{venueOwner.ID}) {
				t.Errorf("photo alerts = %+v", as)
			}
		}
	})
	t.Run("two provinces", func(t *testing.T) {
		t.Parallel()
		for _, gap := range []time.Duration{5 * time.Minute, 2 * time.Hour} {
			e := newEnv(t, envConfig{people: 8})
			r := e.watch()
			zz, wh := e.fixtureVenue("410102"), e.fixtureVenue("420102")
			now := e.clock.Now()
			e.fixtureCheckIns(zz, now, e.subj[:6]...)
			e.fixtureCheckIns(wh, now.Add(gap), e.subj[:6]...)
			as := e.pass(r)[healthcode.DetectPresence]
			if gap > time.Hour {
				if len(as) != 0 {
					t.Errorf("two hours apart raised %+v", as)
				}
				continue
			}
			if len(as) != 1 || !strings.HasPrefix(as[0].Key, "teleport/") || !slices.Equal(as[0].People, sorted(e.subj[:6])) {
				t.Errorf("alerts = %+v", as)
			}
		}
	})
}

// TestOversightReads: an operator who reads 30 people's codes within the
// hour, citing one case, is past a bound of 20 people (and of 25 for one
// case); 15 is not.
func TestOversightReads(t *testing.T) {
	t.Parallel()
	for _, n := range []int{30, 15} {
		e := newEnv(t, envConfig{people: 32})
		op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
		r := e.watch()
		r.Settings = oversight.Settings{ReadsMinPeople: 20, CaseReadsMaxPeople: 25}
		cases, _, crowd := linkedCrowd(t, e)
		e.pass(r)
		for _, s := range crowd[:n] {
			if _, err := e.eng.CodeFor(e.ctx, op, s, "contact_tracing", cases[0]); err != nil {
				t.Fatal(err)
			}
		}
		as := e.pass(r)[healthcode.DetectReads]
		if n < 20 {
			if len(as) != 0 {
				t.Errorf("%d reads raised %+v", n, as)
			}
			continue
		}
		if len(as) != 2 || !strings.HasPrefix(as[0].Key, "case/"+op.ID+"/"+cases[0]+"/") || !strings.HasPrefix(as[1].Key, "official/"+op.ID+"/") {
			t.Fatalf("alerts = %+v", as)
		}
		for _, a := range as {
			if !slices.Equal(a.People, sorted(crowd[:n])) || !slices.Equal(a.Officials, []string{op.ID}) || len(a.LogIndexes) != n {
				t.Errorf("alert = %+v", a)
			}
		}
	}
}

// TestOversightOverdueAppeal: an appeal unanswered past its deadline is an
// alert naming the person; before the deadline, none.
func TestOversightOverdueAppeal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	r := e.watch()
	citizen := &healthcode.Principal{ID: e.subj[1], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	a, err := e.eng.FileAppeal(e.ctx, citizen, healthcode.AppealCorrection, "my name is misspelt")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(healthcode.AppealDeadline - time.Minute)
	if got := e.pass(r); len(got) != 0 {
		t.Errorf("before the deadline: %+v", got)
	}
	e.clock.Advance(2 * time.Minute)
	as := e.pass(r)[healthcode.DetectOverdueAppeal]
	if len(as) != 1 || as[0].Key != "appeal/"+strconv.FormatInt(a.ID, 10) || !slices.Equal(as[0].People, []string{e.subj[1]}) || !as[0].FirstEffectAt.Equal(a.Deadline) {
		t.Errorf("alerts = %+v", as)
	}
	// Escalated by the node, it stays one alert.
	if _, err := e.eng.EscalateAppeals(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.pass(r); len(got) != 0 {
		t.Errorf("after escalation: %+v", got)
	}
}

// TestOversightIntegrity: the node's self-audit finding an edited leaf is an
// alert; the untouched log is none.
func TestOversightIntegrity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	e.submitOK(lab, naTest(0, e.ids[0], "S-1", e.clock.Now().Add(-time.Hour), healthcode.Positive))
	skey, vkey, err := tlog.GenerateKey(rand.Reader, "healthcode.test/410100")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tlog.ParseSigner(skey)
	verifier, _ := tlog.ParseVerifier(vkey)
	pub := &tlog.Publisher{Origin: "healthcode.test/410100", Signer: signer, Verifier: verifier, Store: e.db,
		LastPath: filepath.Join(t.TempDir(), "checkpoint"), Clock: e.clock}
	if _, err := pub.Publish(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := e.watch()
	r.Integrity = pub
	if err := pub.Audit(e.ctx); err != nil {
		t.Fatalf("audit of the untouched log: %v", err)
	}
	if got := e.pass(r)[healthcode.DetectIntegrity]; len(got) != 0 {
		t.Fatalf("untouched: %+v", got)
	}
	var leaf []byte
	e.view(func(tx healthcode.ReadTx) error { var err error; leaf, err = tx.LogLeaf(e.ctx, 2); return err })
	leaf[len(leaf)-1] ^= 1
	if err := e.db.Exec(e.ctx, `UPDATE log_leaves SET data = ? WHERE leaf = ?`, leaf, 2); err != nil {
		t.Fatal(err)
	}
	pub.Audit(e.ctx)
	as := e.pass(r)[healthcode.DetectIntegrity]
	if len(as) != 1 || !strings.HasPrefix(as[0].Key, "log/") || !strings.Contains(as[0].Summary, "log") {
		t.Errorf("alerts = %+v", as)
	}
}

// TestOversightUnlinkedDesignation: a designation approved after the
// check-ins that linked its case to the venue were removed (the engine
// checked them at request) is an alert naming both officials; a linked one
// is none.
func TestOversightUnlinkedDesignation(t *testing.T) {
	t.Parallel()
	for _, removed := range []bool{true, false} {
		e := newEnv(t, envConfig{people: 6})
		e.enrol(epi, approver)
		r := e.watch()
		v := e.liveVenue("410103")
		from := e.clock.Now()
		e.checkIn(0, v, true)
		for i := 2; i < 6; i++ {
			e.checkIn(i, v, true)
		}
		e.clock.Advance(time.Hour)
		caseID := e.openCaseOf(0, e.clock.Now())
		d := healthcode.RiskDesignation{Venue: v.ID, Level: healthcode.RiskHigh, Reason: "case_visited", From: from.Add(-time.Minute),
			Until: from.Add(time.Minute), Expires: e.clock.Now().Add(healthcode.Day)}
		e.view(func(tx healthcode.ReadTx) error {
			c, err := tx.Case(e.ctx, caseID)
			d.Cases = []int64{c.Diagnosis}
			return err
		})
		dd, err := e.eng.RequestDesignation(e.ctx, epi, d)
		if err != nil {
			t.Fatal(err)
		}
		e.pass(r)
		if removed {
			if err := e.db.Exec(e.ctx, `DELETE FROM checkins WHERE subject = ?`, e.subj[0]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.eng.ApproveDesignation(e.ctx, approver, dd.ID); err != nil {
			t.Fatal(err)
		}
		as := e.pass(r)[healthcode.DetectUnlinkedDesignation]
		if !removed {
			if len(as) != 0 {
				t.Errorf("a linked designation raised %+v", as)
			}
			continue
		}
		if len(as) != 1 || as[0].Key != "designation/"+strconv.FormatInt(dd.ID, 10) || !slices.Equal(as[0].Officials, sorted([]string{epi.ID, approver.ID})) ||
			!slices.Equal(as[0].People, sorted(e.subj[2:6])) {
			t.Errorf("alerts = %+v", as)
		}
	}
}

// TestOversightUnconfirmedDesignation: the people a designation exposes
// while the case it cites is a positive test no diagnosis has confirmed are
// above green on no confirmed case: an alert naming the designation's
// officials and the people; citing the confirmed diagnosis, none.
func TestOversightUnconfirmedDesignation(t *testing.T) {
	t.Parallel()
	for _, confirmed := range []bool{false, true} {
		e := newEnv(t, envConfig{people: 6})
		e.enrol(epi, approver, clinic)
		r := e.watch()
		v := e.liveVenue("410103")
		from := e.clock.Now()
		for _, i := range []int{0, 2, 3, 4, 5} {
			e.checkIn(i, v, true)
		}
		e.clock.Advance(time.Hour)
		var basis int64
		if confirmed {
			caseID := e.openCaseOf(0, e.clock.Now())
			e.view(func(tx healthcode.ReadTx) error { c, err := tx.Case(e.ctx, caseID); basis = c.Diagnosis; return err })
		} else {
			e.corroborate(e.ids[0], e.clock.Now())
			for _, ev := range e.evidence(e.subj[0]) {
				if ev.Kind.IsTest() && ev.Result == healthcode.Positive {
					basis = ev.ID
				}
			}
		}
		d := healthcode.RiskDesignation{Venue: v.ID, Level: healthcode.RiskHigh, Reason: "case_visited", From: from.Add(-time.Minute),
			Until: from.Add(time.Minute), Expires: e.clock.Now().Add(healthcode.Day), Cases: []int64{basis}}
		dd, err := e.eng.RequestDesignation(e.ctx, epi, d)
		if err != nil {
			t.Fatal(err)
		}
		e.pass(r)
		if _, err := e.eng.ApproveDesignation(e.ctx, approver, dd.ID); err != nil {
			t.Fatal(err)
		}
		for i := 2; i < 6; i++ {
			if e.colour(i) == healthcode.Green {
				t.Fatalf("person %d exposed by designation %d is green", i, dd.ID)
			}
		}
		as := e.pass(r)[healthcode.DetectUncorroborated]
		if confirmed {
			if len(as) != 0 {
				t.Errorf("exposures of a confirmed case raised %+v", as)
			}
			continue
		}
		if len(as) != 1 || as[0].Key != "designation/"+strconv.FormatInt(dd.ID, 10) || !slices.Equal(as[0].Officials, sorted([]string{epi.ID, approver.ID})) ||
			!slices.Equal(as[0].People, sorted(e.subj[2:6])) {
			t.Errorf("alerts = %+v", as)
		}
	}
}
