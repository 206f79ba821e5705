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
	sampler := f.tokens[healthcode.RoleSampler]
	for _, tube := range []string{"S-1", "S-2"} {
		f.collect(t, f.id, tube, t0.Add(-time.Hour))
	}
	good := EvidenceJSON{Kind: "nucleic_acid_test", Tube: "S-1", Result: "positive"}
	if a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, good)); a.status != 201 {
		t.Fatalf("good submission: %d %s", a.status, a.body)
	}
	with := func(mod func(*EvidenceJSON)) []byte {
		e := good
		e.Tube = "S-2"
		mod(&e)
		return mustJSON(t, e)
	}
	goodCol := CollectionJSON{IDNumber: "410102199003071250", Tube: "C-1", Site: "金水区文化路采样点", CollectedAt: t0.Add(-time.Hour)}
	col := func(mod func(*CollectionJSON)) []byte {
		c := goodCol
		mod(&c)
		return mustJSON(t, c)
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
		{"a result naming a person", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.IDNumber = "110105194912310021" }), 400, "evidence.by_tube"},
		{"a result naming a pseudonym", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Subject = "pnobody" }), 400, "evidence.by_tube"},
		{"no tube named", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Tube = "" }), 400, "tube.id"},
		{"an unknown tube", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Tube = "S-404" }), 404, "tube.unknown"},
		{"a tube the lab's unit collected", "POST", "/api/v1/evidence", f.tokens[healthcode.RoleSampler], "application/json", with(func(*EvidenceJSON) {}), 403, "auth.role"},
		{"bad result", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Result = "maybe" }), 400, "evidence.result"},
		{"a result saying it is pooled", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Pooled = true; e.PoolID = "S-2" }), 400, "evidence.by_tube"},
		{"a tube with its result in", "POST", "/api/v1/evidence", lab, "application/json", with(func(e *EvidenceJSON) { e.Tube = "S-1"; e.Result = "negative" }), 409, "tube.resulted"},
		{"another role collecting", "POST", "/api/v1/collections", lab, "application/json", col(func(*CollectionJSON) {}), 403, "auth.role"},
		{"a collection of nobody", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.IDNumber = "" }), 400, "collection.person"},
		{"a collection of an unregistered person", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.IDNumber = "110105194912310021" }), 404, "person.unknown"},
		{"a collection with a bad code", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.IDNumber = ""; c.Code = string(flipped) }), 400, ""},
		{"a collection with a foreign code", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.IDNumber = ""; c.Code = foreign }), 400, "qr.unknown_key"},
		{"a collection into a resulted tube", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.Tube = "S-1" }), 409, "tube.resulted"},
		{"a collection into a taken single tube", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.Tube = "S-2" }), 409, "tube.full"},
		{"a collection in the future", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.CollectedAt = t0.Add(time.Hour) }), 400, "collection.future_time"},
		{"a collection with no site", "POST", "/api/v1/collections", sampler, "application/json", col(func(c *CollectionJSON) { c.Site = "" }), 400, "collection.site"},
		{"a collection with an unknown field", "POST", "/api/v1/collections", sampler, "application/json", []byte(`{"tube":"C-1","colour":"red"}`), 400, "http.malformed_json"},
		{"a collection batch and a collection", "POST", "/api/v1/collections", sampler, "application/json", []byte(`{"tube":"C-1","items":[]}`), 400, "collection.shape"},
		{"an empty collection batch", "POST", "/api/v1/collections", sampler, "application/json", []byte(`{"items":[]}`), 400, "collection.empty"},
		{"a collection batch too large", "POST", "/api/v1/collections", sampler, "application/json", mustJSON(t, map[string]any{"items": make([]CollectionJSON, MaxBatch+1)}), 413, "collection.batch_too_large"},
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
	f.collect(t, f.id, "S-9", t0.Add(-time.Hour))
	e := EvidenceJSON{Kind: "nucleic_acid_test", Tube: "S-9", Result: "positive"}
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
		f.collect(t, f.id, fmt.Sprintf("B-%d", i), t0.Add(-time.Hour))
		items = append(items, EvidenceJSON{Kind: "nucleic_acid_test", Tube: fmt.Sprintf("B-%d", i), Result: "negative"})
	}
	items[1].Result = "unclear"
	items[3].Tube = "B-404"
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
	if out.Items[1].Error == nil || out.Items[1].Error.Reason != "evidence.result" || out.Items[3].Error.Reason != "tube.unknown" {
		t.Errorf("bad rows not named: %+v %+v", out.Items[1], out.Items[3])
	}
}

func mustBaseline() []byte { return rules.Baseline() }
