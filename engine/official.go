package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"healthcode"
)

// Units, officials and tokens: the registry of who may act, kept through the
// log. Every creation, change and revocation, every token issued or revoked,
// is a log entry naming the acting admin by official id and unit.

// IssuedToken is a token just issued: its secret, shown once, and its record.
type IssuedToken struct {
	Secret string
	Token  healthcode.Token
}

// newID returns prefix and 16 random base32 letters and digits.
func newID(prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + strings.ToLower(idEncoding.EncodeToString(b)), nil
}

// provisioning is the actor the in-process provisioning path (CreateToken)
// and node initialisation log under: the system, never an official.
var (
	provisioning = &healthcode.Principal{ID: "system", Name: "healthcode (in-process provisioning)", Role: healthcode.RoleSystem}
	initActor    = &healthcode.Principal{ID: "system", Name: "healthcode admin init", Role: healthcode.RoleSystem}
)

// registered checks that actor is an active official of the registry in one
// of roles and returns the registry's record of them: the unit compared in
// every "another unit" check and the id in every "not yourself" check are
// the registry's, whatever an in-process caller put in the principal.
func (e *Engine) registered(ctx context.Context, tx healthcode.ReadTx, actor *healthcode.Principal, roles ...healthcode.Role) (*healthcode.Principal, error) {
	ok := false
	for _, r := range roles {
		ok = ok || (actor != nil && actor.Role == r)
	}
	if !ok {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an official of role %s may do this", strings.Join(names, " or "))
	}
	o, err := tx.Official(ctx, actor.ID)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "official.unknown", "the caller is not an official of the registry")
	} else if err != nil {
		return nil, err
	}
	if o.Status != healthcode.OfficialActive {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "official.revoked", "official %s is revoked", o.ID)
	}
	if o.Role != actor.Role {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "official %s is a %s, not a %s", o.ID, o.Role, actor.Role)
	}
	return o.Principal(), nil
}

func (e *Engine) unitEntry(now time.Time, actor *healthcode.Principal, u *healthcode.Unit, what string) *healthcode.LogEntry {
	return &healthcode.LogEntry{Type: healthcode.LogUnit, Time: now, Region: e.Region, Reason: what, RuleID: "unit/" + u.ID,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("unit %s %s: %s, region %s", u.ID, what, u.Name, u.Region)}
}

func (e *Engine) officialEntry(now time.Time, actor *healthcode.Principal, o *healthcode.Official, what string) *healthcode.LogEntry {
	return &healthcode.LogEntry{Type: healthcode.LogOfficial, Time: now, Region: e.Region, Reason: what, RuleID: "official/" + o.ID,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role,
		Ref: fmt.Sprintf("official %s %s: %s, %s, unit %s", o.ID, what, o.Name, o.Role, o.Unit)}
}

func (e *Engine) tokenEntry(now time.Time, actor *healthcode.Principal, t *healthcode.Token, what string) *healthcode.LogEntry {
	entry := &healthcode.LogEntry{Type: healthcode.LogToken, Time: now, Region: e.Region, Reason: what, RuleID: "token/" + t.ID,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role}
	if t.Principal.Role == healthcode.RoleCitizen {
		// The person, committed to as in every entry about them.
		entry.Subject = t.Principal.Subject
		entry.Ref = fmt.Sprintf("token %s %s: the person's own, until %s", t.ID, what, t.Expires.UTC().Format(time.RFC3339))
	} else {
		entry.Ref = fmt.Sprintf("token %s %s: official %s (%s, unit %s), until %s", t.ID, what, t.Principal.ID, t.Principal.Role,
			t.Principal.Unit, t.Expires.UTC().Format(time.RFC3339))
	}
	return entry
}

