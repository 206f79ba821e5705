package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// RequestOverride records an operator's request for a manual colour. A
// correction toward green takes effect at once, on the operator's word
// alone, and is logged like any other; a restrictive one waits for an
// approver of another unit (and an auditor's co-signature above the bulk
// limit).
func (e *Engine) RequestOverride(ctx context.Context, actor *healthcode.Principal, o healthcode.Override) (*healthcode.Override, error) {
	if actor == nil || actor.Role != healthcode.RoleOperator {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an operator requests an override")
	}
	now := e.now()
	if err := o.Validate(now); err != nil {
		return nil, err
	}
	o.Requester, o.CreatedAt, o.Status, o.Approver, o.CoSigner = *actor, now, healthcode.OverridePending, nil, nil
	err := e.update(ctx, func(u *unit) error {
		if o.Colour.Restrictive() {
			if err := e.underReview(ctx, u.tx, actor, now); err != nil {
				return err
			}
		}
		for _, id := range o.Basis {
			ev, err := u.tx.EvidenceByID(ctx, id)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				return healthcode.Errorfd(healthcode.EINVALID, "override.no_case", "evidence %d does not exist", id)
			} else if err != nil {
				return err
			}
			if o.Colour.Restrictive() && !confirmsCase(ev) {
				return healthcode.Errorfd(healthcode.EINVALID, "override.no_case", "evidence %d is not a confirmed case or a positive lab result", id)
			}
		}
		if err := overrideCase(ctx, u.tx, &o); err != nil {
			return err
		}
		if !o.Colour.Restrictive() {
			o.Status, o.ApprovedAt = healthcode.OverrideActive, now
		} else {
			cross, err := e.crossesBulk(ctx, u.tx, o.Subjects, now, healthcode.BulkKey{Requester: actor.ID}, healthcode.BulkKey{Case: o.CaseRef})
			if err != nil {
				return err
			}
			o.BulkCoSign = cross
		}
		if err := u.tx.CreateOverride(ctx, &o); err != nil {
			return err
		}
		if o.Status == healthcode.OverrideActive {
			return e.applyOverride(ctx, u, &o, now)
		}
		if err := countBulk(ctx, u.tx, healthcode.BulkOverride, o.ID, o.Subjects, actor.ID, o.CaseRef, now); err != nil {
			return err
		}
		// The attempt itself is logged, naming its requester, about each
		// person it names: visible at once, approved or not.
		for _, s := range o.Subjects {
			u.log(&healthcode.LogEntry{Type: healthcode.LogOverrideAttempt, Time: now, Region: e.Region, Subject: s, Colour: o.Colour,
				Reason: "requested." + o.Reason, RuleID: fmt.Sprintf("override/%d", o.ID), ActorName: healthcode.ActorLabel(actor),
				ActorRole: actor.Role, Ref: fmt.Sprintf("override/%d requested", o.ID)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// ApproveOverride is the second official's signature on a restrictive
// override: an approver of another unit than the requester's. It takes
// effect now, unless it names more people than the bulk limit and no
// auditor has co-signed yet.
func (e *Engine) ApproveOverride(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Override, error) {
	if actor == nil || actor.Role != healthcode.RoleApprover {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an approver approves an override")
	}
	return e.signOverride(ctx, actor, id, func(u *unit, o *healthcode.Override, now time.Time) error {
		if o.Approver != nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "override.approved", "override %d is already approved", id)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &o.Requester, "override", true, healthcode.RoleApprover)
		if err != nil {
			return err
		}
		if o.CoSigner != nil && o.CoSigner.ID == a.ID {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "override.self_approval", "an override must be approved by someone other than its requester")
		}
		// The approver's own limit: a pair splitting a list across
		// requesters still meets it here.
		cross, err := e.crossesBulk(ctx, u.tx, o.Subjects, now, healthcode.BulkKey{Approver: a.ID})
		if err != nil {
			return err
		}
		o.BulkCoSign = o.BulkCoSign || cross
		o.Approver = a
		return u.tx.SetBulkApprover(ctx, healthcode.BulkOverride, o.ID, a.ID, now)
	})
}

// RefuseOverride is an approver's or auditor's refusal of a pending
// override, with a reason; it is logged about each person it named.
func (e *Engine) RefuseOverride(ctx context.Context, actor *healthcode.Principal, id int64, reason string) (*healthcode.Override, error) {
	if actor == nil || (actor.Role != healthcode.RoleApprover && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an approver or an auditor refuses an override")
	}
	if err := healthcode.ValidLine("override.refusal", reason, healthcode.MaxRefusalLen); err != nil {
		return nil, err
	}
	now := e.now()
	var o *healthcode.Override
	err := e.update(ctx, func(u *unit) error {
		var err error
		if o, err = pendingOverride(ctx, u, id); err != nil {
			return err
		}
		o.Status = healthcode.OverrideRefused
		if err := u.tx.UpdateOverride(ctx, o); err != nil {
			return err
		}
		if err := u.tx.DeleteBulk(ctx, healthcode.BulkOverride, o.ID); err != nil {
			return err
		}
		for _, s := range o.Subjects {
			// The official's words stay beside the tree (the note).
			u.log(&healthcode.LogEntry{Type: healthcode.LogOverrideAttempt, Time: now, Region: e.Region, Subject: s, Colour: o.Colour,
				Reason: "refused." + o.Reason, RuleID: fmt.Sprintf("override/%d", o.ID), ActorName: healthcode.ActorLabel(actor),
				ActorRole: actor.Role, Ref: fmt.Sprintf("override/%d refused", o.ID), Note: reason})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// CoSignOverride is an auditor's co-signature on a bulk override.
func (e *Engine) CoSignOverride(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Override, error) {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an auditor co-signs a bulk override")
	}
	return e.signOverride(ctx, actor, id, func(u *unit, o *healthcode.Override, _ time.Time) error {
		if !o.NeedsCoSign() {
			return healthcode.Errorfd(healthcode.ECONFLICT, "override.no_cosign", "override %d names %d people: it needs no co-signature", id, len(o.Subjects))
		}
		if o.CoSigner != nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "override.cosigned", "override %d is already co-signed", id)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &o.Requester, "override", false, healthcode.RoleAuditor)
		if err != nil {
			return err
		}
		if o.Approver != nil && o.Approver.ID == a.ID {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "override.self_approval", "a co-signer must be a third official")
		}
		o.CoSigner = a
		return nil
	})
}

func (e *Engine) signOverride(ctx context.Context, actor *healthcode.Principal, id int64, sign func(*unit, *healthcode.Override, time.Time) error) (*healthcode.Override, error) {
	now := e.now()
	var o *healthcode.Override
	err := e.update(ctx, func(u *unit) error {
		var err error
		if o, err = pendingOverride(ctx, u, id); err != nil {
			return err
		}
		if !o.Expires.After(now) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "override.expired", "override %d expired before it was approved", id)
		}
		if err := sign(u, o, now); err != nil {
			return err
		}
		if err := e.frozen(ctx, u.tx, now, &o.Requester, o.Approver, o.CoSigner); err != nil {
			return err
		}
		if o.Approver != nil && (!o.NeedsCoSign() || o.CoSigner != nil) {
			o.Status, o.ApprovedAt = healthcode.OverrideActive, now
		}
		if err := u.tx.UpdateOverride(ctx, o); err != nil {
			return err
		}
		if o.Status == healthcode.OverrideActive {
			return e.applyOverride(ctx, u, o, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// pendingOverride reads an override that still awaits signatures.
func pendingOverride(ctx context.Context, u *unit, id int64) (*healthcode.Override, error) {
	o, err := u.tx.Override(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.Status != healthcode.OverridePending {
		return nil, healthcode.Errorfd(healthcode.ECONFLICT, "override.not_pending", "override %d is %s, not awaiting signatures", id, o.Status)
	}
	return o, nil
}

// applyOverride re-evaluates the override's subjects, who now hold it.
func (e *Engine) applyOverride(ctx context.Context, u *unit, o *healthcode.Override, now time.Time) error {
	rs, err := e.ruleSetIn(ctx, u.tx)
	if err != nil {
		return err
	}
	_, err = e.reevaluateAll(ctx, u, rs, o.Subjects, now)
	return err
}

// officials names the officials who signed an override, in Chinese like
// a rule's basis: the person reads it as the basis of their colour, and
// the decision keeps one text of it.
func officials(o *healthcode.Override) string {
	s := "申请：" + signer(&o.Requester)
	if o.Approver != nil {
		s += "；批准：" + signer(o.Approver)
	}
	if o.CoSigner != nil {
		s += "；复核：" + signer(o.CoSigner)
	}
	return s
}

// signer names an official with their role and unit: 王强（审批人员，unit）.
func signer(p *healthcode.Principal) string {
	role, ok := roleZH[p.Role]
	if !ok {
		role = string(p.Role)
	}
	return fmt.Sprintf("%s（%s，%s）", p.Name, role, p.Unit)
}

// roleZH names the roles that sign an override.
var roleZH = map[healthcode.Role]string{
	healthcode.RoleOperator: "运营人员", healthcode.RoleApprover: "审批人员", healthcode.RoleAuditor: "审计人员",
	healthcode.RoleEpidemiologist: "流调人员",
}

// beijing is the zone of the times a decision's words give.
var beijing = time.FixedZone("UTC+8", 8*3600)

// overrideDecision is the decision a person holds under an active override.
func overrideDecision(subject string, o *healthcode.Override, rs healthcode.RuleSet, now time.Time) *healthcode.Decision {
	sum := sha256.Sum256([]byte("override/" + strconv.FormatInt(o.ID, 10)))
	expires := o.Expires
	d := &healthcode.Decision{Subject: subject, Colour: o.Colour, Reason: "override." + o.Reason, RuleID: fmt.Sprintf("override/%d", o.ID),
		RuleSetVersion: rs.Version(), RuleSetHash: rs.Hash(), EvidenceIDs: o.Basis, EvidenceDigest: hex.EncodeToString(sum[:]),
		LiftsAt: &expires, ReviewAt: o.Expires, DecidedAt: now, Actor: "override: " + officials(o)}
	explainOverride(d, o)
	return d
}

// explainOverride fills a decision's words from the override behind it.
func explainOverride(d *healthcode.Decision, o *healthcode.Override) {
	t := healthcode.OverrideReasonText[o.Reason]
	d.Text = healthcode.Text{ZH: "人工调整：" + t.ZH, EN: "Manual override: " + t.EN}
	if o.CaseRef != "" {
		d.Text.ZH += "（病例 " + o.CaseRef + "）"
		d.Text.EN += " (case " + o.CaseRef + ")"
	}
	exp := o.Expires.In(beijing).Format("2006-01-02 15:04")
	d.Lift = healthcode.Text{ZH: "于 " + exp + "（北京时间）自动解除，可随时申诉", EN: "Ends by itself at " + exp + " (Beijing time); you may appeal at any time"}
	d.Basis = officials(o)
	if o.Note != "" {
		d.Basis += "；备注：" + o.Note
	}
}

// overrideID returns the override a decision came from, or 0.
func overrideID(d *healthcode.Decision) int64 {
	s, ok := strings.CutPrefix(d.RuleID, "override/")
	if !ok {
		return 0
	}
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

// Overrides lists overrides not yet expired (all statuses if status is "").
func (e *Engine) Overrides(ctx context.Context, status string) ([]healthcode.Override, error) {
	var out []healthcode.Override
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.Overrides(ctx, status, e.now())
		return err
	})
	return out, err
}

// FileAppeal records a person's appeal of their colour (or request to
// correct their data). The person is re-evaluated at once: if the colour
// rested on nothing any more (an override that lapsed), the appeal is
// granted there and then, and logged. Otherwise an operator must answer by
// the deadline.
func (e *Engine) FileAppeal(ctx context.Context, actor *healthcode.Principal, kind, note string) (*healthcode.Appeal, error) {
	if actor == nil || actor.Role != healthcode.RoleCitizen || actor.Subject == "" {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only the person may appeal their colour")
	}
	if kind != healthcode.AppealColour && kind != healthcode.AppealCorrection {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "appeal.kind", "an appeal is about the colour or a correction, not %q", kind)
	}
	if len(note) > 4000 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "appeal.note", "the note is at most 4000 bytes")
	}
	now := e.now()
	a := &healthcode.Appeal{Subject: actor.Subject, Kind: kind, Note: note, Status: healthcode.AppealOpen, CreatedAt: now,
		Deadline: now.Add(healthcode.AppealDeadline), LogIndex: -1, Colour: healthcode.Green}
	err := e.update(ctx, func(u *unit) error {
		rs, err := e.ruleSetIn(ctx, u.tx)
		if err != nil {
			return err
		}
		cur, err := u.tx.Decision(ctx, a.Subject)
		if err == nil {
			a.Colour = cur.Colour
		} else if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			return err
		}
		if err := u.tx.CreateAppeal(ctx, a); err != nil {
			return err
		}
		after, err := e.reevaluateAll(ctx, u, rs, []string{a.Subject}, now)
		if err != nil {
			return err
		}
		colour := healthcode.Green
		if d := after[a.Subject]; d != nil {
			colour = d.Colour
		}
		if kind == healthcode.AppealColour && colour < a.Colour {
			a.Status, a.AnsweredBy, a.AnsweredAt = healthcode.AppealGranted, "system", now
			a.Answer = "Granted at once: the colour rested on nothing any more (its basis had lapsed)."
			a.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogAppeal, Time: now, Region: e.Region, Subject: a.Subject,
				Colour: colour, Reason: "granted_automatically", ActorName: "healthcode (automatic)", ActorRole: healthcode.RoleSystem,
				Ref: "appeal/" + strconv.FormatInt(a.ID, 10)})
			return u.tx.UpdateAppeal(ctx, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AnswerAppeal is an operator's answer — or, once the appeal has escalated
// past its deadline, oversight's (an auditor's). Granting a colour appeal
// corrects the colour toward green (an override on the official's word,
// logged); denying it needs a reason the person reads.
func (e *Engine) AnswerAppeal(ctx context.Context, actor *healthcode.Principal, id int64, grant bool, answer string) (*healthcode.Appeal, error) {
	if actor == nil || (actor.Role != healthcode.RoleOperator && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an operator, or oversight once it escalated, answers an appeal")
	}
	if strings.TrimSpace(answer) == "" || len(answer) > 4000 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "appeal.answer", "an answer needs a reason the person can read (at most 4000 bytes)")
	}
	now := e.now()
	var a *healthcode.Appeal
	err := e.update(ctx, func(u *unit) error {
		var err error
		if a, err = u.tx.Appeal(ctx, id); err != nil {
			return err
		}
		if a.Status != healthcode.AppealOpen && a.Status != healthcode.AppealEscalated {
			return healthcode.Errorfd(healthcode.ECONFLICT, "appeal.answered", "appeal %d is already %s", id, a.Status)
		}
		if actor.Role == healthcode.RoleAuditor && a.Status != healthcode.AppealEscalated {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "appeal.not_escalated", "oversight answers an appeal only once it has escalated")
		}
		a.Status, a.Answer, a.AnsweredBy, a.AnsweredAt = healthcode.AppealDenied, answer, signer(actor), now
		if grant {
			a.Status = healthcode.AppealGranted
			if a.Kind == healthcode.AppealColour {
				o := &healthcode.Override{Subjects: []string{a.Subject}, Colour: healthcode.Green, Reason: "data_entry_correction",
					Note: "第 " + strconv.FormatInt(a.ID, 10) + " 号申诉的答复：" + answer, Expires: now.Add(healthcode.MaxOverrideDuration),
					Status: healthcode.OverrideActive, Requester: *actor, CreatedAt: now, ApprovedAt: now}
				if err := u.tx.CreateOverride(ctx, o); err != nil {
					return err
				}
				if err := e.applyOverride(ctx, u, o, now); err != nil {
					return err
				}
			}
		}
		a.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogAppeal, Time: now, Region: e.Region, Subject: a.Subject,
			Reason: a.Status, ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: "appeal/" + strconv.FormatInt(a.ID, 10)})
		return u.tx.UpdateAppeal(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// EscalateAppeals flags to oversight every appeal not answered by its
// deadline, and logs it.
func (e *Engine) EscalateAppeals(ctx context.Context) (int, error) {
	now := e.now()
	n := 0
	err := e.update(ctx, func(u *unit) error {
		due, err := u.tx.OverdueAppeals(ctx, now)
		if err != nil {
			return err
		}
		for i := range due {
			a := &due[i]
			a.Status = healthcode.AppealEscalated
			a.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogAppeal, Time: now, Region: e.Region, Subject: a.Subject,
				Reason: "escalated", ActorName: "healthcode (deadline passed)", ActorRole: healthcode.RoleSystem,
				Ref: "appeal/" + strconv.FormatInt(a.ID, 10)})
			if err := u.tx.UpdateAppeal(ctx, a); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Appeals lists appeals: a citizen's own; every appeal (with the status, if
// given) for operators and oversight.
func (e *Engine) Appeals(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.Appeal, error) {
	subject, err := e.readerOf(actor, healthcode.RoleOperator, healthcode.RoleAuditor)
	if err != nil {
		return nil, err
	}
	var out []healthcode.Appeal
	err = e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.Appeals(ctx, subject, status)
		return err
	})
	return out, err
}

// readerOf says whose records actor may list: a citizen only their own
// (the subject returned), the officials named all ("").
func (e *Engine) readerOf(actor *healthcode.Principal, officials ...healthcode.Role) (string, error) {
	if actor == nil {
		return "", healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "no caller")
	}
	if actor.Role == healthcode.RoleCitizen && actor.Subject != "" {
		return actor.Subject, nil
	}
	for _, r := range officials {
		if actor.Role == r {
			return "", nil
		}
	}
	return "", healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "a %s may not list these records", actor.Role)
}

// ProposeRuleSet is the first admin's signature on a new rule set: it is
// compiled and its examples run now, but it is put in force only when a
// second admin approves it.
func (e *Engine) ProposeRuleSet(ctx context.Context, actor *healthcode.Principal, source []byte) (*healthcode.RuleSetProposal, error) {
	if actor == nil || actor.Role != healthcode.RoleAdmin {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an admin proposes a rule set")
	}
	rs, err := e.LoadRuleSet(source)
	if err != nil {
		return nil, err
	}
	p := &healthcode.RuleSetProposal{Record: healthcode.RuleSetRecord{Version: rs.Version(), Hash: rs.Hash(), Source: source,
		PublishedAt: e.now(), PublishedBy: actor.Name}, ProposedBy: *actor}
	if err := e.Store.Update(ctx, func(tx healthcode.Tx) error { return tx.ProposeRuleSet(ctx, p) }); err != nil {
		return nil, err
	}
	return p, nil
}

// ApproveRuleSet is the second admin's signature: the proposed rule set is
// put in force, logged with both names, and everyone re-evaluated under it.
func (e *Engine) ApproveRuleSet(ctx context.Context, actor *healthcode.Principal, version string) (*healthcode.RuleSetRecord, error) {
	if actor == nil || actor.Role != healthcode.RoleAdmin {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an admin approves a rule set")
	}
	var p *healthcode.RuleSetProposal
	var a *healthcode.Principal
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		if p, err = tx.RuleSetProposal(ctx, version); err != nil {
			return err
		}
		a, err = e.secondOfficial(ctx, tx, actor, &p.ProposedBy, "ruleset", false, healthcode.RoleAdmin)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e.publish(ctx, []*healthcode.Principal{&p.ProposedBy, a}, p.Record.Source)
}

// CodeFor shows an official a person's code, recording the read with its
// purpose and case (invariant 7) and logging it about the person, naming
// the official: the person sees who looked.
func (e *Engine) CodeFor(ctx context.Context, actor *healthcode.Principal, subject, purpose, caseRef string) (*healthcode.CodeView, error) {
	if actor == nil || (actor.Role != healthcode.RoleOperator && actor.Role != healthcode.RoleEpidemiologist && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only operators, epidemiologists and auditors read another person's code")
	}
	if err := healthcode.ValidPurpose(purpose, caseRef); err != nil {
		return nil, err
	}
	v, err := e.Code(ctx, subject)
	if err != nil {
		return nil, err
	}
	now := e.now()
	err = e.update(ctx, func(u *unit) error {
		if err := checkReadCitation(ctx, u.tx, subject, purpose, caseRef); err != nil {
			return err
		}
		// The case cited leads to the people diagnosed: in the note.
		u.log(&healthcode.LogEntry{Type: healthcode.LogRead, Time: now, Region: e.Region, Subject: subject, Reason: purpose,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: "code, evidence and history", Note: "case/" + caseRef})
		return u.tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, CaseRef: caseRef,
			What: "code, the evidence behind it and its history", Subject: subject})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Export gathers the caller's own data (citizens only). Returns ENOTFOUND
// for an unknown person.
func (e *Engine) Export(ctx context.Context, actor *healthcode.Principal, r healthcode.Retention) (*healthcode.DataExport, error) {
	if actor == nil || actor.Role != healthcode.RoleCitizen || actor.Subject == "" {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only the person exports their own data")
	}
	subject := actor.Subject
	v, err := e.Code(ctx, subject)
	if err != nil {
		return nil, err
	}
	x := &healthcode.DataExport{Code: v, Retention: map[int64]time.Time{}}
	now := e.now()
	err = e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		p := v.Person
		dk, err := e.Keys.UnwrapKey(p.WrappedKey, p.Pseudonym)
		if err != nil {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "person.shredded", "this person's data has been deleted")
		}
		p.DataKey = dk
		if err := p.Unseal(); err != nil {
			return err
		}
		x.Personal = *p.Personal
		p.DataKey, p.Personal = nil, nil
		if x.Evidence, err = tx.Evidence(ctx, subject); err != nil {
			return err
		}
		for i := range x.Evidence {
			x.Retention[x.Evidence[i].ID] = r.EvidenceUntil(&x.Evidence[i])
		}
		if x.CheckIns, err = tx.CheckInsOf(ctx, subject, now.Add(-r.CheckIns), now.Add(time.Second)); err != nil {
			return err
		}
		if x.Access, err = tx.AccessRecords(ctx, subject, 1000); err != nil {
			return err
		}
		x.Appeals, err = tx.Appeals(ctx, subject, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// secondOfficial checks the second signature on what requester asked for:
// actor must be an active official of the registry in one of roles, another
// official than the requester (by official id), and, if otherUnit, of
// another unit than the requester's (by unit id, both the unit the request
// was made from and the requester's unit now). The requester must still be
// an active official. It returns the registry's record of actor: what the
// caller stores and logs as the signer. kind prefixes the error details
// ("override.self_approval", "designation.same_unit", ...).
func (e *Engine) secondOfficial(ctx context.Context, tx healthcode.ReadTx, actor, requester *healthcode.Principal, kind string, otherUnit bool, roles ...healthcode.Role) (*healthcode.Principal, error) {
	a, err := e.registered(ctx, tx, actor, roles...)
	if err != nil {
		return nil, err
	}
	if requester.ID == a.ID {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, kind+".self_approval", "a second official, not the one who asked, must sign")
	}
	req, err := tx.Official(ctx, requester.ID)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil, healthcode.Errorfd(healthcode.ECONFLICT, kind+".requester_unknown", "its requester %s is no official of the registry", requester.ID)
	} else if err != nil {
		return nil, err
	}
	if req.Status != healthcode.OfficialActive {
		return nil, healthcode.Errorfd(healthcode.ECONFLICT, kind+".requester_revoked", "its requester %s has been revoked since", req.ID)
	}
	if otherUnit && (requester.Unit == "" || requester.Unit == a.Unit || req.Unit == a.Unit) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, kind+".same_unit", "an official of another unit than the requester's must sign")
	}
	return a, nil
}
