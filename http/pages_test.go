package http

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/qr"
)

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct{ header, want string }{
		{"", langZH},
		{"en-US,en;q=0.9", langEN},
		{"zh-CN,zh;q=0.9,en;q=0.8", langZH},
		{"en;q=0.5, zh;q=0.6", langZH},
		{"en-GB;q=0.8, zh-TW;q=0.7", langEN},
		{"fr-FR, en;q=0.3", langEN},
		{"de, fr", langZH},
		{"en;q=0, zh;q=0.1", langZH},
		{"en;q=0", langZH},
		{"*", langZH},
		{"EN", langEN},
		{"en;q=abc, zh;q=0.2", langZH},
		{"en;q=7", langZH},
		{"zh-Hans-CN;q=0.9, en;q=0.9", langZH},
		{",,;;q=,", langZH},
	}
	for _, tt := range tests {
		if got := acceptLanguage(tt.header); got != tt.want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestNegotiateLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, cookie, accept string
		want                        string
		fromParam                   bool
	}{
		{"header only", "", "", "en-US", langEN, false},
		{"cookie beats header", "", "zh", "en-US", langZH, false},
		{"param beats cookie", "lang=en", "zh", "zh-CN", langEN, true},
		{"bad param ignored", "lang=fr", "en", "zh-CN", langEN, false},
		{"bad cookie ignored", "", "klingon", "en", langEN, false},
		{"nothing", "", "", "", langZH, false},
		{"param zh-CN", "lang=zh-CN", "", "en", langZH, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/?"+tt.query, nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			got, fromParam := negotiateLang(r)
			if got != tt.want || fromParam != tt.fromParam {
				t.Errorf("negotiateLang = %q, %v; want %q, %v", got, fromParam, tt.want, tt.fromParam)
			}
		})
	}
}

// TestMessages checks the message table: both languages present, the same
// format verbs in each, Chinese text in Chinese.
func TestMessages(t *testing.T) {
	t.Parallel()
	verbs := regexp.MustCompile(`%[sd]`)
	han := regexp.MustCompile(`\p{Han}`)
	for _, k := range messageKeys() {
		m := messages[k]
		if strings.TrimSpace(m.zh) == "" || strings.TrimSpace(m.en) == "" {
			t.Errorf("%s: a language is missing: %+v", k, m)
			continue
		}
		if !slices.Equal(verbs.FindAllString(m.zh, -1), verbs.FindAllString(m.en, -1)) {
			t.Errorf("%s: format verbs differ: %q vs %q", k, m.zh, m.en)
		}
		// The language link speaks the language it leads to.
		other := k == "lang.other" || k == "lang.other.label"
		if !other && !han.MatchString(m.zh) {
			t.Errorf("%s: Chinese text has no Chinese: %q", k, m.zh)
		}
		if !other && han.MatchString(m.en) {
			t.Errorf("%s: English text has Chinese: %q", k, m.en)
		}
	}
}

// TestTemplatesAndScriptsUseKnownKeys finds every literal message key in the
// templates and in the verifier's script, and every key the script builds.
func TestTemplatesAndScriptsUseKnownKeys(t *testing.T) {
	t.Parallel()
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	lit := regexp.MustCompile(`\.Tf? "([a-z0-9_.]+)"`)
	n := 0
	for _, e := range entries {
		b, _ := templateFS.ReadFile("templates/" + e.Name())
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s uses unknown message %q", e.Name(), m[1])
			}
		}
	}
	if n < 30 {
		t.Errorf("found only %d message keys in the templates: is the pattern right?", n)
	}
	js := jsMessages(langEN)
	src, _ := staticFS.ReadFile("static/verify.js")
	jsLit := regexp.MustCompile(`\btf?\("([a-z0-9_.]*[a-z0-9_])"[,)]`)
	for _, m := range jsLit.FindAllStringSubmatch(string(src), -1) {
		if _, ok := js[m[1]]; !ok {
			t.Errorf("verify.js uses %q, which is not sent to it", m[1])
		}
	}
	built := []string{"verify.valid", "verify.invalid", "verify.unchecked",
		"verify.mode.online", "verify.mode.offline", "verify.mode.unchecked", "verify.mode.no_trust",
		"reason." + qr.ReasonMalformed, "reason." + qr.ReasonUnknownKey, "reason." + qr.ReasonBadSignature,
		"reason." + qr.ReasonWrongRegion, "reason." + qr.ReasonExpired, "reason." + qr.ReasonNotYetValid}
	for _, c := range []healthcode.Colour{healthcode.Green, healthcode.Yellow, healthcode.Red} {
		built = append(built, "colour."+c.String(), "colour."+c.String()+".means", "shape."+c.Shape())
	}
	for _, k := range built {
		if _, ok := js[k]; !ok {
			t.Errorf("verify.js builds %q, which is not sent to it", k)
		}
	}
}

