package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// TestSpamCheckInsCannotBuryAVisitor: one person scans a venue's printed
// code 10,000 times over three hours. The node keeps a handful of rows
// (one per repeat window) and refuses the rest of the burst with 429 and
// Retry-After; tracing still finds the real, verified visitor, pages through
// every row (10,000 more rows stored as an older node let them be, too) and
// says how many there are; approving a designation of the venue gives the
// spammer one exposure, not thousands, and above the node's bound waits for
// an auditor's co-signature.
func TestSpamCheckInsCannotBuryAVisitor(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	owner := tn.token(t, healthcode.Principal{ID: "venue-owner-9", Name: "德化街商场", Role: healthcode.RoleVenue})
	operator := tn.token(t, healthcode.Principal{ID: "op-9", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	epi := tn.token(t, healthcode.Principal{ID: "epi-9", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"})
	approver := tn.token(t, healthcode.Principal{ID: "appr-9", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	auditor := tn.token(t, healthcode.Principal{ID: "aud-9", Name: "监督员 周敏", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-9", Name: "郑州市第六人民医院", Role: healthcode.RoleClinic})
	visitor, _, a := tn.citizen(t, 1)
	spammer, _, s := tn.citizen(t, 2)
	_, patientID, patient := tn.citizen(t, 3) // a case who was there too

	var v hchttp.VenueJSON
	if st := tn.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "德化街商场", Address: "二七区德化街1号", Region: "410103", Category: "retail"}, &v); st != 201 {
		t.Fatalf("register venue: %d", st)
	}
	if st := tn.post(t, "/api/v1/venues/"+v.ID+"/status", operator, map[string]string{"status": "active"}, nil); st != 200 {
		t.Fatalf("approve venue: %d", st)
	}
	var codes hchttp.VenueCodeJSON
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != 200 {
		t.Fatalf("venue code: %d", st)
	}
	start := tn.clock.Now()
	var ci hchttp.CheckInJSON
	if st := tn.post(t, "/api/v1/checkins", a, map[string]string{"code": codes.Live}, &ci); st != 201 || !ci.Verified {
		t.Fatalf("the real visitor's live scan: %d %+v", st, ci)
	}
	if st := tn.post(t, "/api/v1/checkins", patient, map[string]string{"code": codes.Live}, &ci); st != 201 || !ci.Verified {
		t.Fatalf("the patient's live scan: %d %+v", st, ci)
	}
	// The patient's diagnosis opens the case that tracing and the
	// designation cite.
	caseEv := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patientID, ExternalID: "DX-9",
		ObservedAt: tn.clock.Now().Add(-time.Minute), Diagnosis: "confirmed"})

	// 10,000 scans of the printed code, one a second.
	const spam = 10_000
	statuses := map[int]int{}
	client := &http.Client{}
	body := fmt.Sprintf(`{"code":%q}`, codes.Static)
	for i := 0; i < spam; i++ {
		tn.clock.Advance(time.Second)
		req, _ := http.NewRequest("POST", tn.url+"/api/v1/checkins", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || n < 1 {
				t.Fatalf("429 without a usable Retry-After: %q", resp.Header.Get("Retry-After"))
			}
			_ = n
		}
	}
	t.Logf("spam answers: %v", statuses)
	if statuses[201]+statuses[200]+statuses[429] != spam {
		t.Errorf("spam answers %v: want only 201, 200 (repeat) and 429", statuses)
	}
	if statuses[429] == 0 {
		t.Errorf("10,000 check-ins in under three hours, none refused by the person's rate limit: %v", statuses)
	}
	if statuses[200] == 0 {
		t.Errorf("no spam check-in was answered as a repeat of the earlier one: %v", statuses)
	}
	countOf := func(subject string) int64 {
		var n int64
		if err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			n, _, err = tx.CountCheckIns(ctx, healthcode.CheckInQuery{Venue: v.ID, Subjects: []string{subject}, From: start.Add(-time.Hour), To: tn.clock.Now().Add(time.Hour)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// One row per 30-minute repeat window at most.
	if n, most := countOf(spammer), int64(spam/1800+1); n > most || n != int64(statuses[201]) {
		t.Errorf("the spammer has %d rows (%d acknowledged as new), want at most %d", n, statuses[201], most)
	}

	// An older node let a printed code add a row per scan: 10,050 of them
	// stay in the store and must not hide anyone either.
	const legacy = 10_050
	var rows []*healthcode.CheckIn
	for i := 0; i < legacy; i++ {
		rows = append(rows, &healthcode.CheckIn{Venue: v.ID, Subject: spammer, At: start.Add(time.Duration(i) * time.Second), Slot: -1})
	}
	if err := tn.db.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(ctx, rows); return err }); err != nil {
		t.Fatal(err)
	}
	want := 2 + countOf(spammer) // the visitor, the patient and the spam

	// Tracing pages through every row and says how many there are.
	q := url.Values{"venue": {v.ID}, "from": {start.Add(-time.Hour).Format(time.RFC3339)}, "to": {tn.clock.Now().Add(time.Minute).Format(time.RFC3339)},
		"purpose": {"contact_tracing"}, "case": {caseEv.Case}}
	var first hchttp.TracePageJSON
	if st := tn.do(t, "GET", "/api/v1/trace/venue?"+q.Encode(), epi, nil, &first); st != 200 {
		t.Fatalf("trace: %d", st)
	}
	if first.Total != want || first.People != 3 || first.Next == "" || len(first.Presence) != healthcode.DefaultTracePage {
		t.Fatalf("first trace page: total %d people %d next %q rows %d; want total %d, 3 people, a next page", first.Total, first.People, first.Next, len(first.Presence), want)
	}
	var all []hchttp.TraceJSON
	pages := 0
	q.Set("limit", "3000")
	for {
		var page hchttp.TracePageJSON
		if st := tn.do(t, "GET", "/api/v1/trace/venue?"+q.Encode(), epi, nil, &page); st != 200 {
			t.Fatalf("trace page %d: %d", pages, st)
		}
		if page.Total != want {
			t.Fatalf("trace page %d says %d in all, want %d", pages, page.Total, want)
		}
		all = append(all, page.Presence...)
		pages++
		if page.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatalf("tracing does not end: %d pages of %d rows", pages, len(page.Presence))
		}
		q.Set("after", page.Next)
	}
	if int64(len(all)) != want {
		t.Fatalf("tracing paged through %d rows, want %d", len(all), want)
	}
	seen := map[string]bool{}
	found := false
	for i, p := range all {
		key := p.Subject + p.At.String()
		if seen[key] && p.Subject == visitor {
			t.Errorf("row %d seen twice", i)
		}
		seen[key] = true
		found = found || (p.Subject == visitor && p.Verified)
		if i > 0 && p.At.Before(all[i-1].At) {
			t.Fatalf("rows out of order at %d", i)
		}
	}
	if !found {
		t.Fatal("tracing did not find the real, verified visitor")
	}
	var p hchttp.Problem
	q.Set("after", "garbage")
	if st := tn.do(t, "GET", "/api/v1/trace/venue?"+q.Encode(), epi, nil, &p); st != 400 || p.Reason != "trace.cursor" {
		t.Errorf("a malformed cursor: %d %+v", st, p)
	}
	q.Set("after", "")
	q.Set("limit", "10001")
	if st := tn.do(t, "GET", "/api/v1/trace/venue?"+q.Encode(), epi, nil, &p); st != 400 || p.Reason != "trace.limit" {
		t.Errorf("a page above the limit: %d %+v", st, p)
	}

	// A designation of the venue: one exposure per person, and above the
	// node's bound an auditor co-signs first.
	var d hchttp.DesignationJSON
	if st := tn.post(t, "/api/v1/designations", epi, hchttp.DesignationJSON{Venue: v.ID, Level: "medium", Reason: "case_visited",
		Cases: []int64{caseEv.EvidenceID}, From: start.Add(-time.Hour), Until: tn.clock.Now(), Expires: tn.clock.Now().Add(7 * 24 * time.Hour)}, &d); st != 201 {
		t.Fatalf("request designation: %d", st)
	}
	logBefore := logSize(t, tn)
	tn.engine.DesignationCoSignAbove = 1
	approve := fmt.Sprintf("/api/v1/designations/%d/approve", d.ID)
	if st := tn.post(t, approve, approver, nil, &p); st != 409 || p.Reason != "designation.needs_cosign" || !strings.Contains(p.Detail, "3 exposures") {
		t.Fatalf("approval above the bound without a co-signature: %d %+v", st, p)
	}
	if logSize(t, tn) != logBefore {
		t.Fatal("a refused approval changed the log")
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/cosign", d.ID), approver, nil, &p); st != 403 {
		t.Errorf("a co-signature by an approver: %d", st)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/cosign", d.ID), auditor, nil, &d); st != 200 || d.CoSigner == "" {
		t.Fatalf("co-signature: %d %+v", st, d)
	}
	if st := tn.post(t, approve, approver, nil, &d); st != 200 || d.Status != "approved" || d.Exposures == nil || *d.Exposures != 3 {
		t.Fatalf("approval: %d %+v", st, d)
	}
	exposures := func(subject string) (n int) {
		if err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
			evs, err := tx.Evidence(ctx, subject)
			for _, ev := range evs {
				if ev.Kind == healthcode.VenueExposure {
					n++
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := exposures(spammer); n != 1 {
		t.Errorf("the spammer got %d exposures from %d check-ins, want 1", n, want-2)
	}
	if n := exposures(visitor); n != 1 {
		t.Errorf("the visitor got %d exposures, want 1", n)
	}
	if grew := logSize(t, tn) - logBefore; grew > 10 {
		t.Errorf("approving the designation added %d log entries", grew)
	}
	if c := tn.myCode(t, a); c.Decision.Colour != "yellow" {
		t.Errorf("the verified visitor is %s, want yellow", c.Decision.Colour)
	}
	if c := tn.myCode(t, s); c.Decision.Colour != "green" {
		t.Errorf("the unverified spammer is %s, want green", c.Decision.Colour)
	}
}

func logSize(t *testing.T, tn *testNode) int64 {
	t.Helper()
	var n int64
	if err := tn.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		n, err = tx.LogSize(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
