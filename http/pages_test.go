package http

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/engine"
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
	lit := regexp.MustCompile(`\.(?:Tf?|Tf?Other) "([a-z0-9_.]+)"`)
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
	built := []string{"verify.valid", "verify.invalid",
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
	// The verdict on a code not to accept is shown in both languages.
	for _, k := range []string{"reject.invalid", "reject.unchecked", "reject.next", "reason.unknown", "verify.mode.unchecked", "verify.mode.no_trust",
		"reason." + qr.ReasonMalformed, "reason." + qr.ReasonUnknownKey, "reason." + qr.ReasonBadSignature,
		"reason." + qr.ReasonWrongRegion, "reason." + qr.ReasonExpired, "reason." + qr.ReasonNotYetValid} {
		for _, l := range []string{langZH, langEN} {
			if v, ok := js[l+":"+k]; !ok || v != translate(l, k) {
				t.Errorf("verify.js shows %q in %s, which is not sent to it", k, l)
			}
		}
	}

	// The check-in page's and the poster's scripts: every key they name,
	// and every key they build, is among the messages sent to them.
	checkinBuilt := []string{"checkin.verified", "checkin.unverified", "checkin.verified.note", "checkin.unverified.note", "checkin.crowded.note", "checkin.error.unknown"}
	for _, reason := range []string{"venue.code_malformed", "venue.bad_mac", "venue.unknown", "venue.not_active", "venue.code_future", "checkin.replayed"} {
		checkinBuilt = append(checkinBuilt, "checkin.error."+reason)
	}
	for _, c := range []healthcode.Colour{healthcode.Green, healthcode.Yellow, healthcode.Red} {
		checkinBuilt = append(checkinBuilt, "colour."+c.String(), "colour."+c.String()+".means", "shape."+c.Shape())
	}
	for _, sc := range []struct {
		file     string
		prefixes []string
		built    []string
	}{
		{"checkin.js", checkInPrefixes, checkinBuilt},
		{"poster.js", posterPrefixes, []string{"poster.session", "poster.not_active", "poster.offline.help"}},
	} {
		sent := jsMessagesFor(langEN, sc.prefixes...)
		src, err := staticFS.ReadFile("static/" + sc.file)
		if err != nil {
			t.Fatal(err)
		}
		found := jsLit.FindAllStringSubmatch(string(src), -1)
		if len(found) < 5 {
			t.Errorf("%s: found only %d message keys: is the pattern right?", sc.file, len(found))
		}
		for _, m := range found {
			if _, ok := sent[m[1]]; !ok {
				t.Errorf("%s uses %q, which is not sent to it", sc.file, m[1])
			}
		}
		for _, k := range sc.built {
			if _, ok := sent[k]; !ok {
				t.Errorf("%s builds %q, which is not sent to it", sc.file, k)
			}
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
			venue := &VenueJSON{ID: "vabc", Name: "老王面馆", Address: "花园路 1 号", Region: "410105", Category: "restaurant"}
			pages := map[string]*pageData{
				"login.html":   {Title: "login.title", Path: "/", Error: "login.bad", Notice: "login.session_ended"},
				"checkin.html": {Title: "checkin.title", Path: "/c", Now: t0, JS: jsMessagesFor(lang, checkInPrefixes...)},
				"venue.html":   {Title: "venue.home.title", Path: "/venue", Owner: "老王", Error: "venue.home.bad_id"},
				"poster.html": {Title: "poster.title", Path: "/venue/vabc", Venue: venue, BodyClass: "poster", JS: jsMessagesFor(lang, posterPrefixes...),
					Poster: &posterData{Venue: "vabc", Live: "HCV1:vabc.1.abcdefghijklmnop", RefreshAt: t0.Add(30 * time.Second), Now: t0}},
				"print.html": {Title: "print.title", Path: "/venue/vabc/print", Venue: venue, BodyClass: "print",
					StaticSVG: template.HTML(labelSVG([]byte(`<svg role="img"><title>x</title></svg>`), "QR"))},
				"error.html":  {Title: "error.title.404", Path: "/x", Status: 404, ErrorCode: "http.no_route"},
				"verify.html": {Title: "verify.title", Path: "/verify", JS: jsMessages(lang), Scripts: []string{"/static/verify.js"}},
				"citizen.html": {Title: "citizen.title", Path: "/", Code: sampleCode(c), QRSVG: template.HTML(labelSVG([]byte(`<svg role="img"><title>x</title></svg>`), "QR")), Now: t0, QRSeconds: 300,
					AccessMore: maxAccessShown},
			}
			for name, d := range pages {
				d.Lang = lang
				if d.Code != nil {
					d.History = d.historyRows(d.Code)
					d.Access = d.accessRows(sampleAccess())
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

// sampleAccess is two reads of a citizen's data by named officials.
func sampleAccess() []healthcode.AccessRecord {
	return []healthcode.AccessRecord{
		{Time: t0.Add(time.Hour), Actor: healthcode.Principal{Name: "王流调", Role: healthcode.RoleEpidemiologist, Unit: "金水区疾控"},
			Purpose: "contact_tracing", CaseRef: "C-2022-17", What: "name, ID number and phone"},
		{Time: t0, Actor: healthcode.Principal{Name: "Auditor A", Role: healthcode.RoleAuditor}, Purpose: "oversight", CaseRef: "O-1"},
	}
}

// TestPageSpecifics renders the new pages in both languages and checks
// what each must say: the poster's instructions in both languages at
// once, the printed code's warning, the check-in page's scanner, the
// citizen page's reads of their data.
func TestPageSpecifics(t *testing.T) {
	t.Parallel()
	venue := &VenueJSON{ID: "vabc", Name: "老王面馆", Address: "花园路 1 号", Region: "410105", Category: "restaurant"}
	poster := &posterData{Venue: "vabc", Live: "HCV1:vabc.1.abcdefghijklmnop", RefreshAt: t0.Add(30 * time.Second), Now: t0}
	tests := []struct {
		name, lang, tmpl string
		d                *pageData
		want, unwanted   []string
	}{
		{"poster zh", langZH, "poster.html", &pageData{Title: "poster.title", Path: "/venue/vabc", Venue: venue, BodyClass: "poster", Poster: poster},
			[]string{`<body class="poster">`, "<h1 id=\"venue-name\">老王面馆</h1>", "请用手机扫码登记", `<span lang="en">Scan with your phone to check in</span>`,
				`aria-label="老王面馆的实时场所码"`, `role="img"`, "距离换码", "离线：连不上服务器", "Offline: the server cannot be reached",
				`href="/venue/vabc/print"`, `"live":"HCV1:vabc.1.abcdefghijklmnop"`, `"refresh_at":"2022-06-14T08:00:30Z"`, `"now":"2022-06-14T08:00:00Z"`},
			nil},
		{"poster en", langEN, "poster.html", &pageData{Title: "poster.title", Path: "/venue/vabc", Venue: venue, BodyClass: "poster", Poster: poster},
			[]string{"Scan with your phone to check in", `<span lang="zh-CN">请用手机扫码登记</span>`, `aria-label="Live venue code of 老王面馆"`, "Next code in",
				"Print the static code", "Live venue code: it changes every 30 seconds"}, nil},
		{"print zh", langZH, "print.html", &pageData{Title: "print.title", Path: "/venue/vabc/print", Venue: venue, StaticSVG: "<svg></svg>"},
			[]string{"静态码 · 不能证明到场", "Printed code · not proof of presence", "未核实到场", "proves nothing about who was here", `id="print"`, `href="/venue/vabc"`}, nil},
		{"check-in en", langEN, "checkin.html", &pageData{Title: "checkin.title", Path: "/c", Now: t0, JS: jsMessagesFor(langEN, checkInPrefixes...)},
			[]string{`<label for="file">Or upload a photo of a venue code</label>`, `<label for="paste">`, "Scan with the camera", `id="result" data-state="idle"`,
				`<time id="clock" datetime="2022-06-14T16:00:00&#43;08:00">2022-06-14 16:00:00</time>`, `"checkin.unverified.note":"This was a printed or expired venue code: a printed or forwarded code proves nothing`,
				`data-shape="triangle"`, `aria-current="page">Check in</a>`}, []string{`"verify.`}},
		{"login for check-in", langZH, "login.html", &pageData{Title: "login.title", Path: "/c", Next: "/c", Notice: "login.for_checkin", Scripts: []string{"/static/checkin.js"}},
			[]string{`<input type="hidden" name="next" value="/c">`, "登录后会自动回来", `<script src="/static/checkin.js">`}, nil},
		{"login without next", langZH, "login.html", &pageData{Title: "login.title", Path: "/"}, nil, []string{`name="next"`}},
		{"venue home en", langEN, "venue.html", &pageData{Title: "venue.home.title", Path: "/venue", Owner: "Old Wang"},
			[]string{"Logged in as the venue owner Old Wang.", `<label for="venue-id">Venue id</label>`, `action="/venue"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.d.Lang = tt.lang
			var buf bytes.Buffer
			if err := templates.ExecuteTemplate(&buf, tt.tmpl, tt.d); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q:\n%s", w, page)
				}
			}
			for _, u := range tt.unwanted {
				if strings.Contains(page, u) {
					t.Errorf("page has %q", u)
				}
			}
			if strings.Contains(page, "[[") || regexp.MustCompile(`<(script|style)>|style="|\son[a-z]+="`).MatchString(page) {
				t.Errorf("a missing message, or inline script or style")
			}
		})
	}
}

func TestAccessRows(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		lang string
		want []accessRow
	}{
		{langZH, []accessRow{
			{When: "2022-06-14 17:00（北京时间）", ISO: "2022-06-14T17:00:00+08:00", Who: "王流调", Role: "流调人员", Unit: "金水区疾控", Purpose: "流行病学调查", Case: "C-2022-17", What: "name, ID number and phone"},
			{When: "2022-06-14 16:00（北京时间）", ISO: "2022-06-14T16:00:00+08:00", Who: "Auditor A", Role: "审计人员", Purpose: "监督检查", Case: "O-1"},
		}},
		{langEN, []accessRow{
			{When: "2022-06-14 17:00 (Beijing time)", ISO: "2022-06-14T17:00:00+08:00", Who: "王流调", Role: "epidemiologist", Unit: "金水区疾控", Purpose: "contact tracing", Case: "C-2022-17", What: "name, ID number and phone"},
			{When: "2022-06-14 16:00 (Beijing time)", ISO: "2022-06-14T16:00:00+08:00", Who: "Auditor A", Role: "auditor", Purpose: "oversight", Case: "O-1"},
		}},
	} {
		d := &pageData{Lang: tt.lang}
		if diff := cmp.Diff(tt.want, d.accessRows(sampleAccess())); diff != "" {
			t.Errorf("%s: accessRows (-want +got):\n%s", tt.lang, diff)
		}
	}
	// An unknown purpose or role is shown as it is, not as a missing message.
	d := &pageData{Lang: langEN}
	got := d.accessRows([]healthcode.AccessRecord{{Time: t0, Actor: healthcode.Principal{Name: "x", Role: "martian"}, Purpose: "curiosity"}})
	if got[0].Role != "martian" || got[0].Purpose != "curiosity" {
		t.Errorf("unknown role or purpose: %+v", got[0])
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"/", "/"}, {"/c", "/c"}, {"/venue", "/venue"}, {"/console", "/console"}, {"/console/lookup", ""}, {"/venue/vabc123", "/venue/vabc123"}, {"/venue/vabc/print", "/venue/vabc/print"},
		{"", ""}, {"//evil.example/", ""}, {"https://evil.example/c", ""}, {"/venue/../admin", ""}, {"/venue/ABC", ""},
		{"/venue/", ""}, {"/c#HCV1:x", ""}, {"/c?x=1", ""}, {"/venue/a/b", ""}, {"/\\evil.example", ""}, {"javascript:alert(1)", ""},
	} {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckInURL(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "http://node.example:8080/venue/v1/print", nil)
	if got, want := checkInURL(r, "HCV1:v1.S.abcdefghijklmnop"), "http://node.example:8080/c#HCV1:v1.S.abcdefghijklmnop"; got != want {
		t.Errorf("checkInURL = %q, want %q", got, want)
	}
	r.TLS = &tls.ConnectionState{}
	if got := checkInURL(r, "HCV1:x"); !strings.HasPrefix(got, "https://node.example:8080/c#") {
		t.Errorf("over TLS: %q", got)
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
			{When: "2022-06-14 17:00（北京时间）", Colour: "red", Shape: "square", Reason: "中文理由", Actor: "王 Official", Submitters: "疾控", LogIndex: 13},
			{When: "2022-06-14 16:00（北京时间）", Colour: "yellow", Shape: "triangle", Reason: "中文理由", Actor: "规则自动判定（规则集 v1）", Submitters: "第一实验室、记录 #99", LogIndex: 12},
			{When: "2022-06-14 16:00（北京时间）", Colour: "green", Shape: "circle", Actor: "规则自动判定（规则集 v0）", LogIndex: -1},
		}},
		{langEN, []historyRow{
			{When: "2022-06-14 17:00 (Beijing time)", Colour: "red", Shape: "square", Reason: "English reason", Actor: "王 Official", Submitters: "疾控", LogIndex: 13},
			{When: "2022-06-14 16:00 (Beijing time)", Colour: "yellow", Shape: "triangle", Reason: "English reason", Actor: "Automatic, by the rules (rule set v1)", Submitters: "第一实验室、record #99", LogIndex: 12},
			{When: "2022-06-14 16:00 (Beijing time)", Colour: "green", Shape: "circle", Actor: "Automatic, by the rules (rule set v0)", LogIndex: -1},
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
	if method == "POST" {
		// As a browser posts a form, empty or not.
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

// session is the cookie of a page session opened with tok, as logging in
// sets it; for a string that is no usable token, a cookie holding it as a
// (stale) session id.
func (f *fixture) session(tok string) []*http.Cookie {
	id, _, _, err := f.engine.StartSession(context.Background(), tok)
	if err != nil {
		id = tok
	}
	return []*http.Cookie{{Name: sessionCookie, Value: id}}
}

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
		f.collect(t, f.id, "P-"+kind, t0.Add(time.Duration(i-2)*time.Hour))
		e := EvidenceJSON{Kind: kind, Tube: "P-" + kind, Result: "positive"}
		if a := f.do(t, "POST", "/api/v1/evidence", lab, "application/json", mustJSON(t, e)); a.status != 201 {
			t.Fatalf("evidence: %d %s", a.status, a.body)
		}
	}
	tok := f.tokens[healthcode.RoleCitizen]

	a := browse(t, f, "POST", "/login", map[string]string{"Origin": f.ts.URL, "Accept-Language": "en"}, nil, "token="+tok)
	c := cookieNamed(a.header, sessionCookie)
	// The cookie holds a fresh session id, never the token itself.
	if a.status != 303 || c == nil || c.Value == tok || strings.Contains(c.Value, tok) || !strings.HasPrefix(c.Value, engine.SessionPrefix) ||
		!c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
		t.Fatalf("login: %d, cookie %+v", a.status, c)
	}
	sid := []*http.Cookie{{Name: sessionCookie, Value: c.Value}}
	if a := browse(t, f, "GET", "/", nil, sid, ""); a.status != 200 || !strings.Contains(a.body, "张*明") {
		t.Fatalf("the session cookie set at login: %d", a.status)
	}

	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"zh-CN", []string{`<html lang="zh-CN">`, "红码", "方形", "不可通行", "张*明", "河南省郑州市（区划代码 410100）", "为什么是这个颜色", "核酸检测 · 阳性",
			"提交方 test lab", "变更记录", "黄码", "规则自动判定（规则集", "依据的记录来自", "test lab", "下载第", "二维码有效至", `data-seconds="300"`,
			`aria-label="张*明的健康码二维码：红码"`, "退出登录"}},
		{"en", []string{`<html lang="en">`, "Red code", "square", "Do not pass", "张*明", "Zhengzhou, Henan (code 410100)", "Why this colour", "Nucleic-acid test · positive",
			"submitted by test lab", "History of changes", "Yellow code", "Automatic, by the rules (rule set", "On records from", "Download the proof of log entry",
			"QR valid until", `aria-label="Health QR code of 张*明: Red code"`, "Log out"}},
	} {
		a := browse(t, f, "GET", "/", map[string]string{"Accept-Language": tt.lang}, f.session(tok), "")
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
	a = browse(t, f, "GET", "/", nil, f.session(tok), "")
	links := regexp.MustCompile(`href="(/api/v1/me/proofs/\d+)"`).FindAllStringSubmatch(a.body, -1)
	if len(links) != 2 {
		t.Fatalf("%d proof links, want 2 (one per decision)", len(links))
	}
	for _, l := range links {
		if p := browse(t, f, "GET", l[1], nil, f.session(tok), ""); p.status != 200 || p.body == "" {
			t.Errorf("%s: %d %s", l[1], p.status, p.body)
		}
	}

	a = browse(t, f, "POST", "/logout", map[string]string{"Origin": f.ts.URL}, sid, "")
	if c := cookieNamed(a.header, sessionCookie); a.status != 303 || c == nil || c.MaxAge >= 0 {
		t.Errorf("logout: %d, cookie %+v", a.status, c)
	}
	// The session id replayed after logout is refused: logout ended it on
	// the node, not only in the browser.
	for _, path := range []string{"/", "/api/v1/me/code"} {
		a = browse(t, f, "GET", path, map[string]string{"Accept-Language": "en"}, sid, "")
		if path == "/" && (a.status != 401 || !strings.Contains(a.body, "Your session has ended")) || strings.Contains(a.body, "张*明") {
			t.Errorf("GET %s with the session id after logout: %d %s", path, a.status, a.body)
		}
	}
	if _, err := f.engine.SessionPrincipal(context.Background(), sid[0].Value); healthcode.ErrorDetail(err) != "auth.session" {
		t.Errorf("SessionPrincipal after logout: %v, want auth.session", err)
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
			want: []string{`role="alert"`, "This token is not a valid citizen, venue or official token for these pages."}},
		{name: "a verifier's token (no page to log in to)", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleVerifier], status: 401,
			want: []string{"令牌无效，或不能在这些页面登录（只限市民、场所和工作人员令牌）。"}},
		{name: "login from another site", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			hdr: map[string]string{"Origin": "https://evil.example", "Accept-Language": "en"}, status: 403, want: []string{"Not allowed", "http.cross_site"}},
		{name: "logout from another site", method: "POST", path: "/logout", cookies: f.session(f.tokens[healthcode.RoleCitizen]),
			hdr: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, status: 403, want: []string{"http.cross_site"}},
		{name: "login from the page itself", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://proxied.example"}, status: 303},
		{name: "stale session", method: "GET", path: "/", cookies: f.session("hc_revoked-or-made-up"), hdr: map[string]string{"Accept-Language": "en"},
			status: 401, want: []string{"Your session has ended. Please log in again.", `<input id="token"`}, clearsSession: true},
		{name: "stale session does not block login", method: "POST", path: "/login", form: "token=" + f.tokens[healthcode.RoleCitizen],
			cookies: f.session("hc_stale"), status: 303},
		{name: "stale session does not block logout", method: "POST", path: "/logout", cookies: f.session("hc_stale"), status: 303, clearsSession: true},
		{name: "a verifier's session sees the login form", method: "GET", path: "/", cookies: f.session(f.tokens[healthcode.RoleVerifier]), status: 200,
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

	// The poster's QR encoder, the same way.
	enc, err := staticFS.ReadFile("static/qrcode.js")
	if err != nil {
		t.Fatal(err)
	}
	encHead, encBody, ok := bytes.Cut(enc, []byte("*/\n"))
	if !ok {
		t.Fatal("qrcode.js has no header comment")
	}
	encSum := sha256.Sum256(encBody)
	if want := hex.EncodeToString(encSum[:]); !bytes.Contains(encHead, []byte("File sha256 (before this comment): "+want)) {
		t.Errorf("qrcode.js body hash %s is not the one its header records:\n%s", want, encHead)
	}
	for _, w := range []string{"qrcode-generator 2.0.4", "MIT", "qrcode.LICENSE.txt", "Tarball sha256: 02e2e18a"} {
		if !bytes.Contains(encHead, []byte(w)) {
			t.Errorf("qrcode.js header lacks %q", w)
		}
	}
	if !bytes.Contains(encBody, []byte("Copyright (c) 2009 Kazuhiko Arase")) {
		t.Errorf("qrcode.js lost its own copyright notice")
	}
	if lic, err := staticFS.ReadFile("static/qrcode.LICENSE.txt"); err != nil || !bytes.Contains(lic, []byte("Permission is hereby granted")) {
		t.Errorf("qrcode licence file: %v", err)
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
	id := pageVenue(t, f, "脚本检查", true)
	for _, p := range []struct{ path, role string }{{"/verify", "citizen"}, {"/", "citizen"}, {"/c", "citizen"}, {"/c", ""},
		{"/venue/" + id, "venue"}, {"/venue/" + id + "/print", "venue"}} {
		page := browse(t, f, "GET", p.path, nil, f.session(f.tokens[healthcode.Role(p.role)]), "")
		if page.status != 200 {
			t.Errorf("%s: %d", p.path, page.status)
		}
		for _, m := range regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(page.body, -1) {
			if a := f.do(t, "GET", m[1], "", "", nil); a.status != 200 {
				t.Errorf("%s names %s: %d", p.path, m[1], a.status)
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

// pageVenue registers a venue with the fixture's venue token and, if
// approve, has the operator approve it; it returns the venue's id.
func pageVenue(t *testing.T, f *fixture, name string, approve bool) string {
	t.Helper()
	a := f.do(t, "POST", "/api/v1/venues", f.tokens[healthcode.RoleVenue], "application/json",
		mustJSON(t, VenueJSON{Name: name, Address: "郑州市金水区花园路 1 号", Region: "410105", Category: "restaurant"}))
	var v VenueJSON
	if err := json.Unmarshal(a.body, &v); a.status != 201 || err != nil || v.ID == "" {
		t.Fatalf("registering a venue: %d %s", a.status, a.body)
	}
	if approve {
		if a := f.do(t, "POST", "/api/v1/venues/"+v.ID+"/status", f.tokens[healthcode.RoleOperator], "application/json",
			[]byte(`{"status":"active"}`)); a.status != 200 {
			t.Fatalf("approving the venue: %d %s", a.status, a.body)
		}
	}
	return v.ID
}

// pageToken makes a token for p.
func pageToken(t *testing.T, f *fixture, p *healthcode.Principal) string {
	t.Helper()
	tok, err := f.engine.CreateToken(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// venueCode is the venue's codes as its owner's API gives them.
func venueCode(t *testing.T, f *fixture, id string) VenueCodeJSON {
	t.Helper()
	a := f.do(t, "GET", "/api/v1/venues/"+id+"/code", f.tokens[healthcode.RoleVenue], "", nil)
	var c VenueCodeJSON
	if err := json.Unmarshal(a.body, &c); a.status != 200 || err != nil || c.Live == "" {
		t.Fatalf("venue code: %d %s", a.status, a.body)
	}
	return c
}

// TestVenueAndCheckInPagesServed walks the venue owner's and the check-in
// pages as each kind of caller: only the owner sees the poster and the
// printed code, everyone else the login form that leads back, and the
// login leads only to the node's own pages.
func TestVenueAndCheckInPagesServed(t *testing.T) {
	f := newFixture(t)
	id := pageVenue(t, f, "老王面馆", true)
	pending := pageVenue(t, f, "新开的店", false)
	code := venueCode(t, f, id)
	venueTok, citizenTok := f.tokens[healthcode.RoleVenue], f.tokens[healthcode.RoleCitizen]
	otherOwner := pageToken(t, f, &healthcode.Principal{Name: "another owner", Role: healthcode.RoleVenue, Unit: "unit-venue-2"})
	staticSVG, err := f.srv.Signer.SVG(f.ts.URL + "/c#" + code.Static)
	if err != nil {
		t.Fatal(err)
	}
	svgPath := regexp.MustCompile(` d="[^"]+"`).Find(staticSVG)
	en := map[string]string{"Accept-Language": "en"}
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	tests := []struct {
		name, method, path, form string
		hdr                      map[string]string
		cookies                  []*http.Cookie
		status                   int
		location                 string
		want, unwanted           []string
	}{
		{name: "poster, anonymous", method: "GET", path: "/venue/" + id, hdr: en, status: 200,
			want: []string{`<input id="token"`, `<input type="hidden" name="next" value="/venue/` + id + `">`, "Log in with the venue&#39;s token"}},
		{name: "poster, citizen", method: "GET", path: "/venue/" + id, cookies: f.session(citizenTok), status: 200,
			want: []string{`<input id="token"`, `value="/venue/` + id + `"`}, unwanted: []string{code.Live}},
		{name: "poster, owner", method: "GET", path: "/venue/" + id, hdr: en, cookies: f.session(venueTok), status: 200,
			want: []string{"老王面馆", `"live":"` + code.Live + `"`, `"venue":"` + id + `"`, `<script src="/static/qrcode.js">`, `<script src="/static/poster.js">`,
				`aria-label="Live venue code of 老王面馆"`, "Scan with your phone to check in", "请用手机扫码登记"}, unwanted: []string{code.Static}},
		{name: "poster, another owner", method: "GET", path: "/venue/" + id, hdr: en, cookies: f.session(otherOwner), status: 404,
			want: []string{"Page not found", "venue.unknown"}, unwanted: []string{"老王面馆", code.Live}},
		{name: "poster of a venue not approved", method: "GET", path: "/venue/" + pending, cookies: f.session(venueTok), status: 409,
			want: []string{"venue.not_active"}},
		{name: "poster of no venue", method: "GET", path: "/venue/vnothing", cookies: f.session(venueTok), status: 404, want: []string{"venue.unknown"}},
		{name: "poster, stale session", method: "GET", path: "/venue/" + id, cookies: f.session("hc_gone"), status: 401,
			want: []string{`<input id="token"`, `value="/venue/` + id + `"`}},
		{name: "printed code, owner", method: "GET", path: "/venue/" + id + "/print", hdr: en, cookies: f.session(venueTok), status: 200,
			want: []string{"老王面馆", "Printed code · not proof of presence", "recorded as unverified presence", string(svgPath),
				`aria-label="Printed venue code of 老王面馆 (not proof of presence)"`, `<body class="print">`}, unwanted: []string{code.Live}},
		{name: "printed code, another owner", method: "GET", path: "/venue/" + id + "/print", cookies: f.session(otherOwner), status: 404},
		{name: "printed code, anonymous", method: "GET", path: "/venue/" + id + "/print", status: 200,
			want: []string{`value="/venue/` + id + `/print"`}, unwanted: []string{string(svgPath)}},
		{name: "venue home", method: "GET", path: "/venue", hdr: en, cookies: f.session(venueTok), status: 200,
			want: []string{"Logged in as the venue owner test venue.", `<label for="venue-id">`}},
		{name: "venue home opens a poster", method: "GET", path: "/venue?id=+" + strings.ToUpper(id) + "+", cookies: f.session(venueTok), status: 303, location: "/venue/" + id},
		{name: "venue home, bad id", method: "GET", path: "/venue?id=..%2Fadmin", hdr: en, cookies: f.session(venueTok), status: 200,
			want: []string{"That is not a venue id."}},
		{name: "venue home, anonymous", method: "GET", path: "/venue", status: 200, want: []string{`value="/venue"`}},
		{name: "a venue's session at the start", method: "GET", path: "/", cookies: f.session(venueTok), status: 303, location: "/venue"},
		{name: "check-in, anonymous", method: "GET", path: "/c", hdr: en, status: 200,
			want: []string{`<input id="token"`, `value="/c"`, "you will come straight back here", `<script src="/static/checkin.js">`}},
		{name: "check-in, venue", method: "GET", path: "/c", cookies: f.session(venueTok), status: 200, want: []string{`<input id="token"`, `value="/c"`}},
		{name: "check-in, citizen", method: "GET", path: "/c", hdr: en, cookies: f.session(citizenTok), status: 200,
			want:     []string{`id="scanner"`, `id="result"`, `<script src="/static/checkin.js">`, `<script src="/static/clock.js">`, `"checkin.verified":"Checked in: presence verified"`},
			unwanted: []string{`<input id="token"`, "jsQR.js"}},
		{name: "venue login back to its poster", method: "POST", path: "/login", form: "token=" + venueTok + "&next=/venue/" + id, hdr: same, status: 303, location: "/venue/" + id},
		{name: "venue login", method: "POST", path: "/login", form: "token=" + venueTok, hdr: same, status: 303, location: "/venue"},
		{name: "citizen login back to the check-in", method: "POST", path: "/login", form: "token=" + citizenTok + "&next=/c", hdr: same, status: 303, location: "/c"},
		{name: "login never leads away", method: "POST", path: "/login", form: "token=" + citizenTok + "&next=//evil.example/c", hdr: same, status: 303, location: "/"},
		{name: "a failed login keeps where it leads", method: "POST", path: "/login", form: "token=hc_bad&next=/c", hdr: same, status: 401,
			want: []string{`value="/c"`, "令牌无效"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := browse(t, f, tt.method, tt.path, tt.hdr, tt.cookies, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.location != "" && a.header.Get("Location") != tt.location {
				t.Errorf("Location %q, want %q", a.header.Get("Location"), tt.location)
			}
			if tt.status != 303 && !strings.Contains(a.header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("CSP %q", a.header.Get("Content-Security-Policy"))
			}
			for _, w := range tt.want {
				if !strings.Contains(a.body, w) {
					t.Errorf("page lacks %q:\n%s", w, a.body)
				}
			}
			for _, u := range tt.unwanted {
				if strings.Contains(a.body, u) {
					t.Errorf("page has %q", u)
				}
			}
		})
	}
}

// TestCitizenPageShowsWhoLooked has an epidemiologist unmask the citizen
// for a case; the citizen's page then names the official, the purpose and
// the case.
func TestCitizenPageShowsWhoLooked(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[healthcode.RoleCitizen]
	a := browse(t, f, "GET", "/", map[string]string{"Accept-Language": "en"}, f.session(tok), "")
	if !strings.Contains(a.body, "Who looked at my data") || !strings.Contains(a.body, "No official has looked at your data.") {
		t.Fatalf("before any read: %s", a.body)
	}
	caseID, _ := openCase(t, f, "DX-LOOKED")
	sharePresence(t, f, pageVenue(t, f, "面馆", true), f.person.Pseudonym)
	body := mustJSON(t, map[string]string{"subject": f.person.Pseudonym, "purpose": "contact_tracing", "case": caseID})
	var u UnmaskJSON
	if a := f.do(t, "POST", "/api/v1/trace/unmask", f.tokens[healthcode.RoleEpidemiologist], "application/json", body); a.status != 202 || json.Unmarshal(a.body, &u) != nil {
		t.Fatalf("unmask request: %d %s", a.status, a.body)
	}
	if a := f.do(t, "POST", fmt.Sprintf("/api/v1/unmask/%d/approve", u.ID), f.tokens[healthcode.RoleApprover], "", nil); a.status != 200 {
		t.Fatalf("unmask approval: %d %s", a.status, a.body)
	}
	if a := f.do(t, "GET", fmt.Sprintf("/api/v1/unmask/%d", u.ID), f.tokens[healthcode.RoleEpidemiologist], "", nil); a.status != 200 {
		t.Fatalf("unmask: %d %s", a.status, a.body)
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Who looked at my data", "test epidemiologist (epidemiologist, unit-epidemiologist)", "contact tracing", caseID, "name, ID number and phone",
			"test approver (approver, unit-approver)", "asked to see name, ID number and phone"}},
		{"zh-CN", []string{"谁查看过我的数据", "test epidemiologist (流调人员, unit-epidemiologist)", "流行病学调查", caseID}},
	} {
		a := browse(t, f, "GET", "/", map[string]string{"Accept-Language": tt.lang}, f.session(tok), "")
		for _, w := range tt.want {
			if !strings.Contains(a.body, w) {
				t.Errorf("%s: page lacks %q", tt.lang, w)
			}
		}
		if strings.Contains(a.body, "No official has looked") || strings.Contains(a.body, "还没有任何工作人员") {
			t.Errorf("%s: still says no one looked", tt.lang)
		}
	}
}

// BenchmarkCheckInPage renders the page every scanned venue code opens: at
// a city's rush hour, the most requested page.
func BenchmarkCheckInPage(b *testing.B) {
	d := &pageData{Lang: langZH, Title: "checkin.title", Path: "/c", Now: t0, JS: jsMessagesFor(langZH, checkInPrefixes...),
		Scripts: []string{"/static/clock.js", "/static/checkin.js"}}
	s := &Server{}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := s.render(w, 200, "checkin.html", d); err != nil {
			b.Fatal(err)
		}
	}
}

// consoleWorld is one of everything the console shows, made through the
// services: a positive test (a confirmed case an override can rest on), a
// venue, a restrictive override awaiting approval, a bulk one awaiting
// approval and co-signature, an escalated appeal and an open one, and a
// designation awaiting approval.
type consoleWorld struct {
	positive    int64
	venue       string
	pending     *healthcode.Override
	bulk        *healthcode.Override
	escalated   *healthcode.Appeal
	open        *healthcode.Appeal
	designation *healthcode.RiskDesignation
	caseID      string // the case the overrides cite
}

// bulkPeople registers n more people and returns their pseudonyms.
func bulkPeople(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		first17 := fmt.Sprintf("41010519850101%03d", 100+i)
		p, err := f.engine.RegisterPerson(context.Background(), healthcode.PersonalData{Name: fmt.Sprintf("批量%d", i),
			IDNumber: first17 + string(healthcode.IDCheckDigit(first17))})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p.Pseudonym
	}
	return out
}

// principal is the official or citizen a token speaks for.
func principal(t *testing.T, f *fixture, tok string) *healthcode.Principal {
	t.Helper()
	p, err := f.engine.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// positiveTest has the lab record a positive test of the fixture's other
// person, and returns its evidence id.
func positiveTest(t *testing.T, f *fixture, ref string) int64 {
	t.Helper()
	f.collect(t, "410102199003071250", ref, f.clock.Now().Add(-2*time.Hour))
	e := EvidenceJSON{Kind: "nucleic_acid_test", Tube: ref, Result: "positive"}
	a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json", mustJSON(t, e))
	var o OutcomeJSON
	if err := json.Unmarshal(a.body, &o); a.status != 201 || err != nil || o.EvidenceID == 0 {
		t.Fatalf("positive test: %d %s", a.status, a.body)
	}
	return o.EvidenceID
}

func newConsoleWorld(t *testing.T, f *fixture) *consoleWorld {
	t.Helper()
	ctx := context.Background()
	w := &consoleWorld{positive: positiveTest(t, f, "CW-1"), venue: pageVenue(t, f, "老王面馆", true)}
	operator := principal(t, f, f.tokens[healthcode.RoleOperator])

	// The other person appeals, and nobody answers for a day: escalated.
	other := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})
	var err error
	if w.escalated, err = f.engine.FileAppeal(ctx, principal(t, f, other), healthcode.AppealColour, "我没有去过那里"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(25 * time.Hour)
	if n, err := f.engine.EscalateAppeals(ctx); err != nil || n != 1 {
		t.Fatalf("escalating: %d, %v", n, err)
	}
	now := f.clock.Now()
	if w.open, err = f.engine.FileAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), healthcode.AppealCorrection, "名字写错了"); err != nil {
		t.Fatal(err)
	}
	// A case whose person was at the venue with the fixture's person and
	// the bulk override's people: each is linked to it.
	bulk := bulkPeople(t, f, healthcode.BulkLimit+1)
	w.caseID, _ = openCase(t, f, "CW-DX")
	sharePresence(t, f, w.venue, append([]string{f.person.Pseudonym}, bulk...)...)
	if w.pending, err = f.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: []string{f.person.Pseudonym}, Colour: healthcode.Yellow,
		Reason: "epidemiologist_judgement", Basis: []int64{w.positive}, CaseRef: w.caseID, Note: "密接的家属", Expires: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if w.bulk, err = f.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: bulk, Colour: healthcode.Red,
		Reason: "lab_result_delayed", Basis: []int64{w.positive}, CaseRef: w.caseID, Expires: now.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if w.designation, err = f.engine.RequestDesignation(ctx, principal(t, f, f.tokens[healthcode.RoleEpidemiologist]), healthcode.RiskDesignation{
		Venue: w.venue, Level: healthcode.RiskHigh, Reason: "case_visited", Cases: []int64{w.positive},
		From: now.Add(-2 * time.Hour), Until: now, Expires: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return w
}

// checkPageHTML checks what every page must: no missing message, no
// inline script or style, a label for every field, a caption and column
// headers for every table.
func checkPageHTML(t *testing.T, page string) {
	t.Helper()
	if i := strings.Index(page, "[["); i >= 0 {
		t.Errorf("missing message: %s", page[i:min(len(page), i+60)])
	}
	if m := regexp.MustCompile(`<(script|style)>|style="|\son[a-z]+="`).FindString(page); m != "" {
		t.Errorf("inline script or style: %s", m)
	}
	fields := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`).FindAllString(page, -1)
	for _, f := range fields {
		if strings.Contains(f, `type="hidden"`) {
			continue
		}
		if strings.Contains(f, `type="radio"`) {
			if !regexp.MustCompile(`<label class="choice"><input type="radio"`).MatchString(page) {
				t.Errorf("radio without its label: %s", f)
			}
			continue
		}
		id := regexp.MustCompile(` id="([^"]+)"`).FindStringSubmatch(f)
		if id == nil || !strings.Contains(page, `<label for="`+id[1]+`">`) {
			t.Errorf("field without a label: %s", f)
		}
	}
	tables := strings.Count(page, "<table")
	if c := regexp.MustCompile(`<table id="[^"]+">\s*<caption id="[^"]+">[^<]+</caption>`).FindAllString(page, -1); len(c) != tables {
		t.Errorf("%d tables, %d with a caption", tables, len(c))
	}
	if tables > 0 && strings.Count(page, `<thead><tr>`) != tables {
		t.Errorf("a table without column headers")
	}
}

// TestConsoleServed opens the console as every role, in both languages:
// each official sees the sections and the buttons of their role, and no
// other; anyone else gets the login form that leads back to the console.
func TestConsoleServed(t *testing.T) {
	f := newFixture(t)
	w := newConsoleWorld(t, f)
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	approveP, cosignB, approveD := `action="/console/overrides/`+id(w.pending.ID)+`/approve"`, `action="/console/overrides/`+id(w.bulk.ID)+`/cosign"`,
		`action="/console/designations/`+id(w.designation.ID)+`/approve"`
	answerOpen, answerEsc := `action="/console/appeals/`+id(w.open.ID)+`/answer"`, `action="/console/appeals/`+id(w.escalated.ID)+`/answer"`
	forms := []string{`action="/console/lookup"`, `action="/console/overrides"`, `action="/console/designations"`, approveP, cosignB, approveD, answerOpen, answerEsc}
	tests := []struct {
		role  healthcode.Role
		lang  string
		want  []string // besides the forms of the role
		forms []string
	}{
		{healthcode.RoleOperator, "en", []string{"Logged in as test operator (operator, unit-operator)", "Look up a person", "Overrides",
			"Request an override", "It never decides a colour", "Note (never decides the colour)", "Overrides not yet ended", "#" + id(w.pending.ID),
			"Yellow code", "Red code", "21 people", "awaits an approver of another unit", "awaits an auditor&#39;s co-signature",
			"Requested by test operator (operator, unit-operator)", "An epidemiologist&#39;s judgement on a named case", "case <code>" + w.caseID + "</code>",
			"密接的家属", "Appeals awaiting an answer", "Overdue", "Escalated to oversight", "Awaiting an answer", "我没有去过那里", "Correction of data",
			"Answer appeal no. " + id(w.open.ID), "Grant (an appeal of the colour corrects it", `<option value="case_investigation">case investigation</option>`,
			`<option value="red">Red code (square)</option>`, `<option value="lab_result_delayed">A lab result was delayed and entered by hand</option>`,
			`type="datetime-local"`, `value="2022-06-22T17:00"`, `href="/console" aria-current="page">Console</a>`},
			[]string{`action="/console/lookup"`, `action="/console/overrides"`, answerOpen, answerEsc}},
		{healthcode.RoleOperator, "zh-CN", []string{"已登录：test operator (运营人员, unit-operator)", "查询个人健康码", "申请人工调整", "从不决定颜色",
			"备注（不决定颜色）", "黄码", "21 人", "已逾期", "已上报监督", "答复第 " + id(w.open.ID) + " 号申诉", "流行病学调查"},
			[]string{`action="/console/lookup"`, `action="/console/overrides"`, answerOpen, answerEsc}},
		{healthcode.RoleApprover, "en", []string{"Overrides awaiting your approval", "Approve no. " + id(w.pending.ID), "Approve no. " + id(w.bulk.ID),
			"Designations awaiting your approval", "venue " + w.venue, "High risk", "A case visited", "records #" + id(w.positive),
			"Requested by test epidemiologist (epidemiologist, unit-epidemiologist)", "You may approve only what an official of another unit requested."},
			[]string{approveP, `action="/console/overrides/` + id(w.bulk.ID) + `/approve"`, approveD}},
		{healthcode.RoleApprover, "zh-CN", []string{"待您审批的人工调整", "批准第 " + id(w.pending.ID) + " 号", "待您审批的风险认定", "高风险", "病例到访"},
			[]string{approveP, approveD}},
		{healthcode.RoleAuditor, "en", []string{"Look up a person", "Bulk overrides awaiting co-signature", "Co-sign no. " + id(w.bulk.ID),
			"Appeals escalated to oversight (not answered in time)", "Overdue", "我没有去过那里"},
			[]string{`action="/console/lookup"`, cosignB}},
		{healthcode.RoleAuditor, "zh-CN", []string{"待会签的批量人工调整", "会签第 " + id(w.bulk.ID) + " 号", "已上报监督的申诉（逾期未答复）", "已逾期"},
			[]string{`action="/console/lookup"`, cosignB}},
		{healthcode.RoleEpidemiologist, "en", []string{"Look up a person", "Request a designation", "Designations not yet ended", "venue " + w.venue,
			"Pending", "Fill in a venue or an area, not both."},
			[]string{`action="/console/lookup"`, `action="/console/designations"`}},
		{healthcode.RoleEpidemiologist, "zh-CN", []string{"申请风险认定", "未到期的风险认定", "待批准", "场所和地区只填一项。"},
			[]string{`action="/console/lookup"`, `action="/console/designations"`}},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+"/"+tt.lang, func(t *testing.T) {
			a := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": tt.lang}, f.session(f.tokens[tt.role]), "")
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			checkPageHTML(t, a.body)
			for _, w := range append(tt.want, tt.forms...) {
				if !strings.Contains(a.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, f := range forms {
				if !slices.Contains(tt.forms, f) && strings.Contains(a.body, f) {
					t.Errorf("a %s sees the form %s", tt.role, f)
				}
			}
			if strings.Contains(a.body, `<input id="token"`) {
				t.Errorf("the login form is shown")
			}
			// A bulk override lists a few of its people, not all.
			if n := countIn(a.body, w.bulk.Subjects); tt.role != healthcode.RoleEpidemiologist && (n == 0 || n == len(w.bulk.Subjects)) {
				t.Errorf("%d of the bulk override's %d people listed", n, len(w.bulk.Subjects))
			}
		})
	}

	// Anyone else is asked to log in, and comes back here.
	for _, role := range []healthcode.Role{"", healthcode.RoleCitizen, healthcode.RoleVenue, healthcode.RoleLab, healthcode.RoleAdmin} {
		a := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(f.tokens[role]), "")
		if a.status != 200 || !strings.Contains(a.body, `<input type="hidden" name="next" value="/console">`) ||
			!strings.Contains(a.body, "Log in with your own official token") || strings.Contains(a.body, "console/lookup") {
			t.Errorf("%q: %d %s", role, a.status, a.body)
		}
	}
	if a := browse(t, f, "GET", "/console", nil, f.session("hc_gone"), ""); a.status != 401 || !strings.Contains(a.body, `value="/console"`) ||
		cookieNamed(a.header, sessionCookie) == nil {
		t.Errorf("a stale session: %d %s", a.status, a.body)
	}
	for _, tt := range []struct {
		name, form string
		cookies    []*http.Cookie
		status     int
		location   string
	}{
		{"operator logs in", "token=" + f.tokens[healthcode.RoleOperator], nil, 303, "/console"},
		{"approver logs in back to the console", "token=" + f.tokens[healthcode.RoleApprover] + "&next=/console", nil, 303, "/console"},
		{"a lab logs in to its own page", "token=" + f.tokens[healthcode.RoleLab], nil, 303, "/lab"},
		{"an admin logs in to the admin page, not the console", "token=" + f.tokens[healthcode.RoleAdmin] + "&next=/console", nil, 303, "/admin"},
		{"a verifier may not", "token=" + f.tokens[healthcode.RoleVerifier], nil, 401, ""},
		{"a peer node may not", "token=" + f.tokens[healthcode.RolePeer], nil, 401, ""},
	} {
		a := browse(t, f, "POST", "/login", map[string]string{"Sec-Fetch-Site": "same-origin"}, tt.cookies, tt.form)
		if a.status != tt.status || a.header.Get("Location") != tt.location {
			t.Errorf("%s: %d → %q, want %d → %q", tt.name, a.status, a.header.Get("Location"), tt.status, tt.location)
		}
	}
	if a := browse(t, f, "GET", "/", nil, f.session(f.tokens[healthcode.RoleAuditor]), ""); a.status != 303 || a.header.Get("Location") != "/console" {
		t.Errorf("an official's start page: %d %q", a.status, a.header.Get("Location"))
	}
}

// countIn counts the strings found in page.
func countIn(page string, ss []string) int {
	n := 0
	for _, s := range ss {
		if strings.Contains(page, s) {
			n++
		}
	}
	return n
}

// consolePost posts a console form the way the page does.
func consolePost(t *testing.T, f *fixture, path, tok, lang string, form url.Values) pageAnswer {
	t.Helper()
	return browse(t, f, "POST", path, map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": lang}, f.session(tok), form.Encode())
}

// wantRedirect checks a console action's answer: back to its section.
func wantRedirect(t *testing.T, a pageAnswer, section string) {
	t.Helper()
	if a.status != 303 || a.header.Get("Location") != "/console#"+section {
		t.Fatalf("answer %d → %q, want 303 → /console#%s: %s", a.status, a.header.Get("Location"), section, a.body)
	}
}

// flashPage opens the console after an action, as the browser does after
// the redirect.
func flashPage(t *testing.T, f *fixture, a pageAnswer, tok, lang string) pageAnswer {
	t.Helper()
	c := cookieNamed(a.header, flashCookie)
	if c == nil || !c.HttpOnly || c.Path != "/console" || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("flash cookie %+v", c)
	}
	page := browse(t, f, "GET", "/console", map[string]string{"Accept-Language": lang}, append(f.session(tok), c), "")
	if cleared := cookieNamed(page.header, flashCookie); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("the flash message is not cleared: %+v", cleared)
	}
	return page
}

