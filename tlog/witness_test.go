package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCosign(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	_, logV, _ := fixedKey(t, testOrigin, 1)
	w, wv := fixedCosigner(t, "witness.court.example", 9)
	impostor, _, _ := fixedKey(t, testOrigin, 4)

	m := buildLog(t, 10)
	state := WitnessState{Origin: testOrigin}
	cp10 := signedCheckpoint(t, m, signer)
	cosigned, state, err := Cosign(state, cp10, nil, note.VerifierList(logV), w)
	if err != nil {
		t.Fatal(err)
	}
	root10, _ := m.Root()
	if diff := cmp.Diff(WitnessState{Origin: testOrigin, Size: 10, Root: root10}, state); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	// The cosigned checkpoint is still the log's, and carries the witness.
	open(t, cosigned, vs)
	if names, err := Cosigners(cosigned, note.VerifierList(wv)); err != nil || len(names) != 1 {
		t.Errorf("Cosigners = %v, %v", names, err)
	}

	// A backup of the log at 8 leaves is restored and grows differently.
	forked := buildLog(t, 8)
	for i := 10; i < 20; i++ {
		m.Append(testLeaf(t, i))
	}
	for i := 8; i < 20; i++ {
		forked.Append(testLeaf(t, 900+i))
	}
	cp20 := signedCheckpoint(t, m, signer)
	proof, _ := ConsistencyProof(10, 20, m)
	fork20 := signedCheckpoint(t, forked, signer)
	forkProof, _ := ConsistencyProof(10, 20, forked)

	for _, tc := range []struct {
		name   string
		next   []byte
		proof  tlog.TreeProof
		detail string
	}{
		{"fork", fork20, forkProof, "tlog.inconsistent"},
		{"fork with the real proof", fork20, proof, "tlog.inconsistent"},
		{"bad proof", cp20, proof[1:], "tlog.inconsistent"},
		{"impostor key", func() []byte {
			c := signedCheckpoint(t, m, impostor)
			return c
		}(), proof, "tlog.unknown_key"},
		{"garbage", []byte("x"), proof, "tlog.checkpoint_malformed"},
	} {
		_, got, err := Cosign(state, tc.next, tc.proof, note.VerifierList(logV), w)
		if healthcode.ErrorDetail(err) != tc.detail {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.detail)
		}
		if got != state {
			t.Errorf("%s: a refusal changed the state", tc.name)
		}
	}

	cosigned20, state20, err := Cosign(state, cp20, proof, note.VerifierList(logV), w)
	if err != nil {
		t.Fatal(err)
	}
	// Going back to 10 is refused; the same checkpoint again is fine.
	if _, _, err := Cosign(state20, cp10, nil, note.VerifierList(logV), w); healthcode.ErrorDetail(err) != "tlog.inconsistent" {
		t.Errorf("rollback: %v", err)
	}
	if _, _, err := Cosign(state20, cosigned20, nil, note.VerifierList(logV), w); err != nil {
		t.Errorf("same checkpoint again: %v", err)
	}
	if _, _, err := Cosign(state20, cp20, nil, nil, w); healthcode.ErrorDetail(err) != "tlog.bad_key" {
		t.Errorf("no log key: %v", err)
	}

	// The state survives JSON.
	b, err := json.Marshal(state20)
	if err != nil {
		t.Fatal(err)
	}
	var back WitnessState
	if err := json.Unmarshal(b, &back); err != nil || back != state20 {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
}

