package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// WitnessState is what a witness remembers about one log: the last
// checkpoint it cosigned. The caller persists it (it marshals to JSON) and
// must store the new state before releasing the cosignature, so that a crash
// never lets the witness cosign a rollback.
type WitnessState struct {
	Origin string    `json:"origin"`
	Size   int64     `json:"size"`
	Root   tlog.Hash `json:"root"`
}

// Cosign is the witness's one decision. It verifies next with the log's keys,
// checks with proof (tlog.ProveTree(next size, prev.Size)) that next extends
// the tree the witness saw last, and returns next with the witness's
// signature appended (the log's signature kept), and the new state.
//
// It refuses (EINVALID, detail "tlog.inconsistent") a checkpoint smaller
// than the last one seen, one of the same size with another root, or one the
// proof does not connect; and anything OpenCheckpoint refuses. prev.Size 0
// means the witness has seen nothing of this log yet.
//
// witness is normally a CosignatureSigner: the cosignature is a C2SP
// tlog-cosignature/v1 signature (timestamped, key type 0x04), which any C2SP
// client holding the witness's public key checks.
func Cosign(prev WitnessState, next []byte, proof tlog.TreeProof, logVerifiers note.Verifiers, witness note.Signer) (cosigned []byte, state WitnessState, err error) {
	if logVerifiers == nil || witness == nil {
		return nil, prev, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "witness needs the log's key and its own")
	}
	if prev.Origin == "" {
		return nil, prev, healthcode.Errorfd(healthcode.EINVALID, "tlog.origin", "witness state names no log")
	}
	cp, err := OpenCheckpoint(next, prev.Origin, logVerifiers)
	if err != nil {
		return nil, prev, err
	}
	old := Checkpoint{Origin: prev.Origin, Size: prev.Size, Root: prev.Root}
	if err := CheckConsistent(old, *cp, proof); err != nil {
		return nil, prev, err
	}
	// Keep only the log's verified signature: the witness vouches for
	// nothing else that came with the note.
	n := &note.Note{Text: noteText(next), Sigs: cp.Signatures}
	out, err := note.Sign(n, witness)
	if err != nil {
		return nil, prev, fmt.Errorf("tlog.Cosign: %w", err)
	}
	return out, WitnessState{Origin: cp.Origin, Size: cp.Size, Root: cp.Root}, nil
}

// noteText returns the text part of a signed note that note.Open has
// accepted (it ends at the last blank line).
func noteText(msg []byte) string {
	return string(msg[:bytes.LastIndex(msg, []byte("\n\n"))+1])
}

// AddCosignatures returns the checkpoint cp with the verified signatures of
// the cosigned copies appended (what the node shows citizens), each copy
// checked against verifiers (the log's key and the witnesses'). Every copy
// must carry the same checkpoint text; a signature that does not verify is
// an error, one by an unknown key is dropped.
func AddCosignatures(cp []byte, verifiers note.Verifiers, cosigned ...[]byte) ([]byte, error) {
	base, err := note.Open(cp, verifiers)
	if err != nil {
		return nil, noteError(err)
	}
	sigs := base.Sigs
	seen := map[string]bool{}
	for _, s := range sigs {
		seen[s.Base64] = true
	}
	for _, c := range cosigned {
		n, err := note.Open(c, verifiers)
		if err != nil {
			return nil, noteError(err)
		}
		if n.Text != base.Text {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.inconsistent", "a cosigned copy carries another checkpoint")
		}
		for _, s := range n.Sigs {
			if !seen[s.Base64] {
				seen[s.Base64] = true
				sigs = append(sigs, s)
			}
		}
	}
	out, err := note.Sign(&note.Note{Text: base.Text, Sigs: sigs})
	if err != nil {
		return nil, fmt.Errorf("tlog.AddCosignatures: %w", err)
	}
	return out, nil
}

