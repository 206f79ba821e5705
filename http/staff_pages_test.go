package http

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// staffWorld is what the staff pages' tests act on: a case whose person
// (the fixture's other person) shared a venue with the fixture's person, a
// venue awaiting approval, an override and a designation awaiting an
// approver, and an unmask request awaiting one.
type staffWorld struct {
	caseID      string
	positive    int64
	venue       string // active, where the two met
	newVenue    string // awaiting approval
	override    *healthcode.Override
	designation *healthcode.RiskDesignation
	unmask      *healthcode.UnmaskRequest
}

func newStaffWorld(t *testing.T, f *fixture) *staffWorld {
	t.Helper()
	ctx := context.Background()
	w := &staffWorld{}
	w.caseID, w.positive = openCase(t, f, "SW-DX")
	w.venue = pageVenue(t, f, "老王面馆", true)
	sharePresence(t, f, w.venue, f.person.Pseudonym)
	w.newVenue = pageVenue(t, f, "新开张便利店", false)
	f.clock.Advance(time.Hour)
	now := f.clock.Now()
	var err error
	if w.override, err = f.engine.RequestOverride(ctx, principal(t, f, f.tokens[healthcode.RoleOperator]), healthcode.Override{
		Subjects: []string{f.person.Pseudonym}, Colour: healthcode.Yellow, Reason: "epidemiologist_judgement", Basis: []int64{w.positive},
		CaseRef: w.caseID, Note: "与确诊病例同场所", Expires: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	epi := principal(t, f, f.tokens[healthcode.RoleEpidemiologist])
	if w.designation, err = f.engine.RequestDesignation(ctx, epi, healthcode.RiskDesignation{Venue: w.venue, Level: healthcode.RiskMedium,
		Reason: "cluster", Cases: []int64{w.positive}, From: now.Add(-3 * time.Hour), Until: now.Add(-time.Minute), Expires: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if w.unmask, err = f.engine.RequestUnmask(ctx, epi, f.person.Pseudonym, "contact_tracing", w.caseID); err != nil {
		t.Fatal(err)
	}
	return w
}

// staffPost posts a staff page's form as the page does, with tok's
// session (none for "").
func staffPost(t *testing.T, f *fixture, path, tok string, form url.Values) pageAnswer {
	t.Helper()
	var cookies []*http.Cookie
	if tok != "" {
		cookies = f.session(tok)
	}
	return browse(t, f, "POST", path, map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": "en"}, cookies, form.Encode())
}

// TestStaffActionsOnlyForTheirRoles posts each staff action as every role
// and as nobody. The roles that may post each are written here by hand,
// from DESIGN.md's list of who does what and the API route beside each
// action, not read from the server's table: anyone else is refused (403,
// or 401 without a session) and the log does not move.
func TestStaffActionsOnlyForTheirRoles(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	const (
		clinic, epi, operator, approver, auditor = healthcode.RoleClinic, healthcode.RoleEpidemiologist, healthcode.RoleOperator,
			healthcode.RoleApprover, healthcode.RoleAuditor
	)
	tests := []struct {
		path  string
		form  url.Values
		roles []healthcode.Role
	}{
		{"/console/lookup", url.Values{"subject": {f.person.Pseudonym}, "purpose": {"contact_tracing"}, "case": {w.caseID}}, []healthcode.Role{operator, epi, auditor}},
		{"/console/overrides/" + id(w.override.ID) + "/refuse", url.Values{"reason": {""}}, []healthcode.Role{approver, auditor}},
		{"/console/designations/" + id(w.designation.ID) + "/refuse", url.Values{"reason": {""}}, []healthcode.Role{approver}},
		{"/console/venues/" + w.newVenue + "/status", url.Values{"status": {"bogus"}}, []healthcode.Role{operator}},
		{"/console/trace", url.Values{"by": {"case"}, "purpose": {"contact_tracing"}, "case": {"C-NONE"}}, []healthcode.Role{epi}},
		{"/console/unmask", url.Values{"subject": {f.person.Pseudonym}, "purpose": {"appeal_review"}, "case": {w.caseID}}, []healthcode.Role{epi}},
		{"/console/unmask/999/approve", nil, []healthcode.Role{approver}},
		{"/console/unmask/999/refuse", nil, []healthcode.Role{approver}},
		{"/console/unmask/999/open", nil, []healthcode.Role{epi}},
		{"/console/records/999/confirm", nil, []healthcode.Role{clinic, epi}},
		{"/console/records/999/cosign", nil, []healthcode.Role{auditor}},
		{"/console/records/999/refuse", nil, []healthcode.Role{clinic, epi, auditor}},
	}
	for _, tt := range tests {
		for _, role := range append([]healthcode.Role{""}, healthcode.Roles...) {
			allowed := slices.Contains(tt.roles, role)
			t.Run(tt.path+" as "+string(role), func(t *testing.T) {
				before := f.logSize(t)
				a := staffPost(t, f, tt.path, f.tokens[role], tt.form)
				switch {
				case allowed && (a.status == 401 || a.status == 403 || a.status >= 500):
					t.Fatalf("a %s is refused: %d %s", role, a.status, a.body)
				case !allowed && role == "" && a.status != 401:
					t.Fatalf("nobody gets %d, want 401", a.status)
				case !allowed && role != "" && (a.status != 403 || !strings.Contains(a.body, "auth.role")):
					t.Fatalf("a %s gets %d, want 403 auth.role: %s", role, a.status, a.body)
				case !allowed && strings.Contains(a.body, `id="console-error"`):
					// The service refused it: the route let it through.
					t.Fatalf("a %s reached the action: the service, not the route, refused it", role)
				}
				if !allowed && f.logSize(t) != before {
					t.Errorf("a refused post moved the log")
				}
			})
		}
	}
}

// TestConsoleTitles gives each role's console its own title, in both
// languages, and its own sections.
func TestConsoleTitles(t *testing.T) {
	f := newFixture(t)
	newStaffWorld(t, f)
	for _, tt := range []struct {
		role          healthcode.Role
		en, zh        string
		sections, not []string
	}{
		{healthcode.RoleOperator, "Operator console", "运营工作台", []string{`id="venues"`, `id="lookup"`}, []string{`id="trace"`, `id="reads"`, `id="unmask"`}},
		{healthcode.RoleApprover, "Approver console", "审批工作台", []string{`id="unmask"`, `id="overrides"`}, []string{`id="lookup"`, `id="venues"`, `id="reads"`}},
		{healthcode.RoleAuditor, "Auditor console", "审计工作台", []string{`id="reads"`, `id="records"`, `id="lookup"`}, []string{`id="venues"`, `id="trace"`}},
		{healthcode.RoleEpidemiologist, "Epidemiologist console", "流调工作台", []string{`id="trace"`, `id="unmask"`, `id="records"`}, []string{`id="venues"`, `id="reads"`}},
		{healthcode.RoleClinic, "Clinic console", "医疗机构工作台", []string{`id="records"`}, []string{`id="lookup"`, `id="trace"`, `id="venues"`, `id="overrides"`}},
	} {
		for _, lang := range []string{"en", "zh-CN"} {
			a := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": lang}, f.session(f.tokens[tt.role]), "")
			title := tt.en
			if lang != "en" {
				title = tt.zh
			}
			if a.status != 200 || !strings.Contains(a.body, "<title>"+title+" · ") || !strings.Contains(a.body, "<h1>"+title+"</h1>") {
				t.Errorf("%s in %s: %d, want the title %q", tt.role, lang, a.status, title)
			}
			if strings.Contains(a.body, "Operator console") && tt.role != healthcode.RoleOperator {
				t.Errorf("%s in %s: the page says Operator console", tt.role, lang)
			}
			checkPageHTML(t, a.body)
			for _, s := range tt.sections {
				if !strings.Contains(a.body, s) {
					t.Errorf("%s: no section %s", tt.role, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(a.body, s) {
					t.Errorf("%s: a section %s", tt.role, s)
				}
			}
		}
	}
}

// TestConsoleRefusals: an approver refuses an override and a designation
// with a reason, which the log and the person keep; a refusal without a
// reason is refused itself, clearly, and changes nothing.
func TestConsoleRefusals(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	ctx := context.Background()
	approver := f.tokens[healthcode.RoleApprover]
	id := strconv.FormatInt(w.override.ID, 10)

	page := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(approver), "")
	for _, want := range []string{`action="/console/overrides/` + id + `/refuse"`, "Refuse override no. " + id,
		"Reason for refusing (the requester and the person read it)", f.person.Pseudonym, "与确诊病例同场所",
		`action="/console/designations/` + strconv.FormatInt(w.designation.ID, 10) + `/refuse"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the approver's console lacks %q", want)
		}
	}

	for _, bad := range []string{"", "   ", "line one\nline two", strings.Repeat("x", healthcode.MaxRefusalLen+1)} {
		before := f.logSize(t)
		a := staffPost(t, f, "/console/overrides/"+id+"/refuse", approver, url.Values{"reason": {bad}})
		wantRefused(t, a, 400, "override.refusal", "Write a reason for the refusal")
		if f.logSize(t) != before {
			t.Errorf("a refusal without a reason (%q) moved the log", bad)
		}
		if o, _ := f.engine.Overrides(ctx, healthcode.OverridePending); len(o) != 1 {
			t.Fatalf("the override is no longer pending: %+v", o)
		}
	}
	a := staffPost(t, f, "/console/overrides/"+id+"/refuse", approver, url.Values{"reason": {"病例关联不成立"}})
	wantRedirect(t, a, "overrides")
	if p := flashPage(t, f, a, approver, "en"); !strings.Contains(p.body, "Override no. "+id+" was refused and logged.") {
		t.Errorf("no flash after the refusal: %s", p.body)
	}
	if o, _ := f.engine.Overrides(ctx, healthcode.OverridePending); len(o) != 0 {
		t.Errorf("still pending after the refusal: %+v", o)
	}
	// Again: nothing to refuse.
	a = staffPost(t, f, "/console/overrides/"+id+"/refuse", approver, url.Values{"reason": {"again"}})
	wantRefused(t, a, 409, "override.not_pending")

	did := strconv.FormatInt(w.designation.ID, 10)
	a = staffPost(t, f, "/console/designations/"+did+"/refuse", approver, url.Values{"reason": {""}})
	wantRefused(t, a, 400, "designation.refusal")
	a = staffPost(t, f, "/console/designations/"+did+"/refuse", approver, url.Values{"reason": {"时段内没有病例到访"}})
	wantRedirect(t, a, "designations")
	ds, _ := f.engine.Designations(ctx)
	for _, d := range ds {
		if d.ID == w.designation.ID && d.Status != healthcode.DesignationRefused {
			t.Errorf("the designation is %s after its refusal", d.Status)
		}
	}
}

// TestConsoleVenueReview: the operator sees the venue awaiting approval
// first, approves it, then may suspend it; a made-up status or venue is
// refused and changes nothing.
func TestConsoleVenueReview(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	op := f.tokens[healthcode.RoleOperator]
	page := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(op), "")
	pending, active := strings.Index(page.body, "新开张便利店"), strings.Index(page.body, "老王面馆")
	if pending < 0 || active < 0 || pending > active || !strings.Contains(page.body, "Awaiting approval") || !strings.Contains(page.body, "Approve 新开张便利店") {
		t.Fatalf("the venues as the operator sees them:\n%s", page.body)
	}
	before := f.logSize(t)
	wantRefused(t, staffPost(t, f, "/console/venues/"+w.newVenue+"/status", op, url.Values{"status": {"open"}}), 400, "venue.status", "Choose approve or suspend.")
	wantRefused(t, staffPost(t, f, "/console/venues/vnosuchvenue/status", op, url.Values{"status": {"active"}}), 404, "venue.unknown")
	if f.logSize(t) != before {
		t.Fatal("refused venue changes moved the log")
	}
	a := staffPost(t, f, "/console/venues/"+w.newVenue+"/status", op, url.Values{"status": {"active"}})
	wantRedirect(t, a, "venues")
	if p := flashPage(t, f, a, op, "en"); !strings.Contains(p.body, "The venue is active; this is logged.") || !strings.Contains(p.body, "Suspend 新开张便利店") {
		t.Errorf("after the approval: %s", p.body)
	}
	if f.logSize(t) != before+1 {
		t.Errorf("the approval is not one log entry: %d → %d", before, f.logSize(t))
	}
}

// TestConsoleTracingAndUnmasking: the epidemiologist traces a venue's
// window and a case (recorded reads, pseudonyms only), asks to unmask a
// person; an approver of the same unit cannot approve, one of another unit
// does; only then does the epidemiologist read the identity, recorded.
func TestConsoleTracingAndUnmasking(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	ctx := context.Background()
	epi := f.tokens[healthcode.RoleEpidemiologist]
	now := f.clock.Now()

	// Tracing a venue's window.
	trace := url.Values{"by": {"venue"}, "venue": {w.venue}, "from": {localTime(now.Add(-3 * time.Hour))}, "until": {localTime(now)},
		"purpose": {"contact_tracing"}, "case": {w.caseID}}
	a := staffPost(t, f, "/console/trace", epi, trace)
	if a.status != 200 {
		t.Fatalf("trace: %d %s", a.status, a.body)
	}
	checkPageHTML(t, a.body)
	for _, want := range []string{`id="trace-result"`, "2 check-ins by 2 people in all.", f.person.Pseudonym, f.other.Pseudonym, "Verified (live code)",
		"This read was recorded: by test epidemiologist (epidemiologist, unit-epidemiologist), purpose: contact tracing, case: " + w.caseID} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the trace lacks %q", want)
		}
	}
	if strings.Contains(a.body, "张小明") || strings.Contains(a.body, f.id) {
		t.Error("the trace names a person")
	}
	// By case.
	a = staffPost(t, f, "/console/trace", epi, url.Values{"by": {"case"}, "purpose": {"case_investigation"}, "case": {w.caseID}})
	if a.status != 200 || !strings.Contains(a.body, f.person.Pseudonym) {
		t.Errorf("trace by case: %d %s", a.status, a.body)
	}
	// Bad input: refused, clearly, nothing logged.
	before := f.logSize(t)
	for _, c := range []struct {
		name   string
		change url.Values
		status int
		reason string
	}{
		{"no way to ask", url.Values{"by": {"everyone"}}, 400, "console.trace_by"},
		{"a window that is not a time", url.Values{"from": {"yesterday"}}, 400, "console.time"},
		{"a window backwards", url.Values{"from": {localTime(now)}, "until": {localTime(now.Add(-time.Hour))}}, 400, "trace.window"},
		{"no purpose", url.Values{"purpose": {""}}, 400, "access.purpose"},
		{"a cursor made up", url.Values{"after": {"zzz"}}, 400, "trace.cursor"},
	} {
		form := url.Values{}
		for k, v := range trace {
			form[k] = v
		}
		for k, v := range c.change {
			form[k] = v
		}
		wantRefused(t, staffPost(t, f, "/console/trace", epi, form), c.status, c.reason)
	}
	if f.logSize(t) != before {
		t.Errorf("refused traces moved the log")
	}

	// Unmasking: the request of the world awaits an approver.
	page := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(epi), "")
	uid := strconv.FormatInt(w.unmask.ID, 10)
	if !strings.Contains(page.body, "Your unmask requests") || strings.Contains(page.body, `action="/console/unmask/`+uid+`/open"`) {
		t.Errorf("the epidemiologist's requests before approval:\n%s", page.body)
	}
	wantRefused(t, staffPost(t, f, "/console/unmask/"+uid+"/open", epi, nil), 409, "unmask.pending", "This request still awaits approval.")
	// A request for a case the person has nothing to do with.
	before = f.logSize(t)
	wantRefused(t, staffPost(t, f, "/console/unmask", epi, url.Values{"subject": {f.person.Pseudonym}, "purpose": {"contact_tracing"}, "case": {"C-AAAAAAAAAA"}}),
		400, "unmask.case_not_linked")
	if f.logSize(t) != before {
		t.Errorf("a refused unmask request moved the log")
	}
	sameUnit := pageToken(t, f, &healthcode.Principal{Name: "审批员 同单位", Role: healthcode.RoleApprover, Unit: "unit-epidemiologist"})
	sp := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(sameUnit), "")
	if strings.Contains(sp.body, `action="/console/unmask/`+uid+`/approve"`) || !strings.Contains(sp.body, "Requested by your unit") {
		t.Errorf("the same unit's approver is offered the approval")
	}
	wantRefused(t, staffPost(t, f, "/console/unmask/"+uid+"/approve", sameUnit, nil), 403, "unmask.same_unit")
	a = staffPost(t, f, "/console/unmask/"+uid+"/approve", f.tokens[healthcode.RoleApprover], nil)
	wantRedirect(t, a, "unmask")
	if r, _ := f.engine.UnmaskRequests(ctx, principal(t, f, f.tokens[healthcode.RoleAuditor]), healthcode.UnmaskApproved); len(r) != 1 {
		t.Fatalf("approved requests: %+v", r)
	}
	page = browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(epi), "")
	if !strings.Contains(page.body, `action="/console/unmask/`+uid+`/open"`) {
		t.Fatalf("no way to read the approved request")
	}
	// Another epidemiologist cannot read it.
	other := pageToken(t, f, &healthcode.Principal{Name: "另一流调员", Role: healthcode.RoleEpidemiologist, Unit: "unit-epi-2"})
	wantRefused(t, staffPost(t, f, "/console/unmask/"+uid+"/open", other, nil), 404, "unmask.unknown")
	before = f.logSize(t)
	a = staffPost(t, f, "/console/unmask/"+uid+"/open", epi, nil)
	if a.status != 200 || !strings.Contains(a.body, "张小明") || !strings.Contains(a.body, f.id) || !strings.Contains(a.body, "This read was recorded") {
		t.Fatalf("the identity: %d %s", a.status, a.body)
	}
	if f.logSize(t) != before+1 {
		t.Errorf("reading the identity is not logged once: %d → %d", before, f.logSize(t))
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the identity may be cached: %q", a.header.Get("Cache-Control"))
	}
}

// TestConsoleLookupByIDNumber: the look-up takes an ID number as well as a
// pseudonym, recorded the same way; a malformed or unknown number is
// refused clearly and records nothing.
func TestConsoleLookupByIDNumber(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	ctx := context.Background()
	op := f.tokens[healthcode.RoleOperator]
	reads := func() int {
		rs, err := f.engine.AccessRecords(ctx, principal(t, f, f.tokens[healthcode.RoleAuditor]))
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	n, size := reads(), f.logSize(t)
	for _, c := range []struct {
		who, reason string
		status      int
	}{
		{"4101021990030712345", "person.unknown", 404}, // 19 digits: not taken for an ID number
		{"41010219900307123X", "person.unknown", 404},  // well formed, nobody's
		{"110101199003070011", "person.unknown", 404},
	} {
		a := staffPost(t, f, "/console/lookup", op, url.Values{"subject": {c.who}, "purpose": {"contact_tracing"}, "case": {w.caseID}})
		wantRefused(t, a, c.status, c.reason)
		if !strings.Contains(a.body, `value="`+c.who+`"`) {
			t.Errorf("the refused form is not filled again with %s", c.who)
		}
	}
	if reads() != n || f.logSize(t) != size {
		t.Fatal("refused look-ups recorded a read")
	}
	a := staffPost(t, f, "/console/lookup", op, url.Values{"subject": {f.id}, "purpose": {"contact_tracing"}, "case": {w.caseID}})
	if a.status != 200 || !strings.Contains(a.body, "Result: "+f.person.Pseudonym) || !strings.Contains(a.body, "This read was recorded") {
		t.Fatalf("a look-up by ID number: %d %s", a.status, a.body)
	}
	if reads() != n+1 {
		t.Errorf("the look-up by ID number is not recorded")
	}
	// The auditor's list of reads shows it, with who, why and whom.
	page := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(f.tokens[healthcode.RoleAuditor]), "")
	i := strings.Index(page.body, `id="rd-list"`)
	if i < 0 {
		t.Fatalf("no list of reads:\n%s", page.body)
	}
	for _, want := range []string{"test operator (operator, unit-operator)", "contact tracing", w.caseID, f.person.Pseudonym,
		"code, the evidence behind it and its history"} {
		if !strings.Contains(page.body[i:], want) {
			t.Errorf("the list of reads lacks %q", want)
		}
	}
}
