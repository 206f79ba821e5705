package engine

// Reads the staff pages need beside the API's: a look-up by ID number, the
// unmask requests an official answers or made, the venues awaiting an
// operator, the rule sets awaiting a second admin. Each checks the caller's
// role as the API's own paths do; the one that reads personal data goes
// through CodeFor, recorded and logged.

import (
	"context"
	"strings"

	"healthcode"
)

// CodeForIDNumber is CodeFor for the person with the ID number: the same
// roles, purpose and case, and the same recorded, logged read, about the
// person found. Returns EINVALID (detail "person.id_number") for a
// malformed ID number and ENOTFOUND (detail "person.unknown") if no one has
// it; the role and the purpose are checked first, so nobody else learns
// whether a number is registered.
func (e *Engine) CodeForIDNumber(ctx context.Context, actor *healthcode.Principal, idNumber, purpose, caseRef string) (*healthcode.CodeView, error) {
	if err := codeReader(actor); err != nil {
		return nil, err
	}
	if err := healthcode.ValidPurpose(purpose, caseRef); err != nil {
		return nil, err
	}
	idNumber = strings.ToUpper(strings.TrimSpace(idNumber))
	if !idNumberShape(idNumber) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "person.id_number", "an ID number is 17 digits and a digit or X")
	}
	var subject string
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		m, err := tx.PseudonymsByIDHash(ctx, [][]byte{e.Keys.IDHash(idNumber)})
		if err != nil {
			return err
		}
		subject = m[string(e.Keys.IDHash(idNumber))]
		return nil
	})
	if err != nil {
		return nil, err
	}
	if subject == "" {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person with that ID number")
	}
	return e.CodeFor(ctx, actor, subject, purpose, caseRef)
}

// idNumberShape reports whether s looks like a resident ID number: 17
// digits and a digit or X. The check digit is not required: the look-up
// finds whoever was registered under the number, as evidence does.
func idNumberShape(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i, c := range s {
		if !('0' <= c && c <= '9' || i == 17 && c == 'X') {
			return false
		}
	}
	return true
}

// codeReader checks that actor may read another person's code (CodeFor).
func codeReader(actor *healthcode.Principal) error {
	if actor == nil || (actor.Role != healthcode.RoleOperator && actor.Role != healthcode.RoleEpidemiologist && actor.Role != healthcode.RoleAuditor) {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only operators, epidemiologists and auditors read another person's code")
	}
	return nil
}

// MaxListed bounds the rows a staff list returns.
const MaxListed = 500

// UnmaskRequests lists unmask requests: to an approver those with the
// status (any if empty), to an epidemiologist their own, to an auditor
// everyone's; newest first, at most MaxListed. The requests name
// pseudonyms only.
func (e *Engine) UnmaskRequests(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.UnmaskRequest, error) {
	if actor == nil || (actor.Role != healthcode.RoleApprover && actor.Role != healthcode.RoleEpidemiologist && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only approvers, epidemiologists and auditors list unmask requests")
	}
	var out []healthcode.UnmaskRequest
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		if actor.Role != healthcode.RoleEpidemiologist {
			out, err = tx.UnmaskRequests(ctx, "", status, MaxListed)
			return err
		}
		// An epidemiologist's own: read past the others' to find them.
		all, err := tx.UnmaskRequests(ctx, "", status, 10*MaxListed)
		for _, r := range all {
			if r.Requester.ID == actor.ID && len(out) < MaxListed {
				out = append(out, r)
			}
		}
		return err
	})
	return out, err
}

// VenuesForReview lists venues for an operator: those awaiting approval
// first, then the others, each group by id; at most MaxListed. A venue is
// a business, not a person: the list holds no personal data.
func (e *Engine) VenuesForReview(ctx context.Context, actor *healthcode.Principal) ([]healthcode.Venue, error) {
	if actor == nil || actor.Role != healthcode.RoleOperator {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an operator reviews venues")
	}
	var pending, others []healthcode.Venue
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		for after := ""; len(pending)+len(others) < MaxListed; {
			vs, err := tx.Venues(ctx, after, 1000)
			if err != nil {
				return err
			}
			for _, v := range vs {
				v.SealedSecret = nil
				if v.Status == healthcode.VenuePending {
					pending = append(pending, v)
				} else {
					others = append(others, v)
				}
			}
			if len(vs) < 1000 {
				break
			}
			after = vs[len(vs)-1].ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := append(pending, others...)
	return out[:min(len(out), MaxListed)], nil
}

// RuleSetProposals lists the rule sets awaiting a second admin (admins and
// auditors), oldest first.
func (e *Engine) RuleSetProposals(ctx context.Context, actor *healthcode.Principal) ([]healthcode.RuleSetProposal, error) {
	if actor == nil || (actor.Role != healthcode.RoleAdmin && actor.Role != healthcode.RoleAuditor) {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only admins and auditors list rule-set proposals")
	}
	var out []healthcode.RuleSetProposal
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		out, err = tx.RuleSetProposals(ctx)
		return err
	})
	return out, err
}

// HeldDiagnoses lists to a clinic the diagnoses held for a second
// official (pending), newest first, at most MaxListed: what a clinician
// of another unit confirms or refuses (ConfirmRecord, RefuseRecord). A
// clinic sees no other held record: contacts and travel are the
// epidemiologists'.
func (e *Engine) HeldDiagnoses(ctx context.Context, actor *healthcode.Principal) ([]healthcode.PendingRecord, error) {
	if actor == nil || actor.Role != healthcode.RoleClinic {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only a clinic lists held diagnoses")
	}
	var out []healthcode.PendingRecord
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		rs, err := tx.PendingRecords(ctx, "", healthcode.RecordPending, 10*MaxListed)
		for _, r := range rs {
			if r.Evidence.Kind == healthcode.Diagnosis && len(out) < MaxListed {
				out = append(out, r)
			}
		}
		return err
	})
	return out, err
}