// sampleCode is a citizen's code in the given colour with evidence and a
// history of two decisions, one by the rules and one by a named official.
func sampleCode(c healthcode.Colour) *MyCodeJSON {
	lifts := t0.Add(72 * time.Hour)
	d := DecisionJSON{Colour: c.String(), Shape: c.Shape(), Reason: "r", RuleID: "rule-1", RuleSetVersion: "v1",
		EvidenceIDs: []int64{7, 9}, Text: healthcode.Text{ZH: "中文理由", EN: "English reason"},
		Lift: healthcode.Text{ZH: "中文解除", EN: "English lift"}, Basis: "第九版", LiftsAt: &lifts,
		DecidedAt: t0, LogIndex: 12, Actor: "rules:v1"}
	if c == healthcode.Green {
		d.Lift, d.LiftsAt, d.EvidenceIDs = healthcode.Text{}, nil, []int64{}
	}
	official := d
	official.Actor, official.LogIndex, official.EvidenceIDs = "王 Official", 13, []int64{9}
	return &MyCodeJSON{Subject: "p1", MaskedName: "张*明", Region: "410100", Decision: d,
		Evidence: []EvidenceOutJSON{{ID: 7, Kind: "nucleic_acid_test", ObservedAt: t0, Result: "positive", Pooled: true, SubmitterName: "第一实验室"},
			{ID: 8, Kind: "travel", ObservedAt: t0, RiskLevel: "medium", SubmitterName: "疾控"}},
		History: []DecisionJSON{official, d}, QR: "HCN1:X", QRExpires: t0.Add(5 * time.Minute)}
}

// TestEveryTemplateInBothLanguages renders every page in both languages:
// no missing message, the page's language in its lang attribute, and the
// page's own words in it.
func TestEveryTemplateInBothLanguages(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{langZH, langEN} {
		for _, c := range []healthcode.Colour{healthcode.Green, healthcode.Yellow, healthcode.Red} {
			pages := map[string]*pageData{
				"login.html":   {Title: "login.title", Path: "/", Error: "login.bad", Notice: "login.session_ended"},
				"error.html":   {Title: "error.title.404", Path: "/x", Status: 404, ErrorCode: "http.no_route"},
				"verify.html":  {Title: "verify.title", Path: "/verify", JS: jsMessages(lang), Scripts: []string{"/static/verify.js"}},
				"citizen.html": {Title: "citizen.title", Path: "/", Code: sampleCode(c), QRSVG: template.HTML(labelSVG([]byte(`<svg role="img"><title>x</title></svg>`), "QR")), Now: t0, QRSeconds: 300},
			}
			for name, d := range pages {
				d.Lang = lang
				if d.Code != nil {
					d.History = d.historyRows(d.Code)
				}
				t.Run(lang+"/"+c.String()+"/"+name, func(t *testing.T) {
					var buf bytes.Buffer
					if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
						t.Fatal(err)
					}
					page := buf.String()
					if i := strings.Index(page, "[["); i >= 0 {
						t.Errorf("missing message: %s", page[i:min(len(page), i+60)])
					}
					if want := `<html lang="` + d.HTMLLang() + `">`; !strings.Contains(page, want) {
						t.Errorf("no %s", want)
					}
					for _, key := range []string{d.Title, "app.name", "nav.verify", "footer.rules", "lang.other"} {
						if !strings.Contains(page, template.HTMLEscapeString(d.T(key))) {
							t.Errorf("page lacks %s = %q", key, d.T(key))
						}
					}
					if !strings.Contains(page, `href="`+d.Path+`?lang=`+d.OtherLang()+`"`) {
						t.Errorf("no language switch to %s", d.OtherLang())
					}
				})
			}
		}
	}
}

