package tlog

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointRoundTrip(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	m := buildLog(t, 10)
	msg := signedCheckpoint(t, m, signer, "time 1655112600", "region 410100")
	root, _ := m.Root()
	text := testOrigin + "\n10\n" + base64.StdEncoding.EncodeToString(root[:]) + "\ntime 1655112600\nregion 410100\n\n— "
	if !strings.HasPrefix(string(msg), text) {
		t.Fatalf("checkpoint text:\n%s", msg)
	}
	c := open(t, msg, vs)
	want := &Checkpoint{Origin: testOrigin, Size: 10, Root: root, Extensions: []string{"time 1655112600", "region 410100"}, Note: msg}
	if diff := cmp.Diff(want, c, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Signatures" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(c.Signatures) != 1 || c.Signatures[0].Name != testOrigin {
		t.Errorf("signatures %+v", c.Signatures)
	}
	d := c.Domain(testTime)
	if d.Size != 10 || d.Root != [32]byte(root) || !bytes.Equal(d.Note, msg) || !d.Time.Equal(testTime) {
		t.Errorf("Domain = %+v", d)
	}
}

func TestOpenCheckpointErrors(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	otherSigner, _, _ := fixedKey(t, testOrigin, 2)
	root := tlog.RecordHash([]byte("x"))
	b64 := base64.StdEncoding.EncodeToString(root[:])
	sign := func(text string, s note.Signer) []byte {
		msg, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	good := sign(testOrigin+"\n5\n"+b64+"\n", signer)
	nonCanonical := []byte(b64)
	nonCanonical[len(nonCanonical)-2]++ // changes only the unused low bits
	for _, tc := range []struct {
		name   string
		msg    []byte
		detail string
	}{
		{"garbage", []byte("hello"), "tlog.checkpoint_malformed"},
		{"no signature", []byte(testOrigin + "\n5\n" + b64 + "\n"), "tlog.checkpoint_malformed"},
		{"control character", append(bytes.Clone(good), '\r'), "tlog.checkpoint_malformed"},
		{"leading zero", sign(testOrigin+"\n05\n"+b64+"\n", signer), "tlog.checkpoint_malformed"},
		{"negative size", sign(testOrigin+"\n-5\n"+b64+"\n", signer), "tlog.checkpoint_malformed"},
		{"huge size", sign(testOrigin+"\n99999999999999999999\n"+b64+"\n", signer), "tlog.checkpoint_malformed"},
		{"short root", sign(testOrigin+"\n5\nAAAA\n", signer), "tlog.checkpoint_malformed"},
		{"non-canonical root", sign(testOrigin+"\n5\n"+string(nonCanonical)+"\n", signer), "tlog.checkpoint_malformed"},
		{"two lines", sign(testOrigin+"\n5\n", signer), "tlog.checkpoint_malformed"},
		{"empty extension", sign(testOrigin+"\n5\n"+b64+"\n\next\n", signer), "tlog.checkpoint_malformed"},
		{"too large", append(bytes.Repeat([]byte("x"), MaxCheckpointSize), good...), "tlog.checkpoint_malformed"},
		{"unknown key", sign(testOrigin+"\n5\n"+b64+"\n", otherSigner), "tlog.unknown_key"},
		{"bad signature", bytes.Replace(good, []byte("\n5\n"), []byte("\n6\n"), 1), "tlog.bad_signature"},
		{"wrong origin", sign("other.example/log\n5\n"+b64+"\n", signer), "tlog.wrong_origin"},
		{"wrong origin, unknown key", sign("other.example/log\n5\n"+b64+"\n", otherSigner), "tlog.wrong_origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := OpenCheckpoint(tc.msg, testOrigin, vs)
			wantErr(t, err, healthcode.EINVALID, tc.detail)
		})
	}
	if _, err := OpenCheckpoint(good, testOrigin, vs); err != nil {
		t.Fatalf("good checkpoint: %v", err)
	}
}

