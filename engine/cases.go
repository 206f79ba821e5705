package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// Cases are records (issue 9): a clinic's confirmed or asymptomatic
// diagnosis opens one, with an id the node generates, and every place that
// cites a case — a contact, a risk designation, an override, a read, a
// trace, an unmask — must name an existing case the person or venue is
// linked to. This file holds those checks, so that the paths that cite a
// case call one helper each.

// caseID returns the id of the case a diagnosis opens: "C-" and 10 base32
// characters of a keyed hash of its submitter and external id. Without the
// region's key it is unguessable; with it, the same diagnosis always opens
// the same case (a resubmission is a duplicate, a replay is deterministic).
func (e *Engine) caseID(ev *healthcode.Evidence) string {
	m := hmac.New(sha256.New, e.Keys.Pseudonym)
	for _, s := range []string{"healthcode case id", e.Region, ev.Submitter, ev.ExternalID} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return healthcode.CaseIDPrefix + idEncoding.EncodeToString(m.Sum(nil))[:10]
}

// lookupCase returns the case a reference names. A malformed or unknown
// reference is EINVALID with the given detail: the caller cited nothing.
func lookupCase(ctx context.Context, tx healthcode.ReadTx, ref, detail string) (*healthcode.Case, error) {
	if err := healthcode.ValidCaseID(ref); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, detail, "%s", healthcode.ErrorMessage(err))
	}
	c, err := tx.Case(ctx, ref)
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil, healthcode.Errorfd(healthcode.EINVALID, detail, "no case %q: cases are opened by a clinic's confirmed or asymptomatic diagnosis", ref)
	}
	return c, err
}

// admission says what to do with a submission once its case and link are
// checked.
type admission int

const (
	admitNow   admission = iota // store it as evidence
	admitWait                   // hold it for a second epidemiologist
	admitOpens                  // store it and open its case
)

// admit checks a prepared submission against the case registry and, for a
// record that can raise a colour on an epidemiologist's word, its link. A
// diagnosis citing no case that confirms an infection opens a new case (a
// resubmission keeps the case it opened); a diagnosis citing a case must
// cite one of the same person's. A contact, travel or quarantine-start
// record whose link the node checks is stored at once; one resting on an
// interview waits.
func (e *Engine) admit(ctx context.Context, u *unit, actor *healthcode.Principal, s *healthcode.Submission, ev *healthcode.Evidence, now time.Time) (admission, error) {
	tx := u.tx
	if restrictiveEvidence(ev) {
		if err := e.underReview(ctx, tx, actor, now); err != nil {
			return 0, err
		}
	}
	var c *healthcode.Case
	if ev.Kind == healthcode.CloseContact || ev.Kind == healthcode.SecondaryContact {
		var err error
		if c, err = lookupCase(ctx, tx, ev.CaseRef, "evidence.unknown_case"); err != nil {
			return 0, err
		}
	}
	if err := s.Link.Validate(ev.Kind); err != nil {
		return 0, err
	}
	switch ev.Kind {
	case healthcode.Diagnosis:
		if ev.CaseRef != "" {
			c, err := lookupCase(ctx, tx, ev.CaseRef, "evidence.unknown_case")
			if err != nil {
				return 0, err
			}
			if c.Subject != ev.Subject {
				return 0, healthcode.Errorfd(healthcode.EINVALID, "evidence.case_not_linked", "case %s is another person's", c.ID)
			}
			return admitNow, nil
		}
		adm := admitNow
		if opensCase(ev) {
			// A repeat of the diagnosis names the same case: the duplicate
			// check compares it whole, and opens nothing.
			ev.CaseRef, adm = e.caseID(ev), admitOpens
		}
		if ev.Diagnosis == healthcode.DiagnosisDischarged {
			// A discharge is yellow for 7 days: it must follow a case of
			// the person, or wait for a second official like any other.
			ok, err := hadCase(ctx, tx, ev)
			if err != nil || ok {
				return adm, err
			}
			return admitWait, nil
		}
		if !restrictingDiagnosis(ev) {
			return adm, nil
		}
		// A repeat of a diagnosis in force is the store's to answer (a
		// duplicate, or a conflict).
		if _, err := tx.EvidenceByExternalID(ctx, ev.Submitter, ev.ExternalID); err == nil {
			return adm, nil
		} else if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			return 0, err
		}
		ok, err := diagnosisCorroborated(ctx, tx, actor, ev)
		if err != nil {
			return 0, err
		}
		if !ok {
			return admitWait, nil
		}
		return adm, nil
	case healthcode.CloseContact, healthcode.SecondaryContact:
		return e.admitContact(ctx, u, s, ev, c)
	case healthcode.Travel:
		if s.Link.Kind == healthcode.LinkInterview {
			return admitWait, nil
		}
		return admitNow, e.checkTravel(ctx, tx, ev)
	case healthcode.QuarantineStart:
		if s.Link.Kind == healthcode.LinkInterview {
			return admitWait, nil
		}
		return admitNow, e.checkQuarantine(ctx, tx, ev)
	case healthcode.TestingDuty:
		// An order the node cannot check: it waits for a second
		// epidemiologist of another unit, and counts against the bulk
		// limits like any interview-linked record.
		return admitWait, nil
	}
	return admitNow, nil
}

