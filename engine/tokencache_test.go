package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"healthcode"
	"healthcode/engine"
)

// viewCounter counts the engine's read transactions, to tell a kept token
// from one read again.
type viewCounter struct {
	healthcode.Store
	views atomic.Int64
}

func (s *viewCounter) View(ctx context.Context, fn func(healthcode.ReadTx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

// tokenOfficial creates an official of role in unit and a token for them,
// each approved by the second admin, all through eng.
func tokenOfficial(t *testing.T, eng *engine.Engine, name string, role healthcode.Role, unit string) (*healthcode.Official, *engine.IssuedToken) {
	t.Helper()
	ctx := t.Context()
	o, prop, err := eng.CreateOfficial(ctx, admin, healthcode.Official{Name: name, Role: role, Unit: unit})
	if err != nil {
		t.Fatal(err)
	}
	if prop != nil {
		if o, err = eng.ApproveOfficial(ctx, admin2, prop.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := eng.IssueToken(ctx, admin, o.ID); err != nil {
		t.Fatal(err)
	}
	it, _, err := eng.IssueToken(ctx, admin2, o.ID)
	if err != nil || it == nil {
		t.Fatalf("token for %s: %+v, %v", name, it, err)
	}
	return o, it
}

// TestKeptTokenRefusedAtOnce: a token the engine keeps in memory (the second
// use reads nothing from the store) is refused on the very next request
// after this engine revokes it or revokes its official, and speaks with the
// official's new unit on the very next request after a move; a kept
// citizen's token is refused once the clock passes its expiry. The engine
// never asks the store again on its own here (TokenRecheck one hour): only
// the invalidation at commit can refuse them.
func TestKeptTokenRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 1})
	ctx := e.ctx
	store := &viewCounter{Store: e.db}
	eng := e.newEngine()
	eng.Store = store
	eng.TokenRecheck = time.Hour
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	u1, err := eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "市疾控中心"})
	if err != nil {
		t.Fatal(err)
	}
	u2, err := eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "区疾控中心"})
	if err != nil {
		t.Fatal(err)
	}
	// kept authenticates tok, then again, and checks the second use read
	// nothing: the token was kept.
	kept := func(what, tok string) *healthcode.Principal {
		t.Helper()
		if _, err := eng.Authenticate(ctx, tok); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		before := store.views.Load()
		p, err := eng.Authenticate(ctx, tok)
		if err != nil {
			t.Fatalf("%s, again: %v", what, err)
		}
		if n := store.views.Load() - before; n != 0 {
			t.Fatalf("%s: the second use read the store %d times; want the kept token", what, n)
		}
		return p
	}

	epiOfficial, epiTok := tokenOfficial(t, eng, "流调员 李娜", healthcode.RoleEpidemiologist, u1.ID)
	if p := kept("the epidemiologist's token", epiTok.Secret); p.Unit != u1.ID {
		t.Fatalf("the epidemiologist speaks for unit %q, want %q", p.Unit, u1.ID)
	}
	// Moved to another unit: the next request speaks for the new one (a
	// kept principal of the old unit would let one official stand for two
	// units).
	_, prop, err := eng.ChangeOfficial(ctx, admin, epiOfficial.ID, "", u2.ID)
	if err != nil || prop == nil {
		t.Fatalf("ChangeOfficial: %+v, %v", prop, err)
	}
	if _, err := eng.ApproveOfficial(ctx, admin2, prop.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := eng.Authenticate(ctx, epiTok.Secret); err != nil || p.Unit != u2.ID {
		t.Errorf("after the move the token speaks for %+v, %v; want unit %q", p, err, u2.ID)
	}
	// Revoked: refused on the next request.
	kept("the moved epidemiologist's token", epiTok.Secret)
	if _, err := eng.RevokeToken(ctx, admin, epiTok.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = eng.Authenticate(ctx, epiTok.Secret)
	wantCode(t, "a kept token after its revocation", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")

	// The official revoked (every token of theirs with them): refused.
	labOfficial, labTok := tokenOfficial(t, eng, "检测员 张伟", healthcode.RoleLab, u1.ID)
	kept("the lab's token", labTok.Secret)
	if _, err := eng.RevokeOfficial(ctx, admin, labOfficial.ID); err != nil {
		t.Fatal(err)
	}
	_, err = eng.Authenticate(ctx, labTok.Secret)
	wantCode(t, "a kept token after its official's revocation", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")

	// Expiry is the engine's clock's, on every use.
	citizen, err := eng.CreateToken(ctx, &healthcode.Principal{Name: "市民", Role: healthcode.RoleCitizen, Subject: e.subj[0]})
	if err != nil {
		t.Fatal(err)
	}
	kept("the citizen's token", citizen)
	e.clock.Advance(healthcode.DefaultTokenTTL()[healthcode.RoleCitizen])
	_, err = eng.Authenticate(ctx, citizen)
	wantCode(t, "a kept token past its expiry", err, healthcode.EUNAUTHORIZED, "auth.expired_token")
}

// TestKeptTokenRevokedElsewhere: another engine on the same database (as
// `healthcode admin revoke` in another process, or a second node on the
// same PostgreSQL) revokes a token this engine keeps; this engine refuses
// it once it has asked the store again (here on every use), and keeps
// using a token nobody changed without reading it. The counterpart of the
// first test for writes this engine cannot see.
func TestKeptTokenRevokedElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 1})
	ctx := e.ctx
	store := &viewCounter{Store: e.db}
	node := e.newEngine()
	node.Store = store
	node.TokenRecheck = -1 // ask on every use
	if err := node.Open(ctx); err != nil {
		t.Fatal(err)
	}
	other := e.eng
	unit, err := other.CreateUnit(ctx, admin, healthcode.Unit{Name: "市卫健委"})
	if err != nil {
		t.Fatal(err)
	}
	_, a := tokenOfficial(t, other, "操作员 赵敏", healthcode.RoleOperator, unit.ID)
	_, b := tokenOfficial(t, other, "操作员 钱芳", healthcode.RoleOperator, unit.ID)
	for _, tok := range []string{a.Secret, b.Secret} {
		if _, err := node.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing changed: one read (the epoch) per use, not the token's two.
	before := store.views.Load()
	if _, err := node.Authenticate(ctx, b.Secret); err != nil {
		t.Fatal(err)
	}
	if n := store.views.Load() - before; n != 1 {
		t.Fatalf("a kept token nobody changed: %d reads, want 1 (the epoch)", n)
	}
	if _, err := other.RevokeToken(ctx, admin, a.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = node.Authenticate(ctx, a.Secret)
	wantCode(t, "a kept token revoked by another engine", err, healthcode.EUNAUTHORIZED, "auth.revoked_token")
	if _, err := node.Authenticate(ctx, b.Secret); err != nil {
		t.Fatalf("the other token after another's revocation: %v", err)
	}
}
