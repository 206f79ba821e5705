package healthcode

import (
	"context"
	"time"
)

// Decision is the colour a person holds and everything that explains it.
// Decisions are produced only by a published rule set applied to recorded
// evidence (or, later, by an approved override) and are logged in the same
// transaction that stores them.
type Decision struct {
	ID             int64 // the store's row id, for audits
	Subject        string
	Colour         Colour
	Reason         string // reason code, e.g. "close_contact"
	RuleID         string
	RuleSetVersion string
	RuleSetHash    string // hex SHA-256 of the rule set source
	EvidenceIDs    []int64
	EvidenceDigest string // EvidenceSetDigest of the evidence used
	Text           Text   // the reason in plain words
	Lift           Text   // the condition that lifts it
	Basis          string // legal basis
	// LiftsAt is when the colour changes by time alone (rules: the earliest
	// such time across all rules; for a green decision, when it would turn
	// yellow or red), nil if it never does.
	LiftsAt *time.Time
	// ReviewAt is when the decision must be re-evaluated even with no new
	// evidence (lift conditions, expiries).
	ReviewAt  time.Time
	DecidedAt time.Time
	LogIndex  int64 // index of the log entry that records it
	Actor     string
}

// Text is a sentence in Chinese and English.
type Text struct {
	ZH string `json:"zh" yaml:"zh"`
	EN string `json:"en" yaml:"en"`
}

// Same reports whether d and o give the same colour for the same reason from
// the same evidence and rule set: a re-evaluation that changes nothing of
// this is not a new decision.
func (d *Decision) Same(o *Decision) bool {
	if d == nil || o == nil {
		return false
	}
	if d.Colour != o.Colour || d.Reason != o.Reason || d.RuleID != o.RuleID ||
		d.RuleSetHash != o.RuleSetHash || d.EvidenceDigest != o.EvidenceDigest {
		return false
	}
	if (d.LiftsAt == nil) != (o.LiftsAt == nil) || (d.LiftsAt != nil && !d.LiftsAt.Equal(*o.LiftsAt)) {
		return false
	}
	return true
}

// RuleSet is a compiled, published rule set that turns a person's evidence
// into a decision. Evaluate must be deterministic: the same evidence and time
// give the same decision. It fills every field but LogIndex and Actor.
type RuleSet interface {
	Version() string
	Hash() string
	Evaluate(subject string, evidence []Evidence, now time.Time) (*Decision, error)
	// Rule returns what the rule with the id says, for explaining stored
	// decisions.
	Rule(id string) (RuleInfo, bool)
}

// RuleInfo is what one rule says, in words.
type RuleInfo struct {
	ID     string
	Colour Colour
	Reason string
	Text   Text
	Lift   Text
	Basis  string
}

// RuleSetRecord is a rule set as stored: its source and who published it.
type RuleSetRecord struct {
	Version     string
	Hash        string
	Source      []byte
	PublishedAt time.Time
	PublishedBy string
}

// RuleSetLoader compiles a stored rule set. Implemented by rules/.
type RuleSetLoader func(source []byte) (RuleSet, error)

// CodeView is what a citizen sees of their own code.
type CodeView struct {
	Person   *Person
	Decision *Decision
	Evidence []Evidence // the evidence the decision used
	History  []Decision
	// Pending are restrictive overrides requested about the person and not
	// yet approved or refused: the person sees every attempt at once.
	Pending []Override
}

// CodeService answers citizens' questions about their codes.
type CodeService interface {
	// Code returns the current code of the person. Returns ENOTFOUND if the
	// person is unknown.
	Code(ctx context.Context, pseudonym string) (*CodeView, error)
}

// HealthCode is what a citizen's QR says, and all that a checkpoint learns:
// colour, masked name, validity and issuer — nothing medical, and nothing
// that leads into the log (invariant 6).
type HealthCode struct {
	Region         string
	Subject        string
	MaskedName     string
	Colour         Colour
	IssuedAt       time.Time
	Expires        time.Time
	RuleSetVersion string
}
