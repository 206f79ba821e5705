package http

// Tests of the pages in a real browser: headless Chromium (Debian's
// chromium) driven by chromedp against the real server of newFixture. Each
// test writes screenshots to a file it names (under HEALTHCODE_SCREENSHOTS
// if set, else the test's temporary directory) and checks the page's
// accessible text, never its pixels. Without Chromium the tests skip,
// unless HEALTHCODE_TEST_BROWSER or HEALTHCODE_CI is set: then they fail.
// HEALTHCODE_CHROMIUM names another browser binary.

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"healthcode"
	"healthcode/http/browsertest"
	"healthcode/qr"
)

// newBrowser starts a headless Chromium at 360 px (browsertest.New).
func newBrowser(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return browsertest.New(t, flags...)
}

func setLanguage(t *testing.T, ctx context.Context, acceptLanguage string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": acceptLanguage}}); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, steps...)
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	return browsertest.Eval[T](t, ctx, js, opts...)
}

// poll waits until the JavaScript predicate (which may return a promise)
// is true.
func poll(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(200*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", js, err)
	}
}

// screenshot writes the whole page to a PNG file named name.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, name)
}

// accessibleText is what a screen reader can reach: the names of the
// nodes of the accessibility tree that are not ignored, one a line.
func accessibleText(t *testing.T, ctx context.Context) string {
	t.Helper()
	res, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, n := range res.Nodes {
		if n.Ignored || n.Name == nil {
			continue
		}
		var s string
		if json.Unmarshal([]byte(n.Name.Value), &s) == nil && strings.TrimSpace(s) != "" {
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "\n")
}

// wantAccessible checks that each phrase is in the accessible text and none
// of the unwanted ones is.
func wantAccessible(t *testing.T, ctx context.Context, want, unwanted []string) {
	t.Helper()
	text := accessibleText(t, ctx)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("accessible text lacks %q; it is:\n%s", w, text)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(text, u) {
			t.Errorf("accessible text has %q", u)
		}
	}
}

// auditJS lists what a Lighthouse-style audit would flag: an image with no
// alternative text, a form field with no label, a button with no name, no
// page language, text below WCAG AA contrast, and a page wider than the
// viewport.
const auditJS = `(() => {
  const bad = [];
  const visible = el => !el.closest("[hidden], noscript") && el.getClientRects().length > 0;
  if (!document.documentElement.lang) bad.push("html has no lang");
  document.querySelectorAll("img").forEach(i => { if (!i.hasAttribute("alt")) bad.push("img without alt: " + i.src); });
  document.querySelectorAll("svg, [role=img]").forEach(s => {
    if (s.closest("[aria-hidden=true]")) return;
    const named = s.getAttribute("aria-label") || s.getAttribute("aria-labelledby") || (s.querySelector && s.querySelector("title"));
    if (!named) bad.push("image without a name: " + s.outerHTML.slice(0, 80));
  });
  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(f => {
    if (!(f.labels && f.labels.length) && !f.getAttribute("aria-label") && !f.getAttribute("aria-labelledby")) bad.push("field without label: " + (f.id || f.name));
  });
  document.querySelectorAll("button, a[href]").forEach(b => {
    if (visible(b) && !(b.textContent.trim() || b.getAttribute("aria-label"))) bad.push("control without a name: " + b.outerHTML.slice(0, 80));
  });
  const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !visible(el) || el.closest("script, style, .skip")) continue;
    const cs = getComputedStyle(el), fg = rgb(cs.color), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05), size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push("contrast " + ratio.toFixed(2) + " < " + need + ": " + n.textContent.trim().slice(0, 40));
  }
  if (document.documentElement.scrollWidth > window.innerWidth) bad.push("page is " + document.documentElement.scrollWidth + " px wide in a " + window.innerWidth + " px viewport");
  return bad;
})()`

func audit(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if w := eval[int](t, ctx, `window.innerWidth`); w != 360 {
		t.Errorf("%s: viewport is %d px wide, want 360", page, w)
	}
	for _, p := range eval[[]string](t, ctx, auditJS) {
		t.Errorf("%s: %s", page, p)
	}
}

// traffic counts what the browser fetched: bytes received and the hosts
// asked, from the network events of the tab.
type traffic struct {
	mu    sync.Mutex
	bytes float64
	hosts map[string]int
	urls  []string
}

func watchTraffic(t *testing.T, ctx context.Context) *traffic {
	t.Helper()
	tr := &traffic{hosts: map[string]int{}}
	err := chromedp.Listen(ctx, func(ev any) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(ev.Request.URL); err == nil && u.Scheme != "data" {
				tr.hosts[u.Host]++
				tr.urls = append(tr.urls, ev.Request.URL)
			}
		case *network.EventLoadingFinished:
			tr.bytes += ev.EncodedDataLength
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr *traffic) reset() {
	tr.mu.Lock()
	tr.bytes, tr.hosts, tr.urls = 0, map[string]int{}, nil
	tr.mu.Unlock()
}

// loginInBrowser logs in through the form and waits for the code.
func loginInBrowser(t *testing.T, ctx context.Context, f *fixture) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(f.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), f.tokens[healthcode.RoleCitizen]),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("colour-word")),
	)
}

