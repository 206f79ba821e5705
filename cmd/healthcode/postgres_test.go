package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"healthcode"
	"healthcode/postgres/pgtest"

	"github.com/jackc/pgx/v5"
)

// testStoreDB is the database startNode gives a test node: "" (the SQLite
// file in its directory), or with HEALTHCODE_TEST_STORE=postgres a fresh
// PostgreSQL database, so that the whole suite can be run on PostgreSQL
// (tests that edit the SQLite file itself then fail, as they should).
func testStoreDB(t *testing.T) string {
	if os.Getenv("HEALTHCODE_TEST_STORE") == "postgres" {
		return pgtest.URL(t)
	}
	return ""
}

// The node on PostgreSQL (--db postgres://…), end to end: a lab's results
// change codes, the log verifies from the database and over HTTP, an edit
// made in the database behind the node's back is found, and a database
// that goes away is a 503 with Retry-After that heals on its own.

func TestPostgresNodeLogsAndVerifies(t *testing.T) {
	tn := startNodeOn(t, 1000, t0, pgtest.URL(t))
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
	d := tn.myCode(t, cit).Decision
	if d.Colour != "red" {
		t.Fatalf("a positive result gave %q, want red", d.Colour)
	}
	key := filepath.Join(tn.dir, "log-signing.pub")
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", filepath.Join(tn.dir, "checkpoint"), tn.cfg.DB); code != exitOK || !strings.Contains(out, "OK: ") {
		t.Fatalf("log verify of the PostgreSQL database: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, tn.url); code != exitOK {
		t.Fatalf("log verify over HTTP: %d\n%s%s", code, out, errs)
	}
	// An official with database access turns the red code green.
	if err := tn.db.Exec(context.Background(), `UPDATE decisions SET colour = 1, reason = 'none' WHERE log_index = ?`, d.LogIndex); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "log", "verify", "--key", key, tn.cfg.DB)
	if code != exitError || !strings.Contains(errs, "decision row") || !strings.Contains(errs, "colour") {
		t.Fatalf("log verify after the edit: exit %d, want 1 naming the decision row:\n%s", code, errs)
	}
	if err := tn.log.Audit(context.Background()); err == nil {
		t.Fatal("the node's own audit did not notice the edit")
	}
}

func TestPostgresUnavailableIs503AndHeals(t *testing.T) {
	url := pgtest.URL(t)
	tn := startNodeOn(t, 1000, t0, url)
	lab := tn.token(t, healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	_, id, _ := tn.citizen(t, 1)
	tn.collect(t, id, "T-1", t0)
	if st, body := tn.healthz(t); st != http.StatusOK || strings.Contains(body, "degraded") {
		t.Fatalf("/healthz before = %d %s", st, body)
	}
	// The database refuses new connections and ends the node's: what a
	// primary going down looks like from the node.
	name := url[strings.LastIndex(url, "/")+1:]
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	admin := func(sql string) {
		t.Helper()
		c, err := pgx.Connect(context.Background(), pgtest.WithDatabase(url, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	admin(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`)
	admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`)
	req, _ := http.NewRequest("POST", tn.url+"/api/v1/evidence", strings.NewReader(`{"kind":"nucleic_acid_test","tube":"T-1","result":"positive"}`))
	req.Header.Set("Authorization", "Bearer "+lab)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "store.unavailable") {
		t.Fatalf("a write with the database gone = %d (Retry-After %q) %s, want 503 store.unavailable with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if st, body := tn.healthz(t); !strings.Contains(body, "store.unavailable") {
		t.Fatalf("/healthz with the database gone = %d %s, want it degraded naming store.unavailable", st, body)
	}
	// Back: the next write goes through, without a restart.
	admin(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`)
	var o struct{}
	if st := tn.do(t, "POST", "/api/v1/evidence", lab, map[string]string{"kind": "nucleic_acid_test", "tube": "T-1", "result": "positive"}, &o); st != http.StatusCreated {
		t.Fatalf("the write after the database came back = %d", st)
	}
	if st, body := tn.healthz(t); st != http.StatusOK || strings.Contains(body, "degraded") {
		t.Fatalf("/healthz after = %d %s", st, body)
	}
}

func TestPostgresDemo(t *testing.T) {
	url := pgtest.URL(t)
	node := t.TempDir()
	if code, out, errs := runCmd(t, "admin", "init", "--data", node, "--db", url, "--unit", "x", "--admin", "a", "--admin", "b"); code != exitOK {
		t.Fatalf("admin init: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(url, ":healthcode@") {
		// The password never appears in what the node prints.
		if _, out, errs := runCmd(t, "admin", "init", "--data", node, "--db", url, "--unit", "x", "--admin", "a", "--admin", "b"); strings.Contains(out+errs, ":healthcode@") {
			t.Fatalf("the database password was printed:\n%s%s", out, errs)
		}
	}
	demo := t.TempDir()
	gone, stop := context.WithCancel(context.Background())
	stop()
	var outb, errw strings.Builder
	code := Run(gone, []string{"demo", "--data", demo, "--db", url, "--people", "1000", "--addr", "127.0.0.1:0"}, &outb, &errw)
	if code != exitError || !strings.Contains(errw.String(), "already holds a node's data") || !strings.Contains(errw.String(), "--fresh") {
		t.Fatalf("demo on a database holding a node: exit %d, want %d and a message naming --fresh:\n%s", code, exitError, errw.String())
	}
	if has, err := storeExists(context.Background(), url); err != nil || !has {
		t.Fatalf("the refused demo touched the node's database: %v, %v", has, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runDemo(ctx, []string{"--fresh", "--data", demo, "--db", url, "--people", "1000", "--addr", "127.0.0.1:0", "--log-format", "json"}, pw, errb)
		pw.Close()
	}()
	ready := false
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			ready = true
			break
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if code := <-done; code != exitOK || !ready {
		t.Fatalf("demo --fresh: exit %d, ready %v:\n%s", code, ready, errb.String())
	}
	if !strings.Contains(errb.String(), "deleting postgres") {
		t.Fatalf("demo --fresh did not name the database it emptied:\n%s", errb.String())
	}
	key := filepath.Join(demo, "log-signing.pub")
	if code, out, errs := runCmd(t, "log", "verify", "--key", key, "--checkpoint", filepath.Join(demo, "checkpoint"), url); code != exitOK {
		t.Fatalf("log verify of the demo's database: %d\n%s%s", code, out, errs)
	}
}
