package tlog

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "health.example.gov.cn/410100/log"

var testTime = time.Date(2022, 6, 13, 9, 30, 0, 123456789, time.UTC)

var testKeys = &healthcode.Keys{Pseudonym: []byte("test pseudonym key, 32 bytes....")}

// pseudonym returns a well-formed pseudonym for person i.
func pseudonym(i int) string {
	return testKeys.Pseudonymize("410100", fmt.Sprintf("41010019900101%04d", i))
}

// fixedKey returns a deterministic note key pair named name.
func fixedKey(tb testing.TB, name string, seed byte) (note.Signer, note.Verifier, string) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ParseSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := ParseVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v, vkey
}

// fixedCosigner returns a deterministic witness cosignature/v1 signer named
// name and its verifier.
func fixedCosigner(tb testing.TB, name string, seed byte) (*CosignatureSigner, note.Verifier) {
	tb.Helper()
	skey, _, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewCosignatureSigner(skey, healthcode.NewManualClock(testTime))
	if err != nil {
		tb.Fatal(err)
	}
	return s, s.Verifier()
}

func logKey(tb testing.TB) (note.Signer, note.Verifiers) {
	s, v, _ := fixedKey(tb, testOrigin, 1)
	return s, note.VerifierList(v)
}

// decisionEntry returns a valid decision entry about person i.
func decisionEntry(i int) *healthcode.LogEntry {
	return &healthcode.LogEntry{
		Type: healthcode.LogDecision, Time: testTime.Add(time.Duration(i) * time.Second), Region: "410100",
		Subject: pseudonym(i), Colour: healthcode.Yellow, Reason: "close_contact", RuleID: "r-close-contact",
		RuleSetHash:    "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
		EvidenceDigest: "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35",
		ActorName:      "rules:2022.06", ActorRole: healthcode.RoleSystem, Ref: "ruleset/2022.06",
	}
}

// testLeaf returns the leaf bytes of decisionEntry(i) with a salt derived from i.
func testLeaf(tb testing.TB, i int) []byte {
	tb.Helper()
	b, _, err := EncodeLeaf(decisionEntry(i), testSalt(i))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// testOpening returns the opening of testLeaf(tb, i).
func testOpening(tb testing.TB, i int) []byte {
	tb.Helper()
	_, o, err := EncodeLeaf(decisionEntry(i), testSalt(i))
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// opened returns e as Open gives it back: with the fields its leaf commits.
func opened(e *healthcode.LogEntry) *healthcode.LogEntry {
	c := *e
	c.Commit = e.Committed()
	return &c
}

func testSalt(i int) []byte {
	s := bytes.Repeat([]byte{byte(i)}, SaltSize)
	s[0], s[1] = byte(i>>8), byte(i>>16)
	return s
}

// buildLog returns a log of n valid leaves.
func buildLog(tb testing.TB, n int) *MemoryLog {
	tb.Helper()
	m := &MemoryLog{}
	for i := range n {
		if _, err := m.Append(testLeaf(tb, i)); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// signedCheckpoint signs the current state of m.
func signedCheckpoint(tb testing.TB, m *MemoryLog, signer note.Signer, ext ...string) []byte {
	tb.Helper()
	root, err := m.Root()
	if err != nil {
		tb.Fatal(err)
	}
	cp, err := SignCheckpoint(testOrigin, m.Size(), root, signer, ext...)
	if err != nil {
		tb.Fatal(err)
	}
	return cp
}

func open(tb testing.TB, msg []byte, vs note.Verifiers) *Checkpoint {
	tb.Helper()
	c, err := OpenCheckpoint(msg, testOrigin, vs)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// wantErr fails unless err has the code and detail.
func wantErr(tb testing.TB, err error, code, detail string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s/%s", code, detail)
	}
	if healthcode.ErrorCode(err) != code || healthcode.ErrorDetail(err) != detail {
		tb.Fatalf("got %v, want %s/%s", err, code, detail)
	}
}

var _ tlog.HashReader = (*MemoryLog)(nil)
var _ tlog.HashReader = (*Appender)(nil)
