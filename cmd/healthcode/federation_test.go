package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
	"healthcode/federation"
	hchttp "healthcode/http"
	"healthcode/qr"
	"healthcode/sim"
	"healthcode/tlog"

	"golang.org/x/mod/sumdb/note"
)

// nationalPublisher is the national authority of a test: its key, and the
// trust list it publishes over HTTP.
type nationalPublisher struct {
	signer  note.Signer
	keyFile string // the public key, as nodes and verifiers are given it
	srv     *httptest.Server
	mu      sync.Mutex
	list    []byte
	serial  int64
}

func newNationalPublisher(t *testing.T) *nationalPublisher {
	t.Helper()
	skey, vkey, err := tlog.GenerateKey(rand.Reader, "national.healthcode.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlog.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	p := &nationalPublisher{signer: s, keyFile: filepath.Join(t.TempDir(), "national.pub")}
	if err := os.WriteFile(p.keyFile, []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.list == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(p.list)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// publish signs and serves the next list of the regions.
func (p *nationalPublisher) publish(t *testing.T, now time.Time, regions ...federation.Region) []byte {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serial++
	msg, err := federation.SignTrustList(&federation.TrustList{Serial: p.serial, Issued: now, Expires: now.Add(7 * 24 * time.Hour),
		Regions: regions}, p.signer)
	if err != nil {
		t.Fatal(err)
	}
	p.list = msg
	return msg
}

// serveAgain makes the publisher serve an older list (a rollback).
func (p *nationalPublisher) serveAgain(list []byte) {
	p.mu.Lock()
	p.list = list
	p.mu.Unlock()
}

// startRegionNode is startNode for a region of the federation: it serves
// its peers on a 127.0.0.1 port, with the trust list of pub.
func startRegionNode(t *testing.T, region string, people int, pub *nationalPublisher, tweak func(*Config)) *testNode {
	t.Helper()
	return startRegionNodeCity(t, region, people, pub, tweak, true)
}

// startRegionNodeCity is startRegionNode that registers the city's people
// only if register is set (populate registers them itself).
func startRegionNodeCity(t *testing.T, region string, people int, pub *nationalPublisher, tweak func(*Config), register bool) *testNode {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr, cfg.Region = dir, "127.0.0.1:0", region
	cfg.FederationAddr, cfg.TrustListURL, cfg.NationalKey = "127.0.0.1:0", pub.srv.URL, pub.keyFile
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	clock := healthcode.NewManualClock(t0)
	n, err := openNode(ctx, cfg, clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	n.engine.TokenTTL = farTokens()
	if err := n.publishBaselineIfNone(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := sim.New(sim.Config{Seed: 7, People: people, Region: region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	if register {
		var pds []healthcode.PersonalData
		for c := range city.People() {
			pds = append(pds, c.PersonalData())
		}
		if err := n.engine.RegisterPeople(ctx, pds); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.server.Open(cfg.Addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close(context.Background()) })
	if err := n.listenFederation(); err != nil {
		t.Fatal(err)
	}
	go n.fed.server.Serve(n.fed.ln)
	t.Cleanup(func() { n.fed.server.Shutdown(context.Background()) })
	return &testNode{node: n, clock: clock, city: city, url: n.server.URL(), dir: dir}
}

// entry is the node's trust-list entry, its QR key valid from an hour
// before t0.
func (tn *testNode) entry(t *testing.T, name string) federation.Region {
	t.Helper()
	r, err := tn.regionEntry(name, tn.federationEndpoint(), t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fetch has the node fetch the trust list and wants it to change.
func (tn *testNode) fetch(t *testing.T) {
	t.Helper()
	if ok, err := tn.fed.cache.Fetch(context.Background()); err != nil || !ok {
		t.Fatalf("region %s fetching the trust list: %v %v", tn.cfg.Region, ok, err)
	}
}

// qrOf returns a fresh QR of the citizen's.
func (tn *testNode) qrOf(t *testing.T, token string) string {
	t.Helper()
	c := tn.myCode(t, token)
	if !strings.HasPrefix(c.QR, qr.Prefix) {
		t.Fatalf("no QR in %+v", c)
	}
	return c.QR
}

// federationEntries returns the node's log entries of type federation,
// opened, in order.
func (tn *testNode) federationEntries(t *testing.T) []*healthcode.LogEntry {
	t.Helper()
	ctx := context.Background()
	var out []*healthcode.LogEntry
	err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		for i := int64(0); i < size; i++ {
			b, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			if l.Entry.Type != healthcode.LogFederation {
				continue
			}
			s, o, err := tx.LogOpening(ctx, i)
			if err != nil {
				return err
			}
			e, err := l.Open(s, o)
			if err != nil {
				return err
			}
			e.Index = i
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// colourCounts returns how many people hold each colour in the node.
func (tn *testNode) colourCounts(t *testing.T) map[healthcode.Colour]int64 {
	t.Helper()
	var m map[healthcode.Colour]int64
	tn.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		m, err = tx.ColourCounts(context.Background())
		return err
	})
	return m
}

// TestFederationThreeRegions is the acceptance of issue 13: three regions'
// nodes on 127.0.0.1 ports, bound by a national trust list. A code of A
// verifies in B and C offline, naming A; A's epidemiological red is
// honoured by B with its reason; A's red from an override B does not
// accept is refused and alerted (an oversight alert on B's API and
// dashboard naming A, the traveller, the reason and A's officials); every query is in both logs; a revoked
// single code is refused while the key's other codes verify; a revoked key
// stops verifying at each node's next fetch; an older list is refused.
func TestFederationThreeRegions(t *testing.T) {
	ctx := context.Background()
	pub := newNationalPublisher(t)
	a := startRegionNode(t, "410100", 1000, pub, nil) // 郑州
	b := startRegionNode(t, "370100", 1000, pub, nil) // 济南
	c := startRegionNode(t, "130100", 1000, pub, nil) // 石家庄
	ea, eb, ec := a.entry(t, "郑州市"), b.entry(t, "济南市"), c.entry(t, "石家庄市")
	list1 := pub.publish(t, t0, ea, eb, ec)
	for _, n := range []*testNode{a, b, c} {
		n.fetch(t)
	}

	// In A: a confirmed case (red, confirmed_case), someone red by an
	// override (epidemiologist_judgement), someone green.
	clinic := a.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic})
	caseSubj, caseID, caseTok := a.citizen(t, 1)
	dx := a.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: caseID, ExternalID: "DX-1", ObservedAt: t0.Add(-time.Hour), Diagnosis: "confirmed"})
	ovSubj, _, ovTok := a.citizen(t, 2)
	a.sharePresence(t, caseSubj, ovSubj)
	operator := a.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	approver := a.token(t, healthcode.Principal{ID: "appr-1", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	var o hchttp.OverrideJSON
	if st := a.post(t, "/api/v1/overrides", operator, hchttp.OverrideJSON{Subjects: []string{ovSubj}, Colour: "red", Reason: "epidemiologist_judgement",
		Basis: []int64{dx.EvidenceID}, Case: dx.Case, Expires: t0.Add(3 * 24 * time.Hour)}, &o); st != 202 {
		t.Fatalf("override request: %d %+v", st, o)
	}
	if st := a.post(t, fmt.Sprintf("/api/v1/overrides/%d/approve", o.ID), approver, nil, &o); st != 200 || o.Status != "active" {
		t.Fatalf("override approval: %d %+v", st, o)
	}
	_, _, greenTok := a.citizen(t, 3)
	if col := a.myCode(t, caseTok).Decision; col.Colour != "red" || col.Reason != "confirmed_case" {
		t.Fatalf("the case in A: %+v", col)
	}
	if col := a.myCode(t, ovTok).Decision; col.Colour != "red" || col.Reason != "override.epidemiologist_judgement" {
		t.Fatalf("the override in A: %+v", col)
	}
	caseQR, ovQR, greenQR := a.qrOf(t, caseTok), a.qrOf(t, ovTok), a.qrOf(t, greenTok)

	// A's code verifies in B and C offline, naming A: through the node's
	// trust file (the checkpoint page's) and the national list itself.
	for _, n := range []*testNode{b, c} {
		hc, err := n.codes.VerifyCode(caseQR, t0)
		if err != nil || hc.Region != "410100" || hc.Colour != healthcode.Red {
			t.Fatalf("region %s verifying A's code: %+v %v", n.cfg.Region, hc, err)
		}
		code, out := verifyText(t, filepath.Join(n.dir, "trust.json"), "", caseQR)
		if code != 0 || !strings.Contains(out, "region   410100") {
			t.Fatalf("healthcode verify with %s's trust.json: %d\n%s", n.cfg.Region, code, out)
		}
	}
	listFile := filepath.Join(t.TempDir(), "trust-list")
	os.WriteFile(listFile, list1, 0o644)
	if code, out := verifyText(t, listFile, pub.keyFile, caseQR); code != 0 || !strings.Contains(out, "410100 郑州市 (issuing region, trust list 1)") {
		t.Fatalf("healthcode verify with the national list: %d\n%s", code, out)
	}

	bColours := b.colourCounts(t)
	aLog, bLog := len(a.federationEntries(t)), len(b.federationEntries(t))

	// A's epidemiological red is honoured by B, with its reason.
	st, err := b.fed.client.Status(ctx, caseQR)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Honoured() || st.Colour != healthcode.Red || st.Reason != "confirmed_case" || st.Issuer.Code != "410100" || st.LogIndex < 0 {
		t.Fatalf("B's status of A's case: %+v", st)
	}
	// Both logs hold the query: A's answer names B, B's names A.
	wantLogged := func(n *testNode, before int, peer, outcome string, subject string) {
		t.Helper()
		es := n.federationEntries(t)
		if len(es) != before+1 {
			t.Fatalf("region %s logged %d federation entries, want %d", n.cfg.Region, len(es)-before, 1)
		}
		e := es[len(es)-1]
		if e.RuleID != "peer/"+peer || e.Ref != outcome || e.Subject != subject {
			t.Fatalf("region %s's entry: %+v, want peer/%s %s about %s", n.cfg.Region, e, peer, outcome, subject)
		}
	}
	wantLogged(a, aLog, "370100", healthcode.PeerAnswered, caseSubj)
	wantLogged(b, bLog, "410100", healthcode.PeerHonoured, caseSubj)

	// An honoured colour raises no alert.
	auditor := b.token(t, healthcode.Principal{ID: "aud-1", Name: "审计员 李华", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})
	if _, err := b.oversight.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if as := b.peerAlerts(t, auditor); len(as) != 0 {
		t.Fatalf("an honoured colour raised alerts: %+v", as)
	}

	// C honours it too.
	if st, err := c.fed.client.Status(ctx, caseQR); err != nil || !st.Honoured() {
		t.Fatalf("C's status of A's case: %+v %v", st, err)
	}

	// A's red from an override B does not accept is not propagated, and
	// B alerts (the refused entry in its log, the metric).
	aLog, bLog = len(a.federationEntries(t)), len(b.federationEntries(t))
	st, err = b.fed.client.Status(ctx, ovQR)
	if err != nil {
		t.Fatal(err)
	}
	if st.Honoured() || st.Outcome != healthcode.PeerRefusedReason || st.Reason != "override.epidemiologist_judgement" {
		t.Fatalf("B's status of A's override: %+v", st)
	}
	wantLogged(a, aLog, "370100", healthcode.PeerAnswered, ovSubj)
	wantLogged(b, bLog, "410100", healthcode.PeerRefusedReason, ovSubj)
	if b.fed.client.Refused.Load() != 1 || !strings.Contains(metricsOf(t, b), `healthcode_federation_status_queries_total{outcome="refused"} 1`) {
		t.Fatalf("the refusal is not counted: %s", metricsOf(t, b))
	}
	// B's oversight has the alert by the time the answer is back: the
	// region, the traveller as B knows them, the reason and its class, and
	// the officials A's log entry names. Asking again raises no second one.
	es := b.federationEntries(t)
	refusedAt := es[len(es)-1].Index
	wantPeerRefusedAlert(t, b, auditor, ovSubj, refusedAt, "region 410100", `"override.epidemiologist_judgement"`, "an override",
		"操作员 赵敏", "审批人 王强", "市大数据局", "市卫健委", fmt.Sprintf("log entry %d", st.LogIndex))
	if _, err := b.fed.client.Status(ctx, ovQR); err != nil {
		t.Fatal(err)
	}
	if as := b.peerAlerts(t, auditor); len(as) != 1 {
		t.Fatalf("asking again about the same decision: %d alerts, want 1", len(as))
	}
	// Green restricts nothing.
	if st, err := b.fed.client.Status(ctx, greenQR); err != nil || st.Outcome != healthcode.PeerGreen {
		t.Fatalf("B's status of a green traveller: %+v %v", st, err)
	}
	// B's checkpoint asks through its node's API: the colour and whether it
	// is honoured, never the reason.
	verifier := b.token(t, healthcode.Principal{ID: "chk-1", Name: "济南站检查点", Role: healthcode.RoleVerifier})
	for _, tc := range []struct {
		code     string
		honoured bool
		outcome  string
	}{{caseQR, true, healthcode.PeerHonoured}, {ovQR, false, healthcode.PeerRefusedReason}} {
		var ps hchttp.PeerStatusJSON
		raw := map[string]any{}
		if st := b.post(t, "/api/v1/peer-status", verifier, map[string]string{"code": tc.code}, &raw); st != 200 {
			t.Fatalf("peer-status: %d %v", st, raw)
		}
		b.post(t, "/api/v1/peer-status", verifier, map[string]string{"code": tc.code}, &ps)
		if ps.Region != "410100" || ps.RegionName != "郑州市" || ps.Colour != "red" || ps.Honoured != tc.honoured || ps.Outcome != tc.outcome {
			t.Fatalf("peer-status: %+v", ps)
		}
		if b, _ := json.Marshal(raw); strings.Contains(string(b), "confirmed_case") || strings.Contains(string(b), "epidemiologist") || raw["reason"] != nil {
			t.Fatalf("the checkpoint learns the reason: %s", b)
		}
	}
	var p hchttp.Problem
	_, _, bTok := b.citizen(t, 1)
	if st := b.post(t, "/api/v1/peer-status", verifier, map[string]string{"code": b.qrOf(t, bTok)}, &p); st != 400 || p.Reason != federation.ReasonOwnRegion {
		t.Fatalf("peer-status of B's own code: %d %+v", st, p)
	}
	if st := b.post(t, "/api/v1/peer-status", verifier, map[string]string{"code": "HCN1:nonsense"}, &p); st != 400 || p.Reason != qr.ReasonMalformed {
		t.Fatalf("peer-status of nonsense: %d %+v", st, p)
	}
	if got := b.colourCounts(t); fmt.Sprint(got) != fmt.Sprint(bColours) {
		t.Fatalf("B's own people's colours changed: %v, were %v", got, bColours)
	}

	// A single code revoked: refused in B after its next fetch, while the
	// key's other codes still verify.
	_, _, green2Tok := a.citizen(t, 4)
	greenQR2 := a.qrOf(t, green2Tok)
	_, h, err := qr.CodeHash(greenQR)
	if err != nil {
		t.Fatal(err)
	}
	ea.Keys[0].RevokedCodes = []string{base64.StdEncoding.EncodeToString(h)}
	pub.publish(t, t0, ea, eb, ec)
	if _, err := b.codes.VerifyCode(greenQR, t0); err != nil {
		t.Fatalf("revoked before B's next fetch: %v", err)
	}
	b.fetch(t)
	if _, err := b.codes.VerifyCode(greenQR, t0); qr.Reason(err) != qr.ReasonCodeRevoked {
		t.Fatalf("the revoked code in B: %v", err)
	}
	if _, err := b.fed.client.Status(ctx, greenQR); qr.Reason(err) != qr.ReasonCodeRevoked {
		t.Fatalf("status of a revoked code: %v", err)
	}
	for _, q := range []string{greenQR2, caseQR} {
		if _, err := b.codes.VerifyCode(q, t0); err != nil {
			t.Fatalf("another code of the key in B: %v", err)
		}
	}

	// A's key revoked (the kill switch): B refuses A's codes from its next
	// fetch; C, which has not fetched yet, still verifies, until it does.
	revoked := t0
	ea.Keys[0].Revoked = &revoked
	pub.publish(t, t0, ea, eb, ec)
	b.fetch(t)
	if _, err := b.codes.VerifyCode(caseQR, t0); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("A's revoked key in B: %v", err)
	}
	if code, out := verifyText(t, filepath.Join(b.dir, "trust.json"), "", caseQR); code != verifyExit["qr.key_revoked"] {
		t.Fatalf("healthcode verify with B's trust.json after the revocation: %d\n%s", code, out)
	}
	if _, err := b.fed.client.Status(ctx, caseQR); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("B asks A about a code of the revoked key: %v", err)
	}
	if _, err := c.codes.VerifyCode(caseQR, t0); err != nil {
		t.Fatalf("C before its next fetch: %v", err)
	}
	c.fetch(t)
	if _, err := c.codes.VerifyCode(caseQR, t0); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("A's revoked key in C: %v", err)
	}
	// A itself stops trusting its revoked key too.
	a.fetch(t)
	if _, err := a.codes.VerifyCode(caseQR, t0); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("A's revoked key in A: %v", err)
	}

	// Bad input: the first list again (a rollback that would undo the
	// revocation) is refused and changes nothing.
	pub.serveAgain(list1)
	if _, err := b.fed.cache.Fetch(ctx); healthcode.ErrorDetail(err) != federation.ReasonTrustRollback {
		t.Fatalf("rollback: %v", err)
	}
	if _, err := b.codes.VerifyCode(caseQR, t0); qr.Reason(err) != qr.ReasonKeyRevoked {
		t.Fatalf("after the refused rollback: %v", err)
	}
	// A list with a bad signature: a clear error, nothing changes.
	bad := bytes.Replace(list1, []byte("济南市"), []byte("济南县"), 1)
	pub.serveAgain(bad)
	if _, err := b.fed.cache.Fetch(ctx); healthcode.ErrorDetail(err) != federation.ReasonTrustSignature {
		t.Fatalf("bad signature: %v", err)
	}
	os.WriteFile(listFile, bad, 0o644)
	if code, out := verifyText(t, listFile, pub.keyFile, caseQR); code != exitError || !strings.Contains(out, "not signed by the national key") {
		t.Fatalf("healthcode verify with a forged list: %d\n%s", code, out)
	}

	// C's list expires with no newer one: C stops trusting other regions
	// (its trust file lists its own keys only), since revocations may be
	// missing.
	cQR := c.qrOf(t, func() string { _, _, tok := c.citizen(t, 1); return tok }())
	bQR := b.qrOf(t, func() string { _, _, tok := b.citizen(t, 1); return tok }())
	if _, err := c.codes.VerifyCode(bQR, t0); err != nil {
		t.Fatalf("B's code in C: %v", err)
	}
	c.clock.Advance(8 * 24 * time.Hour)
	if !c.fed.cache.CheckExpiry() {
		t.Fatal("C's list did not expire")
	}
	if _, err := c.codes.VerifyCode(bQR, t0); qr.Reason(err) != qr.ReasonUnknownKey {
		t.Fatalf("B's code in C after C's list expired: %v", err)
	}
	if _, err := c.codes.VerifyCode(cQR, t0); err != nil {
		t.Fatalf("C's own code after its list expired: %v", err)
	}
	tb, _ := os.ReadFile(filepath.Join(c.dir, "trust.json"))
	if tr, err := qr.ParseTrust(tb); err != nil || fmt.Sprint(tr.Regions()) != "[130100]" {
		t.Fatalf("C's trust.json after expiry: %v %s", err, tb)
	}
}

// verifyText runs healthcode verify on a code's text.
func verifyText(t *testing.T, trust, national, text string) (int, string) {
	t.Helper()
	args := []string{"verify", "--trust", trust, "--at", t0.Format(time.RFC3339)}
	if national != "" {
		args = append(args, "--national-key", national)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), append(args, text), &out, &errb)
	return code, out.String() + errb.String()
}

// metricsOf returns the node's /metrics page.
func metricsOf(t *testing.T, tn *testNode) string {
	t.Helper()
	resp, err := http.Get(tn.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFederationCLI: the national authority's commands. A node's entry,
// a list signed with a new national key, verified by healthcode verify
// naming the region; then a code revoked, then the key, each list carrying
// the previous one's revocations.
func TestFederationCLI(t *testing.T) {
	tn := startNode(t, 1000)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	key := filepath.Join(dir, "national.key")
	if code, out := run("federation", "keygen", "--name", "trust.healthcode.example", "--key", key); code != 0 || !strings.Contains(out, "public key: trust.healthcode.example+") {
		t.Fatalf("keygen: %d %s", code, out)
	}
	if code, out := run("federation", "keygen", "--name", "trust.healthcode.example", "--key", key); code == 0 {
		t.Fatalf("keygen overwrote a key: %s", out)
	}
	code, entry := run("federation", "entry", "--data", tn.dir, "--endpoint", "https://127.0.0.1:8443", "--name", "郑州市",
		"--since", t0.Add(-time.Hour).Format(time.RFC3339))
	if code != 0 || !strings.Contains(entry, `"code": "410100"`) {
		t.Fatalf("entry: %d %s", code, entry)
	}
	entryFile := filepath.Join(dir, "410100.json")
	os.WriteFile(entryFile, []byte(entry), 0o644)
	list1, list2, list3 := filepath.Join(dir, "list1"), filepath.Join(dir, "list2"), filepath.Join(dir, "list3")
	if code, out := run("federation", "sign", "--key", key, "--out", list1, entryFile); code != 0 {
		t.Fatalf("sign: %d %s", code, out)
	}
	_, _, cit := tn.citizen(t, 1)
	_, _, cit2 := tn.citizen(t, 2)
	qr1, qr2 := tn.qrOf(t, cit), tn.qrOf(t, cit2)
	if code, out := verifyText(t, list1, key+".pub", qr1); code != 0 || !strings.Contains(out, "410100 郑州市 (issuing region, trust list 1)") {
		t.Fatalf("verify with list 1: %d %s", code, out)
	}
	if code, out := verifyText(t, list1, "", qr1); code != exitUsage || !strings.Contains(out, "--national-key") {
		t.Fatalf("a signed list without --national-key: %d %s", code, out)
	}
	if code, out := run("federation", "sign", "--key", key, "--previous", list1, "--revoke-code", qr1, "--out", list2, entryFile); code != 0 {
		t.Fatalf("sign 2: %d %s", code, out)
	}
	if code, out := verifyText(t, list2, key+".pub", qr1); code != verifyExit["qr.code_revoked"] {
		t.Fatalf("the revoked code: %d %s", code, out)
	}
	if code, out := verifyText(t, list2, key+".pub", qr2); code != 0 || !strings.Contains(out, "trust list 2") {
		t.Fatalf("another code of the key: %d %s", code, out)
	}
	kid, _, _ := qr.CodeHash(qr2)
	if code, out := run("federation", "sign", "--key", key, "--previous", list2, "--revoke-key", base64.StdEncoding.EncodeToString(kid), "--out", list3, entryFile); code != 0 {
		t.Fatalf("sign 3: %d %s", code, out)
	}
	if code, out := verifyText(t, list3, key+".pub", qr2); code != verifyExit["qr.key_revoked"] {
		t.Fatalf("a code of the revoked key: %d %s", code, out)
	}
	b, _ := os.ReadFile(list3)
	_, h, _ := qr.CodeHash(qr1)
	if !strings.Contains(string(b), base64.StdEncoding.EncodeToString(h)) || !strings.Contains(string(b), `"serial": 3`) {
		t.Fatalf("list 3 does not carry list 2's revoked code:\n%s", b)
	}
	if code, out := run("federation", "sign", "--key", key, "--revoke-key", "AAAAAAAAAAA=", entryFile); code == 0 || !strings.Contains(out, "no entry lists that key") {
		t.Fatalf("revoking an unknown key: %d %s", code, out)
	}
}