// restrictingDiagnosis reports whether a diagnosis makes its person red on
// its own (rules/baseline.yaml): a confirmed, asymptomatic or suspected one.
func restrictingDiagnosis(ev *healthcode.Evidence) bool {
	return ev.Kind == healthcode.Diagnosis && (ev.Diagnosis == healthcode.DiagnosisConfirmed ||
		ev.Diagnosis == healthcode.DiagnosisAsymptomatic || ev.Diagnosis == healthcode.DiagnosisSuspected)
}

// diagnosisCorroborated reports whether a restricting diagnosis rests on a
// fact of another unit: a positive single-tube test of its person whose
// sample was collected by a unit other than the diagnosing official's,
// taken within healthcode.DiagnosisBasisWindow before the diagnosis. One
// that does not is held for a second official of another unit (hold), so
// that no clinic alone makes anyone red.
func diagnosisCorroborated(ctx context.Context, tx healthcode.ReadTx, actor *healthcode.Principal, ev *healthcode.Evidence) (bool, error) {
	if actor == nil || actor.Unit == "" {
		return false, nil
	}
	evs, err := tx.Evidence(ctx, ev.Subject)
	if err != nil {
		return false, err
	}
	from := ev.ObservedAt.Add(-healthcode.DiagnosisBasisWindow)
	for i := range evs {
		t := &evs[i]
		if !t.Kind.IsTest() || t.Result != healthcode.Positive || t.Pooled || t.ObservedAt.Before(from) || t.ObservedAt.After(ev.ObservedAt) {
			continue
		}
		tube, found := strings.CutPrefix(t.ExternalID, "tube/")
		if !found {
			continue
		}
		tb, err := tx.Tube(ctx, tube)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			continue
		} else if err != nil {
			return false, err
		}
		if tb.Resulted() && tb.Result == healthcode.Positive && tb.Unit != "" && tb.Unit != actor.Unit {
			return true, nil
		}
	}
	return false, nil
}

// hadCase reports whether the person of a discharge holds, in force, a
// confirmed or asymptomatic diagnosis from before it.
func hadCase(ctx context.Context, tx healthcode.ReadTx, ev *healthcode.Evidence) (bool, error) {
	evs, err := tx.Evidence(ctx, ev.Subject)
	if err != nil {
		return false, err
	}
	for i := range evs {
		if opensCase(&evs[i]) && !evs[i].ObservedAt.After(ev.ObservedAt) {
			return true, nil
		}
	}
	return false, nil
}

