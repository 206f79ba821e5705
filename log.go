package healthcode

import "time"

// LogType names what a log entry records.
type LogType string

const (
	LogEvidence        LogType = "evidence"         // evidence accepted from a lab, clinic or official
	LogDecision        LogType = "decision"         // a colour decided by the rules
	LogOverride        LogType = "override"         // an approved manual colour
	LogOverrideAttempt LogType = "override_attempt" // a manual colour requested or refused: no colour yet
	LogDesignation     LogType = "designation"      // a risk designation of a venue or area
	LogRuleSet         LogType = "ruleset"          // a rule set published
	LogAppeal          LogType = "appeal"           // an appeal's outcome
	LogPurge           LogType = "purge"            // expired personal data deleted
	LogKey             LogType = "key"              // a signing key added or revoked
	LogUnmask          LogType = "unmask"           // an official saw who a pseudonym is, for a case
	LogUnit            LogType = "unit"             // a unit of the registry created or changed, by an admin
	LogOfficial        LogType = "official"         // an official proposed, created, changed or revoked, by an admin
	LogToken           LogType = "token"            // a token issued or revoked (Ref names the token id, never the secret)
	LogVenue           LogType = "venue"            // a venue approved or suspended by an operator
	LogRead            LogType = "read"             // an official's purpose-bound read of one person's data
	LogTrace           LogType = "trace"            // a tracing query, and one entry per person it read
	LogCollection      LogType = "collection"       // a sample collected from a person into a tube, by a sampler
	LogCase            LogType = "case"             // a case opened by a clinic's diagnosis
	LogPendingRecord   LogType = "record"           // an interview-linked record requested, confirmed, co-signed or refused
	LogFederation      LogType = "federation"       // a cross-region status query, asked of a peer region or answered for one
	LogReview          LogType = "review"           // an auditor's review of an oversight alert opened, confirmed or closed
)

// ActorLabel is how a log entry names an official: name, then official id
// and unit id in brackets ("流调员 李娜 [o3k… @ u7q…]"), so that two
// officials of the same name are told apart and the unit is the registry's.
// Citizens and the system are named by Name alone.
func ActorLabel(p *Principal) string {
	if p == nil {
		return ""
	}
	if p.Role == RoleCitizen || p.Role == RoleSystem || p.ID == "" {
		return p.Name
	}
	return p.Name + " [" + p.ID + " @ " + p.Unit + "]"
}

// LogFields is a set of the fields of a log entry, as a leaf holds them.
type LogFields uint16

// The fields of a log entry a leaf can hold as a commitment instead of in
// clear (invariant 6). Type, Time and Region are always in clear.
const (
	FieldSubject LogFields = 1 << iota
	FieldColour
	FieldReason
	FieldRuleID
	FieldRuleSetHash
	FieldEvidenceDigest
	FieldActorName
	FieldActorRole
	FieldRef
	FieldNote

	// AllLogFields is every field that can be committed.
	AllLogFields = FieldNote<<1 - 1
)

// logTypes says, for each type of entry, which fields its leaves hold only
// as salted commitments, even when empty: whatever would tell a reader of
// the public log a person's health reason, where they were tested or
// diagnosed, or which evidence a decision rests on. Officials acting on
// people (overrides, designations, appeals, unmasking) stay named in clear.
// The subject (a person's pseudonym) and the Note (free text) are never in
// clear, whatever the type. A new type of entry is added here; a leaf of a
// type not listed is refused.
var logTypes = map[LogType]LogFields{
	// The submitter of evidence is the institution that tested or treated
	// the person: committed with the rest.
	LogEvidence: FieldSubject | FieldColour | FieldReason | FieldRuleID | FieldEvidenceDigest | FieldActorName | FieldActorRole | FieldRef,
	LogDecision: FieldSubject | FieldReason | FieldRuleID | FieldEvidenceDigest,
	LogOverride: FieldSubject | FieldReason | FieldRuleID | FieldEvidenceDigest,
	// An attempt names its officials and the override's id in clear (the
	// public sees how many people one request named), not its reason.
	LogOverrideAttempt: FieldSubject | FieldReason,
	LogDesignation:     0,
	LogRuleSet:         0,
	LogAppeal:          FieldSubject,
	LogPurge:           0,
	LogKey:             0,
	LogUnmask:          FieldSubject,
	// The registry and officials' actions: the officials and what they did
	// in clear; a person read or traced only as a commitment (the subject),
	// the case cited in the note.
	LogUnit:     0,
	LogOfficial: 0,
	LogToken:    0, // a citizen's token: about the person (subject)
	LogVenue:    0,
	LogRead:     FieldSubject,
	LogTrace:    0, // the query: no one; each person it read: the subject
	// A collection names its sampler (an official action) in clear; the
	// person and which collection it is are committed.
	LogCollection: FieldSubject | FieldEvidenceDigest | FieldRef,
	// A case's opening says only that a case was opened: the clinic that
	// diagnosed it and the case's id are commitments.
	LogCase: FieldActorName | FieldActorRole | FieldRef,
	// A record resting on an interview names the epidemiologists acting in
	// clear; whom it is about is a commitment.
	LogPendingRecord: FieldSubject,
	// A cross-region status query names the peer region and the outcome in
	// clear; the traveller, their colour and its reason are commitments.
	LogFederation: FieldSubject | FieldColour | FieldReason,
	// A review names the auditor and, in Ref, the alert and the officials
	// it freezes, in clear; the auditor's note is a commitment.
	LogReview: 0,
}