// TestNoTextReliesOnColourAlone renders the citizen page in every colour and
// language and checks that the colour is also a word and a shape, in the
// code and in every history row.
func TestNoTextReliesOnColourAlone(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{langZH, langEN} {
		for _, c := range []healthcode.Colour{healthcode.Green, healthcode.Yellow, healthcode.Red} {
			d := &pageData{Lang: lang, Title: "citizen.title", Path: "/", Code: sampleCode(c), Now: t0, QRSeconds: 300}
			d.History = d.historyRows(d.Code)
			var buf bytes.Buffer
			if err := templates.ExecuteTemplate(&buf, "citizen.html", d); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			word := d.T("colour." + c.String())
			heading := regexp.MustCompile(`(?s)<h1 id="colour-word"[^>]*>.*?</h1>`).FindString(page)
			if !strings.Contains(heading, word) || !strings.Contains(heading, `class="shape"`) {
				t.Errorf("%s %s: the heading lacks the word %q or the shape: %s", lang, c, word, heading)
			}
			if !strings.Contains(page, d.T("shape."+c.Shape())) || !strings.Contains(page, d.T("colour."+c.String()+".means")) {
				t.Errorf("%s %s: no shape word or meaning", lang, c)
			}
			if !strings.Contains(page, `aria-label="`+template.HTMLEscapeString(d.QRLabel())) && d.QRSVG != "" {
				t.Errorf("%s %s: QR without its label", lang, c)
			}
			rows := regexp.MustCompile(`(?s)<li class="c-[a-z]+">.*?</li>`).FindAllString(page, -1)
			if len(rows) != 2 {
				t.Fatalf("%s %s: %d history rows, want 2", lang, c, len(rows))
			}
			for _, row := range rows {
				if !strings.Contains(row, word) || !strings.Contains(row, `class="shape"`) {
					t.Errorf("%s %s: history row without word or shape: %s", lang, c, row)
				}
			}
		}
	}
}

func TestHistoryRows(t *testing.T) {
	t.Parallel()
	text := healthcode.Text{ZH: "中文理由", EN: "English reason"}
	c := &MyCodeJSON{
		Evidence: []EvidenceOutJSON{{ID: 7, SubmitterName: "第一实验室"}, {ID: 9, SubmitterName: "疾控"}},
		History: []DecisionJSON{
			{Colour: "red", Shape: "square", Text: text, DecidedAt: t0.Add(time.Hour), Actor: "王 Official", EvidenceIDs: []int64{9}, LogIndex: 13},
			// Record 99 is not among the current decision's records: the
			// row can only name it by number.
			{Colour: "yellow", Shape: "triangle", Text: text, DecidedAt: t0, Actor: "rules:v1", EvidenceIDs: []int64{7, 99, 7}, LogIndex: 12},
			{Colour: "green", Shape: "circle", DecidedAt: t0, Actor: "rules:v0", EvidenceIDs: []int64{}, LogIndex: -1},
		},
	}
	for _, tt := range []struct {
		lang string
		want []historyRow
	}{
		{langZH, []historyRow{
			{When: "2022-06-14 17:00", Colour: "red", Shape: "square", Reason: "中文理由", Actor: "王 Official", Submitters: "疾控", LogIndex: 13},
			{When: "2022-06-14 16:00", Colour: "yellow", Shape: "triangle", Reason: "中文理由", Actor: "规则自动判定（规则集 v1）", Submitters: "第一实验室、记录 #99", LogIndex: 12},
			{When: "2022-06-14 16:00", Colour: "green", Shape: "circle", Actor: "规则自动判定（规则集 v0）", LogIndex: -1},
		}},
		{langEN, []historyRow{
			{When: "2022-06-14 17:00", Colour: "red", Shape: "square", Reason: "English reason", Actor: "王 Official", Submitters: "疾控", LogIndex: 13},
			{When: "2022-06-14 16:00", Colour: "yellow", Shape: "triangle", Reason: "English reason", Actor: "Automatic, by the rules (rule set v1)", Submitters: "第一实验室、record #99", LogIndex: 12},
			{When: "2022-06-14 16:00", Colour: "green", Shape: "circle", Actor: "Automatic, by the rules (rule set v0)", LogIndex: -1},
		}},
	} {
		d := &pageData{Lang: tt.lang}
		if diff := cmp.Diff(tt.want, d.historyRows(c)); diff != "" {
			t.Errorf("%s: historyRows (-want +got):\n%s", tt.lang, diff)
		}
	}
}

