package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"healthcode/http/browsertest"
	"healthcode/scenario"
)

// TestBrowserDashboardAfterScenario plays `healthcode scenario zhengzhou
// --keep` at a small scale, then opens the node's dashboard in headless
// Chromium as the scenario's auditor: the alerts chart draws every alert
// the API gives (by the data behind its bars), the per-official chart's
// tallest bar is an official of an attempt and stands above every lawful
// official's (the spike), every alerted attempt's officials are named in
// the alerts table, and a named screenshot is written.
func TestBrowserDashboardAfterScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("the scenario plays for most of a minute")
	}
	browsertest.ChromiumPath(t) // skip early without a browser (fail in CI)
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		code := Run(ctx, []string{"scenario", "zhengzhou", "--json", "--keep", "--people", "2000", "--targets", "200"}, w, &stderr)
		w.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		io.Copy(io.Discard, out)
		if code := <-done; code != exitOK {
			t.Errorf("scenario exit %d:\n%s", code, stderr.String())
		}
	})

	attempts := map[string]scenario.Attempt{}
	var node struct {
		URL, Dashboard string
		Auditor        string `json:"auditor_token"`
	}
	var summary scenario.Summary
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for node.URL == "" && sc.Scan() {
		var kind struct{ Kind string }
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		var err error
		switch kind.Kind {
		case "attempt":
			var a scenario.Attempt
			err = json.Unmarshal(sc.Bytes(), &a)
			attempts[a.ID] = a
		case "summary":
			err = json.Unmarshal(sc.Bytes(), &summary)
		case "node":
			err = json.Unmarshal(sc.Bytes(), &node)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if node.URL == "" || !summary.OK || summary.Alerts == 0 {
		t.Fatalf("the scenario did not keep its node: summary %+v, node %+v\n%s", summary, node, stderr.String())
	}

	b := browsertest.New(t)
	browsertest.Do(t, b, chromedp.Navigate(node.Dashboard))
	browsertest.Login(t, b, node.Auditor, chromedp.ID("chart-alerts"))

	// The alerts chart: every alert the scenario read from the API, by
	// the bars' data.
	drawn := browsertest.Eval[int](t, b, `Array.from(document.querySelectorAll("#chart-alerts g.bar")).reduce((n, g) => n + Number(g.dataset.total), 0)`)
	if drawn != summary.Alerts {
		t.Errorf("the alerts chart draws %d alerts, the scenario saw %d", drawn, summary.Alerts)
	}
	// The alerts table names every logged official of every alerted
	// attempt.
	table := browsertest.Eval[string](t, b, `Array.from(document.querySelectorAll("tr[data-alert]")).map(r => r.textContent).join("\n")`)
	alerted := 0
	for id, a := range attempts {
		if a.Outcome != scenario.Alerted {
			continue
		}
		alerted++
		for _, o := range a.Officials {
			if oid := officialID(o); !strings.Contains(table, oid) {
				t.Errorf("attempt (%s): the alerts table does not name %s", id, o)
			}
		}
	}
	if alerted == 0 {
		t.Errorf("no attempt was alerted: %+v", attempts)
	}
	// The spike: the tallest bar of the per-official chart is an official
	// of an attempt, above every lawful official's.
	type bar struct {
		Official string
		Total    int
	}
	bars := browsertest.Eval[[]bar](t, b, `Array.from(document.querySelectorAll("#chart-actions-official g.bar")).map(g => ({Official: g.dataset.category, Total: Number(g.dataset.total)}))`)
	acting := map[string]bool{}
	for _, a := range attempts {
		for _, o := range a.Officials {
			acting[officialID(o)] = true
		}
	}
	top, topLawful := bar{}, 0
	for _, x := range bars {
		if x.Total > top.Total {
			top = x
		}
		if !acting[x.Official] && x.Total > topLawful {
			topLawful = x.Total
		}
	}
	if !acting[top.Official] || top.Total <= topLawful {
		t.Errorf("the per-official chart shows no spike: tallest %+v, tallest lawful %d; bars %+v", top, topLawful, bars)
	}
	browsertest.Screenshot(t, b, "dashboard-after-zhengzhou-360.png")
}

// officialID is the registry id in "name [id]".
func officialID(s string) string {
	if i := strings.LastIndex(s, "["); i >= 0 {
		return strings.TrimSuffix(s[i+1:], "]")
	}
	return s
}
