package http

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"healthcode"
)

// TestBrowserLayout lays out the citizen's pages, the login form and the
// operator's console at a phone's and a desktop's width: nothing is cut off
// sideways, tables reflow on the phone, and a desktop gets more than one
// narrow column (CheckLayout).
func TestBrowserLayout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	positive := positiveTest(t, f, "BL-1")
	other := pageToken(t, f, &healthcode.Principal{Name: "李四", Role: healthcode.RoleCitizen, Subject: f.other.Pseudonym})
	if _, err := f.engine.FileAppeal(ctx, principal(t, f, other), healthcode.AppealColour, "我已经转阴了，请复核。我的检测报告编号是 HX-2026-000123456789"); err != nil {
		t.Fatal(err)
	}
	venue := pageVenue(t, f, "老王面馆", true)
	caseID, _ := openCase(t, f, "BL-DX")
	sharePresence(t, f, venue, f.person.Pseudonym)
	f.clock.Advance(5 * time.Hour)
	now := f.clock.Now()
	if _, err := f.engine.RequestOverride(ctx, principal(t, f, f.tokens[healthcode.RoleOperator]), healthcode.Override{Subjects: []string{f.person.Pseudonym},
		Colour: healthcode.Yellow, Reason: "lab_result_delayed", Basis: []int64{positive}, CaseRef: caseID, Note: "家属同住，等待复核结果", Expires: now.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	setLanguage(t, b, "zh-CN,zh;q=0.9")
	do(t, b, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	CheckLayout(t, b, "layout-login-zh")
	loginInBrowser(t, b, f)
	CheckLayout(t, b, "layout-citizen-zh")

	op := newPhone(t, b)
	setLanguage(t, op, "en")
	do(t, op, chromedp.Navigate(f.ts.URL+"/console"))
	loginWith(t, op, f.tokens[healthcode.RoleOperator], chromedp.ID("overrides"))
	CheckLayout(t, op, "layout-console-operator-en")
}

// TestBrowserCitizenAppealExportRules: a citizen on a phone appeals from
// their page with the keyboard alone, sees the appeal with its deadline and
// later its answer; reads their data as a page and downloads it; reads the
// rules in force, each with its basis and what lifts it. Each page is
// accessible and laid out at a phone's and a desktop's width.
func TestBrowserCitizenAppealExportRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.collect(t, f.id, "BA-1", f.clock.Now().Add(-time.Hour))
	if a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json",
		mustJSON(t, EvidenceJSON{Kind: "nucleic_acid_test", Tube: "BA-1", Result: "positive"})); a.status != 201 {
		t.Fatalf("the positive test: %d %s", a.status, a.body)
	}
	b := newBrowser(t)
	setLanguage(t, b, "zh-CN,zh;q=0.9")
	loginInBrowser(t, b, f)
	CheckLayout(t, b, "citizen-appeal-before-zh")

	// With the keyboard: focus the choice, pick it with the space bar, type
	// the note, Tab to the button, Enter.
	do(t, b,
		chromedp.Focus(chromedp.CSS(`input[name=kind][value=colour]`)),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.ID("appeal-note")),
		chromedp.KeyEvent("我七天前已转阴，请复核"),
		chromedp.KeyEvent(kb.Tab),
	)
	if focused := eval[string](t, b, `document.activeElement.closest("form") && document.activeElement.closest("form").getAttribute("action") + " " + document.activeElement.tagName`); focused != "/appeals BUTTON" {
		t.Fatalf("Tab from the note leads to %q, not the form's button", focused)
	}
	do(t, b, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`article.appeal`)))
	as, err := f.engine.Appeals(ctx, principal(t, f, f.tokens[healthcode.RoleAuditor]), "")
	if err != nil || len(as) != 1 || as[0].Subject != f.person.Pseudonym || as[0].Note != "我七天前已转阴，请复核" {
		t.Fatalf("appeals after the form: %+v %v", as, err)
	}
	wantAccessible(t, b, []string{"您的申诉已提交，答复期限见下方。", "答复期限", "等待工作人员答复。", "我七天前已转阴，请复核"}, []string{"[["})
	audit(t, b, "citizen page after an appeal")
	CheckLayout(t, b, "citizen-appeal-filed-zh")

	if _, err := f.engine.AnswerAppeal(ctx, principal(t, f, f.tokens[healthcode.RoleOperator]), as[0].ID, false, "复核结果仍为阳性，维持红码。"); err != nil {
		t.Fatal(err)
	}
	do(t, b, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`article.appeal`)))
	wantAccessible(t, b, []string{"已驳回", "复核结果仍为阳性，维持红码。", "运营人员"}, []string{"[["})
	CheckLayout(t, b, "citizen-appeal-answered-zh")

	// The data, as a page with its download.
	do(t, b, chromedp.Navigate(f.ts.URL+"/export"), chromedp.WaitVisible(chromedp.ID("download")))
	wantAccessible(t, b, []string{"我的数据", "张小明", f.id, "记录及其删除日期", "核酸检测 · 阳性", "下载全部数据（JSON 文件）"}, []string{"[["})
	audit(t, b, "export page")
	CheckLayout(t, b, "export-zh")
	got := eval[string](t, b, `fetch(document.getElementById("download").href).then(r => r.headers.get("Content-Disposition") + " " + r.headers.get("Content-Type"))`,
		chromedp.EvalAwaitPromise)
	if !strings.Contains(got, "attachment") || !strings.Contains(got, "application/json") {
		t.Errorf("the download answers %q", got)
	}

	// The rules in force, in English, with the YAML as a link.
	setLanguage(t, b, "en")
	do(t, b, chromedp.Navigate(f.ts.URL+"/rules"), chromedp.WaitVisible(chromedp.ID("rules")))
	wantAccessible(t, b, []string{"Rules in force", "Confirmed COVID-19 case", "What lifts it", "The rules as published (YAML)"}, []string{"[["})
	if n := eval[int](t, b, `document.querySelectorAll("#rules tbody tr").length`); n < 5 {
		t.Errorf("the rules page lists %d rules", n)
	}
	audit(t, b, "rules page")
	CheckLayout(t, b, "rules-en")
	do(t, b, chromedp.Navigate(f.ts.URL+"/export"), chromedp.WaitVisible(chromedp.ID("download")))
	CheckLayout(t, b, "export-en")
}
