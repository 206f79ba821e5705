package http

// Browser tests of the staff pages: each page at 360 px (a phone) and
// 1280 px (a desktop), with named screenshots of both, the accessibility
// audit, and a check that no table is cut off sideways at either width.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"healthcode"
)

// staffAudit runs the accessibility audit at whatever width the tab has.
func staffAudit(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	for _, p := range eval[[]string](t, ctx, auditJS) {
		t.Errorf("%s: %s", page, p)
	}
}

// atBothWidths opens path in a tab of its own (with its own cookies)
// logged in with tok, waits for sel, audits it, and lays it out at 360
// and 1280 px with CheckLayout (screenshots name-360.png, name-1280.png,
// nothing cut off sideways). The tab is left at 360 px.
func atBothWidths(t *testing.T, browser context.Context, f *fixture, path, tok, lang, sel, name string) context.Context {
	t.Helper()
	tab := newPhone(t, browser)
	setLanguage(t, tab, lang)
	do(t, tab, chromedp.Navigate(f.ts.URL+path))
	loginWith(t, tab, tok, chromedp.CSS(sel))
	staffAudit(t, tab, name)
	CheckLayout(t, tab, name)
	return tab
}

// visibleInViewport is JavaScript saying whether the element with the
// text is laid out within the viewport's width (not cut off sideways).
func visibleInViewport(text string) string {
	return fmt.Sprintf(`(() => { const vw = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll("td, th, code, li")) {
    if (el.textContent.trim() === %q) { const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= vw + 1; }
  }
  return false; })()`, text)
}

// TestBrowserStaffConsoles opens every role's console at 360 and 1280 px:
// each has its own title, passes the audit, and has no table cut off;
// the approver sees, on a phone, whom the override names, and refuses the
// designation with the keyboard only.
func TestBrowserStaffConsoles(t *testing.T) {
	f := newFixture(t)
	w := newStaffWorld(t, f)
	for _, tt := range []struct {
		role  healthcode.Role
		lang  string
		sel   string
		title string
	}{
		{healthcode.RoleOperator, "en", "#venues", "Operator console"},
		{healthcode.RoleApprover, "zh-CN", "#unmask", "审批工作台"},
		{healthcode.RoleAuditor, "en", "#reads", "Auditor console"},
		{healthcode.RoleEpidemiologist, "zh-CN", "#trace", "流调工作台"},
		{healthcode.RoleClinic, "en", "#records", "Clinic console"},
	} {
		browser := newBrowser(t) // one per role: each has two minutes
		phone := atBothWidths(t, browser, f, "/console", f.tokens[tt.role], tt.lang, tt.sel, "console-"+string(tt.role))
		for _, ctx := range []context.Context{phone} {
			if h := eval[string](t, ctx, `document.querySelector("h1").textContent`); h != tt.title {
				t.Errorf("%s: the title is %q, want %q", tt.role, h, tt.title)
			}
			text := accessibleText(t, ctx)
			if !strings.Contains(text, tt.title) {
				t.Errorf("%s: the accessible text lacks the title %q", tt.role, tt.title)
			}
			if i := strings.Index(text, "[["); i >= 0 {
				t.Errorf("%s: an untranslated key: %s", tt.role, text[i:min(len(text), i+80)])
			}
		}
		if tt.role != healthcode.RoleApprover {
			continue
		}
		// Whom the approver approves: the person's pseudonym, within the
		// phone's width, and the note and case beside it.
		if !eval[bool](t, phone, visibleInViewport(f.person.Pseudonym)) {
			t.Errorf("the approver's phone does not show %s within its width", f.person.Pseudonym)
		}
		wantAccessible(t, phone, []string{f.person.Pseudonym, "与确诊病例同场所", w.caseID}, nil)
		// The refusal of the designation, by keyboard: focus the reason,
		// type it, Tab to the button, Enter.
		form := "refuse-designation-" + strconv.FormatInt(w.designation.ID, 10)
		do(t, phone,
			chromedp.Focus(chromedp.ID(form)),
			chromedp.KeyEvent("时段内没有病例到访"),
			chromedp.KeyEvent("\t"),
		)
		if id := eval[string](t, phone, `document.activeElement.closest("form") ? document.activeElement.closest("form").id : ""`); id != form+"-form" {
			t.Fatalf("Tab from the reason leads to %q, not the refusal's button", id)
		}
		do(t, phone, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("flash")))
		wantAccessible(t, phone, []string{fmt.Sprintf("已拒绝第 %d 号风险认定，并已记入日志。", w.designation.ID)}, nil)
		screenshot(t, phone, "console-approver-refused-360.png")
	}
}