func TestAddCosignatures(t *testing.T) {
	t.Parallel()
	signer, _ := logKey(t)
	_, logV, _ := fixedKey(t, testOrigin, 1)
	w1, v1 := fixedCosigner(t, "witness1.example", 11)
	w2, v2 := fixedCosigner(t, "witness2.example", 12)
	m := buildLog(t, 4)
	cp := signedCheckpoint(t, m, signer)
	c1, _, err := Cosign(WitnessState{Origin: testOrigin}, cp, nil, note.VerifierList(logV), w1)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := Cosign(WitnessState{Origin: testOrigin}, cp, nil, note.VerifierList(logV), w2)
	if err != nil {
		t.Fatal(err)
	}
	all := note.VerifierList(logV, v1, v2)
	merged, err := AddCosignatures(cp, all, c1, c2, c1)
	if err != nil {
		t.Fatal(err)
	}
	names, err := Cosigners(merged, note.VerifierList(v1, v2))
	if diff := cmp.Diff([]string{"witness1.example", "witness2.example"}, names); diff != "" || err != nil {
		t.Errorf("cosigners (-want +got):\n%s%v", diff, err)
	}
	open(t, merged, note.VerifierList(logV))

	_, err = AddCosignatures(cp, all, bytes.Replace(c1, []byte("\n4\n"), []byte("\n5\n"), 1))
	wantErr(t, err, healthcode.EINVALID, "tlog.bad_signature")
	_, _, err = Cosign(WitnessState{}, cp, nil, note.VerifierList(logV), w1)
	wantErr(t, err, healthcode.EINVALID, "tlog.origin")

	other := signedCheckpoint(t, buildLog(t, 5), signer)
	_, err = AddCosignatures(cp, all, other)
	wantErr(t, err, healthcode.EINVALID, "tlog.inconsistent")
}

// witnessFixture is a witness server for testOrigin (and another log) on
// an httptest server, with a log of 10 leaves it has not seen yet.
type witnessFixture struct {
	ws        *WitnessServer
	srv       *httptest.Server
	statePath string
	logSigner note.Signer
	wv        note.Verifier
	m         *MemoryLog
}

func newWitnessFixture(t *testing.T) *witnessFixture {
	t.Helper()
	logSigner, logV, _ := fixedKey(t, testOrigin, 1)
	_, otherV, _ := fixedKey(t, "other.example/log", 5)
	w, wv := fixedCosigner(t, "witness.court.example", 9)
	path := filepath.Join(t.TempDir(), "witness.json")
	ws, err := NewWitnessServer(w, path, logV, otherV)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	return &witnessFixture{ws: ws, srv: srv, statePath: path, logSigner: logSigner, wv: wv, m: buildLog(t, 10)}
}

type witnessAnswer struct {
	status int
	ctype  string
	body   string
}

