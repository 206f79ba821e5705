package engine

import (
	"context"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// Collect records a batch of sample collections by a sampler in one
// transaction (采样登记). Each person is named by their health code, which
// is verified with the node's own keys, or by ID number. Each collection is
// logged naming the sampler, the person only as a pseudonym commitment. A
// bad item is rejected on its own and changes nothing: a tube that has its
// result, a tube another unit opened, a single tube that holds someone
// already, a mixed tube that is full, an unknown person.
func (e *Engine) Collect(ctx context.Context, actor *healthcode.Principal, items []healthcode.CollectionRequest) ([]healthcode.CollectionOutcome, error) {
	if actor == nil || actor.Role != healthcode.RoleSampler {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only samplers record sample collections")
	}
	if actor.Unit == "" {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "collection.no_unit", "a sampler records collections for a unit, and has none")
	}
	now := e.now()
	out := make([]healthcode.CollectionOutcome, len(items))
	subjects := make([]string, len(items))
	idHashes := make([][]byte, len(items))
	errs := make([]error, len(items))
	// Verify codes and hash ID numbers before the transaction: CPU work.
	for i := range items {
		subjects[i], idHashes[i], errs[i] = e.collectee(&items[i], now)
	}
	err := e.update(ctx, func(u *unit) error {
		pseudonyms, err := u.tx.PseudonymsByIDHash(ctx, idHashes)
		if err != nil {
			return err
		}
		for i := range items {
			out[i] = healthcode.CollectionOutcome{Line: items[i].Line}
			err := errs[i]
			if err == nil && idHashes[i] != nil {
				p, ok := pseudonyms[string(idHashes[i])]
				if !ok {
					err = healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person with that ID number")
				}
				subjects[i] = p
			}
			var o healthcode.CollectionOutcome
			if err == nil {
				o, err = e.collect(ctx, u, actor, &items[i], subjects[i], now)
			}
			if err != nil {
				if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
					return err
				}
				o = healthcode.CollectionOutcome{Status: healthcode.Rejected, Err: err}
			}
			o.Line = items[i].Line
			out[i] = o
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// collectee returns who a collection request names: the subject of a
// verified code of this region, or the keyed hash of an ID number.
func (e *Engine) collectee(r *healthcode.CollectionRequest, now time.Time) (string, []byte, error) {
	code, id := strings.TrimSpace(r.Code), strings.TrimSpace(r.IDNumber)
	switch {
	case code != "" && id != "":
		return "", nil, healthcode.Errorfd(healthcode.EINVALID, "collection.person", "name the person by their health code or by ID number, not both")
	case code != "":
		if e.Codes == nil {
			return "", nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "collection.no_verifier", "this node cannot verify health codes")
		}
		hc, err := e.Codes.VerifyCode(code, now)
		if err != nil {
			return "", nil, err
		}
		if hc.Region != e.Region || hc.Subject == "" {
			return "", nil, healthcode.Errorfd(healthcode.EINVALID, "collection.code_region", "the health code is not one of this region's")
		}
		return hc.Subject, nil, nil
	case id != "":
		// Looked up as registered (a typo finds no one); the register, not
		// the check digit, says who exists.
		if len(id) != 18 {
			return "", nil, healthcode.Errorfd(healthcode.EINVALID, "id_number.format", "an ID number has 18 characters")
		}
		return "", e.Keys.IDHash(id), nil
	}
	return "", nil, healthcode.Errorfd(healthcode.EINVALID, "collection.person", "a collection names the person sampled: their health code or ID number")
}

// collect checks one collection against its tube and stores and logs it.
func (e *Engine) collect(ctx context.Context, u *unit, actor *healthcode.Principal, r *healthcode.CollectionRequest, subject string, now time.Time) (healthcode.CollectionOutcome, error) {
	c := &healthcode.Collection{Tube: r.Tube, Mixed: r.Mixed, Subject: subject, Site: strings.TrimSpace(r.Site),
		Collector: actor.ID, CollectorName: actor.Name, CollectorUnit: actor.Unit, CollectedAt: r.CollectedAt.UTC(), RecordedAt: now}
	if err := c.Validate(now); err != nil {
		return healthcode.CollectionOutcome{}, err
	}
	// A sample older than its results may be kept would lead to nothing a
	// rule may act on.
	if e.retention().CheckEvidenceAge(&healthcode.Evidence{Kind: healthcode.NucleicAcidTest, ObservedAt: c.CollectedAt}, now) != nil {
		return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.EINVALID, "collection.too_old",
			"the sample was taken %s, longer ago than test results are kept", c.CollectedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if _, err := u.tx.Person(ctx, subject); err != nil {
		return healthcode.CollectionOutcome{}, err
	}
	t, err := u.tx.Tube(ctx, c.Tube)
	switch {
	case healthcode.ErrorCode(err) == healthcode.ENOTFOUND:
	case err != nil:
		return healthcode.CollectionOutcome{}, err
	case t.Resulted():
		return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "tube.resulted", "tube %q has its result already; take a new tube", c.Tube)
	case t.Unit != actor.Unit:
		return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "tube.other_unit", "tube %q was opened by another unit", c.Tube)
	case t.Mixed != c.Mixed:
		what := "a single tube"
		if t.Mixed {
			what = "a mixed tube"
		}
		return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "tube.mixed", "tube %q is %s", c.Tube, what)
	case (!t.Mixed && t.Members >= 1) || t.Members >= healthcode.MaxMixedTube:
		members, err := u.tx.TubeMembers(ctx, c.Tube)
		if err != nil {
			return healthcode.CollectionOutcome{}, err
		}
		for _, m := range members {
			if m.Subject == subject {
				return healthcode.CollectionOutcome{Status: healthcode.Duplicate, CollectionID: m.ID}, nil
			}
		}
		if !t.Mixed {
			return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "tube.full", "single tube %q holds a sample already", c.Tube)
		}
		return healthcode.CollectionOutcome{}, healthcode.Errorfd(healthcode.ECONFLICT, "tube.full", "mixed tube %q holds %d samples, the most one tube may", c.Tube, healthcode.MaxMixedTube)
	}
	inserted, err := u.tx.InsertCollection(ctx, c)
	if err != nil {
		return healthcode.CollectionOutcome{}, err
	}
	if !inserted {
		return healthcode.CollectionOutcome{Status: healthcode.Duplicate, CollectionID: c.ID}, nil
	}
	u.log(&healthcode.LogEntry{Type: healthcode.LogCollection, Time: now, Region: e.Region, Subject: subject,
		EvidenceDigest: c.Digest(), ActorName: healthcode.ActorLabel(actor), ActorRole: actor.Role, Ref: "collection/" + strconv.FormatInt(c.ID, 10)})
	return healthcode.CollectionOutcome{Status: healthcode.Accepted, CollectionID: c.ID}, nil
}