// TestBrowserAdmin: a second admin, on a phone, sees a first admin's
// proposals (an official, and a rule set as a diff), approves the official
// with a tap, and the page passes the audit and lays out at 360 and 1280
// px.
func TestBrowserAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a1 := principal(t, f, f.tokens[healthcode.RoleAdmin])
	a2 := pageToken(t, f, &healthcode.Principal{Name: "第二管理员", Role: healthcode.RoleAdmin, Unit: "unit-admin-2"})
	unit, err := f.engine.CreateUnit(ctx, a1, healthcode.Unit{Name: "金水区疾控中心", Region: "410105"})
	if err != nil {
		t.Fatal(err)
	}
	_, prop, err := f.engine.CreateOfficial(ctx, a1, healthcode.Official{Name: "审批员 新", Role: healthcode.RoleApprover, Unit: unit.ID})
	if err != nil || prop == nil {
		t.Fatalf("proposal: %+v %v", prop, err)
	}
	_, rec, _ := f.engine.ActiveRuleSet()
	if _, err := f.engine.ProposeRuleSet(ctx, a1, []byte(strings.Replace(string(rec.Source), `version: "`, `version: "browser-`, 1))); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	tab := atBothWidths(t, browser, f, "/admin", a2, "zh-CN", "#proposals", "admin")
	wantAccessible(t, tab, []string{"管理员工作台", "审批员 新 (审批人员, 金水区疾控中心)", "待批准的规则集 browser-" + rec.Version, "批准规则集 browser-" + rec.Version + " 生效"}, []string{"[["})
	approve := chromedp.CSS(fmt.Sprintf(`form[action="/admin/proposals/%d/approve"] button`, prop.ID))
	do(t, tab, chromedp.Click(approve), chromedp.WaitVisible(chromedp.ID("flash")))
	wantAccessible(t, tab, []string{fmt.Sprintf("已批准第 %d 号申请，并已记入日志。", prop.ID)}, nil)
	screenshot(t, tab, "admin-approved-360.png")
}

// TestBrowserLab: the lab chooses a file and uploads it; the page shows
// the upload's progress, then the report of every row, and lays out at
// 360 and 1280 px.
func TestBrowserLab(t *testing.T) {
	f := newFixture(t)
	f.collect(t, f.id, "BL-1", f.clock.Now().Add(-time.Hour))
	file := filepath.Join(t.TempDir(), "results.csv")
	if err := os.WriteFile(file, []byte("tube_id,kind,result\nBL-1,nucleic_acid_test,negative\nBL-404,nucleic_acid_test,negative\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	tab := atBothWidths(t, browser, f, "/lab", f.tokens[healthcode.RoleLab], "en", "#upload-form", "lab")
	// Keep what the progress bar showed: the page is replaced by the report.
	do(t, tab, chromedp.SetUploadFiles(`#lab-file`, []string{file}))
	eval[bool](t, tab, `(() => { new MutationObserver(() => { const b = document.getElementById("upload-progress");
	  if (b && !b.hidden) sessionStorage.setItem("progress", document.getElementById("upload-status").textContent || "shown"); })
	  .observe(document.body, {subtree: true, attributes: true, childList: true, characterData: true}); return true; })()`)
	do(t, tab, chromedp.Click(chromedp.CSS(`#upload-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("report")))
	if p := eval[string](t, tab, `sessionStorage.getItem("progress") || ""`); p == "" {
		t.Error("the upload's progress was never shown")
	}
	wantAccessible(t, tab, []string{"What became of results.csv", "2 rows", "1 accepted", "1 rejected", "No sample in this tube is on record."}, []string{"[["})
	staffAudit(t, tab, "lab report")
	CheckLayout(t, tab, "lab-report")
}

// TestBrowserSampling: the sampler records a person by ID number and a
// tube, and the page says so and keeps the site for the next person; it
// lays out at 360 and 1280 px.
func TestBrowserSampling(t *testing.T) {
	f := newFixture(t)
	browser := newBrowser(t)
	tab := atBothWidths(t, browser, f, "/sample", f.tokens[healthcode.RoleSampler], "zh-CN", "#collect-form", "sample")
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("s-id"), f.id),
		chromedp.SendKeys(chromedp.ID("s-tube"), "BS-1"),
		chromedp.SendKeys(chromedp.ID("s-site"), "文化路采样点"),
		chromedp.Click(chromedp.CSS(`#collect-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	wantAccessible(t, tab, []string{"采样管 BS-1", "请登记下一位"}, []string{"[["})
	if v := eval[string](t, tab, `document.getElementById("s-site").value`); v != "文化路采样点" {
		t.Errorf("the site is not kept: %q", v)
	}
	staffAudit(t, tab, "sampling after a collection")
	CheckLayout(t, tab, "sample-recorded")
}
