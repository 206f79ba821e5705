package http

import (
	"bytes"
	"context"
	"html/template"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// TestStaffPagesOnlyForTheirRoles: the admin, lab and sampling pages show
// their forms to their own role only (anyone else gets the login form
// that leads back), and each of their actions is refused to every other
// role (403, or 401 without a session) by the route, with nothing logged.
// The roles are written here by hand from DESIGN.md's table of who does
// what.
func TestStaffPagesOnlyForTheirRoles(t *testing.T) {
	f := newFixture(t)
	admin, lab, sampler := healthcode.RoleAdmin, healthcode.RoleLab, healthcode.RoleSampler
	pages := []struct {
		path, form string
		role       healthcode.Role
	}{
		{"/admin", `action="/admin/officials"`, admin},
		{"/lab", `action="/lab/upload"`, lab},
		{"/sample", `action="/sample"`, sampler},
	}
	for _, pg := range pages {
		for _, role := range append([]healthcode.Role{""}, healthcode.Roles...) {
			a := browse(t, f, "GET", pg.path, map[string]string{"Accept-Language": "en"}, f.session(f.tokens[role]), "")
			own := role == pg.role
			if a.status != 200 || strings.Contains(a.body, pg.form) != own {
				t.Errorf("GET %s as %q: %d, form shown %v", pg.path, role, a.status, strings.Contains(a.body, pg.form))
			}
			if !own && !strings.Contains(a.body, `<input type="hidden" name="next" value="`+pg.path+`">`) {
				t.Errorf("GET %s as %q: no login form leading back", pg.path, role)
			}
			if own {
				checkPageHTML(t, a.body)
			}
		}
	}
	actions := []struct {
		path  string
		roles []healthcode.Role
	}{
		{"/admin/units", []healthcode.Role{admin}},
		{"/admin/officials", []healthcode.Role{admin}},
		{"/admin/officials/onone/revoke", []healthcode.Role{admin}},
		{"/admin/officials/onone/tokens", []healthcode.Role{admin}},
		{"/admin/proposals/999/approve", []healthcode.Role{admin}},
		{"/admin/proposals/999/refuse", []healthcode.Role{admin}},
		{"/admin/tokens/revoke", []healthcode.Role{admin}},
		{"/admin/rulesets", []healthcode.Role{admin}},
		{"/admin/rulesets/none/approve", []healthcode.Role{admin}},
		{"/admin/keys/venue-secrets", []healthcode.Role{admin}},
		{"/lab/upload", []healthcode.Role{lab}},
		{"/sample", []healthcode.Role{sampler}},
	}
	for _, ac := range actions {
		for _, role := range append([]healthcode.Role{""}, healthcode.Roles...) {
			allowed := slices.Contains(ac.roles, role)
			before := f.logSize(t)
			a := staffPost(t, f, ac.path, f.tokens[role], url.Values{"x": {"1"}})
			switch {
			case allowed && (a.status == 401 || a.status == 403 || a.status >= 500):
				t.Errorf("POST %s as %s: %d %s", ac.path, role, a.status, a.body)
			case !allowed && role == "" && a.status != 401:
				t.Errorf("POST %s as nobody: %d, want 401", ac.path, a.status)
			case !allowed && role != "" && (a.status != 403 || !strings.Contains(a.body, "auth.role") || strings.Contains(a.body, `id="console-error"`)):
				t.Errorf("POST %s as %s: %d, want the route's 403 auth.role", ac.path, role, a.status)
			}
			if !allowed && f.logSize(t) != before {
				t.Errorf("POST %s as %s moved the log", ac.path, role)
			}
		}
	}
}

// TestAdminTwoAdmins: one admin proposes an official, a token and a rule
// set; none takes effect, and the proposer cannot complete any of them;
// a second admin sees what each changes (the rule set as a diff) and
// completes it; the token is shown once and works. Bad forms are refused
// clearly and change nothing.
func TestAdminTwoAdmins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a1 := f.tokens[healthcode.RoleAdmin]
	a2 := pageToken(t, f, &healthcode.Principal{Name: "第二管理员", Role: healthcode.RoleAdmin, Unit: "unit-admin-2"})

	// A unit: refused without a region, then made.
	before := f.logSize(t)
	wantRefusedAt(t, staffPost(t, f, "/admin/units", a1, url.Values{"name": {"金水区疾控中心"}, "region": {"4101"}}), 400, "region.format",
		"A region code is 6 digits")
	if f.logSize(t) != before {
		t.Fatal("a refused unit moved the log")
	}
	a := staffPost(t, f, "/admin/units", a1, url.Values{"name": {"金水区疾控中心"}, "region": {"410105"}})
	wantRedirectTo(t, a, "/admin#units")
	reg := func() *registrySnapshot {
		x, err := f.engine.Registry(ctx, principal(t, f, a1))
		if err != nil {
			t.Fatal(err)
		}
		return &registrySnapshot{x.Units, x.Officials, x.Proposals}
	}
	var unit string
	for _, u := range reg().units {
		if u.Name == "金水区疾控中心" {
			unit = u.ID
		}
	}
	if unit == "" {
		t.Fatal("the unit was not made")
	}

	// An official: a proposal, which its proposer cannot approve.
	wantRefusedAt(t, staffPost(t, f, "/admin/officials", a1, url.Values{"name": {"审批员 新"}, "role": {"overlord"}, "unit": {unit}}), 400, "role.unknown")
	a = staffPost(t, f, "/admin/officials", a1, url.Values{"name": {"审批员 新"}, "role": {"approver"}, "unit": {unit}})
	wantRedirectTo(t, a, "/admin#officials")
	var prop int64
	for _, p := range reg().proposals {
		if p.Status == healthcode.ProposalPending && p.Official.Name == "审批员 新" {
			prop = p.ID
		}
	}
	if prop == 0 {
		t.Fatal("no proposal")
	}
	pid := strconv.FormatInt(prop, 10)
	page := browse(t, f, "GET", "/admin", map[string]string{"Accept-Language": "en"}, f.session(a1), "")
	if strings.Contains(page.body, `action="/admin/proposals/`+pid+`/approve"`) || !strings.Contains(page.body, "Yours: another admin must decide it") {
		t.Errorf("the proposer is offered their own approval")
	}
	before = f.logSize(t)
	wantRefusedAt(t, staffPost(t, f, "/admin/proposals/"+pid+"/approve", a1, nil), 403, "official.self_approval")
	if f.logSize(t) != before {
		t.Fatal("a refused approval moved the log")
	}
	page = browse(t, f, "GET", "/admin", map[string]string{"Accept-Language": "en"}, f.session(a2), "")
	if !strings.Contains(page.body, `action="/admin/proposals/`+pid+`/approve"`) || !strings.Contains(page.body, "审批员 新 (approver, 金水区疾控中心)") {
		t.Fatalf("the second admin does not see the proposal:\n%s", page.body)
	}
	wantRedirectTo(t, staffPost(t, f, "/admin/proposals/"+pid+"/approve", a2, nil), "/admin#proposals")
	var official string
	for _, o := range reg().officials {
		if o.Name == "审批员 新" && o.Status == healthcode.OfficialActive {
			official = o.ID
		}
	}
	if official == "" {
		t.Fatal("the official is not active after the second admin's approval")
	}

	// A token for the approver: proposed by one, issued by the other, once.
	a = staffPost(t, f, "/admin/officials/"+official+"/tokens", a1, nil)
	wantRedirectTo(t, a, "/admin#proposals")
	if strings.Contains(a.body, "hc_") {
		t.Error("a token proposal shows a secret")
	}
	wantRefusedAt(t, staffPost(t, f, "/admin/officials/"+official+"/tokens", a1, nil), 403, "official.self_approval")
	a = staffPost(t, f, "/admin/officials/"+official+"/tokens", a2, nil)
	if a.status != 200 || !strings.Contains(a.body, `id="issued-secret"`) || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the second admin's issue: %d %s", a.status, a.body)
	}
	secret := between(a.body, `<p class="secret" id="issued-secret">`, `</p>`)
	if p, err := f.engine.Authenticate(ctx, secret); err != nil || p.ID != official {
		t.Errorf("the issued token: %+v %v", p, err)
	}
	if again := browse(t, f, "GET", "/admin", nil, f.session(a2), ""); strings.Contains(again.body, secret) {
		t.Error("the secret is shown again")
	}

	// A rule set: the proposer cannot approve it; the other admin sees the
	// diff against the rule set in force and approves it.
	_, rec, _ := f.engine.ActiveRuleSet()
	src := strings.Replace(string(rec.Source), "version: \"", "version: \"admin-page-", 1)
	version := "admin-page-" + rec.Version
	versionLine := func(src string) string {
		for _, l := range strings.Split(src, "\n") {
			if strings.HasPrefix(l, "version: ") {
				return template.HTMLEscapeString(l)
			}
		}
		return ""
	}
	for _, bad := range []struct {
		source, reason string
		status         int
	}{{"", "admin.ruleset_empty", 400}, {"version: [", "rules.parse", 400}} {
		before := f.logSize(t)
		wantRefusedAt(t, staffPost(t, f, "/admin/rulesets", a1, url.Values{"source": {bad.source}}), bad.status, bad.reason)
		if f.logSize(t) != before {
			t.Errorf("a refused rule set moved the log")
		}
	}
	wantRedirectTo(t, staffPost(t, f, "/admin/rulesets", a1, url.Values{"source": {src}}), "/admin#rulesets")
	wantRefusedAt(t, staffPost(t, f, "/admin/rulesets/"+version+"/approve", a1, nil), 403, "ruleset.self_approval")
	page = browse(t, f, "GET", "/admin", map[string]string{"Accept-Language": "en"}, f.session(a2), "")
	for _, want := range []string{"Rule set " + version + " awaiting approval", "1 lines added, 1 removed",
		`<span class="del">- ` + versionLine(string(rec.Source)) + `</span>`, `<span class="add">&#43; ` + versionLine(src) + `</span>`,
		`action="/admin/rulesets/` + version + `/approve"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the second admin's page lacks %q", want)
		}
	}
	wantRedirectTo(t, staffPost(t, f, "/admin/rulesets/"+version+"/approve", a2, nil), "/admin#rulesets")
	if _, rec, _ := f.engine.ActiveRuleSet(); rec.Version != version {
		t.Errorf("in force after the approval: %s", rec.Version)
	}

	// Venue secrets: a bad overlap is refused; a good one is logged.
	before = f.logSize(t)
	wantRefusedAt(t, staffPost(t, f, "/admin/keys/venue-secrets", a1, url.Values{"overlap_days": {"365"}}), 400, "key.overlap")
	wantRefusedAt(t, staffPost(t, f, "/admin/keys/venue-secrets", a1, url.Values{"overlap_days": {"a week"}}), 400, "key.overlap")
	if f.logSize(t) != before {
		t.Error("a refused rotation moved the log")
	}
	wantRedirectTo(t, staffPost(t, f, "/admin/keys/venue-secrets", a1, url.Values{"overlap_days": {"7"}}), "/admin#keys")
	if f.logSize(t) != before+1 {
		t.Error("the rotation is not logged once")
	}
}

type registrySnapshot struct {
	units     []healthcode.Unit
	officials []healthcode.Official
	proposals []healthcode.OfficialProposal
}

// between is the text of s between the first from and the next to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// wantRedirectTo checks a staff action's answer: back to location.
func wantRedirectTo(t *testing.T, a pageAnswer, location string) {
	t.Helper()
	if a.status != 303 || a.header.Get("Location") != location {
		t.Fatalf("answer %d → %q, want 303 → %s: %s", a.status, a.header.Get("Location"), location, a.body)
	}
}

// wantRefusedAt checks a refused staff action: its page again with the
// status, the reason, and the given words.
func wantRefusedAt(t *testing.T, a pageAnswer, status int, reason string, want ...string) {
	t.Helper()
	wantRefused(t, a, status, reason, want...)
}

// labUpload posts a file to the lab page as the browser's form does.
func labUpload(t *testing.T, f *fixture, tok, name, body string, extra map[string]string) pageAnswer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range extra {
		mw.WriteField(k, v)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte(body))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", f.ts.URL+"/lab/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range f.session(tok) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	return pageAnswer{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

// TestLabUpload: a lab uploads a batch; every row is reported, the good
// ones recorded, the bad ones rejected with their reason; a file that
// cannot be read, or no file, is refused and records nothing.
func TestLabUpload(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	f.collect(t, f.id, "LAB-1", f.clock.Now().Add(-time.Hour))
	f.collect(t, "410102199003071250", "LAB-2", f.clock.Now().Add(-time.Hour))
	before := f.logSize(t)
	for _, c := range []struct {
		name, file, body, reason string
		status                   int
	}{
		{"no file", "", "", "lab.no_file", 400},
		{"an ID number column", "r.csv", "tube_id,id_number,result\nLAB-1,410102199003071234,negative\n", "batch.header", 400},
		{"no result column", "r.csv", "tube_id,kind\nLAB-1,antigen_test\n", "batch.header", 400},
		{"no rows", "r.csv", "tube_id,result\n", "lab.empty", 400},
	} {
		wantRefused(t, labUpload(t, f, lab, c.file, c.body, nil), c.status, c.reason)
		if f.logSize(t) != before {
			t.Fatalf("%s: the refused upload moved the log", c.name)
		}
	}
	a := labUpload(t, f, lab, "results.csv", "tube_id,kind,result\nLAB-1,nucleic_acid_test,negative\nNO-SUCH,nucleic_acid_test,negative\nLAB-2,,maybe\nLAB-2,antigen_test,positive\nLAB-1,nucleic_acid_test,negative\n", nil)
	if a.status != 200 {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
	checkPageHTML(t, a.body)
	for _, want := range []string{"What became of results.csv", "5 rows", "2 accepted", "1 duplicates", "2 rejected",
		"No sample in this tube is on record.", "<code>tube.unknown</code>", "The result is positive or negative.", "<code>batch.result</code>",
		`<tr class="row-accepted">`, `<tr class="row-rejected">`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	var n int
	f.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		for _, tube := range []string{"LAB-1", "LAB-2"} {
			if tb, err := tx.Tube(context.Background(), tube); err == nil && tb.Resulted() {
				n++
			}
		}
		return nil
	})
	if n != 2 {
		t.Errorf("%d tubes have their result, want 2", n)
	}
	// The same file again: all duplicates or rejected, nothing new.
	size := f.logSize(t)
	a = labUpload(t, f, lab, "results.jsonl", `{"tube_id":"LAB-1","result":"negative"}`+"\n", nil)
	if a.status != 200 || !strings.Contains(a.body, "1 duplicates") || f.logSize(t) != size {
		t.Errorf("a repeat: %d, log %d → %d", a.status, size, f.logSize(t))
	}
}

// TestSamplingPage: a sampler records a collection by the person's code
// or ID number; a bad form is refused clearly and records nothing; the
// site stays filled for the next person.
func TestSamplingPage(t *testing.T) {
	f := newFixture(t)
	sampler := f.tokens[healthcode.RoleSampler]
	now := localTime(f.clock.Now().Add(-10 * time.Minute))
	before := f.logSize(t)
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		reason string
	}{
		{"both code and ID number", url.Values{"code": {f.citizenQR(t)}, "id_number": {f.id}, "tube": {"S-1"}, "site": {"文化路采样点"}, "collected_at": {now}}, 400, "collection.person"},
		{"neither", url.Values{"tube": {"S-1"}, "site": {"文化路采样点"}, "collected_at": {now}}, 400, "collection.person"},
		{"no time", url.Values{"id_number": {f.id}, "tube": {"S-1"}, "site": {"文化路采样点"}, "collected_at": {"now"}}, 400, "console.time"},
		{"a forged code", url.Values{"code": {"HCN1:FORGED"}, "tube": {"S-1"}, "site": {"文化路采样点"}, "collected_at": {now}}, 400, ""},
	} {
		a := staffPost(t, f, "/sample", sampler, c.form)
		if c.reason == "" {
			if a.status != c.status || !strings.Contains(a.body, `id="console-error"`) {
				t.Errorf("%s: %d", c.name, a.status)
			}
		} else {
			wantRefused(t, a, c.status, c.reason)
		}
		if f.logSize(t) != before {
			t.Fatalf("%s: the refused collection moved the log", c.name)
		}
	}
	a := staffPost(t, f, "/sample", sampler, url.Values{"code": {f.citizenQR(t)}, "tube": {"S-1"}, "site": {"文化路采样点"}, "collected_at": {now}})
	if a.status != 200 || !strings.Contains(a.body, "recorded: tube S-1") || !strings.Contains(a.body, `value="文化路采样点"`) {
		t.Fatalf("a collection by code: %d %s", a.status, a.body)
	}
	checkPageHTML(t, a.body)
	a = staffPost(t, f, "/sample", sampler, url.Values{"id_number": {"410102199003071250"}, "tube": {"S-2"}, "site": {"文化路采样点"}, "collected_at": {now}})
	if a.status != 200 || !strings.Contains(a.body, "recorded: tube S-2") {
		t.Fatalf("a collection by ID number: %d %s", a.status, a.body)
	}
	// A single tube takes one person.
	wantRefused(t, staffPost(t, f, "/sample", sampler, url.Values{"id_number": {f.id}, "tube": {"S-2"}, "site": {"文化路采样点"}, "collected_at": {now}}), 409, "tube.full")
}

// TestLineDiff: the rule-set diff keeps common lines, marks the rest, and
// gives up, saying so, on sources too different to compare.
func TestLineDiff(t *testing.T) {
	t.Parallel()
	render := func(ls []diffLine) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.Mark() + l.Text + "\n")
		}
		return b.String()
	}
	for _, c := range []struct{ a, b, want string }{
		{"", "", ""},
		{"a\nb\n", "a\nb\n", " a\n b\n"},
		{"a\nb\nc\n", "a\nx\nc\n", " a\n-b\n+x\n c\n"},
		{"", "new\n", "+new\n"},
		{"old\n", "", "-old\n"},
		{"a\nb\nc\nd\n", "b\nc\ne\n", "-a\n b\n c\n-d\n+e\n"},
		{"a\r\nb\r\n", "a\nb\n", " a\n b\n"},
	} {
		got, tooLarge := lineDiff(c.a, c.b)
		if render(got) != c.want || tooLarge {
			t.Errorf("lineDiff(%q, %q) = %q (too large %v), want %q", c.a, c.b, render(got), tooLarge, c.want)
		}
	}
	big := strings.Repeat("x\n", 3000)
	other := strings.Repeat("y\n", 3000)
	got, tooLarge := lineDiff(big, other)
	if !tooLarge || len(got) != 6000 {
		t.Errorf("two different 3000-line files: %d lines, too large %v", len(got), tooLarge)
	}
}