// TestBrowserCitizen logs in as a citizen at 360 px and sees the code: the
// colour in words, the QR with its name, a live clock, the reason and the
// history with who decided; the page is accessible, under 100 KB, and
// fetched from no other host.
func TestBrowserCitizen(t *testing.T) {
	f := newFixture(t)
	f.collect(t, f.id, "B-1", t0.Add(-time.Hour))
	e := EvidenceJSON{Kind: "nucleic_acid_test", Tube: "B-1", Result: "positive"}
	if a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json", mustJSON(t, e)); a.status != 201 {
		t.Fatalf("evidence: %d %s", a.status, a.body)
	}
	ctx := newBrowser(t)
	setLanguage(t, ctx, "zh-CN,zh;q=0.9,en;q=0.5")
	tr := watchTraffic(t, ctx)

	do(t, ctx, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	screenshot(t, ctx, "login-zh-360.png")
	wantAccessible(t, ctx, []string{"登录", "令牌", "核验健康码"}, nil)
	audit(t, ctx, "login page")

	loginInBrowser(t, ctx, f)
	screenshot(t, ctx, "citizen-zh-360.png")
	wantAccessible(t, ctx, []string{"红码", "不可通行", "方形", "张*明", "河南省郑州市（区划代码 410100）", "张*明的健康码二维码：红码",
		"当前时间", "二维码有效至", "为什么是这个颜色", "核酸检测 · 阳性", "变更记录", "规则自动判定（规则集", "test lab",
		"下载第", "退出登录"}, []string{"[[", "Red code"})
	audit(t, ctx, "citizen page")

	// The clock and the QR's time left move.
	clock1 := eval[string](t, ctx, `document.getElementById("clock").textContent`)
	left1 := eval[string](t, ctx, `document.getElementById("left").textContent`)
	do(t, ctx, chromedp.Sleep(2100*time.Millisecond))
	clock2 := eval[string](t, ctx, `document.getElementById("clock").textContent`)
	left2 := eval[string](t, ctx, `document.getElementById("left").textContent`)
	if clock1 == clock2 || left1 == left2 || !strings.HasPrefix(left1, "5:00") && !strings.HasPrefix(left1, "4:5") {
		t.Errorf("clock %q → %q, time left %q → %q: not live", clock1, clock2, left1, left2)
	}

	// The page's weight, with nothing from the cache.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	tr.reset()
	do(t, ctx, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("colour-word")), chromedp.Sleep(300*time.Millisecond))
	tr.mu.Lock()
	defer tr.mu.Unlock()
	self := strings.TrimPrefix(f.ts.URL, "http://")
	if len(tr.urls) < 3 {
		t.Errorf("saw only %v: is the network watched?", tr.urls)
	}
	for h := range tr.hosts {
		if h != self {
			t.Errorf("the page asked another host: %s (%v)", h, tr.urls)
		}
	}
	if tr.bytes <= 0 || tr.bytes >= 100*1024 {
		t.Errorf("the citizen page weighs %.0f bytes, want under 100 KB", tr.bytes)
	}
	t.Logf("citizen page: %.0f bytes in %d requests: %v", tr.bytes, len(tr.urls), tr.urls)
}

// TestBrowserLanguageSwitch starts in Chinese (from Accept-Language),
// switches to English with the link, and stays in English.
func TestBrowserLanguageSwitch(t *testing.T) {
	f := newFixture(t)
	ctx := newBrowser(t)
	setLanguage(t, ctx, "zh-CN,zh;q=0.9")
	loginInBrowser(t, ctx, f)
	if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "zh-CN" {
		t.Fatalf("page language %q, want zh-CN", lang)
	}
	wantAccessible(t, ctx, []string{"绿码", "可以通行", "圆形", "English"}, []string{"Green code"})

	do(t, ctx,
		chromedp.Click(chromedp.ID("lang-switch")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #colour-word`)),
	)
	screenshot(t, ctx, "citizen-en-360.png")
	wantAccessible(t, ctx, []string{"Green code", "You may pass", "circle", "Holder", "QR valid until", "History of changes",
		"No changes yet.", "Health QR code of 张*明: Green code", "中文"}, []string{"绿码", "[["})
	audit(t, ctx, "citizen page in English")

	// The choice is remembered: a later page is in English too.
	do(t, ctx, chromedp.Navigate(f.ts.URL+"/verify"), chromedp.WaitVisible(chromedp.ID("file")))
	if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
		t.Errorf("after switching, /verify is in %q", lang)
	}
	wantAccessible(t, ctx, []string{"Verify a health code", "Upload a photo or screenshot of a QR code"}, []string{"核验健康码"})
}

// citizenPNG fetches the citizen's QR as the API renders it, into a file.
func citizenPNG(t *testing.T, f *fixture) string {
	t.Helper()
	a := f.do(t, "GET", "/api/v1/me/qr.png", f.tokens[healthcode.RoleCitizen], "", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", a.status, a.header)
	}
	path := filepath.Join(t.TempDir(), "code.png")
	if err := os.WriteFile(path, a.body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type verdict struct{ State, Verdict, Mode, Colour string }

// clearResult forgets the last result, so that resultOf waits for the next.
func clearResult(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `document.getElementById("result").dataset.state = "idle"`)
}

func resultOf(t *testing.T, ctx context.Context) verdict {
	t.Helper()
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#result[data-state="done"]`)))
	d := eval[map[string]string](t, ctx, `({...document.getElementById("result").dataset})`)
	return verdict{State: d["state"], Verdict: d["verdict"], Mode: d["mode"], Colour: d["colour"]}
}

// TestBrowserVerifier verifies a citizen's QR on the verifier page from its
// rendered PNG: online, then with the server gone, from the page and trust
// list the browser kept, with the signature checked by WebCrypto.
func TestBrowserVerifier(t *testing.T) {
	f := newFixture(t)
	// The browser's clock is the real one: so is the node's here, so that
	// the offline check of the expiry agrees with the server's.
	f.clock.Set(time.Now().Truncate(time.Second))
	png := citizenPNG(t, f)
	ctx := newBrowser(t)
	setLanguage(t, ctx, "en-GB,en;q=0.9")

	do(t, ctx, chromedp.Navigate(f.ts.URL+"/verify"), chromedp.WaitVisible(chromedp.ID("file")))
	poll(t, ctx, `document.getElementById("trust-status").textContent.includes("1 key(s)")`)
	audit(t, ctx, "verifier page")

	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{png}))
	if got, want := resultOf(t, ctx), (verdict{"done", "valid", "online", "green"}); got != want {
		t.Fatalf("online verdict %+v, want %+v", got, want)
	}
	screenshot(t, ctx, "verify-online-360.png")
	wantAccessible(t, ctx, []string{"Green code", "You may pass (circle)", "Valid", "Checked by the server.", "Holder", "张*明",
		"Issuing region", "Zhengzhou, Henan (code 410100)", "Valid until", "Trust list: 1 key(s)"}, []string{"Not valid"})
	audit(t, ctx, "verifier page with a result")

	// Something that is not a health code.
	clearResult(t, ctx)
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("paste"), "HCN1:NOT A CODE"),
		chromedp.Click(chromedp.CSS(`#paste-form button`)),
	)
	if got := resultOf(t, ctx); got.Verdict != "invalid" {
		t.Errorf("a non-code: %+v", got)
	}
	wantAccessible(t, ctx, []string{"Not valid", "This is not a health code."}, nil)

	// A picture with no QR code in it.
	blank := filepath.Join(t.TempDir(), "blank.png")
	writePNG(t, blank, image.NewGray(image.Rect(0, 0, 64, 64)))
	clearResult(t, ctx)
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{blank}))
	if got := resultOf(t, ctx); got.Verdict != "invalid" {
		t.Errorf("a blank picture: %+v", got)
	}
	wantAccessible(t, ctx, []string{"No QR code found in the picture."}, nil)

	// A code whose holder was changed after signing, and a green code for
	// someone else signed with a key the trust list does not hold: each is
	// one full-screen verdict, in both languages, with nothing of the code.
	text := codeText(t, png)
	altered := alterCode(t, text, "张*明", "王*明")
	other, err := qr.GenerateKey(qr.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := qr.NewService(other, "410100")
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	forged, err := forger.SignCode(&healthcode.HealthCode{Region: "410100", Subject: "pforged", MaskedName: "赵*伪", Colour: healthcode.Green,
		IssuedAt: now, Expires: now.Add(5 * time.Minute), RuleSetVersion: "baseline-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, text, reasonEN, reasonZH string }{
		{"altered", altered, "The signature does not match: the code was altered.", "签名不符：二维码被改动过。"},
		{"forged", forged, "It was signed with a key that is not in the trust list.", "签发密钥不在信任列表中。"},
	} {
		pasteCode(t, ctx, c.text)
		if got, want := resultOf(t, ctx), (verdict{"done", "invalid", "online", ""}); got != want {
			t.Errorf("%s code: verdict %+v, want %+v", c.name, got, want)
		}
		wantRejected(t, ctx, c.name, []string{c.reasonEN, c.reasonZH})
	}
	screenshot(t, ctx, "verify-forged-360.png")
	audit(t, ctx, "verifier, a forged code")
	// The guard goes on to the next person.
	do(t, ctx, chromedp.Click(chromedp.ID("reject-next")))
	poll(t, ctx, `document.getElementById("result").dataset.state === "idle" && !document.getElementById("reject")`)

	// The same code ten minutes later: expired, said so, and nothing of the
	// code shown.
	f.clock.Advance(10 * time.Minute)
	clearResult(t, ctx)
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{png}))
	if got, want := resultOf(t, ctx), (verdict{"done", "invalid", "online", ""}); got != want {
		t.Errorf("expired code: verdict %+v, want %+v", got, want)
	}
	wantRejected(t, ctx, "expired", []string{"Expired: ask the person to refresh their code.", "已过期：请对方刷新健康码。"})
	screenshot(t, ctx, "verify-expired-360.png")

	// Offline: once the service worker holds the page, the server goes away.
	kept := `navigator.serviceWorker.ready.then(() => caches.open("healthcode-verify-v1")).then(c => Promise.all(["/verify", "/static/verify.js", "/static/jsQR.js"].map(u => c.match(u)))).then(rs => rs.every(Boolean))`
	poll(t, ctx, kept)
	f.ts.Close()
	do(t, ctx, chromedp.Navigate(f.ts.URL+"/verify?lang=en"), chromedp.WaitVisible(chromedp.ID("file")))
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{png}))
	if got, want := resultOf(t, ctx), (verdict{"done", "valid", "offline", "green"}); got != want {
		t.Fatalf("offline verdict %+v, want %+v", got, want)
	}
	screenshot(t, ctx, "verify-offline-360.png")
	wantAccessible(t, ctx, []string{"Green code", "Valid", "Offline: signature checked on this device against the cached trust list.",
		"张*明", "Zhengzhou, Henan (code 410100)"}, []string{"Checked by the server."})

	// Offline, WebCrypto finds the altered code out in the same way.
	clearResult(t, ctx)
	pasteCode(t, ctx, altered)
	if got, want := resultOf(t, ctx), (verdict{"done", "invalid", "offline", ""}); got != want {
		t.Errorf("altered code offline: verdict %+v, want %+v", got, want)
	}
	wantRejected(t, ctx, "altered, offline", []string{"The signature does not match: the code was altered.", "签名不符：二维码被改动过。"})
	screenshot(t, ctx, "verify-altered-offline-360.png")
}