// issue makes a token for p (an official of the registry, or a citizen),
// stores its hash and logs its issue by actor. A citizen token issued by an
// official is also recorded as an access to the person's data, for purpose.
func (e *Engine) issue(ctx context.Context, u *unit, actor, p *healthcode.Principal, now time.Time, purpose string) (*IssuedToken, error) {
	secret, h, err := newSecret(TokenPrefix)
	if err != nil {
		return nil, err
	}
	ttl := e.TokenTTL.For(p.Role)
	t := healthcode.Token{ID: tokenID(h), Hash: h[:], Principal: *p, IssuedAt: now, IssuedBy: actor.ID, Expires: now.Add(ttl)}
	if err := u.tx.CreateToken(ctx, &t); err != nil {
		return nil, err
	}
	entry := e.tokenEntry(now, actor, &t, "issued")
	if p.Role == healthcode.RoleCitizen {
		entry.Ref += ", purpose " + purpose
	}
	if p.Role == healthcode.RoleCitizen && actor.Role != healthcode.RoleSystem {
		// An official made it: an access to the person's data. (The
		// system's provisioning, as the demo's set-up, is in the log only.)
		if err := u.tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, Subject: p.Subject,
			What: fmt.Sprintf("issued token %s, which speaks for you: it reads everything you can (your export: name, ID number, phone, evidence)", t.ID)}); err != nil {
			return nil, err
		}
	}
	u.log(entry)
	return &IssuedToken{Secret: secret, Token: t}, nil
}

