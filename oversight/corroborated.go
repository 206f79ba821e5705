package oversight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"healthcode"
)

// uncorroborated raises an alert for people whose colour is above green
// while nothing of their own corroborates a health reason: a colour that
// rests only on an override, on a designation whose cases are not
// confirmed, on a contact whose case or link does not hold, on a positive
// test whose tube no other unit collected. It looks at the people whose
// colour rose in the pass, as their state is now; people restricted on one
// basis (an override, a submitter) are one alert.
type uncorroborated struct{}

func (uncorroborated) name() string { return healthcode.DetectUncorroborated }

// basis is what a group of uncorroborated restrictions rests on.
type basis struct {
	key       string
	what      string
	officials []string
}

func (u *uncorroborated) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	seen := map[string]bool{}
	groups := map[string]*healthcode.Alert{}
	var order []string
	for _, r := range p.restrictions {
		if seen[r.Subject] {
			continue
		}
		seen[r.Subject] = true
		d, err := p.tx.Decision(ctx, r.Subject)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if d.Colour <= healthcode.Green {
			continue
		}
		b, err := p.uncorroboratedBasis(d)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		a, ok := groups[b.key]
		if !ok {
			a = &healthcode.Alert{Key: b.key, FirstEffectAt: r.At, Officials: b.officials}
			groups[b.key] = a
			order = append(order, b.key)
			a.Summary = b.what
		}
		if r.At.Before(a.FirstEffectAt) {
			a.FirstEffectAt = r.At
		}
		a.People = append(a.People, r.Subject)
		a.LogIndexes = append(a.LogIndexes, r.Index)
	}
	var out []healthcode.Alert
	for _, k := range order {
		a := groups[k]
		for _, o := range a.Officials {
			a.Units = append(a.Units, p.unitOf(o))
		}
		a.Summary = fmt.Sprintf("%d people above green with no corroborated health evidence of their own: %s", len(a.People), a.Summary)
		out = append(out, *a)
	}
	return out, nil
}

// uncorroboratedBasis returns what d rests on if nothing corroborates it,
// or nil if something does.
func (p *pass) uncorroboratedBasis(d *healthcode.Decision) (*basis, error) {
	evs, err := p.tx.Evidence(p.ctx, d.Subject)
	if err != nil {
		return nil, err
	}
	if id, ok := refID(d.RuleID, "override/"); ok {
		// An override: the person's own evidence must hold a health
		// reason; the case it cites is someone else's.
		for i := range evs {
			if ok, err := p.corroborated(&evs[i], d.Subject); err != nil || ok {
				return nil, err
			}
		}
		o := p.override(id)
		b := &basis{key: fmt.Sprintf("override/%d", id), what: fmt.Sprintf("override %d alone", id)}
		if o != nil {
			b.officials = []string{o.Requester.ID}
			if o.Approver != nil {
				b.officials = append(b.officials, o.Approver.ID)
			}
			if o.CoSigner != nil {
				b.officials = append(b.officials, o.CoSigner.ID)
			}
		}
		return b, nil
	}
	used := map[int64]bool{}
	for _, id := range d.EvidenceIDs {
		used[id] = true
	}
	var weak []*healthcode.Evidence
	for i := range evs {
		ev := &evs[i]
		if !used[ev.ID] || !restrictive(ev) {
			continue
		}
		ok, err := p.corroborated(ev, d.Subject)
		if err != nil || ok {
			return nil, err
		}
		weak = append(weak, ev)
	}
	if len(weak) == 0 {
		return nil, nil // a colour the rules give without restrictive evidence: not this detector's
	}
	// The group: the first weak piece's source.
	ev := weak[0]
	b := &basis{officials: []string{ev.Submitter}}
	bucket := ev.RecordedAt.Truncate(p.s.BurstWindow).Unix()
	switch {
	case ev.Kind == healthcode.VenueExposure:
		b.key, b.what = ev.CaseRef, fmt.Sprintf("exposures of %s, whose cases are not confirmed or whose check-ins are unverified", ev.CaseRef)
		if n, ok := refID(ev.CaseRef, "designation/"); ok {
			if dd := p.designation(n); dd != nil {
				b.officials = []string{dd.Requester.ID}
				if dd.Approver != nil {
					b.officials = append(b.officials, dd.Approver.ID)
				}
			}
		}
	default:
		b.key = fmt.Sprintf("evidence-by/%s/%s/%d", ev.Submitter, ev.Kind, bucket)
		b.what = fmt.Sprintf("%s evidence from %s that nothing corroborates (no tube of another unit, no confirmed case, no checked link)", ev.Kind, ev.Submitter)
		if r := p.recordOf(ev); r != nil && r.Confirmer != nil {
			b.officials = append(b.officials, r.Confirmer.ID)
		}
	}
	return b, nil
}

// recordOf returns the pending record that ev came from, if it was held.
func (p *pass) recordOf(ev *healthcode.Evidence) *healthcode.PendingRecord {
	rs, err := p.tx.PendingRecords(p.ctx, ev.Subject, healthcode.RecordInForce, 1000)
	if err != nil {
		return nil
	}
	for i := range rs {
		if rs[i].EvidenceID == ev.ID {
			return &rs[i]
		}
	}
	return nil
}

