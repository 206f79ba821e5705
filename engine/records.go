package engine

import (
	"context"
	"fmt"
	"time"

	"healthcode"
)

// hold stores a contact, travel or quarantine record resting on an
// interview, or a diagnosis resting on no positive test of another unit
// (diagnosisCorroborated), as a pending record: it changes nobody's colour,
// and a diagnosis opens no case, until a second official of another unit
// confirms it (ConfirmRecord). The request is logged and
// counted against the requester's and the case's bulk limits; if it
// crosses one, an auditor must co-sign too. A repeat of the same record
// (same submitter and external id) answers with the record already held.
func (e *Engine) hold(ctx context.Context, u *unit, actor *healthcode.Principal, ev *healthcode.Evidence, link healthcode.Link, now time.Time) (healthcode.Outcome, error) {
	tx := u.tx
	if old, err := tx.EvidenceByExternalID(ctx, ev.Submitter, ev.ExternalID); err == nil {
		return healthcode.Outcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "evidence.conflict",
			"%s was already submitted as evidence %d; submit a correction under a new id", ev.ExternalID, old.ID)
	} else if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		return healthcode.Outcome{}, err
	}
	held, err := tx.PendingRecords(ctx, ev.Subject, "", 1000)
	if err != nil {
		return healthcode.Outcome{}, err
	}
	for _, r := range held {
		if r.Evidence.Submitter == ev.Submitter && r.Evidence.ExternalID == ev.ExternalID {
			if r.Evidence.Digest() != ev.Digest() || r.Status == healthcode.RecordRefused {
				return healthcode.Outcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "evidence.conflict",
					"%s was already submitted (record %d, %s); submit a correction under a new id", ev.ExternalID, r.ID, r.Status)
			}
			return healthcode.Outcome{Status: healthcode.Duplicate, Pending: r.ID, EvidenceID: r.EvidenceID, Subject: ev.Subject}, nil
		}
	}
	caseID := ""
	if ev.Kind == healthcode.CloseContact || ev.Kind == healthcode.SecondaryContact {
		caseID = ev.CaseRef
	}
	subjects := []string{ev.Subject}
	cross, err := e.crossesBulk(ctx, tx, subjects, now, healthcode.BulkKey{Requester: actor.ID}, healthcode.BulkKey{Case: caseID})
	if err != nil {
		return healthcode.Outcome{}, err
	}
	r := &healthcode.PendingRecord{Evidence: *ev, Link: link, Case: caseID, Status: healthcode.RecordPending, CoSignNeeded: cross,
		Requester: *actor, CreatedAt: now}
	if err := tx.CreatePendingRecord(ctx, r); err != nil {
		return healthcode.Outcome{}, err
	}
	if err := countBulk(ctx, tx, healthcode.BulkRecord, r.ID, subjects, actor.ID, caseID, now); err != nil {
		return healthcode.Outcome{}, err
	}
	u.log(&healthcode.LogEntry{Type: healthcode.LogPendingRecord, Time: now, Region: e.Region, Subject: ev.Subject, Reason: "requested",
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("record/%d requested", r.ID)})
	return healthcode.Outcome{Status: healthcode.Pending, Pending: r.ID, Subject: ev.Subject}, nil
}

// ConfirmRecord is a second official's confirmation of a record held for
// one: an epidemiologist of another unit than the requester's for a
// contact, travel or quarantine record resting on an interview; a clinician
// or an epidemiologist of another unit for a diagnosis resting on no test of
// another unit (diagnosisCorroborated). Both officials are read from the
// registry (secondOfficial). The record takes effect now, unless it crossed
// a bulk limit (the requester's, the case's, or this confirmer's), when it
// waits for an auditor's co-signature.
func (e *Engine) ConfirmRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
	if actor == nil || (actor.Role != healthcode.RoleEpidemiologist && actor.Role != healthcode.RoleClinic) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an epidemiologist (or, for a diagnosis, a clinician) confirms a held record")
	}
	return e.signRecord(ctx, id, func(u *unit, r *healthcode.PendingRecord, now time.Time) error {
		if r.Confirmer != nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "record.confirmed", "record %d is already confirmed", id)
		}
		roles := []healthcode.Role{healthcode.RoleEpidemiologist}
		if r.Evidence.Kind == healthcode.Diagnosis {
			roles = append(roles, healthcode.RoleClinic)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &r.Requester, "record", true, roles...)
		if err != nil {
			return err
		}
		if err := e.frozen(ctx, u.tx, now, a, &r.Requester); err != nil {
			return err
		}
		actor := a
		cross, err := e.crossesBulk(ctx, u.tx, []string{r.Evidence.Subject}, now, healthcode.BulkKey{Approver: actor.ID})
		if err != nil {
			return err
		}
		r.CoSignNeeded = r.CoSignNeeded || cross
		r.Confirmer = actor
		if err := u.tx.SetBulkApprover(ctx, healthcode.BulkRecord, r.ID, actor.ID, now); err != nil {
			return err
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogPendingRecord, Time: now, Region: e.Region, Subject: r.Evidence.Subject, Reason: "countersigned",
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("record/%d countersigned", r.ID)})
		return nil
	})
}