// pageAnswer is what a browser-like request gets.
type pageAnswer struct {
	status int
	header http.Header
	body   string
}

// browse sends a request the way a browser does (Accept: text/html, the
// given cookies and headers), without following redirects.
func browse(t *testing.T, f *fixture, method, path string, hdr map[string]string, cookies []*http.Cookie, form string) pageAnswer {
	t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return pageAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func session(tok string) []*http.Cookie { return []*http.Cookie{{Name: sessionCookie, Value: tok}} }

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestCitizenPageServed logs in through the form, sees the code with its
// reason, evidence and history, follows the proof link, and logs out.
func TestCitizenPageServed(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	for i, kind := range []string{"antigen_test", "nucleic_acid_test"} {
		e := EvidenceJSON{Kind: kind, IDNumber: f.id, ExternalID: "P-" + kind, ObservedAt: t0.Add(time.Duration(i-2) * time.Hour), Result: "positive"}
		if a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, e)); a.status != 201 {
			t.Fatalf("evidence: %d %s", a.status, a.body)
		}
	}
	tok := f.tokens[healthcode.RoleCitizen]

	a := browse(t, f, "POST", "/login", map[string]string{"Origin": f.ts.URL, "Accept-Language": "en"}, nil, "token="+tok)
	c := cookieNamed(a.header, sessionCookie)
	if a.status != 303 || c == nil || c.Value != tok || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", a.status, c)
	}

	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"zh-CN", []string{`<html lang="zh-CN">`, "红码", "方形", "不可通行", "张*明", "410100 河南省", "为什么是这个颜色", "核酸检测 · 阳性",
			"提交方 test lab", "变更记录", "黄码", "规则自动判定（规则集", "依据的记录来自", "test lab", "下载第", "二维码有效至", `data-seconds="300"`,
			`aria-label="张*明的健康码二维码：红码"`, "退出登录"}},
		{"en", []string{`<html lang="en">`, "Red code", "square", "Do not pass", "张*明", "410100 Henan", "Why this colour", "Nucleic-acid test · positive",
			"submitted by test lab", "History of changes", "Yellow code", "Automatic, by the rules (rule set", "On records from", "Download the proof of log entry",
			"QR valid until", `aria-label="Health QR code of 张*明: Red code"`, "Log out"}},
	} {
		a := browse(t, f, "GET", "/", map[string]string{"Accept-Language": tt.lang}, session(tok), "")
		if a.status != 200 {
			t.Fatalf("%s: citizen page %d: %s", tt.lang, a.status, a.body)
		}
		for _, w := range tt.want {
			if !strings.Contains(a.body, w) {
				t.Errorf("%s: page lacks %q", tt.lang, w)
			}
		}
		if strings.Contains(a.body, "[[") {
			t.Errorf("%s: a message is missing", tt.lang)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	}

	// Every proof link works with the session cookie alone.
	a = browse(t, f, "GET", "/", nil, session(tok), "")
	links := regexp.MustCompile(`href="(/api/v1/me/proofs/\d+)"`).FindAllStringSubmatch(a.body, -1)
	if len(links) != 2 {
		t.Fatalf("%d proof links, want 2 (one per decision)", len(links))
	}
	for _, l := range links {
		if p := browse(t, f, "GET", l[1], nil, session(tok), ""); p.status != 200 || p.body == "" {
			t.Errorf("%s: %d %s", l[1], p.status, p.body)
		}
	}

	a = browse(t, f, "POST", "/logout", map[string]string{"Origin": f.ts.URL}, session(tok), "")
	if c := cookieNamed(a.header, sessionCookie); a.status != 303 || c == nil || c.MaxAge >= 0 {
		t.Errorf("logout: %d, cookie %+v", a.status, c)
	}
}

