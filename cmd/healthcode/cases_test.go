package main

import (
	"context"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// openCase has a clinic diagnose the person with the ID number a
// confirmed case, and returns the id of the case it opens.
func (tn *testNode) openCase(t *testing.T, idNumber, ref string) string {
	t.Helper()
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-cases", Name: "郑大一附院", Role: healthcode.RoleClinic, Unit: "发热门诊"})
	o := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: idNumber, ExternalID: ref, ObservedAt: tn.clock.Now().Add(-time.Hour),
		Diagnosis: "confirmed"})
	if o.Case == "" {
		t.Fatalf("diagnosis %s opened no case: %+v", ref, o)
	}
	return o.Case
}

// unmaskApprover approves unmask requests in these tests: of another unit
// than any epidemiologist's.
var unmaskApprover = &healthcode.Principal{ID: "ap-unmask", Name: "审批员 卫健委", Role: healthcode.RoleApprover, Unit: "市卫健委"}

// unmask asks who subject is, for the case, has an approver of another
// unit approve, and reads the answer.
func (tn *testNode) unmask(ctx context.Context, epi *healthcode.Principal, subject, caseID string) (*healthcode.Person, error) {
	// Both officials are of the registry: the approval is checked against it.
	for _, p := range []*healthcode.Principal{epi, unmaskApprover} {
		c := *p
		if _, err := tn.engine.CreateToken(ctx, &c); err != nil && healthcode.ErrorCode(err) != healthcode.ECONFLICT {
			return nil, err
		}
	}
	r, err := tn.engine.RequestUnmask(ctx, epi, subject, "contact_tracing", caseID)
	if err != nil {
		return nil, err
	}
	if _, err := tn.engine.ApproveUnmask(ctx, unmaskApprover, r.ID); err != nil {
		return nil, err
	}
	p, _, err := tn.engine.Unmask(ctx, epi, r.ID)
	return p, err
}

// sharePresence has the people (pseudonyms) check in together, with the
// live code of a new venue, now: verified presence at one place, which
// links each to a case among them.
func (tn *testNode) sharePresence(t *testing.T, subjects ...string) {
	t.Helper()
	ctx := context.Background()
	owner := &healthcode.Principal{ID: "owner-shared", Name: "面馆", Role: healthcode.RoleVenue}
	operator := &healthcode.Principal{ID: "op-shared", Name: "操作员", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "面馆", Address: "金水路1号", Region: "410105", Category: "restaurant"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	for _, s := range subjects {
		if c, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s},
			v.LiveCode(tn.clock.Now())); err != nil || !c.Verified {
			t.Fatalf("check-in of %s: %+v %v", s, c, err)
		}
	}
}
