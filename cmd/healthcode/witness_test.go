package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
	"healthcode/tlog"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// syncBuffer is an io.Writer a running command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runWitnessCommand runs `healthcode witness args...` through Run once
// main.go lists the command, and runWitness directly until then.
func runWitnessCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, c := range commands() {
		if c.name == "witness" {
			return Run(ctx, append([]string{"witness"}, args...), stdout, stderr)
		}
	}
	return runWitness(ctx, args, stdout, stderr)
}

func witnessCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWitnessCommand(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// runningWitness is a `healthcode witness` process started by a test.
type runningWitness struct {
	url    string
	stop   func() // stops it and checks it exited cleanly
	stderr *syncBuffer
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+) `)

func startWitness(t *testing.T, args ...string) *runningWitness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runWitnessCommand(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), &out, &errb)
	}()
	w := &runningWitness{stderr: &errb}
	deadline := time.Now().Add(10 * time.Second)
	for w.url == "" {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			w.url = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("witness exited %d:\n%s%s", code, out.String(), errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("witness did not start:\n%s%s", out.String(), errb.String())
		}
	}
	stopped := false
	w.stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("witness exited %d after its context ended:\n%s", code, errb.String())
		}
	}
	t.Cleanup(w.stop)
	return w
}

func get(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	return b
}

// witnessStateSize reads the size the witness's state file records for origin.
func witnessStateSize(t *testing.T, path, origin string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Logs map[string]struct {
			Size int64 `json:"size"`
		} `json:"logs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("witness state: %v\n%s", err, b)
	}
	return f.Logs[origin].Size
}

