package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"healthcode"
	"healthcode/batch"
	hchttp "healthcode/http"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// importProgress is kept beside the file being imported, so an interrupted
// import resumes after its last committed chunk.
type importProgress struct {
	Size       int64 `json:"size"`
	ModTime    int64 `json:"mod_time"`
	Offset     int64 `json:"offset"`
	Accepted   int   `json:"accepted"`
	Duplicates int   `json:"duplicates"`
	Rejected   int   `json:"rejected"`
	// ID names this import in the idempotency key of each chunk: a chunk
	// whose commit the import did not record (a crash between the two) is
	// sent again under the same key and answered as the first time, so the
	// summary stays exact.
	ID string `json:"id,omitempty"`
	// RejectedBytes is how much of the rejected-rows file the recorded
	// chunks wrote (a resumed import cuts it back to that).
	RejectedBytes int64 `json:"rejected_bytes,omitempty"`
}

// chunkResult is what became of one row of a chunk.
type chunkResult struct {
	Line   int
	Status string
	Reason string
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	cfg.register(fs)
	token := fs.String("token", os.Getenv("HEALTHCODE_TOKEN"), "the lab's bearer token (env HEALTHCODE_TOKEN)")
	server := fs.String("server", "", "import through a node's API at this URL instead of into the local database")
	format := fs.String("format", "auto", "file format: csv, jsonl or auto (by extension, then content)")
	chunk := fs.Int("chunk", 2000, "rows per transaction (per request with --server)")
	restart := fs.Bool("restart", false, "ignore recorded progress and start from the first row")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: healthcode import --token TOKEN [--server URL] FILE

Imports a lab's batch of test results by tube (CSV or JSON lines with the
columns tube_id, kind, result; see README), as the lab the token belongs to.
Each tube must have been collected by a sampling site of another unit.
Idempotent per tube: the same result again is counted as a duplicate. Resumable: progress is kept in FILE.progress after
each committed chunk and an interrupted import carries on from there.
Exits 0 if every row was accepted or a duplicate, 3 if any row was rejected.

flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 || *token == "" || *chunk < 1 || *chunk > hchttp.MaxBatch {
		fs.Usage()
		return exitUsage
	}
	finish := cfg.finish
	if *server == "" {
		finish = func() error { return cfg.finishNodeConfig(fs, "import", stderr) }
	}
	if err := finish(); err != nil {
		return fail(stderr, "import", err)
	}
	f, err := batchFormat(*format, fs.Arg(0))
	if err != nil {
		return fail(stderr, "import", err)
	}
	var submit submitFunc
	if *server != "" {
		submit = remoteSubmitter(strings.TrimRight(*server, "/"), *token)
	} else {
		n, err := openExistingNode(ctx, cfg, healthcode.SystemClock{}, stderr)
		if err != nil {
			return fail(stderr, "import", err)
		}
		defer n.close()
		actor, err := n.engine.Authenticate(ctx, *token)
		if err != nil {
			return fail(stderr, "import", err)
		}
		submit = func(ctx context.Context, key string, subs []healthcode.Submission) ([]chunkResult, error) {
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
		}
	}
	sum, err := importFile(ctx, fs.Arg(0), f, *chunk, *restart, submit, stdout, stderr)
	fmt.Fprintf(stdout, "accepted %d, duplicates %d, rejected %d\n", sum.Accepted, sum.Duplicates, sum.Rejected)
	if err != nil {
		return fail(stderr, "import", err)
	}
	if sum.Rejected > 0 {
		return exitRejected
	}
	return exitOK
}

func batchFormat(name, path string) (batch.Format, error) {
	if name == "auto" {
		return batch.FormatOf(path), nil
	}
	return batch.ParseFormat(name)
}

// submitFunc submits one chunk under its idempotency key.
type submitFunc func(ctx context.Context, key string, subs []healthcode.Submission) ([]chunkResult, error)

