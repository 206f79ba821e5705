package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestNodeCommandsFindTheStore: a command that acts on a node, given no
// --data, finds the demo's store when it is the one there or the one a
// running node serves, says on stderr which store it used, and a token is
// not issued into a store the running node does not use (the running node
// would answer it "unknown token").
func TestNodeCommandsFindTheStore(t *testing.T) {
	t.Chdir(t.TempDir())
	unsetEnv(t, "HEALTHCODE_DATA", "HEALTHCODE_DB")

	code, out, errs := runCmd(t, "admin", "init", "--data", "healthcode-demo", "--unit", "x", "--admin", "a", "--admin", "b")
	if code != exitOK {
		t.Fatalf("admin init: exit %d\n%s%s", code, out, errs)
	}
	toks := regexp.MustCompile(`token (hc_\S+)`).FindAllStringSubmatch(out, -1)
	if len(toks) != 2 {
		t.Fatalf("admin init printed %d tokens:\n%s", len(toks), out)
	}
	admin := toks[0][1]

	// Only the demo's store is here: no --data finds it, and says so.
	code, out, errs = runCmd(t, "admin", "list", "--token", admin)
	if code != exitOK {
		t.Fatalf("admin list with no --data, the demo's store the only one: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "store healthcode-demo/healthcode.db") {
		t.Errorf("admin list does not say which store it used:\n%s", errs)
	}
	code, _, errs = runCmd(t, "rules", "review") // no rule set: it says so, of the demo's store
	if strings.Contains(errs, "no node here") || !strings.Contains(errs, "store healthcode-demo/healthcode.db") {
		t.Errorf("rules review with no --data: exit %d, stderr:\n%s", code, errs)
	}

	// A node in the default directory too: the default wins while no node
	// runs, and the command says the other is there.
	if code, out, errs := runCmd(t, "admin", "init", "--unit", "y", "--admin", "c", "--admin", "d"); code != exitOK {
		t.Fatalf("admin init (default store): exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runCmd(t, "admin", "list", "--token", admin)
	if code != exitError || !strings.Contains(errs, "store healthcode-data/healthcode.db") || !strings.Contains(errs, "--data healthcode-demo") {
		t.Errorf("admin list with two stores, none served: exit %d, stderr:\n%s", code, errs)
	}

	// The demo runs (holds its store): no --data finds the store it
	// serves, and a token is not issued into the other one.
	unlock, err := lockData("healthcode-demo")
	if err != nil {
		t.Fatal(err)
	}
	noteServing("healthcode-demo", "http://127.0.0.1:8080")
	code, out, errs = runCmd(t, "admin", "list", "--token", admin)
	if code != exitOK || !strings.Contains(errs, "store healthcode-demo/healthcode.db") {
		t.Errorf("admin list, the demo's store served: exit %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"admin", "token", "--data", "healthcode-data", "--token", admin, "--id-number", "110105194912310021", "--purpose", "in_person_request"},
		{"admin", "init", "--data", "other", "--unit", "z", "--admin", "e", "--admin", "f"},
	} {
		code, out, errs = runCmd(t, args...)
		if code != exitError || !strings.Contains(errs, "the running node at http://127.0.0.1:8080 serves healthcode-demo") {
			t.Errorf("%v while the demo serves another store: exit %d, want a refusal naming it\n%s%s", args, code, out, errs)
		}
	}
	unlock()
	// Stopped: the default store is administered again (its own token).
	code, _, errs = runCmd(t, "admin", "token", "--data", "healthcode-data", "--token", admin, "--id-number", "110105194912310021", "--purpose", "in_person_request")
	if strings.Contains(errs, "running node") {
		t.Errorf("admin token with no node running was refused for the running node: exit %d\n%s", code, errs)
	}
}

// unsetEnv removes environment variables for the test (t.Setenv restores
// them after).
func unsetEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}