// pasteCode checks text through the verifier's paste form, first leaving
// a verdict that covers the screen as a guard does.
func pasteCode(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	if eval[bool](t, ctx, `!!document.getElementById("reject")`) {
		do(t, ctx, chromedp.Click(chromedp.ID("reject-next")))
	}
	clearResult(t, ctx)
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("paste"), text),
		chromedp.Click(chromedp.CSS(`#paste-form button`)),
	)
}

// wantRejected checks, by what a guard sees, the verdict on a code that
// must not be accepted: one verdict that covers the whole screen, in
// Chinese and in English, with the reason (why, in both languages); no
// colour band, no colour word, no holder, no date, nothing in a colour of
// the codes.
func wantRejected(t *testing.T, ctx context.Context, name string, why []string) {
	t.Helper()
	wantAccessible(t, ctx, append([]string{"无效——不得放行", "Not valid: do not accept", "核验下一个", "Check the next code"}, why...),
		[]string{"Green code", "绿码", "You may pass", "Holder", "张*明", "王*明", "赵*伪", "Valid until", "Issuing region", "410100", "Rule set"})
	if n := eval[int](t, ctx, `document.querySelectorAll("#result .band, #result [class*='c-'], #result dl, #result svg").length`); n != 0 {
		t.Errorf("%s: %d elements of a code's colour or fields are on the page", name, n)
	}
	// Every point of the screen is the verdict, on black.
	covered := `(() => { const r = document.getElementById("reject"); if (!r) return false;
	  for (const [x, y] of [[2, 2], [180, 370], [358, 738], [2, 738], [358, 2]]) { if (!r.contains(document.elementFromPoint(x, y))) return false; }
	  return true; })()`
	if !eval[bool](t, ctx, covered) {
		t.Errorf("%s: the verdict does not cover the screen", name)
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.getElementById("reject")).backgroundColor`); bg != "rgb(26, 26, 26)" {
		t.Errorf("%s: the verdict is on %s, not black", name, bg)
	}
}

// codeText reads the health code's text from its picture.
func codeText(t *testing.T, png string) string {
	t.Helper()
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	text, err := qr.DecodeImage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// alterCode changes from to to (the same length) in a health code's signed
// content, and packs it again: the signature no longer matches.
func alterCode(t *testing.T, text, from, to string) string {
	t.Helper()
	const prefix = "HCN1:"
	raw, err := testBase45Decode(strings.TrimPrefix(text, prefix))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(signed, []byte(from))
	if i < 0 || len(from) != len(to) {
		t.Fatalf("%q is not in the code", from)
	}
	copy(signed[i:], to)
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(signed)
	zw.Close()
	return prefix + testBase45Encode(buf.Bytes())
}

const testBase45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

func testBase45Encode(b []byte) string {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		sb.WriteByte(testBase45[n%45])
		sb.WriteByte(testBase45[n/45%45])
		sb.WriteByte(testBase45[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		sb.WriteByte(testBase45[n%45])
		sb.WriteByte(testBase45[n/45])
	}
	return sb.String()
}

func testBase45Decode(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i += 3 {
		c := s[i:min(i+3, len(s))]
		n, mul := 0, 1
		for j := range len(c) {
			v := strings.IndexByte(testBase45, c[j])
			if v < 0 {
				return nil, fmt.Errorf("base45: %q", c[j])
			}
			n += v * mul
			mul *= 45
		}
		if len(c) == 3 {
			out = append(out, byte(n>>8), byte(n))
		} else {
			out = append(out, byte(n))
		}
	}
	return out, nil
}

// TestBrowserVerifierCamera scans the citizen's QR with the camera: a fake
// camera that films the PNG.
func TestBrowserVerifierCamera(t *testing.T) {
	f := newFixture(t)
	png := citizenPNG(t, f)
	video := filepath.Join(t.TempDir(), "camera.y4m")
	writeY4M(t, video, png)
	ctx := newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
	)
	setLanguage(t, ctx, "zh-CN")
	do(t, ctx,
		chromedp.Navigate(f.ts.URL+"/verify"),
		chromedp.WaitVisible(chromedp.ID("camera-start")),
		chromedp.Click(chromedp.ID("camera-start")),
	)
	if got, want := resultOf(t, ctx), (verdict{"done", "valid", "online", "green"}); got != want {
		t.Fatalf("camera verdict %+v, want %+v", got, want)
	}
	screenshot(t, ctx, "verify-camera-zh-360.png")
	wantAccessible(t, ctx, []string{"绿码", "有效", "已由服务器核验。", "张*明", "河南省郑州市（区划代码 410100）", "关闭摄像头", "摄像头画面"}, []string{"Green code"})
	audit(t, ctx, "verifier page with the camera on")
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := png.Encode(fh, img); err != nil {
		t.Fatal(err)
	}
}

// writeY4M writes a one-frame YUV4MPEG2 video of the picture, centred on
// white, for Chromium's fake camera (which loops it).
func writeY4M(t *testing.T, path, pngPath string) {
	t.Helper()
	fh, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 640, 480
	frame := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	b := src.Bounds()
	at := image.Pt((w-b.Dx())/2, (h-b.Dy())/2)
	draw.Draw(frame, image.Rectangle{Min: at, Max: at.Add(b.Size())}, src, b.Min, draw.Src)
	out := []byte(fmt.Sprintf("YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h))
	for _, y := range frame.Pix {
		out = append(out, byte(16+int(y)*219/255))
	}
	out = append(out, slices.Repeat([]byte{128}, w*h/2)...) // U and V: no colour
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPhone opens another browser context in the browser of ctx: its own
// cookie jar and storage, as another person's phone, 360 px wide.
func newPhone(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	do(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	if _, err := chromedp.Call(ctx, accessibility.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// goOffline cuts the tab off the network until the returned func is called:
// every request the tab makes fails as a browser's does with no network
// (net::ERR_INTERNET_DISCONNECTED). It pauses requests with the Fetch
// domain and fails them, which every Chromium since 2019 speaks alike; the
// network-emulation commands changed their parameters between versions
// (Chromium 148 refuses the older form with "Invalid parameters").
func goOffline(t *testing.T, ctx context.Context) (back func()) {
	t.Helper()
	lctx, stop := context.WithCancel(ctx)
	var pending sync.WaitGroup
	if err := chromedp.Listen(lctx, func(ev any) {
		if ev, ok := ev.(*fetch.EventRequestPaused); ok {
			// A command may not run inside a listener.
			pending.Go(func() {
				// The request may be gone already (a page that navigated away).
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonInternetDisconnected})
			})
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{}); err != nil {
		stop()
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		stop()
		pending.Wait()
	}
}

// loginWith logs in through the form on the page shown with token, then
// waits for sel.
func loginWith[S chromedp.Selectable](t *testing.T, ctx context.Context, token string, sel S) {
	t.Helper()
	browsertest.Login(t, ctx, token, sel)
}

// readPosterQR decodes the poster's canvas with jsQR (loaded into the
// page for the test): what a phone's camera would read.
const readPosterQR = `new Promise((resolve, reject) => {
  if (window.jsQR) return resolve();
  const s = document.createElement("script");
  s.src = "/static/jsQR.js"; s.onload = resolve; s.onerror = reject;
  document.head.appendChild(s);
}).then(() => {
  const c = document.getElementById("venue-qr");
  const img = c.getContext("2d").getImageData(0, 0, c.width, c.height);
  const r = jsQR(img.data, c.width, c.height);
  return r ? r.data : "";
})`

type checkInState struct{ State, Verified, Colour string }

func checkInResult(t *testing.T, ctx context.Context) checkInState {
	t.Helper()
	poll(t, ctx, `["done", "failed"].includes(document.getElementById("result").dataset.state)`)
	d := eval[map[string]string](t, ctx, `({...document.getElementById("result").dataset})`)
	return checkInState{State: d["state"], Verified: d["verified"], Colour: d["colour"]}
}

// TestBrowserVenueCheckIn is the venue code's whole path in a real browser:
// the venue's tablet logs in and shows its poster; a citizen's phone (a
// second browser context, with its own cookies) opens what the poster's QR
// holds, logs in, comes back and is checked in as verified, with their
// colour shown for the door keeper; the same code five minutes later, on
// the phone of someone it was forwarded to, is recorded as unverified and
// the page says so. Then the tablet loses the network: the code is taken
// down and "offline" shown, until the network is back.
func TestBrowserVenueCheckIn(t *testing.T) {
	f := newFixture(t)
	id := pageVenue(t, f, "老王面馆", true)
	otherTok := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})

	tablet := newBrowser(t)
	setLanguage(t, tablet, "zh-CN,zh;q=0.9")
	do(t, tablet, chromedp.Navigate(f.ts.URL+"/venue/"+id))
	wantAccessible(t, tablet, []string{"请用场所令牌登录，以展示场所码。"}, nil)
	loginWith(t, tablet, f.tokens[healthcode.RoleVenue], chromedp.CSS(`#poster-code[data-state="live"] #venue-qr[data-text]`))
	screenshot(t, tablet, "venue-poster-zh-360.png")
	wantAccessible(t, tablet, []string{"老王面馆", "请用手机扫码登记", "Scan with your phone to check in", "老王面馆的实时场所码", "距离换码",
		"实时场所码：每 30 秒更换一次", "Live venue code: it changes every 30 seconds", "打印静态场所码",
		"打开手机相机或浏览器扫码。", "Open your phone's camera and scan the code."}, []string{"[[", "离线"})
	audit(t, tablet, "venue poster")
	if c := eval[string](t, tablet, `document.getElementById("countdown").textContent`); !regexp.MustCompile(`^\d+ 秒$`).MatchString(c) {
		t.Errorf("countdown %q", c)
	}

	// What the poster's QR holds, read from its canvas as a camera would.
	shown := eval[string](t, tablet, `document.getElementById("venue-qr").dataset.text`)
	read := eval[string](t, tablet, readPosterQR, chromedp.EvalAwaitPromise)
	live := venueCode(t, f, id).Live
	if want := f.ts.URL + "/c#" + live; read != want || shown != want {
		t.Fatalf("the poster's QR reads %q (data-text %q), want %q", read, shown, want)
	}

	// A citizen's phone scans it, logs in, and is back, checked in.
	phone := newPhone(t, tablet)
	setLanguage(t, phone, "en")
	do(t, phone, chromedp.Navigate(read), chromedp.WaitVisible(chromedp.ID("token")))
	wantAccessible(t, phone, []string{"Log in to check in: you will come straight back here.", "Venue owners: the venue's token."}, nil)
	audit(t, phone, "login before checking in")
	loginWith(t, phone, f.tokens[healthcode.RoleCitizen], chromedp.ID("scanner"))
	if got, want := checkInResult(t, phone), (checkInState{"done", "true", "green"}); got != want {
		t.Fatalf("check-in with the live code: %+v, want %+v", got, want)
	}
	screenshot(t, phone, "checkin-verified-en-360.png")
	wantAccessible(t, phone, []string{"Checked in: presence verified", "You scanned the live code on the venue's screen.", "Green code",
		"You may pass (circle)", "Holder", "张*明", "老王面馆", "Time now", "Checked in at", "Show this screen to the door keeper."},
		[]string{"unverified", "[["})
	audit(t, phone, "check-in, verified")
	if h := eval[string](t, phone, `location.href`); h != f.ts.URL+"/c" {
		t.Errorf("the code stays in the address bar: %s", h)
	}
	// Large enough for a door keeper, and the clock is live.
	if px := eval[float64](t, phone, `parseFloat(getComputedStyle(document.getElementById("door-word")).fontSize)`); px < 36 {
		t.Errorf("the colour word is %.0f px high", px)
	}
	clock1 := eval[string](t, phone, `document.getElementById("clock").textContent`)
	do(t, phone, chromedp.Sleep(1100*time.Millisecond))
	if clock2 := eval[string](t, phone, `document.getElementById("clock").textContent`); clock1 == clock2 {
		t.Errorf("the clock stands still at %s", clock1)
	}

	// The same phone scanning the same code again adds nothing.
	do(t, phone, chromedp.Navigate("about:blank"), chromedp.Navigate(read), chromedp.WaitVisible(chromedp.ID("scanner")))
	if got := checkInResult(t, phone); got.State != "failed" {
		t.Errorf("a replayed code: %+v", got)
	}
	wantAccessible(t, phone, []string{"Not checked in: You have already checked in with this code."}, nil)

	// Five minutes later the photo of that code, forwarded to someone else,
	// records only unverified presence, and the page says why.
	f.clock.Advance(5 * time.Minute)
	forwarded := newPhone(t, tablet)
	setLanguage(t, forwarded, "en")
	do(t, forwarded, chromedp.Navigate(read))
	loginWith(t, forwarded, otherTok, chromedp.ID("scanner"))
	if got, want := checkInResult(t, forwarded), (checkInState{"done", "false", "green"}); got != want {
		t.Fatalf("check-in with the forwarded code: %+v, want %+v", got, want)
	}
	screenshot(t, forwarded, "checkin-unverified-en-360.png")
	wantAccessible(t, forwarded, []string{"Checked in: unverified presence",
		"This was a printed or expired venue code: a printed or forwarded code proves nothing, and this check-in can never by itself change your colour.",
		"Green code", "老王面馆"}, []string{"presence verified", "张*明"})
	audit(t, forwarded, "check-in, unverified")

	// What was recorded: one verified presence, one unverified.
	// The trace cites a case whose person was there: the other person,
	// diagnosed now.
	caseID, _ := openCase(t, f, "BV-DX")
	q := url.Values{"venue": {id}, "from": {t0.Add(-time.Hour).Format(time.RFC3339)}, "to": {t0.Add(time.Hour).Format(time.RFC3339)},
		"purpose": {"contact_tracing"}, "case": {caseID}}
	a := f.do(t, "GET", "/api/v1/trace/venue?"+q.Encode(), f.tokens[healthcode.RoleEpidemiologist], "", nil)
	var trace struct{ Presence []TraceJSON }
	if err := json.Unmarshal(a.body, &trace); err != nil || a.status != 200 {
		t.Fatalf("trace: %d %s", a.status, a.body)
	}
	verified := map[string]bool{}
	for _, p := range trace.Presence {
		verified[p.Subject] = p.Verified
	}
	if want := map[string]bool{f.person.Pseudonym: true, f.other.Pseudonym: false}; !maps.Equal(verified, want) {
		t.Errorf("recorded presence %v, want %v", verified, want)
	}

	// The tablet loses the network five seconds before its slot ends: the
	// code comes down and "offline" goes up, and a code is back once the
	// network is.
	f.clock.Set(t0.Add(5*time.Minute + 25*time.Second))
	do(t, tablet, chromedp.Navigate(f.ts.URL+"/venue/"+id), chromedp.WaitVisible(chromedp.CSS(`#poster-code[data-state="live"] #venue-qr[data-text]`)))
	online := goOffline(t, tablet)
	// Within seconds; a whole slot if this machine was too slow to go
	// offline before the slot ended.
	if _, err := chromedp.Run(tablet, chromedp.Poll[bool](`document.getElementById("poster-code").dataset.state === "offline"`,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second))); err != nil {
		t.Fatalf("the poster never said it was offline: %v", err)
	}
	if eval[bool](t, tablet, `document.getElementById("venue-qr").getClientRects().length > 0 || document.getElementById("venue-qr").hasAttribute("data-text")`) {
		t.Errorf("a stale code is still up while offline")
	}
	if got := eval[string](t, tablet, readPosterQR, chromedp.EvalAwaitPromise); got != "" {
		t.Errorf("the hidden canvas still holds a code: %q", got)
	}
	screenshot(t, tablet, "venue-poster-offline-zh-360.png")
	wantAccessible(t, tablet, []string{"离线：连不上服务器，现在没有有效的场所码。", "Offline: the server cannot be reached, so there is no valid code to show.",
		"请检查网络；恢复后会自动显示新码。"}, nil)
	if s := eval[string](t, tablet, `document.getElementById("poster-status").textContent`); !strings.Contains(s, "秒后重试") {
		t.Errorf("no retry said: %q", s)
	}
	audit(t, tablet, "venue poster offline")
	online()
	// A browser says "online" when its network comes back; a test that
	// fails requests does not, so the test does.
	eval[chromedp.Void](t, tablet, `window.dispatchEvent(new Event("online"))`)
	poll(t, tablet, `document.getElementById("poster-code").dataset.state === "live" && !!document.getElementById("venue-qr").dataset.text`)
	if got, want := eval[string](t, tablet, `document.getElementById("venue-qr").dataset.text`), f.ts.URL+"/c#"+venueCode(t, f, id).Live; got != want {
		t.Errorf("back online, the poster shows %q, want %q", got, want)
	}

	// Slot after slot, the same page redraws the same canvas: nothing is
	// added to the page, and what the canvas shows is the new code.
	nodes := `document.getElementsByTagName("*").length`
	before := eval[int](t, tablet, nodes)
	for i := range 3 {
		f.clock.Advance(healthcode.VenueSlot)
		want := f.ts.URL + "/c#" + venueCode(t, f, id).Live
		eval[chromedp.Void](t, tablet, `window.dispatchEvent(new Event("online"))`)
		poll(t, tablet, `document.getElementById("venue-qr").dataset.text === `+strconv.Quote(want))
		if got := eval[string](t, tablet, readPosterQR, chromedp.EvalAwaitPromise); got != want {
			t.Errorf("slot %d: the canvas reads %q, want %q", i, got, want)
		}
	}
	if after := eval[int](t, tablet, nodes); after != before {
		t.Errorf("the poster grew from %d to %d elements over three slots", before, after)
	}
	if n := eval[int](t, tablet, `document.getElementsByTagName("canvas").length`); n != 1 {
		t.Errorf("%d canvases", n)
	}
}

