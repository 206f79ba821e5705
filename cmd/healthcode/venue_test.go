package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// post sends a JSON body and decodes the answer; it returns the status.
func (tn *testNode) post(t *testing.T, path, token string, body, out any) int {
	t.Helper()
	return tn.do(t, "POST", path, token, body, out)
}

func TestVenueCodesProvePresence(t *testing.T) {
	tn := startNode(t, 1000)
	owner := tn.token(t, healthcode.Principal{ID: "venue-owner-1", Name: "二七广场便利店", Role: healthcode.RoleVenue})
	operator := tn.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	epi := tn.token(t, healthcode.Principal{ID: "epi-1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"})
	approver := tn.token(t, healthcode.Principal{ID: "appr-1", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	// One official id holds one role: the epidemiologist cannot be an
	// approver too; their own token is refused by role.
	if _, err := tn.engine.CreateToken(context.Background(), &healthcode.Principal{ID: "epi-1", Name: "流调员 李娜", Role: healthcode.RoleApprover, Unit: "市疾控中心"}); healthcode.ErrorDetail(err) != "official.exists" {
		t.Fatalf("the epidemiologist registered as an approver too: %v", err)
	}
	selfApprover := epi
	sameUnit := tn.token(t, healthcode.Principal{ID: "appr-2", Name: "审批人 孙丽", Role: healthcode.RoleApprover, Unit: "市疾控中心"})
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑州大学第一附属医院", Role: healthcode.RoleClinic, Unit: "发热门诊"})
	subjA, _, a := tn.citizen(t, 1)           // scans the live code on the poster
	subjB, _, b := tn.citizen(t, 2)           // scans a photo of it forwarded five minutes later
	_, _, c := tn.citizen(t, 3)               // scans the printed code
	_, patientID, patient := tn.citizen(t, 4) // a case, diagnosed later, who was there

	var v hchttp.VenueJSON
	if st := tn.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "二七广场便利店", Address: "二七区二七广场1号", Region: "410103", Category: "retail"}, &v); st != 201 {
		t.Fatalf("register venue: %d", st)
	}
	var codes hchttp.VenueCodeJSON
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != http.StatusConflict {
		t.Fatalf("code of a pending venue: %d, want 409", st)
	}
	if st := tn.post(t, "/api/v1/venues/"+v.ID+"/status", operator, map[string]string{"status": "active"}, nil); st != 200 {
		t.Fatalf("approve venue: %d", st)
	}
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != 200 || codes.Live == "" {
		t.Fatalf("venue code: %d %+v", st, codes)
	}
	scanAt := tn.clock.Now()
	var ci hchttp.CheckInJSON
	if st := tn.post(t, "/api/v1/checkins", a, map[string]string{"code": codes.Live}, &ci); st != 201 || !ci.Verified || ci.Colour != "green" {
		t.Fatalf("live scan: %d %+v", st, ci)
	}
	var p hchttp.Problem
	if st := tn.post(t, "/api/v1/checkins", a, map[string]string{"code": codes.Live}, &p); st != 409 || p.Reason != "checkin.replayed" {
		t.Fatalf("replayed scan: %d %+v", st, p)
	}
	tn.clock.Advance(5 * time.Minute)
	if st := tn.post(t, "/api/v1/checkins", b, map[string]string{"code": codes.Live}, &ci); st != 201 || ci.Verified || !strings.Contains(ci.Message, "unverified") {
		t.Fatalf("forwarded photo: %d %+v", st, ci)
	}
	if st := tn.post(t, "/api/v1/checkins", c, map[string]string{"code": codes.Static}, &ci); st != 201 || ci.Verified {
		t.Fatalf("printed code: %d %+v", st, ci)
	}
	var later hchttp.VenueCodeJSON
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &later); st != 200 {
		t.Fatalf("venue code: %d", st)
	}
	if st := tn.post(t, "/api/v1/checkins", patient, map[string]string{"code": later.Live}, &ci); st != 201 || !ci.Verified {
		t.Fatalf("the patient's live scan: %d %+v", st, ci)
	}
	forged := codes.Live[:len(codes.Live)-1] + map[bool]string{true: "a", false: "b"}[!strings.HasSuffix(codes.Live, "a")]
	for name, tc := range map[string]struct {
		code   string
		status int
		reason string
	}{
		"forged":      {forged, 400, "venue.bad_mac"},
		"future":      {strings.Replace(codes.Live, fmt.Sprintf(".%d.", healthcode.SlotOf(scanAt)), fmt.Sprintf(".%d.", healthcode.SlotOf(scanAt)+100), 1), 400, "venue.bad_mac"},
		"garbage":     {"HCV1:nonsense", 400, "venue.code_malformed"},
		"other venue": {"HCV1:vnone.1.aaaaaaaaaaaaaaaa", 404, "venue.unknown"},
	} {
		var p hchttp.Problem
		if st := tn.post(t, "/api/v1/checkins", a, map[string]string{"code": tc.code}, &p); st != tc.status || p.Reason != tc.reason {
			t.Errorf("%s code: %d %q, want %d %q", name, st, p.Reason, tc.status, tc.reason)
		}
	}

	// A confirmed case visited the venue.
	caseEv := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patientID, ExternalID: "DX-1",
		ObservedAt: tn.clock.Now().Add(-time.Minute), Diagnosis: "confirmed"})
	negEv := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: patientID, ExternalID: "T-1",
		ObservedAt: tn.clock.Now().Add(-2 * time.Minute), Result: "negative"})
	window := hchttp.DesignationJSON{Venue: v.ID, Level: "medium", Reason: "case_visited", Cases: []int64{caseEv.EvidenceID},
		From: scanAt.Add(-time.Hour), Until: tn.clock.Now(), Expires: tn.clock.Now().Add(7 * 24 * time.Hour)}
	bad := func(mod func(*hchttp.DesignationJSON)) hchttp.DesignationJSON { d := window; mod(&d); return d }
	for name, tc := range map[string]struct {
		d      hchttp.DesignationJSON
		reason string
	}{
		"no case":           {bad(func(d *hchttp.DesignationJSON) { d.Cases = nil }), "designation.no_case"},
		"a negative test":   {bad(func(d *hchttp.DesignationJSON) { d.Cases = []int64{negEv.EvidenceID} }), "designation.no_case"},
		"end before start":  {bad(func(d *hchttp.DesignationJSON) { d.Until = d.From.Add(-time.Minute) }), "designation.window"},
		"unknown area":      {bad(func(d *hchttp.DesignationJSON) { d.Venue, d.Area = "", "999999" }), "region.province"},
		"free-text reason":  {bad(func(d *hchttp.DesignationJSON) { d.Reason = "protest" }), "designation.reason"},
		"no expiry":         {bad(func(d *hchttp.DesignationJSON) { d.Expires = time.Time{} }), "designation.expiry"},
		"expiry too far":    {bad(func(d *hchttp.DesignationJSON) { d.Expires = d.Expires.Add(30 * 24 * time.Hour) }), "designation.expiry"},
		"window in future":  {bad(func(d *hchttp.DesignationJSON) { d.Until = tn.clock.Now().Add(time.Hour) }), "designation.window"},
		"unknown evidence":  {bad(func(d *hchttp.DesignationJSON) { d.Cases = []int64{999999} }), "designation.no_case"},
		"venue and an area": {bad(func(d *hchttp.DesignationJSON) { d.Area = "410103" }), "designation.target"},
	} {
		var p hchttp.Problem
		if st := tn.post(t, "/api/v1/designations", epi, tc.d, &p); st != 400 || p.Reason != tc.reason {
			t.Errorf("designation with %s: %d %q, want 400 %q", name, st, p.Reason, tc.reason)
		}
	}
	var d hchttp.DesignationJSON
	// A request an approver refuses: logged, and nothing changes.
	if st := tn.post(t, "/api/v1/designations", epi, window, &d); st != 201 || d.Status != "pending" {
		t.Fatalf("request designation: %d %+v", st, d)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/refuse", d.ID), approver, map[string]string{"reason": "the case was never at this venue"}, &d); st != 200 || d.Status != "refused" {
		t.Fatalf("refusal: %d %+v", st, d)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/approve", d.ID), approver, nil, &p); st != 409 {
		t.Fatalf("approving a refused designation: %d", st)
	}
	if st := tn.post(t, "/api/v1/designations", epi, window, &d); st != 201 || d.Status != "pending" {
		t.Fatalf("request designation: %d %+v", st, d)
	}
	if code := tn.myCode(t, a); code.Decision.Colour != "green" {
		t.Fatalf("a requested, unapproved designation changed a colour: %+v", code.Decision)
	}
	approve := fmt.Sprintf("/api/v1/designations/%d/approve", d.ID)
	if st := tn.post(t, approve, selfApprover, nil, &p); st != 403 || p.Reason != "auth.role" {
		t.Fatalf("approval by the requester: %d %+v", st, p)
	}
	if st := tn.post(t, approve, sameUnit, nil, &p); st != 403 || p.Reason != "designation.same_unit" {
		t.Fatalf("approval within the requester's unit: %d %+v", st, p)
	}
	if st := tn.post(t, approve, approver, nil, &d); st != 200 || d.Status != "approved" || d.LogIndex == nil {
		t.Fatalf("approval: %d %+v", st, d)
	}
	if st := tn.post(t, approve, approver, nil, &p); st != 409 {
		t.Fatalf("second approval: %d", st)
	}
	// Only the verified visitor turns yellow.
	codeA, codeB, codeC := tn.myCode(t, a), tn.myCode(t, b), tn.myCode(t, c)
	if codeA.Decision.Colour != "yellow" || codeA.Decision.Reason != "time_space_companion" {
		t.Errorf("verified visitor: %+v", codeA.Decision)
	}
	if codeB.Decision.Colour != "green" || codeC.Decision.Colour != "green" {
		t.Errorf("unverified visitors changed colour: %s %s", codeB.Decision.Colour, codeC.Decision.Colour)
	}

	// Tracing answers with pseudonyms and records who asked, for what.
	var tr struct {
		Presence []hchttp.TraceJSON `json:"presence"`
	}
	q := fmt.Sprintf("/api/v1/trace/venue?venue=%s&from=%s&to=%s&purpose=contact_tracing&case=%s", v.ID,
		scanAt.Add(-time.Hour).Format(time.RFC3339), tn.clock.Now().Add(time.Minute).Format(time.RFC3339), caseEv.Case)
	if st := tn.do(t, "GET", q, epi, nil, &tr); st != 200 || len(tr.Presence) != 4 {
		t.Fatalf("trace venue: %d %+v", st, tr)
	}
	if tr.Presence[0].Subject != subjA || !tr.Presence[0].Verified || tr.Presence[1].Subject != subjB || tr.Presence[1].Verified {
		t.Errorf("trace venue: %+v", tr.Presence)
	}
	if st := tn.do(t, "GET", strings.Replace(q, "&purpose=contact_tracing", "", 1), epi, nil, &p); st != 400 || p.Reason != "access.purpose" {
		t.Errorf("trace without a purpose: %d %+v", st, p)
	}
	// Who A is, for the case they shared the venue with: asked, approved
	// by an approver of another unit, then answered.
	var um hchttp.UnmaskJSON
	if st := tn.post(t, "/api/v1/trace/unmask", epi, map[string]string{"subject": subjA, "purpose": "contact_tracing", "case": caseEv.Case}, &um); st != 202 || um.Status != "pending" {
		t.Fatalf("unmask request: %d %+v", st, um)
	}
	var who map[string]string
	if st := tn.do(t, "GET", fmt.Sprintf("/api/v1/unmask/%d", um.ID), epi, nil, &p); st != 409 || p.Reason != "unmask.pending" {
		t.Fatalf("unmask before approval: %d %+v", st, p)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/unmask/%d/approve", um.ID), approver, nil, &um); st != 200 || um.Status != "approved" {
		t.Fatalf("unmask approval: %d %+v", st, um)
	}
	if st := tn.do(t, "GET", fmt.Sprintf("/api/v1/unmask/%d", um.ID), epi, nil, &who); st != 200 || who["name"] != tn.city.Person(1).Name {
		t.Fatalf("unmask: %d %v", st, who)
	}
	var access struct {
		Access []hchttp.AccessJSON `json:"access"`
	}
	if st := tn.do(t, "GET", "/api/v1/me/access", a, nil, &access); st != 200 || len(access.Access) == 0 || access.Access[0].Who != "流调员 李娜" {
		t.Errorf("the citizen does not see who looked: %d %+v", st, access)
	}
}

