package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

func evidenceEntry(i int) *healthcode.LogEntry {
	return &healthcode.LogEntry{Type: healthcode.LogEvidence, Time: testTime.Add(time.Duration(i) * time.Second), Region: "410100",
		Subject: pseudonym(i), EvidenceDigest: strings.Repeat("0f", 32), ActorName: "郑州金域检验所", ActorRole: healthcode.RoleLab, Ref: "evidence/12"}
}

func TestLeafRoundTrip(t *testing.T) {
	t.Parallel()
	ruleset := &healthcode.LogEntry{Type: healthcode.LogRuleSet, Time: testTime, Region: "410100",
		RuleSetHash: strings.Repeat("ab", 32), ActorName: "王建国", ActorRole: healthcode.RoleAdmin, Ref: "2022.06"}
	refusal := &healthcode.LogEntry{Type: healthcode.LogDesignation, Time: testTime, Region: "410100", Reason: "refused.case_visited",
		ActorName: "审批人 (市卫健委)", ActorRole: healthcode.RoleApprover, Ref: "designation/3 refused", Note: "张三 13800138000 not a case"}
	extra := decisionEntry(9)
	extra.Commit = healthcode.FieldRef | healthcode.FieldColour
	evidence := evidenceEntry(7)
	evidence.Time = evidence.Time.In(time.FixedZone("CST", 8*3600))
	for name, tc := range map[string]struct {
		e    *healthcode.LogEntry
		salt []byte
	}{
		"decision":          {decisionEntry(1), testSalt(1)},
		"evidence":          {evidence, testSalt(2)},
		"ruleset":           {ruleset, nil},
		"note, no subject":  {refusal, testSalt(3)},
		"fields added by e": {extra, testSalt(4)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, opening, err := EncodeLeaf(tc.e, tc.salt)
			if err != nil {
				t.Fatal(err)
			}
			l, err := DecodeLeaf(b)
			if err != nil {
				t.Fatal(err)
			}
			if l.Committed != tc.e.Committed() {
				t.Errorf("committed %b, want %b", l.Committed, tc.e.Committed())
			}
			got := &l.Entry
			if l.Committed != 0 {
				for f, c := range l.Commitments() {
					if v := fieldValue(tc.e, fieldIndex(f)); len(v) > 1 && bytes.Contains(b, v) {
						t.Errorf("leaf holds its committed %s %q in clear", FieldNames(f), v)
					}
					if len(c) != 32 {
						t.Errorf("%s commitment of %d bytes", FieldNames(f), len(c))
					}
				}
				if got, err = l.Open(tc.e.Subject, opening); err != nil {
					t.Fatal(err)
				}
			} else if l.Commitment != nil || opening != nil {
				t.Error("entry with nothing committed has a commitment or an opening")
			}
			if diff := cmp.Diff(opened(tc.e), got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			again, opening2, err := EncodeLeaf(got, tc.salt)
			if err != nil || !bytes.Equal(again, b) || !bytes.Equal(opening, opening2) {
				t.Errorf("re-encoding differs: %v", err)
			}
			if !bytes.Equal(l.Bytes(), b) {
				t.Error("Bytes() differs from the decoded bytes")
			}
		})
	}
}

func fieldIndex(f healthcode.LogFields) int {
	for i, lf := range leafFields {
		if lf.f == f {
			return i
		}
	}
	return -1
}

// TestLeafFormat checks the documented byte layout with an independent
// encoder.
func TestLeafFormat(t *testing.T) {
	t.Parallel()
	e := decisionEntry(3)
	e.Note = "a note"
	salt := testSalt(3)
	var want, wantOpening []byte
	str := func(s string) {
		want = binary.BigEndian.AppendUint16(want, uint16(len(s)))
		want = append(want, s...)
	}
	sum := func(parts ...string) []byte {
		h := sha256.Sum256([]byte(strings.Join(parts, "")))
		return h[:]
	}
	commit := func(name, value string) {
		fs := sum("healthcode/tlog/salt/v2\x00", string(salt), name)
		want = append(want, sum("healthcode/tlog/commit/v2\x00", name, "\x00", string(fs), value)...)
		if name != "subject" {
			wantOpening = binary.BigEndian.AppendUint16(wantOpening, uint16(len(value)))
			wantOpening = append(wantOpening, value...)
		}
	}
	want = append(want, 0x02)
	str("decision")
	want = binary.BigEndian.AppendUint64(want, uint64(e.Time.UnixNano()))
	str("410100")
	// subject, reason, rule_id, evidence_digest and note committed.
	want = binary.BigEndian.AppendUint16(want, 1<<0|1<<2|1<<3|1<<5|1<<9)
	wantOpening = append(wantOpening, salt...)
	commit("subject", e.Subject)
	want = append(want, 2) // yellow
	commit("reason", e.Reason)
	commit("rule_id", e.RuleID)
	str(e.RuleSetHash)
	commit("evidence_digest", e.EvidenceDigest)
	str(e.ActorName)
	str("system")
	str(e.Ref)
	commit("note", e.Note)
	got, opening, err := EncodeLeaf(e, salt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("leaf bytes\n got %x\nwant %x", got, want)
	}
	if !bytes.Equal(opening, wantOpening) {
		t.Errorf("opening\n got %x\nwant %x", opening, wantOpening)
	}
}

