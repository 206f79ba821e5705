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

// LeafVersion is the first byte of every leaf this package writes.
const LeafVersion = 0x02

// leafVersion1 is the format of leaves written before version 2: only the
// subject was committed. Such leaves are still read, verified and opened.
const leafVersion1 = 0x01

// SaltSize is the size of the random salt of a leaf's commitments.
const SaltSize = 32

// MaxFieldLen bounds every text field of a leaf, so that a leaf always fits
// the two-byte length prefix of a C2SP entry bundle.
const MaxFieldLen = 1024

// MaxLeafSize is the largest leaf this package writes or reads.
const MaxLeafSize = 1<<16 - 1

// Domain tags separate the commitments' SHA-256 uses from every other.
const (
	commitmentDomain  = "healthcode/tlog/subject/v1\x00" // version 1 subject commitments
	fieldSaltDomain   = "healthcode/tlog/salt/v2\x00"
	fieldCommitDomain = "healthcode/tlog/commit/v2\x00"
)

// leafFields are the committable fields in the order a leaf holds them,
// bit i of the mask being leafFields[i].
var leafFields = [...]struct {
	f    healthcode.LogFields
	name string
}{
	{healthcode.FieldSubject, "subject"},
	{healthcode.FieldColour, "colour"},
	{healthcode.FieldReason, "reason"},
	{healthcode.FieldRuleID, "rule_id"},
	{healthcode.FieldRuleSetHash, "rule_set_hash"},
	{healthcode.FieldEvidenceDigest, "evidence_digest"},
	{healthcode.FieldActorName, "actor_name"},
	{healthcode.FieldActorRole, "actor_role"},
	{healthcode.FieldRef, "ref"},
	{healthcode.FieldNote, "note"},
}

