package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
)

// Cases checks the registry of cases, pending records, unmask requests and
// the bulk counts: what is stored reads back whole, ids are unique, lists
// filter by person and status, and bulk people are counted per key over a
// window, once each, until a refusal removes them.
func Cases(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	a := MustPerson(t, s, "张小明", "410102199001011234")
	b := MustPerson(t, s, "李四", "410102199001011235")
	clinic := healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic, Unit: "发热门诊"}
	c := &healthcode.Case{ID: "C-ABCDEFGHIJ", Subject: a.Pseudonym, Diagnosis: 7, Clinic: clinic, DiagnosedAt: t0,
		InfectiousFrom: t0.Add(-4 * healthcode.Day), InfectiousUntil: t0, CreatedAt: t0.Add(time.Minute), LogIndex: 3}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateCase(ctx, c) })
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.CreateCase(ctx, c) })
	wantCode(t, err, healthcode.ECONFLICT)
	err = s.Update(ctx, func(tx healthcode.Tx) error {
		x := *c
		x.ID, x.Subject = "C-NOBODY0000", "pnobody"
		return tx.CreateCase(ctx, &x)
	})
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Case(ctx, c.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("Case (-stored +read):\n%s", diff)
		}
		if _, err := tx.Case(ctx, "C-NONE000000"); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			t.Errorf("unknown case: %v", err)
		}
		cs, err := tx.CasesOf(ctx, a.Pseudonym)
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
			t.Errorf("CasesOf = %+v, %v", cs, err)
		}
		if cs, err := tx.CasesOf(ctx, b.Pseudonym); err != nil || len(cs) != 0 {
			t.Errorf("CasesOf another person = %+v, %v", cs, err)
		}
		return nil
	})

	epi := healthcode.Principal{ID: "epi-1", Name: "流调员", Role: healthcode.RoleEpidemiologist, Unit: "市疾控"}
	epi2 := healthcode.Principal{ID: "epi-2", Name: "流调员 二", Role: healthcode.RoleEpidemiologist, Unit: "区疾控"}
	r := &healthcode.PendingRecord{Evidence: healthcode.Evidence{Kind: healthcode.CloseContact, Subject: b.Pseudonym, Submitter: epi.ID,
		SubmitterName: epi.Name, SubmitterRole: epi.Role, ExternalID: "CC-1", ObservedAt: t0, RecordedAt: t0, CaseRef: c.ID},
		Link: healthcode.Link{Kind: healthcode.LinkInterview}, Case: c.ID, Status: healthcode.RecordPending, Requester: epi, CreatedAt: t0}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreatePendingRecord(ctx, r) })
	if r.ID == 0 {
		t.Fatal("CreatePendingRecord set no ID")
	}
	r.Status, r.Confirmer, r.CoSignNeeded, r.DecidedAt, r.EvidenceID = healthcode.RecordInForce, &epi2, true, t0.Add(time.Hour), 42
	update(t, s, func(tx healthcode.Tx) error { return tx.UpdatePendingRecord(ctx, r) })
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.PendingRecord(ctx, r.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("PendingRecord (-stored +read):\n%s", diff)
		}
		if _, err := tx.PendingRecord(ctx, r.ID+100); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			t.Errorf("unknown record: %v", err)
		}
		for _, q := range []struct {
			subject, status string
			want            int
		}{{b.Pseudonym, "", 1}, {b.Pseudonym, healthcode.RecordInForce, 1}, {b.Pseudonym, healthcode.RecordPending, 0}, {a.Pseudonym, "", 0}, {"", "", 1}} {
			if rs, err := tx.PendingRecords(ctx, q.subject, q.status, 10); err != nil || len(rs) != q.want {
				t.Errorf("PendingRecords(%q, %q) = %d, %v; want %d", q.subject, q.status, len(rs), err, q.want)
			}
		}
		return nil
	})

	u := &healthcode.UnmaskRequest{Subject: b.Pseudonym, Purpose: "contact_tracing", Case: c.ID, Status: healthcode.UnmaskPending, Requester: epi, CreatedAt: t0}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateUnmaskRequest(ctx, u) })
	approver := healthcode.Principal{ID: "ap-1", Name: "审批人", Role: healthcode.RoleApprover, Unit: "市卫健委"}
	u.Status, u.Approver, u.ApprovedAt, u.Expires = healthcode.UnmaskApproved, &approver, t0.Add(time.Hour), t0.Add(25*time.Hour)
	update(t, s, func(tx healthcode.Tx) error { return tx.UpdateUnmaskRequest(ctx, u) })
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.UnmaskRequest(ctx, u.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("UnmaskRequest (-stored +read):\n%s", diff)
		}
		if us, err := tx.UnmaskRequests(ctx, b.Pseudonym, healthcode.UnmaskApproved, 10); err != nil || len(us) != 1 {
			t.Errorf("UnmaskRequests = %+v, %v", us, err)
		}
		if us, err := tx.UnmaskRequests(ctx, a.Pseudonym, "", 10); err != nil || len(us) != 0 {
			t.Errorf("UnmaskRequests of another person = %+v, %v", us, err)
		}
		return nil
	})

	// Bulk: override 1 names a and b for case C by op-1; record 2 names b
	// again for the case by epi-1; override 1 is approved by ap-1.
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.AddBulk(ctx, []healthcode.BulkEntry{
			{Kind: healthcode.BulkOverride, Ref: 1, Subject: a.Pseudonym, Requester: "op-1", Case: c.ID, At: t0},
			{Kind: healthcode.BulkOverride, Ref: 1, Subject: b.Pseudonym, Requester: "op-1", Case: c.ID, At: t0},
			{Kind: healthcode.BulkRecord, Ref: 2, Subject: b.Pseudonym, Requester: "epi-1", Case: c.ID, At: t0.Add(time.Hour)},
		}); err != nil {
			return err
		}
		return tx.SetBulkApprover(ctx, healthcode.BulkOverride, 1, "ap-1", t0.Add(2*time.Hour))
	})
	people := func(k healthcode.BulkKey, since time.Time) []string {
		var out []string
		view(t, s, func(tx healthcode.ReadTx) error {
			var err error
			out, err = tx.BulkPeople(ctx, k, since)
			slices.Sort(out)
			return err
		})
		return out
	}
	both := []string{a.Pseudonym, b.Pseudonym}
	slices.Sort(both)
	for _, q := range []struct {
		key   healthcode.BulkKey
		since time.Time
		want  []string
	}{
		{healthcode.BulkKey{Case: c.ID}, t0, both},
		{healthcode.BulkKey{Requester: "op-1"}, t0, both},
		{healthcode.BulkKey{Requester: "epi-1"}, t0, []string{b.Pseudonym}},
		{healthcode.BulkKey{Approver: "ap-1"}, t0.Add(2 * time.Hour), both},
		{healthcode.BulkKey{Approver: "ap-1"}, t0.Add(3 * time.Hour), nil},
		{healthcode.BulkKey{Case: c.ID}, t0.Add(90 * time.Minute), both}, // the approval moved override 1 on
		{healthcode.BulkKey{Requester: "nobody"}, t0, nil},
	} {
		if got := people(q.key, q.since); !slices.Equal(got, q.want) {
			t.Errorf("BulkPeople(%+v, %v) = %v, want %v", q.key, q.since, got, q.want)
		}
	}
	update(t, s, func(tx healthcode.Tx) error { return tx.DeleteBulk(ctx, healthcode.BulkOverride, 1) })
	if got := people(healthcode.BulkKey{Case: c.ID}, t0); !slices.Equal(got, []string{b.Pseudonym}) {
		t.Errorf("after a refusal, the case counts %v", got)
	}
}