// wantRefused checks a refused action: the console again, with the status,
// the reason in the page's words and as its code, and nothing else.
func wantRefused(t *testing.T, a pageAnswer, status int, reason string, want ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	for _, w := range append([]string{`id="console-error"`, `role="alert"`, "<code>" + strconv.Itoa(status) + " " + reason + "</code>"}, want...) {
		if !strings.Contains(a.body, w) {
			t.Errorf("the refusal lacks %q:\n%s", w, a.body)
		}
	}
	checkPageHTML(t, a.body)
}

// TestConsoleActions posts every form of the console as the page does and
// checks the effect through the services: the two-official override, its
// refusals, the bulk co-signature, the answer to an appeal, the recorded
// look-up, and the designation.
func TestConsoleActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	positive := positiveTest(t, f, "CA-1")
	// The case the override cites: its person was with the fixture's person.
	caseID, _ := openCase(t, f, "CA-DX")
	sharePresence(t, f, pageVenue(t, f, "面馆", true), f.person.Pseudonym)
	operator, approver, auditor, epi := f.tokens[healthcode.RoleOperator], f.tokens[healthcode.RoleApprover], f.tokens[healthcode.RoleAuditor],
		f.tokens[healthcode.RoleEpidemiologist]
	sameUnit := pageToken(t, f, &healthcode.Principal{Name: "王同单位", Role: healthcode.RoleApprover, Unit: "unit-operator"})
	expires := localTime(f.clock.Now().Add(3 * 24 * time.Hour))
	request := url.Values{"subjects": {f.person.Pseudonym}, "colour": {"red"}, "reason": {"epidemiologist_judgement"},
		"basis": {strconv.FormatInt(positive, 10)}, "case": {caseID}, "note": {"家属是密接"}, "expires": {expires}}
	overrides := func(status string) []healthcode.Override {
		t.Helper()
		os, err := f.engine.Overrides(ctx, status)
		if err != nil {
			t.Fatal(err)
		}
		return os
	}
	colour := func(subject string) *healthcode.Decision {
		t.Helper()
		v, err := f.engine.Code(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		return v.Decision
	}

	// Bad requests: refused with the reason, the form as it was, nothing made.
	with := func(k, v string) url.Values {
		m := url.Values{}
		for key, vs := range request {
			m[key] = vs
		}
		m.Set(k, v)
		return m
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		reason string
		want   []string
	}{
		{"unknown reason", with("reason", "curiosity"), 400, "override.reason", []string{"Choose a reason from the list.", `value="` + expires + `"`, ">家属是密接</textarea>", f.person.Pseudonym + "</textarea>"}},
		{"no colour", with("colour", ""), 400, "colour.unknown", []string{"Choose a colour."}},
		{"beyond 14 days", with("expires", localTime(f.clock.Now().Add(15*24*time.Hour))), 400, "override.expiry", []string{"The end must be within 14 days from now."}},
		{"not a time", with("expires", "tomorrow"), 400, "console.time", []string{"That is not a date and time"}},
		{"red on nothing", with("basis", ""), 400, "override.no_case", []string{"Yellow or red must rest on a positive lab result"}},
		{"a record number that is not", with("basis", "7x"), 400, "console.ids", []string{"Record numbers are positive whole numbers."}},
		{"judgement without its case", with("case", ""), 400, "override.no_case", nil},
		{"nobody", with("subjects", " \n "), 400, "override.subjects", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := consolePost(t, f, "/console/overrides", operator, "en", tt.form)
			wantRefused(t, a, tt.status, tt.reason, append(tt.want, "Not done: ")...)
			if os := overrides(""); len(os) != 0 {
				t.Errorf("a refused request made %d overrides", len(os))
			}
		})
	}
	if a := consolePost(t, f, "/console/overrides", operator, "zh-CN", with("reason", "curiosity")); !strings.Contains(a.body, "未完成：请从清单中选择理由。") {
		t.Errorf("the refusal in Chinese: %s", a.body)
	}

	// A form from another site is refused before anything is read.
	cross := browse(t, f, "POST", "/console/overrides", map[string]string{"Sec-Fetch-Site": "cross-site", "Accept-Language": "en"}, f.session(operator), request.Encode())
	if cross.status != 403 || !strings.Contains(cross.body, "http.cross_site") || len(overrides("")) != 0 {
		t.Fatalf("a cross-site form: %d %s", cross.status, cross.body)
	}
	// Another role is refused by the table.
	if a := consolePost(t, f, "/console/overrides", approver, "en", request); a.status != 403 || len(overrides("")) != 0 {
		t.Fatalf("an approver requesting: %d %s", a.status, a.body)
	}

	// The operator's request waits; the colour does not change.
	a := consolePost(t, f, "/console/overrides", operator, "en", request)
	wantRedirect(t, a, "overrides")
	pending := overrides(healthcode.OverridePending)
	if len(pending) != 1 || pending[0].Requester.Name != "test operator" || pending[0].Colour != healthcode.Red || pending[0].CaseRef != caseID ||
		pending[0].Note != "家属是密接" || !slices.Equal(pending[0].Basis, []int64{positive}) || !pending[0].Expires.Equal(f.clock.Now().Add(3*24*time.Hour)) {
		t.Fatalf("pending overrides %+v", pending)
	}
	o := pending[0]
	page := flashPage(t, f, a, operator, "en")
	if w := fmt.Sprintf("Override no. %d was requested. It changes no one&#39;s colour until an approver of another unit approves it.", o.ID); !strings.Contains(page.body, w) {
		t.Errorf("no flash %q:\n%s", w, page.body)
	}
	if c := colour(f.person.Pseudonym); c.Colour != healthcode.Green {
		t.Fatalf("the colour changed before approval: %v", c.Colour)
	}

	approve := fmt.Sprintf("/console/overrides/%d/approve", o.ID)
	// An approver of the same unit, a cross-site form, and an auditor are refused.
	if page := browse(t, f, "GET", "/console", nil, f.session(sameUnit), ""); strings.Contains(page.body, `action="`+approve+`"`) ||
		!strings.Contains(page.body, "由您的单位申请，须由其他单位批准") {
		t.Errorf("an approver of the same unit is offered the approval")
	}
	wantRefused(t, consolePost(t, f, approve, sameUnit, "zh-CN", nil), 403, "override.same_unit", "人工调整必须由其他单位的审批人员批准。")
	if a := browse(t, f, "POST", approve, map[string]string{"Origin": "https://evil.example"}, f.session(approver), ""); a.status != 403 || !strings.Contains(a.body, "http.cross_site") {
		t.Errorf("cross-site approval: %d", a.status)
	}
	if a := consolePost(t, f, approve, auditor, "en", nil); a.status != 403 {
		t.Errorf("an auditor approving: %d", a.status)
	}
	if got := overrides(healthcode.OverridePending); len(got) != 1 || got[0].Approver != nil {
		t.Fatalf("a refused approval signed: %+v", got)
	}

	// An approver of another unit: in force, the person red with both names.
	a = consolePost(t, f, approve, approver, "zh-CN", nil)
	wantRedirect(t, a, "overrides")
	if page := flashPage(t, f, a, approver, "zh-CN"); !strings.Contains(page.body, fmt.Sprintf("第 %d 号人工调整已生效，并已记入日志。", o.ID)) {
		t.Errorf("no flash:\n%s", page.body)
	}
	d := colour(f.person.Pseudonym)
	if d.Colour != healthcode.Red || !strings.Contains(d.Actor, "test operator") || !strings.Contains(d.Actor, "test approver") {
		t.Fatalf("after approval: %v by %q", d.Colour, d.Actor)
	}
	cp := browse(t, f, "GET", "/", map[string]string{"Accept-Language": "en"}, f.session(f.tokens[healthcode.RoleCitizen]), "")
	for _, w := range []string{"Red code", "test operator（运营人员，unit-operator）", "批准：test approver（审批人员，unit-approver）"} {
		if !strings.Contains(cp.body, w) {
			t.Errorf("the citizen's page lacks %q", w)
		}
	}
	wantRefused(t, consolePost(t, f, approve, approver, "en", nil), 409, "override.not_pending", "This override no longer awaits signatures.")

	// A bulk override needs the auditor too.
	bulk := bulkPeople(t, f, healthcode.BulkLimit+1)
	sharePresence(t, f, pageVenue(t, f, "批量面馆", true), bulk...)
	wantRedirect(t, consolePost(t, f, "/console/overrides", operator, "en", with("subjects", strings.Join(bulk, "\n"))), "overrides")
	var b healthcode.Override
	for _, x := range overrides(healthcode.OverridePending) {
		if len(x.Subjects) == len(bulk) {
			b = x
		}
	}
	if b.ID == 0 || !b.NeedsCoSign() {
		t.Fatalf("the bulk override: %+v", b)
	}
	cosign := fmt.Sprintf("/console/overrides/%d/cosign", b.ID)
	wantRefused(t, consolePost(t, f, fmt.Sprintf("/console/overrides/%d/cosign", o.ID), auditor, "en", nil), 409, "override.not_pending")
	a = consolePost(t, f, cosign, auditor, "en", nil)
	wantRedirect(t, a, "overrides")
	if page := flashPage(t, f, a, auditor, "en"); !strings.Contains(page.body, "co-signed; it takes effect once an approver of another unit approves it.") {
		t.Errorf("no flash:\n%s", page.body)
	}
	for _, x := range overrides(healthcode.OverridePending) {
		if x.ID == b.ID && (x.CoSigner == nil || x.CoSigner.Name != "test auditor" || x.Status != healthcode.OverridePending) {
			t.Errorf("after co-signing: %+v", x)
		}
	}
	wantRefused(t, consolePost(t, f, cosign, auditor, "en", nil), 409, "override.cosigned")

	// The person appeals; the operator answers.
	if a := f.do(t, "POST", "/api/v1/me/appeals", f.tokens[healthcode.RoleCitizen], "application/json", []byte(`{"kind":"colour","note":"我是阴性"}`)); a.status != 201 {
		t.Fatalf("appeal: %d %s", a.status, a.body)
	}
	appeals, err := f.engine.Appeals(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), healthcode.AppealOpen)
	if err != nil || len(appeals) != 1 {
		t.Fatalf("appeals %v %v", appeals, err)
	}
	ap := appeals[0]
	page = browse(t, f, "GET", "/console", map[string]string{"Accept-Language": "en"}, f.session(operator), "")
	for _, w := range []string{"我是阴性", `datetime="` + strings.ReplaceAll((&pageData{}).ISO(ap.Deadline), "+", "&#43;") + `"`, fmt.Sprintf("Answer appeal no. %d", ap.ID)} {
		if !strings.Contains(page.body, w) {
			t.Errorf("the operator's console lacks %q", w)
		}
	}
	if strings.Contains(page.body, "Overdue") {
		t.Errorf("an appeal on time is marked overdue")
	}
	answer := fmt.Sprintf("/console/appeals/%d/answer", ap.ID)
	wantRefused(t, consolePost(t, f, answer, operator, "en", url.Values{"answer": {"看过了"}}), 400, "console.decision", "Choose grant or deny.", ">看过了</textarea>")
	wantRefused(t, consolePost(t, f, answer, operator, "en", url.Values{"decision": {"deny"}, "answer": {"  "}}), 400, "appeal.answer", `value="deny" checked`)
	a = consolePost(t, f, answer, operator, "en", url.Values{"decision": {"deny"}, "answer": {"检测结果属实，维持红码。"}})
	wantRedirect(t, a, "appeals")
	if page := flashPage(t, f, a, operator, "en"); !strings.Contains(page.body, fmt.Sprintf("Appeal no. %d was denied; the person reads your reason.", ap.ID)) {
		t.Errorf("no flash:\n%s", page.body)
	}
	if got, err := f.engine.Appeals(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), ""); err != nil || got[0].Status != healthcode.AppealDenied ||
		got[0].Answer != "检测结果属实，维持红码。" || !strings.HasPrefix(got[0].AnsweredBy, "test operator") {
		t.Errorf("after answering: %+v %v", got, err)
	}
	wantRefused(t, consolePost(t, f, answer, operator, "en", url.Values{"decision": {"grant"}, "answer": {"again"}}), 409, "appeal.answered")

	// The look-up: refused without a purpose (nothing recorded), shown and
	// recorded with one.
	access := func() []healthcode.AccessRecord {
		rs, err := f.engine.AccessRecords(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]))
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	before := len(access())
	wantRefused(t, consolePost(t, f, "/console/lookup", epi, "en", url.Values{"subject": {f.person.Pseudonym}, "case": {"C-9"}}), 400, "access.purpose",
		"Choose the purpose from the list.", `value="C-9"`)
	wantRefused(t, consolePost(t, f, "/console/lookup", epi, "en", url.Values{"subject": {f.person.Pseudonym}, "purpose": {"contact_tracing"}}), 400, "access.case")
	wantRefused(t, consolePost(t, f, "/console/lookup", epi, "en", url.Values{"subject": {"pnobody"}, "purpose": {"contact_tracing"}, "case": {"C-9"}}), 404, "person.unknown")
	if n := len(access()); n != before {
		t.Fatalf("refused look-ups recorded %d reads", n-before)
	}
	if a := consolePost(t, f, "/console/lookup", approver, "en", url.Values{"subject": {f.person.Pseudonym}, "purpose": {"oversight"}, "case": {"C-9"}}); a.status != 403 {
		t.Errorf("an approver looking up: %d", a.status)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		a = consolePost(t, f, "/console/lookup", epi, lang, url.Values{"subject": {f.person.Pseudonym}, "purpose": {"case_investigation"}, "case": {caseID}})
		if a.status != 200 {
			t.Fatalf("look-up: %d %s", a.status, a.body)
		}
		checkPageHTML(t, a.body)
		want := []string{"Result: " + f.person.Pseudonym, "Red code", "(mark: square)", "张*明", fmt.Sprintf("<code>override/%d</code>", o.ID),
			"Manual override: An epidemiologist&#39;s judgement on a named case (case " + caseID + ")", fmt.Sprintf("#%d · a record of another person&#39;s case", positive),
			"申请：test operator（运营人员，unit-operator）；批准：test approver（审批人员，unit-approver）",
			"This read was recorded: by test epidemiologist (epidemiologist, unit-epidemiologist), purpose: case investigation, case: " + caseID + ".",
			`<option value="case_investigation" selected>`, `href="/console?lang=zh"`}
		if lang != "en" {
			want = []string{"查询结果：" + f.person.Pseudonym, "红码", "方形", "这次查看已记录：查看人 test epidemiologist (流调人员, unit-epidemiologist)，目的：病例调查，病例：" + caseID + "。",
				"人工调整：流行病学调查人员对具体病例的研判（病例 " + caseID + "）"}
		}
		for _, w := range want {
			if !strings.Contains(a.body, w) {
				t.Errorf("%s: the look-up lacks %q", lang, w)
			}
		}
	}
	// The other person is red by the rules, on their own positive test.
	a = consolePost(t, f, "/console/lookup", auditor, "en", url.Values{"subject": {f.other.Pseudonym}, "purpose": {"oversight"}, "case": {caseID}})
	// (Its case's diagnosis, by the clinic, is what the rules rest on now.)
	for _, w := range []string{"Red code", "submitted by test clinic", "Automatic, by the rules"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("the other person's look-up lacks %q", w)
		}
	}
	rs := access()
	if len(rs) != before+2 || rs[0].Actor.Name != "test epidemiologist" || rs[0].Purpose != "case_investigation" || rs[0].CaseRef != caseID {
		t.Errorf("reads recorded: %+v", rs)
	}

	// A designation: requested by the epidemiologist, approved by the approver.
	venue := pageVenue(t, f, "便民超市", true)
	sharePresence(t, f, venue) // the case was there, four hours before now
	f.clock.Advance(4 * time.Hour)
	now := f.clock.Now()
	designation := url.Values{"venue": {venue}, "level": {"high"}, "reason": {"case_visited"}, "cases": {strconv.FormatInt(positive, 10)},
		"from": {localTime(now.Add(-5 * time.Hour))}, "until": {localTime(now.Add(-3 * time.Hour))}, "expires": {localTime(now.Add(48 * time.Hour))}}
	bad := url.Values{}
	for k, v := range designation {
		bad[k] = v
	}
	bad.Set("area", "410105")
	wantRefused(t, consolePost(t, f, "/console/designations", epi, "en", bad), 400, "designation.target", "Designate either a venue or an area.", `value="410105"`)
	a = consolePost(t, f, "/console/designations", epi, "en", designation)
	wantRedirect(t, a, "designations")
	ds, err := f.engine.Designations(ctx)
	if err != nil || len(ds) != 1 || ds[0].Status != healthcode.DesignationPending || ds[0].Venue != venue || !ds[0].From.Equal(now.Add(-5*time.Hour)) {
		t.Fatalf("designations %+v %v", ds, err)
	}
	if page := flashPage(t, f, a, epi, "en"); !strings.Contains(page.body, fmt.Sprintf("Designation no. %d was requested", ds[0].ID)) {
		t.Errorf("no flash:\n%s", page.body)
	}
	a = consolePost(t, f, fmt.Sprintf("/console/designations/%d/approve", ds[0].ID), approver, "en", nil)
	wantRedirect(t, a, "designations")
	if ds, err := f.engine.Designations(ctx); err != nil || ds[0].Status != healthcode.DesignationApproved || ds[0].Approver.Name != "test approver" {
		t.Errorf("after approval %+v %v", ds, err)
	}
	// The console says how many exposures the approval created: the case's
	// own verified visit, the only one in the window.
	if page := flashPage(t, f, a, epi, "en"); !strings.Contains(page.body, "1 exposures created (one per person per venue)") {
		t.Errorf("the console does not show the exposures the approval created:\n%s", page.body)
	}
}

