package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/sim"
)

// t0 is when test nodes start: the current hour, because commands a test
// runs on a closed node directory (import without --server) use the real
// clock, and evidence older than its retention period is refused.
var t0 = time.Now().UTC().Truncate(time.Hour)

// farTokens gives every role's tokens a century: the tests move the clock
// through months, and commands run on the wall clock years after t0. The
// expiry of tokens has tests of its own.
func farTokens() healthcode.TokenTTL {
	ttl := healthcode.TokenTTL{}
	for _, r := range healthcode.Roles {
		ttl[r] = 100 * 365 * healthcode.Day
	}
	return ttl
}

// testNode is a real node on a temp SQLite file, served on 127.0.0.1:0,
// with a clock the test moves.
type testNode struct {
	*node
	clock *healthcode.ManualClock
	city  *sim.City
	url   string
	dir   string

	samplerToken string // testSampler's, once made
	basisLab     string // basisLab's, once made
	bases        int    // positives made for diagnoses (corroborate)
}

func startNode(t *testing.T, people int) *testNode {
	t.Helper()
	return startNodeAt(t, people, t0)
}

// startNodeAt is startNode with the node's clock and city starting at t0.
func startNodeAt(t *testing.T, people int, t0 time.Time) *testNode {
	t.Helper()
	return startNodeOn(t, people, t0, testStoreDB(t))
}

