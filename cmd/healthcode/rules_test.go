package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"healthcode"
	"healthcode/rules"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRulesTestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := string(rules.Baseline())
	typeErr := strings.Replace(base, "s.close_contact.day <= 10", "s.close_contact.day <= 'ten'", 1)
	failing := strings.Replace(base, "expect: {colour: red, reason: nucleic_acid_positive, rule: positive_test", "expect: {colour: green, reason: nucleic_acid_positive, rule: positive_test", 1)
	tests := []struct {
		name, file string
		code       int
		want       string
	}{
		{"baseline passes", write("baseline.yaml", base), exitOK, "ok"},
		{"type error names line and column", write("typeerr.yaml", typeErr), exitError, "typeerr.yaml:"},
		{"failing example", write("failing.yaml", failing), exitRejected, "FAIL"},
		{"missing file", filepath.Join(dir, "none.yaml"), exitError, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "rules", "test", tt.file)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, errs)
			}
		})
	}
	if code, _, _ := runCmd(t, "rules", "test"); code != exitUsage {
		t.Errorf("rules test without a file: exit %d, want %d", code, exitUsage)
	}
}

func TestRulesPublishCommand(t *testing.T) {
	tn := startNode(t, 1000)
	admin := tn.token(t, healthcode.Principal{Name: "管理员 甲", Role: healthcode.RoleAdmin})
	admin2 := tn.token(t, healthcode.Principal{Name: "管理员 乙", Role: healthcode.RoleAdmin})
	lab := tn.token(t, healthcode.Principal{Name: "检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	_, idNumber, _ := tn.citizen(t, 2)
	tn.submit(t, lab, evidence("nucleic_acid_test", idNumber, "P-1", "positive"))
	tn.close()
	src := strings.Replace(string(rules.Baseline()), "version: ", "version: v2-", 1)
	file := filepath.Join(t.TempDir(), "v2.yaml")
	os.WriteFile(file, []byte(src), 0o644)

	if code, _, errs := runCmd(t, "rules", "publish", "--data", tn.dir, "--token", lab, file); code != exitError || !strings.Contains(errs, "admin") {
		t.Fatalf("publish as a lab: exit %d: %s", code, errs)
	}
	code, out, errs := runCmd(t, "rules", "publish", "--data", tn.dir, "--token", admin, file)
	if code != exitOK || !strings.Contains(out, "proposed") {
		t.Fatalf("propose as admin: exit %d:\n%s%s", code, out, errs)
	}
	version := strings.Fields(strings.TrimPrefix(out, "proposed "))[0]
	if code, _, errs := runCmd(t, "rules", "approve", "--data", tn.dir, "--token", admin, version); code != exitError || !strings.Contains(errs, "ruleset.self_approval") {
		t.Fatalf("approval by the proposer: exit %d: %s", code, errs)
	}
	code, out, errs = runCmd(t, "rules", "approve", "--data", tn.dir, "--token", admin2, version)
	if code != exitOK || !strings.Contains(out, "re-evaluated 1 people") || !strings.Contains(out, "管理员 甲 [") || !strings.Contains(out, " & 管理员 乙 [") {
		t.Fatalf("approval by a second admin: exit %d:\n%s%s", code, out, errs)
	}
}
