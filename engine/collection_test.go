package engine_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/qr"
)

// TestOneLabCannotRedCode is the first path of issue 9: one lab account
// posting positive results for whomever it likes. A lab names no person, so
// it can reach only tubes a sampling site of another unit collected; every
// other attempt is refused and nobody changes colour. The lawful
// counterpart: a tube another unit collected turns its person red in the
// very request that reports it.
func TestOneLabCannotRedCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 20})
	at := t0.Add(-time.Hour)
	// Tubes the lab may not use: one collected by its own unit, one with
	// its (negative) result in already.
	ownSampler := &healthcode.Principal{ID: "sampler-lab", Name: "检验科采样窗口", Role: healthcode.RoleSampler, Unit: lab.Unit}
	if outs, err := e.eng.Collect(e.ctx, ownSampler, []healthcode.CollectionRequest{sample(e.ids[1], "OWN-1", at)}); err != nil ||
		outs[0].Status != healthcode.Accepted {
		t.Fatalf("collection by the lab's own unit: %+v, %v", outs, err)
	}
	e.collectOK(sample(e.ids[2], "DONE-1", at))
	e.submitOK(lab, tubeResult(1, "DONE-1", healthcode.Negative))
	size := e.logSize()
	unregistered := "41010219900101123" + string(healthcode.IDCheckDigit("41010219900101123"))

	attempts := []struct {
		name         string
		item         healthcode.Submission
		code, detail string
	}{
		{"positive for a registered ID number", naTest(1, e.ids[3], "X-1", at, healthcode.Positive), healthcode.EINVALID, "evidence.by_tube"},
		{"positive for an unregistered ID number", naTest(1, unregistered, "X-2", at, healthcode.Positive), healthcode.EINVALID, "evidence.by_tube"},
		{"positive for a pseudonym", healthcode.Submission{Line: 1, Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest,
			Subject: e.subj[4], ExternalID: "X-3", ObservedAt: at, Result: healthcode.Positive}}, healthcode.EINVALID, "evidence.by_tube"},
		{"positive for a tube nobody collected", tubeResult(1, "INVENTED-1", healthcode.Positive), healthcode.ENOTFOUND, "tube.unknown"},
		{"positive for a tube its own unit collected", tubeResult(1, "OWN-1", healthcode.Positive), healthcode.EFORBIDDEN, "tube.same_unit"},
		{"positive for a tube already resulted", tubeResult(1, "DONE-1", healthcode.Positive), healthcode.ECONFLICT, "tube.resulted"},
		{"antigen positive for a pseudonym", healthcode.Submission{Line: 1, Evidence: healthcode.Evidence{Kind: healthcode.AntigenTest,
			Subject: e.subj[5], ExternalID: "X-4", ObservedAt: at, Result: healthcode.Positive}}, healthcode.EINVALID, "evidence.by_tube"},
	}
	var messages []string
	for _, a := range attempts {
		for _, actor := range []*healthcode.Principal{lab, clinic} {
			if actor == clinic && a.detail == "tube.same_unit" {
				continue // the clinic is of another unit than the lab: reporting it is lawful
			}
			outs, err := e.eng.Submit(e.ctx, actor, []healthcode.Submission{a.item})
			if err != nil {
				t.Fatalf("%s by %s: %v", a.name, actor.Role, err)
			}
			if outs[0].Status != healthcode.Rejected {
				t.Errorf("%s by %s: %+v, want it refused", a.name, actor.Role, outs[0])
				continue
			}
			wantCode(t, a.name+" by "+string(actor.Role), outs[0].Err, a.code, a.detail)
			if strings.Contains(a.name, "ID number") {
				messages = append(messages, healthcode.ErrorMessage(outs[0].Err))
			}
		}
	}
	// The lab learns nothing of who is registered: the answers for a
	// registered and an unregistered ID number are the same.
	if len(messages) != 4 || messages[0] != messages[2] || messages[1] != messages[3] {
		t.Errorf("answers for registered and unregistered ID numbers differ: %q", messages)
	}
	// A lab cannot collect either.
	if _, err := e.eng.Collect(e.ctx, lab, []healthcode.CollectionRequest{sample(e.ids[6], "LAB-1", at)}); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("a lab recording a collection: %v, want forbidden", err)
	}
	if got := e.logSize(); got != size {
		t.Errorf("the refused attempts grew the log by %d", got-size)
	}
	for i, s := range e.subj {
		if d := e.decision(s); d != nil {
			t.Errorf("person %d holds %v after the refused attempts", i, d.Colour)
		}
	}

	// Lawful: a tube a sampling site of another unit collected; the lab's
	// positive turns its person red in the same request.
	e.collectOK(sample(e.ids[7], "LAWFUL-1", at))
	o := e.submitOK(lab, tubeResult(1, "LAWFUL-1", healthcode.Positive))[0]
	if o.Decision == nil || o.Decision.Colour != healthcode.Red || o.Decision.RuleID != "positive_test" || o.Subject != e.subj[7] {
		t.Fatalf("a collected tube's positive: %+v, want its person red at once", o)
	}
	v, err := e.eng.Code(e.ctx, e.subj[7])
	if err != nil || v.Decision.Colour != healthcode.Red {
		t.Fatalf("the person's code after the positive: %+v, %v", v, err)
	}
	evs := e.evidence(e.subj[7])
	if len(evs) != 1 || !evs[0].ObservedAt.Equal(at) || evs[0].Submitter != lab.ID || evs[0].Pooled {
		t.Errorf("evidence %+v, want one single-tube result dated at its collection", evs)
	}
	// A clinic of another unit than the sampler may report a tube too (a
	// hospital laboratory), under the same rules.
	e.collectOK(sample(e.ids[8], "LAWFUL-2", at))
	if o := e.submitOK(clinic, tubeResult(1, "LAWFUL-2", healthcode.Positive))[0]; o.Decision == nil || o.Decision.Colour != healthcode.Red {
		t.Errorf("a clinic's positive for a collected tube: %+v", o)
	}

	// A positive mixed tube marks everyone in it until a single-tube
	// retest; the others in the city stay as they are.
	var members []healthcode.CollectionRequest
	for i := 10; i < 15; i++ {
		c := sample(e.ids[i], "MIX-1", at)
		c.Mixed = true
		members = append(members, c)
	}
	e.collectOK(members...)
	e.submitOK(lab, tubeResult(1, "MIX-1", healthcode.Positive))
	for i := 10; i < 15; i++ {
		if d := e.decision(e.subj[i]); d == nil || d.Colour != healthcode.Red || d.RuleID != "pooled_positive" {
			t.Errorf("member %d of the positive mixed tube: %+v", i, d)
		}
	}
	e.collectOK(sample(e.ids[10], "RETEST-10", t0.Add(-30*time.Minute)))
	e.submitOK(lab, tubeResult(1, "RETEST-10", healthcode.Negative))
	if d := e.decision(e.subj[10]); d == nil || d.Colour != healthcode.Green {
		t.Errorf("after a negative single-tube retest: %+v, want green", d)
	}
	if d := e.decision(e.subj[11]); d == nil || d.Colour != healthcode.Red {
		t.Errorf("a member not yet retested: %+v, want red still", d)
	}
	for _, i := range []int{3, 4, 5, 6, 9, 16} {
		if d := e.decision(e.subj[i]); d != nil {
			t.Errorf("person %d, in no tube reported positive, holds %+v", i, d)
		}
	}
}