// startNodeOn is startNodeAt with the database db (a postgres:// URL; ""
// for the SQLite file in the node's directory).
func startNodeOn(t *testing.T, people int, t0 time.Time, db string) *testNode {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.DB = dir, "127.0.0.1:0", db
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	clock := healthcode.NewManualClock(t0)
	n, err := openNode(ctx, cfg, clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	n.engine.TokenTTL = farTokens()
	if err := n.publishBaselineIfNone(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := sim.New(sim.Config{Seed: 7, People: people, Region: cfg.Region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	var pds []healthcode.PersonalData
	for c := range city.People() {
		pds = append(pds, c.PersonalData())
	}
	if err := n.engine.RegisterPeople(ctx, pds); err != nil {
		t.Fatal(err)
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close(context.Background()) })
	return &testNode{node: n, clock: clock, city: city, url: n.server.URL(), dir: dir}
}

// token provisions p in process (engine.CreateToken); an official given no
// unit gets one of its own.
func (tn *testNode) token(t *testing.T, p healthcode.Principal) string {
	t.Helper()
	if p.Unit == "" && p.Role != healthcode.RoleCitizen {
		p.Unit = "unit of " + p.ID + p.Name
	}
	tok, err := tn.engine.CreateToken(context.Background(), &p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (tn *testNode) citizen(t *testing.T, i int) (pseudonym, idNumber, token string) {
	t.Helper()
	c := tn.city.Person(i)
	pseudonym = tn.engine.Keys.Pseudonymize(tn.cfg.Region, c.IDNumber)
	return pseudonym, c.IDNumber, tn.token(t, healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: pseudonym})
}

// do sends a request and decodes the JSON answer into out (if not nil).
func (tn *testNode) do(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tn.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %v\n%s", method, path, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode
}

func (tn *testNode) myCode(t *testing.T, token string) hchttp.MyCodeJSON {
	t.Helper()
	var c hchttp.MyCodeJSON
	if st := tn.do(t, "GET", "/api/v1/me/code", token, nil, &c); st != 200 {
		t.Fatalf("GET /api/v1/me/code = %d", st)
	}
	return c
}

// testSampler is the sampling site whose collections the tests' labs
// report on: a unit of its own.
var testSampler = healthcode.Principal{ID: "sampler-t1", Name: "金水区文化路核酸采样点", Role: healthcode.RoleSampler, Unit: "金水区核酸采样队"}

// collect has testSampler record, through the API, a sample of the person
// with the ID number taken into tube at the time given.
func (tn *testNode) collect(t *testing.T, idNumber, tube string, at time.Time) {
	t.Helper()
	if tn.samplerToken == "" {
		tn.samplerToken = tn.token(t, testSampler)
	}
	var o hchttp.CollectionOutcomeJSON
	c := hchttp.CollectionJSON{IDNumber: idNumber, Tube: tube, Site: testSampler.Name, CollectedAt: at}
	if st := tn.do(t, "POST", "/api/v1/collections", tn.samplerToken, c, &o); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("POST /api/v1/collections %+v = %d %+v", c, st, o)
	}
}

// submit posts evidence and wants it accepted. A test result written the
// old way (naming the person, with a sample id and time) is sent the
// lawful way: testSampler collects the sample into a tube named by the
// sample id, and the lab reports the tube.
func (tn *testNode) submit(t *testing.T, token string, e hchttp.EvidenceJSON) hchttp.OutcomeJSON {
	t.Helper()
	if e.Kind == string(healthcode.Diagnosis) && e.IDNumber != "" && e.CaseRef == "" &&
		(e.Diagnosis == healthcode.DiagnosisConfirmed || e.Diagnosis == healthcode.DiagnosisAsymptomatic || e.Diagnosis == healthcode.DiagnosisSuspected) {
		tn.corroborate(t, e.IDNumber, e.ObservedAt)
	}
	if (e.Kind == string(healthcode.NucleicAcidTest) || e.Kind == string(healthcode.AntigenTest)) && e.IDNumber != "" {
		tn.collect(t, e.IDNumber, e.ExternalID, e.ObservedAt)
		e = hchttp.EvidenceJSON{Kind: e.Kind, Tube: e.ExternalID, Result: e.Result}
	}
	var o hchttp.OutcomeJSON
	if st := tn.do(t, "POST", "/api/v1/evidence", token, e, &o); st != http.StatusCreated {
		t.Fatalf("POST /api/v1/evidence %+v = %d %+v", e, st, o)
	}
	return o
}

// basisLab reports the positives the tests' diagnoses rest on.
var basisLab = healthcode.Principal{ID: "lab-basis", Name: "郑州市第三检测所", Role: healthcode.RoleLab, Unit: "第三检测所"}

// corroborate gives a diagnosis of the person at the time what it rests
// on: testSampler (another unit than any clinic's) collects a single tube
// an hour before, and basisLab reports it positive.
func (tn *testNode) corroborate(t *testing.T, idNumber string, at time.Time) {
	t.Helper()
	if tn.basisLab == "" {
		tn.basisLab = tn.token(t, basisLab)
	}
	tn.bases++
	tube := fmt.Sprintf("DXBASIS-%d", tn.bases)
	tn.collect(t, idNumber, tube, at.Add(-time.Hour))
	var o hchttp.OutcomeJSON
	if st := tn.do(t, "POST", "/api/v1/evidence", tn.basisLab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "positive"}, &o); st != http.StatusCreated {
		t.Fatalf("the positive a diagnosis rests on: %d %+v", st, o)
	}
}

// verifyOffline writes the citizen's QR PNG to a file and runs
// `healthcode verify --trust trust.json code.png` on it.
func (tn *testNode) verifyOffline(t *testing.T, token string, at time.Time) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", tn.url+"/api/v1/me/qr.png", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET qr.png = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "code.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"verify", "--trust", filepath.Join(tn.dir, "trust.json"), "--at", at.Format(time.RFC3339), path}, &out, &errb)
	return code, out.String() + errb.String()
}

func TestEndToEndPositiveThenRetest(t *testing.T) {
	tn := startNode(t, 1000)
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	_, idNumber, cit := tn.citizen(t, 3)

	if c := tn.myCode(t, cit); c.Decision.Colour != "green" || c.Decision.LogIndex != -1 {
		t.Fatalf("before any evidence: %+v", c.Decision)
	}
	o := tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: idNumber, ExternalID: "S-1",
		ObservedAt: t0.Add(-2 * time.Hour), Result: "positive"})
	if o.Status != "accepted" || o.EvidenceID == 0 {
		t.Fatalf("positive test outcome: %+v", o)
	}
	c := tn.myCode(t, cit)
	if c.Decision.Colour != "red" || c.Decision.RuleID != "positive_test" || !containsID(c.Decision.EvidenceIDs, o.EvidenceID) {
		t.Fatalf("after positive: decision %+v, want red by positive_test resting on evidence %d", c.Decision, o.EvidenceID)
	}
	if c.Decision.Text.EN == "" || c.Decision.Lift.ZH == "" {
		t.Errorf("decision has no words: %+v", c.Decision)
	}
	code, out := tn.verifyOffline(t, cit, t0.Add(time.Minute))
	if code != 0 || !strings.Contains(out, "RED") {
		t.Fatalf("offline verify = %d:\n%s", code, out)
	}
	// The same QR, once expired, is refused with its own exit code.
	if code, out := tn.verifyOffline(t, cit, t0.Add(time.Hour)); code != 7 {
		t.Errorf("verify of an expired QR = %d, want 7:\n%s", code, out)
	}

	tn.clock.Advance(24 * time.Hour)
	o = tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: idNumber, ExternalID: "S-2",
		ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "negative"})
	c = tn.myCode(t, cit)
	if c.Decision.Colour != "green" {
		t.Fatalf("after negative retest: %+v", c.Decision)
	}
	if len(c.History) != 2 || c.History[1].Colour != "red" {
		t.Errorf("history = %+v, want green after red", c.History)
	}
	if code, out := tn.verifyOffline(t, cit, tn.clock.Now()); code != 0 || !strings.Contains(out, "GREEN") {
		t.Fatalf("offline verify after retest = %d:\n%s", code, out)
	}
}