// The witness protocol follows C2SP tlog-witness (https://c2sp.org/tlog-witness)
// as far as golang.org/x/mod/sumdb/note allows. A log (or anyone) POSTs to
// <witness URL>/add-checkpoint the body
//
//	old <size>\n                 the size of the last checkpoint the witness cosigned for this log (0 if none)
//	<base64 hash>\n              the consistency proof from old to the checkpoint's size, one hash a line
//	\n
//	<signed checkpoint>          a C2SP signed note, with at least the log's signature
//
// and the witness answers, checking in this order:
//
//	400 Bad Request          malformed body or checkpoint, or old > the checkpoint's size
//	404 Not Found            the checkpoint's origin is no log this witness knows
//	403 Forbidden            no signature by one of the log's keys verifies
//	409 Conflict             old is not the witness's size for this log; Content-Type
//	                         text/x.tlog.size, body "<the witness's size>\n": ask again from there
//	422 Unprocessable Entity the proof does not show the checkpoint extends the one cosigned
//	                         (a fork, a rewritten history), or a proof was sent where none is due
//	200 OK                   the witness's cosignature line(s), "— <name> <base64>\n", to be
//	                         appended to the checkpoint's signatures
//
// plus 405 for another method and 413 for a body over MaxAddCheckpointSize.
// The witness writes its new state to disk before it answers 200.
//
// The cosignature is a C2SP tlog-cosignature/v1 signature (CosignatureSigner:
// Ed25519 over "cosignature/v1", the time and the checkpoint; key type 0x04),
// so torchwood's litewitness and other C2SP witnesses and clients interoperate.
// A witness key must still be named differently from every log it witnesses
// (NewWitnessServer refuses otherwise). A checkpoint of the same size as the
// last cosigned one but another root gets 422, as in the current C2SP draft
// (v1.0.0 said 409).

// AddCheckpointPath is the witness's endpoint, relative to its URL.
const AddCheckpointPath = "/add-checkpoint"

// SizeContentType is the media type of a 409 answer's body.
const SizeContentType = "text/x.tlog.size"

// MaxAddCheckpointSize bounds an add-checkpoint request: the old size line,
// 63 proof hashes and a checkpoint.
const MaxAddCheckpointSize = MaxCheckpointSize + 64*(44+1) + 32

// maxCosignatureAnswer bounds the 200 answer a client reads.
const maxCosignatureAnswer = 16 << 10

func malformedRequest(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_request_malformed", "malformed add-checkpoint request: "+format, args...)
}

// FormatAddCheckpoint returns the body of an add-checkpoint request.
func FormatAddCheckpoint(oldSize int64, proof tlog.TreeProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	b.WriteString("old " + strconv.FormatInt(oldSize, 10) + "\n")
	for _, h := range proof {
		b.WriteString(h.String() + "\n")
	}
	b.WriteString("\n")
	b.Write(checkpoint)
	return b.Bytes()
}

