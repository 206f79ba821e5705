package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// loggedNode is a node with a few decisions and a published checkpoint.
func loggedNode(t *testing.T) (tn *testNode, citizen string, decision hchttp.DecisionJSON) {
	t.Helper()
	tn = startNode(t, 1000)
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	for i := 0; i < 5; i++ {
		_, id, _ := tn.citizen(t, 10+i)
		tn.submit(t, lab, evidence("nucleic_acid_test", id, "L-"+string(rune('a'+i)), "positive"))
	}
	_, id, cit := tn.citizen(t, 3)
	tn.submit(t, lab, evidence("nucleic_acid_test", id, "L-cit", "positive"))
	if _, err := tn.log.Publish(context.Background(), tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return tn, cit, tn.myCode(t, cit).Decision
}

func (tn *testNode) healthz(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.Get(tn.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLogVerifyFindsAnEditedDecisionRow(t *testing.T) {
	tn, _, d := loggedNode(t)
	key := filepath.Join(tn.dir, "log-signing.pub")
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", filepath.Join(tn.dir, "checkpoint"), tn.cfg.DB); code != 0 {
		t.Fatalf("log verify of an untouched database: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, tn.url); code != 0 {
		t.Fatalf("log verify over HTTP: %d\n%s%s", code, out, errs)
	}
	// An official with database access turns a red code green, bypassing
	// the rules and the log.
	var rowID int64
	err := tn.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		rows, err := tx.DecisionRows(context.Background(), 0, 100)
		for _, r := range rows {
			if r.LogIndex == d.LogIndex {
				rowID = r.ID
			}
		}
		return err
	})
	if err != nil || rowID == 0 {
		t.Fatalf("decision row of log entry %d not found: %v", d.LogIndex, err)
	}
	if err := tn.db.Exec(context.Background(), `UPDATE decisions SET colour = 1, reason = 'none' WHERE id = ?`, rowID); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "log", "verify", "--key", key, tn.cfg.DB)
	want := "decision row " + itoa(rowID)
	if code != exitError || !strings.Contains(errs, want) || !strings.Contains(errs, "colour") {
		t.Fatalf("log verify after the edit: exit %d, want 1 naming %q:\n%s", code, want, errs)
	}
	if err := tn.log.Check(context.Background()); err != nil {
		t.Fatalf("the start-up check (tree against checkpoint) should not see a row edit: %v", err)
	}
	if err := tn.log.Audit(context.Background()); err == nil {
		t.Fatal("the node's own audit did not notice the edit")
	}
	status, body := tn.healthz(t)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, want) {
		t.Fatalf("/healthz = %d %s, want 503 naming %q", status, body, want)
	}
	if _, err := tn.log.Publish(context.Background(), tn.clock.Now()); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Fatalf("Publish after tampering = %v, want a refusal", err)
	}
}

func TestLogVerifyFindsAnEditedCurrentColour(t *testing.T) {
	tn, _, _ := loggedNode(t)
	key := filepath.Join(tn.dir, "log-signing.pub")
	// The table the metrics and the codes read: turn every red green.
	if err := tn.db.Exec(context.Background(), `UPDATE current_codes SET colour = 1`); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "log", "verify", "--key", key, tn.cfg.DB)
	if code != exitError || !strings.Contains(errs, "current code") {
		t.Fatalf("log verify after editing current colours: exit %d:\n%s", code, errs)
	}
}

