package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
)

// RuleSetProposals checks the rule sets awaiting a second admin: listed
// oldest first with their source and proposer, gone once deleted.
func RuleSetProposals(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	view(t, s, func(tx healthcode.ReadTx) error {
		ps, err := tx.RuleSetProposals(ctx)
		if err != nil || len(ps) != 0 {
			t.Errorf("an empty store's proposals: %v, %v", ps, err)
		}
		return nil
	})
	admin := healthcode.Principal{ID: "adm1", Name: "管理员甲", Role: healthcode.RoleAdmin, Unit: "unit-a"}
	later := &healthcode.RuleSetProposal{Record: healthcode.RuleSetRecord{Version: "a-later", Hash: "h2", Source: []byte("version: a-later\n"),
		PublishedAt: t0.Add(time.Hour), PublishedBy: admin.Name}, ProposedBy: admin}
	first := &healthcode.RuleSetProposal{Record: healthcode.RuleSetRecord{Version: "z-first", Hash: "h1", Source: []byte("version: z-first\n"),
		PublishedAt: t0, PublishedBy: admin.Name}, ProposedBy: admin}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.ProposeRuleSet(ctx, later); err != nil {
			return err
		}
		return tx.ProposeRuleSet(ctx, first)
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		ps, err := tx.RuleSetProposals(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]healthcode.RuleSetProposal{*first, *later}, ps); diff != "" {
			t.Errorf("RuleSetProposals (-want +got):\n%s", diff)
		}
		return nil
	})
	update(t, s, func(tx healthcode.Tx) error { return tx.DeleteRuleSetProposal(ctx, first.Record.Version) })
	view(t, s, func(tx healthcode.ReadTx) error {
		ps, err := tx.RuleSetProposals(ctx)
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].Record.Version != later.Record.Version {
			t.Errorf("after the first was published: %+v", ps)
		}
		return nil
	})
}
