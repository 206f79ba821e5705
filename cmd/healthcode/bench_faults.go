package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/sim"
)

// `healthcode bench --faults`: a node in a child process takes writes from
// many clients at once (check-ins, lab results, appeals), and is killed
// with SIGKILL at a random moment, then started again, --cycles times (50
// by default). Then: every write that was acknowledged (201) is in the
// store, the log verifies against the last checkpoint the node published,
// and the data directory holds only the node's own files (no temporary file
// of an atomic replacement interrupted by a kill).

type faultsReport struct {
	Cycles  int `json:"cycles"`
	Clients int `json:"clients"`
	// Acked and Lost count the acknowledged writes by kind, and those of
	// them missing after the last restart.
	Acked map[string]int `json:"acked"`
	Lost  map[string]int `json:"lost"`
	// LogVerified is `healthcode log verify` against the database and
	// the last checkpoint, after the last cycle.
	LogVerified bool   `json:"log_verified"`
	LogVerify   string `json:"log_verify,omitempty"`
	// TempsLeft counts temporary files found right after a kill (the
	// interrupted replacements), Stray the files found at a restart or at
	// the end that are not the node's own.
	TempsLeft int      `json:"temps_left_by_kills"`
	Stray     []string `json:"stray"`
	// RestartMinS and RestartMaxS bound the seconds from starting the
	// process again to /healthz answering.
	RestartMinS float64 `json:"restart_min_s"`
	RestartMaxS float64 `json:"restart_max_s"`
}

func (r faultsReport) failures() []string {
	var f []string
	for k, n := range r.Lost {
		if n > 0 {
			f = append(f, fmt.Sprintf("%d acknowledged %s lost", n, k))
		}
	}
	if !r.LogVerified {
		f = append(f, "the log does not verify: "+r.LogVerify)
	}
	if len(r.Stray) > 0 {
		f = append(f, "stray files: "+strings.Join(r.Stray, ", "))
	}
	for _, k := range []string{"checkins", "results", "appeals"} {
		if r.Acked[k] == 0 {
			f = append(f, "no "+k+" acknowledged: the load did not happen")
		}
	}
	return f
}

// faultsNode is the data a faults run writes with.
type faultsNode struct {
	dir      string
	cfg      Config
	citizens []string // bearer tokens
	venues   []string // printed venue codes
	lab      string
	tubes    []hchttp.EvidenceJSON // collected, not yet reported
}

// prepareFaultsNode builds a node's data in dir in this process: people
// with tokens, active venues, and a testing round's samples collected (the
// lab reports them during the run).
func prepareFaultsNode(ctx context.Context, dir string, people, citizens int) (*faultsNode, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	n, err := openBenchNode(ctx, &cfg, healthcode.SystemClock{})
	if err != nil {
		return nil, err
	}
	defer n.close()
	start := time.Now().UTC().Add(-72 * time.Hour)
	city, err := sim.New(sim.Config{Seed: 50, People: max(people, 1000), Region: cfg.Region, Start: start})
	if err != nil {
		return nil, err
	}
	if err := registerCity(ctx, n, city); err != nil {
		return nil, err
	}
	fn := &faultsNode{dir: dir, cfg: cfg}
	for i := 0; i < citizens; i++ {
		p := n.engine.Keys.Pseudonymize(cfg.Region, city.Person(i).IDNumber)
		tok, err := n.engine.CreateToken(ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return nil, err
		}
		fn.citizens = append(fn.citizens, tok)
	}
	venues, err := activeVenues(ctx, n, 20)
	if err != nil {
		return nil, err
	}
	for _, v := range venues {
		fn.venues = append(fn.venues, v.StaticCode())
	}
	lab, sampler := city.Labs[0].Principal(), city.Samplers[0].Principal()
	if fn.lab, err = n.engine.CreateToken(ctx, &lab); err != nil {
		return nil, err
	}
	var cols []healthcode.CollectionRequest
	for r := range city.TestingRound(start.Add(time.Hour), city.Samplers[0], city.Labs[0], false) {
		cols = append(cols, r.Collection(len(cols)))
		if r.LastInTube {
			fn.tubes = append(fn.tubes, hchttp.EvidenceJSON{Kind: string(r.Kind), Tube: r.Tube, Result: r.Result})
		}
	}
	for i := 0; i < len(cols); i += 5000 {
		outs, err := n.engine.Collect(ctx, &sampler, cols[i:min(i+5000, len(cols))])
		if err != nil {
			return nil, err
		}
		for _, o := range outs {
			if o.Status != healthcode.Accepted {
				return nil, fmt.Errorf("collection %d: %s %v", o.Line, o.Status, o.Err)
			}
		}
	}
	return fn, nil
}

