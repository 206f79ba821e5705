package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"healthcode"
	"healthcode/sim"
)

// demoPeople picks the citizens the demo gives tokens to, one for each
// situation a visitor should be able to see from the citizen's side: a
// resident with no evidence (the README's tour starts from them), a
// confirmed case, a close contact of that case, a contact about whom an
// operator's restrictive override waits for an approver of another unit,
// and a contact whose appeal waits for an operator's answer. It makes the
// override request and files the appeal, through the engine and the log.
func (n *node) demoPeople(ctx context.Context, city *sim.City, past []sim.Event, operator *healthcode.Principal, now time.Time) ([]demoToken, error) {
	// The first case of the story that was confirmed, and its contacts.
	var caseLabel, caseID string
	for _, ev := range past {
		if ev.Case != "" && ev.Evidence.Diagnosis == healthcode.DiagnosisConfirmed {
			caseLabel, caseID = ev.Case, ev.SubjectID
			break
		}
	}
	if caseLabel == "" {
		return nil, fmt.Errorf("demo: the story has no confirmed case yet")
	}
	cases := map[string]bool{} // people who became cases
	for _, ev := range past {
		if ev.Case != "" {
			cases[ev.SubjectID] = true
		}
	}
	var contacts []string
	for _, ev := range past {
		if ev.Note == "close contact of "+caseLabel && !cases[ev.SubjectID] {
			contacts = append(contacts, ev.SubjectID)
		}
	}
	if len(contacts) < 3 {
		return nil, fmt.Errorf("demo: case %s has %d contacts, want 3", caseLabel, len(contacts))
	}
	type pick struct {
		idNumber, note string
	}
	picks := []pick{
		{city.Person(0).IDNumber, "a resident with no evidence (tubes " + demoSingleTube + " and " + demoMixedTube + " hold their sample)"},
		{caseID, "a confirmed case (" + caseLabel + " in the story)"},
		{contacts[0], "a close contact of that case (an interview a second epidemiologist confirmed)"},
		{contacts[1], "another contact: an operator's red override awaits an approver of another unit"},
		{contacts[2], "another contact: their appeal awaits an operator's answer"},
	}
	person := func(idn string) (*healthcode.Person, error) {
		var p *healthcode.Person
		err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			p, err = tx.PersonByIDHash(ctx, n.engine.Keys.IDHash(idn))
			return err
		})
		return p, err
	}
	// What the override rests on: the case's confirmed diagnosis, and the
	// node's id of the case (cited by the contact's record).
	casePerson, err := person(caseID)
	if err != nil {
		return nil, err
	}
	evidenceOf := func(subject string) ([]healthcode.Evidence, error) {
		var evs []healthcode.Evidence
		err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			evs, err = tx.Evidence(ctx, subject)
			return err
		})
		return evs, err
	}
	caseEvidence, err := evidenceOf(casePerson.Pseudonym)
	if err != nil {
		return nil, err
	}
	var basis int64
	for _, ev := range caseEvidence {
		if ev.Kind == healthcode.Diagnosis && ev.Diagnosis == healthcode.DiagnosisConfirmed {
			basis = ev.ID
		}
	}
	var tokens []demoToken
	for i, pk := range picks {
		p, err := person(pk.idNumber)
		if err != nil {
			return nil, err
		}
		citizen := &healthcode.Principal{Name: p.MaskedName, Role: healthcode.RoleCitizen, Subject: p.Pseudonym}
		switch i {
		case 3:
			nodeCase := ""
			evs, err := evidenceOf(p.Pseudonym)
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				if ev.Kind == healthcode.CloseContact && ev.CaseRef != "" {
					nodeCase = ev.CaseRef
				}
			}
			if basis == 0 || nodeCase == "" {
				return nil, fmt.Errorf("demo: no case evidence for the override (basis %d, case %q)", basis, nodeCase)
			}
			if _, err := n.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: []string{p.Pseudonym}, Colour: healthcode.Red,
				Reason: "epidemiologist_judgement", Basis: []int64{basis}, CaseRef: nodeCase,
				Note: "流调判断需集中隔离 / the investigation judges central isolation necessary", Expires: now.Add(7 * healthcode.Day)}); err != nil {
				return nil, fmt.Errorf("demo: the open override: %w", err)
			}
		case 4:
			if _, err := n.engine.FileAppeal(ctx, citizen, healthcode.AppealColour,
				"我与病例没有接触，请复核 / I had no contact with the case; please review"); err != nil {
				return nil, fmt.Errorf("demo: the open appeal: %w", err)
			}
		}
		v, err := n.engine.Code(ctx, p.Pseudonym)
		if err != nil {
			return nil, err
		}
		// The demo's people get their tokens from the system at set-up
		// (logged, and shown in each person's access records as
		// "provisioning"), not from an admin.
		tok, err := n.engine.CreateToken(ctx, citizen)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, demoToken{Who: p.MaskedName + " (" + v.Decision.Colour.String() + ")", Role: healthcode.RoleCitizen, Token: tok,
			Page: "/", Note: pk.note + "; subject " + p.Pseudonym + "; ID " + pk.idNumber})
	}
	return tokens, nil
}

// demoVenue registers a venue of the city through its owner's registry
// account and has an operator approve it: its poster shows a live code.
func (n *node) demoVenue(ctx context.Context, owner, operator *healthcode.Principal) (*healthcode.Venue, error) {
	v, err := n.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "老郑州烩面馆", Address: "二七区大学路 80 号", Region: "410103", Category: "restaurant"})
	if err != nil {
		return nil, err
	}
	if err := n.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		return nil, err
	}
	return v, nil
}

// displayWidth is how many terminal columns s takes: two for each wide
// (CJK) character.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || r == 0x2329 || r == 0x232a ||
			(r >= 0x2e80 && r <= 0xa4cf && r != 0x303f) || (r >= 0xac00 && r <= 0xd7a3) ||
			(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) ||
			(r >= 0xffe0 && r <= 0xffe6)):
			w += 2
		default:
			w++
		}
	}
	return w
}

// pad pads s with spaces to w columns.
func pad(s string, w int) string {
	if d := w - displayWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}