// Known reports whether t is a type of log entry.
func (t LogType) Known() bool {
	_, ok := logTypes[t]
	return ok
}

// Committed returns the fields that leaves of type t hold only as
// commitments. FieldSubject in it means an entry of the type always
// concerns one person.
func (t LogType) Committed() LogFields { return logTypes[t] }

// DecidesColour reports whether an entry of type t records the colour a
// person holds from then on (a rules decision or an override in force).
func (t LogType) DecidesColour() bool { return t == LogDecision || t == LogOverride }

// LogEntry is one record of the transparency log. Officials are named in
// clear; a citizen appears only as a salted commitment to a keyed
// pseudonym, and the fields the entry's type lists (LogType.Committed) or
// Commit adds are commitments whose openings are kept beside the tree,
// where retention and sunset delete them. The byte format of a leaf is
// defined by tlog/.
type LogEntry struct {
	Index          int64 // assigned at append
	Type           LogType
	Time           time.Time
	Region         string
	Subject        string // pseudonym, empty for entries about no one person
	Colour         Colour // decisions and overrides; 0 otherwise
	Reason         string // a code from a closed list, never free text
	RuleID         string
	RuleSetHash    string
	EvidenceDigest string // hex SHA-256 of the evidence used or accepted
	ActorName      string
	ActorRole      Role
	Ref            string // what the entry is about: a record id, a rule-set version…
	// Note is what an official typed (a refusal's reason, a case reference)
	// or cited that leads to a person: always a commitment in the leaf, the
	// text kept beside the tree.
	Note string
	// Commit adds fields to those the type commits (LogType.Committed).
	Commit LogFields
}

// Committed returns the fields of e that its leaf holds as commitments: the
// type's, those e.Commit adds, the subject if any and the note if any.
func (e *LogEntry) Committed() LogFields {
	f := e.Type.Committed() | e.Commit
	if e.Subject != "" {
		f |= FieldSubject
	}
	if e.Note != "" {
		f |= FieldNote
	}
	return f & AllLogFields
}

// Checkpoint is a signed statement of the log's size and root hash, in the
// C2SP tlog-checkpoint signed-note format (Note holds the whole text).
type Checkpoint struct {
	Size int64
	Root [32]byte
	Note []byte
	Time time.Time
}

// LogRecord is a log leaf as the store keeps it: the public leaf bytes, the
// stored hashes that adding it created (golang.org/x/mod/sumdb/tlog
// numbering, contiguous), and — kept apart so it can be deleted without
// breaking the tree — the opening of the leaf's commitments: the subject,
// and the salt and committed values (tlog encodes them).
type LogRecord struct {
	Index   int64
	Leaf    []byte
	Hashes  [][32]byte
	Subject string // empty for an entry about no one person
	Opening []byte // nil for a leaf with nothing committed
}

// OpenedLogEntry is a log entry opened through the node for an auditor: the
// leaf as published, the opening kept beside the tree, and the entry they
// give together, every field filled in.
type OpenedLogEntry struct {
	Index   int64
	Leaf    []byte
	Subject string
	Opening []byte // nil for a leaf with nothing committed
	Entry   LogEntry
}

// OversightFigures are the aggregate figures oversight reads from the node:
// the public log holds a person's reason, evidence and institution only as
// commitments, so counts by reason, kind and institution come from here.
type OversightFigures struct {
	Since   time.Time
	People  int64
	Colours map[Colour]int64 // people holding a decided colour, by colour (the others hold the default)
	// Decisions made since Since, by reason code.
	DecisionsByReason map[string]int64
	// Evidence recorded since Since, by kind and by submitting institution.
	EvidenceByKind      map[EvidenceKind]int64
	EvidenceBySubmitter map[string]int64
}