// faultsServeFlags: no repeat window and a generous per-person rate (the
// writes of a burst are all new rows), and a checkpoint signed every 2 s
// so that kills land during its replacement too.
var faultsServeFlags = []string{"--checkin-repeat", "0", "--checkin-rate", "3600", "--checkin-burst", "1000", "--checkpoint-every", "2s"}

// acked is what the node acknowledged, by kind.
type acked struct {
	mu       sync.Mutex
	checkins map[int64]bool
	results  []hchttp.EvidenceJSON
	appeals  map[int]int64 // citizen index → appeal id
	// statuses counts every answer by kind and status, 0 for none.
	statuses map[string]int
}

// drive sends writes from clients goroutines to url until stop closes.
func (fn *faultsNode) drive(url string, clients int, a *acked, nextTube, nextAppeal *atomic.Int64, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			post := func(path, token string, body any) (int, []byte) {
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", url+path, bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return 0, nil // the node died mid-request: not acknowledged
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 201 {
					a.mu.Lock()
					var pr struct{ Reason string }
					json.Unmarshal(out, &pr)
					a.statuses[fmt.Sprintf("%s %d %s", path, resp.StatusCode, pr.Reason)]++
					a.mu.Unlock()
				}
				return resp.StatusCode, out
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch k := r.IntN(10); {
				case k < 6:
					st, b := post("/api/v1/checkins", fn.citizens[r.IntN(len(fn.citizens))], map[string]string{"code": fn.venues[r.IntN(len(fn.venues))]})
					var ci hchttp.CheckInJSON
					if st == 201 && json.Unmarshal(b, &ci) == nil {
						a.mu.Lock()
						a.checkins[ci.ID] = true
						a.mu.Unlock()
					}
				case k < 9:
					i := int(nextTube.Add(1)) - 1
					if i >= len(fn.tubes) {
						continue
					}
					if st, _ := post("/api/v1/evidence", fn.lab, fn.tubes[i]); st == 201 {
						a.mu.Lock()
						a.results = append(a.results, fn.tubes[i])
						a.mu.Unlock()
					}
				default:
					i := int(nextAppeal.Add(1)) - 1
					if i >= len(fn.citizens) {
						continue
					}
					st, b := post("/api/v1/me/appeals", fn.citizens[i], map[string]string{"kind": "colour", "note": fmt.Sprintf("appeal %d", i)})
					var ap hchttp.AppealJSON
					if st == 201 && json.Unmarshal(b, &ap) == nil {
						a.mu.Lock()
						a.appeals[i] = ap.ID
						a.mu.Unlock()
					}
				}
			}
		}(w)
	}
	wg.Wait()
}

// tempFiles lists dir's files named as temporary files of an atomic
// replacement (".name<digits>").
func tempFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") && strings.TrimRight(n, "0123456789") != n {
			out = append(out, n)
		}
	}
	return out
}

