package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"healthcode"
)

// underReview refuses a restrictive action by an official whom an
// auditor's review freezes (healthcode.Review): the error names the review,
// the alert and when it lapses, so the official and their approver know
// what stops them and whom to ask.
func (e *Engine) underReview(ctx context.Context, tx healthcode.ReadTx, actor *healthcode.Principal, now time.Time) error {
	if actor == nil || actor.ID == "" || actor.Role == healthcode.RoleSystem || actor.Role == healthcode.RoleCitizen {
		return nil
	}
	rs, err := tx.ReviewsInForce(ctx, actor.ID, now)
	if err != nil || len(rs) == 0 {
		return err
	}
	r := rs[0]
	return healthcode.Errorfd(healthcode.EFORBIDDEN, "oversight.under_review",
		"official %s is under oversight review %d (alert %d, opened by auditor %s at %s, in force until %s): no restrictive action by them is taken until an auditor closes it or it lapses",
		actor.ID, r.ID, r.AlertID, healthcode.ActorLabel(&r.OpenedBy), r.OpenedAt.Format(time.RFC3339), r.Expires.Format(time.RFC3339))
}

// frozen refuses a restrictive action any of the officials named takes
// part in (requester, approver, co-signer) while a review freezes them: a
// request made before the review does not take effect through another
// official's signature during it.
func (e *Engine) frozen(ctx context.Context, tx healthcode.ReadTx, now time.Time, ps ...*healthcode.Principal) error {
	for _, p := range ps {
		if err := e.underReview(ctx, tx, p, now); err != nil {
			return err
		}
	}
	return nil
}

// restrictiveEvidence reports whether a piece of evidence can raise its
// person's colour on its own or with others: a positive test, a
// restricting diagnosis, a contact, travel or the start of a quarantine.
func restrictiveEvidence(ev *healthcode.Evidence) bool {
	switch ev.Kind {
	case healthcode.CloseContact, healthcode.SecondaryContact, healthcode.Travel, healthcode.QuarantineStart:
		return true
	case healthcode.Diagnosis:
		return restrictingDiagnosis(ev) || ev.Diagnosis == healthcode.DiagnosisDischarged
	}
	return ev.Kind.IsTest() && ev.Result == healthcode.Positive
}

// auditor checks that actor is an auditor of the registry.
func (e *Engine) auditor(ctx context.Context, tx healthcode.ReadTx, actor *healthcode.Principal) (*healthcode.Principal, error) {
	return e.registered(ctx, tx, actor, healthcode.RoleAuditor)
}

// Alerts implements healthcode.OversightService: auditors only.
func (e *Engine) Alerts(ctx context.Context, actor *healthcode.Principal, q healthcode.AlertQuery) ([]healthcode.Alert, error) {
	if q.Detector != "" && !healthcode.KnownDetector(q.Detector) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "alert.detector", "unknown detector %q (one of %s)", q.Detector, strings.Join(healthcode.Detectors, ", "))
	}
	if q.Limit < 0 || q.Limit > healthcode.DefaultAlertLimit {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "alert.limit", "limit must be between 1 and %d", healthcode.DefaultAlertLimit)
	}
	var out []healthcode.Alert
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		if _, err := e.auditor(ctx, tx, actor); err != nil {
			return err
		}
		var err error
		out, err = tx.Alerts(ctx, q)
		return err
	})
	return out, err
}

// Reviews implements healthcode.OversightService: auditors only.
func (e *Engine) Reviews(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.Review, error) {
	if status != "" && status != healthcode.ReviewOpen && status != healthcode.ReviewClosed {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "review.status", "status must be %q or %q", healthcode.ReviewOpen, healthcode.ReviewClosed)
	}
	var out []healthcode.Review
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		if _, err := e.auditor(ctx, tx, actor); err != nil {
			return err
		}
		var err error
		out, err = tx.Reviews(ctx, status)
		return err
	})
	return out, err
}

// reviewEntry is the log entry of a review's opening, confirmation or
// closing: the auditor, the alert and the officials frozen in clear, the
// auditor's note committed.
func (e *Engine) reviewEntry(now time.Time, actor *healthcode.Principal, r *healthcode.Review, what, note string) *healthcode.LogEntry {
	ref := fmt.Sprintf("review/%d %s alert/%d", r.ID, what, r.AlertID)
	if len(r.Officials) > 0 {
		ref += " officials " + strings.Join(r.Officials, ",")
	}
	if len(ref) > 1000 {
		ref = ref[:1000]
	}
	return &healthcode.LogEntry{Type: healthcode.LogReview, Time: now, Region: e.Region, Reason: what,
		ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: ref, Note: note}
}

