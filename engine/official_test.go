package engine_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/engine"
)

// openedLeaves decodes the leaves from index from on, opening those whose
// opening is kept.
func (e *env) openedLeaves(from int64) []healthcode.LogEntry {
	e.t.Helper()
	var out []healthcode.LogEntry
	for i, l := range e.leaves(from) {
		entry := l.Entry
		e.view(func(tx healthcode.ReadTx) error {
			s, opening, err := tx.LogOpening(e.ctx, from+int64(i))
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
			opened, err := l.Open(s, opening)
			if err != nil {
				return err
			}
			entry = *opened
			return nil
		})
		out = append(out, entry)
	}
	return out
}

// names reports whether a log entry names the official by id and unit.
func names(entry healthcode.LogEntry, p *healthcode.Principal) bool {
	return strings.Contains(entry.ActorName, p.ID) && strings.Contains(entry.ActorName, p.Unit) && entry.ActorRole == p.Role
}

// TestOfficialsAreLogged: the registry and every official action — a unit
// and officials created, a token issued and revoked, a venue approved and
// suspended, a purpose-bound read, a tracing query — are log entries naming
// the acting official's id and unit; a revoked or expired token is refused
// at the next request, and so is a page session of it.
func TestOfficialsAreLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 4})
	ctx := e.ctx
	size := e.logSize()

	// An admin adds units and proposes three officials; each needs the
	// second admin.
	bureau, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "市大数据局"})
	if err != nil {
		t.Fatal(err)
	}
	cdc, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "市疾控中心", Region: "410102"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bureau.ID, "u") || bureau.ID == cdc.ID || bureau.Region != region || cdc.Region != "410102" {
		t.Fatalf("units %+v, %+v", bureau, cdc)
	}
	none, prop, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: bureau.ID})
	if err != nil || none != nil || prop == nil {
		t.Fatalf("CreateOfficial(operator) = %+v, %+v, %v: want a proposal", none, prop, err)
	}
	op, err := e.eng.ApproveOfficial(ctx, admin2, prop.ID)
	if err != nil || !strings.HasPrefix(op.ID, "o") || op.Unit != bureau.ID {
		t.Fatalf("ApproveOfficial(operator) = %+v, %v", op, err)
	}
	_, prop, err = e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: cdc.ID})
	if err != nil || prop == nil {
		t.Fatalf("CreateOfficial(epidemiologist) = %+v, %v: want a proposal", prop, err)
	}
	epiO, err := e.eng.ApproveOfficial(ctx, admin2, prop.ID)
	if err != nil {
		t.Fatal(err)
	}
	none, prop, err = e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: cdc.ID})
	if err != nil || none != nil || prop == nil {
		t.Fatalf("CreateOfficial(approver) = %+v, %+v, %v: want a proposal", none, prop, err)
	}
	approver, err := e.eng.ApproveOfficial(ctx, admin2, prop.ID)
	if err != nil || approver.Role != healthcode.RoleApprover || approver.ID != prop.Official.ID {
		t.Fatalf("ApproveOfficial = %+v, %v", approver, err)
	}
	adminP := *admin // as registered (provisioned with its unit)
	registry := e.openedLeaves(size)
	want := []struct {
		typ  healthcode.LogType
		by   *healthcode.Principal
		what string
	}{
		{healthcode.LogUnit, &adminP, bureau.ID + " created"},
		{healthcode.LogUnit, &adminP, cdc.ID + " created"},
		{healthcode.LogOfficial, &adminP, op.ID + " proposed"},
		{healthcode.LogOfficial, admin2, op.ID + " created"},
		{healthcode.LogOfficial, &adminP, epiO.ID + " proposed"},
		{healthcode.LogOfficial, admin2, epiO.ID + " created"},
		{healthcode.LogOfficial, &adminP, approver.ID + " proposed"},
		{healthcode.LogOfficial, admin2, approver.ID + " created"},
	}
	if len(registry) != len(want) {
		t.Fatalf("the registry logged %d entries, want %d: %+v", len(registry), len(want), registry)
	}
	for i, w := range want {
		if g := registry[i]; g.Type != w.typ || !names(g, w.by) || !strings.Contains(g.Ref, w.what) || g.Subject != "" {
			t.Errorf("registry entry %d = %+v, want %s naming %s: %q", i, g, w.typ, w.by.ID, w.what)
		}
	}

	// Tokens: issued and logged, the secret never in the log.
	// An official's token is proposed by one admin and issued by the second.
	for _, id := range []string{op.ID, epiO.ID} {
		if it, prop, err := e.eng.IssueToken(ctx, admin, id); err != nil || it != nil || prop == nil {
			t.Fatalf("one admin's token for %s: %+v, %+v, %v: want a proposal", id, it, prop, err)
		}
	}
	size = e.logSize()
	opTok, _, err := e.eng.IssueToken(ctx, admin2, op.ID)
	if err != nil || opTok == nil {
		t.Fatal(opTok, err)
	}
	epiTok, _, err := e.eng.IssueToken(ctx, admin2, epiO.ID)
	if err != nil || epiTok == nil {
		t.Fatal(epiTok, err)
	}
	citTok, err := e.eng.IssueCitizenToken(ctx, admin, e.subj[0], "in_person_request")
	if err != nil {
		t.Fatal(err)
	}
	if opTok.Token.ID != engine.TokenID(opTok.Secret) || !opTok.Token.Expires.Equal(t0.Add(healthcode.DefaultTokenTTL()[healthcode.RoleOperator])) {
		t.Errorf("operator token %+v", opTok.Token)
	}
	var issued []healthcode.LogEntry
	for _, g := range e.openedLeaves(size) {
		if g.Type == healthcode.LogToken {
			issued = append(issued, g)
		}
	}
	if len(issued) != 3 {
		t.Fatalf("%d token entries, want 3: %+v", len(issued), issued)
	}
	for i, tok := range []*engine.IssuedToken{opTok, epiTok, citTok} {
		g, by := issued[i], admin2
		if i == 2 {
			by = &adminP
		}
		if g.Type != healthcode.LogToken || g.Reason != "issued" || !names(g, by) || !strings.Contains(g.Ref, tok.Token.ID) {
			t.Errorf("token entry %d = %+v", i, g)
		}
		if tok.Token.Principal.Role == healthcode.RoleCitizen && g.Subject != e.subj[0] {
			t.Errorf("a citizen's token is logged about no one: %+v", g)
		}
		if tok.Token.Principal.Role != healthcode.RoleCitizen && !strings.Contains(g.Ref, tok.Token.Principal.ID) {
			t.Errorf("an official's token entry does not name the official: %+v", g)
		}
	}
	for _, l := range e.leaves(0) {
		for _, tok := range []*engine.IssuedToken{opTok, epiTok, citTok} {
			if bytes.Contains([]byte(l.Entry.Ref+l.Entry.ActorName+l.Entry.Reason), []byte(tok.Secret)) {
				t.Fatalf("a token's secret is in the log: %+v", l.Entry)
			}
		}
	}
	operator, err := e.eng.Authenticate(ctx, opTok.Secret)
	if err != nil || operator.ID != op.ID || operator.Unit != bureau.ID || operator.Role != healthcode.RoleOperator {
		t.Fatalf("Authenticate(operator) = %+v, %v", operator, err)
	}
	epidemiologist, err := e.eng.Authenticate(ctx, epiTok.Secret)
	if err != nil {
		t.Fatal(err)
	}

	// A venue approved and suspended: logged naming the operator.
	owner := &healthcode.Principal{ID: "owner-1", Name: "老王面馆", Role: healthcode.RoleVenue, Unit: "老王面馆"}
	v, err := e.eng.RegisterVenue(ctx, owner, healthcode.Venue{Name: "老王面馆", Address: "二七路 1 号", Region: "410102", Category: "restaurant"})
	if err != nil {
		t.Fatal(err)
	}
	size = e.logSize()
	if err := e.eng.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	// A check-in at the live code, for the tracing query below.
	citizen := &healthcode.Principal{ID: e.subj[1], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	if _, _, err := e.eng.CheckIn(ctx, citizen, v.LiveCode(e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.eng.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueSuspended); err != nil {
		t.Fatal(err)
	}
	for i, g := range e.openedLeaves(size) {
		what := []string{"approved", "suspended"}[i]
		if g.Type != healthcode.LogVenue || g.Reason != what || !names(g, operator) || !strings.Contains(g.Ref, v.ID) {
			t.Errorf("venue entry %d = %+v, want %s naming %s", i, g, what, op.ID)
		}
	}

	// A read cites a record about the person (their appeal); a trace, a
	// case whose person was at the venue (person 1, diagnosed now).
	caseID := e.openCaseOf(1, e.clock.Now())
	appeal, err := e.eng.FileAppeal(ctx, &healthcode.Principal{ID: e.subj[2], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[2]},
		healthcode.AppealCorrection, "")
	if err != nil {
		t.Fatal(err)
	}
	appealRef := "appeal/" + strconv.FormatInt(appeal.ID, 10)

	// A purpose-bound read: logged about the person, naming the official.
	size = e.logSize()
	if _, err := e.eng.CodeFor(ctx, operator, e.subj[2], "appeal_review", appealRef); err != nil {
		t.Fatal(err)
	}
	read := e.openedLeaves(size)
	if len(read) != 1 || read[0].Type != healthcode.LogRead || read[0].Subject != e.subj[2] || read[0].Reason != "appeal_review" ||
		!names(read[0], operator) || read[0].Note != "case/"+appealRef {
		t.Errorf("read entries %+v", read)
	}

	// A tracing query: one entry for the query, one per person found,
	// holding a commitment to the person, never the pseudonym in clear.
	size = e.logSize()
	found, err := e.eng.TraceVenue(ctx, epidemiologist, v.ID, t0.Add(-time.Hour), t0.Add(time.Hour), "contact_tracing", caseID, healthcode.CheckInCursor{}, 0)
	if err != nil || len(found.Presence) != 1 {
		t.Fatalf("TraceVenue = %v, %v", found, err)
	}
	trace := e.openedLeaves(size)
	if len(trace) != 2 || trace[0].Type != healthcode.LogTrace || trace[0].Subject != "" || !names(trace[0], epidemiologist) ||
		trace[0].Note != "case/"+caseID || !strings.Contains(trace[0].Ref, v.ID) || !strings.Contains(trace[0].Ref, "1 people") ||
		trace[1].Type != healthcode.LogTrace || trace[1].Subject != e.subj[1] || !names(trace[1], epidemiologist) || trace[0].Reason != "contact_tracing" {
		t.Fatalf("trace entries %+v", trace)
	}
	e.view(func(tx healthcode.ReadTx) error {
		for i := size; i < size+2; i++ {
			b, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(e.subj[1])) || bytes.Contains(b, []byte(caseID)) {
				t.Errorf("trace leaf %d holds the pseudonym or the case in clear", i)
			}
		}
		return nil
	})

	// Revocation: logged, and the token is refused at once, as is a page
	// session opened with it.
	sid, _, _, err := e.eng.StartSession(ctx, opTok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	size = e.logSize()
	if _, err := e.eng.RevokeToken(ctx, admin, opTok.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Authenticate(ctx, opTok.Secret)
	wantCode(t, "a revoked token", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")
	_, err = e.eng.SessionPrincipal(ctx, sid)
	wantCode(t, "a session of a revoked token", err, healthcode.EUNAUTHORIZED, "auth.session")
	if err := e.eng.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err) // in process the principal still acts: the HTTP layer authenticates each request
	}
	revoked := e.openedLeaves(size)
	if len(revoked) != 2 || revoked[0].Type != healthcode.LogToken || revoked[0].Reason != "revoked" || !names(revoked[0], &adminP) ||
		!strings.Contains(revoked[0].Ref, opTok.Token.ID) {
		t.Errorf("revocation entries %+v", revoked)
	}
	// A holder revokes their own token.
	if _, err := e.eng.RevokeToken(ctx, epidemiologist, epiTok.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Authenticate(ctx, epiTok.Secret)
	wantCode(t, "a token its holder revoked", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")

	// Expiry: the citizen's token lives a year, checked on every request.
	if _, err := e.eng.Authenticate(ctx, citTok.Secret); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(citTok.Token.Expires)
	_, err = e.eng.Authenticate(ctx, citTok.Secret)
	wantCode(t, "an expired token", err, healthcode.EUNAUTHORIZED, "auth.expired_token")
	_, _, _, err = e.eng.StartSession(ctx, citTok.Secret)
	wantCode(t, "a session of an expired token", err, healthcode.EUNAUTHORIZED, "auth.expired_token")
}

// TestRegistryRefusals: each bad request gets a clear error and changes
// nothing, in the registry or the log.
func TestRegistryRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	ctx := e.ctx
	unitA, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "市大数据局"})
	if err != nil {
		t.Fatal(err)
	}
	_, prop, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "监督员 孙丽", Role: healthcode.RoleAuditor, Unit: unitA.ID})
	if err != nil || prop == nil {
		t.Fatalf("proposal %+v, %v", prop, err)
	}
	labTok, _, err := e.eng.IssueToken(ctx, admin, lab.ID)
	if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Fatalf("a token for an official not in the registry: %+v, %v", labTok, err)
	}
	lab := *lab
	tok, err := e.eng.CreateToken(ctx, &lab)
	if err != nil {
		t.Fatal(err)
	}
	labP, err := e.eng.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The first admin, under another name: still the first, by official id.
	sameAdmin := *admin
	sameAdmin.Name = "管理员 陈静"
	stranger := &healthcode.Principal{ID: "o-nobody", Name: admin2.Name, Role: healthcode.RoleAdmin, Unit: admin2.Unit}
	size := e.logSize()
	for _, tc := range []struct {
		name         string
		fn           func() error
		code, detail string
	}{
		{"the second admin is the first", func() error { _, err := e.eng.ApproveOfficial(ctx, admin, prop.ID); return err },
			healthcode.EFORBIDDEN, "official.self_approval"},
		{"the first admin under the second's name", func() error { _, err := e.eng.ApproveOfficial(ctx, &sameAdmin, prop.ID); return err },
			healthcode.EFORBIDDEN, "official.self_approval"},
		{"an admin not in the registry", func() error { _, err := e.eng.ApproveOfficial(ctx, stranger, prop.ID); return err },
			healthcode.EFORBIDDEN, "official.unknown"},
		{"a lab approves", func() error { _, err := e.eng.ApproveOfficial(ctx, labP, prop.ID); return err }, healthcode.EFORBIDDEN, "auth.role"},
		{"an unknown proposal", func() error { _, err := e.eng.ApproveOfficial(ctx, admin2, 999); return err }, healthcode.ENOTFOUND, ""},
		{"a lab makes a unit", func() error { _, err := e.eng.CreateUnit(ctx, labP, healthcode.Unit{Name: "x"}); return err },
			healthcode.EFORBIDDEN, "auth.role"},
		{"a unit with a bad region", func() error {
			_, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "x", Region: "999999"})
			return err
		}, healthcode.EINVALID, ""},
		{"a unit with no name", func() error { _, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: " "}); return err },
			healthcode.EINVALID, "unit.name"},
		{"an official of no unit", func() error {
			_, _, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "x", Role: healthcode.RoleLab})
			return err
		}, healthcode.EINVALID, "official.unit"},
		{"an official of an unknown unit", func() error {
			_, _, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "x", Role: healthcode.RoleLab, Unit: "u-none"})
			return err
		}, healthcode.ENOTFOUND, "unit.unknown"},
		{"a citizen as an official", func() error {
			_, _, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "x", Role: healthcode.RoleCitizen, Unit: unitA.ID})
			return err
		}, healthcode.EINVALID, "official.role"},
		{"the system as an official", func() error {
			_, _, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "x", Role: healthcode.RoleSystem, Unit: unitA.ID})
			return err
		}, healthcode.EINVALID, "role.unknown"},
		{"a lab issues a token", func() error { _, _, err := e.eng.IssueToken(ctx, labP, labP.ID); return err }, healthcode.EFORBIDDEN, "auth.role"},
		{"a lab revokes another's token", func() error { _, err := e.eng.RevokeToken(ctx, labP, engine.TokenID("hc_x")); return err },
			healthcode.ENOTFOUND, ""},
		{"an unknown token revoked", func() error { _, err := e.eng.RevokeToken(ctx, admin, "t0000000000000000"); return err },
			healthcode.ENOTFOUND, "token.unknown"},
		{"an admin revoked below two", func() error { _, err := e.eng.RevokeOfficial(ctx, admin, admin2.ID); return err },
			healthcode.ECONFLICT, "official.last_admins"},
		{"a change that changes nothing", func() error { _, _, err := e.eng.ChangeOfficial(ctx, admin, labP.ID, labP.Name, ""); return err },
			healthcode.EINVALID, "official.no_change"},
		{"a second Init", func() error {
			_, _, err := e.eng.Init(ctx, healthcode.Unit{Name: "x"}, []string{"a", "b"})
			return err
		}, healthcode.ECONFLICT, "init.done"},
	} {
		err := tc.fn()
		wantCode(t, tc.name, err, tc.code, tc.detail)
	}
	if n := e.logSize(); n != size {
		t.Errorf("refusals logged %d entries", n-size)
	}
	e.view(func(tx healthcode.ReadTx) error {
		if p, err := tx.OfficialProposal(ctx, prop.ID); err != nil || p.Status != healthcode.ProposalPending {
			t.Errorf("the proposal after the refusals: %+v, %v", p, err)
		}
		if _, err := tx.Official(ctx, prop.Official.ID); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			t.Errorf("the proposed auditor exists: %v", err)
		}
		return nil
	})

	// A revoked official: their tokens are refused, a proposal of a revoked
	// admin cannot be approved, a revoked official gets no new token.
	if _, err := e.eng.RevokeOfficial(ctx, admin, labP.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Authenticate(ctx, tok)
	wantCode(t, "a revoked official's token", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")
	_, _, err = e.eng.IssueToken(ctx, admin, labP.ID)
	wantCode(t, "a token for a revoked official", err, healthcode.ECONFLICT, "official.revoked")
	_, err = e.eng.RevokeOfficial(ctx, admin, labP.ID)
	wantCode(t, "revoked twice", err, healthcode.ECONFLICT, "official.revoked")
}

// TestInitOnce: an empty node is bootstrapped once, with two admins or
// more, logged naming the system; afterwards only admins create officials.
func TestInitOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{noRuleSet: true})
	ctx := e.ctx
	_, _, err := e.eng.Init(ctx, healthcode.Unit{Name: "卫健委信息中心"}, []string{"管理员 甲"})
	wantCode(t, "Init with one admin", err, healthcode.EINVALID, "init.admins")
	if n := e.logSize(); n != 0 {
		t.Fatalf("a refused Init logged %d entries", n)
	}
	u, toks, err := e.eng.Init(ctx, healthcode.Unit{Name: "卫健委信息中心"}, []string{"管理员 甲", "管理员 乙"})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 || toks[0].Token.Principal.ID == toks[1].Token.Principal.ID || toks[0].Token.Principal.Unit != u.ID {
		t.Fatalf("Init tokens %+v", toks)
	}
	a1, err := e.eng.Authenticate(ctx, toks[0].Secret)
	if err != nil || a1.Role != healthcode.RoleAdmin {
		t.Fatalf("Authenticate(first admin) = %+v, %v", a1, err)
	}
	entries := e.openedLeaves(0)
	if len(entries) != 5 {
		t.Fatalf("Init logged %d entries, want 5 (unit, two officials, two tokens)", len(entries))
	}
	for _, g := range entries {
		if g.ActorRole != healthcode.RoleSystem || g.ActorName != "healthcode admin init" {
			t.Errorf("init entry %+v", g)
		}
	}
	size := e.logSize()
	_, _, err = e.eng.Init(ctx, healthcode.Unit{Name: "另一个"}, []string{"管理员 丙", "管理员 丁"})
	wantCode(t, "a second Init", err, healthcode.ECONFLICT, "init.done")
	if n := e.logSize(); n != size {
		t.Errorf("a refused Init logged %d entries", n-size)
	}
	// The two admins make a third admin together, not alone.
	_, prop, err := e.eng.CreateOfficial(ctx, a1, healthcode.Official{Name: "管理员 丙", Role: healthcode.RoleAdmin, Unit: u.ID})
	if err != nil || prop == nil {
		t.Fatalf("CreateOfficial(admin) = %+v, %v", prop, err)
	}
	_, err = e.eng.ApproveOfficial(ctx, a1, prop.ID)
	wantCode(t, "the proposer approves", err, healthcode.EFORBIDDEN, "official.self_approval")
	a2, _ := e.eng.Authenticate(ctx, toks[1].Secret)
	if _, err := e.eng.ApproveOfficial(ctx, a2, prop.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.ApproveOfficial(ctx, a2, prop.ID)
	wantCode(t, "approved twice", err, healthcode.ECONFLICT, "proposal.decided")
}
