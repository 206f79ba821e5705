package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"healthcode"
	"healthcode/tlog"
)

// TestAdminCommands runs the registry's commands as the README shows them:
// admin init once on an empty node, then units, officials, a second
// admin's approval, tokens issued and revoked, each logged naming the admin;
// every mistake a message, a non-zero exit and no change.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) string {
		t.Helper()
		// --data before any positional argument: flags end at the first.
		code, out, errs := runCmd(t, append([]string{"admin", args[0], "--data", dir}, args[1:]...)...)
		if code != want {
			t.Fatalf("admin %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	field := func(out, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%q not in:\n%s", re, out)
		}
		return m[1]
	}
	out := run(exitOK, "init", "--token-ttl", "admin=12h,lab=7d", "--unit", "卫健委信息中心", "--admin", "王磊", "--admin", "李静")
	toks := regexp.MustCompile(`token (hc_\S+)`).FindAllStringSubmatch(out, -1)
	if len(toks) != 2 {
		t.Fatalf("init printed %d tokens:\n%s", len(toks), out)
	}
	admin, admin2 := toks[0][1], toks[1][1]
	first := field(out, `unit (u\w+)`)
	run(exitError, "init", "--unit", "又一个", "--admin", "甲", "--admin", "乙")

	out = run(exitOK, "unit", "--token", admin, "--name", "市疾控中心")
	cdc := field(out, `unit (u\w+)`)
	// Every official, a lab too, is only proposed by one admin: the second
	// creates it, so no single admin staffs both sides of a restriction.
	out = run(exitOK, "official", "--token", admin, "--name", "郑州市第一检测所", "--role", "lab", "--unit", cdc)
	if strings.Contains(out, "official o") && !strings.Contains(out, "proposal ") {
		t.Errorf("a lab created by one admin: %s", out)
	}
	lab := field(run(exitOK, "approve", "--token", admin2, field(out, `proposal (\d+)`)), `official (o\w+)`)
	// labToken: one admin proposes a lab's token, the second issues it.
	labToken := func() string {
		t.Helper()
		if out := run(exitOK, "token", "--token", admin, "--official", lab); !strings.Contains(out, "proposal ") || strings.Contains(out, "hc_") {
			t.Errorf("a lab's token by one admin: %s", out)
		}
		return field(run(exitOK, "token", "--token", admin2, "--official", lab), `token (hc_\S+)`)
	}
	out = run(exitOK, "official", "--token", admin, "--name", "审批人 王强", "--role", "approver", "--unit", first)
	proposal := field(out, `proposal (\d+)`)
	// The second admin must be another official: the first is refused.
	if out := run(exitError, "approve", "--token", admin, proposal); !strings.Contains(out, "official.self_approval") {
		t.Errorf("the proposer approving: %s", out)
	}
	approver := field(run(exitOK, "approve", "--token", admin2, proposal), `official (o\w+)`)
	run(exitError, "approve", "--token", admin2, proposal)
	// The approver's token: one admin only proposes it, the second issues it.
	if out := run(exitOK, "token", "--token", admin, "--official", approver); !strings.Contains(out, "proposal ") || strings.Contains(out, "hc_") {
		t.Errorf("an approver's token by one admin: %s", out)
	}
	if out := run(exitError, "token", "--token", admin, "--official", approver); !strings.Contains(out, "official.self_approval") {
		t.Errorf("the proposer issuing the approver's token: %s", out)
	}
	field(run(exitOK, "token", "--token", admin2, "--official", approver), `token (hc_\S+)`)

	// Mistakes: a message, exit 1 or 2, nothing changed.
	labTok := labToken()
	run(exitUsage, "token", "--official", lab)
	run(exitUsage, "token", "--token", admin)
	run(exitError, "unit", "--token", labTok, "--name", "x")
	run(exitError, "official", "--token", admin, "--name", "x", "--role", "wizard", "--unit", cdc)
	run(exitError, "official", "--token", admin, "--name", "x", "--role", "lab", "--unit", "u-none")
	run(exitError, "approve", "--token", admin2, "x")
	run(exitError, "revoke", "--token", admin, "t0000000000000000")

	// A citizen can revoke nothing of anyone's; a holder revokes their own.
	out = run(exitOK, "revoke", "--token", labTok, labTok)
	if !strings.Contains(out, "revoked") {
		t.Errorf("revoking one's own token: %s", out)
	}
	run(exitError, "unit", "--token", labTok, "--name", "x")
	labTok2 := labToken()
	run(exitOK, "revoke", "--token", admin, "--official", lab)
	if out := run(exitError, "revoke", "--token", labTok2, labTok2); !strings.Contains(out, "revoked") {
		t.Errorf("a revoked official's token: %s", out)
	}
	out = run(exitOK, "list", "--token", admin2)
	for _, want := range []string{cdc, lab + "  郑州市第一检测所 (lab, unit " + cdc + ") revoked", approver + "  审批人 王强 (approver, unit " + first + ") active", "proposal " + proposal} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	// The log holds each step, naming the acting admin by id and unit.
	cfg := defaultConfig()
	cfg.DataDir = dir
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	n, err := openNode(context.Background(), cfg, healthcode.SystemClock{}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	a, err := n.engine.Authenticate(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	err = n.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(context.Background())
		if err != nil {
			return err
		}
		for i := range size {
			b, err := tx.LogLeaf(context.Background(), i)
			if err != nil {
				return err
			}
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			if strings.Contains(l.Entry.ActorName, "["+a.ID+" @ "+a.Unit+"]") {
				counts[string(l.Entry.Type)+" "+l.Entry.Reason]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"unit created": 1, "official created": 0, "official proposed": 2, "official token proposed": 3, "official revoked": 1, "token issued": 0, "token revoked": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("log entries by the first admin: %v, want %v", counts, want)
			break
		}
	}
}
