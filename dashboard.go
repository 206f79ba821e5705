package healthcode

import (
	"strings"
	"time"
)

// The auditor's dashboard reads these figures from the node's own store and
// log: counts, never a person's data, so reading them is not an access to
// personal data.

// DecisionCount is how many decisions of one colour and reason were made in
// one bucket of time.
type DecisionCount struct {
	Bucket time.Time // the bucket's start
	Colour Colour
	Reason string
	Count  int64
}

// Kinds of restrictive action an official takes, as the dashboard counts
// them.
const (
	ActionOverrideRequest     = "override_request"     // a yellow or red override requested
	ActionOverrideApproval    = "override_approval"    // a yellow or red override approved
	ActionDesignationRequest  = "designation_request"  // a risk designation requested
	ActionDesignationApproval = "designation_approval" // a risk designation approved
	ActionRecordRequest       = "record_request"       // an interview-linked record (a contact, travel, quarantine) requested
	ActionRecordConfirmation  = "record_confirmation"  // such a record confirmed by a second epidemiologist
	ActionPositive            = "positive_result"      // a positive test result submitted
	ActionDiagnosis           = "diagnosis"            // a diagnosis (suspected, confirmed, asymptomatic) submitted
	ActionContact             = "contact"              // a contact, travel or quarantine record submitted directly
)

// ActionKinds lists the kinds of restrictive action, in the order the
// dashboard shows them.
var ActionKinds = []string{ActionOverrideRequest, ActionOverrideApproval, ActionDesignationRequest, ActionDesignationApproval,
	ActionRecordRequest, ActionRecordConfirmation, ActionPositive, ActionDiagnosis, ActionContact}

// ActionCount is how many restrictive actions of one kind one official took
// in one bucket of time, and how many people they named.
type ActionCount struct {
	Bucket   time.Time
	Kind     string // one of ActionKinds
	Official string // the official's id
	Name     string // the official's name when acting
	Unit     string // the official's unit when acting ("" if unknown)
	Count    int64
	People   int64
}

// DashboardQuery is the window the dashboard shows: [Since, Until) in
// buckets of Bucket, Since being the first bucket's start.
type DashboardQuery struct {
	Since, Until time.Time
	Bucket       time.Duration
}

// MaxDashboardBuckets bounds the buckets of one dashboard query.
const MaxDashboardBuckets = 400

// Validate checks the window.
func (q *DashboardQuery) Validate() error {
	if q.Bucket <= 0 || !q.Until.After(q.Since) {
		return Errorfd(EINVALID, "dashboard.window", "the window must end after it starts, in buckets of a positive length")
	}
	if q.Until.Sub(q.Since)/q.Bucket > MaxDashboardBuckets {
		return Errorfd(EINVALID, "dashboard.window", "at most %d buckets", MaxDashboardBuckets)
	}
	return nil
}

// Dashboard is what the auditor's dashboard shows of a window.
type Dashboard struct {
	Query     DashboardQuery
	Decisions []DecisionCount
	Actions   []ActionCount
	// Appeals filed in the window (at most MaxDashboardAppeals, newest
	// first): their times.
	Appeals []Appeal
	// Colours is how many people hold each colour now.
	Colours map[Colour]int64
}

// MaxDashboardAppeals bounds the appeals a dashboard reads.
const MaxDashboardAppeals = 5000

// LogQuery selects log entries for the auditor's log browser: of a type,
// by an official or a unit (as the leaf names them in clear), in [Since,
// Until), going back from Before (the log's end if 0).
type LogQuery struct {
	Type     LogType
	Official string // an official's id
	Unit     string // a unit's id
	Since    time.Time
	Until    time.Time
	Before   int64
	Limit    int
}

// Bounds of one log browse.
const (
	MaxLogBrowse     = 100  // entries shown
	MaxLogBrowseScan = 5000 // leaves read to find them
)

// LogPage is one page of the log browser: the entries found, newest first,
// as their public leaves say (committed fields empty, Commit naming them),
// and where the scan stopped: Next is the Before of the next older page
// (-1 when the scan reached the start of the log or the window).
type LogPage struct {
	Entries []LogEntry
	Size    int64 // the log's size when read
	From    int64 // the lowest index scanned
	Next    int64
}

// SplitActorLabel reads an ActorLabel back: the name, the official's id and
// the unit's id. ok is false for a label that names no official and unit
// (a citizen, the system, an entry written before officials were records).
func SplitActorLabel(label string) (name, id, unit string, ok bool) {
	rest, found := strings.CutSuffix(label, "]")
	if !found {
		return label, "", "", false
	}
	i := strings.LastIndex(rest, " [")
	if i < 0 {
		return label, "", "", false
	}
	id, unit, found = strings.Cut(rest[i+2:], " @ ")
	if !found || id == "" || unit == "" || strings.ContainsAny(id+unit, " []") {
		return label, "", "", false
	}
	return rest[:i], id, unit, true
}
