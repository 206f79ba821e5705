package http

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/qr"
	"healthcode/rules"
)

// TestBadInput sends each kind of bad request and checks the status, the
// problem's stable reason, and that nothing was logged.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	admin := f.tokens[healthcode.RoleAdmin]
	good := EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: f.id, ExternalID: "S-1", ObservedAt: t0.Add(-time.Hour), Result: "positive"}
	if a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, good)); a.status != 201 {
		t.Fatalf("good submission: %d %s", a.status, a.body)
	}
	with := func(mod func(*EvidenceJSON)) []byte {
		e := good
		e.ExternalID = "S-2"
		mod(&e)
		return mustJSON(t, e)
	}
	qrText := f.citizenQR(t)
	flipped := []byte(qrText)
	flipped[len(flipped)/2] ^= 1
	otherKey, _ := qr.GenerateKey(qr.AlgEd25519)
	otherSvc, _ := qr.NewService(otherKey, "410100")
	foreign, _ := otherSvc.SignCode(&healthcode.HealthCode{Region: "410100", Subject: f.person.Pseudonym, MaskedName: "张*明",
		Colour: healthcode.Green, IssuedAt: t0, Expires: t0.Add(5 * time.Minute), RuleSetVersion: "x"})
	mine, _ := f.srv.Signer.SignCode(&healthcode.HealthCode{Region: "410100", Subject: f.person.Pseudonym, MaskedName: "张*明",
		Colour: healthcode.Green, IssuedAt: t0.Add(-time.Hour), Expires: t0.Add(-50 * time.Minute), RuleSetVersion: "x"})
	badRules := strings.Replace(string(mustBaseline()), "s.close_contact.day <= 10", "s.close_contact.day <= 'ten'", 1)
	bigBatch := make([]EvidenceJSON, MaxBatch+1)

	tests := []struct {
		name, method, path, token, ct string
		body                          []byte
		status                        int
		reason                        string
	}{
		{"malformed JSON", "POST", "/api/v1/evidence", lab, "application/json", []byte(`{"kind":`), 400, "http.malformed_json"},
		{"unknown field", "POST", "/api/v1/evidence", lab, "application/json", []byte(`{"kind":"antigen_test","colour":"red"}`), 400, "http.malformed_json"},
		{"trailing data", "POST", "/api/v1/evidence", lab, "application/json", append(mustJSON(t, good), []byte(` {}`)...), 400, "http.malformed_json"},
		{"wrong content type", "POST", "/api/v1/evidence", lab, "text/plain", mustJSON(t, good), 415, "http.content_type"},
		{"unknown kind", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Kind = "horoscope" }), 400, "evidence.kind"},
		{"kind not the lab's", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Kind = "close_contact"; e.CaseRef = "C1" }), 403, "evidence.kind_not_allowed"},
		{"unknown person", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.IDNumber = "110105194912310021" }), 404, "person.unknown"},
		{"unknown pseudonym", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.IDNumber = ""; e.Subject = "pnobody" }), 404, "person.unknown"},
		{"no person named", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.IDNumber = "" }), 400, "evidence.subject"},
		{"result in the future", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.ObservedAt = t0.Add(24 * time.Hour) }), 400, "evidence.future_time"},
		{"no time", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.ObservedAt = time.Time{} }), 400, "evidence.observed_at"},
		{"bad result", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Result = "maybe" }), 400, "evidence.result"},
		{"pooled without tube", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Pooled = true }), 400, "evidence.pool_id"},
		{"no sample id", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.ExternalID = "" }), 400, "evidence.external_id"},
		{"same sample id, other content", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.ExternalID = "S-1"; e.Result = "negative" }), 409, "evidence.conflict"},
		{"empty batch", "POST", "/api/v1/evidence", lab, "application/json", []byte(`{"items":[]}`), 400, "evidence.empty"},
		{"batch too large", "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, map[string]any{"items": bigBatch}), 413, "evidence.batch_too_large"},
		{"no token", "POST", "/api/v1/evidence", "", "application/json", mustJSON(t, good), 401, "auth.required"},
		{"unknown token", "POST", "/api/v1/evidence", "hc_not-a-real-token", "application/json", mustJSON(t, good), 401, "auth.unknown_token"},
		{"malformed token", "POST", "/api/v1/evidence", "xyz", "application/json", mustJSON(t, good), 401, "auth.bad_token"},
		{"QR with a flipped bit", "POST", "/api/v1/verify", "", "application/json", mustJSON(t, map[string]string{"code": string(flipped)}), 400, ""},
		{"truncated QR", "POST", "/api/v1/verify", "", "application/json", mustJSON(t, map[string]string{"code": qrText[:len(qrText)/2]}), 400, "qr.malformed"},
		{"QR of an unknown key", "POST", "/api/v1/verify", "", "application/json", mustJSON(t, map[string]string{"code": foreign}), 400, "qr.unknown_key"},
		{"expired QR", "POST", "/api/v1/verify", "", "application/json", mustJSON(t, map[string]string{"code": mine}), 400, "qr.expired"},
		{"not a QR", "POST", "/api/v1/verify", "", "application/json", mustJSON(t, map[string]string{"code": "hello"}), 400, "qr.malformed"},
		{"rule set with a type error", "POST", "/api/v1/rulesets", admin, "application/yaml", []byte(strings.Replace(badRules, "version: ", "version: bad-", 1)), 400, "rules.compile"},
		{"rule set that is not YAML", "POST", "/api/v1/rulesets", admin, "application/yaml", []byte("rules: [unclosed"), 400, "rules.parse"},
		{"rule set already published", "POST", "/api/v1/rulesets", admin, "application/yaml", mustBaseline(), 409, "ruleset.exists"},
		{"QR too small", "GET", "/api/v1/me/qr.png?size=3", f.tokens[healthcode.RoleCitizen], "", nil, 400, "qr.size"},
		{"no such endpoint", "GET", "/api/v1/nothing", "", "", nil, 404, "http.no_route"},
		{"no such asset", "GET", "/static/nothing.js", "", "", nil, 404, "http.no_asset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.logSize(t)
			a := f.do(t, tt.method, tt.path, tt.token, tt.ct, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			p := a.problem(t)
			if tt.reason != "" && p.Reason != tt.reason {
				t.Errorf("reason %q, want %q (%s)", p.Reason, tt.reason, p.Detail)
			}
			if p.Status != tt.status || p.Detail == "" {
				t.Errorf("problem = %+v", p)
			}
			if after := f.logSize(t); after != before {
				t.Errorf("a refused request changed the log: %d → %d", before, after)
			}
		})
	}
}

