package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"healthcode"
)

// TestRulesExplainReproducesDemoDecisions: every demo citizen downloads
// their export and `healthcode rules explain` recomputes, offline, each of
// their logged decisions from it and the published rule set, and finds
// them all. A decision edited in the export is found not to match.
func TestRulesExplainReproducesDemoDecisions(t *testing.T) {
	tn, demo := startDemoNode(t)
	dir := t.TempDir()
	summary := regexp.MustCompile(`(\d+) decision\(s\) match the rules, (\d+) do not, (\d+) not checked`)
	checked, restricted := 0, 0
	var tampered string
	for i, dt := range demo {
		if dt.Role != healthcode.RoleCitizen {
			continue
		}
		var raw json.RawMessage
		if st := tn.do(t, "GET", "/api/v1/me/export", dt.Token, nil, &raw); st != 200 {
			t.Fatalf("%s: export: %d", dt.Who, st)
		}
		path := filepath.Join(dir, "export-"+strconv.Itoa(i)+".json")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCmd(t, "rules", "explain", "--export", path)
		m := summary.FindStringSubmatch(out)
		if code != exitOK || m == nil || m[2] != "0" || m[3] != "0" {
			t.Fatalf("%s: rules explain = %d\n%s%s", dt.Who, code, out, errs)
		}
		n, _ := strconv.Atoi(m[1])
		checked += n
		var x struct {
			Code struct {
				Colour string `json:"colour"`
			} `json:"code"`
		}
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		if x.Code.Colour != "green" {
			restricted++
			tampered = path
		}
	}
	if checked == 0 || restricted == 0 {
		t.Fatalf("checked %d decisions of which %d citizens are restricted: the demo shows too little", checked, restricted)
	}

	// The same export with its current decision's colour changed does
	// not match the rules.
	raw, err := os.ReadFile(tampered)
	if err != nil {
		t.Fatal(err)
	}
	var x map[string]any
	if err := json.Unmarshal(raw, &x); err != nil {
		t.Fatal(err)
	}
	hist := x["history"].([]any)
	last := hist[len(hist)-1].(map[string]any)["decision"].(map[string]any)
	last["colour"], last["reason"] = "red", "confirmed_case"
	edited, _ := json.Marshal(x)
	path := filepath.Join(dir, "edited.json")
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "rules", "explain", "--export", path, "--at", tn.clock.Now().Add(30*healthcode.Day).Format("2006-01-02T15:04:05Z07:00"))
	if code != exitRejected || !strings.Contains(out, "DOES NOT MATCH the logged decision: logged red/confirmed_case") {
		t.Errorf("edited export: %d\n%s", code, out)
	}
	if !strings.Contains(out, "from the evidence held then:\n  recomputed with the built-in baseline: green/none") {
		t.Errorf("30 days on, every colour of the demo has ended:\n%s", out)
	}
}

// TestRulesExplainRefusesBadInput: what is not an export, or an unknown
// flag, is a clear error and a non-zero exit.
func TestRulesExplainRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no export", []string{}, exitUsage, "usage: healthcode rules explain"},
		{"missing file", []string{"--export", filepath.Join(dir, "none.json")}, exitError, "no such file"},
		{"not JSON", []string{"--export", write("a.json", "{not json")}, exitError, "not an export: malformed JSON"},
		{"not an export", []string{"--export", write("b.json", `{"hello": "world"}`)}, exitError, "not an export of /api/v1/me/export"},
		{"wrong types", []string{"--export", write("c.json", `{"subject": 3}`)}, exitError, "not an export"},
		{"bad colour", []string{"--export", write("d.json", `{"subject": "p", "code": {"colour": "purple"}}`)}, exitError, "not an export"},
		{"bad time", []string{"--export", write("e.json", `{}`), "--at", "tomorrow"}, exitUsage, "--at must be an RFC 3339 time"},
		{"bad rule set", []string{"--export", write("f.json", `{}`), "--rules", write("r.yaml", "version: x\n")}, exitError, "r.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"rules", "explain"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.want, out, errs)
			}
		})
	}
}