func TestEndToEndCloseContactLiftsByRules(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	epi := tn.token(t, healthcode.Principal{ID: "epi-001", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"})
	_, idNumber, cit := tn.citizen(t, 5)
	exposure := t0
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic})
	_, patient, _ := tn.citizen(t, 6)
	var p hchttp.Problem
	if st := tn.do(t, "POST", "/api/v1/evidence", epi, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: idNumber, ExternalID: "CC-0",
		ObservedAt: exposure, CaseRef: "410100-C001"}, &p); st != 400 || p.Reason != "evidence.unknown_case" {
		t.Fatalf("a contact of a case nobody was diagnosed with: %d %+v", st, p)
	}
	dx := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patient, ExternalID: "DX-1", ObservedAt: exposure.Add(-time.Hour),
		Diagnosis: "confirmed"})
	// The contact rests on an interview: held until a second
	// epidemiologist, of another unit, confirms it.
	var o hchttp.OutcomeJSON
	if st := tn.do(t, "POST", "/api/v1/evidence", epi, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: idNumber, ExternalID: "CC-1",
		ObservedAt: exposure, CaseRef: dx.Case, Link: &hchttp.LinkJSON{Kind: "interview"}}, &o); st != 202 || o.Status != "pending" || o.PendingRecord == 0 {
		t.Fatalf("an interview contact: %d %+v", st, o)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "green" {
		t.Fatalf("an unconfirmed contact changed the colour: %+v", c.Decision)
	}
	epi2 := tn.token(t, healthcode.Principal{ID: "epi-002", Name: "流调员 赵敏", Role: healthcode.RoleEpidemiologist, Unit: "区疾控中心"})
	var r hchttp.RecordJSON
	if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/confirm", o.PendingRecord), epi2, nil, &r); st != 200 || r.Status != "in_force" {
		t.Fatalf("confirmation: %d %+v", st, r)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "red" || c.Decision.RuleID != "close_contact" || c.Decision.LiftsAt == nil {
		t.Fatalf("close contact: %+v", c.Decision)
	}
	for i, day := range []int{1, 2, 3, 5, 7, 10} {
		at := exposure.Add(time.Duration(day-1)*24*time.Hour + 3*time.Hour)
		tn.clock.Set(at.Add(time.Hour))
		tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: idNumber, ExternalID: fmt.Sprintf("CC-T%d", i), ObservedAt: at, Result: "negative"})
		if c := tn.myCode(t, cit); c.Decision.Colour != "red" {
			t.Fatalf("day %d: colour %s, want red until day 10 has passed", day, c.Decision.Colour)
		}
	}
	// Time alone lifts it: the review job re-evaluates when the rule says.
	tn.clock.Set(exposure.Add(10*24*time.Hour + time.Minute))
	if _, _, err := tn.engine.ReviewDue(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "green" {
		t.Fatalf("after 10 days with every test negative: %+v", c.Decision)
	}
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func evidence(kind, idNumber, externalID, result string) hchttp.EvidenceJSON {
	return evidenceAt(t0, kind, idNumber, externalID, result)
}

// evidenceAt is evidence for a node started at start.
func evidenceAt(start time.Time, kind, idNumber, externalID, result string) hchttp.EvidenceJSON {
	return hchttp.EvidenceJSON{Kind: kind, IDNumber: idNumber, ExternalID: externalID, ObservedAt: start.Add(-time.Hour), Result: result}
}
