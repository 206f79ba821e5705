package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"healthcode/sqlite"
)

// TestHealthzSaysWhenTheDiskIsLow: with the disk below the node's free-space
// bound, /healthz answers 200 "degraded" naming the disk (reads go on) and
// the metric is 1; with room again, "ok" and 0 — no restart.
func TestHealthzSaysWhenTheDiskIsLow(t *testing.T) {
	tn := startNode(t, 1000)
	get := func(path string) (int, string) {
		resp, err := http.Get(tn.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	health := func() (int, map[string]string) {
		st, b := get("/healthz")
		var h map[string]string
		json.Unmarshal([]byte(b), &h)
		return st, h
	}
	if st, h := health(); st != 200 || h["status"] != "ok" {
		t.Fatalf("healthz on a disk with room: %d %v", st, h)
	}
	old := sqlite.LowDiskBytes
	sqlite.LowDiskBytes = 1 << 62
	t.Cleanup(func() { sqlite.LowDiskBytes = old })
	if st, h := health(); st != 200 || h["status"] != "degraded" || h["reason"] != "store.disk_low" {
		t.Fatalf("healthz on a nearly full disk: %d %v, want 200 degraded store.disk_low", st, h)
	}
	if _, m := get("/metrics"); !strings.Contains(m, "healthcode_store_write_problem 1") {
		t.Fatal("metrics do not say the disk refuses writes")
	}
	sqlite.LowDiskBytes = old
	if st, h := health(); st != 200 || h["status"] != "ok" {
		t.Fatalf("healthz with room again: %d %v", st, h)
	}
}
