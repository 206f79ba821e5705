package http

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// appealsOf lists every appeal the node holds, as oversight sees them.
func appealsOf(t *testing.T, f *fixture) []healthcode.Appeal {
	t.Helper()
	as, err := f.engine.Appeals(context.Background(), principal(t, f, f.tokens[healthcode.RoleAuditor]), "")
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func appealPost(t *testing.T, f *fixture, cookies []*http.Cookie, form string) pageAnswer {
	t.Helper()
	return browse(t, f, "POST", "/appeals", map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": "zh-CN"}, cookies, form)
}

// TestCitizenAppealsFromThePage files an appeal from the citizen's page as
// the form does, sees it with its deadline, then an official's answer with
// its log proof. Every bad appeal is refused with a 4xx page that says why
// and keeps what was typed, and files nothing for anyone: another kind, a
// correction with no note, a note too long, a field twice, a form naming
// another person, another role's session, no session, another site.
func TestCitizenAppealsFromThePage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	me := f.session(f.tokens[healthcode.RoleCitizen])

	page := browse(t, f, "GET", "/", map[string]string{"Accept-Language": "zh-CN"}, me, "")
	if page.status != 200 || !strings.Contains(page.body, `<form method="post" action="/appeals"`) || !strings.Contains(page.body, "您还没有提交过申诉。") {
		t.Fatalf("the citizen page has no appeal form: %d\n%s", page.status, page.body)
	}

	long := strings.Repeat("长", maxAppealNote/3+1)
	for _, tt := range []struct {
		name    string
		cookies []*http.Cookie
		hdr     map[string]string
		form    string
		status  int
		want    string // in the page
	}{
		{"another person named", me, nil, url.Values{"kind": {"colour"}, "note": {"替他申诉"}, "subject": {f.other.Pseudonym}}.Encode(), 400, "申诉只能为您本人提交"},
		{"an ID number named", me, nil, url.Values{"kind": {"colour"}, "id_number": {"410102199003071250"}}.Encode(), 400, "申诉只能为您本人提交"},
		{"no kind", me, nil, "note=x", 400, "请选择申诉什么"},
		{"another kind", me, nil, "kind=override&note=x", 400, "请选择申诉什么"},
		{"kind twice", me, nil, "kind=colour&kind=correction&note=x", 400, "申诉只能为您本人提交"},
		{"correction without a note", me, nil, "kind=correction&note=+", 400, "请写明哪里有误"},
		{"note too long", me, nil, url.Values{"kind": {"colour"}, "note": {long}}.Encode(), 400, "最多 4000 字节"},
		{"malformed form", me, nil, "kind=%zz", 400, ""},
		{"an official's session", f.session(f.tokens[healthcode.RoleOperator]), nil, "kind=colour&note=x", 403, ""},
		{"no session", nil, nil, "kind=colour&note=x", 401, ""},
		{"another site", me, map[string]string{"Sec-Fetch-Site": "cross-site"}, "kind=colour&note=x", 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := appealsOf(t, f)
			hdr := map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": "zh-CN"}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			a := browse(t, f, "POST", "/appeals", hdr, tt.cookies, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if !strings.Contains(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("answered as %s, not a page", a.header.Get("Content-Type"))
			}
			if tt.want != "" {
				if !strings.Contains(a.body, tt.want) || !strings.Contains(a.body, `role="alert"`) {
					t.Errorf("the refusal does not say %q:\n%s", tt.want, a.body)
				}
				checkPageHTML(t, a.body)
			}
			if after := appealsOf(t, f); len(after) != len(before) {
				t.Errorf("a refused appeal changed the appeals: %+v → %+v", before, after)
			}
		})
	}
	// What was typed is kept on a refusal.
	if a := appealPost(t, f, me, "kind=correction&note=+"); !strings.Contains(a.body, `value="correction" checked`) {
		t.Errorf("the refused form lost its choice:\n%s", a.body)
	}
	// The API refuses a body naming someone too.
	if a := f.do(t, "POST", "/api/v1/me/appeals", f.tokens[healthcode.RoleCitizen], "application/json",
		[]byte(`{"kind":"colour","subject":"`+f.other.Pseudonym+`"}`)); a.status != 400 {
		t.Errorf("the API filed an appeal naming another person: %d %s", a.status, a.body)
	}
	if as := appealsOf(t, f); len(as) != 0 {
		t.Fatalf("appeals after the refusals: %+v", as)
	}

	// A good appeal: back to the page, which shows it with its deadline.
	filed := f.clock.Now()
	a := appealPost(t, f, me, url.Values{"kind": {"correction"}, "note": {"我的名字写错了，应为张晓明"}}.Encode())
	if a.status != 303 || a.header.Get("Location") != "/?appeal=filed#appeals" {
		t.Fatalf("filing: %d → %q: %s", a.status, a.header.Get("Location"), a.body)
	}
	as := appealsOf(t, f)
	if len(as) != 1 || as[0].Subject != f.person.Pseudonym || as[0].Kind != healthcode.AppealCorrection || as[0].Note != "我的名字写错了，应为张晓明" {
		t.Fatalf("the filed appeal: %+v", as)
	}
	deadline := filed.Add(healthcode.AppealDeadline).In(displayZone).Format("2006-01-02 15:04") + "（北京时间）"
	page = browse(t, f, "GET", "/?appeal=filed", map[string]string{"Accept-Language": "zh-CN"}, me, "")
	for _, w := range []string{"您的申诉已提交", fmt.Sprintf("第 %d 号申诉", as[0].ID), "更正数据", "待答复", "我的名字写错了，应为张晓明", "答复期限", deadline, "等待工作人员答复。"} {
		if !strings.Contains(page.body, w) {
			t.Errorf("after filing the page lacks %q", w)
		}
	}
	// Nobody else's page shows it.
	other := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})
	if p := browse(t, f, "GET", "/", nil, f.session(other), ""); strings.Contains(p.body, "张晓明") {
		t.Errorf("another citizen's page shows the appeal")
	}

	// An operator answers; the page shows the answer, who and when, and
	// the proof of its log entry.
	f.clock.Advance(3 * time.Hour)
	answered, err := f.engine.AnswerAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleOperator]), as[0].ID, false, "姓名以身份证为准，请到社区核对后再申请更正。")
	if err != nil {
		t.Fatal(err)
	}
	page = browse(t, f, "GET", "/", map[string]string{"Accept-Language": "zh-CN"}, me, "")
	for _, w := range []string{"已驳回", "姓名以身份证为准，请到社区核对后再申请更正。", "test operator", f.clock.Now().In(displayZone).Format("2006-01-02 15:04") + "（北京时间）",
		fmt.Sprintf(`href="/api/v1/me/proofs/%d"`, answered.LogIndex)} {
		if !strings.Contains(page.body, w) {
			t.Errorf("after the answer the page lacks %q", w)
		}
	}
	if strings.Contains(page.body, "等待工作人员答复。") {
		t.Errorf("an answered appeal still waits")
	}
	checkPageHTML(t, page.body)
}