// Leaf is a decoded leaf: the log entry with its committed fields left
// empty, which fields are committed, and the commitments.
//
// A leaf is the public, hash-committed record of one log entry. Its bytes,
// and nothing else, are hashed into the tree (RFC 6962: SHA-256(0x00 ||
// leaf)). Format version 2:
//
//	leaf      = 0x02 type time region mask subject colour reason rule_id
//	            rule_set_hash evidence_digest actor_name actor_role ref note
//	type, region = str
//	time      = 8 bytes, big-endian Unix nanoseconds (UTC, >= 1970)
//	mask      = u16 big-endian: bit i set when the i-th field after it
//	            (subject = bit 0 … note = bit 9) is committed; no other bit
//	a field whose bit is set = its 32-byte commitment, raw
//	a field whose bit is clear:
//	  subject, note = absent (no person; no note): these are never in clear
//	  colour    = 1 byte, 0 (none), 1 green, 2 yellow, 3 red
//	  any other = str
//	str       = u16 big-endian byte length, then that many UTF-8 bytes
//
// Clear text fields are at most MaxFieldLen bytes of UTF-8 without control
// characters; the two hash fields are empty or 64 lower-case hex digits.
// Each value therefore has exactly one encoding, and DecodeLeaf refuses
// anything else (unknown version or type, trailing bytes, bad lengths, a
// mask missing a field the type commits).
//
// Commitments. Every leaf with something committed has its own fresh 32-byte
// random salt; each field f (named as in the grammar: "subject", "colour",
// "rule_id"…) gets a salt of its own and a commitment:
//
//	salt_f       = SHA-256("healthcode/tlog/salt/v2" 0x00 salt name_f)
//	commitment_f = SHA-256("healthcode/tlog/commit/v2" 0x00 name_f 0x00 salt_f value_f)
//
// value_f is the field's clear value (the colour as its one byte, the
// others as their UTF-8 bytes, without length). Which fields a type commits
// is the domain's rule (healthcode.LogType.Committed): a person's reason,
// rule, evidence digest and the institution that tested or treated them are
// never in clear, and no two leaves hold equal commitments, so no leaf
// leads to another. Officials acting on people are in clear, by design. A
// field's own salt lets one field be shown without the others.
//
// The opening — the salt and the committed values, see EncodeLeaf — is
// stored beside the tree, given to the person in their receipts and to
// auditors through the node, and deleted by retention and sunset without
// touching the leaf, its hash or any proof. Without it a commitment reveals
// nothing.
//
// Version 1 leaves (0x01 type time region subject colour reason rule_id
// rule_set_hash evidence_digest actor_name actor_role ref, every field but
// the subject in clear, the subject SHA-256("healthcode/tlog/subject/v1"
// 0x00 salt pseudonym)) are still read.
//
// Why a hand-written format rather than deterministic CBOR: fixed fields
// need no self-description, the whole specification is the lines above, an
// auditor can implement it in any language without a CBOR library whose
// "core deterministic" options must be set exactly right, and canonicality
// holds by construction.
type Leaf struct {
	Version byte
	// Entry holds the fields in clear; committed ones are empty, and
	// Entry.Commit is Committed.
	Entry healthcode.LogEntry
	// Committed is the set of fields the leaf holds as commitments.
	Committed healthcode.LogFields
	// Commitment is the subject's commitment, or nil for an entry about no
	// one person.
	Commitment  []byte
	commitments [len(leafFields)][32]byte
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

// SubjectCommitment returns the commitment a version 1 leaf holds in place
// of the subject's pseudonym.
func SubjectCommitment(subject string, salt []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(commitmentDomain))
	h.Write(salt)
	h.Write([]byte(subject))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// fieldCommitment returns commitment_f of the value under the leaf's salt.
func fieldCommitment(i int, salt, value []byte) [32]byte {
	name := leafFields[i].name
	h := sha256.New()
	h.Write([]byte(fieldSaltDomain))
	h.Write(salt)
	h.Write([]byte(name))
	var fs [32]byte
	h.Sum(fs[:0])
	h.Reset()
	h.Write([]byte(fieldCommitDomain))
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(fs[:])
	h.Write(value)
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

// fieldValue returns the clear value of field i of e.
func fieldValue(e *healthcode.LogEntry, i int) []byte {
	switch leafFields[i].f {
	case healthcode.FieldSubject:
		return []byte(e.Subject)
	case healthcode.FieldColour:
		return []byte{byte(e.Colour)}
	case healthcode.FieldReason:
		return []byte(e.Reason)
	case healthcode.FieldRuleID:
		return []byte(e.RuleID)
	case healthcode.FieldRuleSetHash:
		return []byte(e.RuleSetHash)
	case healthcode.FieldEvidenceDigest:
		return []byte(e.EvidenceDigest)
	case healthcode.FieldActorName:
		return []byte(e.ActorName)
	case healthcode.FieldActorRole:
		return []byte(e.ActorRole)
	case healthcode.FieldRef:
		return []byte(e.Ref)
	default:
		return []byte(e.Note)
	}
}

// setField sets field i of e to v; false if v is no value of the field.
func setField(e *healthcode.LogEntry, i int, v []byte) bool {
	s := string(v)
	switch leafFields[i].f {
	case healthcode.FieldSubject:
		e.Subject = s
	case healthcode.FieldColour:
		if len(v) != 1 {
			return false
		}
		e.Colour = healthcode.Colour(v[0])
	case healthcode.FieldReason:
		e.Reason = s
	case healthcode.FieldRuleID:
		e.RuleID = s
	case healthcode.FieldRuleSetHash:
		e.RuleSetHash = s
	case healthcode.FieldEvidenceDigest:
		e.EvidenceDigest = s
	case healthcode.FieldActorName:
		e.ActorName = s
	case healthcode.FieldActorRole:
		e.ActorRole = healthcode.Role(s)
	case healthcode.FieldRef:
		e.Ref = s
	default:
		e.Note = s
	}
	return true
}

// EncodeLeaf validates e and returns its leaf bytes and the opening of its
// commitments. salt must be SaltSize random bytes (NewSalt) if e has
// anything to commit (e.Committed() is not empty) and nil otherwise. The
// caller stores e.Subject and the opening beside the tree; opening is nil
// when nothing is committed. e.Index is not part of the leaf: a leaf's index
// is its position in the tree.
func EncodeLeaf(e *healthcode.LogEntry, salt []byte) (leaf, opening []byte, err error) {
	if e == nil {
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_invalid", "no log entry")
	}
	if err := validateEntry(e, 0); err != nil {
		return nil, nil, err
	}
	mask := e.Committed()
	switch {
	case e.Subject == "" && e.Type.Committed()&healthcode.FieldSubject != 0:
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "a %s entry needs a subject", e.Type)
	case e.Subject != "" && !IsPseudonym(e.Subject):
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "log subject must be a pseudonym, never a name or ID number")
	case mask == 0 && salt != nil:
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_salt", "an entry with nothing committed takes no salt")
	case mask != 0 && len(salt) != SaltSize:
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_salt", "the salt must be %d bytes, not %d", SaltSize, len(salt))
	}
	l := &Leaf{Version: LeafVersion, Entry: *e, Committed: mask}
	l.Entry.Index, l.Entry.Commit = 0, mask
	if mask != 0 {
		opening = append(make([]byte, 0, SaltSize+64), salt...)
	}
	for i := range leafFields {
		if mask&leafFields[i].f == 0 {
			continue
		}
		v := fieldValue(e, i)
		l.commitments[i] = fieldCommitment(i, salt, v)
		if leafFields[i].f != healthcode.FieldSubject {
			opening = binary.BigEndian.AppendUint16(opening, uint16(len(v)))
			opening = append(opening, v...)
		}
		if leafFields[i].f == healthcode.FieldColour {
			l.Entry.Colour = 0
		} else {
			setField(&l.Entry, i, nil)
		}
	}
	return l.encode(), opening, nil
}

