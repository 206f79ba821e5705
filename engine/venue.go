package engine

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RegisterVenue records a venue its owner registers. It shows no codes until
// an official approves it.
func (e *Engine) RegisterVenue(ctx context.Context, actor *healthcode.Principal, v healthcode.Venue) (*healthcode.Venue, error) {
	if actor == nil || actor.Role != healthcode.RoleVenue {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only a venue's owner registers it")
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	id := make([]byte, 10)
	v.Secret = make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	if _, err := rand.Read(v.Secret); err != nil {
		return nil, err
	}
	v.ID = "v" + strings.ToLower(idEncoding.EncodeToString(id))
	v.Owner, v.Status, v.RegisteredAt, v.ApprovedBy = actor.ID, healthcode.VenuePending, e.now(), ""
	if err := e.Keys.SealVenue(&v); err != nil {
		return nil, err
	}
	if err := e.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.CreateVenue(ctx, &v) }); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetVenueStatus approves (VenueActive) or suspends a venue, logged naming
// the operator.
func (e *Engine) SetVenueStatus(ctx context.Context, actor *healthcode.Principal, id, status string) error {
	if actor == nil || actor.Role != healthcode.RoleOperator {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an operator approves or suspends venues")
	}
	if status != healthcode.VenueActive && status != healthcode.VenueSuspended {
		return healthcode.Errorfd(healthcode.EINVALID, "venue.status", "status must be active or suspended")
	}
	now := e.now()
	err := e.update(ctx, func(u *unit) error {
		v, err := u.tx.Venue(ctx, id)
		if err != nil {
			return err
		}
		if err := u.tx.SetVenueStatus(ctx, id, status, healthcode.ActorLabel(actor), now); err != nil {
			return err
		}
		what := map[string]string{healthcode.VenueActive: "approved", healthcode.VenueSuspended: "suspended"}[status]
		u.log(&healthcode.LogEntry{Type: healthcode.LogVenue, Time: now, Region: e.Region, Reason: what, RuleID: "venue/" + id,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role,
			Ref: fmt.Sprintf("venue %s %s (was %s), region %s", id, what, v.Status, v.Region)})
		return nil
	})
	e.venues.drop(id)
	return err
}

// VenueCodes returns a venue's live code now and its printed code, for its
// owner's poster.
func (e *Engine) VenueCodes(ctx context.Context, actor *healthcode.Principal, id string) (v *healthcode.Venue, live, static string, err error) {
	err = e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		v, err = tx.Venue(ctx, id)
		return err
	})
	if err != nil {
		return nil, "", "", err
	}
	if actor == nil || v.Owner != actor.ID {
		return nil, "", "", healthcode.Errorfd(healthcode.ENOTFOUND, "venue.unknown", "no venue %q of yours", id)
	}
	if err := e.Keys.OpenVenue(v); err != nil {
		return nil, "", "", err
	}
	if v.Status != healthcode.VenueActive {
		return nil, "", "", healthcode.Errorfd(healthcode.ECONFLICT, "venue.not_active", "venue %q is %s, not active", id, v.Status)
	}
	now := e.now()
	return v, v.LiveCode(now), v.StaticCode(), nil
}

