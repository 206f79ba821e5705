package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

func testTokens(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	want := &healthcode.Token{ID: "t01", Hash: []byte("h1"), Principal: healthcode.Principal{ID: "lab-1", Name: "第一检测所", Role: healthcode.RoleLab, Unit: "lab-1"},
		IssuedAt: t0, IssuedBy: "o-admin", Expires: t0.Add(time.Hour)}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateToken(ctx, want) })
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Token(ctx, []byte("h1"))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Token (-want +got):\n%s", diff)
		}
		if got, err = tx.TokenByID(ctx, "t01"); err != nil || !cmp.Equal(want, got) {
			t.Errorf("TokenByID = %+v, %v", got, err)
		}
		_, err = tx.Token(ctx, []byte("h2"))
		wantCode(t, err, healthcode.EUNAUTHORIZED)
		_, err = tx.TokenByID(ctx, "t02")
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.CreateToken(ctx, want) })
	wantCode(t, err, healthcode.ECONFLICT)

	// Revocation: once, then a conflict; the time is kept.
	at := t0.Add(time.Minute)
	update(t, s, func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t01", at) })
	err = s.Update(ctx, func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t01", at) })
	wantCode(t, err, healthcode.ECONFLICT)
	err = s.Update(ctx, func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t99", at) })
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Token(ctx, []byte("h1"))
		if err != nil || !got.RevokedAt.Equal(at) {
			t.Errorf("revoked token = %+v, %v; want RevokedAt %s", got, err, at)
		}
		return nil
	})
}

func testRegistry(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	u := &healthcode.Unit{ID: "u1", Name: "市疾控中心", Region: "410100", CreatedAt: t0, CreatedBy: "system"}
	o := &healthcode.Official{ID: "o1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "u1", Status: healthcode.OfficialActive,
		CreatedAt: t0, CreatedBy: "o-admin"}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateUnit(ctx, u); err != nil {
			return err
		}
		return tx.CreateOfficial(ctx, o)
	})
	for _, tc := range []struct {
		name string
		fn   func(tx healthcode.Tx) error
		code string
	}{
		{"unit twice", func(tx healthcode.Tx) error { return tx.CreateUnit(ctx, u) }, healthcode.ECONFLICT},
		{"official twice", func(tx healthcode.Tx) error { return tx.CreateOfficial(ctx, o) }, healthcode.ECONFLICT},
		{"official of an unknown unit", func(tx healthcode.Tx) error {
			x := *o
			x.ID, x.Unit = "o2", "nowhere"
			return tx.CreateOfficial(ctx, &x)
		}, healthcode.ENOTFOUND},
		{"moved to an unknown unit", func(tx healthcode.Tx) error {
			x := *o
			x.Unit = "nowhere"
			return tx.UpdateOfficial(ctx, &x)
		}, healthcode.ENOTFOUND},
		{"unknown official changed", func(tx healthcode.Tx) error {
			x := *o
			x.ID = "o9"
			return tx.UpdateOfficial(ctx, &x)
		}, healthcode.ENOTFOUND},
	} {
		err := s.Update(ctx, tc.fn)
		if healthcode.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// A token's principal follows the official's record.
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateUnit(ctx, &healthcode.Unit{ID: "u2", Name: "区疾控中心", Region: "410102", CreatedAt: t0, CreatedBy: "system"}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &healthcode.Token{ID: "tx", Hash: []byte("hx"), Principal: *o.Principal(), IssuedAt: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		x := *o
		x.Name, x.Unit, x.ChangedAt = "流调员 李娜（调任）", "u2", t0.Add(time.Hour)
		return tx.UpdateOfficial(ctx, &x)
	})
	p := &healthcode.OfficialProposal{Official: healthcode.Official{ID: "o3", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "u1"},
		Status: healthcode.ProposalPending, ProposedBy: healthcode.Principal{ID: "o-admin", Name: "管理员", Role: healthcode.RoleAdmin, Unit: "u1"}, ProposedAt: t0}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateOfficialProposal(ctx, p) })
	if p.ID == 0 {
		t.Fatal("CreateOfficialProposal set no ID")
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Unit(ctx, "u1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("Unit (-want +got):\n%s", diff)
		}
		if us, err := tx.Units(ctx); err != nil || len(us) != 2 || us[0].ID != "u1" {
			t.Errorf("Units = %+v, %v", us, err)
		}
		_, err = tx.Unit(ctx, "u9")
		wantCode(t, err, healthcode.ENOTFOUND)
		og, err := tx.Official(ctx, "o1")
		if err != nil || og.Unit != "u2" || og.Name != "流调员 李娜（调任）" || !og.ChangedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("Official after change = %+v, %v", og, err)
		}
		if os, err := tx.Officials(ctx); err != nil || len(os) != 1 {
			t.Errorf("Officials = %+v, %v", os, err)
		}
		tok, err := tx.Token(ctx, []byte("hx"))
		if err != nil || tok.Principal.Unit != "u2" || tok.Principal.Name != "流调员 李娜（调任）" {
			t.Errorf("token of a moved official = %+v, %v", tok, err)
		}
		gp, err := tx.OfficialProposal(ctx, p.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(p, gp); diff != "" {
			t.Errorf("OfficialProposal (-want +got):\n%s", diff)
		}
		if ps, err := tx.OfficialProposals(ctx, healthcode.ProposalPending); err != nil || len(ps) != 1 {
			t.Errorf("pending proposals = %+v, %v", ps, err)
		}
		return nil
	})
	p.Status, p.DecidedBy, p.DecidedAt = healthcode.ProposalApproved, "o-admin2", t0.Add(time.Minute)
	update(t, s, func(tx healthcode.Tx) error { return tx.DecideOfficialProposal(ctx, p) })
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.DecideOfficialProposal(ctx, p) })
	wantCode(t, err, healthcode.ECONFLICT)

	// Revoking an official's tokens: every unrevoked one, once.
	update(t, s, func(tx healthcode.Tx) error {
		return tx.CreateToken(ctx, &healthcode.Token{ID: "ty", Hash: []byte("hy"), Principal: *o.Principal(), IssuedAt: t0, Expires: t0.Add(time.Hour)})
	})
	var ids []string
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		ids, err = tx.RevokeTokensOf(ctx, "o1", t0.Add(2*time.Hour))
		return err
	})
	if diff := cmp.Diff([]string{"tx", "ty"}, ids); diff != "" {
		t.Errorf("RevokeTokensOf (-want +got):\n%s", diff)
	}
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		ids, err = tx.RevokeTokensOf(ctx, "o1", t0.Add(3*time.Hour))
		return err
	})
	if len(ids) != 0 {
		t.Errorf("RevokeTokensOf again = %v", ids)
	}
}

