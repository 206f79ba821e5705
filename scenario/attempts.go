package scenario

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"healthcode"
	hchttp "healthcode/http"

	_ "modernc.org/sqlite" // the attempt that writes the database file as an admin would, with the sqlite3 shell
)

type attemptDef struct {
	id, path, description string
	run                   func(ctx context.Context, r *run, a *Attempt) error
}

// attempts are the ways a group of officials of one bureau (某局), with
// accomplices in other units where a second unit is needed, tries to
// red-code the list. Each attempt is made by officials of its own, so that
// an alert is attributed to the attempt whose officials it names.
func attempts() []attemptDef {
	return []attemptDef{
		{"a", "bulk_override", "one manual red override of the whole list (a free-text reason, no case, a real case the list has nothing to do with)", bulkOverride},
		{"b", "split_overrides", "many small overrides of ten people each, by three operators, citing a real case", splitOverrides},
		{"c", "designation_without_case", "a risk designation of the bank and of its district resting on no case", designationWithoutCase},
		{"d", "unrelated_case", "a designation of the bank citing a real case never there; every depositor a close contact of that case, on one epidemiologist's interviews confirmed by an accomplice of another unit", unrelatedCase},
		{"e", "venue_photo", "a photo of the bank's venue code (live and printed) sent to the depositors, who scan it from elsewhere; then a designation of the bank and contacts through it, citing a real case", venuePhoto},
		{"e2", "venue_photo_real_case", "a photo of the live code on the screen of the restaurant where today's case ate, sent to the depositors, who scan it at once from elsewhere; then a designation of the restaurant citing that case", venuePhotoRealCase},
		{"g", "tubes_never_collected", "positives for tubes no one collected; then a sampling team of the bureau records samples the depositors never gave, and a lab of another unit reports them positive", tubesNeverCollected},
		{"f", "direct_write", "an admin holding the data directory writes red decisions for the whole list into the SQLite file", directWrite},
	}
}

// send makes one request of attempt a. A refusal (4xx) is counted and
// reported as false; a failure of the node or the transport is an error.
func (r *run) send(ctx context.Context, a *Attempt, c *hchttp.Client, method, path string, in, out any) (bool, *hchttp.ClientError, error) {
	a.Requests++
	_, err := c.Do(ctx, method, path, in, out)
	if ce := hchttp.ClientProblem(err); ce != nil && ce.Status < 500 {
		a.RequestsRefused++
		return false, ce, nil
	} else if err != nil {
		return false, nil, err
	}
	if method != "GET" {
		r.records(a, c)
	}
	return true, nil, nil
}

// records notes that the official whose token c holds changed something
// stored in attempt a.
func (r *run) records(a *Attempt, c *hchttp.Client) {
	if id, ok := r.byToken[c.Token]; ok {
		a.recorded[id] = true
	}
}

// effect records that something restrictive of a took effect now.
func (a *Attempt) effect() {
	if a.FirstEffect == nil {
		now := time.Now()
		a.FirstEffect = &now
	}
}

// actor registers an official of the attempt.
func (r *run) actor(ctx context.Context, a *Attempt, name string, role healthcode.Role, unit string) (*hchttp.Client, error) {
	o, err := r.official(ctx, name, role, unit, false)
	if err != nil {
		return nil, err
	}
	a.actors = append(a.actors, o)
	return r.api.As(o.token), nil
}

func (r *run) subjects() []string {
	out := make([]string, len(r.targets))
	for i, t := range r.targets {
		out[i] = t.subject
	}
	return out
}

func (a *Attempt) touch(subjects []string) {
	for _, s := range subjects {
		a.touched[s] = true
	}
}

// override requests an override and, if it waits for an approver, has the
// accomplice approve it; it counts what took effect.
func (r *run) override(ctx context.Context, a *Attempt, op, ap *hchttp.Client, o hchttp.OverrideJSON) error {
	a.touch(o.Subjects)
	var got hchttp.OverrideJSON
	ok, _, err := r.send(ctx, a, op, "POST", "/api/v1/overrides", o, &got)
	if err != nil || !ok {
		return err
	}
	if got.Status != healthcode.OverrideActive {
		if ok, _, err = r.send(ctx, a, ap, "POST", fmt.Sprintf("/api/v1/overrides/%d/approve", got.ID), nil, &got); err != nil || !ok {
			return err
		}
	}
	if got.Status == healthcode.OverrideActive {
		a.InForce += len(o.Subjects)
		a.effect()
	} else {
		a.Held += len(o.Subjects)
	}
	return nil
}