func (f *witnessFixture) post(t *testing.T, body []byte) witnessAnswer {
	t.Helper()
	resp, err := http.Post(f.srv.URL+AddCheckpointPath, "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return witnessAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

// grow appends leaves to the fixture's log up to size n and returns the
// signed checkpoint and the proof from old.
func (f *witnessFixture) grow(t *testing.T, old, n int) ([]byte, tlog.TreeProof) {
	t.Helper()
	for i := int(f.m.Size()); i < n; i++ {
		f.m.Append(testLeaf(t, i))
	}
	cp := signedCheckpoint(t, f.m, f.logSigner)
	if old == 0 || old == n {
		return cp, nil
	}
	p, err := ConsistencyProof(int64(old), int64(n), f.m)
	if err != nil {
		t.Fatal(err)
	}
	return cp, p
}

// checkCosignature checks that sigs is the witness's valid signature on cp.
func (f *witnessFixture) checkCosignature(t *testing.T, cp []byte, sigs string) {
	t.Helper()
	names, err := Cosigners([]byte(noteText(cp)+"\n"+sigs), note.VerifierList(f.wv))
	if err != nil || len(names) != 1 || names[0] != "witness.court.example" {
		t.Fatalf("cosignature %q: %v %v", sigs, names, err)
	}
}

func TestWitnessServer(t *testing.T) {
	t.Parallel()
	f := newWitnessFixture(t)
	cp10, _ := f.grow(t, 0, 10)
	a := f.post(t, FormatAddCheckpoint(0, nil, cp10))
	if a.status != http.StatusOK {
		t.Fatalf("first checkpoint: %+v", a)
	}
	f.checkCosignature(t, cp10, a.body)
	cp20, proof := f.grow(t, 10, 20)
	if a = f.post(t, FormatAddCheckpoint(10, proof, cp20)); a.status != http.StatusOK {
		t.Fatalf("consistent checkpoint: %+v", a)
	}
	f.checkCosignature(t, cp20, a.body)
	root20, _ := f.m.Root()
	if got := f.ws.State(testOrigin); got != (WitnessState{Origin: testOrigin, Size: 20, Root: root20}) {
		t.Fatalf("state %+v", got)
	}
	saved, err := os.ReadFile(f.statePath)
	if err != nil {
		t.Fatal(err)
	}
	var file witnessFile
	if err := json.Unmarshal(saved, &file); err != nil || file.Logs[testOrigin].Size != 20 {
		t.Fatalf("state file: %v\n%s", err, saved)
	}
	if names, _ := Cosigners([]byte(file.Logs[testOrigin].Checkpoint), note.VerifierList(f.wv)); len(names) != 1 {
		t.Errorf("state file keeps no cosigned checkpoint: %s", saved)
	}

	// Refusals, each leaving the state as it was.
	cp30, proof30 := f.grow(t, 20, 30)
	badProof := slices.Clone(proof30)
	badProof[0][0] ^= 1
	forked := buildLog(t, 15)
	for i := 15; i < 30; i++ {
		forked.Append(testLeaf(t, 700+i))
	}
	fork30 := signedCheckpoint(t, forked, f.logSigner)
	forkProof, _ := ConsistencyProof(20, 30, forked)
	fork20, _ := SignCheckpoint(testOrigin, 20, tlog.RecordHash([]byte("another history")), f.logSigner)
	unknownSigner, _, _ := fixedKey(t, "unknown.example/log", 6)
	unknownLog, _ := SignCheckpoint("unknown.example/log", 30, root20, unknownSigner)
	impostor, _, _ := fixedKey(t, testOrigin, 4)
	badSig := flipSignature(t, cp30)
	malformedCP, _ := note.Sign(&note.Note{Text: testOrigin + "\nthirty\nAAAA\n"}, f.logSigner)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"no blank line", []byte("old 20\n"), 400, "tlog.witness_request_malformed"},
		{"no old line", FormatAddCheckpoint(20, nil, cp30)[3:], 400, "tlog.witness_request_malformed"},
		{"old with a leading zero", bytes.Replace(FormatAddCheckpoint(20, proof30, cp30), []byte("old 20"), []byte("old 020"), 1), 400, "tlog.witness_request_malformed"},
		{"proof line not base64", bytes.Replace(FormatAddCheckpoint(20, proof30, cp30), []byte(proof30[0].String()), []byte("not a hash"), 1), 400, "tlog.witness_request_malformed"},
		{"no checkpoint", []byte("old 20\n\n"), 400, "tlog.witness_request_malformed"},
		{"malformed checkpoint", FormatAddCheckpoint(20, nil, malformedCP), 400, "tlog.checkpoint_malformed"},
		{"smaller than old", FormatAddCheckpoint(20, nil, cp10), 400, "tlog.old_size"},
		{"unknown log", FormatAddCheckpoint(0, nil, unknownLog), 404, "tlog.unknown_log"},
		{"signed by another key", FormatAddCheckpoint(20, proof30, signedCheckpoint(t, f.m, impostor)), 403, "tlog.unknown_key"},
		{"bad signature", FormatAddCheckpoint(20, proof30, badSig), 403, "tlog.bad_signature"},
		{"stale old size", FormatAddCheckpoint(10, proof30, cp30), 409, "20\n"},
		{"bad proof", FormatAddCheckpoint(20, badProof, cp30), 422, "tlog.inconsistent"},
		{"truncated proof", FormatAddCheckpoint(20, proof30[1:], cp30), 422, "tlog.inconsistent"},
		{"fork of another size", FormatAddCheckpoint(20, forkProof, fork30), 422, "tlog.inconsistent"},
		{"fork of the same size", FormatAddCheckpoint(20, nil, fork20), 422, "tlog.inconsistent"},
		{"a proof where none is due", FormatAddCheckpoint(20, proof30[:1], cp20), 422, "tlog.bad_proof"},
		{"too large", append(FormatAddCheckpoint(20, proof30, cp30), bytes.Repeat([]byte("x"), MaxAddCheckpointSize)...), 413, "larger than"},
	} {
		a := f.post(t, tc.body)
		if a.status != tc.status || !strings.Contains(a.body, tc.want) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, a.status, a.body, tc.status, tc.want)
		}
		if tc.status == 409 && a.ctype != SizeContentType {
			t.Errorf("%s: Content-Type %q", tc.name, a.ctype)
		}
	}
	if after, _ := os.ReadFile(f.statePath); !bytes.Equal(after, saved) || f.ws.State(testOrigin).Size != 20 {
		t.Fatalf("a refusal changed the state:\n%s", after)
	}
	for _, tc := range []struct{ method, path string }{{"GET", AddCheckpointPath}, {"POST", "/other"}} {
		req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader("old 0\n\n"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 && resp.StatusCode != 404 || (tc.method == "GET") != (resp.StatusCode == 405) {
			t.Errorf("%s %s = %d", tc.method, tc.path, resp.StatusCode)
		}
	}

	// The same checkpoint again is cosigned again; then the log grows on.
	if a = f.post(t, FormatAddCheckpoint(20, nil, cp20)); a.status != 200 {
		t.Fatalf("same checkpoint again: %+v", a)
	}
	if a = f.post(t, FormatAddCheckpoint(20, proof30, cp30)); a.status != 200 {
		t.Fatalf("30 after 20: %+v", a)
	}
	// Another log is witnessed independently.
	otherSigner, _, _ := fixedKey(t, "other.example/log", 5)
	other, _ := SignCheckpoint("other.example/log", 3, root20, otherSigner)
	if a = f.post(t, FormatAddCheckpoint(0, nil, other)); a.status != 200 {
		t.Fatalf("other log: %+v", a)
	}

	// A restarted witness remembers.
	w, _ := fixedCosigner(t, "witness.court.example", 9)
	_, logV, _ := fixedKey(t, testOrigin, 1)
	again, err := NewWitnessServer(w, f.statePath, logV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.AddCheckpoint(0, nil, cp10); WitnessStatus(err) != 409 {
		t.Fatalf("restarted witness took a rollback: %v", err)
	}
	if got := again.State("other.example/log").Size; got != 3 {
		t.Errorf("restarted witness forgot the other log: %d", got)
	}
}

func TestNewWitnessServerRefuses(t *testing.T) {
	t.Parallel()
	w, _ := fixedCosigner(t, "witness.court.example", 9)
	_, logV, _ := fixedKey(t, testOrigin, 1)
	sameName, _, _ := fixedKey(t, testOrigin, 3)
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.json")
	os.WriteFile(damaged, []byte(`{"logs": {"a": {"origin": "b"}}}`), 0o600)
	notJSON := filepath.Join(dir, "notjson.json")
	os.WriteFile(notJSON, []byte(`{`), 0o600)
	for _, tc := range []struct {
		name   string
		signer note.Signer
		path   string
		logs   []note.Verifier
		detail string
	}{
		{"no log", w, filepath.Join(dir, "s.json"), nil, "tlog.bad_key"},
		{"witness named like the log", sameName, filepath.Join(dir, "s.json"), []note.Verifier{logV}, "tlog.bad_key"},
		{"no state file", w, "", []note.Verifier{logV}, "tlog.witness_state"},
		{"damaged state", w, damaged, []note.Verifier{logV}, "tlog.witness_state"},
		{"state not JSON", w, notJSON, []note.Verifier{logV}, "tlog.witness_state"},
	} {
		_, err := NewWitnessServer(tc.signer, tc.path, tc.logs...)
		if healthcode.ErrorDetail(err) != tc.detail {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.detail)
		}
	}
}

func TestRequestCosignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newWitnessFixture(t)
	cp10, _ := f.grow(t, 0, 10)
	sigs, err := RequestCosignature(ctx, f.srv.URL+"/", 0, nil, cp10)
	if err != nil {
		t.Fatal(err)
	}
	f.checkCosignature(t, cp10, string(sigs))
	cp12, proof := f.grow(t, 10, 12)
	var conflict *WitnessSizeError
	if _, err := RequestCosignature(ctx, f.srv.URL, 0, nil, cp12); !errors.As(err, &conflict) || conflict.Size != 10 {
		t.Fatalf("stale old size: %v", err)
	}
	bad := slices.Clone(proof)
	bad[0][1] ^= 1
	_, err = RequestCosignature(ctx, f.srv.URL, 10, bad, cp12)
	wantErr(t, err, healthcode.EINVALID, "tlog.witness_refused")
	if !strings.Contains(healthcode.ErrorMessage(err), "422") || !strings.Contains(healthcode.ErrorMessage(err), "tlog.inconsistent") {
		t.Errorf("refusal does not say why: %v", err)
	}
	if sigs, err = RequestCosignature(ctx, f.srv.URL, 10, proof, cp12); err != nil {
		t.Fatal(err)
	}
	f.checkCosignature(t, cp12, string(sigs))

	// Witnesses that are down or answer nonsense.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = RequestCosignature(ctx, down.URL, 0, nil, cp12)
	wantErr(t, err, healthcode.EUNAVAILABLE, "tlog.witness_unavailable")
	for _, h := range []http.HandlerFunc{
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "cosigned!\n") },
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", SizeContentType)
			w.WriteHeader(409)
			io.WriteString(w, "-1\n")
		},
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) },
	} {
		srv := httptest.NewServer(h)
		_, err = RequestCosignature(ctx, srv.URL, 0, nil, cp12)
		srv.Close()
		wantErr(t, err, healthcode.EUNAVAILABLE, "tlog.witness_unavailable")
	}
	_, err = RequestCosignature(ctx, "::not a url", 0, nil, cp12)
	wantErr(t, err, healthcode.EINVALID, "tlog.witness_url")
}