// tubeResult turns a test result reported for a tube into one piece of
// evidence per person collected into it. It refuses a result that names a
// person (a lab never does), a tube never collected, a tube with a result
// already (unless this is the same report again: then the same evidence is
// returned, for the store to find as duplicates), and a tube collected by
// the reporter's own unit: a restriction rests on two units. tubes holds the
// batch's tubes as read at its start (tubeIDs) and is kept as the store is:
// a tube resulted here is resulted there, for a later item of the batch.
func (e *Engine) tubeResult(ctx context.Context, u *unit, actor *healthcode.Principal, s *healthcode.Submission,
	tubes map[string]*healthcode.TubeSamples, now time.Time) ([]*healthcode.Evidence, error) {
	ev := s.Evidence
	if s.IDNumber != "" || ev.Subject != "" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.by_tube", "a test result names its tube, never a person")
	}
	if ev.Pooled || ev.PoolID != "" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.by_tube", "a test result names only its tube: whether it is mixed is known from its collection")
	}
	if err := healthcode.ValidateTubeID(s.Tube); err != nil {
		return nil, err
	}
	if ev.Result != healthcode.Positive && ev.Result != healthcode.Negative {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.result", "test result must be positive or negative, not %q", ev.Result)
	}
	if actor.Unit == "" {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "evidence.no_unit", "a test result comes from an official of a unit, and you have none")
	}
	ts := tubes[s.Tube]
	if ts == nil {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tube.unknown", "no sample was collected into tube %q", s.Tube)
	}
	t := ts.Tube
	if t.Unit == actor.Unit {
		return nil, healthcode.Errorfd(healthcode.EFORBIDDEN, "tube.same_unit",
			"tube %q was collected by your own unit; a result rests on a sample another unit collected", s.Tube)
	}
	repeat := false
	if t.Resulted() {
		if t.ResultBy != actor.ID || t.ResultKind != ev.Kind || t.Result != ev.Result {
			return nil, healthcode.Errorfd(healthcode.ECONFLICT, "tube.resulted", "tube %q has its result already", s.Tube)
		}
		repeat = true
	}
	if t.Mixed && ev.Kind != healthcode.NucleicAcidTest {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "evidence.pooled", "a mixed tube holds nucleic-acid samples only")
	}
	members := ts.Members
	if len(members) == 0 {
		// Its collections have passed their retention and are gone.
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tube.unknown", "no sample in tube %q is still on record", s.Tube)
	}
	evs := make([]*healthcode.Evidence, len(members))
	for i, m := range members {
		x := &healthcode.Evidence{Kind: ev.Kind, Subject: m.Subject, Submitter: actor.ID, SubmitterName: actor.Name, SubmitterRole: actor.Role,
			ExternalID: "tube/" + s.Tube, ObservedAt: m.CollectedAt, RecordedAt: now, Result: ev.Result}
		if t.Mixed {
			x.Pooled, x.PoolID = true, s.Tube
			x.ExternalID += "/" + strconv.FormatInt(m.ID, 10)
		}
		if err := x.Validate(now); err != nil {
			return nil, err
		}
		// A sample past the retention of its results, or a person whose
		// record disagrees with the log: the tube is refused, unresulted,
		// to be reported again once resolved.
		if err := e.retention().CheckEvidenceAge(x, now); err != nil {
			return nil, err
		}
		if err := e.subjectProblem(x.Subject); err != nil {
			return nil, err
		}
		evs[i] = x
	}
	if !repeat {
		t.ResultBy, t.ResultKind, t.Result, t.ResultAt = actor.ID, ev.Kind, ev.Result, now
		if err := u.tx.SetTubeResult(ctx, &t); err != nil {
			return nil, err
		}
		ts.Tube = t
	}
	return evs, nil
}

// tubeIDs returns the tubes a batch's test results name (each once), for
// one read of them all (ReadTx.TubesOf) rather than two per tube.
func tubeIDs(items []healthcode.Submission) []string {
	var ids []string
	seen := map[string]bool{}
	for i := range items {
		s := &items[i]
		if s.Evidence.Kind.IsTest() && !seen[s.Tube] && healthcode.ValidateTubeID(s.Tube) == nil {
			seen[s.Tube] = true
			ids = append(ids, s.Tube)
		}
	}
	return ids
}