// OpenReview implements healthcode.OversightService: an auditor opens a
// review of an alert, freezing the officials it names for
// healthcode.ReviewSingleAuditor unless a second auditor confirms it.
func (e *Engine) OpenReview(ctx context.Context, actor *healthcode.Principal, alertID int64, note string) (*healthcode.Review, error) {
	if err := healthcode.ValidLine("review.note", note, healthcode.MaxReviewNote); err != nil {
		return nil, err
	}
	now := e.now()
	var r *healthcode.Review
	err := e.update(ctx, func(u *unit) error {
		a, err := e.auditor(ctx, u.tx, actor)
		if err != nil {
			return err
		}
		al, err := u.tx.Alert(ctx, alertID)
		if err != nil {
			return err
		}
		if al.ReviewID != 0 {
			prev, err := u.tx.Review(ctx, al.ReviewID)
			if err != nil {
				return err
			}
			if prev.InForce(now) {
				return healthcode.Errorfd(healthcode.ECONFLICT, "review.in_force", "alert %d is already under review %d", alertID, prev.ID)
			}
		}
		for _, o := range al.Officials {
			if o == a.ID {
				return healthcode.Errorfd(healthcode.EFORBIDDEN, "review.self", "an auditor cannot review an alert that names them")
			}
		}
		r = &healthcode.Review{AlertID: al.ID, Officials: al.Officials, Note: note, Status: healthcode.ReviewOpen, OpenedBy: *a,
			OpenedAt: now, Expires: now.Add(healthcode.ReviewSingleAuditor), CloseIndex: -1}
		r.LogIndex = u.next // the entry below; its Ref needs the review's id
		if err := u.tx.CreateReview(ctx, r); err != nil {
			return err
		}
		u.log(e.reviewEntry(now, a, r, "opened", note))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ConfirmReview implements healthcode.OversightService.
func (e *Engine) ConfirmReview(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Review, error) {
	now := e.now()
	var r *healthcode.Review
	err := e.update(ctx, func(u *unit) error {
		a, err := e.auditor(ctx, u.tx, actor)
		if err != nil {
			return err
		}
		if r, err = u.tx.Review(ctx, id); err != nil {
			return err
		}
		if !r.InForce(now) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "review.not_in_force", "review %d is closed or has lapsed", id)
		}
		if r.ConfirmedBy != nil {
			return healthcode.Errorfd(healthcode.ECONFLICT, "review.confirmed", "review %d is already confirmed", id)
		}
		if r.OpenedBy.ID == a.ID {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "review.self_confirm", "a review is confirmed by another auditor than the one who opened it")
		}
		for _, o := range r.Officials {
			if o == a.ID {
				return healthcode.Errorfd(healthcode.EFORBIDDEN, "review.self", "an auditor cannot confirm a review that names them")
			}
		}
		r.ConfirmedBy, r.ConfirmedAt, r.Expires = a, now, now.Add(healthcode.ReviewMaxDuration)
		if err := u.tx.UpdateReview(ctx, r); err != nil {
			return err
		}
		u.log(e.reviewEntry(now, a, r, "confirmed", ""))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CloseReview implements healthcode.OversightService: any auditor closes
// a review (the officials may act again) and with it its alert.
func (e *Engine) CloseReview(ctx context.Context, actor *healthcode.Principal, id int64, note string) (*healthcode.Review, error) {
	if err := healthcode.ValidLine("review.note", note, healthcode.MaxReviewNote); err != nil {
		return nil, err
	}
	now := e.now()
	var r *healthcode.Review
	err := e.update(ctx, func(u *unit) error {
		a, err := e.auditor(ctx, u.tx, actor)
		if err != nil {
			return err
		}
		if r, err = u.tx.Review(ctx, id); err != nil {
			return err
		}
		if r.Status == healthcode.ReviewClosed {
			return healthcode.Errorfd(healthcode.ECONFLICT, "review.closed", "review %d is already closed", id)
		}
		r.Status, r.ClosedBy, r.ClosedAt, r.CloseNote = healthcode.ReviewClosed, a, now, note
		r.CloseIndex = u.next
		if err := u.tx.UpdateReview(ctx, r); err != nil {
			return err
		}
		u.log(e.reviewEntry(now, a, r, "closed", note))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var _ healthcode.OversightService = (*Engine)(nil)