// TestLoginAndErrorPages covers the 401 and 404 pages and the refusals.
func TestLoginAndErrorPages(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path, form string
		hdr                      map[string]string
		cookies                  []*http.Cookie
		status                   int
		want                     []string
		clearsSession            bool
	}{
		{name: "login form", method: "GET", path: "/", hdr: map[string]string{"Accept-Language": "zh-CN"}, status: 200,
			want: []string{`<html lang="zh-CN">`, "登录", `<label for="token">令牌</label>`}},
		{name: "login form in English", method: "GET", path: "/?lang=en", status: 200, want: []string{`<html lang="en">`, "Log in", `<label for="token">Token</label>`}},
		{name: "bad token", method: "POST", path: "/login", form: "token=hc_nope", hdr: map[string]string{"Accept-Language": "en"}, status: 401,
			want: []string{`role="alert"`, "This token is not a valid citizen token."}},
		{name: "official token", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleLab], status: 401,
			want: []string{"令牌无效，或不是市民令牌。"}},
		{name: "login from another site", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			hdr: map[string]string{"Origin": "https://evil.example", "Accept-Language": "en"}, status: 403, want: []string{"Not allowed", "http.cross_site"}},
		{name: "logout from another site", method: "POST", path: "/logout", cookies: session(f.tokens[healthcode.RoleCitizen]),
			hdr: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, status: 403, want: []string{"http.cross_site"}},
		{name: "login from the page itself", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://proxied.example"}, status: 303},
		{name: "stale session", method: "GET", path: "/", cookies: session("hc_revoked-or-made-up"), hdr: map[string]string{"Accept-Language": "en"},
			status: 401, want: []string{"Your session has ended. Please log in again.", `<input id="token"`}, clearsSession: true},
		{name: "stale session does not block login", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			cookies: session("hc_stale"), status: 303},
		{name: "stale session does not block logout", method: "POST", path: "/logout", cookies: session("hc_stale"), status: 303, clearsSession: true},
		{name: "official's session sees the login form", method: "GET", path: "/", cookies: session(f.tokens[healthcode.RoleLab]), status: 200,
			want: []string{`<input id="token"`}},
		{name: "verifier page", method: "GET", path: "/verify?lang=en", status: 200,
			want: []string{"Verify a health code", `<label for="file">`, `<script src="/static/jsQR.js">`, `id="msgs"`, `"verify.valid":"Valid"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := browse(t, f, tt.method, tt.path, tt.hdr, tt.cookies, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status != 303 && !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("content type %q", a.header.Get("Content-Type"))
			}
			for _, w := range tt.want {
				if !strings.Contains(a.body, w) {
					t.Errorf("page lacks %q:\n%s", w, a.body)
				}
			}
			if c := cookieNamed(a.header, sessionCookie); tt.clearsSession != (c != nil && c.MaxAge < 0) {
				t.Errorf("session cookie %+v; clearing wanted: %v", c, tt.clearsSession)
			}
		})
	}
}

// TestPageProblem checks the error pages that http.go's problem() can
// render for a browser, and that API clients still get problem JSON.
func TestPageProblem(t *testing.T) {
	t.Parallel()
	s := &Server{}
	s.Handler()
	tests := []struct {
		name, method, path, accept, lang string
		err                              error
		html                             bool
		status                           int
		want                             []string
	}{
		{"404 for a browser", "GET", "/nothing", "text/html", "zh-CN", healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "x"), true, 404,
			[]string{"找不到页面", "没有这个页面。", "http.no_route", "返回首页"}},
		{"404 in English", "GET", "/nothing", "text/html,*/*", "en", healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "x"), true, 404,
			[]string{"Page not found", "There is no such page."}},
		{"401 is the login form", "GET", "/console", "text/html", "en", healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.unknown_token", "x"), true, 401,
			[]string{"Your session has ended", `<input id="token"`}},
		{"403", "GET", "/console", "text/html", "en", healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "x"), true, 403, []string{"Not allowed", "auth.role"}},
		{"a foreign error is a 500", "GET", "/", "text/html", "en", errors.New("disk on fire"), true, 500, []string{"Something went wrong"}},
		{"API path stays JSON", "GET", "/api/v1/nothing", "text/html", "en", healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "x"), false, 0, nil},
		{"no HTML wanted", "GET", "/nothing", "*/*", "en", healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "x"), false, 0, nil},
		{"not a page method", "DELETE", "/nothing", "text/html", "en", healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "x"), false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Header.Set("Accept", tt.accept)
			r.Header.Set("Accept-Language", tt.lang)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: "hc_x"})
			w := httptest.NewRecorder()
			if got := s.pageProblem(w, r, tt.err); got != tt.html {
				t.Fatalf("pageProblem = %v, want %v", got, tt.html)
			}
			if !tt.html {
				if w.Body.Len() != 0 {
					t.Errorf("wrote %q", w.Body.String())
				}
				return
			}
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			for _, want := range tt.want {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("page lacks %q:\n%s", want, w.Body.String())
				}
			}
		})
	}
}

// TestStaticAssets checks the vendored decoder against the hashes its
// header records, compression, and the service worker's scope header.
func TestStaticAssets(t *testing.T) {
	f := newFixture(t)
	src, err := staticFS.ReadFile("static/jsQR.js")
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(src, []byte("*/\n"))
	if !ok {
		t.Fatal("jsQR.js has no header comment")
	}
	sum := sha256.Sum256(body)
	if want := hex.EncodeToString(sum[:]); !bytes.Contains(head, []byte("File sha256 (before this comment): "+want)) {
		t.Errorf("jsQR.js body hash %s is not the one its header records:\n%s", want, head)
	}
	for _, w := range []string{"jsqr 1.4.0", "Apache-2.0", "jsQR.LICENSE.txt"} {
		if !bytes.Contains(head, []byte(w)) {
			t.Errorf("jsQR.js header lacks %q", w)
		}
	}
	if lic, err := staticFS.ReadFile("static/jsQR.LICENSE.txt"); err != nil || !bytes.Contains(lic, []byte("Apache License")) {
		t.Errorf("licence file: %v", err)
	}

	req, _ := http.NewRequest("GET", f.ts.URL+"/static/jsQR.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, src) {
		t.Errorf("gzipped jsQR.js differs from the embedded file")
	}

	a := f.do(t, "GET", "/static/sw.js", "", "", nil)
	if a.status != 200 || a.header.Get("Service-Worker-Allowed") != "/" || a.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("sw.js: %d %v", a.status, a.header)
	}
	// Every script a page names exists.
	for _, p := range []string{"/verify", "/"} {
		page := browse(t, f, "GET", p, nil, session(f.tokens[healthcode.RoleCitizen]), "")
		for _, m := range regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(page.body, -1) {
			if a := f.do(t, "GET", m[1], "", "", nil); a.status != 200 {
				t.Errorf("%s names %s: %d", p, m[1], a.status)
			}
		}
	}
}

func BenchmarkCitizenPage(b *testing.B) {
	d := &pageData{Lang: langZH, Title: "citizen.title", Path: "/", Code: sampleCode(healthcode.Red), Now: t0, QRSeconds: 300}
	d.History = d.historyRows(d.Code)
	s := &Server{}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := s.render(w, 200, "citizen.html", d); err != nil {
			b.Fatal(err)
		}
	}
}
