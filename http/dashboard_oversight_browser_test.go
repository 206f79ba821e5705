package http

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"healthcode"
)

// TestBrowserDashboardReviews: after a spike the real detectors flag, an
// auditor at 360 px sees the alert naming the official (in the alerts
// chart's data and the table), opens a review of it from the dashboard, and
// sees it in force; the page is laid out whole at 360 and 1280 px.
func TestBrowserDashboardReviews(t *testing.T) {
	f := newFixture(t)
	sp := seedSpike(t, f, 25, true)
	alerts := runDetectors(t, f)
	alert := spikeAlert(t, alerts, sp.official)
	b := newBrowser(t)
	setLanguage(t, b, "zh-CN,zh;q=0.9")
	do(t, b, chromedp.Navigate(f.ts.URL+"/dashboard"))
	loginWith(t, b, f.tokens[healthcode.RoleAuditor], chromedp.ID("chart-alerts"))
	total := eval[int](t, b, `Array.from(document.querySelectorAll("#chart-alerts g.bar")).reduce((n, g) => n + Number(g.dataset.total), 0)`)
	if total != len(alerts) {
		t.Errorf("the alerts chart draws %d alerts, the detectors raised %d", total, len(alerts))
	}
	named := eval[string](t, b, fmt.Sprintf(`document.querySelector('tr[data-alert="%d"]').textContent`, alert.ID))
	if !strings.Contains(named, sp.official) {
		t.Errorf("the alert's row does not name %s: %s", sp.official, named)
	}
	audit(t, b, "dashboard with alerts")
	CheckLayout(t, b, "dashboard-alerts-zh")
	do(t, b,
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("review-note-%d", alert.ID)), "一天内 25 次人工调整"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/dashboard/alerts/%d/review"] button`, alert.ID))),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	wantAccessible(t, b, []string{"已开启第 1 号复核，并已记入日志；被点名的工作人员在复核期间不能再采取限制性操作。", "复核中，待第二位审计人员确认", "一天内 25 次人工调整"}, []string{"[["})
	if inForce := eval[string](t, b, `document.querySelector('tr[data-review="1"]').dataset.inForce`); inForce != "true" {
		t.Errorf("the review's row says in force: %q", inForce)
	}
	audit(t, b, "dashboard with a review")
	CheckLayout(t, b, "dashboard-review-zh")
}