// TestLeafVersion1 reads a leaf of the first format, written by an
// independent encoder: logs written before version 2 still verify and open.
func TestLeafVersion1(t *testing.T) {
	t.Parallel()
	e := decisionEntry(3)
	salt := testSalt(3)
	var b []byte
	str := func(s string) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, 0x01)
	str("decision")
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	str("410100")
	c := sha256.Sum256(append(append([]byte("healthcode/tlog/subject/v1\x00"), salt...), e.Subject...))
	str(string(c[:]))
	b = append(b, 2) // yellow
	for _, s := range []string{e.Reason, e.RuleID, e.RuleSetHash, e.EvidenceDigest, e.ActorName, "system", e.Ref} {
		str(s)
	}
	l, err := DecodeLeaf(b)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Entry.Reason != e.Reason || !bytes.Equal(l.Bytes(), b) {
		t.Fatalf("version 1 leaf: %+v", l)
	}
	got, err := l.Open(e.Subject, salt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != e.Subject || got.EvidenceDigest != e.EvidenceDigest {
		t.Errorf("opened %+v", got)
	}
	if _, err := l.Open(pseudonym(4), salt); healthcode.ErrorDetail(err) != "tlog.opening_mismatch" {
		t.Errorf("another subject opens a version 1 leaf: %v", err)
	}
}

func TestEncodeLeafRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(e *healthcode.LogEntry)
		salt   []byte
		detail string
	}{
		{"unknown type", func(e *healthcode.LogEntry) { e.Type = "promotion" }, testSalt(1), "tlog.leaf_type"},
		{"no time", func(e *healthcode.LogEntry) { e.Time = time.Time{} }, testSalt(1), "tlog.leaf_time"},
		{"time before 1970", func(e *healthcode.LogEntry) { e.Time = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }, testSalt(1), "tlog.leaf_time"},
		{"bad region", func(e *healthcode.LogEntry) { e.Region = "4101" }, testSalt(1), "region.format"},
		{"no actor", func(e *healthcode.LogEntry) { e.ActorName = " " }, testSalt(1), "tlog.leaf_actor"},
		{"unknown role", func(e *healthcode.LogEntry) { e.ActorRole = "mayor" }, testSalt(1), "tlog.leaf_actor"},
		{"subject is a name", func(e *healthcode.LogEntry) { e.Subject = "张小明" }, testSalt(1), "tlog.leaf_subject"},
		{"subject is an ID number", func(e *healthcode.LogEntry) { e.Subject = "410100199001011234" }, testSalt(1), "tlog.leaf_subject"},
		{"decision about no one", func(e *healthcode.LogEntry) { e.Subject = "" }, testSalt(1), "tlog.leaf_subject"},
		{"decision without colour", func(e *healthcode.LogEntry) { e.Colour = 0 }, testSalt(1), "tlog.leaf_colour"},
		{"bad colour", func(e *healthcode.LogEntry) { e.Type, e.Colour = healthcode.LogAppeal, 9 }, testSalt(1), "tlog.leaf_colour"},
		{"short salt", func(e *healthcode.LogEntry) {}, testSalt(1)[:16], "tlog.leaf_salt"},
		{"no salt", func(e *healthcode.LogEntry) {}, nil, "tlog.leaf_salt"},
		{"salt with nothing committed", func(e *healthcode.LogEntry) { e.Type, e.Subject, e.Colour = healthcode.LogRuleSet, "", 0 }, testSalt(1), "tlog.leaf_salt"},
		{"upper-case digest", func(e *healthcode.LogEntry) { e.EvidenceDigest = strings.ToUpper(e.EvidenceDigest) }, testSalt(1), "tlog.leaf_field"},
		{"short rule set hash", func(e *healthcode.LogEntry) { e.RuleSetHash = "abc" }, testSalt(1), "tlog.leaf_field"},
		{"control character", func(e *healthcode.LogEntry) { e.Reason = "close\ncontact" }, testSalt(1), "tlog.leaf_field"},
		{"control character in a note", func(e *healthcode.LogEntry) { e.Note = "a\x00b" }, testSalt(1), "tlog.leaf_field"},
		{"invalid UTF-8", func(e *healthcode.LogEntry) { e.Ref = "\xff" }, testSalt(1), "tlog.leaf_field"},
		{"long field", func(e *healthcode.LogEntry) { e.Ref = strings.Repeat("x", MaxFieldLen+1) }, testSalt(1), "tlog.leaf_field"},
		{"long note", func(e *healthcode.LogEntry) { e.Note = strings.Repeat("x", MaxFieldLen+1) }, testSalt(1), "tlog.leaf_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := decisionEntry(1)
			tc.edit(e)
			_, _, err := EncodeLeaf(e, tc.salt)
			wantErr(t, err, healthcode.EINVALID, tc.detail)
		})
	}
	_, _, err := EncodeLeaf(nil, nil)
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_invalid")
}

