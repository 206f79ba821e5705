package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"healthcode/bench"
	"healthcode/postgres/pgtest"
)

// TestBenchScaleSmallCity builds the city of bench --scale at its smallest
// (a thousand people, ten thousand check-ins), checks that every city
// figure is printed with a value, and that the log of the city it kept
// verifies with `healthcode log verify`, as an outsider would check it.
func TestBenchScaleSmallCity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a city")
	}
	testBenchScale(t, "")
}

// TestBenchScaleSmallCityPostgres is TestBenchScaleSmallCity on PostgreSQL
// (the bulk loader is COPY there).
func TestBenchScaleSmallCityPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a city")
	}
	testBenchScale(t, pgtest.URL(t))
}

func testBenchScale(t *testing.T, db string) {
	childFromTest(t) // city.rss_peak serves the city from a child process
	dir := filepath.Join(t.TempDir(), "city")
	args := []string{"bench", "--scale", "--only", "city", "--json", "--duration", "200ms",
		"--scale-people", "1000", "--scale-checkins", "10000", "--scale-tested", "1000", "--scale-dir", dir}
	if db != "" {
		args = append(args, "--db", db)
	}
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), args, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("bench --scale exited %d\n%s", code, stderr.String())
	}
	got := map[string]bench.Result{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var f bench.Result
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("a line that is not a figure: %q: %v", line, err)
		}
		got[f.Name] = f
		order = append(order, f.Name)
	}
	want := slices.Clone(cityFigures)
	slices.Sort(want)
	slices.Sort(order)
	if !slices.Equal(order, want) {
		t.Errorf("figures printed: %v, want each of %v once", order, want)
	}
	for name, f := range got {
		if !(f.Value > 0) || f.Unit == "" || f.Baseline == "" {
			t.Errorf("figure %s = %+v: want a positive value, a unit and a baseline", name, f)
		}
	}
	// The re-evaluation found everyone who has evidence (the sweep after
	// the publication): the tested thousand, at least.
	_, after, _ := strings.Cut(stderr.String(), "re-evaluation: ")
	var reviewed int
	if _, err := fmt.Sscanf(after, "%d people reviewed", &reviewed); err != nil || reviewed < 1000 {
		t.Errorf("the re-evaluation reviewed %d people (%v), want the thousand tested at least:\n%s", reviewed, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "log verify: OK") {
		t.Errorf("stderr does not report the log verified:\n%s", stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	target := filepath.Join(dir, "healthcode.db")
	if db != "" {
		target = db
	}
	code = Run(t.Context(), []string{"log", "verify", "--key", filepath.Join(dir, "log-signing.pub"), target}, &stdout, &stderr)
	if code != exitOK || !strings.HasPrefix(stdout.String(), "OK: ") {
		t.Fatalf("healthcode log verify on the city = %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

// TestBenchScaleRefuses: sizes out of range and a directory that holds
// something are refused before anything is built.
func TestBenchScaleRefuses(t *testing.T) {
	full := t.TempDir()
	if err := writeFileReplacing(filepath.Join(full, "healthcode.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scale-people", "999"}, "--scale-people"},
		{[]string{"--scale-people", "1000", "--scale-checkins", "10001"}, "--scale-checkins"},
		{[]string{"--scale-people", "1000", "--scale-dir", full}, "not empty"},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(t.Context(), append([]string{"bench", "--scale", "--only", "city"}, tc.args...), &stdout, &stderr)
		if code == exitOK || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("bench --scale %v = %d, %q; want a failure naming %q", tc.args, code, stderr.String(), tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("bench --scale %v printed figures: %s", tc.args, stdout.String())
		}
	}
	if b, err := os.ReadFile(filepath.Join(full, "healthcode.db")); err != nil || string(b) != "x" {
		t.Errorf("the directory's file changed: %q, %v", b, err)
	}
}
