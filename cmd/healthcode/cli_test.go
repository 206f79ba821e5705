package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIBadInput: every command answers a mistake with a message and a
// non-zero exit, and --help with exit 0.
func TestCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	// A node, for the mistakes made against one.
	node := t.TempDir()
	if code, out, errs := runCmd(t, "admin", "init", "--data", node, "--unit", "x", "--admin", "a", "--admin", "b"); code != exitOK {
		t.Fatalf("admin init: exit %d\n%s%s", code, out, errs)
	}
	// A directory with no node: commands that act on one refuse it, and
	// create nothing there (a new empty store would then answer every token
	// "unknown").
	none := filepath.Join(dir, "healthcode-data")
	for _, tt := range []struct {
		args []string
		exit int
		want string
	}{
		{nil, exitUsage, "usage"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"admin"}, exitUsage, "usage"},
		{[]string{"admin", "frob"}, exitUsage, "unknown command"},
		{[]string{"admin", "token", "--data", dir, "--official", "o1"}, exitUsage, "--token ADMIN is required"},
		{[]string{"admin", "token", "--data", node, "--token", "letmein", "--official", "o1"}, exitError, "malformed bearer token"},
		{[]string{"admin", "token", "--data", node, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--official", "o1"}, exitError, "unknown token"},
		{[]string{"admin", "token", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--id-number", "110105194912310021"}, exitError, "no node here"},
		{[]string{"admin", "list", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitError, "--data DIR"},
		{[]string{"admin", "rotate-key", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--qr"}, exitError, "no node here"},
		{[]string{"import", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", dir + "/none.csv"}, exitError, "no node here"},
		{[]string{"rules", "publish", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "../../rules/baseline.yaml"}, exitError, "no node here"},
		{[]string{"rules", "review", "--data", none}, exitError, "no node here"},
		{[]string{"purge", "--data", none}, exitError, "no node here"},
		{[]string{"sunset", "--data", none, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitError, "no node here"},
		{[]string{"admin", "init", "--data", dir, "--unit", "x", "--admin", "only one"}, exitUsage, "at least twice"},
		{[]string{"admin", "init", "--data", dir, "--unit", "x", "--admin", "a", "--admin", "b", "--unit-region", "999999"}, exitError, "region"},
		{[]string{"serve", "--data", dir, "--token-ttl", "admin=forever"}, exitUsage, "token lifetime"},
		{[]string{"serve", "--data", dir, "--token-ttl", "wizard=1h"}, exitUsage, "unknown role"},
		{[]string{"serve", "--data", dir, "--qr-validity", "1s"}, exitError, "qr-validity"},
		{[]string{"serve", "--data", dir, "--region", "999999"}, exitError, "region"},
		{[]string{"serve", "--no-such-flag"}, exitUsage, "flag provided but not defined"},
		{[]string{"serve", "--data", dir, "--public-url", "hc.example.gov.cn"}, exitError, "public URL"},
		{[]string{"serve", "--data", dir, "--public-url", "https://hc.example.gov.cn/app"}, exitError, "public URL"},
		{[]string{"serve", "--data", dir, "--tls-cert", dir + "/cert.pem"}, exitError, "tls-cert and tls-key"},
		{[]string{"serve", "--data", dir, "--tls-cert", dir + "/none.pem", "--tls-key", dir + "/none.key", "--addr", "127.0.0.1:0"}, exitError, "TLS certificate"},
		{[]string{"serve", "--data", dir, "--trusted-proxy", "10.0.0.1,proxy.local"}, exitError, "trusted-proxy"},
		{[]string{"demo", "--data", dir, "--people", "5", "--addr", "127.0.0.1:0"}, exitError, "people"},
		{[]string{"bench", "--only", "nope"}, exitUsage, "unknown figure"},
		{[]string{"log"}, exitUsage, "usage"},
		{[]string{"log", "verify", "--key", dir + "/none.pub", dir + "/none.db"}, exitError, "no such file"},
		{[]string{"rules"}, exitUsage, "usage"},
		{[]string{"rules", "frob"}, exitUsage, "unknown subcommand"},
		{[]string{"import", "--data", dir}, exitUsage, "usage"},
		{[]string{"verify", "--trust", dir + "/none.json", "HCN1:x"}, exitError, "no such file"},
		{[]string{"serve", "--help"}, exitOK, "HEALTHCODE_QR_VALIDITY"},
		{[]string{"--help"}, exitOK, "commands"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runCmd(t, tt.args...)
			if code != tt.exit || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.exit, tt.want, out, errs)
			}
			if _, err := os.Stat(none); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s was created (%v)", none, err)
			}
		})
	}
}
