package healthcode

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// EvidenceKind names a kind of evidence. The list is closed: rules can only
// speak of what is here.
type EvidenceKind string

const (
	NucleicAcidTest  EvidenceKind = "nucleic_acid_test"
	AntigenTest      EvidenceKind = "antigen_test"
	Vaccination      EvidenceKind = "vaccination"
	Diagnosis        EvidenceKind = "diagnosis"
	CloseContact     EvidenceKind = "close_contact"
	SecondaryContact EvidenceKind = "secondary_contact"
	Travel           EvidenceKind = "travel"
	QuarantineStart  EvidenceKind = "quarantine_start"
	QuarantineEnd    EvidenceKind = "quarantine_end"
	// VenueExposure is a check-in at a venue during a risk designation's
	// window, recorded when the designation is approved. Only the engine
	// makes it; only a Verified one can ever reach the rules (invariant 5).
	VenueExposure EvidenceKind = "venue_exposure"
	// TestingDuty is an obligation to be tested (应检未检 when missed): from
	// ObservedAt until Until, a nucleic-acid test at least every Every. An
	// epidemiologist issues it to a group (a batch, one per person), and
	// it takes effect only when a second epidemiologist of another unit
	// confirms it (LinkOrder), like any record the node cannot check. It
	// restricts no one by itself: only a rule set's rule can make a missed
	// test yellow.
	TestingDuty EvidenceKind = "testing_duty"
)

// EvidenceKinds lists every kind, in a stable order.
var EvidenceKinds = []EvidenceKind{NucleicAcidTest, AntigenTest, Vaccination, Diagnosis,
	CloseContact, SecondaryContact, Travel, QuarantineStart, QuarantineEnd, VenueExposure, TestingDuty}

// Valid reports whether k is a known kind.
func (k EvidenceKind) Valid() bool {
	for _, x := range EvidenceKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Test results.
const (
	Positive = "positive"
	Negative = "negative"
)

// Diagnoses a clinic may record.
const (
	DiagnosisSuspected    = "suspected"
	DiagnosisConfirmed    = "confirmed"
	DiagnosisAsymptomatic = "asymptomatic"
	DiagnosisFever        = "fever"      // fever or respiratory symptoms at a fever clinic
	DiagnosisDischarged   = "discharged" // a recovered patient leaving hospital
)

// Risk levels of an area or venue.
const (
	RiskHigh   = "high"
	RiskMedium = "medium"
	RiskLow    = "low"
)

// Epoch is the earliest time the platform accepts for an observation or a
// window: nothing about this disease predates it.
var Epoch = time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC)

// MaxClockSkew is how far in the future an observation time may lie before it
// is refused: submitters' clocks drift, but a result from tomorrow is an error.
const MaxClockSkew = 5 * time.Minute

// Evidence is one immutable fact about a person, submitted by a lab, a clinic
// or an official. It is never updated; a correction is new evidence.
type Evidence struct {
	ID      int64 // assigned by the store
	Kind    EvidenceKind
	Subject string // the person's pseudonym
	// Submitter is the institution or official that vouches for the fact; with
	// ExternalID (the sample id, record number…) it makes submissions idempotent.
	Submitter     string
	SubmitterName string
	SubmitterRole Role
	ExternalID    string
	ObservedAt    time.Time // sampled, diagnosed, exposed, arrived…
	RecordedAt    time.Time // set by the node when accepted

	Result    string // tests: positive or negative
	Pooled    bool   // nucleic-acid tests: sampled in a mixed tube
	PoolID    string // the mixed tube's id
	Diagnosis string // diagnosis: one of the Diagnosis* values
	CaseRef   string // close/secondary contact, diagnosis: the case it concerns
	RiskLevel string // travel: risk level of the area visited
	Area      string // travel: GB/T 2260 code of the area visited
	Dose      int    // vaccination: dose number
	Venue     string // venue exposure: the venue's public id
	// Verified is set on a venue exposure whose check-in was made with a
	// live venue code: presence proven.
	Verified bool
	// Until and Every are a testing duty's end and the longest time
	// allowed between two tests.
	Until time.Time
	Every time.Duration
}

// Bounds of a testing duty: a test at least every 24 hours to 7 days, for
// at most 14 days (a longer campaign is issued again, and confirmed again).
const (
	MinTestingInterval = 24 * time.Hour
	MaxTestingInterval = 7 * Day
	MaxTestingDuty     = 14 * Day
)