// importFile reads path and submits it in chunks, recording progress after
// each chunk. Rejected rows are printed with their line and reason (the
// first maxShown), and every one is written to path.rejected.
func importFile(ctx context.Context, path string, format batch.Format, chunk int, restart bool,
	submit submitFunc, stdout, stderr io.Writer) (importProgress, error) {
	file, err := os.Open(path)
	if err != nil {
		return importProgress{}, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return importProgress{}, err
	}
	progPath, rejPath := path+".progress", path+".rejected"
	prog := importProgress{Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	resumed := false
	if b, err := os.ReadFile(progPath); err == nil && !restart {
		var old importProgress
		if json.Unmarshal(b, &old) == nil && old.Size == prog.Size && old.ModTime == prog.ModTime {
			prog, resumed = old, true
			fmt.Fprintf(stderr, "resuming %s after byte %d (%d rows already done)\n", path, prog.Offset, prog.Accepted+prog.Duplicates+prog.Rejected)
		}
	}
	if prog.ID == "" {
		prog.ID = rand.Text()
	}
	// The rejected rows of the recorded chunks, and nothing of a chunk that
	// was not recorded (it is read and answered again).
	rejFlags := os.O_CREATE | os.O_WRONLY
	if !resumed {
		rejFlags |= os.O_TRUNC
	}
	rejFile, err := os.OpenFile(rejPath, rejFlags, 0o600)
	if err != nil {
		return prog, err
	}
	defer rejFile.Close()
	if err := rejFile.Truncate(prog.RejectedBytes); err != nil {
		return prog, err
	}
	if _, err := rejFile.Seek(prog.RejectedBytes, io.SeekStart); err != nil {
		return prog, err
	}
	rd := batch.Resume(file, format, prog.Offset)
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.DefaultBytes(st.Size(), "importing")
		bar.Set64(prog.Offset)
	}
	const maxShown = 50
	var rejected []chunkResult // this chunk's, written when it is recorded
	report := func(line int, reason string) {
		rejected = append(rejected, chunkResult{Line: line, Status: healthcode.Rejected, Reason: reason})
	}
	var subs []healthcode.Submission
	var chunkStart, lastOffset int64 = prog.Offset, prog.Offset
	flush := func() error {
		if len(subs) > 0 {
			key := fmt.Sprintf("import/%s/%d+%d", prog.ID, chunkStart, len(subs))
			res, err := submit(ctx, key, subs)
			if err != nil {
				return err
			}
			for _, r := range res {
				switch r.Status {
				case healthcode.Accepted:
					prog.Accepted++
				case healthcode.Duplicate:
					prog.Duplicates++
				default:
					report(r.Line, r.Reason)
				}
			}
			subs = subs[:0]
		}
		slices.SortFunc(rejected, func(a, b chunkResult) int { return a.Line - b.Line })
		for _, r := range rejected {
			prog.Rejected++
			if prog.Rejected <= maxShown {
				fmt.Fprintf(stdout, "line %d: rejected: %s\n", r.Line, r.Reason)
			} else if prog.Rejected == maxShown+1 {
				fmt.Fprintf(stdout, "(more rejected rows not shown: every one is in %s)\n", rejPath)
			}
			n, err := fmt.Fprintf(rejFile, "line %d: rejected: %s\n", r.Line, r.Reason)
			prog.RejectedBytes += int64(n)
			if err != nil {
				return err
			}
		}
		rejected = rejected[:0]
		if err := rejFile.Sync(); err != nil {
			return err
		}
		prog.Offset = lastOffset
		chunkStart = lastOffset
		b, _ := json.Marshal(prog)
		if bar != nil {
			bar.Set64(lastOffset)
		}
		return writeFileReplacing(progPath, b, 0o600)
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *batch.RowError
		if errors.As(err, &rowErr) {
			report(rowErr.Line, message(rowErr.Err))
			lastOffset = rowErr.ByteOffset
			continue
		} else if err != nil {
			return prog, err
		}
		subs = append(subs, row.Submission())
		lastOffset = row.ByteOffset
		if len(subs) >= chunk {
			if err := flush(); err != nil {
				return prog, err
			}
		}
		if ctx.Err() != nil {
			return prog, ctx.Err()
		}
	}
	if err := flush(); err != nil {
		return prog, err
	}
	if bar != nil {
		bar.Finish()
	}
	os.Remove(progPath)
	if prog.Rejected == 0 {
		os.Remove(rejPath)
	} else {
		fmt.Fprintf(stderr, "every rejected row is listed in %s\n", rejPath)
	}
	return prog, nil
}

// remoteSubmitter sends chunks to a node's API (hchttp.Client), each under
// its idempotency key.
func remoteSubmitter(base, token string) submitFunc {
	client := hchttp.NewClient(base).As(token)
	client.HTTP.Timeout = 5 * time.Minute // a chunk of 10,000 on a busy node
	return func(ctx context.Context, key string, subs []healthcode.Submission) ([]chunkResult, error) {
		items := make([]hchttp.EvidenceJSON, len(subs))
		for i, s := range subs {
			e := s.Evidence
			items[i] = hchttp.EvidenceJSON{Kind: string(e.Kind), Tube: s.Tube, Result: e.Result}
		}
		out, err := client.SubmitEvidenceOnce(ctx, key, items)
		if ce := hchttp.ClientProblem(err); ce != nil {
			return nil, fmt.Errorf("server answered %d: %s", ce.Status, ce.Problem.Detail)
		} else if err != nil {
			return nil, err
		}
		res := make([]chunkResult, len(subs))
		for i, o := range out.Items {
			res[i] = chunkResult{Line: subs[i].Line, Status: o.Status}
			if o.Error != nil {
				res[i].Reason = o.Error.Detail + " (" + o.Error.Reason + ")"
			}
		}
		return res, nil
	}
}