// TestCollectRejectsBadItemsAlone: a collection by anyone but a sampler, or
// one its tube cannot take, is refused with a clear error and changes
// nothing; good items in the same batch go on.
func TestCollectRejectsBadItemsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 30})
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	codes, err := qr.NewService(key, region)
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Codes = codes
	other, err := qr.NewService(ed25519.NewKeyFromSeed(append(make([]byte, 31), 1)), region)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	code := func(svc *qr.Service, region string, i int, expires time.Time) string {
		text, err := svc.SignCode(&healthcode.HealthCode{Region: region, Subject: e.subj[i], MaskedName: "张*明", Colour: healthcode.Green,
			IssuedAt: now.Add(-time.Minute), Expires: expires, RuleSetVersion: "cn-2022.06-9"})
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	at := now.Add(-time.Hour)

	// Roles other than sampler record nothing, whatever they send.
	size := e.logSize()
	for _, p := range []*healthcode.Principal{lab, clinic, epi, admin,
		{ID: "op-1", Name: "operator", Role: healthcode.RoleOperator, Unit: "x"},
		{Name: "张*明", Role: healthcode.RoleCitizen, Subject: e.subj[0]},
		{ID: "sampler-9", Name: "无单位采样员", Role: healthcode.RoleSampler}, // a sampler of no unit
		nil} {
		_, err := e.eng.Collect(e.ctx, p, []healthcode.CollectionRequest{sample(e.ids[0], "ROLE-1", at)})
		if healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
			t.Errorf("collection by %+v: %v, want forbidden", p, err)
		}
	}
	if e.logSize() != size {
		t.Errorf("refused callers grew the log")
	}

	// The tubes the bad items run into.
	var full []healthcode.CollectionRequest
	for i := range healthcode.MaxMixedTube {
		c := sample(e.ids[(10+i)%30], "FULL-MIX", at)
		c.Mixed = true
		full = append(full, c)
	}
	e.collectOK(full...)
	e.collectOK(sample(e.ids[1], "SINGLE-1", at), sample(e.ids[2], "DONE-1", at))
	e.submitOK(lab, tubeResult(1, "DONE-1", healthcode.Negative))
	otherUnit := &healthcode.Principal{ID: "sampler-2", Name: "二七区第1核酸采样点", Role: healthcode.RoleSampler, Unit: "二七区核酸采样队"}
	if outs, err := e.eng.Collect(e.ctx, otherUnit, []healthcode.CollectionRequest{sample(e.ids[3], "OTHER-1", at)}); err != nil || outs[0].Status != healthcode.Accepted {
		t.Fatalf("another unit's tube: %+v, %v", outs, err)
	}
	mixedAsSingle := sample(e.ids[4], "FULL-MIX", at)
	unregistered := "41010219900101123" + string(healthcode.IDCheckDigit("41010219900101123"))

	for k, tc := range []struct {
		name         string
		req          healthcode.CollectionRequest
		person       int // whose collections must not change, -1 for none
		code, detail string
	}{
		{"no person", healthcode.CollectionRequest{Tube: "B-1", Site: "s", CollectedAt: at}, -1, healthcode.EINVALID, "collection.person"},
		{"code and ID number", func() healthcode.CollectionRequest {
			c := sample(e.ids[5], "B-2", at)
			c.Code = code(codes, region, 5, now.Add(time.Minute))
			return c
		}(), 5, healthcode.EINVALID, "collection.person"},
		{"a bad check digit", sample(e.ids[5][:17]+map[bool]string{true: "0", false: "1"}[e.ids[5][17] == '1'], "B-3", at), 5, healthcode.ENOTFOUND, "person.unknown"},
		{"a short ID number", sample(e.ids[5][:17], "B-3", at), 5, healthcode.EINVALID, "id_number.format"},
		{"an unregistered ID number", sample(unregistered, "B-4", at), -1, healthcode.ENOTFOUND, "person.unknown"},
		{"a code that is not one", healthcode.CollectionRequest{Code: "HC1:nonsense", Tube: "B-5", Site: "s", CollectedAt: at}, -1, healthcode.EINVALID, qr.ReasonMalformed},
		{"a code signed by another key", healthcode.CollectionRequest{Code: code(other, region, 6, now.Add(time.Minute)), Tube: "B-6", Site: "s", CollectedAt: at},
			6, healthcode.EINVALID, qr.ReasonUnknownKey},
		{"an expired code", healthcode.CollectionRequest{Code: code(codes, region, 7, now.Add(-time.Second)), Tube: "B-7", Site: "s", CollectedAt: at},
			7, healthcode.EINVALID, qr.ReasonExpired},
		{"no tube", sample(e.ids[8], "", at), 8, healthcode.EINVALID, "tube.id"},
		{"a tube id with a control character", sample(e.ids[8], "B\x01", at), 8, healthcode.EINVALID, "tube.id"},
		{"a tube id too long", sample(e.ids[8], strings.Repeat("T", healthcode.MaxTubeID+1), at), 8, healthcode.EINVALID, "tube.id"},
		{"no site", func() healthcode.CollectionRequest { c := sample(e.ids[8], "B-8", at); c.Site = ""; return c }(), 8, healthcode.EINVALID, "collection.site"},
		{"sampled in the future", sample(e.ids[8], "B-9", now.Add(healthcode.MaxClockSkew+time.Second)), 8, healthcode.EINVALID, "collection.future_time"},
		{"sampled before the epidemic", sample(e.ids[8], "B-10", healthcode.Epoch.Add(-time.Hour)), 8, healthcode.EINVALID, "collection.collected_at"},
		{"a tube with its result in", sample(e.ids[8], "DONE-1", at), 8, healthcode.ECONFLICT, "tube.resulted"},
		{"a tube another unit opened", sample(e.ids[8], "OTHER-1", at), 8, healthcode.ECONFLICT, "tube.other_unit"},
		{"a single tube holding someone", sample(e.ids[8], "SINGLE-1", at), 8, healthcode.ECONFLICT, "tube.full"},
		{"a full mixed tube", func() healthcode.CollectionRequest { c := sample(e.ids[8], "FULL-MIX", at); c.Mixed = true; return c }(), 8, healthcode.ECONFLICT, "tube.full"},
		{"a mixed tube taken for a single one", mixedAsSingle, 4, healthcode.ECONFLICT, "tube.mixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := sample(e.ids[0], fmt.Sprintf("G-%d", k), at)
			good.Line, tc.req.Line = 1, 2
			size := e.logSize()
			var before []healthcode.Collection
			e.view(func(tx healthcode.ReadTx) error { before, _ = tx.TubeMembers(e.ctx, tc.req.Tube); return nil })
			outs, err := e.eng.Collect(e.ctx, sampler, []healthcode.CollectionRequest{good, tc.req})
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Status != healthcode.Accepted || outs[0].Line != 1 || outs[0].CollectionID == 0 {
				t.Errorf("good item: %+v", outs[0])
			}
			if o := outs[1]; o.Status != healthcode.Rejected || o.Line != 2 || o.CollectionID != 0 {
				t.Errorf("bad item: %+v, want rejected on line 2", o)
			}
			wantCode(t, "bad item", outs[1].Err, tc.code, tc.detail)
			if got := e.logSize(); got != size+1 {
				t.Errorf("log grew by %d, want 1 (the good item)", got-size)
			}
			var after []healthcode.Collection
			e.view(func(tx healthcode.ReadTx) error { after, _ = tx.TubeMembers(e.ctx, tc.req.Tube); return nil })
			if len(after) != len(before) {
				t.Errorf("tube %q had %d members, has %d", tc.req.Tube, len(before), len(after))
			}
		})
	}

	// A verified code of this region names its person; the same person in
	// the same tube again is a duplicate, logged once.
	c := healthcode.CollectionRequest{Code: code(codes, region, 9, now.Add(time.Minute)), Tube: "QR-1", Site: "金水区文化路采样点", CollectedAt: at}
	o := e.collectOK(c)[0]
	size = e.logSize()
	again, err := e.eng.Collect(e.ctx, sampler, []healthcode.CollectionRequest{sample(e.ids[9], "QR-1", at)})
	if err != nil || again[0].Status != healthcode.Duplicate || again[0].CollectionID != o.CollectionID || e.logSize() != size {
		t.Errorf("the same person in the same tube again: %+v, %v (log %d → %d)", again, err, size, e.logSize())
	}
	var members []healthcode.Collection
	e.view(func(tx healthcode.ReadTx) error { members, _ = tx.TubeMembers(e.ctx, "QR-1"); return nil })
	if len(members) != 1 || members[0].Subject != e.subj[9] || members[0].CollectorUnit != sampler.Unit || members[0].Collector != sampler.ID {
		t.Errorf("tube QR-1 holds %+v", members)
	}
	// A code of another region, signed with a key the node trusts for it,
	// is not this node's person.
	foreign := healthcode.CollectionRequest{Code: code(codes, "420100", 9, now.Add(time.Minute)), Tube: "QR-2", Site: "s", CollectedAt: at}
	if outs, err := e.eng.Collect(e.ctx, sampler, []healthcode.CollectionRequest{foreign}); err != nil || outs[0].Status != healthcode.Rejected {
		t.Errorf("a code of another region: %+v, %v", outs, err)
	}
}