// TestDuplicateIsIdempotent: the same submission twice is accepted once.
func TestDuplicateIsIdempotent(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	e := EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: f.id, ExternalID: "S-9", ObservedAt: t0.Add(-time.Hour), Result: "positive"}
	a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, e))
	if a.status != 201 {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	before := f.logSize(t)
	a = f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, e))
	var o OutcomeJSON
	json.Unmarshal(a.body, &o)
	if a.status != 200 || o.Status != healthcode.Duplicate {
		t.Fatalf("second: %d %s", a.status, a.body)
	}
	if after := f.logSize(t); after != before {
		t.Errorf("a duplicate changed the log: %d → %d", before, after)
	}
}

// TestBatchReportsEachRow: a chunk with good and bad rows accepts the good
// ones and names each bad one.
func TestBatchReportsEachRow(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	var items []EvidenceJSON
	for i := 0; i < 5; i++ {
		items = append(items, EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: f.id, ExternalID: fmt.Sprintf("B-%d", i), ObservedAt: t0.Add(-time.Hour), Result: "negative"})
	}
	items[1].Result = "unclear"
	items[3].ObservedAt = t0.Add(48 * time.Hour)
	items = append(items, items[0]) // a duplicate within the chunk
	a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, map[string]any{"items": items}))
	var out struct {
		Summary map[string]int `json:"summary"`
		Items   []OutcomeJSON  `json:"items"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if out.Summary["accepted"] != 3 || out.Summary["rejected"] != 2 || out.Summary["duplicate"] != 1 {
		t.Errorf("summary = %v", out.Summary)
	}
	if out.Items[1].Error == nil || out.Items[1].Error.Reason != "evidence.result" || out.Items[3].Error.Reason != "evidence.future_time" {
		t.Errorf("bad rows not named: %+v %+v", out.Items[1], out.Items[3])
	}
}

func mustBaseline() []byte { return rules.Baseline() }