// TestFlashOnlyShowsConsoleMessages: a flash cookie names one of the
// console's messages, or shows nothing.
func TestFlashOnlyShowsConsoleMessages(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ value, want string }{
		{"override.active:7", "Override no. 7 is in force and logged."},
		{"appeal.denied:12", "Appeal no. 12 was denied; the person reads your reason."},
		{"../login.bad:1", ""}, {"override.active", ""}, {"override.active:x", ""}, {"override.active:-1", ""}, {"nothing:1", ""}, {"", ""},
	} {
		r := httptest.NewRequest("GET", "/console", nil)
		r.AddCookie(&http.Cookie{Name: flashCookie, Value: tt.value})
		w := httptest.NewRecorder()
		if got := readFlash(w, r, &pageData{Lang: langEN}); got != tt.want {
			t.Errorf("flash %q = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestConsoleParsing(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]string{"p1", "p2", "p3", "p4", "p5"}, splitList(" p1\r\np2, p3，p4、p5\n\n")); diff != "" {
		t.Errorf("splitList (-want +got):\n%s", diff)
	}
	ids, err := parseIDs("basis", "#7, 9\n12")
	if err != nil || !slices.Equal(ids, []int64{7, 9, 12}) {
		t.Errorf("parseIDs = %v, %v", ids, err)
	}
	for _, bad := range []string{"0", "-3", "7x", "9999999999999999999"} {
		if _, err := parseIDs("basis", bad); healthcode.ErrorDetail(err) != "console.ids" {
			t.Errorf("parseIDs(%q): %v", bad, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2022-06-14T16:00", t0}, {"2022-06-14T16:00:30", t0.Add(30 * time.Second)}, {" 2022-06-15T00:00 ", t0.Add(8 * time.Hour)},
	} {
		if got, err := parseLocalTime("x", tt.in); err != nil || !got.Equal(tt.want) {
			t.Errorf("parseLocalTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "2022-06-14", "2022-06-14 16:00", "16:00", "2022-13-01T00:00"} {
		if _, err := parseLocalTime("x", bad); healthcode.ErrorDetail(err) != "console.time" {
			t.Errorf("parseLocalTime(%q): %v", bad, err)
		}
	}
	if got := localTime(t0); got != "2022-06-14T16:00" {
		t.Errorf("localTime = %q", got)
	}
}

// BenchmarkConsolePage renders an operator's console with a hundred
// overrides and fifty appeals in its tables.
func BenchmarkConsolePage(b *testing.B) {
	d := &pageData{Lang: langZH, Title: "console.title", Path: "/console", BodyClass: "console"}
	c := &consoleData{Who: "王 (运营人员, 金水区)", Lookup: true, RequestOverride: true, AnswerAppeals: true}
	op := &healthcode.Principal{Name: "王", Role: healthcode.RoleOperator, Unit: "金水区"}
	for i := range 100 {
		o := &healthcode.Override{ID: int64(i + 1), Subjects: []string{"p1", "p2"}, Colour: healthcode.Red, Reason: "lab_result_delayed",
			Basis: []int64{7}, Expires: t0.Add(48 * time.Hour), Status: healthcode.OverridePending, Requester: *op}
		c.Overrides = append(c.Overrides, d.overrideRow(o, op))
	}
	for i := range 50 {
		a := &healthcode.Appeal{ID: int64(i + 1), Subject: "p1", Kind: healthcode.AppealColour, Status: healthcode.AppealOpen, Colour: healthcode.Red,
			CreatedAt: t0, Deadline: t0.Add(24 * time.Hour)}
		c.Appeals = append(c.Appeals, d.appealRow(a, t0))
	}
	d.Console = c
	d.consoleChoices(c, t0)
	s := &Server{}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := s.render(w, 200, "console.html", d); err != nil {
			b.Fatal(err)
		}
	}
}