// TestReadAppealForm: only a kind and a note, each once.
func TestReadAppealForm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		form   url.Values
		detail string
	}{
		{url.Values{"kind": {"colour"}}, ""},
		{url.Values{"kind": {"colour"}, "note": {" 说明 "}}, ""},
		{url.Values{"kind": {"correction"}, "note": {"改名"}}, ""},
		{url.Values{"kind": {"correction"}}, "appeal.note_needed"},
		{url.Values{"kind": {"colour"}, "subject": {"p"}}, "appeal.form"},
		{url.Values{"kind": {"colour", "colour"}}, "appeal.form"},
		{url.Values{"kind": {""}}, "appeal.kind"},
		{url.Values{"kind": {"colour"}, "note": {strings.Repeat("x", maxAppealNote+1)}}, "appeal.note"},
	} {
		_, err := readAppealForm(tt.form)
		if got := healthcode.ErrorDetail(err); got != tt.detail || (tt.detail == "") != (err == nil) {
			t.Errorf("readAppealForm(%v) = %v, want detail %q", tt.form, err, tt.detail)
		}
	}
}

// TestRegionNames: a code is named by its GB/T 2260 name within its
// province and prefecture; a city is never shown as its province.
func TestRegionNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ code, zh, en string }{
		{"410100", "河南省郑州市（区划代码 410100）", "Zhengzhou, Henan (code 410100)"},
		{"410105", "河南省郑州市金水区（区划代码 410105）", "Jinshui District, Zhengzhou, Henan (code 410105)"},
		{"410300", "河南省洛阳市（区划代码 410300）", "Luoyang, Henan (code 410300)"},
		{"419001", "河南省济源市（区划代码 419001）", "Jiyuan, Henan (code 419001)"},
		{"410000", "河南省（区划代码 410000）", "Henan (code 410000)"},
		{"110000", "北京市（区划代码 110000）", "Beijing (code 110000)"},
		{"410199", "河南省（代码 410199，本节点未收录其名称）", "Henan (code 410199, a region this node has no name for)"},
		{"990100", "990100（未知地区）", "990100 (unknown region)"},
		{"4101", "4101（未知地区）", "4101 (unknown region)"},
	} {
		zh, en := &pageData{Lang: langZH}, &pageData{Lang: langEN}
		if got := zh.Region(tt.code); got != tt.zh {
			t.Errorf("zh Region(%s) = %q, want %q", tt.code, got, tt.zh)
		}
		if got := en.Region(tt.code); got != tt.en {
			t.Errorf("en Region(%s) = %q, want %q", tt.code, got, tt.en)
		}
	}
	d := &pageData{Lang: langZH, RegionCode: "410100"}
	if got := d.IssuedBy(); got != "郑州市卫生健康委员会" {
		t.Errorf("IssuedBy = %q", got)
	}
	d.Authority = "郑州市疫情防控指挥部"
	if got := d.IssuedBy(); got != "郑州市疫情防控指挥部" {
		t.Errorf("IssuedBy with an authority = %q", got)
	}
}

