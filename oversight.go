package healthcode

import (
	"context"
	"time"
)

// Detectors name what an oversight alert found. The list is closed: the
// dashboard, the metric's label and the webhook's payload use these names.
const (
	// DetectUncorroborated: a colour above green resting on no
	// corroborated health evidence (only an override; a designation whose
	// cases are not confirmed; a contact with no checked link).
	DetectUncorroborated = "uncorroborated"
	// DetectBurst: restrictive actions by one official, one unit, one
	// requester–approver pair, or citing one case, far above their own
	// baseline and their peers'.
	DetectBurst = "burst"
	// DetectCohort: many people restricted together who share no venue,
	// case or test, but share something else (registered or imported
	// together, an employer, an address block, a household).
	DetectCohort = "cohort"
	// DetectPresence: presence that does not add up (one venue code
	// scanned from many regions or over a long span; one person at two
	// distant venues within minutes).
	DetectPresence = "presence"
	// DetectUnlinkedDesignation: a designation whose cited cases have no
	// link to the venue or area designated.
	DetectUnlinkedDesignation = "unlinked_designation"
	// DetectReads: an official reading far more personal data than peers,
	// or citing one case for many people.
	DetectReads = "reads"
	// DetectOverdueAppeal: an appeal past its deadline.
	DetectOverdueAppeal = "overdue_appeal"
	// DetectIntegrity: the node's self-audit found its store or log
	// disagreeing with what it published (a fork, an edited row).
	DetectIntegrity = "integrity"
	// DetectPeerRefused: another region answered a restrictive colour this
	// region did not propagate (invariant 8): resting on an override's
	// reason, on a reason not on this region's epidemiological list or on
	// none, or an answer whose signature or log proof does not verify.
	DetectPeerRefused = "peer_refused"
)

// Detectors lists every detector name.
var Detectors = []string{DetectUncorroborated, DetectBurst, DetectCohort, DetectPresence,
	DetectUnlinkedDesignation, DetectReads, DetectOverdueAppeal, DetectIntegrity, DetectPeerRefused}

// KnownDetector reports whether name is a detector.
func KnownDetector(name string) bool {
	for _, d := range Detectors {
		if d == name {
			return true
		}
	}
	return false
}

// MaxAlertPeople bounds the people an alert lists (its summary counts them
// all): an alert is read by a person, and an answer listing DefaultAlertLimit
// alerts stays a few megabytes.
const MaxAlertPeople = 2000

// MaxAlertLogIndexes bounds the log entries an alert cites.
const MaxAlertLogIndexes = 1000

// Alert is what a detector found: a pattern in the log and the store that
// lawful epidemiological work does not make. It names the officials and
// units involved (registry ids), the people affected (pseudonyms only) and
// the log entries it rests on. Alerts are kept in the store, not in the
// transparency log: they are computed from the log and the store, which
// anyone holding the log can compute again (`healthcode oversight run`),
// they are pushed off the node at once (the webhook), and the integrity
// alert must be raised exactly when the node refuses to log anything. What
// an auditor does about an alert (a review) is logged.
type Alert struct {
	ID       int64
	Detector string // one of Detectors
	// Key identifies what the alert is about within its detector (an
	// override, an official and a window…): a detector that finds the same
	// thing again raises no second alert.
	Key string
	// OpenedAt is when the detector raised it; FirstEffectAt when the
	// first action it rests on took effect (the latency the node promises
	// is OpenedAt - FirstEffectAt < 60 s).
	OpenedAt      time.Time
	FirstEffectAt time.Time
	// Summary says what was found, in English, with no personal data (no
	// names, no ID numbers; pseudonyms and official ids only).
	Summary    string
	Officials  []string // official ids, sorted
	Units      []string // unit ids, sorted
	People     []string // pseudonyms, sorted, at most MaxAlertPeople
	LogIndexes []int64  // log entries it rests on, ascending, at most MaxAlertLogIndexes
	// ReviewID is the latest review opened on the alert, 0 if none.
	ReviewID int64
	// ClosedAt is when a review of it was closed (zero while open).
	ClosedAt time.Time
}

// Open reports whether no review has closed the alert.
func (a *Alert) Open() bool { return a.ClosedAt.IsZero() }

// AlertQuery selects alerts. Zero fields select everything.
type AlertQuery struct {
	Detector string // "" for every detector
	// Open, if set, selects open alerts (true) or closed ones (false).
	Open *bool
	// Since selects alerts opened at or after it.
	Since time.Time
	// Official selects alerts naming the official id.
	Official string
	// Limit bounds how many come back (newest first); 0 means
	// DefaultAlertLimit.
	Limit int
}

// DefaultAlertLimit is how many alerts a query returns unless it says.
const DefaultAlertLimit = 100

// Review is an auditor's review of an alert (invariant 3's watchman). While
// it is in force, the officials the alert names can take no restrictive
// action: the engine refuses them with EFORBIDDEN, detail
// "oversight.under_review", naming the review. Auditors never change
// colours; a review only stops further restrictions.
//
// One auditor alone cannot freeze lawful epidemiological work for long: a
// review opened by one auditor lapses after ReviewSingleAuditor unless a
// second auditor confirms it, and a confirmed one after ReviewMaxDuration
// (a review can be opened again, visibly). Opening, confirming and closing
// are logged, naming the auditors and the officials frozen, and only the
// officials an alert names can be frozen.
type Review struct {
	ID        int64
	AlertID   int64
	Officials []string // frozen while the review is in force: the alert's
	Note      string   // why, typed by the auditor (committed in the log)
	Status    string   // ReviewOpen or ReviewClosed (a lapsed review stays "open" past Expires; see InForce)
	OpenedBy  Principal
	OpenedAt  time.Time
	// Expires is when the review stops freezing the officials.
	Expires     time.Time
	ConfirmedBy *Principal
	ConfirmedAt time.Time
	ClosedBy    *Principal
	ClosedAt    time.Time
	CloseNote   string
	LogIndex    int64 // the entry logging its opening
	CloseIndex  int64 // the entry logging its closing, -1 while open
}