// CheckIn records a citizen's scan of a venue code. A live code of the
// current or previous slot is verified presence; a printed or stale code is
// recorded as unverified, and says so; an unverified one within the repeat
// window of the person's earlier check-in at the venue is answered with
// that one (Repeat set) and adds no row. A forged code, an unknown or
// inactive venue, a code from the future, a replay of a live code or a
// person over their check-in rate (ETOOMANY) is refused and records
// nothing. The check-in is acknowledged only once it is
// committed (group commit; EUNAVAILABLE when the queue is full). Returns the
// check-in and its venue.
func (e *Engine) CheckIn(ctx context.Context, actor *healthcode.Principal, text string) (*healthcode.CheckIn, *healthcode.Venue, error) {
	if actor == nil || actor.Role != healthcode.RoleCitizen || actor.Subject == "" {
		return nil, nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only a citizen checks in")
	}
	code, err := healthcode.ParseVenueCode(text)
	if err != nil {
		return nil, nil, err
	}
	v, err := e.venue(ctx, code.Venue)
	if err != nil {
		return nil, nil, err
	}
	if v.Status != healthcode.VenueActive {
		return nil, nil, healthcode.Errorfd(healthcode.ECONFLICT, "venue.not_active", "this venue is %s: its codes are not accepted", v.Status)
	}
	now := e.now()
	presence, err := code.Check(v, now)
	if err != nil {
		return nil, nil, err
	}
	if wait, ok := e.limiter.allow(actor.Subject, e.checkInPolicy(), now); !ok {
		err := healthcode.Errorfd(healthcode.ETOOMANY, "checkin.rate", "too many check-ins: try again in %s", wait.Round(time.Second))
		err.RetryAfter = wait
		return nil, nil, err
	}
	c := &healthcode.CheckIn{Venue: v.ID, Subject: actor.Subject, At: now, Slot: -1, Verified: presence == healthcode.PresenceVerified}
	if !code.Static {
		c.Slot = code.Slot
	}
	if err := e.checkins.add(ctx, e, c); err != nil {
		return nil, nil, err
	}
	return c, v, nil
}

