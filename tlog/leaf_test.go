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

func TestLeafRoundTrip(t *testing.T) {
	t.Parallel()
	ruleset := &healthcode.LogEntry{Type: healthcode.LogRuleSet, Time: testTime, Region: "410100",
		RuleSetHash: strings.Repeat("ab", 32), ActorName: "王建国", ActorRole: healthcode.RoleAdmin, Ref: "2022.06"}
	evidence := &healthcode.LogEntry{Type: healthcode.LogEvidence, Time: testTime.In(time.FixedZone("CST", 8*3600)), Region: "410100",
		Subject: pseudonym(7), EvidenceDigest: strings.Repeat("0f", 32), ActorName: "郑州金域检验所", ActorRole: healthcode.RoleLab, Ref: "evidence/12"}
	for name, tc := range map[string]struct {
		e    *healthcode.LogEntry
		salt []byte
	}{
		"decision": {decisionEntry(1), testSalt(1)},
		"evidence": {evidence, testSalt(2)},
		"ruleset":  {ruleset, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := EncodeLeaf(tc.e, tc.salt)
			if err != nil {
				t.Fatal(err)
			}
			l, err := DecodeLeaf(b)
			if err != nil {
				t.Fatal(err)
			}
			got := &l.Entry
			if tc.e.Subject != "" {
				if bytes.Contains(b, []byte(tc.e.Subject)) {
					t.Error("leaf holds the pseudonym in clear")
				}
				if got, err = l.Open(tc.e.Subject, tc.salt); err != nil {
					t.Fatal(err)
				}
			} else if l.Commitment != nil {
				t.Error("entry with no subject has a commitment")
			}
			if diff := cmp.Diff(tc.e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			again, err := EncodeLeaf(got, tc.salt)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs: %v", err)
			}
		})
	}
}

// TestLeafFormat checks the documented byte layout with an independent
// encoder.
func TestLeafFormat(t *testing.T) {
	t.Parallel()
	e := decisionEntry(3)
	salt := testSalt(3)
	var want []byte
	str := func(s string) {
		want = binary.BigEndian.AppendUint16(want, uint16(len(s)))
		want = append(want, s...)
	}
	want = append(want, 0x01)
	str("decision")
	want = binary.BigEndian.AppendUint64(want, uint64(e.Time.UnixNano()))
	str("410100")
	c := sha256.Sum256(append(append([]byte("healthcode/tlog/subject/v1\x00"), salt...), e.Subject...))
	str(string(c[:]))
	want = append(want, 2) // yellow
	for _, s := range []string{e.Reason, e.RuleID, e.RuleSetHash, e.EvidenceDigest, e.ActorName, "system", e.Ref} {
		str(s)
	}
	got, err := EncodeLeaf(e, salt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("leaf bytes\n got %x\nwant %x", got, want)
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
		{"decision about no one", func(e *healthcode.LogEntry) { e.Subject = "" }, nil, "tlog.leaf_subject"},
		{"decision without colour", func(e *healthcode.LogEntry) { e.Colour = 0 }, testSalt(1), "tlog.leaf_colour"},
		{"bad colour", func(e *healthcode.LogEntry) { e.Type, e.Colour = healthcode.LogAppeal, 9 }, testSalt(1), "tlog.leaf_colour"},
		{"short salt", func(e *healthcode.LogEntry) {}, testSalt(1)[:16], "tlog.leaf_salt"},
		{"no salt", func(e *healthcode.LogEntry) {}, nil, "tlog.leaf_salt"},
		{"salt without subject", func(e *healthcode.LogEntry) { e.Type, e.Subject, e.Colour = healthcode.LogRuleSet, "", 0 }, testSalt(1), "tlog.leaf_salt"},
		{"upper-case digest", func(e *healthcode.LogEntry) { e.EvidenceDigest = strings.ToUpper(e.EvidenceDigest) }, testSalt(1), "tlog.leaf_field"},
		{"short rule set hash", func(e *healthcode.LogEntry) { e.RuleSetHash = "abc" }, testSalt(1), "tlog.leaf_field"},
		{"control character", func(e *healthcode.LogEntry) { e.Reason = "close\ncontact" }, testSalt(1), "tlog.leaf_field"},
		{"invalid UTF-8", func(e *healthcode.LogEntry) { e.Ref = "\xff" }, testSalt(1), "tlog.leaf_field"},
		{"long field", func(e *healthcode.LogEntry) { e.Ref = strings.Repeat("x", MaxFieldLen+1) }, testSalt(1), "tlog.leaf_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := decisionEntry(1)
			tc.edit(e)
			_, err := EncodeLeaf(e, tc.salt)
			wantErr(t, err, healthcode.EINVALID, tc.detail)
		})
	}
	_, err := EncodeLeaf(nil, nil)
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
	v2 := bytes.Clone(b)
	v2[0] = 2
	_, err = DecodeLeaf(v2)
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
	_, err = DecodeLeaf(make([]byte, MaxLeafSize+1))
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")

	// A decision whose commitment was removed is refused.
	e := decisionEntry(5)
	e.Subject = ""
	_, err = DecodeLeaf(encode(e, nil))
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_subject")
	// A commitment of the wrong length is refused.
	_, err = DecodeLeaf(encode(decisionEntry(5), []byte("short")))
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
}

func TestLeafOpen(t *testing.T) {
	t.Parallel()
	e := decisionEntry(4)
	l, err := DecodeLeaf(testLeaf(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		subject string
		salt    []byte
	}{
		"other subject": {pseudonym(5), testSalt(4)},
		"other salt":    {e.Subject, testSalt(5)},
		"short salt":    {e.Subject, testSalt(4)[:31]},
	} {
		_, err := l.Open(tc.subject, tc.salt)
		if healthcode.ErrorDetail(err) != "tlog.opening_mismatch" {
			t.Errorf("%s: got %v, want tlog.opening_mismatch", name, err)
		}
	}
	// The same person with another salt gives an unrelated commitment:
	// leaves about one person cannot be linked without their openings.
	other, err := EncodeLeaf(e, testSalt(40))
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := DecodeLeaf(other)
	if bytes.Equal(l.Commitment, l2.Commitment) {
		t.Error("two salts gave the same commitment")
	}
	if s, err := NewSalt(nil); err != nil || len(s) != SaltSize {
		t.Errorf("NewSalt = %x, %v", s, err)
	}
	if !IsPseudonym(pseudonym(1)) || IsPseudonym("p"+strings.Repeat("A", 24)) || IsPseudonym("q"+strings.Repeat("a", 24)) {
		t.Error("IsPseudonym is wrong")
	}
}
