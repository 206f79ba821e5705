package healthcode

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Unit is a bureau, lab, clinic or office that officials belong to: a record
// of the registry, created by an admin through the log, never free text.
// Every "another unit" check compares Unit IDs.
type Unit struct {
	ID        string // generated ("u" + base32), or chosen by in-process provisioning
	Name      string
	Region    string // GB/T 2260 division code
	CreatedAt time.Time
	CreatedBy string // the acting admin's official id
}

// Validate checks a unit's name and region.
func (u *Unit) Validate() error {
	if err := ValidLine("unit.name", u.Name, MaxNameLen); err != nil {
		return err
	}
	return ValidateRegion(u.Region)
}

// Official is a person who acts for a unit in one role. Officials are records
// (invariant 6): created, changed and revoked through the log by admins, and
// named in every log entry they cause by ID, name and unit. One official
// holds one role; the "not yourself" checks compare official IDs.
type Official struct {
	ID        string // generated ("o" + base32), or chosen by in-process provisioning
	Name      string
	Role      Role
	Unit      string // a Unit's ID
	Status    string // OfficialActive or OfficialRevoked
	CreatedAt time.Time
	CreatedBy string // official id of the admin who created it (or approved its creation)
	ChangedAt time.Time
}

// Official statuses.
const (
	OfficialActive  = "active"
	OfficialRevoked = "revoked"
)

// MaxNameLen bounds the name of a unit or an official: it goes into the log.
const MaxNameLen = 200

// Principal returns the caller the official is.
func (o *Official) Principal() *Principal {
	return &Principal{ID: o.ID, Name: o.Name, Role: o.Role, Unit: o.Unit}
}

// Validate checks an official's name, role and unit reference.
func (o *Official) Validate() error {
	if err := ValidLine("official.name", o.Name, MaxNameLen); err != nil {
		return err
	}
	if _, err := ParseRole(string(o.Role)); err != nil {
		return err
	}
	if o.Role == RoleCitizen {
		return Errorfd(EINVALID, "official.role", "a citizen is not an official: citizens' tokens speak for a person")
	}
	if strings.TrimSpace(o.Unit) == "" {
		return Errorfd(EINVALID, "official.unit", "an official belongs to a unit of the registry")
	}
	return nil
}

// NeedsSecondAdmin reports whether creating an official of role r (or giving
// one that role or moving one of that role to another unit, or issuing a
// token for one) needs a second admin's approval: every role does, so that
// no single admin can staff both units a restriction needs (a sampler of one
// unit and a lab of another, say) and play both sides alone.
func (r Role) NeedsSecondAdmin() bool {
	return true
}

// OfficialProposal is a creation or change of an official (or a token for one)
// that one admin proposed; it takes effect only when a second admin (another
// official) approves it.
type OfficialProposal struct {
	ID         int64
	Official   Official // the official as proposed; ID set for a change
	Change     bool     // a change of an existing official, not a creation
	Token      bool     // a token for an existing official, not a creation
	Status     string   // ProposalPending, ProposalApproved or ProposalRefused
	ProposedBy Principal
	ProposedAt time.Time
	DecidedBy  string // official id of the second admin
	DecidedAt  time.Time
}

// Proposal statuses.
const (
	ProposalPending  = "pending"
	ProposalApproved = "approved"
	ProposalRefused  = "refused"
)

// Token is a bearer credential: it speaks for one official, or for one
// citizen, until it expires or is revoked. The store keeps only its hash.
type Token struct {
	ID        string // "t" + hex of the first 8 bytes of the hash: names it in the log and for revocation
	Hash      []byte
	Principal Principal // Official ID (or the citizen's pseudonym as ID and Subject), name, role, unit
	IssuedAt  time.Time
	IssuedBy  string // official id of the admin (or "system" for provisioning)
	Expires   time.Time
	RevokedAt time.Time // zero while not revoked
}

// Usable reports why the token cannot be used at now, or nil.
func (t *Token) Usable(now time.Time) error {
	switch {
	case !t.RevokedAt.IsZero():
		return Errorfd(EUNAUTHORIZED, "auth.revoked_token", "this token was revoked")
	case t.Expires.IsZero():
		return Errorfd(EUNAUTHORIZED, "auth.legacy_token", "this token was issued before officials were records: ask an admin for a new one")
	case !now.Before(t.Expires):
		return Errorfd(EUNAUTHORIZED, "auth.expired_token", "this token expired at %s", t.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// Session is a page session: a random id in an HttpOnly cookie, stored only
// as a hash, bound to the token the person logged in with. Logging out ends
// it; so do the token's expiry and revocation.
type Session struct {
	Hash      []byte
	TokenHash []byte
	Created   time.Time
	Expires   time.Time
}

// SessionDuration bounds a page session (the token's own expiry may end it
// sooner).
const SessionDuration = 12 * time.Hour

// TokenTTL is how long a token issued to each role lives.
type TokenTTL map[Role]time.Duration

// DefaultTokenTTL is the default lifetime of tokens: short for the roles
// that restrict or oversee, longer for institutions that submit, a year for
// a citizen's.
func DefaultTokenTTL() TokenTTL {
	return TokenTTL{
		RoleCitizen: 365 * Day, RoleVerifier: 90 * Day, RoleVenue: 365 * Day, RolePeer: 90 * Day,
		RoleSampler: 30 * Day, RoleLab: 30 * Day, RoleClinic: 30 * Day, RoleEpidemiologist: 30 * Day,
		RoleOperator: 7 * Day, RoleApprover: 7 * Day, RoleAuditor: 7 * Day, RoleAdmin: Day,
	}
}

// For returns the lifetime of a token of role r.
func (t TokenTTL) For(r Role) time.Duration {
	if d, ok := t[r]; ok {
		return d
	}
	return DefaultTokenTTL()[r]
}

// ParseTokenTTL parses "role=duration,..." over the defaults (durations as
// time.ParseDuration, or a number of days with the suffix "d").
func ParseTokenTTL(s string) (TokenTTL, error) {
	out := DefaultTokenTTL()
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, Errorfd(EINVALID, "token_ttl", "token lifetime %q: want role=duration", kv)
		}
		r, err := ParseRole(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		d, err := parseDays(strings.TrimSpace(v))
		if err != nil || d <= 0 || d > 5*365*Day {
			return nil, Errorfd(EINVALID, "token_ttl", "token lifetime of %s: %q is not a duration between 1ns and 5 years", r, v)
		}
		out[r] = d
	}
	return out, nil
}

// String renders the lifetimes as ParseTokenTTL reads them.
func (t TokenTTL) String() string {
	var parts []string
	for r, d := range t {
		parts = append(parts, fmt.Sprintf("%s=%s", r, d))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// parseDays reads a duration, accepting a whole number of days as "30d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var d int
		if _, err := fmt.Sscanf(n, "%d", &d); err != nil || fmt.Sprint(d) != n || d < 0 || d > 100_000 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(d) * Day, nil
	}
	return time.ParseDuration(s)
}