// Validate checks e against the closed list of kinds and their fields
// (ValidateRecord), checks that it names its subject and submitter, and
// refuses observations dated after now.
func (e *Evidence) Validate(now time.Time) error {
	if e.Subject == "" {
		return Errorfd(EINVALID, "evidence.subject", "evidence needs a subject")
	}
	if e.Submitter == "" {
		return Errorfd(EINVALID, "evidence.submitter", "evidence needs a submitter")
	}
	if err := e.ValidateRecord(); err != nil {
		return err
	}
	if e.ObservedAt.After(now.Add(MaxClockSkew)) {
		return Errorfd(EINVALID, "evidence.future_time", "evidence is dated %s, in the future", e.ObservedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ValidateRecord checks what the evidence itself says, whoever submits it
// about whomever and whenever: its kind, its external id, an observation
// time after Epoch and the fields of its kind. A reader of submitted files
// (batch) applies it to each row before the row's subject is known, so that
// a row it accepts is never refused later by Validate for its content.
func (e *Evidence) ValidateRecord() error {
	if !e.Kind.Valid() {
		return Errorfd(EINVALID, "evidence.kind", "unknown evidence kind %q", e.Kind)
	}
	if e.ExternalID == "" || len(e.ExternalID) > 128 {
		return Errorfd(EINVALID, "evidence.external_id", "evidence needs an external id (sample or record number) of at most 128 bytes")
	}
	if e.ObservedAt.Before(Epoch) {
		return Errorfd(EINVALID, "evidence.observed_at", "evidence needs the time it was observed, after %s", Epoch.Format("2006-01-02"))
	}
	switch e.Kind {
	case NucleicAcidTest, AntigenTest:
		if e.Result != Positive && e.Result != Negative {
			return Errorfd(EINVALID, "evidence.result", "test result must be positive or negative, not %q", e.Result)
		}
		if e.Kind == AntigenTest && e.Pooled {
			return Errorfd(EINVALID, "evidence.pooled", "antigen tests are not pooled")
		}
		if e.Pooled && e.PoolID == "" {
			return Errorfd(EINVALID, "evidence.pool_id", "a pooled sample needs its tube id")
		}
	case Diagnosis:
		switch e.Diagnosis {
		case DiagnosisSuspected, DiagnosisConfirmed, DiagnosisAsymptomatic, DiagnosisFever, DiagnosisDischarged:
		default:
			return Errorfd(EINVALID, "evidence.diagnosis", "unknown diagnosis %q", e.Diagnosis)
		}
	case CloseContact, SecondaryContact:
		if e.CaseRef == "" {
			return Errorfd(EINVALID, "evidence.case_ref", "a contact designation must name the case it is linked to")
		}
	case Travel:
		switch e.RiskLevel {
		case RiskHigh, RiskMedium, RiskLow:
		default:
			return Errorfd(EINVALID, "evidence.risk_level", "travel risk level must be high, medium or low, not %q", e.RiskLevel)
		}
		if err := ValidateRegion(e.Area); err != nil {
			return err
		}
	case VenueExposure:
		if e.Venue == "" || e.CaseRef == "" {
			return Errorfd(EINVALID, "evidence.venue", "a venue exposure names its venue and the designation it comes from")
		}
		if e.RiskLevel != RiskHigh && e.RiskLevel != RiskMedium {
			return Errorfd(EINVALID, "evidence.risk_level", "a venue exposure's risk level must be high or medium, not %q", e.RiskLevel)
		}
	case Vaccination:
		if e.Dose < 1 || e.Dose > 10 {
			return Errorfd(EINVALID, "evidence.dose", "vaccination dose must be between 1 and 10")
		}
	case TestingDuty:
		if e.Every < MinTestingInterval || e.Every > MaxTestingInterval || e.Every%time.Hour != 0 {
			return Errorfd(EINVALID, "evidence.every", "a testing duty asks for a test every 24 to 168 whole hours")
		}
		if !e.Until.After(e.ObservedAt) || e.Until.Sub(e.ObservedAt) > MaxTestingDuty {
			return Errorfd(EINVALID, "evidence.until", "a testing duty ends after it begins, within %d days", MaxTestingDuty/Day)
		}
		if err := ValidateRegion(e.Area); err != nil {
			return err
		}
		if e.CaseRef == "" || len(e.CaseRef) > 64 {
			return Errorfd(EINVALID, "evidence.case_ref", "a testing duty names the testing round or case it serves (case_ref, at most 64 bytes)")
		}
	}
	if e.Kind != TestingDuty && (!e.Until.IsZero() || e.Every != 0) {
		return Errorfd(EINVALID, "evidence.until", "only a testing duty has until and every")
	}
	return nil
}

// Digest returns a SHA-256 over the canonical content of e, the value the log
// commits to when it records the evidence.
func (e *Evidence) Digest() [32]byte {
	h := sha256.New()
	var b [8]byte
	w := func(s string) {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	w(string(e.Kind))
	w(e.Subject)
	w(e.Submitter)
	w(e.ExternalID)
	w(e.ObservedAt.UTC().Format(time.RFC3339Nano))
	w(e.Result)
	w(strconv.FormatBool(e.Pooled))
	w(e.PoolID)
	w(e.Diagnosis)
	w(e.CaseRef)
	w(e.RiskLevel)
	w(e.Area)
	w(strconv.Itoa(e.Dose))
	if e.Kind == VenueExposure {
		w(e.Venue)
		w(strconv.FormatBool(e.Verified))
	}
	if e.Kind == TestingDuty {
		w(e.Until.UTC().Format(time.RFC3339Nano))
		w(strconv.FormatInt(int64(e.Every), 10))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// EvidenceSetDigest is the hex SHA-256 over the digests of the evidence a
// decision used, in the order given.
func EvidenceSetDigest(evs []Evidence) string {
	h := sha256.New()
	for i := range evs {
		d := evs[i].Digest()
		h.Write(d[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Submission is one piece of evidence as a lab, clinic or official sends it.
// A test result (nucleic-acid or antigen) names only its Tube: the person is
// whoever a sampler collected into it, and the lab never names anyone. Other
// evidence names the person by pseudonym or by ID number.
type Submission struct {
	Line     int // position in a batch (file line or array index), for reports
	IDNumber string
	Tube     string // test results: the tube's id
	Evidence Evidence
	// Link ties a contact, travel or quarantine-start record to its case
	// or fact (see NeedsLink).
	Link Link
}

// IsTest reports whether k is a test result, which rests on a collected tube.
func (k EvidenceKind) IsTest() bool { return k == NucleicAcidTest || k == AntigenTest }

// Outcome says what became of one submission.
type Outcome struct {
	Line       int
	Status     string // "accepted", "duplicate", "pending" or "rejected"
	EvidenceID int64
	Subject    string
	Case       string    // the case a diagnosis opened
	Pending    int64     // the pending record an interview-linked record awaits confirmation as
	Err        error     // why it was rejected
	Decision   *Decision // the person's decision after it, if it changed
}

// Outcome statuses.
const (
	Accepted  = "accepted"
	Duplicate = "duplicate"
	Pending   = "pending" // waits for a second epidemiologist of another unit
	Rejected  = "rejected"
)

// EvidenceService accepts evidence from labs, clinics and officials.
type EvidenceService interface {
	// Submit accepts a batch in one transaction; see engine.Engine.Submit.
	// Returns EFORBIDDEN if actor may not submit evidence at all, and
	// EUNAVAILABLE if no rule set is in force.
	Submit(ctx context.Context, actor *Principal, items []Submission) ([]Outcome, error)
}

// OnceSubmitter is an EvidenceService that also takes idempotency keys
// (the engine is one).
type OnceSubmitter interface {
	EvidenceService
	// SubmitOnce is Submit under an idempotency key chosen by the
	// submitter: the same key with the same items answers what the first
	// submission answered and changes nothing (so that a client that lost
	// an answer, or an import resumed after a crash, counts exactly); the
	// same key with other items is ECONFLICT.
	SubmitOnce(ctx context.Context, actor *Principal, key string, items []Submission) ([]Outcome, error)
}

// SubmitReplay is what a keyed submission answered (SubmitOnce).
type SubmitReplay struct {
	Submitter string
	Key       string
	Digest    []byte // of the items submitted
	Outcomes  []byte // the outcomes, as the engine encodes them
	At        time.Time
}

// SubmitReplayKept is how long a keyed submission's answer is kept.
const SubmitReplayKept = 7 * Day

// MaxSubmitKey is the longest idempotency key accepted.
const MaxSubmitKey = 128
