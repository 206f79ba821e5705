package main

import (
	"encoding/json"
	"strings"
	"testing"

	"healthcode/postgres/pgtest"

	"github.com/jackc/pgx/v5"
)

// The figure names of `healthcode bench --json` are a contract: every name
// written here by hand must stay listed.
func TestBenchFigureNames(t *testing.T) {
	t.Parallel()
	code, _, errs := runCmd(t, "bench", "--help")
	if code != exitOK {
		t.Fatalf("bench --help: exit %d\n%s", code, errs)
	}
	for _, name := range []string{"rules.eval", "qr.verify", "qr.issue", "import.results", "code.get", "tlog.append", "tlog.prove",
		"checkin.ingest", "trace.venue_window", "federation.status", "oversight.lag", "failover.gap"} {
		if !strings.Contains(errs, "  "+name+"\n") {
			t.Errorf("bench --help does not list %s:\n%s", name, errs)
		}
	}
}

// A figure's JSON line carries its rounds and spreads.
func TestBenchJSONLine(t *testing.T) {
	t.Parallel()
	code, out, errs := runCmd(t, "bench", "--json", "--only", "qr.issue", "--rounds", "2", "--duration", "100ms")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if m["name"] != "qr.issue" || m["rounds"] != 2.0 {
		t.Errorf("line: %s", out)
	}
	for _, k := range []string{"value", "unit", "baseline", "baseline_value", "ratio", "value_min", "value_max", "baseline_min", "baseline_max", "ratio_min", "ratio_max"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	if code, _, errs := runCmd(t, "bench", "--rounds", "0"); code != exitUsage || !strings.Contains(errs, "--rounds") {
		t.Errorf("--rounds 0: exit %d %s", code, errs)
	}
}

// The *.postgres figures run against a real server (mandatory under CI, as
// every PostgreSQL test): one line each, with both sides measured, and the
// database each created is gone afterwards.
func TestBenchPostgresFigures(t *testing.T) {
	server := pgtest.ServerURL(t)
	code, out, errs := runCmd(t, "bench", "--json", "--only", "code.get.postgres,tlog.append.postgres", "--rounds", "1", "--duration", "200ms", "--postgres", server)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two lines, got:\n%s\n%s", out, errs)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		if v, _ := m["value"].(float64); v <= 0 {
			t.Errorf("no PostgreSQL side: %s", l)
		}
		if v, _ := m["baseline_value"].(float64); v <= 0 || !strings.Contains(m["baseline"].(string), "SQLite") {
			t.Errorf("no SQLite side: %s", l)
		}
	}
	conn, err := pgx.Connect(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var left int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'healthcode_bench_%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d bench databases left on the server (%v)", left, err)
	}
}
