package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/tlog"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/term"
)

// purgeEvery is how often a serving node runs the purge job (and once at
// start, so that a node restarted daily still purges).
const purgeEvery = 24 * time.Hour

// retention is the --retention setting: how long each kind of personal data
// is kept (invariant 7). Its zero value is healthcode.DefaultRetention; each
// KIND=DURATION given overrides one period.
type retention struct {
	r      *healthcode.Retention
	envErr error
}

// retentionKeys maps the names --retention accepts to what they set, besides
// each evidence kind by its own name.
var retentionKeys = map[string][]healthcode.EvidenceKind{
	"tests":      {healthcode.NucleicAcidTest, healthcode.AntigenTest},
	"contacts":   {healthcode.CloseContact, healthcode.SecondaryContact},
	"quarantine": {healthcode.QuarantineStart, healthcode.QuarantineEnd},
	"evidence":   healthcode.EvidenceKinds,
}

// Bounds of a retention period: shorter would delete data still needed for
// a decision's review; longer is no longer an emergency measure.
const (
	minRetention = time.Hour
	maxRetention = 3650 * healthcode.Day
)

// Get returns the retention in force.
func (v *retention) Get() healthcode.Retention {
	if v.r == nil {
		return healthcode.DefaultRetention()
	}
	return *v.r
}

// Err reports a bad HEALTHCODE_RETENTION (flags report their own errors).
func (v *retention) Err() error { return v.envErr }

// String lists every period, e.g. "nucleic_acid_test=28d,…,access=365d".
func (v *retention) String() string {
	if v == nil {
		return ""
	}
	r := v.Get()
	var parts []string
	for _, k := range healthcode.EvidenceKinds {
		d, ok := r.Evidence[k]
		if !ok {
			d = 28 * healthcode.Day
		}
		parts = append(parts, string(k)+"="+formatDays(d))
	}
	parts = append(parts, "checkins="+formatDays(r.CheckIns), "designations="+formatDays(r.Designations), "access="+formatDays(r.Access))
	return strings.Join(parts, ",")
}

func formatDays(d time.Duration) string {
	if d%healthcode.Day == 0 {
		return strconv.FormatInt(int64(d/healthcode.Day), 10) + "d"
	}
	return d.String()
}

// parseRetentionPeriod parses "28d" (days) or a Go duration ("36h").
func parseRetentionPeriod(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q (want e.g. 28d or 36h)", s)
		}
		d = time.Duration(days) * healthcode.Day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("bad duration %q (want e.g. 28d or 36h)", s)
		}
	}
	if d < minRetention || d > maxRetention {
		return 0, fmt.Errorf("retention %s out of range (1h to 3650d)", s)
	}
	return d, nil
}

// Set applies "KIND=DURATION[,KIND=DURATION…]" on top of the periods so far.
func (v *retention) Set(s string) error {
	r := v.Get()
	next := r
	next.Evidence = make(map[healthcode.EvidenceKind]time.Duration, len(r.Evidence))
	for k, d := range r.Evidence {
		next.Evidence[k] = d
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%q is not KIND=DURATION", item)
		}
		key = strings.TrimSpace(key)
		d, err := parseRetentionPeriod(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch kinds, group := retentionKeys[key]; {
		case group:
			for _, k := range kinds {
				next.Evidence[k] = d
			}
		case healthcode.EvidenceKind(key).Valid():
			next.Evidence[healthcode.EvidenceKind(key)] = d
		case key == "checkins":
			next.CheckIns = d
		case key == "designations":
			next.Designations = d
		case key == "access":
			next.Access = d
		default:
			return fmt.Errorf("unknown kind %q (want an evidence kind, tests, contacts, quarantine, evidence, checkins, designations or access)", key)
		}
	}
	v.r = &next
	return nil
}

// register adds --retention to fs, starting from HEALTHCODE_RETENTION if set.
func (v *retention) register(fs *flag.FlagSet) {
	const name = "retention"
	fs.Var(v, name, "how long personal data is kept before the purge job deletes it: KIND=DURATION,… where KIND is an evidence kind, "+
		"tests, contacts, quarantine, evidence (every kind), checkins, designations (from their expiry) or access (access records), "+
		"and DURATION e.g. 28d or 36h. Defaults: tests, contacts, travel, quarantine, venue exposures and check-ins 28d; diagnoses and designations 90d; "+
		"vaccinations and access records 365d (env "+envName(name)+")")
	if s, ok := os.LookupEnv(envName(name)); ok {
		if err := v.Set(s); err != nil {
			v.envErr = fmt.Errorf("%s: %w", envName(name), err)
		}
	}
}

// retentionFlag registers --retention on fs unless the config already has,
// and returns it.
func retentionFlag(fs *flag.FlagSet) *retention {
	if f := fs.Lookup("retention"); f != nil {
		if v, ok := f.Value.(*retention); ok {
			return v
		}
	}
	v := &retention{}
	v.register(fs)
	return v
}

