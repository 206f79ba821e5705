package tlog

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"healthcode"
)

// LeafVersion is the first byte of every leaf in the current format.
const LeafVersion = 0x01

// SaltSize is the size of the random salt that hides a subject in a leaf.
const SaltSize = 32

// MaxFieldLen bounds every text field of a leaf, so that a leaf always fits
// the two-byte length prefix of a C2SP entry bundle.
const MaxFieldLen = 1024

// MaxLeafSize is the largest leaf this package writes or reads.
const MaxLeafSize = 1<<16 - 1

// commitmentDomain separates subject commitments from every other SHA-256 use.
const commitmentDomain = "healthcode/tlog/subject/v1\x00"

// Leaf is a decoded leaf: the log entry with its Subject left empty, and the
// commitment to the subject, if the entry concerns a person.
//
// A leaf (format version 1) is the public, hash-committed record of one log
// entry. Its bytes, and nothing else, are hashed into the tree
// (RFC 6962: SHA-256(0x00 || leaf)).
//
//	leaf      = 0x01 type time region subject colour reason rule_id
//	            rule_set_hash evidence_digest actor_name actor_role ref
//	time      = 8 bytes, big-endian Unix nanoseconds (UTC, >= 1970)
//	colour    = 1 byte, 0 (none), 1 green, 2 yellow, 3 red
//	subject   = u16(0) for an entry about no one person, or
//	            u16(32) SHA-256("healthcode/tlog/subject/v1" 0x00 salt pseudonym)
//	any other = u16 big-endian byte length, then that many UTF-8 bytes
//
// Fields appear exactly once, in this order; text fields are at most
// MaxFieldLen bytes of UTF-8 without control characters; the two hash fields
// are empty or 64 lower-case hex digits. Each value therefore has exactly one
// encoding, and DecodeLeaf refuses anything else (unknown version, trailing
// bytes, bad lengths).
//
// Why a hand-written format rather than deterministic CBOR: thirteen fixed
// fields need no self-description, the whole specification is the few lines
// above, an auditor can implement it in any language without a CBOR library
// whose "core deterministic" options must be set exactly right, and
// canonicality holds by construction.
//
// Personal data beside the tree: the leaf never holds the citizen's pseudonym,
// only a salted commitment to it. The opening (pseudonym and a fresh 32-byte
// random salt per leaf) is stored beside the tree, shown to the citizen and
// to officials with a purpose, and can be deleted (retention, sunset) without
// touching the leaf, its hash or any proof. Without the opening the
// commitment reveals nothing and links nothing: two leaves about the same
// person carry unrelated commitments. Officials (ActorName, ActorRole) are in
// clear, by design.
type Leaf struct {
	Entry healthcode.LogEntry
	// Commitment is SubjectCommitment(subject, salt), or nil for an entry
	// about no one person.
	Commitment []byte
}

// NewSalt reads a fresh salt from random (crypto/rand if nil).
func NewSalt(random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	salt := make([]byte, SaltSize)
	if _, err := io.ReadFull(random, salt); err != nil {
		return nil, fmt.Errorf("tlog.NewSalt: %w", err)
	}
	return salt, nil
}

// SubjectCommitment returns the commitment a leaf holds in place of the
// subject's pseudonym: SHA-256 over a domain tag, the 32-byte salt and the
// pseudonym. It hides the pseudonym (the salt is random) and binds it
// (SHA-256 is collision resistant).
func SubjectCommitment(subject string, salt []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(commitmentDomain))
	h.Write(salt)
	h.Write([]byte(subject))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// IsPseudonym reports whether s has the form of a healthcode pseudonym