func TestSignCheckpointRefuses(t *testing.T) {
	t.Parallel()
	signer, _ := logKey(t)
	for name, tc := range map[string]struct {
		origin string
		size   int64
		ext    []string
	}{
		"empty origin":      {"", 1, nil},
		"space in origin":   {"a b", 1, nil},
		"plus in origin":    {"a+b", 1, nil},
		"negative size":     {testOrigin, -1, nil},
		"empty extension":   {testOrigin, 1, []string{""}},
		"newline in ext":    {testOrigin, 1, []string{"a\nb"}},
		"control in ext":    {testOrigin, 1, []string{"a\x00"}},
		"invalid UTF-8 ext": {testOrigin, 1, []string{"\xff"}},
	} {
		if _, err := SignCheckpoint(tc.origin, tc.size, tlog.Hash{}, signer, tc.ext...); healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	skey, vkey, err := GenerateKey(nil, "witness.court.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner("  " + skey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := ParseVerifiers(vkey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, vs); err != nil {
		t.Fatal(err)
	}
	if _, _, err := GenerateKey(nil, "bad name"); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("GenerateKey(bad name) = %v", err)
	}
	for _, k := range []string{"", "PRIVATE+KEY+x", vkey} {
		_, err := ParseSigner(k)
		wantErr(t, err, healthcode.EINVALID, "tlog.bad_key")
	}
	_, err = ParseVerifiers(vkey, "nonsense")
	wantErr(t, err, healthcode.EINVALID, "tlog.bad_key")
}

func TestCheckConsistent(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	// The log has 20 leaves, a backup is taken, the log grows to 25 and
	// publishes old; the backup is restored and grows differently.
	m := buildLog(t, 25)
	forked := buildLog(t, 20)
	old := open(t, signedCheckpoint(t, m, signer), vs)
	for i := 25; i < 33; i++ {
		m.Append(testLeaf(t, i))
	}
	for i := 20; i < 33; i++ {
		forked.Append(testLeaf(t, 500+i))
	}
	next := open(t, signedCheckpoint(t, m, signer), vs)
	fork := open(t, signedCheckpoint(t, forked, signer), vs)
	proof, err := ConsistencyProof(25, 33, m)
	if err != nil {
		t.Fatal(err)
	}
	forkProof, err := ConsistencyProof(25, 33, forked)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckConsistent(*old, *next, proof); err != nil {
		t.Errorf("consistent checkpoints: %v", err)
	}
	if err := CheckConsistent(*old, *old, nil); err != nil {
		t.Errorf("same checkpoint: %v", err)
	}
	if err := CheckConsistent(Checkpoint{Origin: testOrigin}, *next, nil); err != nil {
		t.Errorf("from the empty tree: %v", err)
	}
	for name, tc := range map[string]struct {
		old, next *Checkpoint
		proof     tlog.TreeProof
	}{
		"smaller":                   {next, old, proof},
		"same size, other root":     {next, fork, nil},
		"fork with its own proof":   {old, fork, forkProof},
		"fork with the log's proof": {old, fork, proof},
		"no proof":                  {old, next, nil},
		"truncated proof":           {old, next, proof[1:]},
	} {
		if err := CheckConsistent(*tc.old, *tc.next, tc.proof); healthcode.ErrorDetail(err) != "tlog.inconsistent" {
			t.Errorf("%s: got %v, want tlog.inconsistent", name, err)
		}
	}
	other := *next
	other.Origin = "other.example/log"
	wantErr(t, CheckConsistent(*old, other, proof), healthcode.EINVALID, "tlog.wrong_origin")
}

func TestCosigners(t *testing.T) {
	t.Parallel()
	signer, _ := logKey(t)
	w, wv, _ := fixedKey(t, "witness.court.example", 9)
	msg := signedCheckpoint(t, buildLog(t, 3), signer)
	names, err := Cosigners(msg, note.VerifierList(wv))
	if err != nil || len(names) != 0 {
		t.Errorf("uncosigned: %v, %v", names, err)
	}
	n, _ := note.Open(msg, note.VerifierList(wv))
	_ = n
	cosigned, err := note.Sign(&note.Note{Text: noteText(msg)}, signer, w)
	if err != nil {
		t.Fatal(err)
	}
	names, err = Cosigners(cosigned, note.VerifierList(wv))
	if diff := cmp.Diff([]string{"witness.court.example"}, names); diff != "" || err != nil {
		t.Errorf("cosigned (-want +got):\n%s%v", diff, err)
	}
	bad := bytes.Replace(cosigned, []byte("\n3\n"), []byte("\n4\n"), 1)
	_, err = Cosigners(bad, note.VerifierList(wv))
	wantErr(t, err, healthcode.EINVALID, "tlog.bad_signature")
}