// encode returns the bytes of a version 2 leaf.
func (l *Leaf) encode() []byte {
	e := &l.Entry
	b := make([]byte, 0, 160+len(e.ActorName)+len(e.Ref)+len(e.Reason)+len(e.RuleID))
	str := func(s string) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, LeafVersion)
	str(string(e.Type))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	str(e.Region)
	b = binary.BigEndian.AppendUint16(b, uint16(l.Committed))
	for i, lf := range leafFields {
		switch {
		case l.Committed&lf.f != 0:
			b = append(b, l.commitments[i][:]...)
		case lf.f == healthcode.FieldSubject || lf.f == healthcode.FieldNote:
			// absent
		case lf.f == healthcode.FieldColour:
			b = append(b, byte(e.Colour))
		default:
			str(string(fieldValue(e, i)))
		}
	}
	return b
}

func malformed(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_malformed", "malformed log leaf: "+format, args...)
}

// leafReader reads a leaf's fields, remembering the first shortfall.
type leafReader struct {
	p   []byte
	bad bool
}

func (r *leafReader) str() string {
	if r.bad || len(r.p) < 2 {
		r.bad = true
		return ""
	}
	n := int(binary.BigEndian.Uint16(r.p))
	if len(r.p) < 2+n {
		r.bad = true
		return ""
	}
	s := string(r.p[2 : 2+n])
	r.p = r.p[2+n:]
	return s
}

func (r *leafReader) fixed(n int) []byte {
	if r.bad || len(r.p) < n {
		r.bad = true
		return nil
	}
	v := r.p[:n]
	r.p = r.p[n:]
	return v
}

func (r *leafReader) time() (time.Time, error) {
	t := r.fixed(8)
	if t == nil {
		return time.Time{}, nil
	}
	ns := int64(binary.BigEndian.Uint64(t))
	if ns <= 0 {
		return time.Time{}, malformed("time before 1970")
	}
	return time.Unix(0, ns).UTC(), nil
}

// DecodeLeaf parses and validates leaf bytes (version 2, or version 1)
// strictly: an unknown version, a bad length, trailing bytes or a field
// EncodeLeaf would refuse is an error (EINVALID, detail
// "tlog.leaf_malformed", "tlog.leaf_type", "tlog.leaf_subject" or another
// "tlog.leaf_…").
func DecodeLeaf(b []byte) (*Leaf, error) {
	if len(b) == 0 {
		return nil, malformed("empty")
	}
	if len(b) > MaxLeafSize {
		return nil, malformed("%d bytes, more than %d", len(b), MaxLeafSize)
	}
	switch b[0] {
	case LeafVersion:
		return decodeV2(b)
	case leafVersion1:
		return decodeV1(b)
	}
	return nil, malformed("unknown version %d", b[0])
}

func decodeV2(b []byte) (*Leaf, error) {
	r := &leafReader{p: b[1:]}
	l := &Leaf{Version: LeafVersion}
	e := &l.Entry
	var err error
	e.Type = healthcode.LogType(r.str())
	if e.Time, err = r.time(); err != nil {
		return nil, err
	}
	e.Region = r.str()
	if m := r.fixed(2); m != nil {
		l.Committed = healthcode.LogFields(binary.BigEndian.Uint16(m))
	}
	if r.bad {
		return nil, malformed("truncated")
	}
	if l.Committed&^healthcode.AllLogFields != 0 {
		return nil, malformed("unknown field bits %#x", uint16(l.Committed&^healthcode.AllLogFields))
	}
	if !e.Type.Known() {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_type", "unknown log entry type %q", e.Type)
	}
	if want := e.Type.Committed(); l.Committed&want != want {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_committed", "a %s leaf must commit %s",
			e.Type, FieldNames(want&^l.Committed))
	}
	for i, lf := range leafFields {
		switch {
		case l.Committed&lf.f != 0:
			if c := r.fixed(32); c != nil {
				copy(l.commitments[i][:], c)
			}
		case lf.f == healthcode.FieldSubject || lf.f == healthcode.FieldNote:
		case lf.f == healthcode.FieldColour:
			if c := r.fixed(1); c != nil {
				e.Colour = healthcode.Colour(c[0])
			}
		default:
			setField(e, i, []byte(r.str()))
		}
	}
	if r.bad {
		return nil, malformed("truncated")
	}
	if len(r.p) != 0 {
		return nil, malformed("%d trailing bytes", len(r.p))
	}
	if err := validateEntry(e, l.Committed); err != nil {
		return nil, err
	}
	if l.Committed&healthcode.FieldSubject != 0 {
		l.Commitment = l.commitments[0][:]
	}
	e.Commit = l.Committed
	return l, nil
}