// ("p" and 24 base32 letters, as healthcode.Keys.Pseudonymize makes them).
// A leaf refuses anything else as a subject, so that a name or an ID number
// cannot end up in the log by mistake.
func IsPseudonym(s string) bool {
	if len(s) != 25 || s[0] != 'p' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// EncodeLeaf validates e and returns its leaf bytes. salt must be SaltSize
// random bytes (NewSalt) if e has a subject and nil otherwise; the caller
// stores e.Subject and salt beside the tree (the opening). e.Index is not
// part of the leaf: a leaf's index is its position in the tree.
func EncodeLeaf(e *healthcode.LogEntry, salt []byte) ([]byte, error) {
	if e == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_invalid", "no log entry")
	}
	if err := validateEntry(e); err != nil {
		return nil, err
	}
	var commitment []byte
	switch {
	case e.Subject == "" && needsSubject(e.Type):
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "a %s entry needs a subject", e.Type)
	case e.Subject == "" && salt != nil:
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_salt", "an entry with no subject takes no salt")
	case e.Subject != "":
		if !IsPseudonym(e.Subject) {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "log subject must be a pseudonym, never a name or ID number")
		}
		if len(salt) != SaltSize {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_salt", "subject salt must be %d bytes, not %d", SaltSize, len(salt))
		}
		c := SubjectCommitment(e.Subject, salt)
		commitment = c[:]
	}
	return encode(e, commitment), nil
}

func encode(e *healthcode.LogEntry, commitment []byte) []byte {
	b := make([]byte, 0, 128+len(e.ActorName)+len(e.Ref)+len(e.Reason)+len(e.RuleID))
	str := func(s string) []byte {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		return append(b, s...)
	}
	b = append(b, LeafVersion)
	b = str(string(e.Type))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = str(e.Region)
	b = str(string(commitment))
	b = append(b, byte(e.Colour))
	b = str(e.Reason)
	b = str(e.RuleID)
	b = str(e.RuleSetHash)
	b = str(e.EvidenceDigest)
	b = str(e.ActorName)
	b = str(string(e.ActorRole))
	b = str(e.Ref)
	return b
}

// DecodeLeaf parses and validates leaf bytes strictly: an unknown version, a
// bad length, trailing bytes or a field EncodeLeaf would refuse is an error
// (EINVALID, detail "tlog.leaf_malformed" or "tlog.leaf_invalid").
func DecodeLeaf(b []byte) (*Leaf, error) {
	malformed := func(format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_malformed", "malformed log leaf: "+format, args...)
	}
	if len(b) == 0 {
		return nil, malformed("empty")
	}
	if len(b) > MaxLeafSize {
		return nil, malformed("%d bytes, more than %d", len(b), MaxLeafSize)
	}
	if b[0] != LeafVersion {
		return nil, malformed("unknown version %d", b[0])
	}
	p := b[1:]
	var bad bool
	str := func() string {
		if bad || len(p) < 2 {
			bad = true
			return ""
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(p) < 2+n {
			bad = true
			return ""
		}
		s := string(p[2 : 2+n])
		p = p[2+n:]
		return s
	}
	fixed := func(n int) []byte {
		if bad || len(p) < n {
			bad = true
			return nil
		}
		v := p[:n]
		p = p[n:]
		return v
	}
	var l Leaf
	e := &l.Entry
	e.Type = healthcode.LogType(str())
	if t := fixed(8); t != nil {
		ns := int64(binary.BigEndian.Uint64(t))
		if ns <= 0 {
			return nil, malformed("time before 1970")
		}
		e.Time = time.Unix(0, ns).UTC()
	}
	e.Region = str()
	if c := str(); c != "" {
		if len(c) != sha256.Size {
			return nil, malformed("subject commitment of %d bytes", len(c))
		}
		l.Commitment = []byte(c)
	}
	if c := fixed(1); c != nil {
		e.Colour = healthcode.Colour(c[0])
	}
	e.Reason = str()
	e.RuleID = str()
	e.RuleSetHash = str()
	e.EvidenceDigest = str()
	e.ActorName = str()
	e.ActorRole = healthcode.Role(str())
	e.Ref = str()
	if bad {
		return nil, malformed("truncated")
	}
	if len(p) != 0 {
		return nil, malformed("%d trailing bytes", len(p))
	}
	if err := validateEntry(e); err != nil {
		return nil, err
	}
	if needsSubject(e.Type) && l.Commitment == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "a %s entry needs a subject", e.Type)
	}
	return &l, nil
}