// venue returns an active-or-not venue, from a short cache: check-ins at a
// busy venue should not read its row each time.
func (e *Engine) venue(ctx context.Context, id string) (*healthcode.Venue, error) {
	if v, ok := e.venues.get(id, e.now()); ok {
		return v, nil
	}
	var v *healthcode.Venue
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		v, err = tx.Venue(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := e.Keys.OpenVenue(v); err != nil {
		return nil, err
	}
	e.venues.put(v, e.now())
	return v, nil
}

// SealVenueSecrets seals under the region's key every venue secret an older
// node stored in clear, and returns how many it sealed (run at start).
func (e *Engine) SealVenueSecrets(ctx context.Context) (int, error) {
	sealed := 0
	for after := ""; ; {
		var vs []healthcode.Venue
		err := e.Store.Update(ctx, func(tx healthcode.Tx) error {
			var err error
			if vs, err = tx.Venues(ctx, after, 1000); err != nil {
				return err
			}
			for i := range vs {
				v := &vs[i]
				if !v.SealedInClear() {
					continue
				}
				if err := e.Keys.OpenVenue(v); err != nil {
					return err
				}
				if err := e.Keys.SealVenue(v); err != nil {
					return err
				}
				if err := tx.SetVenueSecret(ctx, v.ID, v.SealedSecret); err != nil {
					return err
				}
				sealed++
			}
			return nil
		})
		if err != nil {
			return sealed, fmt.Errorf("engine.SealVenueSecrets: %w", err)
		}
		if len(vs) < 1000 {
			return sealed, nil
		}
		after = vs[len(vs)-1].ID
	}
}

// RequestDesignation records an epidemiologist's request to designate a
// venue or an area a risk. It takes effect only once a different official
// of a different unit approves it.
func (e *Engine) RequestDesignation(ctx context.Context, actor *healthcode.Principal, d healthcode.RiskDesignation) (*healthcode.RiskDesignation, error) {
	if actor == nil || actor.Role != healthcode.RoleEpidemiologist {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an epidemiologist requests a risk designation")
	}
	now := e.now()
	if err := d.Validate(now); err != nil {
		return nil, err
	}
	if d.Until.After(now.Add(healthcode.MaxClockSkew)) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "designation.window", "the window of presence must have ended (it ends in the future)")
	}
	d.Status, d.Requester, d.CreatedAt, d.Approver, d.LogIndex, d.Exposures, d.CoSigner = healthcode.DesignationPending, *actor, now, nil, -1, -1, nil
	err := e.update(ctx, func(u *unit) error {
		tx := u.tx
		if err := e.underReview(ctx, tx, actor, now); err != nil {
			return err
		}
		if d.Venue != "" {
			if _, err := tx.Venue(ctx, d.Venue); err != nil {
				return err
			}
		}
		for _, id := range d.Cases {
			ev, err := tx.EvidenceByID(ctx, id)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				return healthcode.Errorfd(healthcode.EINVALID, "designation.no_case", "evidence %d does not exist", id)
			} else if err != nil {
				return err
			}
			if !confirmsCase(ev) {
				return healthcode.Errorfd(healthcode.EINVALID, "designation.no_case",
					"evidence %d is not a confirmed case or a positive lab result", id)
			}
			if err := designationLinked(ctx, tx, &d, ev); err != nil {
				return err
			}
		}
		if err := tx.CreateDesignation(ctx, &d); err != nil {
			return err
		}
		// The attempt is logged at once, naming its requester.
		u.log(&healthcode.LogEntry{Type: healthcode.LogDesignation, Time: now, Region: e.Region, Reason: "requested." + d.Reason,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("designation/%d requested %s", d.ID, designationTarget(&d))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func designationTarget(d *healthcode.RiskDesignation) string {
	if d.Venue != "" {
		return d.Venue + " " + d.Level
	}
	return "area/" + d.Area + " " + d.Level
}

// RefuseDesignation is an approver's refusal of a requested designation,
// with a reason; logged.
func (e *Engine) RefuseDesignation(ctx context.Context, actor *healthcode.Principal, id int64, reason string) (*healthcode.RiskDesignation, error) {
	if actor == nil || actor.Role != healthcode.RoleApprover {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an approver refuses a risk designation")
	}
	if err := healthcode.ValidLine("designation.refusal", reason, healthcode.MaxRefusalLen); err != nil {
		return nil, err
	}
	now := e.now()
	var d *healthcode.RiskDesignation
	err := e.update(ctx, func(u *unit) error {
		var err error
		if d, err = u.tx.Designation(ctx, id); err != nil {
			return err
		}
		if err := u.tx.RefuseDesignation(ctx, id, actor, now); err != nil {
			return err
		}
		d.Status, d.Approver, d.ApprovedAt = healthcode.DesignationRefused, actor, now
		u.log(&healthcode.LogEntry{Type: healthcode.LogDesignation, Time: now, Region: e.Region, Reason: "refused." + d.Reason,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("designation/%d refused", id), Note: reason})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// confirmsCase reports whether a piece of evidence can ground a risk
// designation: a confirmed or asymptomatic diagnosis, or a positive test.
func confirmsCase(ev *healthcode.Evidence) bool {
	switch ev.Kind {
	case healthcode.Diagnosis:
		return ev.Diagnosis == healthcode.DiagnosisConfirmed || ev.Diagnosis == healthcode.DiagnosisAsymptomatic
	case healthcode.NucleicAcidTest, healthcode.AntigenTest:
		return ev.Result == healthcode.Positive
	}
	return false
}

// designationVenues returns the venues a designation covers.
func designationVenues(ctx context.Context, tx healthcode.ReadTx, d *healthcode.RiskDesignation) ([]string, error) {
	if d.Area == "" {
		return []string{d.Venue}, nil
	}
	vs, err := tx.VenuesIn(ctx, d.Area)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out, nil
}

// designationExposures counts the exposures approving d would create: one
// per person per venue they checked in at during its window, however many
// times they checked in.
func designationExposures(ctx context.Context, tx healthcode.ReadTx, d *healthcode.RiskDesignation, venues []string) (int64, error) {
	var n int64
	for _, vid := range venues {
		_, people, err := tx.CountCheckIns(ctx, healthcode.CheckInQuery{Venue: vid, From: d.From, To: d.Until})
		if err != nil {
			return 0, err
		}
		n += people
	}
	return n, nil
}

func (e *Engine) designationCoSignAbove() int64 {
	if e.DesignationCoSignAbove > 0 {
		return e.DesignationCoSignAbove
	}
	return healthcode.DefaultDesignationCoSignAbove
}

// ApproveDesignation puts a requested designation in force, in one
// transaction: it is logged naming both officials and the number of
// exposures it creates, each person who checked in at a covered venue in
// its window gets one venue exposure per venue (verified if any of their
// check-ins there was), and everyone concerned is re-evaluated. A
// designation that would create more exposures than the node's bound, or
// take its requester, its approver or a case it cites past that many people
// exposed by designations in the bulk window, is refused (ECONFLICT
// "designation.needs_cosign") until an auditor has co-signed it.
func (e *Engine) ApproveDesignation(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.RiskDesignation, error) {
	if actor == nil || actor.Role != healthcode.RoleApprover {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an approver approves a risk designation")
	}
	now := e.now()
	var d *healthcode.RiskDesignation
	err := e.update(ctx, func(u *unit) error {
		rs, err := e.ruleSetIn(ctx, u.tx)
		if err != nil {
			return err
		}
		if d, err = u.tx.Designation(ctx, id); err != nil {
			return err
		}
		if d.Status != healthcode.DesignationPending {
			return healthcode.Errorfd(healthcode.ECONFLICT, "designation.not_pending", "designation %d is %s, not awaiting approval", id, d.Status)
		}
		if actor, err = e.secondOfficial(ctx, u.tx, actor, &d.Requester, "designation", true, healthcode.RoleApprover); err != nil {
			return err
		}
		if err := e.frozen(ctx, u.tx, now, actor, &d.Requester, d.CoSigner); err != nil {
			return err
		}
		if d.CoSigner != nil && d.CoSigner.ID == actor.ID {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "designation.self_approval", "the approver must be another official than the co-signer")
		}
		if !d.Expires.After(now) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "designation.expired", "designation %d expired before it was approved", id)
		}
		venues, err := designationVenues(ctx, u.tx, d)
		if err != nil {
			return err
		}
		exposures, err := designationExposures(ctx, u.tx, d, venues)
		if err != nil {
			return err
		}
		bound := e.designationCoSignAbove()
		if exposures > bound && d.CoSigner == nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "designation.needs_cosign",
				"approving designation %d would create %d exposures, above the bound of %d: an auditor must co-sign it first", id, exposures, bound)
		}
		system := &healthcode.Principal{ID: fmt.Sprintf("designation-%d", d.ID), Name: actor.Name, Role: healthcode.RoleApprover, Unit: actor.Unit}
		var evs []*healthcode.Evidence
		for _, vid := range venues {
			// One exposure per person: their first verified check-in in
			// the window, else their first.
			first := map[string]int{}
			q := healthcode.CheckInQuery{Venue: vid, From: d.From, To: d.Until}
			for after := (healthcode.CheckInCursor{}); ; {
				cs, err := u.tx.CheckIns(ctx, q, after, healthcode.MaxTracePage)
				if err != nil {
					return err
				}
				for _, c := range cs {
					i, seen := first[c.Subject]
					if seen && (evs[i].Verified || !c.Verified) {
						continue
					}
					ev := &healthcode.Evidence{Kind: healthcode.VenueExposure, Subject: c.Subject, Submitter: system.ID,
						SubmitterName: system.Name, SubmitterRole: system.Role, ExternalID: "checkin/" + strconv.FormatInt(c.ID, 10),
						ObservedAt: c.At, RecordedAt: now, CaseRef: fmt.Sprintf("designation/%d", d.ID), RiskLevel: d.Level,
						Venue: c.Venue, Verified: c.Verified}
					if seen {
						evs[i] = ev
					} else {
						first[c.Subject] = len(evs)
						evs = append(evs, ev)
					}
				}
				if len(cs) < healthcode.MaxTracePage {
					break
				}
				after = healthcode.CheckInCursor{At: cs[len(cs)-1].At, ID: cs[len(cs)-1].ID}
			}
		}
		// Several designations do not split a list: the people they
		// expose count per requester, approver and case over the bulk
		// window, and the designation that takes one past the bound waits
		// for an auditor too.
		people := make([]string, 0, len(evs))
		seen := make(map[string]bool, len(evs))
		for _, ev := range evs {
			if !seen[ev.Subject] {
				seen[ev.Subject] = true
				people = append(people, ev.Subject)
			}
		}
		cases, err := designationCases(ctx, u.tx, d)
		if err != nil {
			return err
		}
		keys := designationKeys(d.Requester.ID, actor.ID, cases)
		if cross, err := e.crossesLimit(ctx, u.tx, people, now, int(bound), keys...); err != nil {
			return err
		} else if cross && d.CoSigner == nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "designation.needs_cosign",
				"approving designation %d would take its requester, its approver or a case it cites past %d people exposed by designations in %s: an auditor must co-sign it first",
				id, bound, e.bulkLimits().Window)
		}
		if err := countDesignation(ctx, u.tx, d.ID, people, d.Requester.ID, actor.ID, cases, now); err != nil {
			return err
		}
		target := d.Venue
		if target == "" {
			target = "area/" + d.Area
		}
		by := healthcode.ActorLabel(actor) + " (approved; requested by " + healthcode.ActorLabel(&d.Requester)
		if d.CoSigner != nil {
			by += "; co-signed by " + healthcode.ActorLabel(d.CoSigner)
		}
		d.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogDesignation, Time: now, Region: e.Region,
			Reason: d.Reason, ActorName: by + ")", ActorRole: actor.Role,
			Ref: fmt.Sprintf("designation/%d %s %s %s–%s exposures %d", d.ID, target, d.Level,
				d.From.UTC().Format(time.RFC3339), d.Until.UTC().Format(time.RFC3339), exposures),
			// The cases cited lead to the people diagnosed: committed.
			Note: "cases " + joinIDs(d.Cases)})
		d.Status, d.Approver, d.ApprovedAt, d.Exposures = healthcode.DesignationApproved, actor, now, exposures
		if err := u.tx.ApproveDesignation(ctx, d.ID, actor, now, d.LogIndex, exposures); err != nil {
			return err
		}
		_, err = e.store(ctx, u, rs, system, evs, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// designationCases returns the cases a designation's cited evidence belongs
// to, each once: the case a diagnosis opened, or, for a positive test that
// cites none, the cases opened for its person (so that citing the test
// instead of the diagnosis does not start a new count).
func designationCases(ctx context.Context, tx healthcode.ReadTx, d *healthcode.RiskDesignation) ([]string, error) {
	var out []string
	add := func(id string) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range d.Cases {
		ev, err := tx.EvidenceByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if ev.CaseRef != "" && healthcode.ValidCaseID(ev.CaseRef) == nil {
			add(ev.CaseRef)
			continue
		}
		cs, err := tx.CasesOf(ctx, ev.Subject)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			add(c.ID)
		}
	}
	return out, nil
}