// ParseAddCheckpoint parses an add-checkpoint request body strictly (one
// spelling per request: canonical decimal and base64, at most 63 hashes).
// It does not look inside the checkpoint. Returns EINVALID with detail
// "tlog.witness_request_malformed".
func ParseAddCheckpoint(body []byte) (oldSize int64, proof tlog.TreeProof, checkpoint []byte, err error) {
	if len(body) > MaxAddCheckpointSize {
		return 0, nil, nil, malformedRequest("%d bytes, more than %d", len(body), MaxAddCheckpointSize)
	}
	head, checkpoint, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, malformedRequest("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	size, found := strings.CutPrefix(lines[0], "old ")
	if !found {
		return 0, nil, nil, malformedRequest("first line is not \"old <size>\"")
	}
	if oldSize, ok = parseDecimal(size); !ok {
		return 0, nil, nil, malformedRequest("old size %q is not a decimal number", size)
	}
	if len(lines)-1 > 63 {
		return 0, nil, nil, malformedRequest("%d proof hashes, more than 63", len(lines)-1)
	}
	for i, l := range lines[1:] {
		h, ok := parseHash(l)
		if !ok {
			return 0, nil, nil, malformedRequest("proof line %d is not 32 bytes of canonical base64", i+1)
		}
		proof = append(proof, h)
	}
	if len(checkpoint) == 0 {
		return 0, nil, nil, malformedRequest("no checkpoint")
	}
	return oldSize, proof, checkpoint, nil
}

// WitnessSizeError is the answer "409 Conflict": the witness's last
// cosigned checkpoint of the log has Size leaves, not the old size the
// request named. Ask again with a proof from Size.
type WitnessSizeError struct {
	Size int64
}

func (e *WitnessSizeError) Error() string {
	return fmt.Sprintf("the witness's last cosigned checkpoint has size %d", e.Size)
}

// RequestCosignature asks the witness at url (its base URL; the request goes
// to url + AddCheckpointPath) to cosign checkpoint, given the size of the
// last checkpoint it cosigned for this log and the consistency proof from
// that size. It returns the witness's cosignature lines as answered, checked
// for form only: the caller verifies them with the witness's key.
//
// A *WitnessSizeError means the witness is at another size. A refusal is
// EINVALID (detail "tlog.witness_refused") naming the witness's status and
// reason; a witness that cannot be reached or fails is EUNAVAILABLE (detail
// "tlog.witness_unavailable"). ctx bounds the request.
func RequestCosignature(ctx context.Context, url string, oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error) {
	endpoint := strings.TrimRight(url, "/") + AddCheckpointPath
	unavailable := func(format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EUNAVAILABLE, "tlog.witness_unavailable", "witness %s: "+format, append([]any{endpoint}, args...)...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(FormatAddCheckpoint(oldSize, proof, checkpoint)))
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_url", "witness URL %q: %v", url, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCosignatureAnswer+1))
	if err != nil {
		return nil, unavailable("reading the answer: %v", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if len(b) > maxCosignatureAnswer || !wellFormedSignatures(b) {
			return nil, unavailable("the answer is not signature lines")
		}
		return b, nil
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("Content-Type") == SizeContentType:
		line, ok := strings.CutSuffix(string(b), "\n")
		size, okSize := parseDecimal(line)
		if !ok || !okSize {
			return nil, unavailable("409 with a malformed size %q", b)
		}
		return nil, &WitnessSizeError{Size: size}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		reason, _, _ := strings.Cut(string(b[:min(len(b), 512)]), "\n")
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_refused", "witness %s refused the checkpoint: %s: %s", endpoint, resp.Status, reason)
	}
	return nil, unavailable("%s", resp.Status)
}

// wellFormedSignatures reports whether b is one or more signed-note
// signature lines.
func wellFormedSignatures(b []byte) bool {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return false
	}
	for _, l := range strings.Split(string(b[:len(b)-1]), "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		name, sig, ok2 := strings.Cut(rest, " ")
		if !ok || !ok2 || name == "" {
			return false
		}
		if raw, ok := decodeBase64(sig); !ok || len(raw) < 5 {
			return false
		}
	}
	return true
}

// WitnessServer is a witness (http.Handler) for the logs it is given: it
// cosigns a checkpoint only if it extends the last one it cosigned for that
// log, and remembers that checkpoint in a JSON file, written (atomically)
// before the cosignature is released. See AddCheckpointPath for the
// protocol. It is safe for concurrent use; cosigning decisions are taken
// one at a time.
type WitnessServer struct {
	signer    note.Signer
	logs      map[string]note.Verifiers // by origin
	statePath string
	// Logger receives a warning for every inconsistent checkpoint (with the
	// checkpoint: evidence that the log forked) and errors writing the
	// state. Discarded if nil.
	Logger *slog.Logger

	mu    sync.Mutex
	state map[string]witnessRecord
}

// witnessFile is the witness's state file:
//
//	{"logs": {"<origin>": {"origin": "…", "size": 12, "root": "<base64>",
//	                       "checkpoint": "<the last checkpoint cosigned, with the log's and the witness's signatures>"}}}
type witnessFile struct {
	Logs map[string]witnessRecord `json:"logs"`
}

type witnessRecord struct {
	WitnessState
	Checkpoint string `json:"checkpoint,omitempty"`
}

// NewWitnessServer returns a witness signing with signer for the logs whose
// public keys are given (a key's name is its log's origin; a log may have
// several keys), keeping its state in statePath (created at the first
// cosignature). It refuses a witness key named like one of the logs, and a
// state file it cannot read: a witness that forgot what it cosigned could be
// made to cosign a rollback.
func NewWitnessServer(signer note.Signer, statePath string, logKeys ...note.Verifier) (*WitnessServer, error) {
	if signer == nil || len(logKeys) == 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "a witness needs its own key and at least one log's key")
	}
	if statePath == "" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_state", "a witness needs a state file")
	}
	byOrigin := map[string][]note.Verifier{}
	for _, v := range logKeys {
		if v == nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "nil log key")
		}
		if v.Name() == signer.Name() {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "the witness key is named %q like a log it witnesses: its cosignatures could pass for the log's signatures", v.Name())
		}
		byOrigin[v.Name()] = append(byOrigin[v.Name()], v)
	}
	w := &WitnessServer{signer: signer, logs: map[string]note.Verifiers{}, statePath: statePath, state: map[string]witnessRecord{}}
	for o, vs := range byOrigin {
		w.logs[o] = note.VerifierList(vs...)
	}
	b, err := os.ReadFile(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	} else if err != nil {
		return nil, fmt.Errorf("tlog.NewWitnessServer: %w", err)
	}
	var f witnessFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_state", "witness state %s is damaged: %v", statePath, err)
	}
	for o, r := range f.Logs {
		if r.Origin != o || r.Size < 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_state", "witness state %s is damaged: entry %q", statePath, o)
		}
		w.state[o] = r
	}
	return w, nil
}

// State returns what the witness last cosigned for the log origin (size 0
// if nothing).
func (w *WitnessServer) State(origin string) WitnessState {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.state[origin]; ok {
		return r.WitnessState
	}
	return WitnessState{Origin: origin}
}