// CoSignRecord is an auditor's co-signature on a record that crossed a bulk
// limit, after its confirmation.
func (e *Engine) CoSignRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an auditor co-signs a record")
	}
	return e.signRecord(ctx, id, func(u *unit, r *healthcode.PendingRecord, now time.Time) error {
		if !r.CoSignNeeded {
			return healthcode.Errorfd(healthcode.ECONFLICT, "record.no_cosign", "record %d crossed no bulk limit: it needs no co-signature", id)
		}
		if r.Confirmer == nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "record.not_confirmed", "record %d awaits a second epidemiologist first", id)
		}
		if r.CoSigner != nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "record.cosigned", "record %d is already co-signed", id)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &r.Requester, "record", false, healthcode.RoleAuditor)
		if err != nil {
			return err
		}
		if err := e.frozen(ctx, u.tx, now, a, &r.Requester, r.Confirmer); err != nil {
			return err
		}
		if r.Confirmer.ID == a.ID {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "record.self_approval", "a co-signer must be a third official")
		}
		actor := a
		r.CoSigner = actor
		u.log(&healthcode.LogEntry{Type: healthcode.LogPendingRecord, Time: now, Region: e.Region, Subject: r.Evidence.Subject, Reason: "cosigned",
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("record/%d co-signed", r.ID)})
		return nil
	})
}

// RefuseRecord is a refusal of a pending record, by another epidemiologist
// than its requester or by an auditor; logged, and it stops counting
// against the bulk limits.
func (e *Engine) RefuseRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
	if actor == nil || (actor.Role != healthcode.RoleEpidemiologist && actor.Role != healthcode.RoleAuditor && actor.Role != healthcode.RoleClinic) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an epidemiologist, a clinician (a diagnosis) or an auditor refuses a record")
	}
	now := e.now()
	var r *healthcode.PendingRecord
	err := e.update(ctx, func(u *unit) error {
		var err error
		if r, err = pendingRecord(ctx, u.tx, id); err != nil {
			return err
		}
		// Any official of the registry but the requester may refuse: a
		// refusal restricts no one, and the requester must be active.
		roles := []healthcode.Role{healthcode.RoleEpidemiologist, healthcode.RoleAuditor}
		if r.Evidence.Kind == healthcode.Diagnosis {
			roles = append(roles, healthcode.RoleClinic)
		}
		a, err := e.secondOfficial(ctx, u.tx, actor, &r.Requester, "record", false, roles...)
		if err != nil {
			return err
		}
		actor := a
		r.Status, r.DecidedAt = healthcode.RecordRefused, now
		if err := u.tx.DeleteBulk(ctx, healthcode.BulkRecord, r.ID); err != nil {
			return err
		}
		u.log(&healthcode.LogEntry{Type: healthcode.LogPendingRecord, Time: now, Region: e.Region, Subject: r.Evidence.Subject, Reason: "refused",
			ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: fmt.Sprintf("record/%d refused", r.ID)})
		return u.tx.UpdatePendingRecord(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func pendingRecord(ctx context.Context, tx healthcode.ReadTx, id int64) (*healthcode.PendingRecord, error) {
	r, err := tx.PendingRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status != healthcode.RecordPending {
		return nil, healthcode.Errorfd(healthcode.ECONFLICT, "record.not_pending", "record %d is %s, not awaiting signatures", id, r.Status)
	}
	return r, nil
}

// signRecord applies a signature to a pending record and, once it has every
// signature it needs, puts it in force: it becomes evidence, logged naming
// everyone who signed, and its person is re-evaluated.
func (e *Engine) signRecord(ctx context.Context, id int64, sign func(u *unit, r *healthcode.PendingRecord, now time.Time) error) (*healthcode.PendingRecord, error) {
	now := e.now()
	var r *healthcode.PendingRecord
	err := e.update(ctx, func(u *unit) error {
		var err error
		if r, err = pendingRecord(ctx, u.tx, id); err != nil {
			return err
		}
		if err := sign(u, r, now); err != nil {
			return err
		}
		if r.Confirmer != nil && (!r.CoSignNeeded || r.CoSigner != nil) {
			rs, err := e.ruleSetIn(ctx, u.tx)
			if err != nil {
				return err
			}
			signers := r.Requester
			signers.Name += " & " + r.Confirmer.Name
			if r.CoSigner != nil {
				signers.Name += " & " + r.CoSigner.Name
			}
			ev := r.Evidence
			ev.ID, ev.RecordedAt = 0, now
			out, err := e.store(ctx, u, rs, &signers, []*healthcode.Evidence{&ev}, now)
			if err != nil {
				return err
			}
			if out[0].Status == healthcode.Rejected {
				return out[0].Err
			}
			// A held diagnosis opens its case only now: until confirmed,
			// nothing may cite it.
			if opensCase(&ev) && out[0].Status == healthcode.Accepted {
				if err := e.openCase(ctx, u, &r.Requester, &ev, now); err != nil {
					return err
				}
			}
			r.Status, r.DecidedAt, r.EvidenceID = healthcode.RecordInForce, now, out[0].EvidenceID
		}
		return u.tx.UpdatePendingRecord(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// PendingRecords lists records resting on interviews: a citizen's own;
// everyone's (with the status, if given) for epidemiologists and auditors.
func (e *Engine) PendingRecords(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.PendingRecord, error) {
	subject, err := e.readerOf(actor, healthcode.RoleEpidemiologist, healthcode.RoleAuditor)
	if err != nil {
		return nil, err
	}
	var out []healthcode.PendingRecord
	err = e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.PendingRecords(ctx, subject, status, 1000)
		return err
	})
	return out, err
}