func TestDecodeLeafStrict(t *testing.T) {
	t.Parallel()
	b := testLeaf(t, 5)
	for n := range len(b) {
		if _, err := DecodeLeaf(b[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
	_, err := DecodeLeaf(append(bytes.Clone(b), 0))
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
	v3 := bytes.Clone(b)
	v3[0] = 3
	_, err = DecodeLeaf(v3)
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
	_, err = DecodeLeaf(make([]byte, MaxLeafSize+1))
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")

	// The mask sits after version, type, time and region.
	maskAt := 1 + 2 + len("decision") + 8 + 2 + len("410100")
	l, _ := DecodeLeaf(b)
	// A decision leaf that holds its reason in clear is refused: the
	// mask must commit every field the type commits.
	leak := *l
	leak.Committed &^= healthcode.FieldReason
	leak.Entry.Reason = "positive_test"
	_, err = DecodeLeaf(leak.encode())
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_committed")
	// A decision with its subject removed is refused the same way.
	nosubj := *l
	nosubj.Committed &^= healthcode.FieldSubject
	_, err = DecodeLeaf(nosubj.encode())
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_committed")
	// Unknown mask bits are refused.
	unknown := bytes.Clone(b)
	unknown[maskAt] |= 0x80
	_, err = DecodeLeaf(unknown)
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
}

func TestLeafOpen(t *testing.T) {
	t.Parallel()
	e := decisionEntry(4)
	l, err := DecodeLeaf(testLeaf(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	good := testOpening(t, 4)
	_, otherReason, _ := EncodeLeaf(func() *healthcode.LogEntry { c := *e; c.Reason = "positive_test"; return &c }(), testSalt(4))
	for name, tc := range map[string]struct {
		subject string
		opening []byte
	}{
		"other subject":   {pseudonym(5), good},
		"no subject":      {"", good},
		"other salt":      {e.Subject, testOpening(t, 5)},
		"other reason":    {e.Subject, otherReason},
		"short salt":      {e.Subject, good[:31]},
		"truncated":       {e.Subject, good[:len(good)-1]},
		"trailing byte":   {e.Subject, append(bytes.Clone(good), 0)},
		"salt alone (v1)": {e.Subject, testSalt(4)},
	} {
		_, err := l.Open(tc.subject, tc.opening)
		if healthcode.ErrorDetail(err) != "tlog.opening_mismatch" {
			t.Errorf("%s: got %v, want tlog.opening_mismatch", name, err)
		}
	}
	if _, err := l.Open(e.Subject, good); err != nil {
		t.Fatal(err)
	}
	// The same entry with another salt gives unrelated commitments, field
	// by field: leaves cannot be linked without their openings, and no
	// two leaves hold an equal digest.
	other, _, err := EncodeLeaf(e, testSalt(40))
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := DecodeLeaf(other)
	c1, c2 := l.Commitments(), l2.Commitments()
	for f := range c1 {
		if bytes.Equal(c1[f], c2[f]) {
			t.Errorf("two salts gave the same %s commitment", FieldNames(f))
		}
		for g := range c1 {
			if f != g && bytes.Equal(c1[f], c1[g]) {
				t.Errorf("fields %s and %s share a commitment", FieldNames(f), FieldNames(g))
			}
		}
	}
	if s, err := NewSalt(nil); err != nil || len(s) != SaltSize {
		t.Errorf("NewSalt = %x, %v", s, err)
	}
	if !IsPseudonym(pseudonym(1)) || IsPseudonym("p"+strings.Repeat("A", 24)) || IsPseudonym("q"+strings.Repeat("a", 24)) {
		t.Error("IsPseudonym is wrong")
	}
}

// TestLeafHidesWhatTheTypeCommits: for every type, the values the domain
// says are committed appear nowhere in the leaf.
func TestLeafHidesWhatTheTypeCommits(t *testing.T) {
	t.Parallel()
	for _, typ := range []healthcode.LogType{healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride,
		healthcode.LogOverrideAttempt, healthcode.LogAppeal, healthcode.LogUnmask} {
		e := &healthcode.LogEntry{Type: typ, Time: testTime, Region: "410100", Subject: pseudonym(1), Colour: healthcode.Red,
			Reason: "REASON-MARK", RuleID: "RULE-MARK", RuleSetHash: strings.Repeat("1a", 32), EvidenceDigest: strings.Repeat("2b", 32),
			ActorName: "ACTOR-MARK", ActorRole: healthcode.RoleLab, Ref: "REF-MARK", Note: "NOTE-MARK"}
		b, _, err := EncodeLeaf(e, testSalt(1))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		for i, lf := range leafFields {
			v := fieldValue(e, i)
			if typ.Committed()&lf.f != 0 || lf.f == healthcode.FieldNote || lf.f == healthcode.FieldSubject {
				if len(v) > 1 && bytes.Contains(b, v) {
					t.Errorf("%s leaf holds its %s in clear", typ, lf.name)
				}
			} else if len(v) > 1 && !bytes.Contains(b, v) {
				t.Errorf("%s leaf lacks its clear %s", typ, lf.name)
			}
		}
	}
}