// TestParseRegions refuses a malformed or repeated line of the region table.
func TestParseRegions(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"410100\t郑州市\n", "41010\t郑州市\tZhengzhou\n", "4101x0\t郑州市\tZhengzhou\n",
		"410100\t郑州市\tZhengzhou\n410100\t郑州\tZZ\n", "410100\t\tZhengzhou\n"} {
		if _, err := parseRegions([]byte(in)); err == nil {
			t.Errorf("parseRegions(%q) accepted it", in)
		}
	}
	m, err := parseRegions([]byte("# comment\n\n410100\t郑州市\tZhengzhou\r\n"))
	if err != nil || m["410100"] != (msg{"郑州市", "Zhengzhou"}) {
		t.Errorf("parseRegions: %v %v", m, err)
	}
}

// untranslated finds, in a rendered page, what is not in its language: a
// missing message ([[key]]) on any page; on a Chinese page, an English word
// in its text: two or more Latin letters, not an acronym of up to five
// capitals (QR, JSON, YAML, SHA), outside <script>, <style>, <code> and
// any element marked lang="en". allow lists the page's data that may be in
// Latin letters (the fixture's officials' names, their units), removed
// first.
func untranslated(page string, zh bool, allow []string) []string {
	var bad []string
	for _, m := range regexp.MustCompile(`\[\[[^\]]*\]\]`).FindAllString(page, -1) {
		bad = append(bad, "missing message "+m)
	}
	if !zh {
		return bad
	}
	var text strings.Builder
	var stack []bool // per open element: whether its text is skipped
	skipped := func() bool { return len(stack) > 0 && stack[len(stack)-1] }
	tag := regexp.MustCompile(`(?s)<(/?)([a-zA-Z0-9]+)([^>]*)>|<!--.*?-->|<![^>]*>`)
	void := map[string]bool{"br": true, "input": true, "meta": true, "link": true, "img": true, "hr": true, "path": true, "circle": true, "rect": true}
	last := 0
	for _, loc := range tag.FindAllStringSubmatchIndex(page, -1) {
		if !skipped() {
			text.WriteString(page[last:loc[0]] + " ")
		}
		last = loc[1]
		if loc[4] < 0 {
			continue // a comment or doctype
		}
		closing, name, attrs := page[loc[2]:loc[3]] == "/", strings.ToLower(page[loc[4]:loc[5]]), page[loc[6]:loc[7]]
		switch {
		case closing:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case void[name] || strings.HasSuffix(attrs, "/"):
		default:
			skip := skipped() || name == "script" || name == "style" || name == "code" || regexp.MustCompile(`\slang="en`).MatchString(attrs)
			stack = append(stack, skip)
		}
	}
	s := regexp.MustCompile(`\[\[[^\]]*\]\]`).ReplaceAllString(text.String(), " ")
	for _, a := range allow {
		s = strings.ReplaceAll(s, a, " ")
	}
	for _, w := range regexp.MustCompile(`[A-Za-z0-9_][A-Za-z0-9_'’/.-]*[A-Za-z0-9_]|[A-Za-z]`).FindAllString(s, -1) {
		// An identifier (a pseudonym, a venue, a case, a tube: with digits,
		// no small letters, or longer than any word the pages use) or an
		// acronym (QR, JSON) is no English word.
		if strings.ContainsAny(w, "0123456789_/") || strings.ToUpper(w) == w || len(w) < 2 || len(w) >= 16 {
			continue
		}
		bad = append(bad, "English word "+w)
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

// TestUntranslated checks the checker: it finds a missing message and an
// English word in Chinese text, and not one in code, a script or text
// marked English.
func TestUntranslated(t *testing.T) {
	t.Parallel()
	page := `<html lang="zh-CN"><body><p>我的健康码 · 二维码（QR）病例 C-UKSE5X p4k2nkv <code>rule-1</code> <span lang="en">English <b>too</b></span></p><script>var x = "text";</script><p>发码机构 approved by 王强</p><p>[[kind.venue_exposure]]</p><br><input id="x"></body></html>`
	got := untranslated(page, true, nil)
	want := []string{"English word approved", "English word by", "missing message [[kind.venue_exposure]]"}
	if !slices.Equal(got, want) {
		t.Errorf("untranslated = %q, want %q", got, want)
	}
	if got := untranslated(page, false, nil); !slices.Equal(got, want[2:]) {
		t.Errorf("untranslated on an English page = %q", got)
	}
}

// TestPagesSpeakOneLanguage renders every page of every role, in Chinese
// and in English, from a node where each kind of thing a page shows has
// happened (a designation's venue exposures, an approved override with a
// note, an answered appeal, an escalated one, reads of a person's data):
// no page has a missing message, and no Chinese page has an English word
// outside code and text marked English.
func TestPagesSpeakOneLanguage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w := newConsoleWorld(t, f)
	approver := principal(t, f, f.tokens[healthcode.RoleApprover])
	if _, err := f.engine.ApproveOverride(ctx, approver, w.pending.ID); err != nil {
		t.Fatal(err)
	}
	// The venue, where the person checked in at the world's start, becomes
	// a risk venue over a window around that check-in, now ended.
	at := f.clock.Now()
	f.clock.Advance(time.Hour)
	d, err := f.engine.RequestDesignation(ctx, principal(t, f, f.tokens[healthcode.RoleEpidemiologist]), healthcode.RiskDesignation{
		Venue: w.venue, Level: healthcode.RiskMedium, Reason: "cluster", Cases: []int64{w.positive},
		From: at.Add(-time.Hour), Until: at.Add(30 * time.Minute), Expires: at.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.ApproveDesignation(ctx, approver, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.AnswerAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleOperator]), w.open.ID, false, "姓名以身份证为准。"); err != nil {
		t.Fatal(err)
	}
	x, err := f.engine.Export(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(x.Evidence, func(e healthcode.Evidence) bool { return e.Kind == healthcode.VenueExposure }) {
		t.Fatalf("the designation made no venue exposure of the person: %+v", x.Evidence)
	}
	if _, err := f.engine.CodeFor(ctx, principal(t, f, f.tokens[healthcode.RoleEpidemiologist]), f.person.Pseudonym, "contact_tracing", w.caseID); err != nil {
		t.Fatal(err)
	}

	allow := []string{"JavaScript", w.venue, f.person.Pseudonym, f.other.Pseudonym} // a name, as Chinese pages write it; ids
	for _, r := range healthcode.Roles {
		allow = append(allow, "test "+string(r), "unit-"+string(r))
	}
	type visit struct {
		path string
		tok  string // "" for none
		want string // a phrase in the Chinese page
	}
	visits := []visit{
		{"/", f.tokens[healthcode.RoleCitizen], "批准：test approver（审批人员，unit-approver）；备注：密接的家属"},
		{"/export", f.tokens[healthcode.RoleCitizen], "到访风险场所"},
		{"/rules", "", "现行规则"},
		{"/c", f.tokens[healthcode.RoleCitizen], "扫场所码"},
		{"/verify", "", "核验健康码"},
		{"/", "", "登录"},
		{"/export", "", "登录"},
		{"/no-such-page", "", "找不到"},
		{"/venue", f.tokens[healthcode.RoleVenue], "场所"},
		{"/venue/" + w.venue, f.tokens[healthcode.RoleVenue], "场所"},
		{"/venue/" + w.venue + "/print", f.tokens[healthcode.RoleVenue], "场所"},
	}
	for _, r := range []healthcode.Role{healthcode.RoleOperator, healthcode.RoleApprover, healthcode.RoleAuditor, healthcode.RoleEpidemiologist} {
		visits = append(visits, visit{"/console", f.tokens[r], "工作台"})
	}
	for _, v := range visits {
		for _, lang := range []string{"zh-CN", "en"} {
			var cookies []*http.Cookie
			if v.tok != "" {
				cookies = f.session(v.tok)
			}
			a := browse(t, f, "GET", v.path, map[string]string{"Accept-Language": lang}, cookies, "")
			if !strings.Contains(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("%s %s: answered %d %s", lang, v.path, a.status, a.header.Get("Content-Type"))
				continue
			}
			zh := lang == "zh-CN"
			if zh && !strings.Contains(a.body, v.want) {
				t.Errorf("%s %s lacks %q", lang, v.path, v.want)
			}
			checkPageHTML(t, a.body)
			for _, b := range untranslated(a.body, zh, allow) {
				t.Errorf("%s %s (logged in: %t): %s", lang, v.path, v.tok != "", b)
			}
		}
	}
}