func TestParseAddCheckpoint(t *testing.T) {
	t.Parallel()
	signer, _ := logKey(t)
	m := buildLog(t, 9)
	cp := signedCheckpoint(t, m, signer)
	proof, _ := ConsistencyProof(5, 9, m)
	body := FormatAddCheckpoint(5, proof, cp)
	old, gotProof, gotCP, err := ParseAddCheckpoint(body)
	if err != nil || old != 5 || !bytes.Equal(gotCP, cp) {
		t.Fatalf("ParseAddCheckpoint = %d, %q, %v", old, gotCP, err)
	}
	if diff := cmp.Diff(proof, gotProof); diff != "" {
		t.Errorf("proof (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"", "old 5", "old 5\n", "old -1\n\nx", "old 1e3\n\nx", "old  5\n\nx", "olds 5\n\nx",
		"old 5\nAAAA\n\nx", "old 5\n\n", "old 99999999999999999999\n\nx",
		"old 5\n" + strings.Repeat(proof[0].String()+"\n", 64) + "\nx",
	} {
		if _, _, _, err := ParseAddCheckpoint([]byte(bad)); healthcode.ErrorDetail(err) != "tlog.witness_request_malformed" {
			t.Errorf("ParseAddCheckpoint(%q) = %v", bad, err)
		}
	}
}

func addCheckpointSeeds(tb testing.TB) [][]byte {
	signer, _ := logKey(tb)
	m := buildLog(tb, 9)
	cp := signedCheckpoint(tb, m, signer)
	proof, _ := ConsistencyProof(5, 9, m)
	return [][]byte{FormatAddCheckpoint(5, proof, cp), FormatAddCheckpoint(0, nil, cp), []byte("old 3\n\nx\n")}
}

func FuzzAddCheckpoint(f *testing.F) {
	for _, s := range addCheckpointSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		old, proof, cp, err := ParseAddCheckpoint(body)
		if err != nil {
			return
		}
		// A request has one spelling.
		if again := FormatAddCheckpoint(old, proof, cp); !bytes.Equal(again, body) {
			t.Fatalf("parsed request is not canonical:\n%q\n%q", body, again)
		}
	})
}