func decodeV1(b []byte) (*Leaf, error) {
	r := &leafReader{p: b[1:]}
	l := &Leaf{Version: leafVersion1}
	e := &l.Entry
	var err error
	e.Type = healthcode.LogType(r.str())
	if e.Time, err = r.time(); err != nil {
		return nil, err
	}
	e.Region = r.str()
	if c := r.str(); c != "" {
		if len(c) != sha256.Size {
			return nil, malformed("subject commitment of %d bytes", len(c))
		}
		l.Commitment = []byte(c)
		l.Committed = healthcode.FieldSubject
	}
	if c := r.fixed(1); c != nil {
		e.Colour = healthcode.Colour(c[0])
	}
	e.Reason = r.str()
	e.RuleID = r.str()
	e.RuleSetHash = r.str()
	e.EvidenceDigest = r.str()
	e.ActorName = r.str()
	e.ActorRole = healthcode.Role(r.str())
	e.Ref = r.str()
	if r.bad {
		return nil, malformed("truncated")
	}
	if len(r.p) != 0 {
		return nil, malformed("%d trailing bytes", len(r.p))
	}
	if !v1Type(e.Type) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_type", "unknown log entry type %q", e.Type)
	}
	if err := validateEntry(e, 0); err != nil {
		return nil, err
	}
	if v1NeedsSubject(e.Type) && l.Commitment == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_subject", "a %s entry needs a subject", e.Type)
	}
	e.Commit = l.Committed
	return l, nil
}

// v1Type reports whether t is one of the types version 1 had.
func v1Type(t healthcode.LogType) bool {
	switch t {
	case healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride, healthcode.LogDesignation,
		healthcode.LogRuleSet, healthcode.LogAppeal, healthcode.LogPurge, healthcode.LogKey, healthcode.LogUnmask:
		return true
	}
	return false
}

func v1NeedsSubject(t healthcode.LogType) bool {
	switch t {
	case healthcode.LogEvidence, healthcode.LogDecision, healthcode.LogOverride, healthcode.LogAppeal, healthcode.LogUnmask:
		return true
	}
	return false
}

// Bytes returns the leaf's encoding: a decoded leaf gives back exactly the
// bytes it was decoded from.
func (l *Leaf) Bytes() []byte {
	if l.Version == leafVersion1 {
		e := &l.Entry
		var b []byte
		str := func(s string) {
			b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
			b = append(b, s...)
		}
		b = append(b, leafVersion1)
		str(string(e.Type))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
		str(e.Region)
		str(string(l.Commitment))
		b = append(b, byte(e.Colour))
		for _, s := range []string{e.Reason, e.RuleID, e.RuleSetHash, e.EvidenceDigest, e.ActorName, string(e.ActorRole), e.Ref} {
			str(s)
		}
		return b
	}
	return l.encode()
}

// Commitments returns the leaf's commitments by field, in leaf order.
func (l *Leaf) Commitments() map[healthcode.LogFields][]byte {
	out := map[healthcode.LogFields][]byte{}
	for i, lf := range leafFields {
		if l.Committed&lf.f != 0 {
			if l.Version == leafVersion1 {
				out[lf.f] = l.Commitment
			} else {
				out[lf.f] = append([]byte(nil), l.commitments[i][:]...)
			}
		}
	}
	return out
}

func mismatch(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.opening_mismatch", format, args...)
}

