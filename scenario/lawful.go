package scenario

import (
	"context"
	"fmt"
	"slices"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/sim"
)

// CityFor returns the synthetic city to register on a scenario's node:
// its outbreak timeline ends an hour before now, so the whole of it is
// lawful work the node can take at once (nothing in the future, nothing
// past its retention).
func CityFor(seed uint64, people int, region string, now time.Time) (*sim.City, error) {
	probe, err := sim.New(sim.Config{Seed: seed, People: people, Region: region, Start: now})
	if err != nil {
		return nil, err
	}
	last := now
	for _, ev := range probe.Outbreak() {
		if ev.At.After(last) {
			last = ev.At
		}
		if ev.Evidence.ObservedAt.After(last) {
			last = ev.Evidence.ObservedAt
		}
	}
	start := now.Add(-last.Sub(now) - time.Hour).Truncate(time.Minute)
	return sim.New(sim.Config{Seed: seed, People: people, Region: region, Start: start})
}

// counting acts as the city's officials over the API and counts what the
// node accepted and refused.
type counting struct {
	*hchttp.Actors
	l *Lawful
}

func (c *counting) tally(status string, err error, what string) {
	if status == healthcode.Rejected || err != nil {
		c.l.Refused++
		c.l.Refusals = append(c.l.Refusals, fmt.Sprintf("%s: %v", what, err))
		return
	}
	c.l.Actions++
}

func (c *counting) Submit(ctx context.Context, actor *healthcode.Principal, subs []healthcode.Submission) ([]healthcode.Outcome, error) {
	outs, err := c.Actors.Submit(ctx, actor, subs)
	for _, o := range outs {
		c.tally(o.Status, o.Err, "evidence "+string(subs[0].Evidence.Kind))
	}
	return outs, err
}

func (c *counting) Collect(ctx context.Context, actor *healthcode.Principal, items []healthcode.CollectionRequest) ([]healthcode.CollectionOutcome, error) {
	outs, err := c.Actors.Collect(ctx, actor, items)
	for _, o := range outs {
		c.tally(o.Status, o.Err, "collection")
	}
	return outs, err
}

func (c *counting) ConfirmRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
	r, err := c.Actors.ConfirmRecord(ctx, actor, id)
	if err == nil {
		c.l.Actions++
	}
	return r, err
}

