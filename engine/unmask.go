package engine

import (
	"context"
	"fmt"

	"healthcode"
)

// RequestUnmask records an epidemiologist's request to learn who a
// pseudonym is, for a case the person is linked to. The person sees the
// request at once (in their access records); it is answered only after an
// approver of another unit approves it.
func (e *Engine) RequestUnmask(ctx context.Context, actor *healthcode.Principal, subject, purpose, caseRef string) (*healthcode.UnmaskRequest, error) {
	if err := e.epidemiologist(actor, purpose, caseRef); err != nil {
		return nil, err
	}
	if purpose != "contact_tracing" && purpose != "case_investigation" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "access.purpose", "a person is unmasked only for contact tracing or a case investigation")
	}
	now := e.now()
	r := &healthcode.UnmaskRequest{Subject: subject, Purpose: purpose, Case: caseRef, Status: healthcode.UnmaskPending, Requester: *actor, CreatedAt: now}
	err := e.update(ctx, func(u *unit) error {
		if _, err := u.tx.Person(ctx, subject); err != nil {
			return err
		}
		if _, err := citeCaseFor(ctx, u.tx, subject, caseRef, "unmask.case_not_linked", false); err != nil {
			return err
		}
		if err := u.tx.CreateUnmaskRequest(ctx, r); err != nil {
			return err
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogUnmask, Time: now, Region: e.Region, Subject: subject, Reason: "requested." + purpose,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("unmask/%d requested", r.ID),
			Note: "case/" + caseRef})
		return u.tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: purpose, CaseRef: caseRef,
			What: fmt.Sprintf("asked to see name, ID number and phone (unmask request %d, awaiting a second official)", r.ID), Subject: subject})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ApproveUnmask is the second official's signature on an unmask request:
// an approver of another unit than the requester's. The requester may then
// read the identity for UnmaskValidFor.
func (e *Engine) ApproveUnmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error) {
	return e.answerUnmask(ctx, actor, id, true)
}

// RefuseUnmask is an approver's refusal of an unmask request; logged.
func (e *Engine) RefuseUnmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error) {
	return e.answerUnmask(ctx, actor, id, false)
}

func (e *Engine) answerUnmask(ctx context.Context, actor *healthcode.Principal, id int64, approve bool) (*healthcode.UnmaskRequest, error) {
	if actor == nil || actor.Role != healthcode.RoleApprover {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an approver answers an unmask request")
	}
	now := e.now()
	var r *healthcode.UnmaskRequest
	err := e.update(ctx, func(u *unit) error {
		var err error
		if r, err = u.tx.UnmaskRequest(ctx, id); err != nil {
			return err
		}
		if r.Status != healthcode.UnmaskPending {
			return healthcode.Errorfd(healthcode.ECONFLICT, "unmask.not_pending", "unmask request %d is %s", id, r.Status)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &r.Requester, "unmask", true, healthcode.RoleApprover)
		if err != nil {
			return err
		}
		actor := a
		r.Approver, r.ApprovedAt, r.Status = actor, now, healthcode.UnmaskRefused
		verb := "refused"
		if approve {
			r.Status, r.Expires, verb = healthcode.UnmaskApproved, now.Add(healthcode.UnmaskValidFor), "approved"
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogUnmask, Time: now, Region: e.Region, Subject: r.Subject, Reason: verb + "." + r.Purpose,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("unmask/%d %s", r.ID, verb)})
		if err := u.tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: r.Purpose, CaseRef: r.Case,
			What: fmt.Sprintf("%s unmask request %d by %s", verb, r.ID, r.Requester.Name), Subject: r.Subject}); err != nil {
			return err
		}
		return u.tx.UpdateUnmaskRequest(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Unmask answers an approved unmask request to the epidemiologist who made
// it: the person's name, ID number and phone. Each answer is recorded and
// logged, naming the official, so the person sees it.
func (e *Engine) Unmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Person, *healthcode.UnmaskRequest, error) {
	if actor == nil || actor.Role != healthcode.RoleEpidemiologist {
		return nil, nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an epidemiologist unmasks a person")
	}
	now := e.now()
	var p *healthcode.Person
	var r *healthcode.UnmaskRequest
	err := e.update(ctx, func(u *unit) error {
		var err error
		if r, err = u.tx.UnmaskRequest(ctx, id); err != nil {
			return err
		}
		if r.Requester.ID != actor.ID {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "unmask.unknown", "no unmask request %d of yours", id)
		}
		switch {
		case r.Status == healthcode.UnmaskPending:
			return healthcode.Errorfd(healthcode.ECONFLICT, "unmask.pending", "unmask request %d awaits an approver of another unit", id)
		case r.Status != healthcode.UnmaskApproved:
			return healthcode.Errorfd(healthcode.ECONFLICT, "unmask.refused", "unmask request %d was %s", id, r.Status)
		case !now.Before(r.Expires):
			return healthcode.Errorfd(healthcode.ECONFLICT, "unmask.expired", "the approval of unmask request %d has lapsed", id)
		}
		if p, err = u.tx.Person(ctx, r.Subject); err != nil {
			return err
		}
		if p.DataKey, err = e.Keys.UnwrapKey(p.WrappedKey, p.Pseudonym); err != nil {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "person.shredded", "this person's data has been deleted")
		}
		if err := p.Unseal(); err != nil {
			return err
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogUnmask, Time: now, Region: e.Region, Subject: r.Subject, Reason: r.Purpose,
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("unmask/%d", r.ID), Note: "case/" + r.Case})
		return u.tx.RecordAccess(ctx, &healthcode.AccessRecord{Time: now, Actor: *actor, Purpose: r.Purpose, CaseRef: r.Case,
			What: "name, ID number and phone", Subject: r.Subject})
	})
	if err != nil {
		return nil, nil, err
	}
	return p, r, nil
}
