package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
)

// scrapeMetrics reads the node's /metrics (as a scraper on its machine) into
// series → value ("name{labels}" as exposed).
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// TestMetricsPresentAndMoving: every figure the node's operators watch is on
// /metrics and moves with what it counts: the check-in queue, the log and
// its checkpoint, the witnesses, the self-audit, decisions and evidence by
// kind, verifications by outcome, the process; and no count of people by
// colour is there.
func TestMetricsPresentAndMoving(t *testing.T) {
	tn := startNode(t, 2200)
	ctx := context.Background()
	dir := t.TempDir()
	wkey := filepath.Join(dir, "court.key")
	if code, out, errs := witnessCmd(t, "--generate-key", "witness.court.example", "--key", wkey); code != 0 {
		t.Fatalf("generate-key: %d\n%s%s", code, out, errs)
	}
	w := startWitness(t, "--key", wkey, "--log-key", filepath.Join(tn.dir, "log-signing.pub"), "--state", filepath.Join(dir, "state.json"))
	if err := tn.setWitnesses(witnessList{w.url + "=" + wkey + ".pub"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tn.cosign(ctx); err != nil {
		t.Fatal(err)
	}
	before := scrapeMetrics(t, tn.url)

	// Work of every kind: a diagnosis (evidence, a decision by the rules),
	// an approved override, codes verified, check-ins queued behind a busy
	// writer, a checkpoint cosigned, a self-audit.
	lab := tn.token(t, healthcode.Principal{ID: "lab-m", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	_, id, cit := tn.citizen(t, 3)
	tn.submit(t, lab, evidence("nucleic_acid_test", id, "L-m1", "positive"))
	code := tn.myCode(t, cit)
	var ok, bad struct{}
	if st := tn.do(t, "POST", "/api/v1/verify", "", map[string]string{"code": code.QR}, &ok); st != http.StatusOK {
		t.Fatalf("verify a valid code: %d", st)
	}
	if st := tn.do(t, "POST", "/api/v1/verify", "", map[string]string{"code": "HCN1:garbage"}, &bad); st == http.StatusOK {
		t.Fatalf("verify garbage: %d", st)
	}
	tn.openCase(t, tn.city.Person(5).IDNumber, "DX-metrics")
	// An operator's correction toward green takes effect alone: an
	// override decision.
	op := &healthcode.Principal{ID: "op-m", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	if _, err := tn.engine.CreateToken(ctx, op); err != nil {
		t.Fatal(err)
	}
	s3 := tn.engine.Keys.Pseudonymize(tn.cfg.Region, id)
	if _, err := tn.engine.RequestOverride(ctx, op, healthcode.Override{Subjects: []string{s3}, Colour: healthcode.Green,
		Reason: "data_entry_correction", Expires: tn.clock.Now().Add(7 * healthcode.Day)}); err != nil {
		t.Fatal(err)
	}

	// Check-ins wait in the queue while another transaction holds the
	// writer: the queue's depth is seen above zero. (The writer takes up to
	// 2,000 into the batch it is blocked on; the rest wait in the queue.)
	v, err := tn.engine.RegisterVenue(ctx, &healthcode.Principal{ID: "owner-m", Name: "面馆", Role: healthcode.RoleVenue},
		healthcode.Venue{Name: "面馆", Address: "金水路1号", Region: "410105", Category: "restaurant"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, op, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	hold, release := make(chan struct{}), make(chan struct{})
	go tn.db.Update(ctx, func(healthcode.Tx) error { close(hold); <-release; return nil })
	<-hold
	var wg sync.WaitGroup
	for i := range 2100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := tn.engine.Keys.Pseudonymize(tn.cfg.Region, tn.city.Person(50+i).IDNumber)
			if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s}, v.LiveCode(tn.clock.Now())); err != nil {
				t.Errorf("check-in: %v", err)
			}
		}()
	}
	var queued float64
	for deadline := time.Now().Add(30 * time.Second); queued < 1 && time.Now().Before(deadline); {
		queued = scrapeMetrics(t, tn.url)["healthcode_checkin_queue_depth"]
	}
	close(release)
	wg.Wait()
	if queued < 1 {
		t.Error("healthcode_checkin_queue_depth stayed 0 while check-ins waited for the writer")
	}

	tn.clock.Advance(time.Minute)
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tn.cosign(ctx); err != nil {
		t.Fatal(err)
	}
	tn.clock.Advance(time.Minute)
	tn.audit(ctx)
	after := scrapeMetrics(t, tn.url)

	witness := `{witness="` + w.url + `"}`
	for _, name := range []string{
		"healthcode_log_size",
		"healthcode_checkpoint_size",
		"healthcode_checkpoint_timestamp_seconds",
		"healthcode_checkpoint_age_seconds",
		"healthcode_witness_cosigned_size" + witness,
		`healthcode_witness_cosign_total{result="cosigned",witness="` + w.url + `"}`,
		`healthcode_audits_total{result="ok"}`,
		"healthcode_audit_last_leaves",
		"healthcode_audit_last_timestamp_seconds",
		`healthcode_decisions_total{kind="rules"}`,
		`healthcode_decisions_total{kind="override"}`,
		`healthcode_evidence_total{kind="nucleic_acid_test"}`,
		`healthcode_evidence_total{kind="diagnosis"}`,
		`healthcode_log_entries_total{type="evidence"}`,
		`healthcode_log_entries_total{type="override"}`,
		`healthcode_verify_total{outcome="valid"}`,
		"process_cpu_seconds_total",
	} {
		a, ok := after[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
			continue
		}
		if a == before[name] {
			t.Errorf("%s did not move: %v before and after", name, a)
		}
	}
	for _, name := range []string{"healthcode_integrity_problem", "healthcode_audit_last_seconds", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"} {
		if _, ok := after[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	refused := false
	for s := range after {
		if strings.HasPrefix(s, "healthcode_verify_total{") && !strings.Contains(s, `"valid"`) {
			refused = true
		}
		if strings.Contains(s, "colour") {
			t.Errorf("/metrics shows %s: no count of people by colour is public", s)
		}
	}
	if !refused {
		t.Error("healthcode_verify_total counts no code refused")
	}
}
