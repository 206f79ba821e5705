package tlog

import (
	"bytes"
	"encoding/json"
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
	w, wv, _ := fixedKey(t, "witness.court.example", 9)
	impostor, _, _ := fixedKey(t, testOrigin, 4)

	m := buildLog(t, 10)
	state := WitnessState{Origin: testOrigin}
	cp10 := signedCheckpoint(t, m, signer)
	cosigned, state, err := Cosign(state, cp10, nil, logV, w)
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
		_, got, err := Cosign(state, tc.next, tc.proof, logV, w)
		if healthcode.ErrorDetail(err) != tc.detail {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.detail)
		}
		if got != state {
			t.Errorf("%s: a refusal changed the state", tc.name)
		}
	}

	cosigned20, state20, err := Cosign(state, cp20, proof, logV, w)
	if err != nil {
		t.Fatal(err)
	}
	// Going back to 10 is refused; the same checkpoint again is fine.
	if _, _, err := Cosign(state20, cp10, nil, logV, w); healthcode.ErrorDetail(err) != "tlog.inconsistent" {
		t.Errorf("rollback: %v", err)
	}
	if _, _, err := Cosign(state20, cosigned20, nil, logV, w); err != nil {
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
	w1, v1, _ := fixedKey(t, "witness1.example", 11)
	w2, v2, _ := fixedKey(t, "witness2.example", 12)
	m := buildLog(t, 4)
	cp := signedCheckpoint(t, m, signer)
	c1, _, err := Cosign(WitnessState{Origin: testOrigin}, cp, nil, logV, w1)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := Cosign(WitnessState{Origin: testOrigin}, cp, nil, logV, w2)
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
	_, _, err = Cosign(WitnessState{}, cp, nil, logV, w1)
	wantErr(t, err, healthcode.EINVALID, "tlog.origin")

	other := signedCheckpoint(t, buildLog(t, 5), signer)
	_, err = AddCosignatures(cp, all, other)
	wantErr(t, err, healthcode.EINVALID, "tlog.inconsistent")
}