// Review statuses.
const (
	ReviewOpen   = "open"
	ReviewClosed = "closed"
)

// ReviewSingleAuditor is how long a review one auditor opened freezes the
// officials before a second auditor must confirm it.
const ReviewSingleAuditor = 24 * time.Hour

// ReviewMaxDuration is how long a confirmed review freezes the officials,
// from its confirmation.
const ReviewMaxDuration = 14 * Day

// InForce reports whether the review freezes its officials at t.
func (r *Review) InForce(t time.Time) bool {
	return r.Status == ReviewOpen && t.Before(r.Expires)
}

// MaxReviewNote bounds an auditor's note on a review.
const MaxReviewNote = 500

// DeliveryRecord is one attempt to deliver an alert to the webhook.
type DeliveryRecord struct {
	AlertID int64
	Attempt int
	At      time.Time
	Status  int    // the HTTP status answered, 0 if none
	Error   string // why it failed, "" if delivered
}

// OversightReadTx is the part of ReadTx about alerts and reviews.
type OversightReadTx interface {
	// Alert returns an alert. Returns ENOTFOUND.
	Alert(ctx context.Context, id int64) (*Alert, error)
	// Alerts returns the alerts q selects, newest first.
	Alerts(ctx context.Context, q AlertQuery) ([]Alert, error)
	// OpenAlertCounts returns how many alerts are open, by detector.
	OpenAlertCounts(ctx context.Context) (map[string]int64, error)
	// Review returns a review. Returns ENOTFOUND.
	Review(ctx context.Context, id int64) (*Review, error)
	// Reviews returns the reviews with the status (all if empty), newest
	// first.
	Reviews(ctx context.Context, status string) ([]Review, error)
	// ReviewsInForce returns the reviews in force at t that freeze the
	// official, oldest first.
	ReviewsInForce(ctx context.Context, official string, t time.Time) ([]Review, error)
	// OversightCursor returns a detector's position (0 if it never ran).
	OversightCursor(ctx context.Context, name string) (int64, error)
	// Deliveries returns the webhook deliveries of an alert, oldest first.
	Deliveries(ctx context.Context, alertID int64) ([]DeliveryRecord, error)
	// CheckInsAfter returns up to limit check-ins (anyone's, anywhere) with
	// an ID greater than after, in ID order: what the presence detector
	// reads as they arrive.
	CheckInsAfter(ctx context.Context, after int64, limit int) ([]CheckIn, error)
	// RegisteredBetween counts the people registered at or after from and
	// before to (how common a registration batch is, for the cohort
	// detector).
	RegisteredBetween(ctx context.Context, from, to time.Time) (int64, error)
}

// OversightTx is the part of Tx about alerts and reviews.
type OversightTx interface {
	// CreateAlert stores an alert and sets its ID, unless one with the same
	// Detector and Key exists: then created is false, nothing is written,
	// and a.ID is the existing one's.
	CreateAlert(ctx context.Context, a *Alert) (created bool, err error)
	// CreateReview stores a review, sets its ID and makes it the alert's
	// latest. Returns ENOTFOUND if the alert does not exist.
	CreateReview(ctx context.Context, r *Review) error
	// UpdateReview stores a review's status, expiry, confirmation and
	// closing; closing it closes its alert at r.ClosedAt.
	UpdateReview(ctx context.Context, r *Review) error
	// SetOversightCursor records a detector's position.
	SetOversightCursor(ctx context.Context, name string, value int64) error
	// RecordDelivery stores one webhook delivery attempt.
	RecordDelivery(ctx context.Context, d *DeliveryRecord) error
}

// OversightService is what auditors use: alerts, and reviews of them
// (engine.Engine implements it). Every method but Alerts and Reviews is a
// logged official action; each returns EFORBIDDEN for any caller but an
// auditor.
type OversightService interface {
	// Alerts returns the alerts q selects, newest first.
	Alerts(ctx context.Context, actor *Principal, q AlertQuery) ([]Alert, error)
	// OpenReview opens a review on an alert. Returns ENOTFOUND if there is
	// no such alert, ECONFLICT if a review of it is in force.
	OpenReview(ctx context.Context, actor *Principal, alertID int64, note string) (*Review, error)
	// ConfirmReview is a second auditor's confirmation: the review then
	// lasts ReviewMaxDuration. Returns EFORBIDDEN for the auditor who
	// opened it, ECONFLICT if it is not in force or already confirmed.
	ConfirmReview(ctx context.Context, actor *Principal, id int64) (*Review, error)
	// CloseReview closes a review and its alert. Returns ECONFLICT if it
	// is closed already.
	CloseReview(ctx context.Context, actor *Principal, id int64, note string) (*Review, error)
	// Reviews returns the reviews with the status (all if empty), newest
	// first.
	Reviews(ctx context.Context, actor *Principal, status string) ([]Review, error)
}
