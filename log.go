package healthcode

import "time"

// LogType names what a log entry records.
type LogType string

const (
	LogEvidence    LogType = "evidence"    // evidence accepted from a lab, clinic or official
	LogDecision    LogType = "decision"    // a colour decided by the rules
	LogOverride    LogType = "override"    // an approved manual colour
	LogDesignation LogType = "designation" // a risk designation of a venue or area
	LogRuleSet     LogType = "ruleset"     // a rule set published
	LogAppeal      LogType = "appeal"      // an appeal's outcome
	LogPurge       LogType = "purge"       // expired personal data deleted
	LogKey         LogType = "key"         // a signing key added or revoked
	LogUnmask      LogType = "unmask"      // an official saw who a pseudonym is, for a case
)

// LogEntry is one record of the transparency log. Officials are named in
// clear; a citizen appears only as a keyed pseudonym. The byte format of a
// leaf is defined by tlog/.
type LogEntry struct {
	Index          int64 // assigned at append
	Type           LogType
	Time           time.Time
	Region         string
	Subject        string // pseudonym, empty for entries about no one person
	Colour         Colour // decisions and overrides; 0 otherwise
	Reason         string
	RuleID         string
	RuleSetHash    string
	EvidenceDigest string // hex SHA-256 of the evidence used or accepted
	ActorName      string
	ActorRole      Role
	Ref            string // what the entry is about: an evidence id, a rule-set version…
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
// breaking the tree — the opening of the leaf's subject commitment.
type LogRecord struct {
	Index   int64
	Leaf    []byte
	Hashes  [][32]byte
	Subject string // empty for an entry about no one person
	Salt    []byte
}