// Open checks that subject and salt open the leaf's commitment and returns
// the entry with its Subject filled in. Returns EINVALID (detail
// "tlog.opening_mismatch") if they do not.
func (l *Leaf) Open(subject string, salt []byte) (*healthcode.LogEntry, error) {
	if l.Commitment == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.opening_mismatch", "the entry concerns no person")
	}
	c := SubjectCommitment(subject, salt)
	if len(salt) != SaltSize || subtle.ConstantTimeCompare(c[:], l.Commitment) != 1 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.opening_mismatch", "subject and salt do not open the leaf's commitment")
	}
	e := l.Entry
	e.Subject = subject
	return &e, nil
}

// needsSubject reports whether entries of type t always concern one person.
func needsSubject(t healthcode.LogType) bool {
	switch t {
	case healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride, healthcode.LogAppeal, healthcode.LogUnmask:
		return true
	}
	return false
}

func knownType(t healthcode.LogType) bool {
	switch t {
	case healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride, healthcode.LogDesignation,
		healthcode.LogRuleSet, healthcode.LogAppeal, healthcode.LogPurge, healthcode.LogKey, healthcode.LogUnmask:
		return true
	}
	return false
}

func knownRole(r healthcode.Role) bool {
	if r == healthcode.RoleSystem {
		return true
	}
	for _, x := range healthcode.Roles {
		if r == x {
			return true
		}
	}
	return false
}

// validateEntry checks everything but the subject, which EncodeLeaf and
// DecodeLeaf see in different forms.
func validateEntry(e *healthcode.LogEntry) error {
	invalid := func(detail, format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EINVALID, detail, format, args...)
	}
	if !knownType(e.Type) {
		return invalid("tlog.leaf_type", "unknown log entry type %q", e.Type)
	}
	if e.Time.IsZero() || e.Time.UnixNano() <= 0 || e.Time.Year() > 2200 {
		return invalid("tlog.leaf_time", "log entry needs a time after 1970")
	}
	if err := healthcode.ValidateRegion(e.Region); err != nil {
		return err
	}
	switch e.Type {
	case healthcode.LogDecision, healthcode.LogOverride:
		if !e.Colour.Valid() {
			return invalid("tlog.leaf_colour", "a %s entry needs a colour", e.Type)
		}
	default:
		if e.Colour != 0 && !e.Colour.Valid() {
			return invalid("tlog.leaf_colour", "invalid colour %d", e.Colour)
		}
	}
	if strings.TrimSpace(e.ActorName) == "" {
		return invalid("tlog.leaf_actor", "a log entry names the acting official")
	}
	if !knownRole(e.ActorRole) {
		return invalid("tlog.leaf_actor", "unknown actor role %q", e.ActorRole)
	}
	for _, f := range []struct{ name, v string }{
		{"reason", e.Reason}, {"rule_id", e.RuleID}, {"actor_name", e.ActorName}, {"ref", e.Ref},
	} {
		if len(f.v) > MaxFieldLen || !utf8.ValidString(f.v) || strings.IndexFunc(f.v, unicode.IsControl) >= 0 {
			return invalid("tlog.leaf_field", "log entry field %s is not short printable UTF-8", f.name)
		}
	}
	for _, f := range []struct{ name, v string }{{"rule_set_hash", e.RuleSetHash}, {"evidence_digest", e.EvidenceDigest}} {
		if f.v != "" && !isHexDigest(f.v) {
			return invalid("tlog.leaf_field", "log entry field %s must be 64 lower-case hex digits", f.name)
		}
	}
	return nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
