package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
)

// countingStore counts the read transactions an engine opens, and offers
// the store's one-statement code read only if quick.
type countingStore struct {
	healthcode.Store
	quick healthcode.QuickCodeStore // nil: the engine must use View
	views atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(healthcode.ReadTx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

// quickStore is a countingStore that has QuickCodeRecord.
type quickStore struct{ *countingStore }

func (s quickStore) QuickCodeRecord(ctx context.Context, pseudonym string, t time.Time) (*healthcode.CodeRecord, bool, error) {
	return s.quick.QuickCodeRecord(ctx, pseudonym, t)
}

// TestCodeWithoutTransaction: a person with nothing on record but their
// current decision (or none) is answered from one statement outside a
// transaction, and everyone's code — nothing decided, a positive test, an
// approved override (whose words need the override read), an override
// pending — is the same as the one read transaction gives.
func TestCodeWithoutTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 6})
	qs, ok := e.db.(healthcode.QuickCodeStore)
	if !ok {
		t.Fatalf("%T has no QuickCodeRecord", e.db)
	}
	e.enrol(epi, epi2)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	var basis int64
	e.view(func(tx healthcode.ReadTx) error {
		c, err := tx.Case(e.ctx, caseID)
		basis = c.Diagnosis
		return err
	})
	op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
	ap := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
	for i := 1; i <= 3; i++ {
		o := e.one(epi, contact(healthcode.CloseContact, i, e.ids, "I-"+e.ids[i], caseID, now, interview))
		if _, err := e.eng.ConfirmRecord(e.ctx, epi2, o.Pending); err != nil {
			t.Fatal(err)
		}
	}
	o, err := e.eng.RequestOverride(e.ctx, op, redOverride(e.subj[1:3], caseID, basis, now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.ApproveOverride(e.ctx, ap, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RequestOverride(e.ctx, op, redOverride(e.subj[3:4], caseID, basis, now)); err != nil {
		t.Fatal(err)
	}

	// One engine offered the quick read, one not, both freshly opened (the
	// rule set in force is all they hold in memory).
	quick := &countingStore{Store: e.db, quick: qs}
	slow := &countingStore{Store: e.db}
	withQuick, withView := e.newEngine(), e.newEngine()
	withQuick.Store, withView.Store = quickStore{quick}, slow
	for _, eng := range []interface{ Open(context.Context) error }{withQuick, withView} {
		if err := eng.Open(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range []struct {
		name  string
		views int64 // read transactions withQuick opens
	}{
		{"case patient (positive, cites evidence)", 1},
		{"override approved (its words are read)", 1},
		{"override approved (its words are read)", 1},
		{"override pending, close contact (red by the rules)", 1},
		{"nothing decided", 0},
		{"nothing decided", 0},
	} {
		before := quick.views.Load()
		got, err := withQuick.Code(e.ctx, e.subj[i])
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		if n := quick.views.Load() - before; n != tc.views {
			t.Errorf("%d %s: %d read transactions, want %d", i, tc.name, n, tc.views)
		}
		want, err := withView.Code(e.ctx, e.subj[i])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d %s: code differs from the one read transaction's (-want +got):\n%s", i, tc.name, diff)
		}
	}
	// And by what the person holds.
	for i, want := range []healthcode.Colour{healthcode.Red, healthcode.Red, healthcode.Red, healthcode.Red, healthcode.Green, healthcode.Green} {
		v, err := withQuick.Code(e.ctx, e.subj[i])
		if err != nil || v.Decision.Colour != want {
			t.Errorf("person %d: %v %v, want %s", i, v.Decision.Colour, err, want)
		}
	}
	if _, err := withQuick.Code(e.ctx, "paaaaaaaaaaaaaaaaaaaaaaaa"); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Errorf("unknown person: %v, want ENOTFOUND", err)
	}
}
