package http

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/tlog"
)

// spike is what seedSpike did: one operator requested many restrictive
// overrides on one day, against a baseline of a few by another.
type spike struct {
	official string // the spiking operator's id
	day      string // the day of the spike, YYYY-MM-DD (Beijing time)
	n        int    // overrides the operator requested that day
	attempt  int64  // the log index of one of the requests
	override string // the request's override, "override/<id>": what opening it cites
	token    string // the spiking operator's token
}

// seedSpike has, through the real engine, the fixture's operator request
// two ordinary overrides (approved by an approver of another unit), then,
// two days later, a second operator request one override per person for
// n people in an hour: the spike the dashboard must show.
func seedSpike(t *testing.T, f *fixture, n int, approve bool) spike {
	t.Helper()
	ctx := context.Background()
	venue := pageVenue(t, f, "金水区便民超市", true)
	positive := positiveTest(t, f, "SPIKE-1")
	caseID, _ := openCase(t, f, "SPIKE-DX")
	people := bulkPeople(t, f, n)
	sharePresence(t, f, venue, append([]string{f.person.Pseudonym}, people...)...)
	f.clock.Advance(time.Hour)
	operator := principal(t, f, f.tokens[healthcode.RoleOperator])
	approver := principal(t, f, f.tokens[healthcode.RoleApprover])
	request := func(by *healthcode.Principal, subject string) *healthcode.Override {
		t.Helper()
		o, err := f.engine.RequestOverride(ctx, by, healthcode.Override{Subjects: []string{subject}, Colour: healthcode.Yellow,
			Reason: "epidemiologist_judgement", Basis: []int64{positive}, CaseRef: caseID, Expires: f.clock.Now().Add(72 * time.Hour)})
		if err != nil {
			t.Fatalf("override for %s by %s: %v", subject, by.Name, err)
		}
		return o
	}
	for _, s := range people[:2] {
		o := request(operator, s)
		if _, err := f.engine.ApproveOverride(ctx, approver, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Two appeals: one answered in two hours, one left unanswered.
	a, err := f.engine.FileAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), healthcode.AppealColour, "我没有去过那里")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	if _, err := f.engine.AnswerAppeal(ctx, operator, a.ID, false, "您与确诊病例同场所的记录已核实"); err != nil {
		t.Fatal(err)
	}
	other := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})
	if _, err := f.engine.FileAppeal(ctx, principal(t, f, other), healthcode.AppealCorrection, "手机号写错了"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(48 * time.Hour)
	token := pageToken(t, f, &healthcode.Principal{Name: "运营 王五", Role: healthcode.RoleOperator, Unit: "unit-spike"})
	spiker := principal(t, f, token)
	for _, s := range people {
		o := request(spiker, s)
		if approve {
			if _, err := f.engine.ApproveOverride(ctx, approver, o.ID); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(time.Minute)
	}
	sp := spike{official: spiker.ID, token: token, day: f.clock.Now().In(displayZone).Format("2006-01-02"), n: n, attempt: -1}
	size := f.logSize(t)
	// The last requests' entries: find one (an override_attempt).
	ds, _ := f.srv.dashboardService()
	page, err := ds.LogEntries(ctx, principal(t, f, f.tokens[healthcode.RoleAuditor]), healthcode.LogQuery{Type: healthcode.LogOverrideAttempt, Official: spiker.ID, Limit: 1})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Index >= size {
		t.Fatalf("the spike's entries in the log: %+v %v", page, err)
	}
	sp.attempt, sp.override = page.Entries[0].Index, page.Entries[0].RuleID
	return sp
}

// TestDashboardOnlyAuditors: the dashboard, the log browser, an entry, its
// proof and its opening are for auditors. Every other role is refused, and
// a caller with no token is asked to log in. The expectations are written
// here, not read from the route table.
func TestDashboardOnlyAuditors(t *testing.T) {
	f := newFixture(t)
	sp := seedSpike(t, f, 3, false)
	form := "application/x-www-form-urlencoded"
	open := []byte(url.Values{"purpose": {"oversight"}, "case": {sp.override}}.Encode())
	paths := []struct {
		method, path string
		body         []byte
		nobody       int // the answer to a caller with no token
	}{
		{"GET", "/dashboard", nil, 401}, // the login form
		{"GET", "/dashboard/log", nil, 401},
		{"GET", fmt.Sprintf("/dashboard/log/%d", sp.attempt), nil, 401},
		{"GET", fmt.Sprintf("/dashboard/log/%d/proof", sp.attempt), nil, 401},
		{"POST", fmt.Sprintf("/dashboard/log/%d/open", sp.attempt), open, 401},
	}
	want := map[healthcode.Role]int{
		healthcode.RoleAuditor:        200,
		healthcode.RoleEpidemiologist: 403,
		healthcode.RoleOperator:       403,
		healthcode.RoleApprover:       403,
		healthcode.RoleCitizen:        403,
		healthcode.RoleAdmin:          403,
		healthcode.RoleLab:            403,
		healthcode.RoleClinic:         403,
		healthcode.RoleVenue:          403,
		healthcode.RoleSampler:        403,
		healthcode.RoleVerifier:       403,
	}
	for _, p := range paths {
		ct := ""
		if p.body != nil {
			ct = form
		}
		for role, status := range want {
			a := f.do(t, p.method, p.path, f.tokens[role], ct, p.body)
			if a.status != status {
				t.Errorf("%s %s as %s: %d, want %d: %.200s", p.method, p.path, role, a.status, status, a.body)
			}
			if status == 403 && (strings.Contains(string(a.body), sp.official) || strings.Contains(string(a.body), "BEGIN") || strings.Contains(string(a.body), "c2sp.org")) {
				t.Errorf("%s %s as %s: the refusal shows the dashboard's data", p.method, p.path, role)
			}
		}
		a := f.do(t, p.method, p.path, "", ct, p.body)
		if a.status != p.nobody {
			t.Errorf("%s %s with no token: %d, want %d", p.method, p.path, a.status, p.nobody)
		}
		if strings.Contains(string(a.body), sp.official) {
			t.Errorf("%s %s with no token shows the dashboard's data", p.method, p.path)
		}
	}
	// The login form leads back to the dashboard.
	if a := browse(t, f, "GET", "/dashboard", nil, nil, ""); a.status != 401 || !strings.Contains(a.body, `name="next" value="/dashboard"`) || strings.Contains(a.body, sp.official) {
		t.Errorf("the login form does not lead back to the dashboard: %d %s", a.status, a.body)
	}
	// A page session of an epidemiologist or an operator is refused as its
	// token is; an auditor's opens the dashboard.
	for _, role := range []healthcode.Role{healthcode.RoleEpidemiologist, healthcode.RoleOperator, healthcode.RoleCitizen} {
		for _, path := range []string{"/dashboard", "/dashboard/log"} {
			if a := browse(t, f, "GET", path, nil, f.session(f.tokens[role]), ""); a.status != 403 || strings.Contains(a.body, sp.official) {
				t.Errorf("GET %s with a %s's session: %d, want 403", path, role, a.status)
			}
		}
	}
	if a := browse(t, f, "GET", "/dashboard", nil, f.session(f.tokens[healthcode.RoleAuditor]), ""); a.status != 200 || !strings.Contains(a.body, `id="chart-actions-day"`) {
		t.Errorf("GET /dashboard with an auditor's session: %d", a.status)
	}
}

// verifyProof checks an inclusion proof of entry index against the log's
// key.
func verifyProof(t *testing.T, f *fixture, proof []byte, index int64) {
	t.Helper()
	v, err := tlog.ParseVerifier(f.logPub)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tlog.VerifyProof(proof, "healthcode.test/410100", note.VerifierList(v))
	if err != nil || res.Index != index || res.Opened != nil {
		t.Fatalf("the proof of entry %d: %+v %v\n%s", index, res, err, proof)
	}
}

// TestDashboardShowsSpike: after the spike, the dashboard's charts and
// table carry it in their data: the spiking official's bar on the spike's
// day holds every request, their row counts them, and the log browser finds
// them by official and type, each with its inclusion proof.
func TestDashboardShowsSpike(t *testing.T) {
	f := newFixture(t)
	sp := seedSpike(t, f, 25, false)
	auditor := f.tokens[healthcode.RoleAuditor]
	a := f.do(t, "GET", "/dashboard?lang=en", auditor, "", nil)
	if a.status != 200 {
		t.Fatalf("dashboard: %d %s", a.status, a.body)
	}
	body := string(a.body)
	bar := regexp.MustCompile(`<g class="bar" data-category="` + sp.day + `" data-total="(\d+)">(.*?)</g>`).FindStringSubmatch(body)
	if bar == nil {
		t.Fatalf("no bar for the spike's day %s in the chart", sp.day)
	}
	if !strings.Contains(bar[2], fmt.Sprintf(`data-series="%s" data-value="%d"`, sp.official, sp.n)) || bar[1] != fmt.Sprint(sp.n) {
		t.Errorf("the spike's day: total %s, bar %s; want %d by %s", bar[1], bar[2], sp.n, sp.official)
	}
	if !strings.Contains(body, fmt.Sprintf(`<tr data-official="%s" data-total="%d">`, sp.official, sp.n)) {
		t.Error("the actions table has no row of the spike's official with its count")
	}
	// The spiking official is the top bar of the per-official chart.
	if m := regexp.MustCompile(`id="chart-actions-official".*?<g class="bar" data-category="([^"]+)" data-total="(\d+)"`).FindStringSubmatch(body); m == nil || m[1] != sp.official || m[2] != fmt.Sprint(sp.n) {
		t.Errorf("the per-official chart's first bar: %v", m)
	}
	for _, w := range []string{"Oversight dashboard", "Restrictive actions per day, by official", "运营 王五", "Time to answer an appeal", "Yellow and red decisions per day, by reason",
		`<g class="bar" data-category="1to6h" data-total="1">`, `<g class="bar" data-category="overdue" data-total="1">`} {
		if !strings.Contains(body, w) {
			t.Errorf("the dashboard lacks %q", w)
		}
	}
	if strings.Contains(body, "[[") {
		t.Errorf("a message key is missing: %s", regexp.MustCompile(`\[\[[^\]]+\]\]`).FindString(body))
	}

	// The log browser, by official and type.
	a = f.do(t, "GET", "/dashboard/log?lang=en&official="+sp.official+"&type=override_attempt", auditor, "", nil)
	if got := strings.Count(string(a.body), `<tr data-index=`); a.status != 200 || got != sp.n {
		t.Errorf("log browser by official: %d, %d rows, want %d", a.status, got, sp.n)
	}
	if a = f.do(t, "GET", "/dashboard/log?official=nobody", auditor, "", nil); strings.Contains(string(a.body), `<tr data-index=`) {
		t.Error("the log browser shows entries of an official who did nothing")
	}
	// An entry: its proof verifies against the log's key.
	a = f.do(t, "GET", fmt.Sprintf("/dashboard/log/%d/proof", sp.attempt), auditor, "", nil)
	if a.status != 200 {
		t.Fatalf("proof: %d %s", a.status, a.body)
	}
	verifyProof(t, f, a.body, sp.attempt)
	a = f.do(t, "GET", fmt.Sprintf("/dashboard/log/%d?lang=en", sp.attempt), auditor, "", nil)
	if !strings.Contains(string(a.body), "c2sp.org/tlog-proof@v1") || !strings.Contains(string(a.body), sp.official) {
		t.Errorf("the entry page lacks its proof or its actor: %s", a.body)
	}
}

// TestDashboardBadInput: every malformed parameter is a 400 naming it, and
// changes nothing.
func TestDashboardBadInput(t *testing.T) {
	f := newFixture(t)
	auditor := f.tokens[healthcode.RoleAuditor]
	size := f.logSize(t)
	for path, status := range map[string]int{
		"/dashboard?days=5":                                           400,
		"/dashboard?days=x":                                           400,
		"/dashboard/log?type=bogus":                                   400,
		"/dashboard/log?before=-1":                                    400,
		"/dashboard/log?before=abc":                                   400,
		"/dashboard/log?from=yesterday":                               400,
		"/dashboard/log?official=a%20b":                               400,
		"/dashboard/log?official=" + strings.Repeat("x", 200):         400,
		"/dashboard/log?from=2026-01-02T00:00&until=2026-01-01T00:00": 400,
		"/dashboard/log/abc":                                          400,
		"/dashboard/log/-1":                                           400,
		"/dashboard/log/99999":                                        404,
		"/dashboard/log/99999/proof":                                  404,
	} {
		if a := f.do(t, "GET", path, auditor, "", nil); a.status != status {
			t.Errorf("GET %s: %d, want %d: %.300s", path, a.status, status, a.body)
		}
	}
	for body, status := range map[string]int{
		"purpose=bogus&case=x":    400,
		"purpose=oversight":       400,
		"purpose=oversight&case=": 400,
	} {
		if a := f.do(t, "POST", "/dashboard/log/1/open", auditor, "application/x-www-form-urlencoded", []byte(body)); a.status != status {
			t.Errorf("POST open %q: %d, want %d", body, a.status, status)
		}
	}
	if f.logSize(t) != size {
		t.Error("a refused request changed the log")
	}
}
