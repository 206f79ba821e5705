package http

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
