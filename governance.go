package healthcode

import (
	"strings"
	"time"
)

// Override is a manual colour for one or more people (invariant 3). A
// restrictive one (yellow, red) takes effect only when an approver of
// another unit approves it, and, above BulkLimit people, an auditor
// co-signs; a correction toward green needs the operator alone. It always
// expires, at most MaxOverrideDuration after it is requested.
type Override struct {
	ID       int64
	Subjects []string
	Colour   Colour
	Reason   string  // one of OverrideReasons
	Basis    []int64 // evidence ids it rests on (a lab result, a case's diagnosis)
	CaseRef  string  // the case it concerns, if any
	Note     string  // free text for the officials and the person; never decisive
	Expires  time.Time
	Status   string // OverridePending, OverrideActive or OverrideRefused

	Requester Principal
	Approver  *Principal
	CoSigner  *Principal // an auditor, for bulk overrides
	// BulkCoSign is set when the override crossed a bulk limit (see
	// BulkLimits): it waits for an auditor's co-signature.
	BulkCoSign bool
	CreatedAt  time.Time
	ApprovedAt time.Time
}

// Override statuses.
const (
	OverridePending = "pending"
	OverrideActive  = "active"
	OverrideRefused = "refused"
)

// OverrideReasons is the closed list of health reasons for an override. No
// free-text reason can raise a colour.
var OverrideReasons = []string{"lab_result_delayed", "data_entry_correction", "epidemiologist_judgement"}

// OverrideReasonText says each reason in words, for the person.
var OverrideReasonText = map[string]Text{
	"lab_result_delayed":       {ZH: "检测结果延迟，人工补录", EN: "A lab result was delayed and entered by hand"},
	"data_entry_correction":    {ZH: "数据录入错误更正", EN: "Correction of a data-entry error"},
	"epidemiologist_judgement": {ZH: "流行病学调查人员对具体病例的研判", EN: "An epidemiologist's judgement on a named case"},
}

// Limits of overrides.
const (
	MaxOverrideDuration = 14 * Day
	BulkLimit           = 20 // people, the default of BulkLimits.People
	MaxOverrideSubjects = 10_000
)

// Validate checks an override request at now.
func (o *Override) Validate(now time.Time) error {
	if !o.Colour.Valid() {
		return Errorfd(EINVALID, "override.colour", "an override needs a colour")
	}
	if _, ok := OverrideReasonText[o.Reason]; !ok {
		return Errorfd(EINVALID, "override.reason", "unknown reason %q (want one of %s)", o.Reason, strings.Join(OverrideReasons, ", "))
	}
	if len(o.Subjects) == 0 || len(o.Subjects) > MaxOverrideSubjects {
		return Errorfd(EINVALID, "override.subjects", "an override names between 1 and %d people", MaxOverrideSubjects)
	}
	if o.Colour.Restrictive() && len(o.Basis) == 0 {
		return Errorfd(EINVALID, "override.no_case", "a restrictive override must rest on a lab result or a case's evidence")
	}
	if o.Reason == "epidemiologist_judgement" && strings.TrimSpace(o.CaseRef) == "" {
		return Errorfd(EINVALID, "override.no_case", "an epidemiologist's judgement must name its case")
	}
	if !o.Expires.After(now) || o.Expires.Sub(now) > MaxOverrideDuration {
		return Errorfd(EINVALID, "override.expiry", "an override expires within 14 days")
	}
	if len(o.Note) > 2000 {
		return Errorfd(EINVALID, "override.note", "the note is at most 2000 bytes")
	}
	return nil
}

// NeedsCoSign reports whether an auditor must co-sign the override: the
// engine sets BulkCoSign when the override crosses a bulk limit.
func (o *Override) NeedsCoSign() bool {
	return o.Colour.Restrictive() && o.BulkCoSign
}

// Appeal is a person's objection to their colour, or a request to correct
// their data (invariant 4). An operator must answer by Deadline; past it the
// appeal escalates to oversight.
type Appeal struct {
	ID         int64
	Subject    string
	Kind       string // AppealColour or AppealCorrection
	Note       string
	Status     string // AppealOpen, AppealGranted, AppealDenied, AppealEscalated
	Colour     Colour // the colour appealed
	CreatedAt  time.Time
	Deadline   time.Time
	Answer     string
	AnsweredBy string // the official (or "system" when granted automatically)
	AnsweredAt time.Time
	LogIndex   int64 // the entry logging its outcome, -1 while open
}

// Appeal kinds and statuses.
const (
	AppealColour     = "colour"
	AppealCorrection = "correction"

	AppealOpen      = "open"
	AppealGranted   = "granted"
	AppealDenied    = "denied"
	AppealEscalated = "escalated"
)

// AppealDeadline is how long an operator has to answer an appeal.
const AppealDeadline = 24 * time.Hour

// RuleSetProposal is a rule set one admin proposed; it is published only when
// a second admin approves it.
type RuleSetProposal struct {
	Record     RuleSetRecord
	ProposedBy Principal
}

// DataExport is everything the node holds about a person, for the person
// (PIPL art. 45): their identity unsealed, their code and its history, the
// evidence with the date each item will be deleted, their check-ins, the
// reads of their data by officials, and their appeals.
type DataExport struct {
	Personal  PersonalData
	Code      *CodeView
	Evidence  []Evidence
	Retention map[int64]time.Time // evidence id → deletion date
	CheckIns  []CheckIn
	Access    []AccessRecord
	Appeals   []Appeal
}

// MaxRefusalLen bounds the reason an official gives for refusing an
// override or a designation: it is written into the public log.
const MaxRefusalLen = 500

// ValidLine checks a short line of text that goes into the log: not blank,
// at most max bytes, no control characters. detail names the field.
func ValidLine(detail, s string, max int) error {
	if strings.TrimSpace(s) == "" || len(s) > max || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return Errorfd(EINVALID, detail, "%s: a line of 1 to %d printable bytes is needed", detail, max)
	}
	return nil
}