// TestMain lets a test run the command in a child process: the crash test
// kills it with SIGKILL; the README test pastes commands that run it.
func TestMain(m *testing.M) {
	if args := os.Getenv("HEALTHCODE_TEST_CHILD_ARGS"); args != "" {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		os.Exit(Run(ctx, strings.Fields(args), os.Stdout, os.Stderr))
	}
	// As the command itself, with its arguments as given (the README test's
	// ./healthcode).
	if os.Getenv("HEALTHCODE_TEST_AS_CLI") != "" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCheckInsSurviveSIGKILL kills the server during a burst of check-ins:
// every check-in that was acknowledged is in the database after restart.
func TestCheckInsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	ctx := context.Background()
	tn := startNode(t, 1000)
	v, err := tn.engine.RegisterVenue(ctx, &healthcode.Principal{ID: "owner", Name: "地铁站", Role: healthcode.RoleVenue},
		healthcode.Venue{Name: "地铁1号线紫荆山站", Address: "金水区", Region: "410105", Category: "transport"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, &healthcode.Principal{Name: "op", Role: healthcode.RoleOperator}, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for i := 0; i < 300; i++ {
		_, _, tok := tn.citizen(t, 100+i)
		tokens = append(tokens, tok)
	}
	tn.server.Close(ctx)
	tn.close()

	addr := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HEALTHCODE_TEST_CHILD_ARGS=serve --data "+tn.dir+" --addr "+addr+" --log-format json"+
		// A burst of writes at the kill: no repeat window, no per-person rate.
		" --checkin-repeat 0 --checkin-rate 3600 --checkin-burst 1000")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			t.Fatalf("the server did not start:\n%s", logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	var mu sync.Mutex
	acked := map[int64]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := w; ; i += 8 {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"code":%q}`, v.StaticCode()) // printed codes: any number per person without a repeat window
				req, _ := http.NewRequest("POST", base+"/api/v1/checkins", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // the server died mid-request: not acknowledged
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					var ci hchttp.CheckInJSON
					if json.Unmarshal(b, &ci) == nil {
						mu.Lock()
						acked[ci.ID] = true
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d check-ins acknowledged before the kill: the burst did not happen\n%.3000s", len(acked), logs.String())
	}
	n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	var stored []healthcode.CheckIn
	err = n.db.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		stored, err = tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: v.ID, From: time.Unix(0, 0), To: time.Now().Add(time.Hour)}, healthcode.CheckInCursor{}, 1_000_000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, c := range stored {
		have[c.ID] = true
	}
	lost := 0
	for id := range acked {
		if !have[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged check-ins lost after SIGKILL", lost, len(acked))
	}
	t.Logf("%d check-ins acknowledged, %d stored, none lost", len(acked), len(stored))
}