// CoSignDesignation is an auditor's co-signature on a pending designation,
// which its approval needs when it would create more exposures than the
// node's bound; logged, naming the auditor and the count.
func (e *Engine) CoSignDesignation(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.RiskDesignation, error) {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an auditor co-signs a risk designation")
	}
	now := e.now()
	var d *healthcode.RiskDesignation
	err := e.update(ctx, func(u *unit) error {
		var err error
		if d, err = u.tx.Designation(ctx, id); err != nil {
			return err
		}
		if d.Status != healthcode.DesignationPending {
			return healthcode.Errorfd(healthcode.ECONFLICT, "designation.not_pending", "designation %d is %s, not awaiting approval", id, d.Status)
		}
		if actor, err = e.secondOfficial(ctx, u.tx, actor, &d.Requester, "designation", false, healthcode.RoleAuditor); err != nil {
			return err
		}
		if err := e.frozen(ctx, u.tx, now, actor, &d.Requester); err != nil {
			return err
		}
		venues, err := designationVenues(ctx, u.tx, d)
		if err != nil {
			return err
		}
		exposures, err := designationExposures(ctx, u.tx, d, venues)
		if err != nil {
			return err
		}
		if err := u.tx.CoSignDesignation(ctx, id, actor, now); err != nil {
			return err
		}
		d.CoSigner, d.CoSignedAt = actor, now
		u.log(&healthcode.LogEntry{Type: healthcode.LogDesignation, Time: now, Region: e.Region, Reason: "cosigned." + d.Reason,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role,
			Ref: fmt.Sprintf("designation/%d co-signed %s exposures %d", id, designationTarget(d), exposures)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// Designations lists the designations not yet expired.
func (e *Engine) Designations(ctx context.Context) ([]healthcode.RiskDesignation, error) {
	var out []healthcode.RiskDesignation
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.Designations(ctx, e.now())
		return err
	})
	return out, err
}
