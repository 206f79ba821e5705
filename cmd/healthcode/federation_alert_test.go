package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"healthcode"
	hchttp "healthcode/http"
)

// peerAlerts returns the node's peer_refused alerts, as its auditors read
// them through the API.
func (tn *testNode) peerAlerts(t *testing.T, auditor string) []hchttp.AlertJSON {
	t.Helper()
	var out struct {
		Alerts []hchttp.AlertJSON `json:"alerts"`
	}
	if st := tn.do(t, "GET", "/api/v1/oversight/alerts?detector="+healthcode.DetectPeerRefused, auditor, nil, &out); st != 200 {
		t.Fatalf("GET /api/v1/oversight/alerts: %d", st)
	}
	return out.Alerts
}

// wantPeerRefusedAlert checks that region b raised exactly one peer_refused
// alert, about the traveller subject of region peer, resting on b's log
// entry at index, and that its summary says each of the words (the region,
// the reason, its class, the officials of the peer's log entry); and that
// b's oversight dashboard shows it.
func wantPeerRefusedAlert(t *testing.T, b *testNode, auditor, subject string, index int64, words ...string) {
	t.Helper()
	as := b.peerAlerts(t, auditor)
	if len(as) != 1 {
		t.Fatalf("region %s has %d peer_refused alerts, want 1: %+v", b.cfg.Region, len(as), as)
	}
	a := as[0]
	if !slices.Equal(a.People, []string{subject}) || !slices.Equal(a.LogIndexes, []int64{index}) || len(a.Officials) != 0 {
		t.Fatalf("the alert: people %v (want [%s]), log entries %v (want [%d]), officials %v (want none of this region's)",
			a.People, subject, a.LogIndexes, index, a.Officials)
	}
	for _, w := range words {
		if !strings.Contains(a.Summary, w) {
			t.Errorf("the alert's summary does not say %q: %s", w, a.Summary)
		}
	}
	req, _ := http.NewRequest("GET", b.url+"/dashboard?lang=en", nil)
	req.Header.Set("Authorization", "Bearer "+auditor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "answered red for its traveller "+subject) ||
		!strings.Contains(string(page), "colour of another region not propagated") {
		t.Fatalf("the dashboard does not show the alert: %d\n%s", resp.StatusCode, page)
	}
}

// TestPeerRefusedAlertClasses: which of the asking side's federation
// entries raise an oversight alert. A restrictive colour resting on an
// override, on a reason not on the list, or on none, and an answer whose
// proof, signature or nonce does not verify: each one alert, naming the
// region and the traveller. An honoured colour, a green one, a peer that
// could not be reached, and the answering side's entries: none. The
// expectations are written here, not read from the detector's tables.
func TestPeerRefusedAlertClasses(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	auditor := tn.token(t, healthcode.Principal{ID: "aud-1", Name: "审计员", Role: healthcode.RoleAuditor})
	// Travellers of the other regions, by pseudonyms of their form.
	ps := map[string]string{}
	for _, l := range []string{"p-honoured", "p-green", "p-unreachable", "p-answered", "p-override", "p-other", "p-none", "p-proof", "p-sig", "p-replay"} {
		ps[l] = tn.engine.Keys.Pseudonymize("370100", l)
	}
	cases := []struct {
		q     healthcode.PeerQuery
		alert []string // words of the summary; nil: no alert
	}{
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-honoured", Colour: healthcode.Red, Reason: "confirmed_case", Outcome: healthcode.PeerHonoured, LogIndex: 3}, nil},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-green", Colour: healthcode.Green, Outcome: healthcode.PeerGreen, LogIndex: -1}, nil},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-unreachable", Outcome: "failed.peer_refused", LogIndex: -1}, nil},
		{healthcode.PeerQuery{Peer: "370100", Asked: false, Subject: "p-answered", Colour: healthcode.Red, Reason: "override.epidemiologist_judgement", Outcome: healthcode.PeerAnswered, LogIndex: 4}, nil},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-override", Colour: healthcode.Red, Reason: "override.data_entry_correction",
			Outcome: healthcode.PeerRefusedReason, LogIndex: 9, PeerActing: "override: 申请：张三（运营人员，甲局）；批准：李四（审批人员，乙局）"},
			[]string{"region 370100", "p-override", "red", `"override.data_entry_correction"`, "an override", "log entry 9", "张三（运营人员，甲局）", "李四（审批人员，乙局）"}},
		{healthcode.PeerQuery{Peer: "130100", Asked: true, Subject: "p-other", Colour: healthcode.Yellow, Reason: "petition_risk",
			Outcome: healthcode.PeerRefusedReason, LogIndex: 11},
			[]string{"region 130100", "p-other", "yellow", `"petition_risk"`, "not on this region's list", "log entry 11 names no official"}},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-none", Colour: healthcode.Red, Outcome: healthcode.PeerRefusedNoReason, LogIndex: 12},
			[]string{"region 370100", "p-none", "no reason"}},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-proof", Outcome: "failed.bad_proof", LogIndex: -1},
			[]string{"region 370100", "p-proof", "log proof does not verify"}},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-sig", Outcome: "failed.answer_signature", LogIndex: -1},
			[]string{"p-sig", "not signed by the region's node key"}},
		{healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: "p-replay", Outcome: "failed.replayed", LogIndex: -1},
			[]string{"p-replay", "replayed"}},
	}
	want := map[int64][]string{}
	for _, c := range cases {
		for i, w := range c.alert {
			if ps[w] != "" {
				c.alert[i] = ps[w]
			}
		}
		c.q.Subject = ps[c.q.Subject]
		idx, err := tn.engine.RecordPeerQuery(ctx, &c.q)
		if err != nil {
			t.Fatal(err)
		}
		if c.alert != nil {
			want[idx] = c.alert
		}
	}
	if _, err := tn.oversight.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	got := tn.peerAlerts(t, auditor)
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d: %+v", len(got), len(want), got)
	}
	for _, a := range got {
		if len(a.LogIndexes) != 1 || want[a.LogIndexes[0]] == nil {
			t.Fatalf("an alert on log entries %v: %s", a.LogIndexes, a.Summary)
		}
		for _, w := range want[a.LogIndexes[0]] {
			if !strings.Contains(a.Summary, w) {
				t.Errorf("alert on entry %d does not say %q: %s", a.LogIndexes[0], w, a.Summary)
			}
		}
		if len(a.People) != 1 || !strings.Contains(a.Summary, a.People[0]) || len(a.Officials) != 0 {
			t.Errorf("alert on entry %d: people %v, officials %v", a.LogIndexes[0], a.People, a.Officials)
		}
	}
	// The same log read again (healthcode oversight run on a copy, a
	// restarted node) raises nothing new.
	if as, err := tn.oversight.Pass(ctx); err != nil || len(as) != 0 {
		t.Fatalf("a second pass: %v %v", as, err)
	}
}