// TestWriteWitnessFuzzCorpus writes FuzzAddCheckpoint's seed corpus; run it
// with HEALTHCODE_WRITE_CORPUS=1 after changing the format or the test keys.
func TestWriteWitnessFuzzCorpus(t *testing.T) {
	if os.Getenv("HEALTHCODE_WRITE_CORPUS") == "" {
		t.Skip("set HEALTHCODE_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAddCheckpoint")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range addCheckpointSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// flipSignature returns the signed note msg with one bit of its last
// signature flipped (still well-formed base64).
func flipSignature(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(msg, []byte(" ")) + 1
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(msg[i:])))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	return append(bytes.Clone(msg[:i]), base64.StdEncoding.EncodeToString(sig)+"\n"...)
}

// memStore is a store holding only a log's stored hashes, enough for
// Witnesses (which reads consistency proofs through View).
type memStore struct {
	healthcode.Store // not implemented; calling anything else panics
	m                *MemoryLog
}

func (s memStore) View(ctx context.Context, fn func(healthcode.ReadTx) error) error {
	return fn(memReadTx{m: s.m})
}

type memReadTx struct {
	healthcode.ReadTx
	m *MemoryLog
}

func (tx memReadTx) LogHashes(ctx context.Context, indexes []int64) ([][32]byte, error) {
	hs, err := tx.m.ReadHashes(indexes)
	return HashArrays(hs), err
}

// countingWitness is a witness server that can be switched off (503) and
// counts the requests it answers.
type countingWitness struct {
	*httptest.Server
	ws       *WitnessServer
	verifier note.Verifier
	down     atomic.Bool
	requests atomic.Int64
}