// TestBrowserCitizenScansVenueCode starts from the citizen page's "scan a
// venue code": a photo of the venue's printed code checks in as unverified
// presence, the live code through the camera (a fake camera filming the
// poster's QR) as verified, and a picture of something else is refused.
// The venue owner's printed page passes the same audit.
func TestBrowserCitizenScansVenueCode(t *testing.T) {
	f := newFixture(t)
	id := pageVenue(t, f, "便民超市", true)
	code := venueCode(t, f, id)
	dir := t.TempDir()
	qrFile := func(name, text string) string {
		b, err := f.srv.Signer.PNG(text, 400)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	printed := qrFile("printed.png", f.ts.URL+"/c#"+code.Static)
	video := filepath.Join(dir, "camera.y4m")
	writeY4M(t, video, qrFile("live.png", f.ts.URL+"/c#"+code.Live))
	ctx := newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
	)
	setLanguage(t, ctx, "zh-CN")
	loginInBrowser(t, ctx, f)
	wantAccessible(t, ctx, []string{"扫场所码登记", "谁查看过我的数据", "还没有任何工作人员查看过您的数据。"}, nil)
	audit(t, ctx, "citizen page with the scan entry")

	do(t, ctx, chromedp.Click(chromedp.ID("scan-venue")), chromedp.WaitVisible(chromedp.ID("camera-start")))
	screenshot(t, ctx, "checkin-scanner-zh-360.png")
	wantAccessible(t, ctx, []string{"场所登记", "扫描场所门口的场所码完成登记。", "打开摄像头扫场所码", "或上传场所码的照片", "或粘贴场所码文字（以 HCV1: 开头）"}, []string{"[["})
	audit(t, ctx, "check-in scanner")
	if eval[bool](t, ctx, `!!window.jsQR`) {
		t.Errorf("the decoder is loaded before it is needed")
	}

	// A photo of the printed code.
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{printed}))
	if got, want := checkInResult(t, ctx), (checkInState{"done", "false", "green"}); got != want {
		t.Fatalf("the printed code: %+v, want %+v", got, want)
	}
	wantAccessible(t, ctx, []string{"已登记：未核实到场", "这是打印的或过期的场所码：打印或转发的码不能证明任何事，这次登记不会单独改变您的颜色。", "绿码", "便民超市"}, nil)

	// Not a venue code: the citizen's own health QR.
	eval[chromedp.Void](t, ctx, `document.getElementById("result").dataset.state = "idle"`)
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{citizenPNG(t, f)}))
	if got := checkInResult(t, ctx); got.State != "failed" {
		t.Errorf("a health QR taken for a venue code: %+v", got)
	}
	wantAccessible(t, ctx, []string{"未登记：这不是场所码。"}, nil)

	// The live code through the camera.
	eval[chromedp.Void](t, ctx, `document.getElementById("result").dataset.state = "idle"`)
	do(t, ctx, chromedp.Click(chromedp.ID("camera-start")))
	if got, want := checkInResult(t, ctx), (checkInState{"done", "true", "green"}); got != want {
		t.Fatalf("the live code through the camera: %+v, want %+v", got, want)
	}
	screenshot(t, ctx, "checkin-camera-zh-360.png")
	wantAccessible(t, ctx, []string{"已登记：已核实到场", "绿码", "可以通行 (圆形)", "张*明", "便民超市", "请向门口工作人员出示本页。"}, []string{"未核实"})
	if eval[bool](t, ctx, `!document.getElementById("camera").hidden`) {
		t.Errorf("the camera stays on after the check-in")
	}
	audit(t, ctx, "check-in through the camera")

	// The owner's printed code, in English.
	owner := newPhone(t, ctx)
	setLanguage(t, owner, "en")
	do(t, owner, chromedp.Navigate(f.ts.URL+"/venue/"+id+"/print"))
	loginWith(t, owner, f.tokens[healthcode.RoleVenue], chromedp.ID("static-qr"))
	screenshot(t, owner, "venue-print-en-360.png")
	wantAccessible(t, owner, []string{"便民超市", "Printed code · not proof of presence", "静态码 · 不能证明到场",
		"Printed venue code of 便民超市 (not proof of presence)", "A check-in with a printed code is recorded as unverified presence", "Print"}, nil)
	audit(t, owner, "printed venue code")

	// The owner's start page opens the poster by the venue's id.
	do(t, owner, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("venue-id")))
	wantAccessible(t, owner, []string{"Venue codes", "Logged in as the venue owner test venue.", "Venue id", "Open the poster"}, nil)
	audit(t, owner, "venue owner's start page")
	do(t, owner,
		chromedp.SendKeys(chromedp.ID("venue-id"), id),
		chromedp.Click(chromedp.CSS(`form[action="/venue"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#poster-code[data-state="live"] #venue-qr[data-text]`)),
	)
	screenshot(t, owner, "venue-poster-en-360.png")
	wantAccessible(t, owner, []string{"Live venue code of 便民超市", "Next code in", "Scan with your phone to check in", "请用手机扫码登记"}, nil)
	audit(t, owner, "venue poster in English")
}