// TestPurgeDeletesCollections: a collection is personal data kept as long
// as the test results it leads to; past that the purge deletes it and the
// opening of its log leaf, so the log no longer links it to anyone.
func TestPurgeDeletesCollections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	size := e.logSize()
	e.collectOK(sample(e.ids[0], "OLD-1", t0.Add(-time.Hour)))
	leaf := size // the collection's leaf
	e.clock.Advance(10 * healthcode.Day)
	e.collectOK(sample(e.ids[1], "NEW-1", e.clock.Now().Add(-time.Hour)))
	e.clock.Advance(20 * healthcode.Day) // OLD-1 is 30 days old, NEW-1 20
	rep, err := e.eng.Purge(e.ctx, healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts["collections"] != 1 || rep.Counts["log_openings/collections"] != 1 {
		t.Errorf("purge counts %v, want one collection and its opening", rep.Counts)
	}
	e.view(func(tx healthcode.ReadTx) error {
		if _, _, err := tx.LogOpening(e.ctx, leaf); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			t.Errorf("the purged collection's leaf still opens: %v", err)
		}
		if m, _ := tx.TubeMembers(e.ctx, "OLD-1"); len(m) != 0 {
			t.Errorf("purged tube members: %+v", m)
		}
		if m, _ := tx.TubeMembers(e.ctx, "NEW-1"); len(m) != 1 {
			t.Errorf("a recent tube's members: %+v", m)
		}
		return nil
	})
	// A result for the purged tube finds no one to rest on.
	outs := e.submit(lab, tubeResult(1, "OLD-1", healthcode.Positive))
	wantCode(t, "a result for a purged tube", outs[0].Err, healthcode.ENOTFOUND, "tube.unknown")
}