// Open checks that subject and opening (as EncodeLeaf returned it) open
// every commitment of the leaf, and returns the entry with every field
// filled in. subject is "" for a leaf with no subject. Returns EINVALID
// (detail "tlog.opening_mismatch") if they do not.
func (l *Leaf) Open(subject string, opening []byte) (*healthcode.LogEntry, error) {
	if l.Committed == 0 {
		return nil, mismatch("the entry has nothing committed")
	}
	if (l.Committed&healthcode.FieldSubject != 0) != (subject != "") {
		return nil, mismatch("the subject does not open the leaf")
	}
	if len(opening) < SaltSize {
		return nil, mismatch("an opening starts with a %d-byte salt", SaltSize)
	}
	salt, rest := opening[:SaltSize], opening[SaltSize:]
	e := l.Entry
	e.Subject = subject
	if l.Version == leafVersion1 {
		c := SubjectCommitment(subject, salt)
		if len(rest) != 0 || subtle.ConstantTimeCompare(c[:], l.Commitment) != 1 {
			return nil, mismatch("subject and salt do not open the leaf's commitment")
		}
		return &e, nil
	}
	for i, lf := range leafFields {
		if l.Committed&lf.f == 0 {
			continue
		}
		v := []byte(subject)
		if lf.f != healthcode.FieldSubject {
			if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
				return nil, mismatch("the opening is truncated at %s", lf.name)
			}
			n := int(binary.BigEndian.Uint16(rest))
			v, rest = rest[2:2+n], rest[2+n:]
		}
		c := fieldCommitment(i, salt, v)
		if subtle.ConstantTimeCompare(c[:], l.commitments[i][:]) != 1 || !setField(&e, i, v) {
			return nil, mismatch("the opening does not match the leaf's %s", lf.name)
		}
	}
	if len(rest) != 0 {
		return nil, mismatch("%d bytes after the opening", len(rest))
	}
	if err := validateEntry(&e, 0); err != nil {
		return nil, mismatch("the opened entry is not valid: %s", healthcode.ErrorMessage(err))
	}
	return &e, nil
}

// FieldNames names the fields of f, comma-separated.
func FieldNames(f healthcode.LogFields) string {
	var names []string
	for _, lf := range leafFields {
		if f&lf.f != 0 {
			names = append(names, lf.name)
		}
	}
	return strings.Join(names, ", ")
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
// DecodeLeaf see in different forms, and the fields in committed (which a
// decoded leaf does not hold).
func validateEntry(e *healthcode.LogEntry, committed healthcode.LogFields) error {
	invalid := func(detail, format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EINVALID, detail, format, args...)
	}
	clear := func(f healthcode.LogFields) bool { return committed&f == 0 }
	if !e.Type.Known() {
		return invalid("tlog.leaf_type", "unknown log entry type %q", e.Type)
	}
	if e.Time.IsZero() || e.Time.UnixNano() <= 0 || e.Time.Year() > 2200 {
		return invalid("tlog.leaf_time", "log entry needs a time after 1970")
	}
	if err := healthcode.ValidateRegion(e.Region); err != nil {
		return err
	}
	if clear(healthcode.FieldColour) {
		switch {
		case e.Type.DecidesColour() && !e.Colour.Valid():
			return invalid("tlog.leaf_colour", "a %s entry needs a colour", e.Type)
		case e.Colour != 0 && !e.Colour.Valid():
			return invalid("tlog.leaf_colour", "invalid colour %d", e.Colour)
		}
	}
	if clear(healthcode.FieldActorName) && strings.TrimSpace(e.ActorName) == "" {
		return invalid("tlog.leaf_actor", "a log entry names the acting official")
	}
	if clear(healthcode.FieldActorRole) && !knownRole(e.ActorRole) {
		return invalid("tlog.leaf_actor", "unknown actor role %q", e.ActorRole)
	}
	for _, f := range []struct {
		f    healthcode.LogFields
		name string
		v    string
	}{
		{healthcode.FieldReason, "reason", e.Reason}, {healthcode.FieldRuleID, "rule_id", e.RuleID},
		{healthcode.FieldActorName, "actor_name", e.ActorName}, {healthcode.FieldRef, "ref", e.Ref},
		{healthcode.FieldNote, "note", e.Note},
	} {
		if clear(f.f) && (len(f.v) > MaxFieldLen || !utf8.ValidString(f.v) || strings.IndexFunc(f.v, unicode.IsControl) >= 0) {
			return invalid("tlog.leaf_field", "log entry field %s is not short printable UTF-8", f.name)
		}
	}
	for _, f := range []struct {
		f    healthcode.LogFields
		name string
		v    string
	}{{healthcode.FieldRuleSetHash, "rule_set_hash", e.RuleSetHash}, {healthcode.FieldEvidenceDigest, "evidence_digest", e.EvidenceDigest}} {
		if clear(f.f) && f.v != "" && !isHexDigest(f.v) {
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
