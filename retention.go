package healthcode

import (
	"context"
	"time"
)

// Day is 24 hours.
const Day = 24 * time.Hour

// Retention says how long each kind of personal data is kept (invariant 7):
// after that it is deleted by the purge job, and the deletion is logged.
type Retention struct {
	Evidence     map[EvidenceKind]time.Duration // by kind, from ObservedAt
	CheckIns     time.Duration                  // from the check-in
	Designations time.Duration                  // from the designation's expiry
	Access       time.Duration                  // access records, from the read
}

// DefaultRetention is the retention of the 2022 practice, made explicit:
// tests, travel and check-ins 28 days, designations 90 days.
func DefaultRetention() Retention {
	return Retention{
		Evidence: map[EvidenceKind]time.Duration{
			NucleicAcidTest: 28 * Day, AntigenTest: 28 * Day, Travel: 28 * Day, VenueExposure: 28 * Day,
			CloseContact: 28 * Day, SecondaryContact: 28 * Day, QuarantineStart: 28 * Day, QuarantineEnd: 28 * Day,
			Diagnosis: 90 * Day, Vaccination: 365 * Day, TestingDuty: 28 * Day,
		},
		CheckIns:     28 * Day,
		Designations: 90 * Day,
		Access:       365 * Day,
	}
}

// EvidenceUntil returns when a piece of evidence will be deleted.
func (r Retention) EvidenceUntil(e *Evidence) time.Time {
	d, ok := r.Evidence[e.Kind]
	if !ok {
		d = 28 * Day
	}
	return e.ObservedAt.Add(d)
}

// CheckEvidenceAge refuses evidence observed (for a test: sampled) longer
// ago than its kind's retention period: the purge job would delete it at
// once, and a rule must never act on it. Returns EINVALID with detail
// "evidence.too_old". API submissions and batch imports both pass here.
func (r Retention) CheckEvidenceAge(e *Evidence, now time.Time) error {
	until := r.EvidenceUntil(e)
	if until.After(now) {
		return nil
	}
	return Errorfd(EINVALID, "evidence.too_old",
		"%s evidence observed at %s is older than its retention period (%d days): it is not accepted, and no rule may act on it",
		e.Kind, e.ObservedAt.UTC().Format("2006-01-02 15:04 UTC"), int(until.Sub(e.ObservedAt)/Day))
}

// PurgePlan says what the purge job deletes: everything older than its
// cutoffs.
type PurgePlan struct {
	EvidenceBefore     map[EvidenceKind]time.Time // evidence observed before
	CheckInsBefore     time.Time
	DesignationsBefore time.Time // designations that expired before
	AccessBefore       time.Time
}

// Plan returns the purge plan of r at now.
func (r Retention) Plan(now time.Time) *PurgePlan {
	p := &PurgePlan{EvidenceBefore: map[EvidenceKind]time.Time{},
		CheckInsBefore: now.Add(-r.CheckIns), DesignationsBefore: now.Add(-r.Designations), AccessBefore: now.Add(-r.Access)}
	for _, k := range EvidenceKinds {
		d, ok := r.Evidence[k]
		if !ok {
			d = 28 * Day
		}
		p.EvidenceBefore[k] = now.Add(-d)
	}
	return p
}

// PurgeReport counts what a purge or a sunset deleted, by kind of data
// ("evidence/nucleic_acid_test", "checkins", "people", "log_openings"…).
type PurgeReport struct {
	Counts   map[string]int64
	Subjects []string // people whose evidence was deleted (to re-evaluate)
}

// Compacter is a store that can rewrite its file so that deleted data leaves
// no bytes behind (SQLite's VACUUM). Sunset calls it if the store has it.
type Compacter interface {
	Compact(ctx context.Context) error
}