// nodeFiles lists the names in dir.
func nodeFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// faultCycles kills the node in fn.dir cycles times under load, and checks
// what the report says.
func faultCycles(ctx context.Context, fn *faultsNode, cycles, clients int, logf func(string, ...any)) (faultsReport, error) {
	rep := faultsReport{Cycles: cycles, Clients: clients, Acked: map[string]int{}, Lost: map[string]int{}, RestartMinS: -1}
	a := &acked{checkins: map[int64]bool{}, appeals: map[int]int64{}, statuses: map[string]int{}}
	var nextTube, nextAppeal atomic.Int64
	// The node's own files: what a clean start leaves, the files it
	// replaces (the checkpoint, once signed), and the database's WAL and
	// shared memory, which a running or killed node has.
	c, err := startChild(fn.dir, faultsServeFlags...)
	if err != nil {
		return rep, err
	}
	own := map[string]bool{}
	for _, n := range append(nodeFiles(fn.dir), replacedFiles...) {
		own[n] = true
	}
	db := filepath.Base(fn.cfg.DB)
	own[db+"-wal"], own[db+"-shm"] = true, true
	c.stop()
	checkStray := func(when string) {
		for _, n := range nodeFiles(fn.dir) {
			if !own[n] {
				rep.Stray = append(rep.Stray, when+": "+n)
			}
		}
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 50))
	for cycle := 1; cycle <= cycles; cycle++ {
		began := time.Now()
		if err := c.start(); err != nil {
			return rep, fmt.Errorf("cycle %d: %w", cycle, err)
		}
		took := time.Since(began).Seconds()
		if rep.RestartMinS < 0 || took < rep.RestartMinS {
			rep.RestartMinS = took
		}
		rep.RestartMaxS = max(rep.RestartMaxS, took)
		checkStray(fmt.Sprintf("restart %d", cycle))
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { fn.drive(c.url(), clients, a, &nextTube, &nextAppeal, stop); close(done) }()
		time.Sleep(faultsWindow(r))
		c.kill()
		close(stop)
		<-done
		left := tempFiles(fn.dir)
		rep.TempsLeft += len(left)
		a.mu.Lock()
		logf("cycle %d/%d: killed; %d check-ins, %d results, %d appeals acknowledged so far; %d temporary files left; refusals %v", cycle, cycles, len(a.checkins), len(a.results), len(a.appeals), len(left), a.statuses)
		a.mu.Unlock()
	}
	rep.Acked["checkins"], rep.Acked["results"], rep.Acked["appeals"] = len(a.checkins), len(a.results), len(a.appeals)

	// After the last kill: start again, and look.
	if err := c.start(); err != nil {
		return rep, err
	}
	checkStray("last restart")
	lost, err := fn.lostOverHTTP(c.url(), a)
	if err != nil {
		c.kill()
		return rep, fmt.Errorf("%w\nthe node's log:\n%.3000s", err, c.logs.String())
	}
	rep.Lost["results"], rep.Lost["appeals"] = lost["results"], lost["appeals"]
	c.stop()
	checkStray("after a clean stop")
	if rep.Lost["checkins"], err = fn.lostCheckIns(ctx, a); err != nil {
		return rep, err
	}
	// A checkpoint of everything written, signed as the node does (which
	// first checks the store against every checkpoint published before).
	if err := fn.publish(ctx); err != nil {
		rep.LogVerify = "signing a checkpoint after the last cycle: " + err.Error()
		return rep, nil
	}
	var out bytes.Buffer
	args := []string{"log", "verify", "--key", filepath.Join(fn.dir, "log-signing.pub")}
	if cp := filepath.Join(fn.dir, "checkpoint"); fileExists(cp) {
		args = append(args, "--checkpoint", cp)
	}
	code := Run(ctx, append(args, fn.cfg.DB), &out, &out)
	rep.LogVerified = code == exitOK
	rep.LogVerify = strings.TrimSpace(out.String())
	if len(rep.LogVerify) > 300 {
		rep.LogVerify = rep.LogVerify[:300] + "…"
	}
	return rep, nil
}