// purgeExpired runs the purge job once and logs what it did: the hook
// node.background calls at start and every purgeEvery.
func (n *node) purgeExpired(ctx context.Context, r healthcode.Retention) {
	rep, err := n.engine.Purge(ctx, r)
	if err != nil {
		if ctx.Err() == nil {
			n.logger.Error("purging expired personal data failed", "err", err)
		}
		return
	}
	attrs := []any{"reevaluated", len(rep.Subjects)}
	for _, k := range sortedKeys(rep.Counts) {
		if rep.Counts[k] != 0 {
			attrs = append(attrs, k, rep.Counts[k])
		}
	}
	n.logger.Info("purged expired personal data", attrs...)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	cfg.register(fs)
	ret := retentionFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode purge [flags]\n\nDeletes now the personal data past its retention period (a serving node does this daily),\nre-evaluates the people concerned, logs the purge with its counts, signs a checkpoint and\nprints what was deleted.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if err := errors.Join(cfg.finishNodeConfig(fs, "purge", stderr), ret.Err()); err != nil {
		return fail(stderr, "purge", err)
	}
	if err := requireNode(cfg); err != nil {
		return fail(stderr, "purge", err)
	}
	unlock, err := lockData(cfg.DataDir)
	if err != nil {
		return fail(stderr, "purge", err)
	}
	defer unlock()
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "purge", err)
	}
	defer n.close()
	now := n.engine.Clock.Now()
	rep, err := n.engine.Purge(ctx, ret.Get())
	if err != nil {
		return fail(stderr, "purge", err)
	}
	fmt.Fprintf(stdout, "purged at %s with retention %s\n\n", now.Format(time.RFC3339), ret)
	printCounts(stdout, rep.Counts)
	fmt.Fprintf(stdout, "\n%d people re-evaluated on what remains\n", len(rep.Subjects))
	cp, err := n.log.Publish(ctx, n.engine.Clock.Now())
	if err != nil {
		return fail(stderr, "purge", fmt.Errorf("the purge is done and logged, but signing a checkpoint failed: %w", err))
	}
	if err := n.cosign(ctx); err != nil {
		fmt.Fprintf(stderr, "healthcode purge: witness cosigning incomplete: %s\n", message(err))
	}
	fmt.Fprintf(stdout, "logged; the log now holds %d entries, root %s\n", cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]))
	return exitOK
}

func printCounts(w io.Writer, counts map[string]int64) {
	for _, k := range sortedKeys(counts) {
		fmt.Fprintf(w, "  %-32s %9d\n", k, counts[k])
	}
}

const sunsetUsage = `usage: healthcode sunset --token ADMIN [--yes] [flags]

Ends the emergency. In one transaction it deletes every person and everything
about them: their data keys first (crypto-shredding: the sealed names, ID
numbers and phones become unreadable in every copy), then their sealed data,
evidence, decisions, check-ins, appeals, access records, citizens' tokens and
the openings of every log entry's pseudonym commitment. The deletion is
logged, naming the admin. Then the database file is rewritten so that no
deleted byte remains in it or its write-ahead log, a checkpoint of the log is
signed, the log is verified, and the region's pseudonym, lookup and
key-wrapping keys are shredded (so that backups cannot be read or linked to
anyone either). Stop the node before running it.

What stays: the transparency log (every entry, hash and checkpoint: officials
are named, citizens were only ever salted commitments), rule sets, venues,
risk designations, overrides (without their notes) and officials' tokens.

Without --yes it asks for confirmation on a terminal, and refuses otherwise.

flags:`