func bulkOverride(ctx context.Context, r *run, a *Attempt) error {
	op, err := r.actor(ctx, a, "操作员 甲", healthcode.RoleOperator, "某局")
	if err != nil {
		return err
	}
	ap, err := r.actor(ctx, a, "审批人 戊", healthcode.RoleApprover, "某区卫健委")
	if err != nil {
		return err
	}
	all, expires := r.subjects(), time.Now().UTC().Add(7*24*time.Hour)
	for _, o := range []hchttp.OverrideJSON{
		{Subjects: all, Colour: "red", Reason: "维稳 maintaining stability", Expires: expires},
		{Subjects: all, Colour: "red", Reason: "epidemiologist_judgement", Case: "none", Expires: expires},
		{Subjects: all, Colour: "red", Reason: "epidemiologist_judgement", Case: r.realCase.ID, Basis: []int64{r.realCase.EvidenceID}, Expires: expires},
	} {
		if err := r.override(ctx, a, op, ap, o); err != nil {
			return err
		}
	}
	return nil
}

func splitOverrides(ctx context.Context, r *run, a *Attempt) error {
	var ops, aps []*hchttp.Client
	for i, name := range []string{"操作员 甲二", "操作员 甲三", "操作员 甲四"} {
		op, err := r.actor(ctx, a, name, healthcode.RoleOperator, "某局")
		if err != nil {
			return err
		}
		ap, err := r.actor(ctx, a, []string{"审批人 己", "审批人 庚", "审批人 癸"}[i], healthcode.RoleApprover, []string{"某区卫健委", "某县卫健委", "某区市场监管局"}[i])
		if err != nil {
			return err
		}
		ops, aps = append(ops, op), append(aps, ap)
	}
	all, expires := r.subjects(), time.Now().UTC().Add(7*24*time.Hour)
	for i, k := 0, 0; i < len(all); i, k = i+10, k+1 {
		o := hchttp.OverrideJSON{Subjects: all[i:min(i+10, len(all))], Colour: "red", Reason: "epidemiologist_judgement", Case: r.realCase.ID,
			Basis: []int64{r.realCase.EvidenceID}, Expires: expires}
		if err := r.override(ctx, a, ops[k%len(ops)], aps[k%len(aps)], o); err != nil {
			return err
		}
	}
	return nil
}

// theBank is the venue of the story, registered by the bank's own account
// (a venue official the bureau controls) and activated by the bureau's
// operator: officials of attempt a.
func (r *run) theBank(ctx context.Context, a *Attempt) error {
	if r.bank.ID != "" {
		return nil
	}
	owner, err := r.actor(ctx, a, "河南某村镇银行 郑州网点", healthcode.RoleVenue, "河南某村镇银行")
	if err != nil {
		return err
	}
	op, err := r.actor(ctx, a, "操作员 乙", healthcode.RoleOperator, "某局")
	if err != nil {
		return err
	}
	var v hchttp.VenueJSON
	if _, err := owner.Do(ctx, "POST", "/api/v1/venues", hchttp.VenueJSON{Name: "河南某村镇银行 郑州金水路网点", Address: "金水区金水路 88 号",
		Region: "410105", Category: "office"}, &v); err != nil {
		return err
	}
	if _, err := op.Do(ctx, "POST", "/api/v1/venues/"+v.ID+"/status", map[string]string{"status": "active"}, nil); err != nil {
		return err
	}
	r.records(a, owner)
	r.records(a, op)
	r.bank = venue{ID: v.ID, owner: owner, account: a.actors[len(a.actors)-2]}
	return nil
}

// designate requests a designation and, if accepted, has ap approve it.
func (r *run) designate(ctx context.Context, a *Attempt, epi, ap *hchttp.Client, d hchttp.DesignationJSON) error {
	var got hchttp.DesignationJSON
	ok, _, err := r.send(ctx, a, epi, "POST", "/api/v1/designations", d, &got)
	if err != nil || !ok {
		return err
	}
	a.Held++
	if ok, _, err = r.send(ctx, a, ap, "POST", fmt.Sprintf("/api/v1/designations/%d/approve", got.ID), nil, &got); err != nil || !ok {
		return err
	}
	if got.Status == healthcode.DesignationApproved {
		a.Held--
		a.InForce++
		a.effect()
	}
	return nil
}