// opensCase reports whether a diagnosis confirms an infection.
func opensCase(ev *healthcode.Evidence) bool {
	return ev.Kind == healthcode.Diagnosis && (ev.Diagnosis == healthcode.DiagnosisConfirmed || ev.Diagnosis == healthcode.DiagnosisAsymptomatic)
}

// admitContact checks a contact designation's link to its case: what the
// node holds must not contradict it, and a shared venue must be in its data.
func (e *Engine) admitContact(ctx context.Context, u *unit, s *healthcode.Submission, ev *healthcode.Evidence, c *healthcode.Case) (admission, error) {
	tx := u.tx
	if ev.Subject == c.Subject {
		return 0, healthcode.Errorfd(healthcode.EINVALID, "link.self", "a case is not its own contact")
	}
	// Whom the person was exposed to, and when that could be.
	other, from, until := c.Subject, c.InfectiousFrom, c.InfectiousUntil
	if ev.Kind == healthcode.SecondaryContact {
		via := s.Link.Via
		if via == "" {
			m, err := tx.PseudonymsByIDHash(ctx, [][]byte{e.Keys.IDHash(s.Link.ViaIDNumber)})
			if err != nil {
				return 0, err
			}
			if via = m[string(e.Keys.IDHash(s.Link.ViaIDNumber))]; via == "" {
				return 0, healthcode.Errorfd(healthcode.EINVALID, "link.via_not_contact", "no person with the via ID number")
			}
		}
		exposed, err := closeContactOf(ctx, tx, via, c.ID)
		if err != nil {
			return 0, err
		}
		if exposed.IsZero() {
			return 0, healthcode.Errorfd(healthcode.EINVALID, "link.via_not_contact", "the person named as the link is not a close contact of case %s in force", c.ID)
		}
		if via == ev.Subject {
			return 0, healthcode.Errorfd(healthcode.EINVALID, "link.self", "a close contact is not their own secondary contact")
		}
		other, from, until = via, exposed, exposed.Add(healthcode.MaxDesignationWindow)
		// Keep the pseudonym, never the ID number, in what is stored.
		s.Link.Via, s.Link.ViaIDNumber = via, ""
	}
	if ev.ObservedAt.Before(from) || ev.ObservedAt.After(until.Add(healthcode.ContactProximity)) {
		return 0, healthcode.Errorfd(healthcode.EINVALID, "link.outside_window",
			"the exposure (%s) lies outside the time in which the case or contact could pass the infection on (%s to %s)",
			ev.ObservedAt.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	if s.Link.Kind == healthcode.LinkInterview {
		return admitWait, nil
	}
	met, err := metAt(ctx, tx, ev.Subject, other, s.Link.Venue, from, until.Add(healthcode.ContactProximity))
	if err != nil {
		return 0, err
	}
	if !met {
		return 0, healthcode.Errorfd(healthcode.EINVALID, "link.not_found",
			"the node holds no verified check-ins of both people at venue %s within %s of each other in that time", s.Link.Venue, healthcode.ContactProximity)
	}
	return admitNow, nil
}

// closeContactOf returns when subject was exposed as a close contact of the
// case, by evidence in force; zero if they are none.
func closeContactOf(ctx context.Context, tx healthcode.ReadTx, subject, caseID string) (time.Time, error) {
	evs, err := tx.Evidence(ctx, subject)
	if err != nil {
		return time.Time{}, err
	}
	for _, x := range evs {
		if x.Kind == healthcode.CloseContact && x.CaseRef == caseID {
			return x.ObservedAt, nil
		}
	}
	return time.Time{}, nil
}

// metAt reports whether a and b were both verified-present at venue (any
// venue if empty) within ContactProximity of each other, between from and
// until. Unverified check-ins (printed or forwarded codes) never count.
func metAt(ctx context.Context, tx healthcode.ReadTx, a, b, venue string, from, until time.Time) (bool, error) {
	as, err := tx.CheckInsOf(ctx, a, from, until)
	if err != nil {
		return false, err
	}
	if len(as) == 0 {
		return false, nil
	}
	bs, err := tx.CheckInsOf(ctx, b, from, until)
	if err != nil {
		return false, err
	}
	for _, x := range as {
		if !x.Verified || (venue != "" && x.Venue != venue) {
			continue
		}
		for _, y := range bs {
			if y.Verified && y.Venue == x.Venue && x.At.Sub(y.At).Abs() <= healthcode.ContactProximity {
				return true, nil
			}
		}
	}
	return false, nil
}

// travelLookBack is how long before arrival a check-in in the area counts.
const travelLookBack = 14 * healthcode.Day

// checkTravel checks a travel record's own fact: the person's verified
// check-in at a venue in the area in the 14 days before arrival.
func (e *Engine) checkTravel(ctx context.Context, tx healthcode.ReadTx, ev *healthcode.Evidence) error {
	cs, err := tx.CheckInsOf(ctx, ev.Subject, ev.ObservedAt.Add(-travelLookBack), ev.ObservedAt.Add(time.Second))
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.Verified {
			continue
		}
		v, err := tx.Venue(ctx, c.Venue)
		if err != nil {
			return err
		}
		if healthcode.RegionContains(ev.Area, v.Region) {
			return nil
		}
	}
	return healthcode.Errorfd(healthcode.EINVALID, "link.not_found",
		"the node holds no verified check-in of this person in area %s in the 14 days before arrival", ev.Area)
}

// checkQuarantine checks a quarantine start's fact: the person holds a
// record of the 14 days before it that calls for isolation.
func (e *Engine) checkQuarantine(ctx context.Context, tx healthcode.ReadTx, ev *healthcode.Evidence) error {
	evs, err := tx.Evidence(ctx, ev.Subject)
	if err != nil {
		return err
	}
	for _, x := range evs {
		if x.ObservedAt.Before(ev.ObservedAt.Add(-healthcode.MaxDesignationWindow)) || x.ObservedAt.After(ev.ObservedAt.Add(healthcode.MaxClockSkew)) {
			continue
		}
		switch {
		case x.Kind == healthcode.CloseContact, x.Kind == healthcode.SecondaryContact,
			x.Kind == healthcode.Travel && x.RiskLevel != healthcode.RiskLow,
			x.Kind == healthcode.VenueExposure && x.Verified,
			confirmsCase(&x):
			return nil
		}
	}
	return healthcode.Errorfd(healthcode.EINVALID, "link.not_found",
		"the person holds no contact, travel, exposure or positive record of the 14 days before it that calls for isolation")
}

// openCase records the case a diagnosis opened, and logs it naming the clinic.
func (e *Engine) openCase(ctx context.Context, u *unit, actor *healthcode.Principal, ev *healthcode.Evidence, now time.Time) error {
	c := &healthcode.Case{ID: ev.CaseRef, Subject: ev.Subject, Diagnosis: ev.ID, Clinic: *actor, DiagnosedAt: ev.ObservedAt,
		InfectiousFrom: ev.ObservedAt.Add(-healthcode.CaseInfectiousBefore), InfectiousUntil: ev.ObservedAt, CreatedAt: now}
	c.LogIndex = u.log(&healthcode.LogEntry{Type: healthcode.LogCase, Time: now, Region: e.Region, ActorName: healthcode.ActorLabel(actor),
		ActorRole: actor.Role, Ref: "case/" + c.ID})
	return u.tx.CreateCase(ctx, c)
}

// linkedToCase reports whether subject is tied to case c: they are the
// case; they hold evidence citing it; or they were present with the case at
// one venue in its infectious window. verifiedOnly is for a restrictive use
// (an override): only what is in force counts, verified check-ins and
// stored evidence, never a record still awaiting its second epidemiologist
// (one official's word alone). A purpose-bound read or unmask request (the
// person sees it; an unmask needs an approver) may also rest on a pending
// record citing the case, so that its confirmation can be investigated.
func linkedToCase(ctx context.Context, tx healthcode.ReadTx, subject string, c *healthcode.Case, verifiedOnly bool) (bool, error) {
	if subject == c.Subject {
		return true, nil
	}
	evs, err := tx.Evidence(ctx, subject)
	if err != nil {
		return false, err
	}
	for _, x := range evs {
		if x.CaseRef == c.ID {
			return true, nil
		}
	}
	from, until := c.InfectiousFrom, c.InfectiousUntil.Add(healthcode.ContactProximity)
	if verifiedOnly {
		return metAt(ctx, tx, subject, c.Subject, "", from, until)
	}
	rs, err := tx.PendingRecords(ctx, subject, healthcode.RecordPending, 100)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.Case == c.ID {
			return true, nil
		}
	}
	as, err := tx.CheckInsOf(ctx, subject, from, until)
	if err != nil || len(as) == 0 {
		return false, err
	}
	bs, err := tx.CheckInsOf(ctx, c.Subject, from, until)
	if err != nil {
		return false, err
	}
	for _, x := range as {
		for _, y := range bs {
			if x.Venue == y.Venue && x.At.Sub(y.At).Abs() <= healthcode.ContactProximity {
				return true, nil
			}
		}
	}
	return false, nil
}

