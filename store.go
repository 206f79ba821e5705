package healthcode

import (
	"context"
	"time"
)

// Store keeps the state of one region's node. Every change to a person's
// state happens inside Update, in one transaction, together with the log
// entries that record it: if the function returns an error, or the log append
// fails, nothing of it is committed.
type Store interface {
	// Update runs fn in one read-write transaction and commits if fn returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in one read-only transaction.
	View(ctx context.Context, fn func(ReadTx) error) error
	Close() error
}

// ReadTx reads a consistent snapshot of the store.
type ReadTx interface {
	CaseReadTx
	CodeReadTx
	OversightReadTx
	ReviewReadTx
	// Person returns the person with the pseudonym, with WrappedKey and Sealed
	// set (DataKey is not). Returns ENOTFOUND if there is none.
	Person(ctx context.Context, pseudonym string) (*Person, error)
	// PersonByIDHash finds a person by the keyed hash of the ID number.
	// Returns ENOTFOUND if there is none.
	PersonByIDHash(ctx context.Context, idHash []byte) (*Person, error)
	// PseudonymsByIDHash maps each known ID hash (as a string) to its
	// person's pseudonym; unknown hashes are absent from the map.
	PseudonymsByIDHash(ctx context.Context, idHashes [][]byte) (map[string]string, error)
	// PeopleCount returns the number of people.
	PeopleCount(ctx context.Context) (int64, error)
	// Pseudonyms returns up to limit pseudonyms greater than after, in order.
	Pseudonyms(ctx context.Context, after string, limit int) ([]string, error)

	// Evidence returns the person's evidence ordered by ObservedAt, then ID.
	Evidence(ctx context.Context, subject string) ([]Evidence, error)
	// EvidenceOf returns the evidence of each of the subjects, as Evidence
	// does; subjects with none are absent from the map.
	EvidenceOf(ctx context.Context, subjects []string) (map[string][]Evidence, error)
	// SubmitReplay returns what a submitter's keyed submission answered.
	// Returns ENOTFOUND if the key is unknown.
	SubmitReplay(ctx context.Context, submitter, key string) (*SubmitReplay, error)
	// EvidenceByExternalID returns the evidence a submitter filed under an
	// external id. Returns ENOTFOUND if there is none.
	EvidenceByExternalID(ctx context.Context, submitter, externalID string) (*Evidence, error)

	// Decision returns the person's current decision. Returns ENOTFOUND if
	// the person has none yet.
	Decision(ctx context.Context, subject string) (*Decision, error)
	// DecisionsOf returns the current decision of each of the subjects;
	// subjects with none are absent from the map.
	DecisionsOf(ctx context.Context, subjects []string) (map[string]*Decision, error)
	// Decisions returns every decision the person has held, oldest first.
	Decisions(ctx context.Context, subject string) ([]Decision, error)
	// EvidenceRows returns up to limit stored pieces of evidence (of
	// anyone) with an ID greater than after, in ID order: what an audit
	// walks.
	EvidenceRows(ctx context.Context, after int64, limit int) ([]Evidence, error)
	// DecisionRows returns up to limit stored decisions (of anyone) with a
	// row ID greater than after, in ID order: what an audit walks.
	DecisionRows(ctx context.Context, after int64, limit int) ([]Decision, error)
	// StaleCurrentCodes returns up to limit people whose current code does
	// not match their latest decision (another row, another colour, none):
	// what an audit of the store against its own history looks for.
	StaleCurrentCodes(ctx context.Context, limit int) ([]string, error)
	// DueForReview returns up to limit pseudonyms whose decision must be
	// reviewed at or before t, earliest first.
	DueForReview(ctx context.Context, t time.Time, limit int) ([]string, error)
	// ColourCounts returns how many people hold each colour now.
	ColourCounts(ctx context.Context) (map[Colour]int64, error)

	// EvidenceByID returns one piece of evidence. Returns ENOTFOUND.
	EvidenceByID(ctx context.Context, id int64) (*Evidence, error)
	// SubjectsOfCase returns the people diagnosed (confirmed or
	// asymptomatic) under caseRef.
	SubjectsOfCase(ctx context.Context, caseRef string) ([]string, error)

	// Tube returns a sample tube. Returns ENOTFOUND if no sample was ever
	// collected into it.
	Tube(ctx context.Context, id string) (*Tube, error)
	// TubeMembers returns the collections into a tube, in the order they
	// were recorded.
	TubeMembers(ctx context.Context, id string) ([]Collection, error)
	// TubesOf returns the tubes among ids that samples were ever collected
	// into (an id of no tube is absent), each with its collections in the
	// order they were recorded: a lab's batch of results finds its tubes in
	// one read, not two per tube.
	TubesOf(ctx context.Context, ids []string) (map[string]*TubeSamples, error)

	// Venue returns a venue by public id, with SealedSecret set (Secret is
	// not). Returns ENOTFOUND.
	Venue(ctx context.Context, id string) (*Venue, error)
	// Venues returns up to limit venues with an id greater than after, in
	// id order (SealedSecret set, Secret not).
	Venues(ctx context.Context, after string, limit int) ([]Venue, error)
	// VenuesIn returns the venues whose district lies in the GB/T 2260
	// division area (see RegionContains).
	VenuesIn(ctx context.Context, area string) ([]Venue, error)
	// CheckIns returns up to limit check-ins matching q that come after the
	// cursor, ordered by At, then ID: a caller pages through every row by
	// passing the last one's (At, ID) back.
	CheckIns(ctx context.Context, q CheckInQuery, after CheckInCursor, limit int) ([]CheckIn, error)
	// CountCheckIns returns how many check-ins match q and how many
	// distinct people made them.
	CountCheckIns(ctx context.Context, q CheckInQuery) (rows, people int64, err error)
	// CheckInsOf returns a person's check-ins with from <= At < to.
	CheckInsOf(ctx context.Context, subject string, from, to time.Time) ([]CheckIn, error)
	// CountSlot returns how many people checked in at the venue with its
	// live code of slot (stored with that Slot, At within the code's
	// validity: SlotValidity).
	CountSlot(ctx context.Context, venue string, slot int64) (int64, error)
	// Designation returns a risk designation. Returns ENOTFOUND.
	Designation(ctx context.Context, id int64) (*RiskDesignation, error)
	// Designations returns the designations not yet expired at t, newest
	// first, pending ones included.
	Designations(ctx context.Context, t time.Time) ([]RiskDesignation, error)
	// AccessRecords returns the reads of personal data about subject (all
	// reads if subject is empty), newest first, at most limit.
	AccessRecords(ctx context.Context, subject string, limit int) ([]AccessRecord, error)

	// Override returns an override. Returns ENOTFOUND.
	Override(ctx context.Context, id int64) (*Override, error)
	// Overrides returns the overrides with the status (all if empty) not
	// expired at t, newest first.
	Overrides(ctx context.Context, status string, t time.Time) ([]Override, error)
	// PendingOverrides returns the pending overrides naming subject.
	PendingOverrides(ctx context.Context, subject string, t time.Time) ([]Override, error)
	// ActiveOverrides returns, for each subject with one, the newest active
	// override not expired at t that names them.
	ActiveOverrides(ctx context.Context, subjects []string, t time.Time) (map[string]*Override, error)
	// Appeal returns an appeal. Returns ENOTFOUND.
	Appeal(ctx context.Context, id int64) (*Appeal, error)
	// Appeals returns appeals by subject (all if empty) and status (all if
	// empty), newest first.
	Appeals(ctx context.Context, subject, status string) ([]Appeal, error)
	// OverdueAppeals returns open appeals whose deadline passed before t.
	OverdueAppeals(ctx context.Context, t time.Time) ([]Appeal, error)
	// RuleSetProposal returns a proposed rule set. Returns ENOTFOUND.
	RuleSetProposal(ctx context.Context, version string) (*RuleSetProposal, error)
	// RuleSetProposals returns every rule set awaiting a second admin,
	// oldest first.
	RuleSetProposals(ctx context.Context) ([]RuleSetProposal, error)

	// Token returns the token with the hash; for an official's token its
	// Principal carries the official's current name, role and unit from the
	// registry. Returns EUNAUTHORIZED (detail "auth.unknown_token") if the
	// token is unknown. Expiry and revocation are the caller's to check.
	Token(ctx context.Context, tokenHash []byte) (*Token, error)
	// TokenByID returns a token by its id, as Token does. Returns ENOTFOUND.
	TokenByID(ctx context.Context, id string) (*Token, error)
	// AuthEpoch is a number the store changes with every change that can
	// make a stored token unusable or change whom it speaks for: a token
	// revoked or deleted, an official created, changed or deleted. The
	// database moves it itself (triggers), so every writer moves it — this
	// process, another process on the same file (`healthcode admin
	// revoke`), another node on the same PostgreSQL. Engines keep tokens in
	// memory only as long as it has not moved.
	AuthEpoch(ctx context.Context) (int64, error)
	// Session returns a page session by the hash of its id. Returns
	// ENOTFOUND if there is none (never created, ended, or deleted).
	Session(ctx context.Context, hash []byte) (*Session, error)

	// Unit returns a unit of the registry. Returns ENOTFOUND.
	Unit(ctx context.Context, id string) (*Unit, error)
	// Units returns every unit, by id.
	Units(ctx context.Context) ([]Unit, error)
	// Official returns an official, revoked or not. Returns ENOTFOUND.
	Official(ctx context.Context, id string) (*Official, error)
	// Officials returns every official, by id.
	Officials(ctx context.Context) ([]Official, error)
	// OfficialProposal returns a proposal. Returns ENOTFOUND.
	OfficialProposal(ctx context.Context, id int64) (*OfficialProposal, error)
	// OfficialProposals returns the proposals with the status (all if
	// empty), newest first.
	OfficialProposals(ctx context.Context, status string) ([]OfficialProposal, error)

	// ActiveRuleSet returns the rule set in force. Returns ENOTFOUND if none
	// has been published.
	ActiveRuleSet(ctx context.Context) (*RuleSetRecord, error)
	// RuleSet returns a rule set by version, in force or not. Returns ENOTFOUND.
	RuleSet(ctx context.Context, version string) (*RuleSetRecord, error)

	// LogSize returns the number of leaves in the log.
	LogSize(ctx context.Context) (int64, error)
	// LogHashes returns the stored hashes at the given storage indexes (in the
	// numbering of golang.org/x/mod/sumdb/tlog). Returns ENOTFOUND if any is
	// beyond the tree.
	LogHashes(ctx context.Context, indexes []int64) ([][32]byte, error)
	// LogLeaf returns the leaf bytes at index; ENOTFOUND if the index is
	// beyond the tree.
	LogLeaf(ctx context.Context, index int64) ([]byte, error)
	// LogOpening returns the subject ("" for an entry about no one person)
	// and the opening of the leaf's other commitments, as AppendLeaves
	// stored them. Returns ENOTFOUND if the leaf has nothing committed or
	// its opening has been deleted (retention, sunset).
	LogOpening(ctx context.Context, index int64) (subject string, opening []byte, err error)
	// SubjectLeaves returns the indexes of the leaves whose opening names
	// subject, newest first, at most limit of them (all if limit <= 0).
	SubjectLeaves(ctx context.Context, subject string, limit int) ([]int64, error)
	// LogRecords returns the records of leaves start to start+n-1, in
	// order, as AppendLeaves stored them: leaf bytes, the stored hashes
	// written with the leaf, and its opening if kept (Subject and Opening
	// empty otherwise). What the store does not hold is nil: an audit names
	// it. It is what an audit walks, one range at a time.
	LogRecords(ctx context.Context, start int64, n int) ([]LogRecord, error)
	// LatestCheckpoint returns the last checkpoint signed. Returns ENOTFOUND
	// if none has been.
	LatestCheckpoint(ctx context.Context) (*Checkpoint, error)
	// OversightFigures counts people by colour, and the decisions made and
	// evidence recorded since since (by reason; by kind and submitter).
	OversightFigures(ctx context.Context, since time.Time) (*OversightFigures, error)
	// DecisionCounts returns the decisions made in q's window, counted by
	// bucket, colour and reason, in that order.
	DecisionCounts(ctx context.Context, q DashboardQuery) ([]DecisionCount, error)
	// RestrictiveActions returns the restrictive actions (ActionKinds)
	// officials took in q's window, counted by bucket, kind and official,
	// in that order.
	RestrictiveActions(ctx context.Context, q DashboardQuery) ([]ActionCount, error)
	// AppealsFiled returns up to limit appeals filed in [since, until),
	// newest first.
	AppealsFiled(ctx context.Context, since, until time.Time, limit int) ([]Appeal, error)
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	CaseTx
	OversightTx
	ReviewTx
	// CreatePerson stores a new person. Returns ECONFLICT if the pseudonym or
	// ID hash exists.
	CreatePerson(ctx context.Context, p *Person) error
	// PutSubmitReplay keeps what a keyed submission answered, in the
	// submission's transaction, and forgets the submitter's replays older
	// than r.At minus SubmitReplayKept. Returns ECONFLICT if the key is kept.
	PutSubmitReplay(ctx context.Context, r *SubmitReplay) error
	// InsertEvidence stores each piece of evidence and sets its ID, except
	// those whose submitter has already filed their ExternalID (earlier, or
	// earlier in evs): for those inserted[i] is false and nothing is
	// written. Returns ENOTFOUND if a subject is unknown.
	InsertEvidence(ctx context.Context, evs []*Evidence) (inserted []bool, err error)
	// InsertCollection stores a collection and sets its ID, opening its tube
	// (with c.Mixed and c.CollectorUnit) if it is the first: the caller has
	// checked the tube takes it. If the person is already in the tube,
	// nothing is written, inserted is false and c.ID is the earlier one's.
	// Returns ENOTFOUND if the subject is unknown.
	InsertCollection(ctx context.Context, c *Collection) (inserted bool, err error)
	// SetTubeResult records a tube's result. Returns ENOTFOUND if the tube
	// is unknown and ECONFLICT if it has a result already.
	SetTubeResult(ctx context.Context, t *Tube) error
	// PutDecision makes d the person's current decision and adds it to the
	// history.
	PutDecision(ctx context.Context, d *Decision) error
	// SetReviewAt moves the review time of the person's current decision
	// (every person if subject is empty).
	SetReviewAt(ctx context.Context, subject string, t time.Time) error
	// AppendLeaves stores log leaves, in order, each with the stored hashes
	// that adding it creates and the opening of its commitments.
	// Returns ECONFLICT if the first index is not the log's size or the
	// indexes do not follow on.
	AppendLeaves(ctx context.Context, rs []*LogRecord) error
	// PutCheckpoint records a signed checkpoint.
	PutCheckpoint(ctx context.Context, c *Checkpoint) error
	// CreateVenue stores a new venue with its SealedSecret (never Secret).
	// Returns ECONFLICT if the id exists.
	CreateVenue(ctx context.Context, v *Venue) error
	// SetVenueSecret replaces a venue's sealed secret. Returns ENOTFOUND.
	SetVenueSecret(ctx context.Context, id string, sealed []byte) error
	// SetVenueStatus changes a venue's status, recording who did it.
	// Returns ENOTFOUND.
	SetVenueStatus(ctx context.Context, id, status, by string, at time.Time) error
	// InsertCheckIns stores check-ins and sets their IDs, except a live-code
	// check-in repeating one already stored (same venue, person and slot):
	// for those inserted[i] is false.
	InsertCheckIns(ctx context.Context, cs []*CheckIn) (inserted []bool, err error)
	// UnverifySlot marks unverified every check-in made at the venue with
	// its live code of slot (as CountSlot finds them), and returns how many
	// it changed: a slot more people scanned than SlotCapacity proves no
	// one's presence.
	UnverifySlot(ctx context.Context, venue string, slot int64) (int64, error)
	// CreateDesignation stores a requested designation and sets its ID.
	CreateDesignation(ctx context.Context, d *RiskDesignation) error
	// ApproveDesignation records the approval of a pending designation.
	// Returns ECONFLICT if it is not pending.
	ApproveDesignation(ctx context.Context, id int64, approver *Principal, at time.Time, logIndex, exposures int64) error
	// CoSignDesignation records an auditor's co-signature on a pending
	// designation. Returns ECONFLICT if it is not pending or already
	// co-signed.
	CoSignDesignation(ctx context.Context, id int64, auditor *Principal, at time.Time) error
	// RefuseDesignation records the refusal of a pending designation.
	// Returns ECONFLICT if it is not pending.
	RefuseDesignation(ctx context.Context, id int64, by *Principal, at time.Time) error
	// RecordAccess stores a read of personal data and sets its ID.
	RecordAccess(ctx context.Context, r *AccessRecord) error
	// CreateOverride stores a requested override and sets its ID.
	CreateOverride(ctx context.Context, o *Override) error
	// UpdateOverride stores an override's status, approver and co-signer.
	UpdateOverride(ctx context.Context, o *Override) error
	// CreateAppeal stores an appeal and sets its ID. Returns ECONFLICT if the
	// person already has an open or escalated appeal.
	CreateAppeal(ctx context.Context, a *Appeal) error
	// UpdateAppeal stores an appeal's status and answer.
	UpdateAppeal(ctx context.Context, a *Appeal) error
	// ProposeRuleSet stores a proposal. Returns ECONFLICT if the version is
	// proposed or published already.
	ProposeRuleSet(ctx context.Context, p *RuleSetProposal) error
	// DeleteRuleSetProposal removes a proposal (once published).
	DeleteRuleSetProposal(ctx context.Context, version string) error
	// Purge deletes the personal data older than the plan's cutoffs:
	// evidence (with the subject openings of its log leaves), check-ins,
	// designations, access records. Decisions stay; they are re-evaluated by
	// the caller. Returns what it deleted.
	Purge(ctx context.Context, plan *PurgePlan) (*PurgeReport, error)
	// Sunset deletes every person and everything about them — data keys,
	// sealed personal data, evidence, decisions, check-ins, access records,
	// citizens' tokens, every log leaf's subject opening — keeping the log's
	// leaves and hashes, so the tree and its proofs stay verifiable.
	Sunset(ctx context.Context) (*PurgeReport, error)
	// CreateToken stores a token (its hash, never the secret). Returns
	// ECONFLICT if the hash or id exists.
	CreateToken(ctx context.Context, t *Token) error
	// RevokeToken marks a token revoked at t and ends its page sessions.
	// Returns ENOTFOUND if there is none, ECONFLICT if it is revoked already.
	RevokeToken(ctx context.Context, id string, t time.Time) error
	// RevokeTokensOf revokes every unrevoked token of an official, ends
	// their sessions, and returns the ids revoked.
	RevokeTokensOf(ctx context.Context, officialID string, t time.Time) ([]string, error)
	// CreateSession stores a page session (deleting expired ones).
	CreateSession(ctx context.Context, s *Session) error
	// EndSession deletes a page session. Returns ENOTFOUND if there is none.
	EndSession(ctx context.Context, hash []byte) error
	// CreateUnit stores a new unit. Returns ECONFLICT if the id exists.
	CreateUnit(ctx context.Context, u *Unit) error
	// CreateOfficial stores a new official. Returns ECONFLICT if the id
	// exists and ENOTFOUND if the unit does not.
	CreateOfficial(ctx context.Context, o *Official) error
	// UpdateOfficial stores an official's name, unit, status and change
	// time. Returns ENOTFOUND if the official or the unit does not exist.
	UpdateOfficial(ctx context.Context, o *Official) error
	// CreateOfficialProposal stores a proposal and sets its ID.
	CreateOfficialProposal(ctx context.Context, p *OfficialProposal) error
	// DecideOfficialProposal stores a proposal's status and who decided it.
	// Returns ECONFLICT if it is not pending.
	DecideOfficialProposal(ctx context.Context, p *OfficialProposal) error
	// PutRuleSet stores a rule set; if activate, it becomes the one in force.
	PutRuleSet(ctx context.Context, r *RuleSetRecord, activate bool) error
}