// Init bootstraps an empty node: its first unit and its first admins (two
// or more: creating any later official needs two), each
// with a token. The log records it, naming the system as actor. Refused
// (ECONFLICT, detail "init.done") once the registry holds any official:
// from then on officials are created only by admins.
func (e *Engine) Init(ctx context.Context, first healthcode.Unit, admins []string) (*healthcode.Unit, []IssuedToken, error) {
	if len(admins) < 2 {
		return nil, nil, healthcode.Errorfd(healthcode.EINVALID, "init.admins", "a node starts with at least two admins: creating any later admin needs a second one")
	}
	if first.Region == "" {
		first.Region = e.Region
	}
	if err := first.Validate(); err != nil {
		return nil, nil, err
	}
	now := e.now()
	var out []IssuedToken
	err := e.update(ctx, func(u *unit) error {
		if os, err := u.tx.Officials(ctx); err != nil {
			return err
		} else if len(os) > 0 {
			return healthcode.Errorfd(healthcode.ECONFLICT, "init.done", "this node has officials already: ask an admin (healthcode admin ... --token ADMIN)")
		}
		var err error
		if first.ID, err = newID("u"); err != nil {
			return err
		}
		first.CreatedAt, first.CreatedBy = now, initActor.ID
		if err := u.tx.CreateUnit(ctx, &first); err != nil {
			return err
		}
		u.log(e.unitEntry(now, initActor, &first, "created"))
		for _, name := range admins {
			o := healthcode.Official{Name: name, Role: healthcode.RoleAdmin, Unit: first.ID, Status: healthcode.OfficialActive,
				CreatedAt: now, CreatedBy: initActor.ID}
			if err := o.Validate(); err != nil {
				return err
			}
			if o.ID, err = newID("o"); err != nil {
				return err
			}
			if err := u.tx.CreateOfficial(ctx, &o); err != nil {
				return err
			}
			u.log(e.officialEntry(now, initActor, &o, "created"))
			it, err := e.issue(ctx, u, initActor, o.Principal(), now, "")
			if err != nil {
				return err
			}
			out = append(out, *it)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &first, out, nil
}

// CreateUnit adds a unit to the registry (admins only), logged.
func (e *Engine) CreateUnit(ctx context.Context, actor *healthcode.Principal, un healthcode.Unit) (*healthcode.Unit, error) {
	if un.Region == "" {
		un.Region = e.Region
	}
	if err := un.Validate(); err != nil {
		return nil, err
	}
	now := e.now()
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		if un.ID, err = newID("u"); err != nil {
			return err
		}
		un.CreatedAt, un.CreatedBy = now, a.ID
		if err := u.tx.CreateUnit(ctx, &un); err != nil {
			return err
		}
		u.log(e.unitEntry(now, a, &un, "created"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &un, nil
}

// CreateOfficial creates an official (admins only), logged. Every official
// (whatever the role) is only proposed: it exists once a second admin approves
// the proposal (ApproveOfficial). Exactly one of the results is non-nil.
// Returns ENOTFOUND if the unit is not in the registry.
func (e *Engine) CreateOfficial(ctx context.Context, actor *healthcode.Principal, o healthcode.Official) (*healthcode.Official, *healthcode.OfficialProposal, error) {
	o.Status = healthcode.OfficialActive
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	now := e.now()
	var prop *healthcode.OfficialProposal
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		if _, err := u.tx.Unit(ctx, o.Unit); err != nil {
			return err
		}
		if o.ID, err = newID("o"); err != nil {
			return err
		}
		o.CreatedAt, o.CreatedBy = now, a.ID
		if o.Role.NeedsSecondAdmin() {
			prop = &healthcode.OfficialProposal{Official: o, Status: healthcode.ProposalPending, ProposedBy: *a, ProposedAt: now}
			if err := u.tx.CreateOfficialProposal(ctx, prop); err != nil {
				return err
			}
			entry := e.officialEntry(now, a, &o, "proposed")
			entry.Ref += fmt.Sprintf(" (proposal %d: a second admin must approve)", prop.ID)
			u.log(entry)
			return nil
		}
		if err := u.tx.CreateOfficial(ctx, &o); err != nil {
			return err
		}
		u.log(e.officialEntry(now, a, &o, "created"))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if prop != nil {
		return nil, prop, nil
	}
	return &o, nil, nil
}

// ChangeOfficial renames an official or moves them to another unit (admins
// only), logged. A change of any official is only proposed,
// as their creation is. A role never changes: an official with another role
// is another official. Returns ENOTFOUND for an unknown official or unit,
// ECONFLICT for a revoked official.
func (e *Engine) ChangeOfficial(ctx context.Context, actor *healthcode.Principal, id, name, unitID string) (*healthcode.Official, *healthcode.OfficialProposal, error) {
	now := e.now()
	var o *healthcode.Official
	var prop *healthcode.OfficialProposal
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		if o, err = u.tx.Official(ctx, id); err != nil {
			return err
		}
		if o.Status != healthcode.OfficialActive {
			return healthcode.Errorfd(healthcode.ECONFLICT, "official.revoked", "official %s is revoked", id)
		}
		changed := *o
		if name != "" {
			changed.Name = name
		}
		if unitID != "" {
			changed.Unit = unitID
		}
		if changed.Name == o.Name && changed.Unit == o.Unit {
			return healthcode.Errorfd(healthcode.EINVALID, "official.no_change", "the change changes nothing")
		}
		if err := changed.Validate(); err != nil {
			return err
		}
		if _, err := u.tx.Unit(ctx, changed.Unit); err != nil {
			return err
		}
		changed.ChangedAt = now
		if o.Role.NeedsSecondAdmin() {
			prop = &healthcode.OfficialProposal{Official: changed, Change: true, Status: healthcode.ProposalPending, ProposedBy: *a, ProposedAt: now}
			if err := u.tx.CreateOfficialProposal(ctx, prop); err != nil {
				return err
			}
			entry := e.officialEntry(now, a, &changed, "change proposed")
			entry.Ref += fmt.Sprintf(" (proposal %d: a second admin must approve)", prop.ID)
			u.log(entry)
			return nil
		}
		if err := u.tx.UpdateOfficial(ctx, &changed); err != nil {
			return err
		}
		u.log(e.officialEntry(now, a, &changed, "changed"))
		o = &changed
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if prop != nil {
		return nil, prop, nil
	}
	return o, nil, nil
}

// ApproveOfficial carries out a pending proposal: a second admin, another
// official than the one who proposed it (compared by official id), approves.
// Returns EFORBIDDEN (detail "official.self_approval") for the proposer,
// ECONFLICT if the proposal is decided or its proposer has been revoked.
func (e *Engine) ApproveOfficial(ctx context.Context, actor *healthcode.Principal, proposal int64) (*healthcode.Official, error) {
	now := e.now()
	var o healthcode.Official
	err := e.update(ctx, func(u *unit) error {
		a, p, err := e.secondAdmin(ctx, u.tx, actor, proposal)
		if err != nil {
			return err
		}
		if p.Token {
			return healthcode.Errorfd(healthcode.EINVALID, "proposal.token", "proposal %d is a token for %s: the second admin issues it (healthcode admin token --token ADMIN2 --official %s, or POST /api/v1/officials/%s/tokens)",
				p.ID, p.Official.ID, p.Official.ID, p.Official.ID)
		}
		o = p.Official
		if p.Change {
			cur, err := u.tx.Official(ctx, o.ID)
			if err != nil {
				return err
			}
			if cur.Status != healthcode.OfficialActive {
				return healthcode.Errorfd(healthcode.ECONFLICT, "official.revoked", "official %s is revoked", o.ID)
			}
			o.Status, o.CreatedAt, o.CreatedBy, o.ChangedAt = cur.Status, cur.CreatedAt, cur.CreatedBy, now
			if err := u.tx.UpdateOfficial(ctx, &o); err != nil {
				return err
			}
		} else {
			o.Status, o.CreatedAt, o.CreatedBy = healthcode.OfficialActive, now, a.ID
			if err := u.tx.CreateOfficial(ctx, &o); err != nil {
				return err
			}
		}
		p.Status, p.DecidedBy, p.DecidedAt = healthcode.ProposalApproved, a.ID, now
		if err := u.tx.DecideOfficialProposal(ctx, p); err != nil {
			return err
		}
		what := "created"
		if p.Change {
			what = "changed"
		}
		entry := e.officialEntry(now, a, &o, what)
		entry.Ref += fmt.Sprintf(" (proposal %d by %s, approved)", p.ID, healthcode.ActorLabel(&p.ProposedBy))
		u.log(entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// RefuseOfficial refuses a pending proposal (a second admin), logged.
func (e *Engine) RefuseOfficial(ctx context.Context, actor *healthcode.Principal, proposal int64) (*healthcode.OfficialProposal, error) {
	now := e.now()
	var p *healthcode.OfficialProposal
	err := e.update(ctx, func(u *unit) error {
		var a *healthcode.Principal
		var err error
		if a, p, err = e.secondAdmin(ctx, u.tx, actor, proposal); err != nil {
			return err
		}
		p.Status, p.DecidedBy, p.DecidedAt = healthcode.ProposalRefused, a.ID, now
		if err := u.tx.DecideOfficialProposal(ctx, p); err != nil {
			return err
		}
		what := "proposal refused"
		if p.Token {
			what = "token proposal refused"
		}
		entry := e.officialEntry(now, a, &p.Official, what)
		entry.Ref += fmt.Sprintf(" (proposal %d by %s)", p.ID, healthcode.ActorLabel(&p.ProposedBy))
		u.log(entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// secondAdmin returns the registered admin deciding a pending proposal and
// the proposal, refusing the proposer (by official id) and a proposal whose
// proposer has since been revoked.
func (e *Engine) secondAdmin(ctx context.Context, tx healthcode.ReadTx, actor *healthcode.Principal, proposal int64) (*healthcode.Principal, *healthcode.OfficialProposal, error) {
	a, err := e.registered(ctx, tx, actor, healthcode.RoleAdmin)
	if err != nil {
		return nil, nil, err
	}
	p, err := tx.OfficialProposal(ctx, proposal)
	if err != nil {
		return nil, nil, err
	}
	if p.Status != healthcode.ProposalPending {
		return nil, nil, healthcode.Errorfd(healthcode.ECONFLICT, "proposal.decided", "proposal %d is %s already", p.ID, p.Status)
	}
	if p.ProposedBy.ID == a.ID {
		return nil, nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "official.self_approval", "a second admin, not the one who proposed it, must decide proposal %d", p.ID)
	}
	by, err := tx.Official(ctx, p.ProposedBy.ID)
	if err != nil {
		return nil, nil, err
	}
	if by.Status != healthcode.OfficialActive {
		return nil, nil, healthcode.Errorfd(healthcode.ECONFLICT, "proposal.proposer_revoked", "proposal %d was made by an admin since revoked", p.ID)
	}
	return a, p, nil
}

// RevokeOfficial revokes an official and every token they hold (admins
// only), logged: the official's requests are refused from the next one on.
// An admin is not revoked if fewer than two active admins would remain (no
// admin could be created again). Returns ECONFLICT if already revoked.
func (e *Engine) RevokeOfficial(ctx context.Context, actor *healthcode.Principal, id string) (*healthcode.Official, error) {
	now := e.now()
	var o *healthcode.Official
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		if o, err = u.tx.Official(ctx, id); err != nil {
			return err
		}
		if o.Status != healthcode.OfficialActive {
			return healthcode.Errorfd(healthcode.ECONFLICT, "official.revoked", "official %s is revoked already", id)
		}
		if o.Role == healthcode.RoleAdmin {
			all, err := u.tx.Officials(ctx)
			if err != nil {
				return err
			}
			admins := 0
			for _, x := range all {
				if x.Role == healthcode.RoleAdmin && x.Status == healthcode.OfficialActive {
					admins++
				}
			}
			if admins <= 2 {
				return healthcode.Errorfd(healthcode.ECONFLICT, "official.last_admins", "revoking %s would leave fewer than two admins: create another admin first", id)
			}
		}
		o.Status, o.ChangedAt = healthcode.OfficialRevoked, now
		if err := u.tx.UpdateOfficial(ctx, o); err != nil {
			return err
		}
		u.log(e.officialEntry(now, a, o, "revoked"))
		ids, err := u.tx.RevokeTokensOf(ctx, id, now)
		if err != nil {
			return err
		}
		for _, tid := range ids {
			t, err := u.tx.TokenByID(ctx, tid)
			if err != nil {
				return err
			}
			u.log(e.tokenEntry(now, a, t, "revoked"))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// IssueToken issues a token to an active official (admins only), logged.
// It expires after the role's TokenTTL. A token for any official other than
// the caller is never issued by one admin alone: the
// first admin's call only proposes it (the proposal is returned, the token
// nil), and the same call by a second admin, another official, approves
// that proposal and yields the token. (An admin's token for themself needs
// no second admin: they hold one already.) Exactly one of the results is
// non-nil. Returns EFORBIDDEN (detail "official.self_approval") to the
// proposer repeating the call while their proposal is pending.
func (e *Engine) IssueToken(ctx context.Context, actor *healthcode.Principal, officialID string) (*IssuedToken, *healthcode.OfficialProposal, error) {
	now := e.now()
	var it *IssuedToken
	var prop *healthcode.OfficialProposal
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		o, err := u.tx.Official(ctx, officialID)
		if err != nil {
			return err
		}
		if o.Status != healthcode.OfficialActive {
			return healthcode.Errorfd(healthcode.ECONFLICT, "official.revoked", "official %s is revoked", o.ID)
		}
		if !o.Role.NeedsSecondAdmin() || o.ID == a.ID {
			it, err = e.issue(ctx, u, a, o.Principal(), now, "")
			return err
		}
		pending, err := u.tx.OfficialProposals(ctx, healthcode.ProposalPending)
		if err != nil {
			return err
		}
		for i := range pending {
			p := &pending[i]
			if !p.Token || p.Official.ID != o.ID {
				continue
			}
			if _, p, err = e.secondAdmin(ctx, u.tx, a, p.ID); err != nil {
				if healthcode.ErrorCode(err) == healthcode.ECONFLICT {
					continue // its proposer was revoked: it cannot be approved, another may be
				}
				return err
			}
			p.Status, p.DecidedBy, p.DecidedAt = healthcode.ProposalApproved, a.ID, now
			if err := u.tx.DecideOfficialProposal(ctx, p); err != nil {
				return err
			}
			entry := e.officialEntry(now, a, o, "token approved")
			entry.Ref += fmt.Sprintf(" (proposal %d by %s, approved)", p.ID, healthcode.ActorLabel(&p.ProposedBy))
			u.log(entry)
			it, err = e.issue(ctx, u, a, o.Principal(), now, "")
			return err
		}
		prop = &healthcode.OfficialProposal{Official: *o, Token: true, Status: healthcode.ProposalPending, ProposedBy: *a, ProposedAt: now}
		if err := u.tx.CreateOfficialProposal(ctx, prop); err != nil {
			return err
		}
		entry := e.officialEntry(now, a, o, "token proposed")
		entry.Ref += fmt.Sprintf(" (proposal %d: a second admin must issue it)", prop.ID)
		u.log(entry)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return it, prop, nil
}

// CitizenTokenPurposes is the closed list of reasons an admin may issue a
// token that speaks for a person: the person asked for it in person, their
// identity checked at the counter (no phone of their own, a lost token).
var CitizenTokenPurposes = []string{"in_person_request"}

// provisioningPurpose is the purpose recorded when the system issues a
// citizen token (in-process provisioning, the demo's set-up).
const provisioningPurpose = "provisioning"

// IssueCitizenToken issues a token that speaks for one person (admins
// only), for a purpose of CitizenTokenPurposes. It is logged about the
// person, naming the admin, and recorded as an access to the person's data:
// the token reads everything the person can, so the person sees in their
// access records (GET /api/v1/me/access) which admin made one and why.
func (e *Engine) IssueCitizenToken(ctx context.Context, actor *healthcode.Principal, subject, purpose string) (*IssuedToken, error) {
	ok := false
	for _, p := range CitizenTokenPurposes {
		ok = ok || p == purpose
	}
	if !ok {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "token.purpose", "unknown purpose %q for a citizen token (want one of %s)",
			purpose, strings.Join(CitizenTokenPurposes, ", "))
	}
	now := e.now()
	var it *IssuedToken
	err := e.update(ctx, func(u *unit) error {
		a, err := e.registered(ctx, u.tx, actor, healthcode.RoleAdmin)
		if err != nil {
			return err
		}
		p, err := u.tx.Person(ctx, subject)
		if err != nil {
			return err
		}
		it, err = e.issue(ctx, u, a, &healthcode.Principal{ID: p.Pseudonym, Name: p.MaskedName, Role: healthcode.RoleCitizen, Subject: p.Pseudonym}, now, purpose)
		return err
	})
	return it, err
}

// RevokeToken revokes a token by its id, logged: an admin revokes any, a
// holder their own. It is refused from the next request on, and its page
// sessions end. Returns ENOTFOUND for an unknown token (or another's, to a
// non-admin), ECONFLICT if it is revoked already.
func (e *Engine) RevokeToken(ctx context.Context, actor *healthcode.Principal, tokenID string) (*healthcode.Token, error) {
	if actor == nil {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.none", "who revokes?")
	}
	now := e.now()
	var t *healthcode.Token
	err := e.update(ctx, func(u *unit) error {
		var err error
		if t, err = u.tx.TokenByID(ctx, tokenID); err != nil {
			return err
		}
		by := actor
		own := t.Principal.ID == actor.ID && t.Principal.Role == actor.Role
		if !own {
			if by, err = e.registered(ctx, u.tx, actor, healthcode.RoleAdmin); err != nil {
				if healthcode.ErrorCode(err) == healthcode.EFORBIDDEN && actor.Role != healthcode.RoleAdmin {
					return healthcode.Errorfd(healthcode.ENOTFOUND, "token.unknown", "no token %q of yours", tokenID)
				}
				return err
			}
		}
		if err := u.tx.RevokeToken(ctx, tokenID, now); err != nil {
			return err
		}
		t.RevokedAt = now
		u.log(e.tokenEntry(now, by, t, "revoked"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Registry is what an admin or an auditor sees of the registry.
type Registry struct {
	Units     []healthcode.Unit
	Officials []healthcode.Official
	Proposals []healthcode.OfficialProposal
}

// Registry lists units, officials and proposals (admins and auditors).
func (e *Engine) Registry(ctx context.Context, actor *healthcode.Principal) (*Registry, error) {
	if actor == nil || (actor.Role != healthcode.RoleAdmin && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only admins and auditors list the registry")
	}
	r := &Registry{}
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		if r.Units, err = tx.Units(ctx); err != nil {
			return err
		}
		if r.Officials, err = tx.Officials(ctx); err != nil {
			return err
		}
		r.Proposals, err = tx.OfficialProposals(ctx, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CreateToken provisions p in one step, for tests and simulations run in
// process: p's unit (by id, created with that id as its name if new) and p
// as an official (by id if given and known, created otherwise: with that id,
// or a generated one), then a token. Everything it creates is logged, naming
// the system ("in-process provisioning") as actor, so a log shows which
// officials were provisioned rather than created by admins. The CLI and the
// API never reach it: they go through Init, CreateOfficial and IssueToken.
// On success p.ID (and for citizens p.Subject) is the registry's.
func (e *Engine) CreateToken(ctx context.Context, p *healthcode.Principal) (string, error) {
	if _, err := healthcode.ParseRole(string(p.Role)); err != nil {
		return "", err
	}
	if strings.TrimSpace(p.Name) == "" {
		return "", healthcode.Errorfd(healthcode.EINVALID, "token.name", "a token needs the name of whom it speaks for")
	}
	if p.Role != healthcode.RoleCitizen && p.Subject != "" {
		return "", healthcode.Errorfd(healthcode.EINVALID, "token.subject", "only citizen tokens speak for a person")
	}
	if p.Role == healthcode.RoleCitizen && p.Subject == "" {
		return "", healthcode.Errorfd(healthcode.EINVALID, "token.subject", "a citizen token needs the person's pseudonym")
	}
	now := e.now()
	var it *IssuedToken
	err := e.update(ctx, func(u *unit) error {
		if p.Role == healthcode.RoleCitizen {
			if _, err := u.tx.Person(ctx, p.Subject); err != nil {
				return err
			}
			var err error
			it, err = e.issue(ctx, u, provisioning, &healthcode.Principal{ID: p.Subject, Name: p.Name, Role: p.Role, Subject: p.Subject}, now, provisioningPurpose)
			return err
		}
		o := healthcode.Official{ID: p.ID, Name: p.Name, Role: p.Role, Unit: p.Unit, Status: healthcode.OfficialActive, CreatedAt: now, CreatedBy: provisioning.ID}
		if err := o.Validate(); err != nil {
			return err
		}
		if _, err := u.tx.Unit(ctx, o.Unit); healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			un := healthcode.Unit{ID: o.Unit, Name: o.Unit, Region: e.Region, CreatedAt: now, CreatedBy: provisioning.ID}
			if err := ValidUnitID(un.ID); err != nil {
				return err
			}
			if err := u.tx.CreateUnit(ctx, &un); err != nil {
				return err
			}
			u.log(e.unitEntry(now, provisioning, &un, "created"))
		} else if err != nil {
			return err
		}
		if o.ID != "" {
			cur, err := u.tx.Official(ctx, o.ID)
			if err == nil {
				if cur.Role != o.Role || cur.Unit != o.Unit || cur.Status != healthcode.OfficialActive {
					return healthcode.Errorfd(healthcode.ECONFLICT, "official.exists", "official %s exists as a %s of unit %s (%s)", cur.ID, cur.Role, cur.Unit, cur.Status)
				}
				it, err = e.issue(ctx, u, provisioning, cur.Principal(), now, "")
				return err
			} else if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				return err
			}
		} else {
			var err error
			if o.ID, err = newID("o"); err != nil {
				return err
			}
		}
		if err := u.tx.CreateOfficial(ctx, &o); err != nil {
			return err
		}
		u.log(e.officialEntry(now, provisioning, &o, "created"))
		var err error
		it, err = e.issue(ctx, u, provisioning, o.Principal(), now, "")
		return err
	})
	if err != nil {
		return "", err
	}
	p.ID = it.Token.Principal.ID
	return it.Secret, nil
}

// ValidUnitID checks a unit id chosen by provisioning: a printable line.
func ValidUnitID(id string) error { return healthcode.ValidLine("unit.id", id, healthcode.MaxNameLen) }
