package tlog

import (
	"bytes"
	"fmt"

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

// Cosign is the witness's one decision. It verifies next with the log's key,
// checks with proof (tlog.ProveTree(next size, prev.Size)) that next extends
// the tree the witness saw last, and returns next with the witness's
// signature appended (the log's signature kept), and the new state.
//
// It refuses (EINVALID, detail "tlog.inconsistent") a checkpoint smaller
// than the last one seen, one of the same size with another root, or one the
// proof does not connect; and anything OpenCheckpoint refuses. prev.Size 0
// means the witness has seen nothing of this log yet.
//
// The cosignature is an ordinary Ed25519 signed-note signature: any C2SP
// signed-note verifier holding the witness's key checks it.
// (golang.org/x/mod/sumdb/note does not make C2SP tlog-cosignature/v1
// timestamped signatures.)
func Cosign(prev WitnessState, next []byte, proof tlog.TreeProof, logVerifier note.Verifier, witness note.Signer) (cosigned []byte, state WitnessState, err error) {
	if logVerifier == nil || witness == nil {
		return nil, prev, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "witness needs the log's key and its own")
	}
	if prev.Origin == "" {
		return nil, prev, healthcode.Errorfd(healthcode.EINVALID, "tlog.origin", "witness state names no log")
	}
	cp, err := OpenCheckpoint(next, prev.Origin, note.VerifierList(logVerifier))
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
