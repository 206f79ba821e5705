package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

// Dashboard checks the counts the auditor's dashboard reads:
// ReadTx.DecisionCounts, RestrictiveActions and AppealsFiled, each with
// what it must leave out (a green override, a negative result, a record's
// evidence counted twice, anything outside the window).
func Dashboard(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	a := MustPerson(t, s, "甲", "410102199001011011")
	b := MustPerson(t, s, "乙", "410102199001011038")
	op := healthcode.Principal{ID: "op-1", Name: "运营 王五", Role: healthcode.RoleOperator, Unit: "u-ops"}
	ap := healthcode.Principal{ID: "ap-1", Name: "审批 赵六", Role: healthcode.RoleApprover, Unit: "u-appr"}
	epi := healthcode.Principal{ID: "epi-1", Name: "流调 李娜", Role: healthcode.RoleEpidemiologist, Unit: "u-cdc"}
	epi2 := healthcode.Principal{ID: "epi-2", Name: "流调 周七", Role: healthcode.RoleEpidemiologist, Unit: "u-cdc2"}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateUnit(ctx, &healthcode.Unit{ID: "u-lab", Name: "检测所", Region: "410102", CreatedAt: t0, CreatedBy: "system"}); err != nil {
			return err
		}
		return tx.CreateOfficial(ctx, &healthcode.Official{ID: "lab-1", Name: "检测所 一", Role: healthcode.RoleLab, Unit: "u-lab",
			Status: healthcode.OfficialActive, CreatedAt: t0, CreatedBy: "system"})
	})
	ev := func(id string, kind healthcode.EvidenceKind, result string, at time.Time, by healthcode.Principal) *healthcode.Evidence {
		return &healthcode.Evidence{Kind: kind, Subject: a.Pseudonym, Submitter: by.ID, SubmitterName: by.Name, SubmitterRole: by.Role,
			ExternalID: id, ObservedAt: at, RecordedAt: at, Result: result}
	}
	lab := healthcode.Principal{ID: "lab-1", Name: "检测所 一", Role: healthcode.RoleLab}
	var fromRecord *healthcode.Evidence
	update(t, s, func(tx healthcode.Tx) error {
		fromRecord = ev("CC-1", healthcode.CloseContact, "", t0.Add(day+3*time.Hour), epi)
		evs := []*healthcode.Evidence{
			ev("P-1", healthcode.NucleicAcidTest, healthcode.Positive, t0.Add(2*time.Hour), lab),
			ev("N-1", healthcode.NucleicAcidTest, healthcode.Negative, t0.Add(2*time.Hour), lab), // not restrictive
			ev("P-2", healthcode.NucleicAcidTest, healthcode.Positive, t0.Add(-time.Hour), lab),  // before the window
			fromRecord,
		}
		if _, err := tx.InsertEvidence(ctx, evs); err != nil {
			return err
		}
		for i, d := range []healthcode.Decision{
			{Colour: healthcode.Green, Reason: "default", DecidedAt: t0.Add(time.Hour)},
			{Colour: healthcode.Red, Reason: "positive", DecidedAt: t0.Add(2 * time.Hour)},
			{Colour: healthcode.Red, Reason: "positive", DecidedAt: t0.Add(day + time.Hour)},
			{Colour: healthcode.Yellow, Reason: "close_contact", DecidedAt: t0.Add(day + 2*time.Hour)},
			{Colour: healthcode.Red, Reason: "positive", DecidedAt: t0.Add(3 * day)}, // after the window
		} {
			d.Subject, d.RuleID, d.RuleSetVersion, d.RuleSetHash, d.ReviewAt = []string{a.Pseudonym, b.Pseudonym}[i%2], "r", "v", "h", d.DecidedAt
			if err := tx.PutDecision(ctx, &d); err != nil {
				return err
			}
		}
		red := &healthcode.Override{Subjects: []string{a.Pseudonym, b.Pseudonym}, Colour: healthcode.Red, Reason: "lab_result_delayed",
			Basis: []int64{1}, Expires: t0.Add(5 * day), Status: healthcode.OverridePending, Requester: op, CreatedAt: t0.Add(day)}
		if err := tx.CreateOverride(ctx, red); err != nil {
			return err
		}
		red.Status, red.Approver, red.ApprovedAt = healthcode.OverrideActive, &ap, t0.Add(day+time.Hour)
		if err := tx.UpdateOverride(ctx, red); err != nil {
			return err
		}
		green := &healthcode.Override{Subjects: []string{a.Pseudonym}, Colour: healthcode.Green, Reason: "data_entry_correction",
			Expires: t0.Add(5 * day), Status: healthcode.OverrideActive, Requester: op, CreatedAt: t0.Add(day)} // not restrictive
		if err := tx.CreateOverride(ctx, green); err != nil {
			return err
		}
		d := &healthcode.RiskDesignation{Area: "410102", Level: healthcode.RiskHigh, Reason: "cluster", Cases: []int64{1}, From: t0, Until: t0.Add(time.Hour),
			Expires: t0.Add(5 * day), Status: healthcode.DesignationPending, CreatedAt: t0.Add(3 * time.Hour), Requester: epi}
		if err := tx.CreateDesignation(ctx, d); err != nil {
			return err
		}
		if err := tx.ApproveDesignation(ctx, d.ID, &ap, t0.Add(4*time.Hour), 7, 12); err != nil {
			return err
		}
		r := &healthcode.PendingRecord{Evidence: *fromRecord, Link: healthcode.Link{Kind: healthcode.LinkInterview}, Status: healthcode.RecordPending,
			Requester: epi, CreatedAt: t0.Add(day + 2*time.Hour)}
		if err := tx.CreatePendingRecord(ctx, r); err != nil {
			return err
		}
		r.Status, r.Confirmer, r.DecidedAt, r.EvidenceID = healthcode.RecordInForce, &epi2, t0.Add(day+3*time.Hour), fromRecord.ID
		if err := tx.UpdatePendingRecord(ctx, r); err != nil {
			return err
		}
		for i, at := range []time.Time{t0.Add(time.Hour), t0.Add(day), t0.Add(5 * day)} {
			ap := &healthcode.Appeal{Subject: []string{a.Pseudonym, b.Pseudonym, a.Pseudonym}[i], Kind: healthcode.AppealColour, Status: healthcode.AppealOpen,
				Colour: healthcode.Red, CreatedAt: at, Deadline: at.Add(healthcode.AppealDeadline), LogIndex: -1}
			if err := tx.CreateAppeal(ctx, ap); err != nil {
				return err
			}
			if i == 0 {
				ap.Status, ap.AnsweredAt, ap.AnsweredBy, ap.Answer = healthcode.AppealDenied, at.Add(3*time.Hour), "op", "no"
				if err := tx.UpdateAppeal(ctx, ap); err != nil {
					return err
				}
			}
		}
		return nil
	})

	q := healthcode.DashboardQuery{Since: t0, Until: t0.Add(2 * day), Bucket: day}
	d1 := t0.Add(day)
	view(t, s, func(tx healthcode.ReadTx) error {
		decisions, err := tx.DecisionCounts(ctx, q)
		if err != nil {
			return err
		}
		want := []healthcode.DecisionCount{
			{Bucket: t0, Colour: healthcode.Green, Reason: "default", Count: 1},
			{Bucket: t0, Colour: healthcode.Red, Reason: "positive", Count: 1},
			{Bucket: d1, Colour: healthcode.Yellow, Reason: "close_contact", Count: 1},
			{Bucket: d1, Colour: healthcode.Red, Reason: "positive", Count: 1},
		}
		if diff := cmp.Diff(want, decisions); diff != "" {
			t.Errorf("DecisionCounts (-want +got):\n%s", diff)
		}
		actions, err := tx.RestrictiveActions(ctx, q)
		if err != nil {
			return err
		}
		wantActions := []healthcode.ActionCount{
			{Bucket: t0, Kind: healthcode.ActionDesignationApproval, Official: "ap-1", Name: "审批 赵六", Unit: "u-appr", Count: 1, People: 12},
			{Bucket: t0, Kind: healthcode.ActionDesignationRequest, Official: "epi-1", Name: "流调 李娜", Unit: "u-cdc", Count: 1, People: 12},
			{Bucket: t0, Kind: healthcode.ActionPositive, Official: "lab-1", Name: "检测所 一", Unit: "u-lab", Count: 1, People: 1},
			{Bucket: d1, Kind: healthcode.ActionOverrideApproval, Official: "ap-1", Name: "审批 赵六", Unit: "u-appr", Count: 1, People: 2},
			{Bucket: d1, Kind: healthcode.ActionOverrideRequest, Official: "op-1", Name: "运营 王五", Unit: "u-ops", Count: 1, People: 2},
			{Bucket: d1, Kind: healthcode.ActionRecordConfirmation, Official: "epi-2", Name: "流调 周七", Unit: "u-cdc2", Count: 1, People: 1},
			{Bucket: d1, Kind: healthcode.ActionRecordRequest, Official: "epi-1", Name: "流调 李娜", Unit: "u-cdc", Count: 1, People: 1},
		}
		if diff := cmp.Diff(wantActions, actions); diff != "" {
			t.Errorf("RestrictiveActions (-want +got):\n%s", diff)
		}
		appeals, err := tx.AppealsFiled(ctx, t0, t0.Add(2*day), 10)
		if err != nil {
			return err
		}
		if len(appeals) != 2 || !appeals[0].CreatedAt.Equal(t0.Add(day)) || !appeals[1].AnsweredAt.Equal(t0.Add(4*time.Hour)) {
			t.Errorf("AppealsFiled = %+v, want the two filed in the window, newest first", appeals)
		}
		if one, err := tx.AppealsFiled(ctx, t0, t0.Add(2*day), 1); err != nil || len(one) != 1 {
			t.Errorf("AppealsFiled with limit 1 = %d, %v", len(one), err)
		}
		if _, err := tx.DecisionCounts(ctx, healthcode.DashboardQuery{Since: t0, Until: t0, Bucket: day}); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("an empty window: %v", err)
		}
		if _, err := tx.RestrictiveActions(ctx, healthcode.DashboardQuery{Since: t0, Until: t0.Add(1000 * day), Bucket: time.Hour}); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("too many buckets: %v", err)
		}
		return nil
	})
}
