package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestDemoPrintedCommands does what a new user does: it starts the demo,
// pastes every command the demo prints under "Try it" into a shell, in
// order, and then every shell command of the README, from the top, with the
// tokens the demo printed, in a fresh directory where ./healthcode is this
// program. A command that fails (an HTTP error, a non-zero exit) fails the
// test. Only the README's lines that build the command, start the demo and
// run the tests are not run (testsOwnLine): the test starts the demo itself,
// on a free port that replaces the README's 8080.
func TestDemoPrintedCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo and runs a shell")
	}
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("HEALTHCODE_CI") != "" {
				t.Fatalf("%s is required here (HEALTHCODE_CI is set): %v", tool, err)
			}
			t.Skipf("no %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	defer func(old func() string) { self = old }(self)
	self = func() string { return "./healthcode" }

	out, env, url, stop := startDemo(t, dir)
	// The demo's commands: lines after "Try it", comments skipped, a
	// trailing backslash joining the next line.
	var demoCmds []string
	_, tryIt, ok := strings.Cut(out, "\nTry it")
	if !ok {
		t.Fatalf("no \"Try it\" in:\n%s", out)
	}
	cur := ""
	for _, l := range strings.Split(tryIt, "\n")[1:] {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Press Ctrl-C") {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cur += s + " "
			continue
		}
		demoCmds = append(demoCmds, cur+l)
		cur = ""
	}
	if len(demoCmds) < 5 {
		t.Fatalf("the demo printed %d commands:\n%s", len(demoCmds), out)
	}
	checkDemoShowsEveryone(t, out, env, url)
	for _, c := range demoCmds {
		if strings.HasPrefix(c, "healthcode ") || strings.HasPrefix(c, "go run ") {
			t.Errorf("%q: not how the user ran it (./healthcode)", c)
		}
		runShell(t, dir, env, c)
	}

	// The README's shell blocks, every one in order, against the demo
	// started again in the same directory, as the README has it: a fresh
	// city, whatever the first run did. Only the lines that build the
	// command, start the demo or run the tests are the test's own doing
	// (./healthcode is this binary, the demo runs on a free port that
	// replaces the README's 8080); any other line runs as printed.
	stop()
	_, env, url, _ = startDemo(t, dir)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)\n```sh\n(.*?)\n```").FindAllStringSubmatch(string(readme), -1)
	ran, skipped := 0, map[string]bool{}
	for _, b := range blocks {
		var keep []string
		for _, l := range strings.Split(b[1], "\n") {
			if skip := testsOwnLine(l); skip != "" {
				skipped[skip] = true
				continue
			}
			keep = append(keep, l)
		}
		script := strings.Join(keep, "\n")
		script = strings.NewReplacer("http://127.0.0.1:8080", url, "localhost:8080", url).Replace(script)
		if strings.TrimSpace(script) == "" {
			continue
		}
		runShell(t, dir, env, script)
		ran++
	}
	if ran < 2 {
		t.Fatalf("ran %d of the README's shell blocks", ran)
	}
	for _, want := range []string{"build", "demo", "test"} {
		if !skipped[want] {
			t.Errorf("the README's shell blocks no longer %s as the test expects: update the test", want)
		}
	}
}

// testsOwnLine says which of the README's shell lines the README test does
// itself instead of running them: "build" (go build), "demo" (starting the
// demo) or "test" (go test); "" for any other line.
func testsOwnLine(l string) string {
	switch {
	case strings.HasPrefix(l, "go build "):
		return "build"
	case strings.HasPrefix(l, "./healthcode demo"), strings.HasPrefix(l, "go run ./cmd/healthcode demo"):
		return "demo"
	case strings.HasPrefix(l, "go test "):
		return "test"
	}
	return ""
}

// runShell runs script with sh -e in dir, curl failing on an HTTP error, and
// fails the test if it exits non-zero or a response says "rejected".
func runShell(t *testing.T, dir string, env map[string]string, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-ec", "curl() { command curl --fail-with-body \"$@\"; }\n"+script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pasted as printed, it fails (%v):\n%s\n---\n%s", err, script, out)
	}
	if strings.Contains(string(out), `"rejected"`) {
		t.Fatalf("pasted as printed, the node rejects it:\n%s\n---\n%s", script, out)
	}
	t.Logf("$ %s\n%s", script, out)
}