// citeCaseFor checks that a reference names an existing case subject is
// linked to; detail names the refusal.
func citeCaseFor(ctx context.Context, tx healthcode.ReadTx, subject, ref, detail string, verifiedOnly bool) (*healthcode.Case, error) {
	c, err := lookupCase(ctx, tx, ref, detail)
	if err != nil {
		return nil, err
	}
	ok, err := linkedToCase(ctx, tx, subject, c, verifiedOnly)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, healthcode.Errorfd(healthcode.EINVALID, detail,
			"the person is not linked to case %s (not the case, no record citing it, no shared presence in its infectious window)", c.ID)
	}
	return c, nil
}

// checkReadCitation checks what an official's read of one person's data
// cites: for contact tracing and case investigation, a case the person is
// linked to; for an appeal review or a data correction, also one of the
// person's appeals ("appeal/N"); for oversight, also an override naming the
// person ("override/N").
func checkReadCitation(ctx context.Context, tx healthcode.ReadTx, subject, purpose, ref string) error {
	if err := healthcode.ValidPurpose(purpose, ref); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EINVALID, "access.case", format, args...)
	}
	if n, ok := refNumber(ref, "appeal/"); ok {
		if purpose != "appeal_review" && purpose != "data_correction" && purpose != "oversight" {
			return bad("an appeal is cited only for an appeal review, a data correction or oversight")
		}
		a, err := tx.Appeal(ctx, n)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND || (err == nil && a.Subject != subject) {
			return bad("appeal %d is not this person's", n)
		}
		return err
	}
	if n, ok := refNumber(ref, "override/"); ok {
		if purpose != "appeal_review" && purpose != "oversight" {
			return bad("an override is cited only for an appeal review or oversight")
		}
		o, err := tx.Override(ctx, n)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return bad("no override %d", n)
		} else if err != nil {
			return err
		}
		for _, s := range o.Subjects {
			if s == subject {
				return nil
			}
		}
		return bad("override %d does not name this person", n)
	}
	_, err := citeCaseFor(ctx, tx, subject, ref, "access.case", false)
	return err
}

