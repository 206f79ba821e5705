package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"healthcode"
	"healthcode/batch"
	"healthcode/sim"

	"github.com/google/go-cmp/cmp"
)

// importNode is a node directory prepared as startNode prepares one, then
// closed, so that `healthcode import --data DIR` opens it itself.
type importNode struct {
	dir   string
	token string // the lab's
	lab   sim.Institution
	city  *sim.City
}

func prepareImportNode(t *testing.T) *importNode {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir = dir
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	n, err := openNode(ctx, cfg, healthcode.NewManualClock(t0), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	n.engine.TokenTTL = farTokens()
	if err := n.publishBaselineIfNone(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := sim.New(sim.Config{Seed: 7, People: 1000, Region: cfg.Region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	var pds []healthcode.PersonalData
	for c := range city.People() {
		pds = append(pds, c.PersonalData())
	}
	if err := n.engine.RegisterPeople(ctx, pds); err != nil {
		t.Fatal(err)
	}
	lab := city.Labs[0]
	p := lab.Principal()
	tok, err := n.engine.CreateToken(ctx, &p)
	if err != nil {
		t.Fatal(err)
	}
	return &importNode{dir: dir, token: tok, lab: lab, city: city}
}

// withNode opens the node directory again (after an import has closed it)
// and runs fn inside a read transaction.
func (in *importNode) view(t *testing.T, fn func(ctx context.Context, n *node, tx healthcode.ReadTx) error) {
	t.Helper()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = in.dir
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	n, err := openNode(ctx, cfg, healthcode.NewManualClock(t0), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if err := n.db.View(ctx, func(tx healthcode.ReadTx) error { return fn(ctx, n, tx) }); err != nil {
		t.Fatal(err)
	}
}

// stored reports, for each tube, whether the lab's result for it is in the
// node's store.
func (in *importNode) stored(t *testing.T, tubes []string) []bool {
	t.Helper()
	out := make([]bool, len(tubes))
	in.view(t, func(ctx context.Context, _ *node, tx healthcode.ReadTx) error {
		for i, id := range tubes {
			tube, err := tx.Tube(ctx, id)
			switch healthcode.ErrorCode(err) {
			case "":
				out[i] = tube.Resulted() && tube.ResultBy == in.lab.ID
			case healthcode.ENOTFOUND:
			default:
				return err
			}
		}
		return nil
	})
	return out
}

// round has the city's first sampling site collect the samples of the
// first people people of a testing round, in the closed node directory,
// and returns the lab's batch rows for them: one per tube.
func (in *importNode) round(t *testing.T, at time.Time, pooled bool, people int) []batch.Row {
	t.Helper()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = in.dir
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	n, err := openNode(ctx, cfg, healthcode.NewManualClock(t0), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	return collectRound(t, n, in.city, in.lab, at, pooled, people)
}

// collectRound collects the samples of the first people people of a
// testing round through n's engine, as the city's first sampling site,
// and returns the lab's rows: one per tube.
func collectRound(t *testing.T, n *node, city *sim.City, lab sim.Institution, at time.Time, pooled bool, people int) []batch.Row {
	t.Helper()
	var rows []batch.Row
	var cols []healthcode.CollectionRequest
	for r := range city.TestingRound(at, city.Samplers[0], lab, pooled) {
		cols = append(cols, r.Collection(len(cols)))
		if r.LastInTube || len(cols) == people {
			rows = append(rows, batch.Row{Tube: r.Tube, Kind: r.Kind, Result: r.Result})
		}
		if len(cols) == people {
			break
		}
	}
	sampler := city.Samplers[0].Principal()
	outs, err := n.engine.Collect(context.Background(), &sampler, cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Status == healthcode.Rejected {
			t.Fatalf("collection %d: %v", o.Line, o.Err)
		}
	}
	return rows
}

// batchFileBuilder builds a batch file line by line, keeping the line number and
// the byte offset after each line.
type batchFileBuilder struct {
	format  batch.Format
	buf     bytes.Buffer
	w       *batch.Writer
	line    int            // number of the last line written
	offsets []int64        // byte offset after each good row
	samples []string       // tube ids
	bad     map[int]string // line → the detail sub-code it must be rejected with
}

func newBatchFileBuilder(format batch.Format) *batchFileBuilder {
	f := &batchFileBuilder{format: format, bad: map[int]string{}}
	f.w = batch.NewWriter(&f.buf, format)
	return f
}

func (f *batchFileBuilder) rows(t *testing.T, rows ...batch.Row) {
	t.Helper()
	for _, r := range rows {
		if err := f.w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := f.w.Flush(); err != nil {
			t.Fatal(err)
		}
		if f.line == 0 && f.format == batch.CSV {
			f.line++ // the header
		}
		f.line++
		f.offsets = append(f.offsets, int64(f.buf.Len()))
		f.samples = append(f.samples, r.Tube)
	}
}

// badLine adds a line that must be rejected with the detail sub-code.
func (f *batchFileBuilder) badLine(line, detail string) {
	f.buf.WriteString(line + "\n")
	f.line++
	f.bad[f.line] = detail
}

func (f *batchFileBuilder) write(t *testing.T, path string) string {
	t.Helper()
	if err := os.WriteFile(path, f.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type importResult struct {
	code           int
	stdout, stderr string
}

func importRun(args ...string) importResult {
	return importRunCtx(context.Background(), args...)
}

func importRunCtx(ctx context.Context, args ...string) importResult {
	var out, errb bytes.Buffer
	code := Run(ctx, args, &out, &errb)
	return importResult{code, out.String(), errb.String()}
}

var importRejectedRE = regexp.MustCompile(`(?m)^line (\d+): rejected: (.*)$`)

// importRejectedLines parses the "line N: rejected: REASON" lines of an import's
// output into line → reason.
func importRejectedLines(stdout string) map[int]string {
	m := map[int]string{}
	for _, sm := range importRejectedRE.FindAllStringSubmatch(stdout, -1) {
		n, _ := strconv.Atoi(sm[1])
		m[n] = sm[2]
	}
	return m
}

// checkImportRejected checks that exactly the file's bad lines are reported, each
// with its detail sub-code.
func checkImportRejected(t *testing.T, f *batchFileBuilder, stdout string) {
	t.Helper()
	got := importRejectedLines(stdout)
	var gotLines, wantLines []int
	for l := range got {
		gotLines = append(gotLines, l)
	}
	for l := range f.bad {
		wantLines = append(wantLines, l)
	}
	sort.Ints(gotLines)
	sort.Ints(wantLines)
	if diff := cmp.Diff(wantLines, gotLines); diff != "" {
		t.Errorf("rejected lines (-want +got):\n%s\n%s", diff, stdout)
	}
	for l, detail := range f.bad {
		if r, ok := got[l]; ok && !strings.Contains(r, "("+detail+")") {
			t.Errorf("line %d rejected for %q, want the reason %s", l, r, detail)
		}
	}
}

func importSummary(accepted, duplicates, rejected int) string {
	return fmt.Sprintf("accepted %d, duplicates %d, rejected %d\n", accepted, duplicates, rejected)
}

func wantImportSummary(t *testing.T, r importResult, code int, sum string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if !strings.HasSuffix(r.stdout, sum) {
		t.Errorf("summary: stdout ends %q, want %q", importLastLine(r.stdout), sum)
	}
}

func importLastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:] + "\n"
}

// messyImportFile is a round's results (their samples collected) with
// hand-made bad lines among them: some refused by the reader, some by the
// engine.
func messyImportFile(t *testing.T, format batch.Format, rows []batch.Row) *batchFileBuilder {
	t.Helper()
	f := newBatchFileBuilder(format)
	half := len(rows) / 2
	f.rows(t, rows[:half]...)
	other := map[string]string{healthcode.Positive: healthcode.Negative, healthcode.Negative: healthcode.Positive}[rows[0].Result]
	if format == batch.CSV {
		f.badLine("BAD-1,nucleic_acid_test,negative", "tube.unknown")
		f.badLine(",nucleic_acid_test,negative", "batch.missing")
		f.badLine(rows[0].Tube+",nucleic_acid_test,"+other, "tube.resulted")
		f.rows(t, rows[half:]...)
		f.badLine(rows[1].Tube+",x_ray,negative", "batch.kind")
		f.badLine(rows[1].Tube+",nucleic_acid_test,maybe", "batch.result")
		f.badLine(rows[1].Tube+",nucleic_acid_test", "batch.fields")
	} else {
		f.badLine(`{"tube_id":"BAD-1","result":"negative"}`, "tube.unknown")
		f.badLine(`{"tube_id":"BAD-3",`, "batch.json")
		f.badLine(`{"tube_id":"`+rows[0].Tube+`","result":"`+other+`"}`, "tube.resulted")
		f.rows(t, rows[half:]...)
		f.badLine(`{"tube_id":"`+rows[1].Tube+`","result":"negative","id_number":"11010519491231002X"}`, "batch.id_number")
		f.badLine(`{"tube_id":"`+rows[1].Tube+`","result":"maybe"}`, "batch.result")
	}
	return f
}

func TestImportFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		format batch.Format
		ext    string
		at     time.Time
	}{
		{"csv", batch.CSV, ".csv", t0.Add(-48 * time.Hour)},
		{"jsonl", batch.JSONLines, ".jsonl", t0.Add(-24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := prepareImportNode(t)
			rows := in.round(t, tc.at, tc.format == batch.CSV, 1000)
			good := len(rows)
			f := messyImportFile(t, tc.format, rows)
			path := f.write(t, filepath.Join(t.TempDir(), "round"+tc.ext))

			r := importRun("import", "--data", in.dir, "--token", in.token, "--chunk", "25", path)
			wantImportSummary(t, r, exitRejected, importSummary(good, 0, len(f.bad)))
			checkImportRejected(t, f, r.stdout)
			if _, err := os.Stat(path + ".progress"); !os.IsNotExist(err) {
				t.Errorf("a finished import left %s.progress (%v)", path, err)
			}
			for i, ok := range in.stored(t, f.samples) {
				if !ok {
					t.Errorf("row %d (%s) was not stored", i, f.samples[i])
				}
			}

			// Again: every good row is a duplicate, the bad ones are rejected again.
			r = importRun("import", "--data", in.dir, "--token", in.token, "--chunk", "25", path)
			wantImportSummary(t, r, exitRejected, importSummary(0, good, len(f.bad)))
			checkImportRejected(t, f, r.stdout)

			// A clean file: exit 0, and 0 again when every row is a duplicate.
			clean := newBatchFileBuilder(tc.format)
			clean.rows(t, in.round(t, tc.at.Add(-24*time.Hour), false, 60)...)
			cpath := clean.write(t, filepath.Join(t.TempDir(), "clean"+tc.ext))
			r = importRun("import", "--data", in.dir, "--token", in.token, cpath)
			wantImportSummary(t, r, exitOK, importSummary(60, 0, 0))
			if strings.Contains(r.stdout, "rejected:") {
				t.Errorf("clean file: %s", r.stdout)
			}
			r = importRun("import", "--data", in.dir, "--token", in.token, "--format", tc.name, cpath)
			wantImportSummary(t, r, exitOK, importSummary(0, 60, 0))
		})
	}
}

func TestImportPositivePooledTubeTurnsMembersRed(t *testing.T) {
	t.Parallel()
	in := prepareImportNode(t)
	rows := in.round(t, t0.Add(-48*time.Hour), true, 30)
	if len(rows) != 3 {
		t.Fatalf("%d tubes for 30 people, want 3", len(rows))
	}
	rows[1].Result = healthcode.Positive // the second tube
	f := newBatchFileBuilder(batch.CSV)
	f.rows(t, rows...)
	r := importRun("import", "--data", in.dir, "--token", in.token, f.write(t, filepath.Join(t.TempDir(), "mix.csv")))
	wantImportSummary(t, r, exitOK, importSummary(3, 0, 0))
	in.view(t, func(ctx context.Context, n *node, tx healthcode.ReadTx) error {
		for i := range 40 {
			d, err := tx.Decision(ctx, n.engine.Keys.Pseudonymize(n.cfg.Region, in.city.Person(i).IDNumber))
			red := i >= 10 && i < 20
			switch {
			case red && (err != nil || d.Colour != healthcode.Red || d.RuleID != "pooled_positive"):
				t.Errorf("member %d of the positive tube: %+v, %v", i, d, err)
			case !red && healthcode.ErrorCode(err) != healthcode.ENOTFOUND:
				t.Errorf("person %d of a negative tube (or of none): %+v, %v; want no decision", i, d, err)
			}
		}
		return nil
	})
}

// writeImportProgress leaves a progress file as an import interrupted after the
// first k rows of f would have.
func writeImportProgress(t *testing.T, path string, f *batchFileBuilder, k int, modTime int64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if modTime == 0 {
		modTime = st.ModTime().UnixNano()
	}
	b, err := json.Marshal(importProgress{Size: st.Size(), ModTime: modTime, Offset: f.offsets[k-1], Accepted: k})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".progress", b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportResumes(t *testing.T) {
	t.Parallel()
	const rows, done = 100, 40
	for _, tc := range []struct {
		name    string
		format  batch.Format
		ext     string
		restart bool
		stale   bool // the progress file is for another version of the file
		resumed bool
	}{
		{"csv", batch.CSV, ".csv", false, false, true},
		{"jsonl", batch.JSONLines, ".jsonl", false, false, true},
		{"csv with --restart", batch.CSV, ".csv", true, false, false},
		{"csv with stale progress", batch.CSV, ".csv", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := prepareImportNode(t)
			f := newBatchFileBuilder(tc.format)
			f.rows(t, in.round(t, t0.Add(-48*time.Hour), false, rows)...)
			path := f.write(t, filepath.Join(t.TempDir(), "round"+tc.ext))
			var modTime int64
			if tc.stale {
				modTime = 12345
			}
			writeImportProgress(t, path, f, done, modTime)
			args := []string{"import", "--data", in.dir, "--token", in.token, "--chunk", "10"}
			if tc.restart {
				args = append(args, "--restart")
			}
			r := importRun(append(args, path)...)
			// The summary counts the rows the interrupted run did.
			wantImportSummary(t, r, exitOK, importSummary(rows, 0, 0))
			if got := strings.Contains(r.stderr, "resuming"); got != tc.resumed {
				t.Errorf("stderr says resuming: %v, want %v\n%s", got, tc.resumed, r.stderr)
			}
			stored := in.stored(t, f.samples)
			for i, ok := range stored {
				want := !tc.resumed || i >= done
				if ok != want {
					t.Errorf("row %d stored: %v, want %v", i, ok, want)
				}
			}
			if _, err := os.Stat(path + ".progress"); !os.IsNotExist(err) {
				t.Errorf("a finished import left %s.progress (%v)", path, err)
			}
		})
	}

	t.Run("offset inside a line", func(t *testing.T) {
		t.Parallel()
		in := prepareImportNode(t)
		f := newBatchFileBuilder(batch.CSV)
		f.rows(t, in.round(t, t0.Add(-48*time.Hour), false, 20)...)
		path := f.write(t, filepath.Join(t.TempDir(), "round.csv"))
		f.offsets[9]++ // one byte into row 11
		writeImportProgress(t, path, f, 10, 0)
		r := importRun("import", "--data", in.dir, "--token", in.token, path)
		if r.code != exitError || !strings.Contains(r.stderr, "batch.offset") {
			t.Errorf("import with a bad resume offset = %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = importRun("import", "--data", in.dir, "--token", in.token, "--restart", path)
		wantImportSummary(t, r, exitOK, importSummary(20, 0, 0))
	})
}

func TestImportThroughServerMatchesLocal(t *testing.T) {
	t.Parallel()
	at := t0.Add(-48 * time.Hour)
	// Local, into a closed node directory.
	in := prepareImportNode(t)
	lf := messyImportFile(t, batch.CSV, in.round(t, at, true, 800))
	lpath := lf.write(t, filepath.Join(t.TempDir(), "round.csv"))
	local := importRun("import", "--data", in.dir, "--token", in.token, "--chunk", "25", lpath)

	// Through the API of a served node holding the same city.
	tn := startNode(t, 1000)
	p := tn.city.Labs[0].Principal()
	tok := tn.token(t, p)
	sf := messyImportFile(t, batch.CSV, collectRound(t, tn.node, tn.city, tn.city.Labs[0], at, true, 800))
	if !bytes.Equal(lf.buf.Bytes(), sf.buf.Bytes()) {
		t.Fatal("the two files differ")
	}
	spath := sf.write(t, filepath.Join(t.TempDir(), "round.csv"))
	remote := importRun("import", "--server", tn.url+"/", "--token", tok, "--chunk", "25", spath)
	wantImportSummary(t, remote, exitRejected, importSummary(80, 0, len(sf.bad)))
	checkImportRejected(t, sf, remote.stdout)
	// The local import says which store it used; the rest is the same.
	storeLine, rest, _ := strings.Cut(local.stderr, "\n")
	if !strings.HasPrefix(storeLine, "healthcode import: store "+in.dir) {
		t.Errorf("the local import does not say which store it used: %q", local.stderr)
	}
	// Each names its own file of rejected rows.
	local.stderr = strings.ReplaceAll(rest, lpath, "FILE")
	remote.stderr = strings.ReplaceAll(remote.stderr, spath, "FILE")
	if diff := cmp.Diff(local, remote, cmp.AllowUnexported(importResult{})); diff != "" {
		t.Errorf("local and --server imports differ (-local +server):\n%s", diff)
	}
	ctx := context.Background()
	err := tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		for _, s := range sf.samples {
			if tube, err := tx.Tube(ctx, s); err != nil || tube.ResultBy != p.ID {
				return fmt.Errorf("%s: %+v, %v", s, tube, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	remote = importRun("import", "--server", tn.url, "--token", tok, "--chunk", "25", spath)
	wantImportSummary(t, remote, exitRejected, importSummary(0, 80, len(sf.bad)))

	t.Run("unknown token", func(t *testing.T) {
		r := importRun("import", "--server", tn.url, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", spath)
		if r.code != exitError || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "unknown token") {
			t.Errorf("import with an unknown token = %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// Not parallel: it clears HEALTHCODE_TOKEN.
func TestImportUsage(t *testing.T) {
	t.Setenv("HEALTHCODE_TOKEN", "")
	in := prepareImportNode(t)
	f := newBatchFileBuilder(batch.CSV)
	f.rows(t, in.round(t, t0.Add(-48*time.Hour), false, 5)...)
	path := f.write(t, filepath.Join(t.TempDir(), "round.csv"))

	var citizen string
	{
		ctx := context.Background()
		cfg := defaultConfig()
		cfg.DataDir = in.dir
		if err := cfg.finish(); err != nil {
			t.Fatal(err)
		}
		n, err := openNode(ctx, cfg, healthcode.NewManualClock(t0), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		n.engine.TokenTTL = farTokens()
		pseudonym := n.engine.Keys.Pseudonymize(cfg.Region, in.city.Person(0).IDNumber)
		citizen, err = n.engine.CreateToken(ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: pseudonym})
		n.close()
		if err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of the message
	}{
		{"no token", []string{"--data", in.dir, path}, exitUsage, "usage: healthcode import"},
		{"no file", []string{"--data", in.dir, "--token", in.token}, exitUsage, "usage: healthcode import"},
		{"two files", []string{"--data", in.dir, "--token", in.token, path, path}, exitUsage, "usage: healthcode import"},
		{"chunk of 0", []string{"--data", in.dir, "--token", in.token, "--chunk", "0", path}, exitUsage, "usage: healthcode import"},
		{"chunk too large", []string{"--data", in.dir, "--token", in.token, "--chunk", "5001", path}, exitUsage, "usage: healthcode import"},
		{"unknown flag", []string{"--data", in.dir, "--token", in.token, "--force", path}, exitUsage, "provided but not defined: -force"},
		{"unknown format", []string{"--data", in.dir, "--token", in.token, "--format", "xlsx", path}, exitError, "unknown batch format"},
		{"unknown token", []string{"--data", in.dir, "--token", "hc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", path}, exitError,
			"healthcode import: unknown token (auth.unknown_token)"},
		{"malformed token", []string{"--data", in.dir, "--token", "letmein", path}, exitError,
			"healthcode import: missing or malformed bearer token (auth.bad_token)"},
		{"citizen token", []string{"--data", in.dir, "--token", citizen, path}, exitError, "(auth.role)"},
		{"missing file", []string{"--data", in.dir, "--token", in.token, path + ".gone"}, exitError, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := importRun(append([]string{"import"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d with %q in stderr\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, tc.stderr, r.stdout, r.stderr)
			}
		})
	}
	// None of the refused runs imported anything.
	for i, ok := range in.stored(t, f.samples) {
		if ok {
			t.Errorf("row %d was stored by a refused import", i)
		}
	}
	if r := importRun("import", "--help"); r.code != exitOK || !strings.Contains(r.stderr, "--server") {
		t.Errorf("import --help = %d\n%s", r.code, r.stderr)
	}
}

// An import through the API that is cut off for real (its context ends
// while it waits for the fourth chunk) leaves progress after the third, and
// the next run carries on from there: every row stored once.
func TestImportInterruptedThroughServerResumes(t *testing.T) {
	t.Parallel()
	tn := startNode(t, 1000)
	p := tn.city.Labs[0].Principal()
	tok := tn.token(t, p)
	const rows, chunk = 100, 10
	f := newBatchFileBuilder(batch.JSONLines)
	f.rows(t, collectRound(t, tn.node, tn.city, tn.city.Labs[0], t0.Add(-48*time.Hour), false, rows)...)
	path := f.write(t, filepath.Join(t.TempDir(), "round.jsonl"))

	target, err := url.Parse(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var requests atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 4 {
			// The operator presses ^C while the fourth chunk is on its way;
			// the body is drained so that the server notices the client hang up.
			cancel()
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			http.Error(w, "interrupted", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	r := importRunCtx(ctx, "import", "--server", front.URL, "--token", tok, "--chunk", strconv.Itoa(chunk), path)
	if r.code != exitError {
		t.Fatalf("interrupted import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(path + ".progress")
	if err != nil {
		t.Fatalf("the interrupted import left no progress: %v", err)
	}
	var prog importProgress
	if err := json.Unmarshal(b, &prog); err != nil {
		t.Fatal(err)
	}
	if prog.Offset != f.offsets[3*chunk-1] || prog.Accepted != 3*chunk {
		t.Errorf("progress %+v, want offset %d after %d accepted rows", prog, f.offsets[3*chunk-1], 3*chunk)
	}

	r = importRun("import", "--server", tn.url, "--token", tok, "--chunk", strconv.Itoa(chunk), path)
	wantImportSummary(t, r, exitOK, importSummary(rows, 0, 0))
	if !strings.Contains(r.stderr, "resuming") {
		t.Errorf("the second run did not resume:\n%s", r.stderr)
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("%d requests went through the interrupted front, want 4", n)
	}
	err = tn.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		for _, s := range f.samples {
			if tube, err := tx.Tube(context.Background(), s); err != nil || tube.ResultBy != p.ID {
				return fmt.Errorf("%s: %+v, %v", s, tube, err)
			}
		}
		n, err := tx.LogSize(context.Background())
		if err != nil {
			return err
		}
		// The baseline's publication, the lab's unit, official and token,
		// each collection, and one leaf per row: negatives decide nothing.
		if n != 1+3+2*rows {
			t.Errorf("log size %d, want %d", n, 1+3+2*rows)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
