package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"healthcode"
	"healthcode/batch"
)

// localSubmitter submits chunks into the node in dir as the token's lab,
// as `healthcode import --data` does.
func localSubmitter(t *testing.T, dir, token string) (submitFunc, func()) {
	t.Helper()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = dir
	if err := cfg.finish(); err != nil {
		t.Fatal(err)
	}
	n, err := openExistingNode(ctx, cfg, healthcode.SystemClock{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	actor, err := n.engine.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, key string, subs []healthcode.Submission) ([]chunkResult, error) {
		outs, err := n.engine.SubmitOnce(ctx, actor, key, subs)
		if err != nil {
			return nil, err
		}
		res := make([]chunkResult, len(outs))
		for i, o := range outs {
			res[i] = chunkResult{Line: o.Line, Status: o.Status}
			if o.Err != nil {
				res[i].Reason = message(o.Err)
			}
		}
		return res, nil
	}, func() { n.close() }
}

// TestImportCrashAfterCommitCountsExactly: the import dies after a chunk
// has committed but before its progress is recorded — the one window where
// a resumed import used to count that chunk's rows as duplicates. Resumed,
// the summary is exact (the chunk is answered as the first time, under its
// key) and the rejected-rows file lists each rejected row once.
func TestImportCrashAfterCommitCountsExactly(t *testing.T) {
	t.Parallel()
	in := prepareImportNode(t)
	const rows, chunk, before = 60, 10, 15
	round := in.round(t, time.Now().Add(-48*time.Hour), false, rows)
	// The first rows were imported earlier: real duplicates.
	early := newBatchFileBuilder(batch.CSV)
	early.rows(t, round[:before]...)
	wantImportSummary(t, importRun("import", "--data", in.dir, "--token", in.token, early.write(t, filepath.Join(t.TempDir(), "early.csv"))),
		exitOK, importSummary(before, 0, 0))

	f := newBatchFileBuilder(batch.CSV)
	f.rows(t, round[:25]...)
	f.badLine("NO-SUCH-TUBE-1,nucleic_acid_test,negative", "tube.unknown")
	f.rows(t, round[25:]...)
	f.badLine("NO-SUCH-TUBE-2,nucleic_acid_test,negative", "tube.unknown")
	path := f.write(t, filepath.Join(t.TempDir(), "round.csv"))

	submit, closeNode := localSubmitter(t, in.dir, in.token)
	crash := errors.New("killed after the commit")
	chunks := 0
	dying := func(ctx context.Context, key string, subs []healthcode.Submission) ([]chunkResult, error) {
		res, err := submit(ctx, key, subs)
		if chunks++; chunks == 3 && err == nil {
			return nil, crash // committed, but the import never hears of it
		}
		return res, err
	}
	if _, err := importFile(context.Background(), path, batch.CSV, chunk, false, dying, io.Discard, io.Discard); !errors.Is(err, crash) {
		t.Fatalf("first run: %v", err)
	}
	sum, err := importFile(context.Background(), path, batch.CSV, chunk, false, submit, io.Discard, io.Discard)
	closeNode()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accepted != rows-before || sum.Duplicates != before || sum.Rejected != 2 {
		t.Fatalf("summary after a crash between commit and progress: accepted %d, duplicates %d, rejected %d; want %d, %d, 2",
			sum.Accepted, sum.Duplicates, sum.Rejected, rows-before, before)
	}
	b, err := os.ReadFile(path + ".rejected")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "rejected:"); got != 2 {
		t.Fatalf("the rejected-rows file lists %d rows, want 2:\n%s", got, b)
	}
}

// TestImportKilledTenTimes kills `healthcode import` (a child process) with
// SIGKILL ten times at random moments, resuming each time, then lets it
// finish: the summary is exact, every row is stored once, the rejected-rows
// file lists each rejected row once, and no temporary file is left.
func TestImportKilledTenTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the import as a child process")
	}
	t.Parallel()
	in := prepareImportNode(t)
	const rows, before = 900, 100
	round := in.round(t, time.Now().Add(-48*time.Hour), false, rows)
	early := newBatchFileBuilder(batch.CSV)
	early.rows(t, round[:before]...)
	wantImportSummary(t, importRun("import", "--data", in.dir, "--token", in.token, early.write(t, filepath.Join(t.TempDir(), "early.csv"))),
		exitOK, importSummary(before, 0, 0))
	f := newBatchFileBuilder(batch.CSV)
	bad := 0
	for i := 0; i < rows; i += 100 {
		f.rows(t, round[i:min(i+100, rows)]...)
		f.badLine(fmt.Sprintf("NO-SUCH-TUBE-%d,nucleic_acid_test,negative", i), "tube.unknown")
		bad++
	}
	dir := t.TempDir()
	path := f.write(t, filepath.Join(dir, "round.csv"))
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--data", in.dir, "--token", in.token, "--chunk", "10", path}
	rng := rand.New(rand.NewPCG(1, 2))
	// progressed reports the offset the import last recorded (0 if none).
	progressed := func() int64 {
		b, err := os.ReadFile(path + ".progress")
		if err != nil {
			return 0
		}
		var p importProgress
		json.Unmarshal(b, &p)
		return p.Offset
	}
	var final string
	kills := 0
	for {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HEALTHCODE_TEST_AS_CLI=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var printed strings.Builder
		done := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				printed.WriteString(sc.Text() + "\n")
			}
			close(done)
		}()
		killed := false
		if kills < 10 {
			// Once this run has recorded a chunk, a moment later: inside
			// a chunk, between a commit and its record, or while the
			// record is written.
			from := progressed()
		wait:
			for {
				select {
				case <-done:
					break wait
				case <-time.After(2 * time.Millisecond):
				}
				if progressed() > from {
					time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
					break wait
				}
			}
		}
		<-done
		err = cmd.Wait()
		if !killed {
			final = printed.String()
			if err != nil && !strings.Contains(err.Error(), "exit status 3") {
				t.Fatalf("the last run: %v\n%s", err, final)
			}
			break
		}
		kills++
	}
	if kills < 10 {
		t.Fatalf("the import finished after %d kills: make the file longer", kills)
	}
	want := importSummary(rows-before, before, bad)
	if !strings.HasSuffix(final, want) {
		t.Fatalf("after ten kills the summary is\n%s\nwant %s", final, want)
	}
	b, err := os.ReadFile(path + ".rejected")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "rejected:"); got != bad {
		t.Fatalf("the rejected-rows file lists %d rows, want %d", got, bad)
	}
	for i, ok := range in.stored(t, f.samples) {
		if !ok {
			t.Fatalf("row %d not stored", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if _, err := os.Stat(path + ".progress"); err == nil || len(left) > 0 {
		t.Fatalf("a finished import left its progress or temporary files: %v", left)
	}
}