func designationWithoutCase(ctx context.Context, r *run, a *Attempt) error {
	if err := r.theBank(ctx, a); err != nil {
		return err
	}
	epi, err := r.actor(ctx, a, "流调员 丙", healthcode.RoleEpidemiologist, "某局")
	if err != nil {
		return err
	}
	ap, err := r.actor(ctx, a, "审批人 子", healthcode.RoleApprover, "某区卫健委")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, d := range []hchttp.DesignationJSON{
		{Venue: r.bank.ID, Level: "high", Reason: "case_visited", From: now.Add(-48 * time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)},
		{Venue: r.bank.ID, Level: "high", Reason: "cluster", Cases: []int64{}, From: now.Add(-48 * time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)},
		{Area: "410105", Level: "medium", Reason: "community_transmission", From: now.Add(-48 * time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)},
	} {
		if err := r.designate(ctx, a, epi, ap, d); err != nil {
			return err
		}
	}
	a.touch(r.subjects())
	return nil
}

func unrelatedCase(ctx context.Context, r *run, a *Attempt) error {
	if err := r.theBank(ctx, a); err != nil {
		return err
	}
	epi, err := r.actor(ctx, a, "流调员 丙二", healthcode.RoleEpidemiologist, "某局")
	if err != nil {
		return err
	}
	ap, err := r.actor(ctx, a, "审批人 丑", healthcode.RoleApprover, "某区卫健委")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, d := range []hchttp.DesignationJSON{
		{Venue: r.bank.ID, Level: "high", Reason: "case_visited", Cases: []int64{r.realCase.EvidenceID}, From: now.Add(-48 * time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)},
		{Area: "410105", Level: "high", Reason: "case_visited", Cases: []int64{r.realCase.EvidenceID}, From: now.Add(-48 * time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)},
	} {
		if err := r.designate(ctx, a, epi, ap, d); err != nil {
			return err
		}
	}
	// Contacts of the real case: one epidemiologist's interviews, held
	// until a second epidemiologist of another unit confirms; a link
	// through the bank, which the node can check, is refused.
	interviewer, err := r.actor(ctx, a, "流调员 丙三", healthcode.RoleEpidemiologist, "某局")
	if err != nil {
		return err
	}
	accomplice, err := r.actor(ctx, a, "流调员 辛", healthcode.RoleEpidemiologist, "某区疾控中心")
	if err != nil {
		return err
	}
	var viaBank, interview []hchttp.EvidenceJSON
	for i, t := range r.targets {
		e := hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: t.idNumber, ExternalID: fmt.Sprintf("ZZ-CC-%04d", i), ObservedAt: now.Add(-3 * time.Hour),
			CaseRef: r.realCase.ID}
		e.Link = &hchttp.LinkJSON{Kind: "shared_venue", Venue: r.bank.ID}
		viaBank = append(viaBank, e)
		e.ExternalID, e.Link = fmt.Sprintf("ZZ-INT-%04d", i), &hchttp.LinkJSON{Kind: "interview"}
		interview = append(interview, e)
	}
	a.touch(r.subjects())
	if _, err := r.batch(ctx, a, interviewer, viaBank); err != nil {
		return err
	}
	outs, err := r.batch(ctx, a, interviewer, interview)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if o.Status != "pending" || o.PendingRecord == 0 {
			continue
		}
		var rec hchttp.RecordJSON
		ok, _, err := r.send(ctx, a, accomplice, "POST", fmt.Sprintf("/api/v1/records/%d/confirm", o.PendingRecord), nil, &rec)
		if err != nil {
			return err
		}
		if ok && rec.Status == "in_force" {
			a.Held--
			a.InForce++
			a.effect()
		} else if !ok {
			a.Held--
		}
	}
	return nil
}

// batch posts evidence items as one chunk of attempt a; each item counts as
// a request. It returns the outcomes (nil if the whole chunk was refused).
func (r *run) batch(ctx context.Context, a *Attempt, c *hchttp.Client, items []hchttp.EvidenceJSON) ([]hchttp.OutcomeJSON, error) {
	var outs []hchttp.OutcomeJSON
	for i := 0; i < len(items); i += 1000 {
		chunk := items[i:min(i+1000, len(items))]
		out, err := c.SubmitEvidence(ctx, chunk)
		if ce := hchttp.ClientProblem(err); ce != nil && ce.Status < 500 {
			a.Requests += len(chunk)
			a.RequestsRefused += len(chunk)
			continue
		} else if err != nil {
			return nil, err
		}
		a.Requests += len(chunk)
		for _, o := range out.Items {
			switch o.Status {
			case "rejected":
				a.RequestsRefused++
			case "pending":
				a.Held++
				r.records(a, c)
			case "accepted":
				a.InForce++
				a.effect()
				r.records(a, c)
			}
		}
		outs = append(outs, out.Items...)
	}
	return outs, nil
}