// TestRestoredBackupIsAFork restores an older backup that has since grown
// on its own (offline, on another machine) into a node that never saw it
// shorter than what it published: the tree is then as long as the
// published checkpoint, or longer, and only the fork checks of
// tlog.CheckStore can tell. Each case fails if its check is removed.
func TestRestoredBackupIsAFork(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra int64 // leaves the forked copy has beyond the published size
		want  string
	}{
		{"as long as the published tree", 0, "different roots"},
		{"longer than the published tree", 3, "does not extend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn, _, _ := loggedNode(t)
			ctx := context.Background()
			backup := filepath.Join(t.TempDir(), "backup.db")
			if err := tn.db.Exec(ctx, `VACUUM INTO ?`, backup); err != nil {
				t.Fatal(err)
			}
			lab := healthcode.Principal{ID: "lab-002", Name: "第二检测所", Role: healthcode.RoleLab, Unit: "检验科"}
			tok := tn.token(t, lab)
			for i := 40; i < 43; i++ {
				_, id, _ := tn.citizen(t, i)
				tn.submit(t, tok, evidence("nucleic_acid_test", id, "AFTER-"+itoa(int64(i)), "positive"))
			}
			cp, err := tn.log.Publish(ctx, tn.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			tn.server.Close(ctx)
			tn.close()

			// The backup grows elsewhere: a copy of the node's keys, its
			// own (older) checkpoint, samples collected (one leaf each).
			elsewhere := t.TempDir()
			for _, f := range []string{"region-keys.json", "qr-signing.pem", "log-signing.key", "log-signing.pub"} {
				b, err := os.ReadFile(filepath.Join(tn.dir, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(elsewhere, f), b, 0o600)
			}
			cfg := tn.cfg
			cfg.DataDir, cfg.DB = elsewhere, filepath.Join(elsewhere, "healthcode.db")
			copyDB(t, backup, cfg.DB)
			other, err := openNode(ctx, cfg, tn.clock, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if p := other.log.Problem(); p != nil {
				t.Fatalf("the backup on its own: %v", p)
			}
			var size int64
			other.db.View(ctx, func(tx healthcode.ReadTx) error { size, err = tx.LogSize(ctx); return err })
			var items []healthcode.CollectionRequest
			for k := size; k < cp.Size+tc.extra; k++ {
				items = append(items, healthcode.CollectionRequest{Line: len(items), IDNumber: tn.city.Person(100 + int(k)).IDNumber, Tube: "FORK-" + itoa(k),
					Site: testSampler.Name, CollectedAt: tn.clock.Now().Add(-time.Hour)})
			}
			if _, err := other.engine.Collect(ctx, &testSampler, items); err != nil {
				t.Fatal(err)
			}
			other.db.View(ctx, func(tx healthcode.ReadTx) error { size, err = tx.LogSize(ctx); return err })
			if size != cp.Size+tc.extra {
				t.Fatalf("the forked copy has %d leaves, want %d", size, cp.Size+tc.extra)
			}
			other.close()

			copyDB(t, cfg.DB, tn.cfg.DB)
			n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer n.close()
			if p := n.log.Problem(); healthcode.ErrorDetail(p) != "tlog.fork" || !strings.Contains(healthcode.ErrorMessage(p), tc.want) {
				t.Fatalf("after restoring the grown backup: problem %v, want tlog.fork saying %q", p, tc.want)
			}
			if _, err := n.log.Publish(ctx, tn.clock.Now()); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
				t.Fatalf("Publish on a forked tree = %v, want a refusal", err)
			}
		})
	}
}

func TestCitizenReceiptVerifiesOffline(t *testing.T) {
	tn, cit, d := loggedNode(t)
	req, _ := http.NewRequest("GET", tn.url+"/api/v1/me/proofs/"+itoa(d.LogIndex), nil)
	req.Header.Set("Authorization", "Bearer "+cit)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("receipt: %d %s", resp.StatusCode, proof)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "proof.txt")
	os.WriteFile(file, proof, 0o644)
	key := filepath.Join(tn.dir, "log-signing.pub")
	code, out, errs := runCmd(t, "log", "verify-proof", "--key", key, file)
	if code != 0 || !strings.Contains(out, "red") || !strings.Contains(out, "positive_test") {
		t.Fatalf("verify-proof: %d\n%s%s", code, out, errs)
	}
	for _, at := range []int{0, len(proof) / 3, len(proof) / 2, len(proof) - 2} {
		bad := append([]byte(nil), proof...)
		bad[at] ^= 0x01
		os.WriteFile(file, bad, 0o644)
		if code, out, _ := runCmd(t, "log", "verify-proof", "--key", key, file); code == 0 {
			t.Errorf("a proof with byte %d flipped verified:\n%s", at, out)
		}
	}
	// Someone else's entry is not served to this citizen.
	var other hchttp.MyCodeJSON
	_, _, cit2 := tn.citizen(t, 10)
	tn.do(t, "GET", "/api/v1/me/code", cit2, nil, &other)
	req, _ = http.NewRequest("GET", tn.url+"/api/v1/me/proofs/"+itoa(other.Decision.LogIndex), nil)
	req.Header.Set("Authorization", "Bearer "+cit)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another citizen's receipt: %d, want 404", resp.StatusCode)
	}
}

func TestLogTilesServeTheCheckpointsTree(t *testing.T) {
	tn, _, _ := loggedNode(t)
	resp, err := http.Get(tn.url + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), tn.cfg.Origin+"\n") {
		t.Fatalf("checkpoint: %d %q", resp.StatusCode, b)
	}
	for path, want := range map[string]int{"/log/tile/0/000.p/1": 200, "/log/tile/entries/000.p/2": 200, "/log/tile/0/001": 404, "/log/tile/nonsense": 400} {
		resp, err := http.Get(tn.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var p hchttp.Problem
		if resp.StatusCode != 200 {
			json.NewDecoder(resp.Body).Decode(&p)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d (%s), want %d", path, resp.StatusCode, p.Reason, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
