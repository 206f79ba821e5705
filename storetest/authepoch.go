package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"
)

// AuthEpoch checks that the auth epoch moves with every change that can
// make a stored token unusable or change whom it speaks for — a token
// revoked, an official's tokens revoked, an official created or changed,
// the citizens' tokens deleted by a sunset — and that a new token leaves it
// (engines keep tokens against it: see engine/tokencache.go). A write that
// fails leaves it as it was.
func AuthEpoch(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	epoch := func() int64 {
		t.Helper()
		var n int64
		view(t, s, func(tx healthcode.ReadTx) error {
			var err error
			n, err = tx.AuthEpoch(ctx)
			return err
		})
		return n
	}
	p := MustPerson(t, s, "市民 甲", "410102199001011234")
	u := &healthcode.Unit{ID: "u1", Name: "市疾控中心", Region: "410100", CreatedAt: t0, CreatedBy: "system"}
	o := &healthcode.Official{ID: "o1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "u1", Status: healthcode.OfficialActive,
		CreatedAt: t0, CreatedBy: "o-admin"}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateUnit(ctx, u) })

	before := epoch()
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateToken(ctx, &healthcode.Token{ID: "tc", Hash: []byte("hc"), IssuedAt: t0, Expires: t0.Add(time.Hour),
			Principal: healthcode.Principal{ID: p.Pseudonym, Name: "市民", Role: healthcode.RoleCitizen, Subject: p.Pseudonym}}); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &healthcode.Token{ID: "t9", Hash: []byte("h9"), Principal: *o.Principal(), IssuedAt: t0, Expires: t0.Add(time.Hour)})
	})
	if got := epoch(); got != before {
		t.Errorf("new tokens moved the epoch from %d to %d; they change no token already read", before, got)
	}
	for _, tc := range []struct {
		what string
		fn   func(tx healthcode.Tx) error
	}{
		{"an official created", func(tx healthcode.Tx) error { return tx.CreateOfficial(ctx, o) }},
		{"a token revoked", func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t9", t0.Add(time.Minute)) }},
		{"an official moved", func(tx healthcode.Tx) error {
			if err := tx.CreateUnit(ctx, &healthcode.Unit{ID: "u2", Name: "区疾控中心", Region: "410102", CreatedAt: t0, CreatedBy: "system"}); err != nil {
				return err
			}
			x := *o
			x.Unit, x.ChangedAt = "u2", t0.Add(time.Hour)
			return tx.UpdateOfficial(ctx, &x)
		}},
		{"an official's tokens revoked", func(tx healthcode.Tx) error {
			if err := tx.CreateToken(ctx, &healthcode.Token{ID: "t8", Hash: []byte("h8"), Principal: *o.Principal(), IssuedAt: t0, Expires: t0.Add(time.Hour)}); err != nil {
				return err
			}
			_, err := tx.RevokeTokensOf(ctx, "o1", t0.Add(time.Hour))
			return err
		}},
		{"the citizens' tokens deleted by a sunset", func(tx healthcode.Tx) error {
			_, err := tx.Sunset(ctx)
			return err
		}},
	} {
		before := epoch()
		update(t, s, tc.fn)
		if got := epoch(); got == before {
			t.Errorf("%s: the epoch stayed %d", tc.what, got)
		}
	}
	before = epoch()
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.RevokeToken(ctx, "t9", t0.Add(time.Minute)) })
	wantCode(t, err, healthcode.ECONFLICT)
	if got := epoch(); got != before {
		t.Errorf("a refused revocation moved the epoch from %d to %d", before, got)
	}
}