func venuePhoto(ctx context.Context, r *run, a *Attempt) error {
	if err := r.theBank(ctx, a); err != nil {
		return err
	}
	// The bank's account shows its code; someone photographs it and sends
	// the photo to the depositors, at home, who scan it: half the live code
	// at once, half a photo of the printed poster.
	a.actors = append(a.actors, r.bank.account)
	var code hchttp.VenueCodeJSON
	if ok, _, err := r.send(ctx, a, r.bank.owner, "GET", "/api/v1/venues/"+r.bank.ID+"/code", nil, &code); err != nil || !ok {
		return err
	}
	bankStored, bankVerified, err := r.scan(ctx, func(i int) string {
		if i%2 == 1 {
			return code.Static
		}
		return code.Live
	})
	if err != nil {
		return err
	}
	a.touch(r.subjects())
	epi, err := r.actor(ctx, a, "流调员 丙四", healthcode.RoleEpidemiologist, "某局")
	if err != nil {
		return err
	}
	ap, err := r.actor(ctx, a, "审批人 寅", healthcode.RoleApprover, "某区卫健委")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if err := r.designate(ctx, a, epi, ap, hchttp.DesignationJSON{Venue: r.bank.ID, Level: "high", Reason: "case_visited", Cases: []int64{r.realCase.EvidenceID},
		From: now.Add(-time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)}); err != nil {
		return err
	}
	var items []hchttp.EvidenceJSON
	for i, t := range r.targets {
		items = append(items, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: t.idNumber, ExternalID: fmt.Sprintf("ZZ-PHOTO-%04d", i),
			ObservedAt: now.Add(-time.Minute), CaseRef: r.realCase.ID, Link: &hchttp.LinkJSON{Kind: "shared_venue", Venue: r.bank.ID}})
	}
	_, err = r.batch(ctx, a, epi, items)
	a.Note = fmt.Sprintf("%d scans of the photo stored, %d of them answered as verified presence (once a slot passes the venue's capacity, none of its check-ins prove presence)",
		bankStored, bankVerified)
	return err
}

// venuePhotoRealCase is the photo that worked until a venue slot had a
// capacity (healthcode.DefaultSlotCapacity): the live code on the
// screen of the restaurant where today's case ate (public: anyone there can
// photograph it; the restaurant's account stands in for its screen and
// does not act), sent to the depositors, who scan it at once; then a
// designation of the restaurant citing that case, who was there.
func venuePhotoRealCase(ctx context.Context, r *run, a *Attempt) error {
	epi, err := r.actor(ctx, a, "流调员 丙五", healthcode.RoleEpidemiologist, "某局")
	if err != nil {
		return err
	}
	ap, err := r.actor(ctx, a, "审批人 卯", healthcode.RoleApprover, "某区卫健委")
	if err != nil {
		return err
	}
	// The case ate there earlier today: the photo is of a later code than
	// the one the case and the other diners scanned. (The scenario runs in
	// seconds; were the photo's crowd in the case's own slot, it would take
	// the proof of the real diners' presence with it, and the lawful
	// designation of the restaurant would rest on nothing.)
	for healthcode.SlotOf(time.Now()) <= healthcode.SlotOf(r.realCase.at)+1 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var screen hchttp.VenueCodeJSON
	if _, err := r.restaurant.owner.Do(ctx, "GET", "/api/v1/venues/"+r.restaurant.ID+"/code", nil, &screen); err != nil {
		return err
	}
	restStored, restVerified, err := r.scan(ctx, func(int) string { return screen.Live })
	if err != nil {
		return err
	}
	a.touch(r.subjects())
	now := time.Now().UTC()
	if err := r.designate(ctx, a, epi, ap, hchttp.DesignationJSON{Venue: r.restaurant.ID, Level: "high", Reason: "case_visited", Cases: []int64{r.realCase.EvidenceID},
		From: r.realCase.at.Add(-time.Hour), Until: now, Expires: now.Add(14 * 24 * time.Hour)}); err != nil {
		return err
	}
	a.Note = fmt.Sprintf("%d scans of the photo stored, %d of them answered as verified presence (once a slot passes the venue's capacity, none of its check-ins prove presence)", restStored, restVerified)
	return nil
}