// lawfulWork registers the city's officials through the registry API and
// replays its outbreak through theirs (samples, results, diagnoses,
// contacts confirmed by a second epidemiologist of another unit, travel,
// isolation); then a case found today who had been at a restaurant, whose
// other guests are designated exposed by an epidemiologist and an approver
// of another unit. That case is the real one the officials later cite.
func (r *run) lawfulWork(ctx context.Context) error {
	city, l := r.node.City, &r.report.Lawful
	principals := map[string]*healthcode.Principal{}
	actors := &hchttp.Actors{Client: r.api, Tokens: map[string]string{}}
	byRole := map[healthcode.Role]official{}
	for _, group := range [][]sim.Institution{city.Samplers, city.Labs, city.Clinics, city.Epidemiologists} {
		for _, in := range group {
			unit := in.Name + " " + in.Unit
			if in.Role == healthcode.RoleEpidemiologist || in.Role == healthcode.RoleSampler {
				unit = in.Unit
			}
			o, err := r.official(ctx, in.Name, in.Role, unit, true)
			if err != nil {
				return err
			}
			principals[in.ID] = &healthcode.Principal{ID: o.ID, Name: o.Name, Role: in.Role, Unit: unit}
			actors.Tokens[o.ID] = o.token
			if _, ok := byRole[in.Role]; !ok {
				byRole[in.Role] = o
			}
		}
	}
	l.Actions += len(principals) // each official's creation and token, by two admins
	c := &counting{Actors: actors, l: l}
	rep := &sim.Replayer{Evidence: c, Records: c, Samples: c, Actors: principals}
	if err := rep.Replay(ctx, city.Outbreak()); err != nil {
		return err
	}

	// Today's case: a guest of a restaurant, found at a fever clinic after
	// the meal; the other guests' verified check-ins put them there.
	operator, err := r.official(ctx, "操作员 赵敏", healthcode.RoleOperator, "市大数据局", true)
	if err != nil {
		return err
	}
	approver, err := r.official(ctx, "审批人 王强", healthcode.RoleApprover, "市卫健委", true)
	if err != nil {
		return err
	}
	owner, err := r.official(ctx, "二七区 老蔡记蒸饺", healthcode.RoleVenue, "老蔡记蒸饺", true)
	if err != nil {
		return err
	}
	as := func(o official) *hchttp.Client { return r.api.As(o.token) }
	var v hchttp.VenueJSON
	if err := r.lawfulDo(ctx, as(owner), "POST", "/api/v1/venues", hchttp.VenueJSON{Name: "老蔡记蒸饺 二七店", Address: "二七区解放路 12 号",
		Region: "410103", Category: "restaurant"}, &v); err != nil {
		return err
	}
	if err := r.lawfulDo(ctx, as(operator), "POST", "/api/v1/venues/"+v.ID+"/status", map[string]string{"status": "active"}, nil); err != nil {
		return err
	}
	used := outbreakPeople(city)
	var guests []string
	for i := 0; len(guests) < 31; i++ {
		if p := city.Person(i); !used[p.IDNumber] {
			guests = append(guests, p.IDNumber)
		}
	}
	tokens, err := r.node.CitizenTokens(ctx, guests)
	if err != nil {
		return err
	}
	r.restaurant = venue{ID: v.ID, owner: as(owner), account: owner}
	ateAt := time.Now().UTC()
	var code hchttp.VenueCodeJSON
	if err := r.lawfulDo(ctx, as(owner), "GET", "/api/v1/venues/"+v.ID+"/code", nil, &code); err != nil {
		return err
	}
	for _, tok := range tokens {
		var ci hchttp.CheckInJSON
		if err := r.lawfulDo(ctx, r.api.As(tok), "POST", "/api/v1/checkins", map[string]string{"code": code.Live}, &ci); err != nil {
			return err
		}
	}
	patient := guests[0]
	sampler, lab, clinic, epi := byRole[healthcode.RoleSampler], byRole[healthcode.RoleLab], byRole[healthcode.RoleClinic], byRole[healthcode.RoleEpidemiologist]
	now := time.Now().UTC()
	tube := fmt.Sprintf("FEVER-%d", now.Unix())
	if err := r.lawfulDo(ctx, as(sampler), "POST", "/api/v1/collections", hchttp.CollectionJSON{IDNumber: patient, Tube: tube, Site: "发热门诊采样点",
		CollectedAt: now.Add(-time.Minute)}, nil); err != nil {
		return err
	}
	if err := r.lawfulDo(ctx, as(lab), "POST", "/api/v1/evidence", hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "positive"}, nil); err != nil {
		return err
	}
	var dx hchttp.OutcomeJSON
	if err := r.lawfulDo(ctx, as(clinic), "POST", "/api/v1/evidence", hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patient,
		ExternalID: "DX-" + tube, ObservedAt: time.Now().UTC(), Diagnosis: "confirmed"}, &dx); err != nil {
		return err
	}
	if dx.Case == "" {
		return fmt.Errorf("today's case: the diagnosis opened no case: %+v", dx)
	}
	r.realCase = realCase{ID: dx.Case, EvidenceID: dx.EvidenceID, at: ateAt}
	var d hchttp.DesignationJSON
	now = time.Now().UTC()
	if err := r.lawfulDo(ctx, as(epi), "POST", "/api/v1/designations", hchttp.DesignationJSON{Venue: v.ID, Level: "high", Reason: "case_visited",
		Cases: []int64{dx.EvidenceID}, From: now.Add(-time.Hour), Until: now, Expires: now.Add(7 * 24 * time.Hour)}, &d); err != nil {
		return err
	}
	if err := r.lawfulDo(ctx, as(approver), "POST", fmt.Sprintf("/api/v1/designations/%d/approve", d.ID), nil, &d); err != nil {
		return err
	}
	// Who the lawful work restricted: the guests (the case among them).
	for _, tok := range tokens {
		mc, err := r.api.As(tok).MyCode(ctx)
		if err != nil {
			return err
		}
		if mc.Decision.Colour != "green" {
			l.Restricted++
		}
	}
	return nil
}

// lawfulDo sends one lawful request and counts it; a refusal is counted
// and listed, and ends the lawful work only if what follows needs it.
func (r *run) lawfulDo(ctx context.Context, c *hchttp.Client, method, path string, in, out any) error {
	_, err := c.Do(ctx, method, path, in, out)
	l := &r.report.Lawful
	if err != nil {
		l.Refused++
		l.Refusals = append(l.Refusals, err.Error())
		return err
	}
	l.Actions++
	return nil
}

// outbreakPeople returns the ID numbers of everyone in the outbreak.
func outbreakPeople(city *sim.City) map[string]bool {
	used := map[string]bool{}
	for _, ev := range city.Outbreak() {
		used[ev.SubjectID] = true
	}
	return used
}

// pickTargets takes the list from the end of the city's register: people
// in no part of the outbreak or the lawful work, each with a token of
// their own (to see their code, as they would on their phone).
func (r *run) pickTargets(ctx context.Context) error {
	city := r.node.City
	used := outbreakPeople(city)
	var ids []string
	for i := city.Size - 1; i >= 0 && len(ids) < r.cfg.Targets; i-- {
		if p := city.Person(i); !used[p.IDNumber] {
			ids = append(ids, p.IDNumber)
		}
	}
	if len(ids) < r.cfg.Targets {
		return fmt.Errorf("a city of %d people has only %d outside the outbreak for a list of %d", city.Size, len(ids), r.cfg.Targets)
	}
	slices.Reverse(ids)
	tokens, err := r.node.CitizenTokens(ctx, ids)
	if err != nil {
		return err
	}
	r.targets = make([]target, len(ids))
	for i := range ids {
		r.targets[i] = target{idNumber: ids[i], c: r.api.As(tokens[i])}
	}
	return r.each(ctx, len(r.targets), func(i int) error {
		mc, err := r.targets[i].c.MyCode(ctx)
		if err != nil {
			return err
		}
		r.targets[i].subject = mc.Subject
		return nil
	})
}
