package http

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"healthcode"
)

// spikeJS reads the per-day chart of restrictive actions as the page drew
// it: for each day its total and the spiking official's part, and the
// rendered height of each bar (the picture, not only the numbers).
const spikeJS = `(() => {
  const out = {};
  document.querySelectorAll("#chart-actions-day g.bar").forEach(g => {
    let h = 0, mine = 0;
    g.querySelectorAll("rect").forEach(r => {
      h += r.getBoundingClientRect().height;
      if (r.dataset.series === %q) mine += Number(r.dataset.value);
    });
    out[g.dataset.category] = {total: Number(g.dataset.total), mine: mine, height: h};
  });
  return out;
})()`

type dayBar struct {
	Total, Mine int64
	Height      float64
}

// TestBrowserDashboard renders the auditor's dashboard in Chromium after a
// spike of restrictive actions by one official on one day (seeded through
// the real engine): the per-day chart's bar of that day is the spiking
// official's, holds every action, and is drawn the tallest; the per-official
// chart leads with them; the log browser finds their entries and an entry
// shows its proof. At 360 px and at 1280 px no table is cut off, and the
// pages pass the audit; screenshots are named for the page, language and
// width.
func TestBrowserDashboard(t *testing.T) {
	f := newFixture(t)
	sp := seedSpike(t, f, 25, false)
	b := newBrowser(t)
	setLanguage(t, b, "zh-CN,zh;q=0.9")
	do(t, b, chromedp.Navigate(f.ts.URL+"/dashboard"))
	loginWith(t, b, f.tokens[healthcode.RoleAuditor], chromedp.ID("chart-actions-day"))
	if p := eval[string](t, b, `location.pathname`); p != "/dashboard" {
		t.Fatalf("the login led to %s, not back to the dashboard", p)
	}

	bars := eval[map[string]dayBar](t, b, fmt.Sprintf(spikeJS, sp.official))
	day, ok := bars[sp.day]
	if !ok {
		t.Fatalf("the chart has no bar for the spike's day %s: %v", sp.day, bars)
	}
	if day.Mine != int64(sp.n) || day.Total != int64(sp.n) {
		t.Errorf("the spike's day: %d actions, %d of them by %s; want %d by them", day.Total, day.Mine, sp.official, sp.n)
	}
	for d, x := range bars {
		if d != sp.day && (x.Total >= day.Total || x.Height >= day.Height) {
			t.Errorf("day %s (%d actions, %.0f px) is not below the spike (%d, %.0f px)", d, x.Total, x.Height, day.Total, day.Height)
		}
	}
	if first := eval[string](t, b, `document.querySelector("#chart-actions-official g.bar").dataset.category`); first != sp.official {
		t.Errorf("the per-official chart leads with %s, not %s", first, sp.official)
	}
	wantAccessible(t, b, []string{"监督看板", "每天的限制性操作（按工作人员）", "各工作人员的限制性操作（按类型）", "各单位的限制性操作（按类型）",
		"申诉答复时间", "每天的黄码、红码决定（按理由）", "运营 王五"}, []string{"[["})
	audit(t, b, "dashboard")
	CheckLayout(t, b, "dashboard-auditor-zh")

	// The log browser: the spiking official's requests.
	do(t, b, chromedp.Navigate(f.ts.URL+"/dashboard/log?official="+sp.official+"&type=override_attempt"), chromedp.WaitVisible(chromedp.ID("log-table")))
	if n := eval[int](t, b, `document.querySelectorAll("#log-table tbody tr").length`); n != sp.n {
		t.Errorf("the log browser shows %d of the official's requests, want %d", n, sp.n)
	}
	audit(t, b, "log browser")
	CheckLayout(t, b, "dashboard-log-zh")
	do(t, b, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/dashboard/log/%d"]`, sp.attempt))), chromedp.WaitVisible(chromedp.ID("proof-link")))
	wantAccessible(t, b, []string{fmt.Sprintf("第 %d 条日志", sp.attempt), "包含证明", "打开承诺字段"}, []string{"[["})
	if proof := eval[string](t, b, `document.querySelector("pre.proof").textContent`); len(proof) < 100 {
		t.Errorf("the entry page's proof: %q", proof)
	} else {
		verifyProof(t, f, []byte(proof), sp.attempt)
	}
	audit(t, b, "log entry")
	CheckLayout(t, b, "dashboard-entry-zh")

	// A wide screen, in English: the same numbers, the width used.
	wide := newPhone(t, b)
	setLanguage(t, wide, "en-GB,en;q=0.9")
	setWidth(t, wide, 1280)
	do(t, wide, chromedp.Navigate(f.ts.URL+"/dashboard"))
	loginWith(t, wide, f.tokens[healthcode.RoleAuditor], chromedp.ID("chart-actions-day"))
	if bars := eval[map[string]dayBar](t, wide, fmt.Sprintf(spikeJS, sp.official)); bars[sp.day].Mine != int64(sp.n) {
		t.Errorf("at 1280 px the spike's day: %+v", bars[sp.day])
	}
	if w := eval[float64](t, wide, `document.querySelector("main").getBoundingClientRect().width`); w < 1000 {
		t.Errorf("at 1280 px the dashboard is %.0f px wide: the width is not used", w)
	}
	if cols := eval[int](t, wide, `getComputedStyle(document.querySelector(".dash-grid")).gridTemplateColumns.split(" ").length`); cols != 2 {
		t.Errorf("at 1280 px the dashboard has %d columns, want 2", cols)
	}
	wantAccessible(t, wide, []string{"Oversight dashboard", "Restrictive actions per day, by official", "Time to answer an appeal"}, []string{"[["})
	CheckLayout(t, wide, "dashboard-auditor-en")
	do(t, wide, chromedp.Navigate(f.ts.URL+"/dashboard/log"), chromedp.WaitVisible(chromedp.ID("log-table")))
	CheckLayout(t, wide, "dashboard-log-en")
}
