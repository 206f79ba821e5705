package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// tamperTarget is a node with a published log, a citizen whose code went
// red then green (the one an insider rolls back) and a bystander.
type tamperTarget struct {
	*testNode
	lab                string
	rolled, bystander  string // citizens' tokens
	rolledID, otherID  string // ID numbers
	rolledSubject      string
	redRow, greenRow   healthcode.Decision
	checkpointSeenHere string // a copy of the checkpoint an outside auditor saw
}

func newTamperTarget(t *testing.T) *tamperTarget {
	t.Helper()
	tn, _, _ := loggedNode(t)
	ctx := context.Background()
	tt := &tamperTarget{testNode: tn}
	tt.lab = tn.token(t, healthcode.Principal{ID: "lab-009", Name: "第九检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	tn.samplerToken = tn.token(t, testSampler) // before any tampering: a node in doubt issues none
	tt.rolledSubject, tt.rolledID, tt.rolled = tn.citizen(t, 20)
	_, tt.otherID, tt.bystander = tn.citizen(t, 21)
	tn.submit(t, tt.lab, evidence("nucleic_acid_test", tt.rolledID, "R-1", "positive"))
	tn.clock.Advance(2 * time.Hour)
	tn.submit(t, tt.lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: tt.rolledID, ExternalID: "R-2",
		ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "negative"})
	if c := tn.myCode(t, tt.rolled); c.Decision.Colour != "green" || len(c.History) != 2 {
		t.Fatalf("the citizen to roll back: %+v", c)
	}
	err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		ds, err := tx.Decisions(ctx, tt.rolledSubject)
		if err == nil {
			tt.redRow, tt.greenRow = ds[0], ds[1]
		}
		return err
	})
	if err != nil || tt.redRow.Colour != healthcode.Red || tt.greenRow.Colour != healthcode.Green {
		t.Fatalf("decision rows: %+v %+v %v", tt.redRow, tt.greenRow, err)
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(tn.dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	tt.checkpointSeenHere = filepath.Join(t.TempDir(), "checkpoint-seen")
	if err := os.WriteFile(tt.checkpointSeenHere, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The untouched node passes its own audit and both outside audits.
	tn.audit(ctx)
	if p := tn.log.Problem(); p != nil {
		t.Fatalf("the untouched node's audit: %v", p)
	}
	tt.wantLogVerify(t, tn.url, true, nil)
	tt.wantLogVerify(t, tn.cfg.DB, true, nil)
	return tt
}

func (tt *tamperTarget) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if err := tt.db.Exec(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// flipByte changes one byte of a blob column in place.
func (tt *tamperTarget) flipByte(t *testing.T, table, column string, leaf int64, at int) {
	t.Helper()
	var b []byte
	err := tt.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		if table == "log_leaves" {
			b, err = tx.LogLeaf(context.Background(), leaf)
		} else {
			var hs [][32]byte
			hs, err = tx.LogHashes(context.Background(), []int64{leafHashIndex(leaf)})
			if err == nil {
				b = hs[0][:]
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte(nil), b...)
	b[at] ^= 0x01
	if table == "log_leaves" {
		tt.exec(t, `UPDATE log_leaves SET data = ? WHERE leaf = ?`, b, leaf)
		return
	}
	// The leaf's own hash is the first of the hashes its row holds.
	tt.exec(t, `UPDATE log_hashes SET hashes = ? || substr(hashes, 33) WHERE leaf = ?`, b, leaf)
}

// leafHashIndex is the storage index of leaf n's hash (level 0) in
// golang.org/x/mod/sumdb/tlog's numbering: the hashes of leaves 0..n-1
// come first, each leaf i storing 1 + trailing ones of i hashes.
func leafHashIndex(n int64) int64 {
	var idx int64
	for i := int64(0); i < n; i++ {
		idx++
		for j := i; j&1 == 1; j >>= 1 {
			idx++
		}
	}
	return idx
}

// wantLogVerify runs `healthcode log verify` on target (URL or database
// file) and checks its verdict; extra are flags placed before the target.
func (tt *tamperTarget) wantLogVerify(t *testing.T, target string, ok bool, extra []string) {
	t.Helper()
	args := append([]string{"log", "verify", "--key", filepath.Join(tt.dir, "log-signing.pub")}, extra...)
	code, out, errs := runCmd(t, append(args, target)...)
	if ok && code != exitOK {
		t.Errorf("log verify %s: exit %d, want 0\n%s%s", target, code, out, errs)
	}
	if !ok && (code != exitError || !strings.Contains(errs, "FAILED")) {
		t.Errorf("log verify %s: exit %d, want 1 with the discrepancy named\n%s%s", target, code, out, errs)
	}
}

// problemOf asks path as token and returns the status and problem body.
func (tt *tamperTarget) problemOf(t *testing.T, method, path, token string, body any) (int, hchttp.Problem) {
	t.Helper()
	var p hchttp.Problem
	st := tt.do(t, method, path, token, body, &p)
	return st, p
}

// wantFailsClosedFor checks what the node does for a citizen its audit
// flagged: no code (a clear "tampered" problem), no colour change.
func (tt *tamperTarget) wantFailsClosedFor(t *testing.T, who, token, idNumber, sample string) {
	t.Helper()
	if st, p := tt.problemOf(t, "GET", "/api/v1/me/code", token, nil); st != http.StatusServiceUnavailable || p.Code != healthcode.ETAMPERED ||
		!strings.Contains(p.Detail, "no code can be issued") {
		t.Errorf("%s: GET /api/v1/me/code = %d %+v, want 503 tampered saying why", who, st, p)
	}
	req, _ := http.NewRequest("GET", tt.url+"/api/v1/me/qr.png", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: GET /api/v1/me/qr.png = %d, want 503", who, resp.StatusCode)
	}
	// The page says why and what to do.
	req, _ = http.NewRequest("GET", tt.url+"/?lang=en", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/html")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(page), "disagreeing with the transparency log") ||
		!strings.Contains(string(page), "appeal") {
		t.Errorf("%s: citizen page = %d, want 503 saying why and what to do:\n%s", who, resp.StatusCode, page)
	}
	// No colour change: a new positive for them is refused, not applied:
	// the node records no sample while the log itself is in doubt, and
	// takes no result for the person whose record is.
	if tt.samplerToken == "" {
		tt.samplerToken = tt.token(t, testSampler)
	}
	var answer map[string]any
	st := tt.do(t, "POST", "/api/v1/collections", tt.samplerToken, hchttp.CollectionJSON{IDNumber: idNumber, Tube: sample,
		Site: testSampler.Name, CollectedAt: tt.clock.Now().Add(-time.Hour)}, &answer)
	p := hchttp.Problem{Code: fmt.Sprint(answer["code"])}
	if st == http.StatusCreated {
		st, p = tt.problemOf(t, "POST", "/api/v1/evidence", tt.lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: sample, Result: "positive"})
	}
	if st != http.StatusServiceUnavailable || p.Code != healthcode.ETAMPERED {
		t.Errorf("%s: evidence while in doubt = %d %+v, want 503 tampered", who, st, p)
	}
}

func (tt *tamperTarget) wantAlert(t *testing.T, what string) {
	t.Helper()
	if st, body := tt.healthz(t); st != http.StatusServiceUnavailable || !strings.Contains(body, what) {
		t.Errorf("/healthz = %d %s, want 503 naming %q", st, body, what)
	}
	resp, err := http.Get(tt.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"healthcode_integrity_problem 1", `healthcode_audits_total{result="tampered"} 1`} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	if _, err := tt.log.Publish(context.Background(), tt.clock.Now()); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Errorf("Publish while in doubt = %v, want a refusal", err)
	}
}

// TestTamperDrill edits the database under a running node, as an insider
// with the file would, and checks that the node's next audit (one audit
// interval: the test runs it at once) finds each edit, fails closed for
// those concerned, and that `log verify` finds it from outside.
func TestTamperDrill(t *testing.T) {
	ctx := context.Background()
	t.Run("leaf byte", func(t *testing.T) {
		tt := newTamperTarget(t)
		tt.flipByte(t, "log_leaves", "data", 2, 12)
		tt.audit(ctx)
		tt.wantAlert(t, "leaf 2")
		tt.wantFailsClosedFor(t, "the rolled citizen", tt.rolled, tt.rolledID, "X-1")
		tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-2")
		tt.wantLogVerify(t, tt.url, false, nil)
		tt.wantLogVerify(t, tt.cfg.DB, false, nil)
	})
	t.Run("stored-hash byte", func(t *testing.T) {
		// Leaf 1's hash: not on the tree's right edge, so the root the
		// node computes from its stored hashes does not change.
		tt := newTamperTarget(t)
		tt.flipByte(t, "log_hashes", "hashes", 1, 5)
		tt.audit(ctx)
		tt.wantAlert(t, "leaf 1")
		tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-2")
		tt.wantLogVerify(t, tt.url, false, nil)
		tt.wantLogVerify(t, tt.cfg.DB, false, nil)
	})
	t.Run("rollback of a person's decision", func(t *testing.T) {
		// The green decision's row goes, the red one is current again:
		// every row left is genuinely logged.
		tt := newTamperTarget(t)
		tt.exec(t, `UPDATE current_codes SET decision_id = ?, colour = ? WHERE subject = ?`, tt.redRow.ID, int(healthcode.Red), tt.rolledSubject)
		tt.exec(t, `DELETE FROM decisions WHERE id = ?`, tt.greenRow.ID)
		tt.audit(ctx)
		tt.wantAlert(t, "later logged decision")
		tt.wantFailsClosedFor(t, "the rolled citizen", tt.rolled, tt.rolledID, "X-1")
		// Everyone else goes on as before.
		if c := tt.myCode(t, tt.bystander); c.QR == "" {
			t.Errorf("a bystander gets no code: %+v", c)
		}
		tt.submit(t, tt.lab, evidence("nucleic_acid_test", tt.otherID, "X-3", "negative"))
		tt.wantLogVerify(t, tt.cfg.DB, false, nil)
		// A check-in is stored, with no colour shown.
		tt.wantCheckInWithoutColour(t)
	})
	t.Run("forged evidence row", func(t *testing.T) {
		// A positive test put straight into the file, and the person
		// marked due for review: the review job must not make them red
		// "by the rules" from it.
		tt := newTamperTarget(t)
		now := tt.clock.Now()
		tt.exec(t, `INSERT INTO evidence (subject, kind, submitter, submitter_name, submitter_role, external_id, observed_at, recorded_at, result)
			VALUES (?, 'nucleic_acid_test', 'lab-009', '第九检测所', 'lab', 'FORGED-1', ?, ?, 'positive')`,
			tt.rolledSubject, now.Add(-time.Hour).UnixNano(), now.UnixNano())
		tt.exec(t, `UPDATE current_codes SET review_at = 0 WHERE subject = ?`, tt.rolledSubject)
		tt.audit(ctx)
		tt.wantAlert(t, "without being logged")
		if _, _, err := tt.engine.ReviewDue(ctx, nil); err != nil {
			t.Fatal(err)
		}
		err := tt.db.View(ctx, func(tx healthcode.ReadTx) error {
			d, err := tx.Decision(ctx, tt.rolledSubject)
			if err == nil && d.ID != tt.greenRow.ID {
				t.Errorf("after the review job the person's decision is %+v, want the green one still", d)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tt.wantFailsClosedFor(t, "the forged citizen", tt.rolled, tt.rolledID, "X-1")
		if c := tt.myCode(t, tt.bystander); c.QR == "" {
			t.Errorf("a bystander gets no code: %+v", c)
		}
		tt.wantLogVerify(t, tt.cfg.DB, false, nil)
	})
	// The rule set every decision is computed from, edited in the store:
	// its source alone (the stored hash no longer matches it), or its
	// source and stored hash together (the hash is no longer the one the
	// log records as published). The running node's audit finds it; so
	// does a restarted node, which decides nothing from it.
	for _, withHash := range []bool{false, true} {
		name := "edited rule set source"
		if withHash {
			name += " and hash"
		}
		t.Run(name, func(t *testing.T) {
			tt := newTamperTarget(t)
			tt.editRuleSet(t, withHash)
			tt.audit(ctx)
			tt.wantAlert(t, "edited in the store")
			tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-2")
			tt.wantLogVerify(t, tt.cfg.DB, false, nil)
			// Restarted on the edited file: it starts, says why, and
			// decides nothing.
			tt.restart(t)
			tt.wantAlert(t, "edited in the store")
			tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-3")
		})
	}
	t.Run("restored backup", func(t *testing.T) {
		tt := newTamperTarget(t)
		backup := filepath.Join(t.TempDir(), "backup.db")
		tt.exec(t, `VACUUM INTO ?`, backup)
		// The log grows and is published; then the old file is put back.
		tt.submit(t, tt.lab, evidence("nucleic_acid_test", tt.otherID, "AFTER-1", "positive"))
		if _, err := tt.log.Publish(ctx, tt.clock.Now()); err != nil {
			t.Fatal(err)
		}
		seen, _ := os.ReadFile(filepath.Join(tt.dir, "checkpoint"))
		os.WriteFile(tt.checkpointSeenHere, seen, 0o644)
		n := restoreInto(t, tt.testNode, backup)
		if err := n.server.Open("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer n.server.Close(ctx)
		tt.testNode = &testNode{node: n, clock: tt.clock, city: tt.city, url: n.server.URL(), dir: tt.dir, samplerToken: tt.samplerToken}
		tt.wantAlert(t, "older backup")
		tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-2")
		tt.wantLogVerify(t, tt.url, false, []string{"--checkpoint", tt.checkpointSeenHere})
		tt.wantLogVerify(t, tt.cfg.DB, false, []string{"--checkpoint", tt.checkpointSeenHere})
	})
}

// editRuleSet appends a comment to the stored source of the rule set in
// force (it still compiles) and, if withHash, stores the new source's hash
// with it.
func (tt *tamperTarget) editRuleSet(t *testing.T, withHash bool) {
	t.Helper()
	var rec *healthcode.RuleSetRecord
	err := tt.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		rec, err = tx.ActiveRuleSet(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	src := append(append([]byte(nil), rec.Source...), "\n# edited\n"...)
	hash := rec.Hash
	if withHash {
		sum := sha256.Sum256(src)
		hash = hex.EncodeToString(sum[:])
	}
	tt.exec(t, `UPDATE rulesets SET source = ?, hash = ? WHERE version = ?`, src, hash, rec.Version)
}

// restart stops the node and opens it again on the same files.
func (tt *tamperTarget) restart(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tt.server.Close(ctx)
	tt.close()
	n, err := openNode(ctx, tt.cfg, tt.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	if err := n.server.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close(ctx) })
	tt.testNode = &testNode{node: n, clock: tt.clock, city: tt.city, url: n.server.URL(), dir: tt.dir, samplerToken: tt.samplerToken}
}

func (tt *tamperTarget) wantCheckInWithoutColour(t *testing.T) {
	t.Helper()
	owner := tt.token(t, healthcode.Principal{ID: "venue-owner-1", Name: "二七广场便利店", Role: healthcode.RoleVenue})
	operator := tt.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	var v hchttp.VenueJSON
	if st := tt.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "二七广场便利店", Address: "二七区二七广场1号", Region: "410103", Category: "retail"}, &v); st != 201 {
		t.Fatalf("register venue: %d", st)
	}
	if st := tt.post(t, "/api/v1/venues/"+v.ID+"/status", operator, map[string]string{"status": "active"}, nil); st != 200 {
		t.Fatalf("approve venue: %d", st)
	}
	var codes hchttp.VenueCodeJSON
	if st := tt.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != 200 {
		t.Fatalf("venue code: %d", st)
	}
	var ci hchttp.CheckInJSON
	if st := tt.post(t, "/api/v1/checkins", tt.rolled, map[string]string{"code": codes.Live}, &ci); st != 201 || ci.ID == 0 || ci.Colour != "" ||
		!strings.Contains(ci.Message, "No colour is shown") {
		t.Errorf("check-in of the flagged citizen: %d %+v, want it stored with no colour", st, ci)
	}
}

// restoreInto stops tn's node, puts the database file at backup in its
// place (the data directory, with its checkpoint file, is left as it was)
// and opens the node again.
func restoreInto(t *testing.T, tn *testNode, backup string) *node {
	t.Helper()
	ctx := context.Background()
	tn.server.Close(ctx)
	tn.close()
	copyDB(t, backup, tn.cfg.DB)
	n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	return n
}

// copyDB replaces the SQLite file at to with the one at from.
func copyDB(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(to + suffix)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackOfDataDirectoryIsCaughtByTheCheckpointCopy rolls back the
// database and the data directory's checkpoint file together (a restored
// backup of the whole data directory), with no witness: the node still sees
// it, through the copy of the checkpoint kept outside the data directory.
// Without --checkpoint-copy it could not (the first half shows it).
func TestRollbackOfDataDirectoryIsCaughtByTheCheckpointCopy(t *testing.T) {
	for _, withCopy := range []bool{false, true} {
		name := "no copy"
		if withCopy {
			name = "with --checkpoint-copy"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tn := startNode(t, 1000)
			copyPath := filepath.Join(t.TempDir(), "elsewhere", "checkpoint")
			if withCopy {
				os.MkdirAll(filepath.Dir(copyPath), 0o700)
				tn.log.CopyPath = copyPath
				tn.cfg.CheckpointCopy = copyPath
			}
			lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
			_, id, _ := tn.citizen(t, 1)
			tn.submit(t, lab, evidence("nucleic_acid_test", id, "B-1", "positive"))
			if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
				t.Fatal(err)
			}
			// The backup: the database and the checkpoint file, together.
			dir := t.TempDir()
			backupDB := filepath.Join(dir, "backup.db")
			if err := tn.db.Exec(ctx, `VACUUM INTO ?`, backupDB); err != nil {
				t.Fatal(err)
			}
			backupCP, _ := os.ReadFile(filepath.Join(tn.dir, "checkpoint"))
			_, id2, _ := tn.citizen(t, 2)
			tn.submit(t, lab, evidence("nucleic_acid_test", id2, "B-2", "positive"))
			if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if withCopy {
				a, _ := os.ReadFile(copyPath)
				b, _ := os.ReadFile(filepath.Join(tn.dir, "checkpoint"))
				if len(a) == 0 || string(a) != string(b) {
					t.Fatalf("the copy %q does not hold the last checkpoint %q", a, b)
				}
			}
			tn.server.Close(ctx)
			tn.close()
			copyDB(t, backupDB, tn.cfg.DB)
			os.WriteFile(filepath.Join(tn.dir, "checkpoint"), backupCP, 0o600)
			n, err := openNode(ctx, tn.cfg, tn.clock, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			p := n.log.Problem()
			if !withCopy {
				n.close()
				if p != nil {
					t.Fatalf("with no copy and no witness: %v (the rollback is expected to go unseen)", p)
				}
				return
			}
			if healthcode.ErrorDetail(p) != "tlog.truncated" {
				n.close()
				t.Fatalf("after rolling back the data directory: problem %v, want tlog.truncated", p)
			}
			if _, err := n.log.Publish(ctx, tn.clock.Now()); healthcode.ErrorCode(err) != healthcode.ETAMPERED {
				t.Errorf("Publish = %v, want a refusal", err)
			}
			// Deleting the copy as well is no way out once the log has a
			// checkpoint: the node refuses until the copy is back.
			os.Remove(copyPath)
			n.close()
			n, err = openNode(ctx, tn.cfg, tn.clock, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer n.close()
			if p := n.log.Problem(); healthcode.ErrorDetail(p) != "tlog.copy_missing" {
				t.Fatalf("with the copy deleted: problem %v, want tlog.copy_missing", p)
			}
		})
	}
}

// TestOldEvidenceMakesNoOneRed submits, today, a positive test sampled on
// 2020-01-02: it is refused with a clear 400, alone or in a batch, and the
// person stays green. Evidence within its retention period is accepted.
func TestOldEvidenceMakesNoOneRed(t *testing.T) {
	tn := startNode(t, 1000)
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	_, id, cit := tn.citizen(t, 7)
	// A sample dated 2020-01-02 is not collected at all.
	if tn.samplerToken == "" {
		tn.samplerToken = tn.token(t, testSampler)
	}
	var p hchttp.Problem
	if st := tn.do(t, "POST", "/api/v1/collections", tn.samplerToken, hchttp.CollectionJSON{IDNumber: id, Tube: "OLD-1", Site: testSampler.Name,
		CollectedAt: time.Date(2020, 1, 2, 9, 0, 0, 0, time.UTC)}, &p); st != http.StatusBadRequest || p.Reason != "collection.too_old" {
		t.Fatalf("a sample taken 2020-01-02: %d %+v, want 400 collection.too_old", st, p)
	}
	// A sample collected within the retention period whose result comes
	// after it: refused, alone or in a batch (as `healthcode import`
	// sends it), that item alone.
	tn.collect(t, id, "OLD-2", tn.clock.Now().Add(-28*healthcode.Day+time.Minute))
	tn.collect(t, id, "NEW-1", tn.clock.Now().Add(-time.Hour))
	tn.clock.Advance(2 * time.Minute)
	old := hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "OLD-2", Result: "positive"}
	if st := tn.do(t, "POST", "/api/v1/evidence", lab, old, &p); st != http.StatusBadRequest || p.Reason != "evidence.too_old" ||
		!strings.Contains(p.Detail, "retention") {
		t.Fatalf("a positive for a sample past its retention: %d %+v, want 400 evidence.too_old", st, p)
	}
	var res struct {
		Items []hchttp.OutcomeJSON `json:"items"`
	}
	fresh := hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "NEW-1", Result: "negative"}
	if st := tn.do(t, "POST", "/api/v1/evidence", lab, map[string]any{"items": []hchttp.EvidenceJSON{old, fresh}}, &res); st != 200 ||
		len(res.Items) != 2 || res.Items[0].Status != "rejected" || res.Items[0].Error.Reason != "evidence.too_old" || res.Items[1].Status != "accepted" {
		t.Fatalf("batch: %d %+v", st, res)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "green" {
		t.Errorf("after old positives: %+v, want green", c.Decision)
	}
}

// TestRollbackVariants rolls a person back in other ways an insider with
// the file might: the node's audit and `log verify DBFILE` catch each,
// and say whether it is one person (the others keep their codes) or the
// log itself (no one gets a code).
func TestRollbackVariants(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		edit      func(t *testing.T, tt *tamperTarget)
		wholeLog  bool
		healthSay string
	}{
		{"current code only", func(t *testing.T, tt *tamperTarget) {
			tt.exec(t, `UPDATE current_codes SET decision_id = ?, colour = ? WHERE subject = ?`, tt.redRow.ID, int(healthcode.Red), tt.rolledSubject)
		}, false, "later logged decision"},
		{"no decision at all (default green)", func(t *testing.T, tt *tamperTarget) {
			tt.exec(t, `DELETE FROM current_codes WHERE subject = ?`, tt.rolledSubject)
			tt.exec(t, `DELETE FROM decisions WHERE subject = ?`, tt.rolledSubject)
		}, false, "holds no decision"},
		{"later decision's opening deleted too", func(t *testing.T, tt *tamperTarget) {
			tt.exec(t, `UPDATE current_codes SET decision_id = ?, colour = ? WHERE subject = ?`, tt.redRow.ID, int(healthcode.Red), tt.rolledSubject)
			tt.exec(t, `DELETE FROM decisions WHERE id = ?`, tt.greenRow.ID)
			tt.exec(t, `DELETE FROM log_openings WHERE leaf = ?`, tt.greenRow.LogIndex)
		}, true, "lost the opening"},
		{"later decision's opening given to someone else", func(t *testing.T, tt *tamperTarget) {
			other, _, _ := tt.citizen(t, 21)
			tt.exec(t, `UPDATE current_codes SET decision_id = ?, colour = ? WHERE subject = ?`, tt.redRow.ID, int(healthcode.Red), tt.rolledSubject)
			tt.exec(t, `DELETE FROM decisions WHERE id = ?`, tt.greenRow.ID)
			tt.exec(t, `UPDATE log_openings SET subject = ? WHERE leaf = ?`, other, tt.greenRow.LogIndex)
		}, true, "does not open it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTamperTarget(t)
			tc.edit(t, tt)
			tt.audit(ctx)
			tt.wantAlert(t, tc.healthSay)
			tt.wantFailsClosedFor(t, "the rolled citizen", tt.rolled, tt.rolledID, "X-1")
			if tc.wholeLog {
				tt.wantFailsClosedFor(t, "a bystander", tt.bystander, tt.otherID, "X-2")
			} else if c := tt.myCode(t, tt.bystander); c.QR == "" {
				t.Errorf("a bystander gets no code: %+v", c)
			}
			tt.wantLogVerify(t, tt.cfg.DB, false, nil)
		})
	}
}
