package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"testing"
	"time"

	"healthcode"
	"healthcode/rules"
	"strings"
)

// TestOpenAPITour calls, with a 2xx answer, the operations the other tests
// of this package exercise only by their refusals, so that every answer of
// every operation is validated against openapi.json (fixture.do does it;
// TestMain checks that each operation was seen): tiles, receipts, reads with
// a purpose, tracing, unmasking, records, designations and overrides signed
// and refused, rule sets approved, officials changed and refused.
func TestOpenAPITour(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	call := func(method, path string, role healthcode.Role, body any, want int) []byte {
		t.Helper()
		var b []byte
		ct := ""
		if body != nil {
			if s, ok := body.(string); ok {
				b, ct = []byte(s), "application/yaml"
			} else {
				b, ct = mustJSON(t, body), "application/json"
			}
		}
		tok := f.tokens[role]
		if role == "admin2" {
			tok = tourTokens.admin2
		} else if role == "epi2" {
			tok = tourTokens.epi2
		}
		a := f.do(t, method, path, tok, ct, b)
		if a.status != want {
			t.Fatalf("%s %s as %s: %d, want %d\n%s", method, path, role, a.status, want, a.body)
		}
		return a.body
	}
	// Second officials of other units.
	for _, p := range []struct {
		dst  *string
		role healthcode.Role
		unit string
	}{{&tourTokens.admin2, healthcode.RoleAdmin, "unit-admin-2"}, {&tourTokens.epi2, healthcode.RoleEpidemiologist, "unit-epi-2"}} {
		tok, err := f.engine.CreateToken(ctx, &healthcode.Principal{Name: "second " + string(p.role), Role: p.role, Unit: p.unit})
		if err != nil {
			t.Fatal(err)
		}
		*p.dst = tok
	}
	epi := healthcode.RoleEpidemiologist

	// A venue, the person and the case's person present there together,
	// then the case.
	venue := pageVenue(t, f, "面馆", true)
	live := venueCode(t, f, venue).Live
	call("POST", "/api/v1/checkins", healthcode.RoleCitizen, map[string]string{"code": live}, 201)
	if _, _, err := f.engine.CheckIn(ctx, &healthcode.Principal{ID: f.other.Pseudonym, Name: "citizen", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym}, live); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	caseID, diagnosis := openCase(t, f, "TOUR-1")
	around := func(path string) string {
		return path + "&from=" + url.QueryEscape(f.clock.Now().Add(-3*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(f.clock.Now().Format(time.RFC3339))
	}

	// Purpose-bound reads and tracing.
	call("GET", "/api/v1/people/"+f.person.Pseudonym+"/code?purpose=case_investigation&case="+caseID, epi, nil, 200)
	call("GET", around("/api/v1/trace/venue?venue="+venue+"&purpose=contact_tracing&case="+caseID), epi, nil, 200)
	call("GET", "/api/v1/trace/case?case="+caseID+"&purpose=contact_tracing", epi, nil, 200)
	var u UnmaskJSON
	json.Unmarshal(call("POST", "/api/v1/trace/unmask", epi, map[string]string{"subject": f.person.Pseudonym, "purpose": "contact_tracing", "case": caseID}, 202), &u)
	call("POST", fmt.Sprintf("/api/v1/unmask/%d/refuse", u.ID), healthcode.RoleApprover, map[string]string{"reason": "not needed"}, 200)

	// Interview-linked records: one confirmed by a second epidemiologist,
	// one refused, one co-signed by an auditor.
	record := func(idNumber, ref string) int64 {
		t.Helper()
		var o OutcomeJSON
		json.Unmarshal(call("POST", "/api/v1/evidence", epi, EvidenceJSON{Kind: "close_contact", IDNumber: idNumber, ExternalID: ref, CaseRef: caseID,
			ObservedAt: f.clock.Now().Add(-2 * time.Hour), Link: &LinkJSON{Kind: "interview"}}, 202), &o)
		if o.PendingRecord == 0 {
			t.Fatalf("record %s: no pending record", ref)
		}
		return o.PendingRecord
	}
	call("POST", fmt.Sprintf("/api/v1/records/%d/refuse", record(f.id, "TOUR-R1")), "epi2", map[string]string{"reason": "not a contact"}, 200)
	call("POST", fmt.Sprintf("/api/v1/records/%d/confirm", record(f.id, "TOUR-R2")), "epi2", nil, 200)
	// Past the bulk limit (one person per requester here), a confirmed
	// record waits for an auditor's co-signature.
	f.engine.Bulk.People = 1
	third := "410102199003071277"
	if _, err := f.engine.RegisterPerson(ctx, healthcode.PersonalData{Name: "王五", IDNumber: third}); err != nil {
		t.Fatal(err)
	}
	r3 := record(third, "TOUR-R3")
	call("POST", fmt.Sprintf("/api/v1/records/%d/confirm", r3), "epi2", nil, 200)
	call("POST", fmt.Sprintf("/api/v1/records/%d/cosign", r3), healthcode.RoleAuditor, nil, 200)
	f.engine.Bulk.People = 0

	// Designations: approved, co-signed, refused.
	designation := func() int64 {
		t.Helper()
		var d DesignationJSON
		json.Unmarshal(call("POST", "/api/v1/designations", epi, DesignationJSON{Venue: venue, Level: "medium", Reason: "case_visited", Cases: []int64{diagnosis},
			From: f.clock.Now().Add(-3 * time.Hour), Until: f.clock.Now(), Expires: f.clock.Now().Add(24 * time.Hour)}, 201), &d)
		return d.ID
	}
	call("POST", fmt.Sprintf("/api/v1/designations/%d/cosign", designation()), healthcode.RoleAuditor, nil, 200)
	call("POST", fmt.Sprintf("/api/v1/designations/%d/refuse", designation()), healthcode.RoleApprover, map[string]string{"reason": "window too wide"}, 200)
	call("POST", fmt.Sprintf("/api/v1/designations/%d/approve", designation()), healthcode.RoleApprover, nil, 200)

	// Overrides: approved, co-signed, refused.
	override := func(subjects ...string) int64 {
		t.Helper()
		var o OverrideJSON
		json.Unmarshal(call("POST", "/api/v1/overrides", healthcode.RoleOperator, OverrideJSON{Subjects: subjects, Colour: "red",
			Reason: "epidemiologist_judgement", Basis: []int64{diagnosis}, Case: caseID, Expires: f.clock.Now().Add(3 * 24 * time.Hour)}, 202), &o)
		return o.ID
	}
	call("POST", fmt.Sprintf("/api/v1/overrides/%d/refuse", override(f.person.Pseudonym)), healthcode.RoleApprover, map[string]string{"reason": "no basis"}, 200)
	call("POST", fmt.Sprintf("/api/v1/overrides/%d/approve", override(f.person.Pseudonym)), healthcode.RoleApprover, nil, 200)
	f.engine.Bulk.People = 1 // two people: past the bulk limit, an auditor co-signs
	thirdPerson := f.engine.Keys.Pseudonymize("410100", third)
	call("POST", fmt.Sprintf("/api/v1/overrides/%d/cosign", override(f.person.Pseudonym, thirdPerson)), healthcode.RoleAuditor, nil, 200)
	f.engine.Bulk.People = 0

	// A rule set proposed by one admin, put in force by another.
	src := strings.Replace(string(rules.Baseline()), "version: ", "version: tour-", 1)
	call("POST", "/api/v1/rulesets", healthcode.RoleAdmin, src, 202)
	version := regexp.MustCompile(`(?m)^version: (\S+)`).FindStringSubmatch(src)
	if version == nil {
		t.Fatal("the rule set has no version")
	}
	call("POST", "/api/v1/rulesets/"+version[1]+"/approve", "admin2", nil, 200)

	// An official created, a change of theirs proposed and refused.
	var prop ProposalJSON
	json.Unmarshal(call("POST", "/api/v1/units", healthcode.RoleAdmin, map[string]string{"name": "金水区疾控中心"}, 201), &struct{}{})
	var reg struct {
		Units []struct {
			ID string `json:"id"`
		} `json:"units"`
	}
	json.Unmarshal(call("GET", "/api/v1/registry", healthcode.RoleAdmin, nil, 200), &reg)
	json.Unmarshal(call("POST", "/api/v1/officials", healthcode.RoleAdmin, map[string]string{"name": "流调员 李娜", "role": "epidemiologist", "unit": reg.Units[0].ID}, 202), &prop)
	var official OfficialJSON
	json.Unmarshal(call("POST", fmt.Sprintf("/api/v1/official-proposals/%d/approve", prop.ID), "admin2", nil, 200), &official)
	json.Unmarshal(call("POST", "/api/v1/officials/"+official.ID, healthcode.RoleAdmin, map[string]string{"name": "流调员 李娜娜"}, 202), &prop)
	call("POST", fmt.Sprintf("/api/v1/official-proposals/%d/refuse", prop.ID), "admin2", map[string]string{"reason": "typo"}, 200)

	// Another region's answer about a traveller, as a checkpoint asks it.
	// The federation client is a node of its own (cmd/healthcode's
	// TestFederationThreeRegions runs three); here a fixed answer stands in
	// for it, since only the answer's shape is checked.
	f.srv.Peers = fixedPeer{}
	call("POST", "/api/v1/peer-status", healthcode.RoleVerifier, map[string]string{"code": f.citizenQR(t)}, 200)
	f.srv.Peers = nil

	// The log: a checkpoint, tiles, a receipt, an entry opened by an
	// auditor.
	if _, err := f.publisher.Publish(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	call("GET", "/log/checkpoint", "", nil, 200)
	size := f.logSize(t)
	call("GET", fmt.Sprintf("/log/tile/0/000.p/%d", size%256), "", nil, 200)
	call("GET", fmt.Sprintf("/log/tile/entries/000.p/%d", size%256), "", nil, 200)
	var mine MyCodeJSON
	json.Unmarshal(call("GET", "/api/v1/me/code", healthcode.RoleCitizen, nil, 200), &mine)
	call("GET", fmt.Sprintf("/api/v1/me/proofs/%d", mine.Decision.LogIndex), healthcode.RoleCitizen, nil, 200)
	call("GET", fmt.Sprintf("/api/v1/log/entries/%d?purpose=oversight&case=%s", mine.Decision.LogIndex, caseID), healthcode.RoleAuditor, nil, 200)
}

// tourTokens are the second officials TestOpenAPITour makes.
var tourTokens struct{ admin2, epi2 string }

// fixedPeer answers every traveller's status as the neighbouring region
// would, honoured yellow.
type fixedPeer struct{}

func (fixedPeer) PeerStatus(context.Context, string) (*healthcode.PeerStatus, error) {
	return &healthcode.PeerStatus{Region: "410200", RegionName: "开封市", Colour: healthcode.Yellow, Outcome: healthcode.PeerHonoured}, nil
}
