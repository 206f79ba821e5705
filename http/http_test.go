package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/engine"
	"healthcode/qr"
	"healthcode/rules"
	"healthcode/sqlite"
	"healthcode/tlog"
)

var t0 = time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)

type fixture struct {
	srv    *Server
	ts     *httptest.Server
	engine *engine.Engine
	db     *sqlite.DB
	clock  *healthcode.ManualClock
	tokens map[healthcode.Role]string
	// person is a registered citizen (the one with the citizen token).
	person *healthcode.Person
	other  *healthcode.Person
	id     string // person's ID number

	publisher *tlog.Publisher
	logPub    string // the log's public note key
}

// longTokens are token lifetimes that outlast the tests which set the
// fixture's clock to the wall clock (years after t0); the expiry of tokens
// has tests of its own (engine, cmd/healthcode).
func longTokens() healthcode.TokenTTL {
	ttl := healthcode.TokenTTL{}
	for _, r := range healthcode.Roles {
		ttl[r] = 20 * 365 * healthcode.Day
	}
	return ttl
}

// newFixture serves a real node (SQLite, rules, log, QR signing) with one
// token per role.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := healthcode.NewManualClock(t0)
	e := &engine.Engine{Store: db, Log: &tlog.Log{}, Region: "410100", Clock: clock,
		Keys:        &healthcode.Keys{Pseudonym: bytes.Repeat([]byte{1}, 32), IDLookup: bytes.Repeat([]byte{2}, 32), Wrap: bytes.Repeat([]byte{3}, 32)},
		LoadRuleSet: rules.Loader, TokenTTL: longTokens()}
	if err := e.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PublishRuleSet(ctx, &healthcode.Principal{Name: "test", Role: healthcode.RoleSystem}, rules.Baseline()); err != nil {
		t.Fatal(err)
	}
	key, err := qr.GenerateKey(qr.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := qr.NewService(key, "410100")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{engine: e, db: db, clock: clock, tokens: map[healthcode.Role]string{}, id: "410102199003071234"}
	if f.person, err = e.RegisterPerson(ctx, healthcode.PersonalData{Name: "张小明", IDNumber: f.id}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = e.RegisterPerson(ctx, healthcode.PersonalData{Name: "李四", IDNumber: "410102199003071250"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range healthcode.Roles {
		p := &healthcode.Principal{Name: "test " + string(r), Role: r, Unit: "unit-" + string(r)}
		if r == healthcode.RoleCitizen {
			p.Subject = f.person.Pseudonym
		}
		tok, err := e.CreateToken(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[r] = tok
	}
	logKey, logPub, err := tlog.GenerateKey(rand.Reader, "healthcode.test/410100")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tlog.ParseSigner(logKey)
	verifier, _ := tlog.ParseVerifier(logPub)
	f.publisher = &tlog.Publisher{Origin: "healthcode.test/410100", Signer: signer, Verifier: verifier, Store: db,
		LastPath: filepath.Join(t.TempDir(), "checkpoint"), Clock: clock}
	f.logPub = logPub
	e.Codes = codes
	f.srv = &Server{Auth: e, Codes: e, Evidence: e, Collections: e, Rules: e, Signer: codes, Clock: clock, Region: "410100", Venues: e, Governance: e, Oversight: e, Retention: healthcode.DefaultRetention(),
		Log: &tlog.Reader{Store: db, Publisher: f.publisher}, Health: func(context.Context) error { return f.publisher.Problem() }}
	e.OnChange = f.srv.Invalidate
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// collect has the fixture's sampling site record a sample of the person
// with the ID number into tube, through the API.
func (f *fixture) collect(t *testing.T, idNumber, tube string, at time.Time) {
	t.Helper()
	c := CollectionJSON{IDNumber: idNumber, Tube: tube, Site: "金水区文化路采样点", CollectedAt: at}
	if a := f.do(t, "POST", "/api/v1/collections", f.tokens[healthcode.RoleSampler], "application/json", mustJSON(t, c)); a.status != 201 && a.status != 200 {
		t.Fatalf("collection into %s: %d %s", tube, a.status, a.body)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, a.body)
	}
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, a.body)
	}
	return p
}

func (f *fixture) do(t *testing.T, method, path, token, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	validateAnswer(t, req, body, a) // against openapi.json (openapi_conformance_test.go)
	return a
}

func (f *fixture) logSize(t *testing.T) int64 {
	t.Helper()
	var n int64
	err := f.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		n, err = tx.LogSize(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleRequest is a valid request for each route, for the matrix.
func (f *fixture) sampleRequest(t *testing.T, rt route, role healthcode.Role) (path, contentType string, body []byte) {
	path = strings.ReplaceAll(rt.Path, "{$}", "")
	path = strings.ReplaceAll(path, "{file}", "app.css")
	path = strings.ReplaceAll(path, "{index}", "0")
	path = strings.ReplaceAll(path, "{id}", "1")
	path = strings.ReplaceAll(path, "{version}", "none")
	path = strings.ReplaceAll(path, "{subject}", f.other.Pseudonym)
	path = strings.ReplaceAll(path, "{path...}", "0/000.p/1")
	switch rt.Method + " " + rt.Path {
	case "POST /api/v1/evidence":
		tube := "M-" + string(role)
		f.collect(t, f.id, tube, t0.Add(-time.Hour))
		e := EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "negative"}
		if role == healthcode.RoleEpidemiologist {
			e = EvidenceJSON{Kind: "travel", IDNumber: f.id, ExternalID: "M-" + string(role), ObservedAt: t0.Add(-time.Hour), RiskLevel: "low", Area: "440305"}
		}
		return path, "application/json", mustJSON(t, e)
	case "POST /api/v1/collections":
		c := CollectionJSON{IDNumber: f.id, Tube: "MC-" + string(role), Site: "金水区文化路采样点", CollectedAt: t0.Add(-time.Hour)}
		return path, "application/json", mustJSON(t, c)
	case "POST /api/v1/verify":
		return path, "application/json", mustJSON(t, map[string]string{"code": f.citizenQR(t)})
	case "POST /api/v1/rulesets":
		src := strings.Replace(string(rules.Baseline()), "version: ", "version: matrix-", 1)
		return path, "application/yaml", []byte(src)
	case "POST /api/v1/venues":
		return path, "application/json", mustJSON(t, VenueJSON{Name: "便利店", Address: "中原路1号", Region: "410102", Category: "retail"})
	case "POST /api/v1/venues/{id}/status":
		return path, "application/json", []byte(`{"status":"active"}`)
	case "POST /api/v1/checkins":
		return path, "application/json", []byte(`{"code":"HCV1:vnone.1.aaaaaaaaaaaaaaaa"}`)
	case "POST /api/v1/designations":
		return path, "application/json", mustJSON(t, DesignationJSON{Venue: "vnone", Level: "high", Reason: "case_visited", Cases: []int64{1},
			From: t0.Add(-3 * time.Hour), Until: t0.Add(-time.Hour), Expires: t0.Add(24 * time.Hour)})
	case "POST /api/v1/trace/unmask":
		return path, "application/json", mustJSON(t, map[string]string{"subject": f.person.Pseudonym, "purpose": "contact_tracing", "case": "C1"})
	case "GET /api/v1/trace/venue":
		return path + "?venue=vnone&from=2022-06-13T00:00:00Z&to=2022-06-14T00:00:00Z&purpose=contact_tracing&case=C1", "", nil
	case "GET /api/v1/trace/case":
		return path + "?case=C1&purpose=contact_tracing", "", nil
	case "POST /api/v1/overrides":
		return path, "application/json", mustJSON(t, OverrideJSON{Subjects: []string{f.other.Pseudonym}, Colour: "green",
			Reason: "data_entry_correction", Expires: t0.Add(24 * time.Hour)})
	case "POST /api/v1/designations/{id}/refuse", "POST /api/v1/overrides/{id}/refuse":
		return path, "application/json", []byte(`{"reason":"matrix"}`)
	case "POST /api/v1/me/appeals":
		return path, "application/json", []byte(`{"kind":"colour","note":"matrix"}`)
	case "POST /api/v1/appeals/{id}/answer":
		return path, "application/json", []byte(`{"grant":false,"answer":"matrix"}`)
	case "GET /api/v1/people/{subject}/code":
		return path + "?purpose=appeal_review&case=C1", "", nil
	case "GET /api/v1/log/entries/{index}":
		return path + "?purpose=oversight&case=C1", "", nil
	case "POST /console/lookup":
		return path, "application/x-www-form-urlencoded", []byte("subject=" + f.other.Pseudonym + "&purpose=appeal_review&case=C1")
	case "POST /console/overrides":
		return path, "application/x-www-form-urlencoded", []byte("subjects=" + f.other.Pseudonym + "&colour=green&reason=data_entry_correction&expires=2022-06-15T16:00")
	case "POST /console/appeals/{id}/answer":
		return path, "application/x-www-form-urlencoded", []byte("decision=deny&answer=matrix")
	case "POST /console/designations":
		return path, "application/x-www-form-urlencoded", []byte("venue=vnone&level=high&reason=case_visited&cases=1&from=2022-06-14T13:00&until=2022-06-14T15:00&expires=2022-06-15T16:00")
	case "POST /login":
		return path, "application/x-www-form-urlencoded", []byte("token=" + f.tokens[healthcode.RoleCitizen])
	}
	return path, "", nil
}

func (f *fixture) citizenQR(t *testing.T) string {
	t.Helper()
	a := f.do(t, "GET", "/api/v1/me/code", f.tokens[healthcode.RoleCitizen], "", nil)
	var c MyCodeJSON
	if err := json.Unmarshal(a.body, &c); err != nil || c.QR == "" {
		t.Fatalf("my code: %d %s", a.status, a.body)
	}
	return c.QR
}

// TestAuthorizationMatrix walks every route with every role and with no
// token: allowed callers get through, others get 401 or 403 and change
// nothing.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	callers := append([]healthcode.Role{""}, healthcode.Roles...)
	for _, rt := range f.srv.routes() {
		for _, role := range callers {
			name := rt.Method + " " + rt.Path + " as " + string(role)
			if role == "" {
				name += "anonymous"
			}
			t.Run(name, func(t *testing.T) {
				path, ct, body := f.sampleRequest(t, rt, role)
				before := f.logSize(t)
				a := f.do(t, rt.Method, path, f.tokens[role], ct, body)
				allowed := rt.allows(role) && (role != "" || rt.Roles == nil)
				switch {
				case allowed && (a.status == 401 || a.status == 403):
					t.Fatalf("allowed caller refused: %d %s", a.status, a.body)
				case allowed && a.status >= 500:
					t.Fatalf("allowed caller got %d: %s", a.status, a.body)
				case !allowed && role == "" && a.status != 401:
					t.Fatalf("anonymous caller got %d, want 401: %s", a.status, a.body)
				case !allowed && role != "" && a.status != 403:
					t.Fatalf("%s got %d, want 403: %s", role, a.status, a.body)
				}
				if !allowed {
					if p := a.problem(t); p.Code == "" || p.Reason == "" {
						t.Errorf("problem without code or reason: %+v", p)
					}
					if after := f.logSize(t); after != before {
						t.Errorf("a refused call changed the log: %d → %d", before, after)
					}
				}
			})
		}
	}
}

// TestOpenAPIMatchesRoutes checks the served OpenAPI document against the
// route table: same paths, same methods, same roles.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	a := f.do(t, "GET", "/api/v1/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Roles []string `json:"x-roles"`
		}
	}
	if err := json.Unmarshal(a.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	seen := map[string]bool{}
	c, err := openAPIConformance()
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range f.srv.apiRoutes() {
		for _, p := range docPaths(c.doc, rt.Path) {
			op, ok := doc.Paths[p][strings.ToLower(rt.Method)]
			if !ok {
				t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, p)
				continue
			}
			seen[rt.Method+" "+p] = true
			want := []string{"anyone"}
			if rt.Roles != nil {
				want = nil
				for _, r := range rt.Roles {
					want = append(want, string(r))
				}
			}
			if !slices.Equal(op.Roles, want) {
				t.Errorf("%s %s: x-roles %v, route allows %v", rt.Method, p, op.Roles, want)
			}
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !seen[strings.ToUpper(m)+" "+p] {
				t.Errorf("OpenAPI documents %s %s, which no route serves", strings.ToUpper(m), p)
			}
		}
	}
}