// checkLogCitation checks what an auditor's opening of a log entry cites:
// for an entry about a person, what a read of their data may cite
// (checkReadCitation); for an entry about no one, an existing case,
// appeal or override.
func checkLogCitation(ctx context.Context, tx healthcode.ReadTx, subject, purpose, ref string) error {
	if subject != "" {
		return checkReadCitation(ctx, tx, subject, purpose, ref)
	}
	if err := healthcode.ValidPurpose(purpose, ref); err != nil {
		return err
	}
	var err error
	if n, ok := refNumber(ref, "appeal/"); ok {
		_, err = tx.Appeal(ctx, n)
	} else if n, ok := refNumber(ref, "override/"); ok {
		_, err = tx.Override(ctx, n)
	} else {
		_, err = lookupCase(ctx, tx, ref, "access.case")
	}
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return healthcode.Errorfd(healthcode.EINVALID, "access.case", "%q names no case, appeal or override", ref)
	}
	return err
}

func refNumber(ref, prefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(ref, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0
}

// caseAtVenue checks what a venue trace cites: an existing case whose
// person checked in at the venue within the traced window and the case's
// infectious window.
func caseAtVenue(ctx context.Context, tx healthcode.ReadTx, ref, venue string, from, to time.Time) error {
	c, err := lookupCase(ctx, tx, ref, "trace.no_case")
	if err != nil {
		return err
	}
	lo, hi := maxTime(from, c.InfectiousFrom), minTime(to, c.InfectiousUntil.Add(healthcode.ContactProximity))
	if hi.After(lo) {
		cs, err := tx.CheckInsOf(ctx, c.Subject, lo, hi)
		if err != nil {
			return err
		}
		for _, x := range cs {
			if x.Venue == venue {
				return nil
			}
		}
	}
	return healthcode.Errorfd(healthcode.EINVALID, "trace.case_not_linked",
		"case %s did not check in at venue %s in the traced window and its infectious window", c.ID, venue)
}

// caseSubjects returns the person of a cited case, for a case trace.
func caseSubjects(ctx context.Context, tx healthcode.ReadTx, ref string) ([]string, error) {
	c, err := lookupCase(ctx, tx, ref, "trace.no_case")
	if err != nil {
		return nil, err
	}
	return []string{c.Subject}, nil
}

// designationLinked checks that a piece of evidence a risk designation
// rests on ties its person to the place: a verified check-in at the venue
// (or a venue in the area) within the designation's window.
func designationLinked(ctx context.Context, tx healthcode.ReadTx, d *healthcode.RiskDesignation, ev *healthcode.Evidence) error {
	cs, err := tx.CheckInsOf(ctx, ev.Subject, d.From, d.Until.Add(time.Second))
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.Verified {
			continue
		}
		if d.Venue != "" && c.Venue == d.Venue {
			return nil
		}
		if d.Area != "" {
			v, err := tx.Venue(ctx, c.Venue)
			if err != nil {
				return err
			}
			if healthcode.RegionContains(d.Area, v.Region) {
				return nil
			}
		}
	}
	return healthcode.Errorfd(healthcode.EINVALID, "designation.case_not_linked",
		"the person of evidence %d has no verified check-in at the designated place in the window", ev.ID)
}

// overrideCase checks the case an override cites: a restrictive one must
// cite an existing case every person it names is linked to (by a record or
// a verified shared presence); a correction toward green may cite none, but
// what it cites must exist.
func overrideCase(ctx context.Context, tx healthcode.ReadTx, o *healthcode.Override) error {
	if !o.Colour.Restrictive() {
		if o.CaseRef == "" {
			return nil
		}
		_, err := lookupCase(ctx, tx, o.CaseRef, "override.unknown_case")
		return err
	}
	if o.CaseRef == "" {
		return healthcode.Errorfd(healthcode.EINVALID, "override.no_case", "a restrictive override must cite the case its people are linked to")
	}
	c, err := lookupCase(ctx, tx, o.CaseRef, "override.unknown_case")
	if err != nil {
		return err
	}
	for _, s := range o.Subjects {
		if _, err := tx.Person(ctx, s); err != nil {
			return err
		}
		ok, err := linkedToCase(ctx, tx, s, c, true)
		if err != nil {
			return err
		}
		if !ok {
			return healthcode.Errorfd(healthcode.EINVALID, "override.case_not_linked", "%s is not linked to case %s", s, c.ID)
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