func testSessions(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	tok := &healthcode.Token{ID: "t1", Hash: []byte("tok"), Principal: healthcode.Principal{ID: "p", Name: "张*", Role: healthcode.RoleVerifier, Unit: "u"},
		IssuedAt: t0, Expires: t0.Add(24 * time.Hour)}
	sess := &healthcode.Session{Hash: []byte("s1"), TokenHash: []byte("tok"), Created: t0, Expires: t0.Add(time.Hour)}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateToken(ctx, tok); err != nil {
			return err
		}
		return tx.CreateSession(ctx, sess)
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error {
		return tx.CreateSession(ctx, &healthcode.Session{Hash: []byte("s2"), TokenHash: []byte("no such token"), Created: t0, Expires: t0.Add(time.Hour)})
	})
	wantCode(t, err, healthcode.EUNAUTHORIZED)
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Session(ctx, []byte("s1"))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(sess, got); diff != "" {
			t.Errorf("Session (-want +got):\n%s", diff)
		}
		return nil
	})
	update(t, s, func(tx healthcode.Tx) error { return tx.EndSession(ctx, []byte("s1")) })
	err = s.Update(ctx, func(tx healthcode.Tx) error { return tx.EndSession(ctx, []byte("s1")) })
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.Session(ctx, []byte("s1"))
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	// Revoking the token ends its sessions; an expired session is deleted
	// when the next one is made.
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateSession(ctx, &healthcode.Session{Hash: []byte("s3"), TokenHash: []byte("tok"), Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &healthcode.Session{Hash: []byte("s4"), TokenHash: []byte("tok"), Created: t0, Expires: t0.Add(time.Minute)}); err != nil {
			return err
		}
		return tx.CreateSession(ctx, &healthcode.Session{Hash: []byte("s5"), TokenHash: []byte("tok"), Created: t0.Add(30 * time.Minute), Expires: t0.Add(time.Hour)})
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.Session(ctx, []byte("s4"))
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	update(t, s, func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t1", t0.Add(time.Minute)) })
	view(t, s, func(tx healthcode.ReadTx) error {
		for _, h := range []string{"s3", "s5"} {
			_, err := tx.Session(ctx, []byte(h))
			wantCode(t, err, healthcode.ENOTFOUND)
		}
		return nil
	})
}
