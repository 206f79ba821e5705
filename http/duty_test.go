package http

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// TestTestingDutyOverHTTP: an epidemiologist issues a testing duty to a
// group in one request (one item per person, linked as an order); each
// waits for a second epidemiologist of another unit (pending), and a
// duty with no end or an interval out of bounds is refused.
func TestTestingDutyOverHTTP(t *testing.T) {
	f := newFixture(t)
	epi := f.tokens[healthcode.RoleEpidemiologist]
	began := t0.Add(-time.Hour)
	item := func(ext string, until time.Time, hours int) EvidenceJSON {
		return EvidenceJSON{Kind: "testing_duty", Subject: f.person.Pseudonym, ExternalID: ext, ObservedAt: began, Until: until,
			EveryHours: hours, Area: "410105", CaseRef: "金水区 2022-09 全员核酸", Link: &LinkJSON{Kind: "order"}}
	}
	body := map[string]any{"items": []EvidenceJSON{item("D-1", began.Add(10*healthcode.Day), 72)}}
	a := f.do(t, "POST", "/api/v1/evidence", epi, "application/json", mustJSON(t, body))
	if a.status != 200 || !strings.Contains(string(a.body), `"status":"pending"`) {
		t.Fatalf("a duty issued by one epidemiologist: %d %s", a.status, a.body)
	}
	for _, bad := range []EvidenceJSON{item("D-2", time.Time{}, 72), item("D-3", began.Add(10*healthcode.Day), 12), item("D-4", began.Add(20*healthcode.Day), 72)} {
		a := f.do(t, "POST", "/api/v1/evidence", epi, "application/json", mustJSON(t, bad))
		var p struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(a.body, &p)
		if a.status != 400 || (p.Reason != "evidence.until" && p.Reason != "evidence.every") {
			t.Errorf("duty %s: %d %s, want 400 evidence.until or evidence.every", bad.ExternalID, a.status, a.body)
		}
	}
	// The person is not yet under the duty: nothing of it is their evidence.
	x, err := f.engine.Export(t.Context(), &healthcode.Principal{Role: healthcode.RoleCitizen, Subject: f.person.Pseudonym}, healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range x.Evidence {
		if e.Kind == healthcode.TestingDuty {
			t.Errorf("an unconfirmed duty is evidence: %+v", e)
		}
	}
}