// lostOverHTTP asks the node about each acknowledged result (sent again:
// "duplicate" if it was stored) and appeal (in the person's list).
func (fn *faultsNode) lostOverHTTP(url string, a *acked) (map[string]int, error) {
	lost := map[string]int{}
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(method, path, token string, body any, out any) (int, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode, nil
	}
	for _, t := range a.results {
		st, err := do("POST", "/api/v1/evidence", fn.lab, t, nil)
		if err != nil {
			return nil, err
		}
		switch st {
		case 200: // duplicate: stored
		case 201:
			lost["results"]++
		default:
			return nil, fmt.Errorf("result for tube %s sent again: %d", t.Tube, st)
		}
	}
	for i, id := range a.appeals {
		var list struct {
			Appeals []hchttp.AppealJSON `json:"appeals"`
		}
		st, err := do("GET", "/api/v1/me/appeals", fn.citizens[i], nil, &list)
		if err != nil {
			return nil, err
		}
		if st != 200 {
			return nil, fmt.Errorf("appeals of citizen %d: %d", i, st)
		}
		if !slices.ContainsFunc(list.Appeals, func(ap hchttp.AppealJSON) bool { return ap.ID == id }) {
			lost["appeals"]++
		}
	}
	return lost, nil
}

// publish signs a checkpoint of the node's log, in this process.
func (fn *faultsNode) publish(ctx context.Context) error {
	n, err := openNode(ctx, fn.cfg, healthcode.SystemClock{}, io.Discard)
	if err != nil {
		return err
	}
	defer n.close()
	_, err = n.log.Publish(ctx, time.Now())
	return err
}

// lostCheckIns counts the acknowledged check-ins not in the store.
func (fn *faultsNode) lostCheckIns(ctx context.Context, a *acked) (int, error) {
	n, err := openNode(ctx, fn.cfg, healthcode.SystemClock{}, io.Discard)
	if err != nil {
		return 0, err
	}
	defer n.close()
	have := map[int64]bool{}
	err = n.db.View(ctx, func(tx healthcode.ReadTx) error {
		cur := healthcode.CheckInCursor{}
		for _, code := range fn.venues {
			vc, err := healthcode.ParseVenueCode(code)
			if err != nil {
				return err
			}
			cs, err := tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: vc.Venue, From: time.Unix(0, 0), To: time.Now().Add(time.Hour)}, cur, 10_000_000)
			if err != nil {
				return err
			}
			for _, c := range cs {
				have[c.ID] = true
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	lost := 0
	for id := range a.checkins {
		if !have[id] {
			lost++
		}
	}
	return lost, nil
}

// runFaults is `healthcode bench --faults`.
func runFaults(ctx context.Context, cycles, clients int, asJSON bool, stdout, stderr io.Writer) int {
	if cycles < 1 || clients < 1 {
		fmt.Fprintln(stderr, "healthcode bench: --cycles and --clients must be at least 1")
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "healthcode-faults-")
	if err != nil {
		return fail(stderr, "bench", err)
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench faults: "+format+"\n", args...) }
	logf("building the node (5,000 people, 1,000 with tokens, 20 venues, a testing round collected)…")
	fn, err := prepareFaultsNode(ctx, filepath.Join(dir, "node"), 5000, 1000)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	rep, err := faultCycles(ctx, fn, cycles, clients, logf)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(rep)
	} else {
		fmt.Fprintf(stdout, "%d SIGKILL cycles, %d clients: acknowledged %d check-ins, %d results, %d appeals; lost %d, %d, %d; log verified: %v; temporary files left by kills %d, stray after restarts %d; restart %.2f–%.2f s\n",
			rep.Cycles, rep.Clients, rep.Acked["checkins"], rep.Acked["results"], rep.Acked["appeals"], rep.Lost["checkins"], rep.Lost["results"], rep.Lost["appeals"],
			rep.LogVerified, rep.TempsLeft, len(rep.Stray), rep.RestartMinS, rep.RestartMaxS)
	}
	if f := rep.failures(); len(f) > 0 {
		fmt.Fprintf(stderr, "healthcode bench: faults: %s\n", strings.Join(f, "; "))
		return exitError
	}
	return exitOK
}

// faultsWindow is how long the node takes writes before a kill: 0.5 to
// 3 s, at random.
var faultsWindow = func(r *rand.Rand) time.Duration {
	return 500*time.Millisecond + time.Duration(r.IntN(2500))*time.Millisecond
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