// AddCheckpoint is the witness's answer to an add-checkpoint request,
// without HTTP: the cosignature line(s) to append to checkpoint, or an error
// that WitnessStatus maps to the protocol's status (a *WitnessSizeError for
// 409).
func (w *WitnessServer) AddCheckpoint(oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error) {
	origin, _, ok := bytes.Cut(checkpoint, []byte("\n"))
	if !ok || len(origin) == 0 {
		return nil, malformedCheckpoint("no origin line")
	}
	verifiers, known := w.logs[string(origin)]
	if !known {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.unknown_log", "this witness does not witness the log %q", origin)
	}
	cp, err := OpenCheckpoint(checkpoint, string(origin), verifiers)
	if err != nil {
		return nil, err
	}
	if oldSize > cp.Size {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.old_size", "old size %d is larger than the checkpoint's %d", oldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.state[cp.Origin]
	prev.Origin = cp.Origin
	if oldSize != prev.Size {
		return nil, &WitnessSizeError{Size: prev.Size}
	}
	if (oldSize == 0 || oldSize == cp.Size) && len(proof) > 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_proof", "a consistency proof from size %d to %d must be empty", oldSize, cp.Size)
	}
	cosigned, next, err := Cosign(prev.WitnessState, checkpoint, proof, verifiers, w.signer)
	if err != nil {
		if healthcode.ErrorDetail(err) == "tlog.inconsistent" {
			w.logger().Warn("refused an inconsistent checkpoint: the log may have forked",
				"origin", cp.Origin, "cosigned_size", prev.Size, "size", cp.Size, "err", healthcode.ErrorMessage(err), "checkpoint", string(checkpoint))
		}
		return nil, err
	}
	state := maps.Clone(w.state)
	state[cp.Origin] = witnessRecord{WitnessState: next, Checkpoint: string(cosigned)}
	b, err := json.MarshalIndent(witnessFile{Logs: state}, "", " ")
	if err != nil {
		return nil, fmt.Errorf("tlog.WitnessServer: %w", err)
	}
	if err := writeFileAtomic(w.statePath, append(b, '\n')); err != nil {
		w.logger().Error("cannot write the witness state: cosigning nothing", "path", w.statePath, "err", err)
		return nil, fmt.Errorf("tlog.WitnessServer: writing state: %w", err)
	}
	w.state = state
	return w.ownSignature(cosigned)
}

// ownSignature returns the witness's signature line of a note it signed.
func (w *WitnessServer) ownSignature(cosigned []byte) ([]byte, error) {
	_, err := note.Open(cosigned, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, fmt.Errorf("tlog.WitnessServer: reopening the cosigned note: %v", err)
	}
	for _, s := range unverified.Note.UnverifiedSigs {
		if s.Name == w.signer.Name() && s.Hash == w.signer.KeyHash() {
			return []byte("— " + s.Name + " " + s.Base64 + "\n"), nil
		}
	}
	return nil, fmt.Errorf("tlog.WitnessServer: the cosigned note lacks the witness's signature")
}

func (w *WitnessServer) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// WitnessStatus maps an error of AddCheckpoint to its HTTP status.
func WitnessStatus(err error) int {
	var size *WitnessSizeError
	if errors.As(err, &size) {
		return http.StatusConflict
	}
	switch healthcode.ErrorDetail(err) {
	case "tlog.witness_request_malformed", "tlog.checkpoint_malformed", "tlog.old_size", "tlog.wrong_origin":
		return http.StatusBadRequest
	case "tlog.unknown_log":
		return http.StatusNotFound
	case "tlog.unknown_key", "tlog.bad_signature":
		return http.StatusForbidden
	case "tlog.inconsistent", "tlog.bad_proof":
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// ServeHTTP serves POST AddCheckpointPath.
func (w *WitnessServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != AddCheckpointPath {
		http.Error(rw, "not found: a witness serves POST "+AddCheckpointPath, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxAddCheckpointSize))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(rw, fmt.Sprintf("request larger than %d bytes", MaxAddCheckpointSize), http.StatusRequestEntityTooLarge)
		return
	} else if err != nil {
		http.Error(rw, "cannot read the request", http.StatusBadRequest)
		return
	}
	oldSize, proof, checkpoint, err := ParseAddCheckpoint(body)
	var sigs []byte
	if err == nil {
		sigs, err = w.AddCheckpoint(oldSize, proof, checkpoint)
	}
	var size *WitnessSizeError
	switch status := WitnessStatus(err); {
	case err == nil:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(sigs)
	case errors.As(err, &size):
		rw.Header().Set("Content-Type", SizeContentType)
		rw.WriteHeader(status)
		fmt.Fprintf(rw, "%d\n", size.Size)
	case status == http.StatusInternalServerError:
		w.logger().Error("add-checkpoint failed", "err", err)
		http.Error(rw, "internal error", status)
	default:
		http.Error(rw, healthcode.ErrorMessage(err)+" ("+healthcode.ErrorDetail(err)+")", status)
	}
}