func TestWitnessCosignsConsistentCheckpointsAndRefusesAFork(t *testing.T) {
	tn, cit, d := loggedNode(t)
	ctx := context.Background()
	dir := t.TempDir()
	wkey, state := filepath.Join(dir, "court.key"), filepath.Join(dir, "court-state.json")
	if code, out, errs := witnessCmd(t, "--generate-key", "witness.court.example", "--key", wkey); code != 0 || !strings.Contains(out, "witness.court.example+") {
		t.Fatalf("generate-key: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := witnessCmd(t, "--generate-key", "witness.court.example", "--key", wkey); code != exitError || !strings.Contains(errs, "exists") {
		t.Fatalf("generate-key over an existing key: %d %s", code, errs)
	}
	wv, err := readWitnessVerifier(wkey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	logPub := filepath.Join(tn.dir, "log-signing.pub")
	logV, err := readVerifier(logPub)
	if err != nil {
		t.Fatal(err)
	}
	origin := tn.cfg.Origin
	w := startWitness(t, "--key", wkey, "--log-key", logPub, "--state", state)
	if err := tn.setWitnesses(witnessList{w.url + "=" + wkey + ".pub"}); err != nil {
		t.Fatal(err)
	}

	// cosigned checks that note is the log's checkpoint of size want,
	// cosigned by the witness.
	cosigned := func(what string, msg []byte, want int64) {
		t.Helper()
		cp, err := tlog.OpenCheckpoint(msg, origin, note.VerifierList(logV))
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, msg)
		}
		names, err := tlog.Cosigners(msg, note.VerifierList(wv))
		if diff := cmp.Diff([]string{"witness.court.example"}, names); diff != "" || err != nil || cp.Size != want {
			t.Fatalf("%s: size %d (want %d), cosigners (-want +got):\n%s%v\n%s", what, cp.Size, want, diff, err, msg)
		}
	}
	latestSize := func() int64 {
		t.Helper()
		var size int64
		tn.db.View(ctx, func(tx healthcode.ReadTx) error {
			c, err := tx.LatestCheckpoint(ctx)
			if err == nil {
				size = c.Size
			}
			return err
		})
		return size
	}

	// Publish → cosign: the checkpoint served and a citizen's receipt carry
	// the witness's cosignature.
	if err := tn.cosign(ctx); err != nil {
		t.Fatal(err)
	}
	size1 := latestSize()
	cosigned("/log/checkpoint", get(t, tn.url+"/log/checkpoint", ""), size1)
	receipt := get(t, tn.url+"/api/v1/me/proofs/"+itoa(d.LogIndex), cit)
	res, err := tlog.VerifyProof(receipt, origin, note.VerifierList(logV))
	if err != nil {
		t.Fatal(err)
	}
	cosigned("receipt", res.Checkpoint.Note, size1)
	proofFile := filepath.Join(dir, "proof.txt")
	os.WriteFile(proofFile, receipt, 0o644)
	if code, out, errs := runCmd(t, "log", "verify-proof", "--key", logPub, proofFile); code != 0 {
		t.Fatalf("verify-proof of a cosigned receipt: %d\n%s%s", code, out, errs)
	}
	if got := witnessStateSize(t, state, origin); got != size1 {
		t.Fatalf("witness state size %d, want %d", got, size1)
	}

	// The log grows; publish → cosign again, from the size the witness holds.
	lab := tn.token(t, healthcode.Principal{ID: "lab-002", Name: "第二检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	grow := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			_, id, _ := tn.citizen(t, 100+i)
			tn.submit(t, lab, evidence("nucleic_acid_test", id, "W-"+itoa(int64(i)), "positive"))
		}
		if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	grow(0, 3)
	if err := tn.cosign(ctx); err != nil {
		t.Fatal(err)
	}
	size2 := latestSize()
	if size2 <= size1 {
		t.Fatalf("the log did not grow: %d → %d", size1, size2)
	}
	cosigned("/log/checkpoint after growing", get(t, tn.url+"/log/checkpoint", ""), size2)
	if got := witnessStateSize(t, state, origin); got != size2 {
		t.Fatalf("witness state size %d, want %d", got, size2)
	}

	// Inconsistent checkpoints, signed with the log's own key: the witness
	// refuses them and its state does not move.
	skey, err := os.ReadFile(filepath.Join(tn.dir, "log-signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	logSigner, err := tlog.ParseSigner(string(skey))
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	err = tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		for i := int64(0); i < size2; i++ {
			l, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			leaves = append(leaves, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A restored backup that grew differently: the same first leaves, then
	// others.
	var forked tlog.MemoryLog
	for _, l := range append(append(leaves[:size1-1:size1-1], leaves[size1:]...), leaves[size1-1], leaves[0], leaves[1]) {
		forked.Append(l)
	}
	forkRoot, _ := forked.Root()
	fork, _ := tlog.SignCheckpoint(origin, forked.Size(), forkRoot, logSigner)
	forkProof, err := tlog.ConsistencyProof(size2, forked.Size(), &forked)
	if err != nil {
		t.Fatal(err)
	}
	sameSize, _ := tlog.SignCheckpoint(origin, size2, forkRoot, logSigner)
	before, _ := os.ReadFile(state)
	for _, tc := range []struct {
		name  string
		proof sumtlog.TreeProof
		cp    []byte
	}{
		{"a forked tree", forkProof, fork},
		{"another root at the same size", nil, sameSize},
	} {
		_, err := tlog.RequestCosignature(ctx, w.url, size2, tc.proof, tc.cp)
		if healthcode.ErrorDetail(err) != "tlog.witness_refused" || !strings.Contains(healthcode.ErrorMessage(err), "422") {
			t.Errorf("%s: %v, want a 422 refusal", tc.name, err)
		}
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
		t.Fatalf("a refusal changed the witness's state:\n%s", after)
	}
	if !strings.Contains(w.stderr.String(), "inconsistent") {
		t.Errorf("the witness did not log the fork:\n%s", w.stderr.String())
	}

	// Bad input to the witness: each a clear 4xx.
	real := get(t, tn.url+"/log/checkpoint", "")
	otherSigner, _, _ := fixedNoteKey(t, "another.example/log")
	unknownLog, _ := tlog.SignCheckpoint("another.example/log", 3, forkRoot, otherSigner)
	impostor, _, _ := fixedNoteKey(t, origin)
	byImpostor, _ := tlog.SignCheckpoint(origin, forked.Size(), forkRoot, impostor)
	var grown tlog.MemoryLog
	for _, l := range append(leaves, leaves[0]) {
		grown.Append(l)
	}
	grownRoot, _ := grown.Root()
	grownCP, _ := tlog.SignCheckpoint(origin, grown.Size(), grownRoot, logSigner)
	grownProof, _ := tlog.ConsistencyProof(size2, grown.Size(), &grown)
	grownProof[0][0] ^= 1
	smaller, _ := tlog.SignCheckpoint(origin, size1, forkRoot, logSigner)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		reason string
	}{
		{"malformed body", []byte("hello witness"), 400, "tlog.witness_request_malformed"},
		{"malformed checkpoint", tlog.FormatAddCheckpoint(size2, nil, []byte("x")), 400, "tlog.checkpoint_malformed"},
		{"unknown log", tlog.FormatAddCheckpoint(0, nil, unknownLog), 404, "tlog.unknown_log"},
		{"unknown log key", tlog.FormatAddCheckpoint(size2, nil, byImpostor), 403, "tlog.unknown_key"},
		{"bad proof", tlog.FormatAddCheckpoint(size2, grownProof, grownCP), 422, "tlog.inconsistent"},
		{"smaller size", tlog.FormatAddCheckpoint(size2, nil, smaller), 400, "tlog.old_size"},
		{"stale old size", tlog.FormatAddCheckpoint(size1, nil, real), 409, itoa(size2) + "\n"},
	} {
		resp, err := http.Post(w.url+tlog.AddCheckpointPath, "text/plain", bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.reason) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, b, tc.status, tc.reason)
		}
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
		t.Fatalf("bad input changed the witness's state:\n%s", after)
	}

	// A witness that is down does not stop the node: the checkpoint is
	// published and served (uncosigned) and the witness asked again later.
	w.stop()
	grow(3, 2)
	size3 := latestSize()
	if err := tn.cosign(ctx); healthcode.ErrorDetail(err) != "tlog.witness_unavailable" {
		t.Fatalf("cosign with the witness down: %v", err)
	}
	served := get(t, tn.url+"/log/checkpoint", "")
	if cp, err := tlog.OpenCheckpoint(served, origin, note.VerifierList(logV)); err != nil || cp.Size != size3 {
		t.Fatalf("checkpoint served with the witness down: %v\n%s", err, served)
	}
	// It comes back (restarted, elsewhere, with its state) and cosigns.
	w2 := startWitness(t, "--key", wkey, "--log-key", logPub, "--state", state)
	if err := tn.setWitnesses(witnessList{w2.url + "=" + wkey + ".pub"}); err != nil {
		t.Fatal(err)
	}
	if err := tn.cosign(ctx); err != nil {
		t.Fatal(err)
	}
	cosigned("/log/checkpoint after the witness came back", get(t, tn.url+"/log/checkpoint", ""), size3)
	if got := witnessStateSize(t, state, origin); got != size3 {
		t.Fatalf("witness state size %d, want %d", got, size3)
	}
}

// fixedNoteKey returns a new note key pair named name.
func fixedNoteKey(t *testing.T, name string) (note.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := tlog.GenerateKey(nil, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlog.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.ParseVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, vkey
}

func TestWitnessCommandUsage(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "w.key")
	if code, _, errs := witnessCmd(t, "--generate-key", "witness.example", "--key", key); code != 0 {
		t.Fatal(errs)
	}
	garbage := filepath.Join(dir, "garbage.pub")
	os.WriteFile(garbage, []byte("not a key\n"), 0o644)
	// A log whose key is named like the witness.
	_, _, sameName := fixedNoteKey(t, "witness.example")
	sameNamePub := filepath.Join(dir, "same.pub")
	os.WriteFile(sameNamePub, []byte(sameName+"\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no log key", []string{"--key", key}, exitUsage, "--log-key"},
		{"missing witness key", []string{"--key", filepath.Join(dir, "none"), "--log-key", key + ".pub"}, exitError, "witness key"},
		{"malformed log key", []string{"--key", key, "--log-key", garbage}, exitError, "malformed"},
		{"witness named like its log", []string{"--key", key, "--log-key", sameNamePub}, exitError, "named"},
		{"its own cosignature key as a log key", []string{"--key", key, "--log-key", key + ".pub"}, exitError, "malformed"},
		{"stray argument", []string{"--key", key, "extra"}, exitUsage, "usage"},
		{"bad name", []string{"--generate-key", "two words", "--key", filepath.Join(dir, "x.key")}, exitError, "origin"},
	} {
		var out, errb bytes.Buffer
		code := runWitnessCommand(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", tc.name, code, tc.code, tc.want, errb.String())
		}
	}
}

func TestWitnessSpecs(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "w.pub")
	skey, plain, err := tlog.GenerateKey(nil, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.NewCosignatureSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pub, []byte(cs.VerifierKey()+"\n"), 0o644)
	plainPub := filepath.Join(dir, "plain.pub")
	os.WriteFile(plainPub, []byte(plain+"\n"), 0o644)
	good := "https://witness.example/w?x=1=" + pub
	ws, err := loadWitnesses(witnessList{good, "http://127.0.0.1:9/=" + pub})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].URL != "https://witness.example/w?x=1" || ws[0].Verifier.Name() != "witness.example" {
		t.Fatalf("loadWitnesses = %+v", ws)
	}
	for _, tc := range []struct {
		name  string
		specs witnessList
		want  string
	}{
		{"no key file", witnessList{"https://witness.example"}, "URL=KEYFILE"},
		{"empty key file", witnessList{"https://witness.example="}, "no key file"},
		{"not a URL", witnessList{"witness.example=" + pub}, "not an http(s) URL"},
		{"missing key file", witnessList{"https://witness.example=" + filepath.Join(dir, "none")}, "no such file"},
		{"listed twice", witnessList{good, good}, "twice"},
		{"a plain Ed25519 key", witnessList{"https://witness.example=" + plainPub}, "cosignature/v1 key (type 0x04)"},
	} {
		if _, err := loadWitnesses(tc.specs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	var l witnessList
	if err := l.Set("ftp://x=" + pub); err == nil {
		t.Error("Set accepted an ftp URL")
	}
	if err := l.Set(good); err != nil || len(l) != 1 {
		t.Errorf("Set(%q) = %v, %v", good, err, l)
	}
}