// TestBrowserConsole is the two-official override in real browsers, at
// 360 px: an operator logs in to the console and requests a red override
// for a person; an approver of another unit, in a second browser context,
// approves it; the person's own page is then red and names both
// officials. Every role's console passes the audit, with something in
// each of its sections: an escalated appeal and an open one, a bulk
// override awaiting co-signature, a designation awaiting approval, and the
// operator's recorded look-up.
func TestBrowserConsole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	positive := positiveTest(t, f, "BC-1")
	venue := pageVenue(t, f, "老王面馆", true)
	other := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})
	if _, err := f.engine.FileAppeal(ctx, principal(t, f, other), healthcode.AppealColour, "我已经转阴了"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(25 * time.Hour)
	if n, err := f.engine.EscalateAppeals(ctx); err != nil || n != 1 {
		t.Fatalf("escalating: %d %v", n, err)
	}
	mine, err := f.engine.FileAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleCitizen]), healthcode.AppealCorrection, "手机号写错了")
	if err != nil {
		t.Fatal(err)
	}
	appealRef := fmt.Sprintf("appeal/%d", mine.ID) // what a read for an appeal review cites
	// Two cases of one person who was at the venue, five hours ago, with
	// the person and the bulk override's people: all linked to both. The
	// bulk override, by another operator, cites the second case (a list
	// counts against its requester and its case for a day).
	people := bulkPeople(t, f, healthcode.BulkLimit+1)
	caseID, _ := openCase(t, f, "BC-DX")
	bulkCase, _ := openCase(t, f, "BC-DX2")
	sharePresence(t, f, venue, append([]string{f.person.Pseudonym}, people...)...)
	f.clock.Advance(5 * time.Hour)
	now := f.clock.Now()
	bulkOperator := &healthcode.Principal{ID: "op-bulk", Name: "操作员 批量", Role: healthcode.RoleOperator, Unit: "unit-operator-2"}
	bulk, err := f.engine.RequestOverride(ctx, bulkOperator, healthcode.Override{Subjects: people,
		Colour: healthcode.Yellow, Reason: "lab_result_delayed", Basis: []int64{positive}, CaseRef: bulkCase, Expires: now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.RequestDesignation(ctx, principal(t, f, f.tokens[healthcode.RoleEpidemiologist]), healthcode.RiskDesignation{
		Venue: venue, Level: healthcode.RiskMedium, Reason: "cluster", Cases: []int64{positive},
		From: now.Add(-6 * time.Hour), Until: now.Add(-4 * time.Hour), Expires: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// The operator, in English.
	op := newBrowser(t)
	setLanguage(t, op, "en-GB,en;q=0.9")
	do(t, op, chromedp.Navigate(f.ts.URL+"/console"))
	wantAccessible(t, op, []string{"Log in with your own official token (operator, approver, auditor, epidemiologist or clinic) to open the console."}, nil)
	loginWith(t, op, f.tokens[healthcode.RoleOperator], chromedp.ID("overrides"))
	wantAccessible(t, op, []string{"Operator console", "Logged in as test operator (operator, unit-operator)", "On this page", "Look up a person",
		"Request an override", "People (pseudonyms, one per line)", "Reason (closed list of health reasons)",
		"It never decides a colour: only the reason from the list, the records it rests on and the officials' signatures do.",
		"Overrides not yet ended", "Appeals awaiting an answer", "Overdue", "Escalated to oversight", "我已经转阴了", "手机号写错了", "Decision", "Deny"},
		[]string{"[[", "Approve no.", "Co-sign no.", "Request a designation"})
	audit(t, op, "console as operator")
	screenshot(t, op, "console-operator-en-360.png")

	do(t, op,
		chromedp.SendKeys(chromedp.ID("o-subjects"), f.person.Pseudonym),
		chromedp.SetValue(chromedp.ID("o-colour"), "red"),
		chromedp.SetValue(chromedp.ID("o-reason"), "epidemiologist_judgement"),
		chromedp.SendKeys(chromedp.ID("o-basis"), strconv.FormatInt(positive, 10)),
		chromedp.SendKeys(chromedp.ID("o-case"), caseID),
		chromedp.SendKeys(chromedp.ID("o-note"), "同住家属是确诊病例"),
		chromedp.Click(chromedp.CSS(`form[action="/console/overrides"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	var o healthcode.Override
	os, err := f.engine.Overrides(ctx, healthcode.OverridePending)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range os {
		if slices.Equal(x.Subjects, []string{f.person.Pseudonym}) {
			o = x
		}
	}
	if o.ID == 0 || o.Colour != healthcode.Red || o.CaseRef != caseID || o.Note != "同住家属是确诊病例" || o.Requester.Name != "test operator" {
		t.Fatalf("the requested override: %+v (pending: %+v)", o, os)
	}
	wantAccessible(t, op, []string{fmt.Sprintf("Override no. %d was requested. It changes no one's colour until an approver of another unit approves it.", o.ID),
		"awaits an approver of another unit", "同住家属是确诊病例"}, nil)
	audit(t, op, "console as operator, after the request")
	screenshot(t, op, "console-override-requested-en-360.png")
	if h := eval[string](t, op, `location.pathname + location.hash`); h != "/console#overrides" {
		t.Errorf("after the request the page is %s", h)
	}

	// The approver of another unit, on another device, in Chinese.
	ap := newPhone(t, op)
	setLanguage(t, ap, "zh-CN,zh;q=0.9")
	approve := chromedp.CSS(fmt.Sprintf(`form[action="/console/overrides/%d/approve"] button`, o.ID))
	do(t, ap, chromedp.Navigate(f.ts.URL+"/console"))
	loginWith(t, ap, f.tokens[healthcode.RoleApprover], approve)
	wantAccessible(t, ap, []string{"已登录：test approver (审批人员, unit-approver)", "待您审批的人工调整", fmt.Sprintf("批准第 %d 号", o.ID),
		fmt.Sprintf("批准第 %d 号", bulk.ID), "申请：test operator (运营人员, unit-operator)", "待您审批的风险认定", "中风险", "聚集性疫情"},
		[]string{"[[", "申请人工调整", "查询个人健康码"})
	audit(t, ap, "console as approver")
	screenshot(t, ap, "console-approver-zh-360.png")
	do(t, ap, chromedp.Click(approve), chromedp.WaitVisible(chromedp.ID("flash")))
	wantAccessible(t, ap, []string{fmt.Sprintf("第 %d 号人工调整已生效，并已记入日志。", o.ID)}, nil)
	screenshot(t, ap, "console-override-approved-zh-360.png")

	// The person's own page: red, with both officials named.
	me := newPhone(t, op)
	setLanguage(t, me, "zh-CN,zh;q=0.9")
	loginInBrowser(t, me, f)
	wantAccessible(t, me, []string{"红码", "方形", "人工调整：流行病学调查人员对具体病例的研判（病例 " + caseID + "）",
		"申请：test operator（运营人员，unit-operator）；批准：test approver（审批人员，unit-approver）；备注：同住家属是确诊病例"}, []string{"[[", "approved by", "Note:"})
	audit(t, me, "the person's page under the override")
	screenshot(t, me, "citizen-override-red-zh-360.png")

	// Back at the operator's: the override is in force, and a look-up,
	// recorded, shows it.
	do(t, op, chromedp.Navigate(f.ts.URL+"/console"), chromedp.WaitVisible(chromedp.ID("lookup")))
	wantAccessible(t, op, []string{"In force", "Approved by test approver (approver, unit-approver)"}, nil)
	do(t, op,
		chromedp.SendKeys(chromedp.ID("l-subject"), f.person.Pseudonym),
		chromedp.SetValue(chromedp.ID("l-purpose"), "appeal_review"),
		chromedp.SendKeys(chromedp.ID("l-case"), appealRef),
		chromedp.Click(chromedp.CSS(`form[action="/console/lookup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("lookup-result")),
	)
	wantAccessible(t, op, []string{"Result: " + f.person.Pseudonym, "Red code", "This read was recorded: by test operator (operator, unit-operator), purpose: appeal review, case: " + appealRef + ".",
		fmt.Sprintf("#%d · a record of another person's case", positive)}, nil)
	audit(t, op, "console look-up")
	screenshot(t, op, "console-lookup-en-360.png")

	// The auditor and the epidemiologist.
	for _, tt := range []struct {
		role healthcode.Role
		lang string
		want []string
	}{
		{healthcode.RoleAuditor, "en", []string{"Bulk overrides awaiting co-signature", fmt.Sprintf("Co-sign no. %d", bulk.ID),
			"Appeals escalated to oversight (not answered in time)", "Overdue", "我已经转阴了", "Look up a person"}},
		{healthcode.RoleEpidemiologist, "zh-CN", []string{"申请风险认定", "场所编号", "风险等级", "未到期的风险认定", "场所 " + venue, "待批准", "查询个人健康码"}},
	} {
		b := newPhone(t, op)
		setLanguage(t, b, tt.lang)
		do(t, b, chromedp.Navigate(f.ts.URL+"/console"))
		loginWith(t, b, f.tokens[tt.role], chromedp.ID("lookup"))
		wantAccessible(t, b, tt.want, []string{"[[", "Request an override", "申请人工调整"})
		audit(t, b, "console as "+string(tt.role))
		screenshot(t, b, "console-"+string(tt.role)+"-"+tt.lang+"-360.png")
	}
}

// LayoutWidths are the viewport widths CheckLayout lays a page out at: a
// small phone and a desktop.
var LayoutWidths = []int64{360, 1280}

// clippedJS lists what is cut off sideways on the page as laid out now: a
// page wider than the window; a table, or one of its cells, reaching past
// the window or past an ancestor that clips or scrolls it (a table one
// must scroll sideways inside its box counts: whom an approver approves
// must be in view); a cell whose content overflows it. At a desktop width
// it also flags one narrow column: the page's content spanning less than
// 60% of the window.
const clippedJS = `(() => {
  const bad = [], vw = document.documentElement.clientWidth;
  // Visible: laid out, and not inside a box visually hidden (1 px, clipped) for screen readers only.
  const srOnly = el => { for (let a = el; a; a = a.parentElement) { if (a.getBoundingClientRect().width <= 1 && getComputedStyle(a).overflow === "hidden") return true; } return false; };
  const visible = el => el.getClientRects().length > 0 && !el.closest("[hidden]") && !srOnly(el);
  const name = (el, i) => el.id ? "#" + el.id : el.caption ? "table \"" + el.caption.textContent.trim().slice(0, 40) + "\"" : "table " + (i + 1);
  const cellName = c => "cell \"" + c.textContent.trim().replace(/\s+/g, " ").slice(0, 40) + "\"";
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    bad.push("the page is " + document.documentElement.scrollWidth + " px wide in a " + window.innerWidth + " px window");
  document.querySelectorAll("table").forEach((tb, i) => {
    if (!visible(tb)) return;
    const id = name(tb, i), r = tb.getBoundingClientRect();
    if (r.left < -1 || r.right > vw + 1) bad.push(id + " spans " + Math.round(r.left) + " to " + Math.round(r.right) + " px of a " + vw + " px window");
    for (let a = tb.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible" && a.scrollWidth > a.clientWidth + 1) {
        return bad.push(id + " is cut off by <" + a.tagName.toLowerCase() + (a.className ? " class=" + a.className : "") + ">: " + a.scrollWidth + " px of content in " + a.clientWidth + " px");
      }
    }
    const before = bad.length;
    for (const c of tb.querySelectorAll("th, td")) {
      if (bad.length > before) break; // one is enough to find the rest
      if (!visible(c)) continue;
      const cr = c.getBoundingClientRect();
      if (cr.left < -1 || cr.right > vw + 1) bad.push(id + ": " + cellName(c) + " reaches past the window");
      else if (c.scrollWidth > c.clientWidth + 1) bad.push(id + ": " + cellName(c) + " overflows its cell: " + c.scrollWidth + " px in " + c.clientWidth + " px");
    }
  });
  if (vw >= 1000) {
    const main = document.querySelector("main");
    let left = Infinity, right = -Infinity;
    if (main) for (const el of main.querySelectorAll("*")) {
      if (!visible(el)) continue;
      const b = el.getBoundingClientRect();
      if (b.width > 0) { left = Math.min(left, b.left); right = Math.max(right, b.right); }
    }
    if (right - left < 0.6 * vw) bad.push("one narrow column: the content spans " + Math.round(Math.max(right - left, 0)) + " px of a " + vw + " px window");
  }
  return bad;
})()`

// setWidth lays the tab out at a width: a phone (touch, 2x) at 360 px or
// below, a desktop otherwise.
func setWidth(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	var err error
	if width <= 480 {
		err = chromedp.Do(ctx, chromedp.EmulateViewport(width, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	} else {
		err = chromedp.Do(ctx, chromedp.EmulateViewport(width, 900, chromedp.EmulateScale(1), chromedp.EmulateLandscape))
	}
	if err != nil {
		t.Fatal(err)
	}
	if w := eval[int64](t, ctx, `window.innerWidth`); w != width {
		t.Fatalf("viewport is %d px wide, want %d", w, width)
	}
}

// CheckLayout lays the tab's page out at each of LayoutWidths, writes a
// screenshot of each (name-360.png, name-1280.png), and fails the test for
// whatever is cut off sideways (clippedJS): a table one cannot read whole
// at that width, a page wider than the window, one narrow column on a
// desktop. It leaves the tab at 360 px. Every page test should call it
// once its page shows what it is about.
func CheckLayout(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range LayoutWidths {
		setWidth(t, ctx, w)
		for _, p := range eval[[]string](t, ctx, clippedJS) {
			t.Errorf("%s at %d px: %s", name, w, p)
		}
		screenshot(t, ctx, fmt.Sprintf("%s-%d.png", name, w))
	}
	setWidth(t, ctx, 360)
}