// startDemo runs the demo in dir (its data in dir/healthcode-demo, so that
// the commands' relative paths resolve there) until stop or the end of the
// test (with --fresh, as the README starts it), and returns what it printed, the tokens by role (ADMIN, LAB,
// SAMPLER, CITIZEN…) and the citizen's ID number as a user would copy them,
// and its URL.
func startDemo(t *testing.T, dir string) (out string, env map[string]string, url string, stop func()) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// ./healthcode: this test binary, run as the command (see TestMain).
	wrapper := "#!/bin/sh\nHEALTHCODE_TEST_AS_CLI=1 exec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "healthcode"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		code := runDemo(ctx, []string{"--fresh", "--data", filepath.Join(dir, "healthcode-demo"), "--people", "1000", "--addr", "127.0.0.1:0", "--log-format", "json"}, pw, errb)
		pw.Close()
		done <- code
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("demo exited %d:\n%s", code, errb.String())
			}
		})
	}
	t.Cleanup(stop)
	var printed []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	out = strings.Join(printed, "\n")
	if !strings.Contains(out, "Press Ctrl-C") {
		t.Fatalf("the demo stopped before it was ready:\n%s\n%s", out, errb.String())
	}

	// The tokens, as a user would copy them from the table.
	env = map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (\w+) .* (hc_\S+)$`).FindAllStringSubmatch(out, -1) {
		key := strings.ToUpper(m[1])
		if _, ok := env[key]; !ok {
			env[key] = m[2]
		}
	}
	if m := regexp.MustCompile(`; ID (\S+)`).FindStringSubmatch(out); m != nil {
		env["ID"] = m[1]
	}
	for _, k := range []string{"ADMIN", "SAMPLER", "LAB", "CITIZEN", "ID"} {
		if env[k] == "" {
			t.Fatalf("the demo printed no %s:\n%s", k, out)
		}
	}
	u := regexp.MustCompile(`Open (http://\S+?)/login `).FindStringSubmatch(out)
	if u == nil {
		t.Fatalf("no URL in:\n%s", out)
	}
	return out, env, u[1], stop
}

// checkDemoShowsEveryone: the demo prints, in one table, a token for every
// role (and its page where it has one), officials of two units for each
// role that takes part in a two-official step, a live venue with its poster,
// and citizens in each situation: a confirmed case, a close contact, one
// with an override awaiting approval and one with an appeal awaiting an
// answer, each of which the node shows them.
func checkDemoShowsEveryone(t *testing.T, out string, env map[string]string, url string) {
	t.Helper()
	rows := regexp.MustCompile(`(?m)^  (\w+)  +(.+?)  +(\S.*?)  +(/\S*|\(API, CLI\))  +(hc_\S+)$`).FindAllStringSubmatch(out, -1)
	units := map[string]map[string]bool{}
	tokens := map[string][]string{}
	pages := map[string]string{}
	for _, r := range rows {
		if units[r[1]] == nil {
			units[r[1]] = map[string]bool{}
		}
		units[r[1]][strings.TrimSpace(r[3])] = true
		tokens[r[1]] = append(tokens[r[1]], r[5])
		pages[r[1]] = r[4]
	}
	for _, role := range []string{"admin", "sampler", "lab", "clinic", "epidemiologist", "verifier", "operator", "approver", "auditor", "venue", "peer"} {
		if len(tokens[role]) == 0 {
			t.Errorf("the demo prints no token for a %s:\n%s", role, out)
		}
	}
	// Both sides of every two-official step, of two units.
	for _, role := range []string{"sampler", "lab", "clinic", "epidemiologist", "operator", "approver", "auditor"} {
		if len(units[role]) < 2 {
			t.Errorf("the demo's %ss are of %d unit(s), want two", role, len(units[role]))
		}
	}
	for role, want := range map[string]string{"citizen": "/", "verifier": "/verify", "operator": "/console", "approver": "/console", "auditor": "/console", "epidemiologist": "/console"} {
		if pages[role] != want {
			t.Errorf("the demo shows the %s page %q, want %q", role, pages[role], want)
		}
	}
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The venue is live: its code answers, and its poster page is served.
	if m := regexp.MustCompile(`/venue/(v\w+) `).FindStringSubmatch(out); m == nil {
		t.Errorf("the demo shows no venue poster:\n%s", out)
	} else if st, body := get("/api/v1/venues/"+m[1]+"/code", tokens["venue"][0]); st != 200 || !strings.Contains(body, "HCV1:") {
		t.Errorf("the demo's venue has no live code: %d %s", st, body)
	}
	// The citizens, each in their situation as the node shows it to them.
	citizens := regexp.MustCompile(`(?m)^  citizen .* (hc_\S+)\n +↳ (.*)$`).FindAllStringSubmatch(out, -1)
	seen := map[string]bool{}
	for _, c := range citizens {
		tok, note := c[1], c[2]
		_, code := get("/api/v1/me/code", tok)
		switch {
		case strings.Contains(note, "a confirmed case"):
			seen["case"] = strings.Contains(code, `"colour":"red"`)
		case strings.Contains(note, "a close contact"):
			seen["contact"] = strings.Contains(code, "close_contact") || strings.Contains(code, "quarantine")
		case strings.Contains(note, "override awaits"):
			seen["override"] = regexp.MustCompile(`"pending_overrides":\[\{`).MatchString(code)
		case strings.Contains(note, "appeal awaits"):
			_, appeals := get("/api/v1/me/appeals", tok)
			seen["appeal"] = strings.Contains(appeals, `"status":"open"`)
		}
	}
	for _, k := range []string{"case", "contact", "override", "appeal"} {
		if !seen[k] {
			t.Errorf("the demo shows no citizen with %s as the node answers them:\n%s", map[string]string{"case": "a confirmed case (red)", "contact": "a close contact", "override": "a pending override", "appeal": "an open appeal"}[k], out)
		}
	}
}