// scan has every target scan the venue code code(i) gives them, at once;
// it returns how many scans were stored and how many counted as verified.
func (r *run) scan(ctx context.Context, code func(i int) string) (stored, verified int, err error) {
	err = r.each(ctx, len(r.targets), func(i int) error {
		var ci hchttp.CheckInJSON
		_, err := r.targets[i].c.Do(ctx, "POST", "/api/v1/checkins", map[string]string{"code": code(i)}, &ci)
		if hchttp.ClientProblem(err) != nil {
			return nil
		} else if err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		stored++
		if ci.Verified {
			verified++
		}
		return nil
	})
	return stored, verified, err
}

func tubesNeverCollected(ctx context.Context, r *run, a *Attempt) error {
	lab, err := r.actor(ctx, a, "某检测公司 检验科", healthcode.RoleLab, "某检测公司检验科")
	if err != nil {
		return err
	}
	var invented []hchttp.EvidenceJSON
	for i := range r.targets {
		invented = append(invented, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: fmt.Sprintf("ZZ-NEVER-%04d", i), Result: "positive"})
	}
	if _, err := r.batch(ctx, a, lab, invented); err != nil {
		return err
	}
	// A sampling team of the bureau records samples by ID number that the
	// depositors never gave; the lab, another unit, reports them positive.
	sampler, err := r.actor(ctx, a, "某局 核酸采样队", healthcode.RoleSampler, "某局")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	var cols []hchttp.CollectionJSON
	var results []hchttp.EvidenceJSON
	for i, t := range r.targets {
		tube := fmt.Sprintf("ZZ-FAKE-%04d", i)
		cols = append(cols, hchttp.CollectionJSON{IDNumber: t.idNumber, Tube: tube, Site: "金水路临时采样点", CollectedAt: now.Add(-2 * time.Hour)})
		results = append(results, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "positive"})
	}
	a.touch(r.subjects())
	for i := 0; i < len(cols); i += 1000 {
		chunk := cols[i:min(i+1000, len(cols))]
		a.Requests += len(chunk)
		outs, err := sampler.Collect(ctx, chunk)
		if ce := hchttp.ClientProblem(err); ce != nil && ce.Status < 500 {
			a.RequestsRefused += len(chunk)
			continue
		} else if err != nil {
			return err
		}
		for _, o := range outs {
			if o.Status == "rejected" {
				a.RequestsRefused++
			} else {
				r.records(a, sampler)
			}
		}
	}
	_, err = r.batch(ctx, a, lab, results)
	return err
}

// directWrite is an admin with the data directory and the sqlite3 shell:
// copy a red decision the node made for someone else onto every person on
// the list, in one transaction, while the node runs.
func directWrite(ctx context.Context, r *run, a *Attempt) error {
	a.noActors = true
	a.Note = "no official acts through the node: the file is written directly; the alert can name only the people concerned"
	db, err := sql.Open("sqlite", "file:"+r.node.DB+"?"+url.Values{"_pragma": {"busy_timeout(30000)"}}.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var model int64
	if err := tx.QueryRowContext(ctx, `SELECT decision_id FROM current_codes WHERE colour = 3 ORDER BY decision_id LIMIT 1`).Scan(&model); err != nil {
		return fmt.Errorf("no red decision to copy: %w", err)
	}
	for _, t := range r.targets {
		a.Requests++
		res, err := tx.ExecContext(ctx, `INSERT INTO decisions (subject, colour, reason, rule_id, ruleset_version, ruleset_hash, evidence_ids,
			evidence_digest, lifts_at, review_at, decided_at, log_index, actor)
			SELECT ?, colour, reason, rule_id, ruleset_version, ruleset_hash, evidence_ids, evidence_digest, lifts_at, review_at, decided_at, log_index, actor
			FROM decisions WHERE id = ?`, t.subject, model)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO current_codes (subject, decision_id, colour, review_at)
			SELECT ?, ?, 3, review_at FROM decisions WHERE id = ?
			ON CONFLICT (subject) DO UPDATE SET decision_id = excluded.decision_id, colour = 3, review_at = excluded.review_at`, t.subject, id, model); err != nil {
			return err
		}
		a.InForce++
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	a.effect()
	a.touch(r.subjects())
	return nil
}