func newCountingWitness(t *testing.T, name string, seed byte) *countingWitness {
	t.Helper()
	s, v, _ := fixedKey(t, name, seed)
	_, logV, _ := fixedKey(t, testOrigin, 1)
	ws, err := NewWitnessServer(s, filepath.Join(t.TempDir(), "state.json"), logV)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingWitness{ws: ws, verifier: v}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if c.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		ws.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func TestWitnessesCosign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	signer, logV, _ := fixedKey(t, testOrigin, 1)
	m := buildLog(t, 10)
	dir := t.TempDir()
	p := &Publisher{Origin: testOrigin, Signer: signer, Verifier: logV, Store: memStore{m: m}, LastPath: filepath.Join(dir, "checkpoint")}
	court := newCountingWitness(t, "witness.court.example", 9)
	audit := newCountingWitness(t, "witness.audit.example", 10)
	ws := &Witnesses{Publisher: p, Witnesses: []Witness{{court.URL, court.verifier}, {audit.URL, audit.verifier}}}
	cosigners := func(msg []byte) []string {
		t.Helper()
		names, err := Cosigners(msg, note.VerifierList(court.verifier, audit.verifier))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return names
	}
	served := func(stored []byte) []byte {
		return (&Reader{Publisher: p}).cosigned(stored)
	}

	// One witness is down: the other's cosignature is kept, the failure
	// reported.
	audit.down.Store(true)
	cp10 := signedCheckpoint(t, m, signer)
	got, err := ws.Cosign(ctx, cp10)
	if healthcode.ErrorDetail(err) != "tlog.witness_unavailable" || !strings.Contains(err.Error(), audit.URL) {
		t.Fatalf("a witness down: %v", err)
	}
	if diff := cmp.Diff([]string{"witness.court.example"}, cosigners(got)); diff != "" {
		t.Fatalf("cosigners (-want +got):\n%s", diff)
	}
	open(t, got, note.VerifierList(logV))
	if !bytes.Equal(served(cp10), got) {
		t.Fatalf("the reader does not serve the cosigned checkpoint:\n%s", served(cp10))
	}

	// It comes back: only it is asked, and both cosignatures are kept.
	audit.down.Store(false)
	before := court.requests.Load()
	if got, err = ws.Cosign(ctx, cp10); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"witness.audit.example", "witness.court.example"}, cosigners(got)); diff != "" {
		t.Fatalf("cosigners (-want +got):\n%s", diff)
	}
	if court.requests.Load() != before {
		t.Error("a witness that had cosigned was asked again")
	}

	// The log grows: each witness gets one request with the consistency
	// proof from the size it cosigned.
	for i := 10; i < 25; i++ {
		m.Append(testLeaf(t, i))
	}
	cp25 := signedCheckpoint(t, m, signer)
	before = court.requests.Load()
	if got, err = ws.Cosign(ctx, cp25); err != nil {
		t.Fatal(err)
	}
	if len(cosigners(got)) != 2 || court.requests.Load() != before+1 || court.ws.State(testOrigin).Size != 25 {
		t.Fatalf("after growing: %v, %d requests, state %+v", cosigners(got), court.requests.Load()-before, court.ws.State(testOrigin))
	}
	if !bytes.Equal(served(cp10), cp10) {
		t.Error("the reader served the cosigned note of another checkpoint")
	}

	// A node restarted (sizes forgotten) learns them from the cosigned file:
	// no 409 round trip.
	for i := 25; i < 30; i++ {
		m.Append(testLeaf(t, i))
	}
	cp30 := signedCheckpoint(t, m, signer)
	restarted := &Witnesses{Publisher: p, Witnesses: ws.Witnesses}
	before = court.requests.Load()
	if got, err = restarted.Cosign(ctx, cp30); err != nil || len(cosigners(got)) != 2 {
		t.Fatalf("after a restart: %v %v", cosigners(got), err)
	}
	if n := court.requests.Load() - before; n != 1 {
		t.Errorf("after a restart: %d requests, want 1", n)
	}

	// A node that lost its cosigned file asks from 0, learns the size from
	// the 409 and cosigns.
	os.Remove(CosignedPath(p.LastPath))
	for i := 30; i < 33; i++ {
		m.Append(testLeaf(t, i))
	}
	cp33 := signedCheckpoint(t, m, signer)
	before = court.requests.Load()
	if got, err = (&Witnesses{Publisher: p, Witnesses: ws.Witnesses}).Cosign(ctx, cp33); err != nil || len(cosigners(got)) != 2 {
		t.Fatalf("after losing the cosigned file: %v %v", cosigners(got), err)
	}
	if n := court.requests.Load() - before; n != 2 {
		t.Errorf("after losing the cosigned file: %d requests, want 2 (409, then 200)", n)
	}

	// A node restored from an older backup publishes a smaller tree: the
	// witnesses, ahead of it, say so.
	_, err = (&Witnesses{Publisher: p, Witnesses: ws.Witnesses[:1]}).Cosign(ctx, cp25)
	if healthcode.ErrorDetail(err) != "tlog.witness_ahead" || healthcode.ErrorCode(err) != healthcode.ETAMPERED {
		t.Fatalf("a smaller checkpoint: %v", err)
	}
	// A fork of the same size is refused by the witnesses (422) and gains
	// no cosignature.
	fork33, _ := SignCheckpoint(testOrigin, 33, tlog.RecordHash([]byte("fork")), signer)
	got, err = ws.Cosign(ctx, fork33)
	if healthcode.ErrorDetail(err) != "tlog.witness_refused" || len(cosigners(got)) != 0 {
		t.Fatalf("a fork: %v %v", cosigners(got), err)
	}
	if kept := served(cp33); len(cosigners(kept)) != 2 {
		t.Fatalf("a refused fork displaced the cosigned checkpoint:\n%s", kept)
	}

	// A witness answering with a signature by another key is caught.
	liar := newCountingWitness(t, "witness.court.example", 77)
	m.Append(testLeaf(t, 33))
	_, err = (&Witnesses{Publisher: p, Witnesses: []Witness{{liar.URL, court.verifier}}}).Cosign(ctx, signedCheckpoint(t, m, signer))
	if healthcode.ErrorDetail(err) != "tlog.bad_cosignature" {
		t.Fatalf("a witness signing with another key: %v", err)
	}
	// A checkpoint not signed by the log is not sent at all.
	other, _, _ := fixedKey(t, testOrigin, 4)
	if _, err := ws.Cosign(ctx, signedCheckpoint(t, m, other)); healthcode.ErrorDetail(err) != "tlog.unknown_key" {
		t.Fatalf("a checkpoint by another key: %v", err)
	}
}