func runSunset(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fset := flag.NewFlagSet("sunset", flag.ContinueOnError)
	cfg.register(fset)
	token := fset.String("token", "", "an admin's bearer token (required)")
	yes := fset.Bool("yes", false, "do not ask for confirmation")
	fset.Usage = func() {
		fmt.Fprintln(stderr, sunsetUsage)
		fset.PrintDefaults()
	}
	if code, ok := parseFlags(fset, args, stderr); !ok {
		return code
	}
	if *token == "" || fset.NArg() != 0 {
		fset.Usage()
		return exitUsage
	}
	if err := cfg.finishNodeConfig(fset, "sunset", stderr); err != nil {
		return fail(stderr, "sunset", err)
	}
	if err := requireNode(cfg); err != nil {
		return fail(stderr, "sunset", err)
	}
	// A live node keeps keys and cached codes in memory: it must be stopped.
	unlock, err := lockData(cfg.DataDir)
	if err != nil {
		return fail(stderr, "sunset", err)
	}
	defer unlock()
	if _, err := os.Stat(cfg.DB); !isPostgres(cfg.DB) && errors.Is(err, fs.ErrNotExist) {
		return fail(stderr, "sunset", fmt.Errorf("no database file %s", cfg.DB))
	}
	if !*yes {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			fmt.Fprintln(stderr, "healthcode sunset: refusing to delete every person's data without --yes (standard input is not a terminal)")
			return exitUsage
		}
		fmt.Fprintf(stderr, "This deletes every person's data in %s for good. Type SUNSET to go on: ", displayDB(cfg.DB))
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "SUNSET" {
			fmt.Fprintln(stderr, "healthcode sunset: not confirmed; nothing deleted")
			return exitError
		}
	}
	before := storeSize(ctx, cfg.DB)
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "sunset", err)
	}
	defer n.close()
	actor, err := n.engine.Authenticate(ctx, *token)
	if err != nil {
		return fail(stderr, "sunset", err)
	}
	verifiers := note.VerifierList(n.log.Verifier)
	// The checkpoint the world has seen: the log after the sunset must
	// extend it.
	var earlier *tlog.Checkpoint
	if b, err := os.ReadFile(n.log.LastPath); err == nil {
		if earlier, err = tlog.OpenCheckpoint(b, n.log.Origin, verifiers); err != nil {
			return fail(stderr, "sunset", fmt.Errorf("the last published checkpoint: %w", err))
		}
	}
	var index int64
	if err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
		index, err = tx.LogSize(ctx)
		return err
	}); err != nil {
		return fail(stderr, "sunset", err)
	}
	at := n.engine.Clock.Now()
	rep, err := n.engine.Sunset(ctx, actor)
	if rep == nil {
		return fail(stderr, "sunset", err)
	}
	var problems []error
	if err != nil {
		problems = append(problems, err)
	}
	cp, perr := n.log.Publish(ctx, n.engine.Clock.Now())
	if perr != nil {
		problems = append(problems, fmt.Errorf("signing a checkpoint: %w", perr))
	} else if err := n.cosign(ctx); err != nil {
		fmt.Fprintf(stderr, "healthcode sunset: witness cosigning incomplete: %s\n", message(err))
	}
	verified, verr := verifyLogDB(ctx, cfg.DB, n.log.Origin, verifiers, earlier)
	if verr != nil {
		problems = append(problems, fmt.Errorf("log verify: %w", verr))
	}
	keysPath := filepath.Join(cfg.DataDir, "region-keys.json")
	kerr := shredFile(keysPath)
	if kerr != nil {
		problems = append(problems, fmt.Errorf("shredding the region keys: %w", kerr))
	}
	after := storeSize(ctx, cfg.DB)

	fmt.Fprintf(stdout, "healthcode sunset: the emergency is over for region %s.\n", cfg.Region)
	fmt.Fprintf(stdout, "Ordered by %s (%s) at %s; logged as entry %d of the transparency log.\n\n", actor.Name, actor.Role, at.Format(time.RFC3339), index)
	fmt.Fprintln(stdout, "Deleted")
	printCounts(stdout, rep.Counts)
	if kerr == nil {
		fmt.Fprintf(stdout, "  %-32s %9s  %s overwritten and removed\n", "region keys", "shredded", keysPath)
	}
	if isPostgres(cfg.DB) {
		fmt.Fprintf(stdout, "\nDatabase %s: %s before, %s after (every table rewritten; what PostgreSQL's WAL, standbys and backups still hold of people is sealed under data keys that are deleted)\n",
			displayDB(cfg.DB), humanBytes(before), humanBytes(after))
	} else {
		fmt.Fprintf(stdout, "\nDatabase %s: %s before, %s after (rewritten: no deleted byte remains in it or its write-ahead log)\n",
			cfg.DB, humanBytes(before), humanBytes(after))
	}
	fmt.Fprintln(stdout, "\nKept: the transparency log, whole and verifiable")
	if cp != nil {
		fmt.Fprintf(stdout, "  size   %d entries\n  root   %s\n  signed checkpoint in %s\n", cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]), n.log.LastPath)
	}
	if verr == nil {
		fmt.Fprintf(stdout, "  log verify: OK: %d entries verified against the signed checkpoint", verified)
		if earlier != nil {
			fmt.Fprintf(stdout, ", extending the one published before (size %d)", earlier.Size)
		}
		fmt.Fprintln(stdout, "; no stored colour left to explain")
	}
	fmt.Fprintf(stdout, "  check it yourself: healthcode log verify --key %s --checkpoint %s %s\n",
		filepath.Join(cfg.DataDir, "log-signing.pub"), n.log.LastPath, displayDB(cfg.DB))
	if len(problems) > 0 {
		return fail(stderr, "sunset", errors.Join(problems...))
	}
	return exitOK
}

// fileSizes returns the size of a database file with its WAL.
func fileSizes(db string) int64 {
	var n int64
	for _, p := range []string{db, db + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// shredFile overwrites a file with random bytes, flushes it to disk and
// removes it. (On a copy-on-write or wear-levelled disk the overwrite is
// best effort; what matters is that the keys are gone from the node.)
func shredFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		b := make([]byte, fi.Size())
		rand.Read(b)
		if _, err = f.WriteAt(b, 0); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