// corroborated reports whether a piece of a person's restrictive evidence
// holds a health reason another unit vouches for.
func (p *pass) corroborated(ev *healthcode.Evidence, subject string) (bool, error) {
	if !restrictive(ev) {
		return false, nil
	}
	switch {
	case ev.Kind.IsTest():
		return p.testCorroborated(ev)
	case ev.Kind == healthcode.Diagnosis:
		// A diagnosis rests on a positive test of the person's, sampled
		// by another unit, within the basis window; or on a second
		// official who confirmed it.
		if r := p.recordOf(ev); r != nil && r.Confirmer != nil {
			return true, nil
		}
		evs, err := p.tx.Evidence(p.ctx, subject)
		if err != nil {
			return false, err
		}
		for i := range evs {
			t := &evs[i]
			if !t.Kind.IsTest() || t.Result != healthcode.Positive || t.ObservedAt.After(ev.ObservedAt) ||
				t.ObservedAt.Before(ev.ObservedAt.Add(-healthcode.DiagnosisBasisWindow)) {
				continue
			}
			if ok, err := p.testCorroborated(t); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case ev.Kind == healthcode.CloseContact || ev.Kind == healthcode.SecondaryContact:
		if _, err := p.tx.Case(p.ctx, ev.CaseRef); healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return p.linkHeld(ev), nil
	case ev.Kind == healthcode.Travel || ev.Kind == healthcode.QuarantineStart:
		return p.linkHeld(ev), nil
	case ev.Kind == healthcode.VenueExposure:
		if !ev.Verified {
			return false, nil
		}
		n, ok := refID(ev.CaseRef, "designation/")
		if !ok {
			return false, nil
		}
		d := p.designation(n)
		if d == nil || d.Status != healthcode.DesignationApproved {
			return false, nil
		}
		return p.casesConfirmed(d)
	}
	return false, nil
}

// linkHeld reports whether a record's link was checked: stored at once
// (the engine checked its presence or record link), or held and confirmed
// by a second official.
func (p *pass) linkHeld(ev *healthcode.Evidence) bool {
	rs, err := p.tx.PendingRecords(p.ctx, ev.Subject, "", 1000)
	if err != nil {
		return false
	}
	for i := range rs {
		if rs[i].EvidenceID == ev.ID {
			return rs[i].Status == healthcode.RecordInForce && rs[i].Confirmer != nil
		}
	}
	return true
}

// testCorroborated reports whether a positive test's tube was collected by
// a unit other than the one reporting its result.
func (p *pass) testCorroborated(ev *healthcode.Evidence) (bool, error) {
	tube, ok := tubeOf(ev)
	if !ok {
		return false, nil
	}
	tb, err := p.tx.Tube(p.ctx, tube)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if tb.Unit == "" || tb.Result != healthcode.Positive {
		return false, nil
	}
	unit := p.unitOf(ev.Submitter)
	return unit == "" || unit != tb.Unit, nil
}

// tubeOf returns the tube a test result was reported for: its mixed tube
// (PoolID) or the single tube its external id names ("tube/ID").
func tubeOf(ev *healthcode.Evidence) (string, bool) {
	if ev.Pooled {
		return ev.PoolID, ev.PoolID != ""
	}
	return strings.CutPrefix(ev.ExternalID, "tube/")
}

// casesConfirmed reports whether any case a designation cites is a
// confirmed case (or a corroborated positive test).
func (p *pass) casesConfirmed(d *healthcode.RiskDesignation) (bool, error) {
	for _, id := range d.Cases {
		ev, err := p.tx.EvidenceByID(p.ctx, id)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			continue
		} else if err != nil {
			return false, err
		}
		cs, err := p.tx.CasesOf(p.ctx, ev.Subject)
		if err != nil {
			return false, err
		}
		if len(cs) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// overdueAppeals raises an alert for each appeal past its deadline
// unanswered (open or escalated).
type overdueAppeals struct{}

func (overdueAppeals) name() string { return healthcode.DetectOverdueAppeal }

func (overdueAppeals) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	open, err := p.tx.OverdueAppeals(ctx, p.now)
	if err != nil {
		return nil, err
	}
	esc, err := p.tx.Appeals(ctx, "", healthcode.AppealEscalated)
	if err != nil {
		return nil, err
	}
	var out []healthcode.Alert
	for _, a := range append(open, esc...) {
		al := healthcode.Alert{Key: fmt.Sprintf("appeal/%d", a.ID), FirstEffectAt: a.Deadline, People: []string{a.Subject},
			Summary: fmt.Sprintf("appeal %d (%s) unanswered past its deadline %s", a.ID, a.Kind, a.Deadline.UTC().Format(time.RFC3339))}
		if a.LogIndex >= 0 {
			al.LogIndexes = []int64{a.LogIndex}
		}
		out = append(out, al)
	}
	return out, nil
}

// integrity raises an alert when the node's self-audit finds the log in
// doubt (a fork, an edited leaf, a restored store) or people whose stored
// state disagrees with the log.
type integrity struct{}

func (integrity) name() string { return healthcode.DetectIntegrity }

func (in *integrity) detect(ctx context.Context, p *pass) ([]healthcode.Alert, error) {
	ig := p.r.Integrity
	if ig == nil {
		return nil, nil
	}
	var out []healthcode.Alert
	if err := ig.LogProblem(); err != nil {
		msg := healthcode.ErrorMessage(err)
		out = append(out, healthcode.Alert{Key: "log/" + digest(msg), FirstEffectAt: p.now,
			Summary: "the node's log disagrees with what it published or with its store; nothing is recorded until an operator resolves it: " + msg})
	}
	if flagged := ig.FlaggedSubjects(); len(flagged) > 0 {
		sort.Strings(flagged)
		out = append(out, healthcode.Alert{Key: "subjects/" + digest(strings.Join(flagged, ",")), FirstEffectAt: p.now, People: flagged,
			Summary: fmt.Sprintf("the stored state of %d people disagrees with the log (an edited or restored database); no code is signed for them", len(flagged))})
	}
	return out, nil
}
