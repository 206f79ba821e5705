package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
	"healthcode/engine"
	"healthcode/rules"
	"healthcode/sim"
	"healthcode/tlog"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)

const region = "410100"

// The callers of these tests. Nothing in the engine mutates a principal it
// is handed (CreateToken aside, which the token tests call on copies).
var (
	lab    = &healthcode.Principal{ID: "lab-001", Name: "郑州市第一检测所", Role: healthcode.RoleLab, Unit: "检验科"}
	lab2   = &healthcode.Principal{ID: "lab-002", Name: "郑州市第二检测所", Role: healthcode.RoleLab, Unit: "检验科"}
	epi    = &healthcode.Principal{ID: "epi-001", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	clinic = &healthcode.Principal{ID: "clinic-001", Name: "郑州大学第一附属医院", Role: healthcode.RoleClinic, Unit: "发热门诊"}
	// sampler collects the samples the tests' labs report on: another unit.
	sampler = &healthcode.Principal{ID: "sampler-001", Name: "金水区第1核酸采样点", Role: healthcode.RoleSampler, Unit: "金水区核酸采样队"}
	admin   = &healthcode.Principal{ID: "admin-001", Name: "管理员 王强", Role: healthcode.RoleAdmin, Unit: "信息中心"}
	admin2  = &healthcode.Principal{ID: "admin-002", Name: "管理员 陈静", Role: healthcode.RoleAdmin, Unit: "信息中心"}
	system  = &healthcode.Principal{ID: "system", Name: "healthcode (test baseline)", Role: healthcode.RoleSystem}
)

var errLogDown = errors.New("log device unavailable")

// flakyLog is the real tlog.Log that fails on one chosen Append call: either
// before writing anything, or after the real append has written its leaves
// into the transaction (a failure between the log write and the commit).
type flakyLog struct {
	real engine.Log

	mu     sync.Mutex
	calls  int
	failAt int  // 1-based number of the Append call that fails; 0 for none
	after  bool // fail after the real Append has written
}

func (l *flakyLog) Append(ctx context.Context, tx healthcode.Tx, entries []*healthcode.LogEntry) error {
	l.mu.Lock()
	l.calls++
	fail, after := l.calls == l.failAt, l.after
	l.mu.Unlock()
	if !fail {
		return l.real.Append(ctx, tx, entries)
	}
	if after {
		if err := l.real.Append(ctx, tx, entries); err != nil {
			return err
		}
	}
	return errLogDown
}

func (l *flakyLog) Open(leaf []byte, subject string, opening []byte) (*healthcode.LogEntry, error) {
	return l.real.Open(leaf, subject, opening)
}

func (l *flakyLog) Decode(leaf []byte) (*healthcode.LogEntry, error) { return l.real.Decode(leaf) }

// failNext makes the next Append call fail.
func (l *flakyLog) failNext(after bool) {
	l.mu.Lock()
	l.failAt, l.after = l.calls+1, after
	l.mu.Unlock()
}

// env is an engine on a fresh SQLite file with the baseline rule set in
// force and some people of a synthetic city registered.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    testStore // SQLite, or PostgreSQL with HEALTHCODE_TEST_STORE=postgres (store_test.go)
	eng   *engine.Engine
	clock *healthcode.ManualClock
	log   *flakyLog
	ids   []string // ID numbers of the registered people, by index
	subj  []string // their pseudonyms

	patient    healthcode.PersonalData // the patient of case 410100-C001
	caseStored bool                    // their diagnosis is stored
	basis      int                     // positive tubes made for diagnoses (corroborate)
	cases      caseFixture             // the case's id and the fixture's venues

	mu      sync.Mutex
	changed [][]string // what OnChange was told, call by call
}

type envConfig struct {
	people    int       // how many people to register (default 10)
	random    io.Reader // the log's salts (crypto/rand if nil)
	noRuleSet bool      // do not publish the baseline
}

// testKeys are fixed, so that two environments give people the same
// pseudonyms.
func testKeys() *healthcode.Keys {
	return &healthcode.Keys{
		Pseudonym: bytes.Repeat([]byte{1}, 32),
		IDLookup:  bytes.Repeat([]byte{2}, 32),
		Wrap:      bytes.Repeat([]byte{3}, 32),
	}
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	ctx := t.Context()
	if cfg.people == 0 {
		cfg.people = 10
	}
	db := openTestStore(t)
	e := &env{t: t, ctx: ctx, db: db, clock: healthcode.NewManualClock(t0), log: &flakyLog{real: &tlog.Log{Random: cfg.random}}}
	e.eng = e.newEngine()
	if err := e.eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := sim.New(sim.Config{Seed: 7, People: max(sim.MinPeople, cfg.people), Region: region, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	pds := make([]healthcode.PersonalData, cfg.people)
	for i := range pds {
		c := city.Person(i)
		pds[i] = c.PersonalData()
		e.ids = append(e.ids, c.IDNumber)
		e.subj = append(e.subj, e.eng.Keys.Pseudonymize(region, c.IDNumber))
	}
	// The patient of case 410100-C001, whom contacts are traced from: in
	// the store, but not one of the people the tests look at. Contacts of
	// the case must name a case someone was diagnosed with.
	e.patient = city.Person(cfg.people).PersonalData()
	if err := e.eng.RegisterPeople(ctx, append(pds, e.patient)); err != nil {
		t.Fatal(err)
	}
	if !cfg.noRuleSet {
		if _, err := e.eng.PublishRuleSet(ctx, system, rules.Baseline()); err != nil {
			t.Fatal(err)
		}
	}
	// The admins who publish rule sets are officials of the registry: the
	// second signature is checked against it.
	if !cfg.noRuleSet {
		for _, a := range []*healthcode.Principal{admin, admin2} {
			p := *a
			if _, err := e.eng.CreateToken(ctx, &p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// isTokenLeaf reports whether leaf b records a token: its id is random.
func isTokenLeaf(b []byte) bool {
	l, err := tlog.DecodeLeaf(b)
	return err == nil && l.Entry.Type == healthcode.LogToken
}

// allSubjects is e.subj and, once stored, the case's patient.
func (e *env) allSubjects() []string {
	if !e.caseStored {
		return e.subj
	}
	return append(append([]string(nil), e.subj...), e.eng.Keys.Pseudonymize(region, e.patient.IDNumber))
}

// withCase opens case 410100-C001 (once) for the contact items that cite
// it and gives each contact, travel and quarantine item a link the node
// checks at once (see caseLinks in cases_test.go).
func (e *env) withCase(items []healthcode.Submission) []healthcode.Submission {
	return e.caseLinks(items)
}

// newEngine returns an engine over e's store, log and clock, as a restarted
// node would build it (call Open).
func (e *env) newEngine() *engine.Engine {
	return &engine.Engine{
		Store:       e.db,
		Log:         e.log,
		Keys:        testKeys(),
		Region:      region,
		Clock:       e.clock,
		LoadRuleSet: rules.Loader,
		OnChange: func(subjects []string) {
			e.mu.Lock()
			e.changed = append(e.changed, append([]string(nil), subjects...))
			e.mu.Unlock()
		},
	}
}

func (e *env) onChangeCalls() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]string(nil), e.changed...)
}

func (e *env) submit(actor *healthcode.Principal, items ...healthcode.Submission) []healthcode.Outcome {
	e.t.Helper()
	if actor == epi {
		items = e.withCase(items)
	}
	sent, first := e.byTube(items)
	outs, err := e.eng.Submit(e.ctx, actor, sent)
	if err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
	if len(outs) != len(sent) {
		e.t.Fatalf("Submit gave %d outcomes for %d items", len(outs), len(sent))
	}
	return expandOutcomes(items, outs, first)
}

// byTube returns items as a lab sends them, after a sampler (of another
// unit) has collected each tested person's sample: a test result that
// names a person is collected into its tube (PoolID if pooled, else the
// ExternalID) at its ObservedAt, then reported by tube only, once per tube.
// first[i] is the index in sent of the item that carries item i (-1 if it
// is sent on its own). A collection the engine refuses leaves its item
// naming the person, which the engine then refuses as well.
func (e *env) byTube(items []healthcode.Submission) (sent []healthcode.Submission, first []int) {
	e.t.Helper()
	var reqs []healthcode.CollectionRequest
	conv := make([]bool, len(items))
	for i, it := range items {
		ev := it.Evidence
		tube := ev.ExternalID
		if ev.Pooled {
			tube = ev.PoolID
		}
		if !ev.Kind.IsTest() || it.IDNumber == "" || tube == "" {
			continue
		}
		conv[i] = true
		reqs = append(reqs, healthcode.CollectionRequest{Line: i, IDNumber: it.IDNumber, Tube: tube, Mixed: ev.Pooled,
			Site: "金水区文化路采样点", CollectedAt: ev.ObservedAt})
	}
	if len(reqs) > 0 {
		outs, err := e.eng.Collect(e.ctx, sampler, reqs)
		if err != nil {
			e.t.Fatalf("Collect: %v", err)
		}
		for _, o := range outs {
			if o.Status == healthcode.Rejected {
				conv[o.Line] = false
			}
		}
	}
	first = make([]int, len(items))
	byTube := map[string]int{}
	for i, it := range items {
		first[i] = -1
		if !conv[i] {
			sent = append(sent, it)
			continue
		}
		tube := it.Evidence.ExternalID
		if it.Evidence.Pooled {
			tube = it.Evidence.PoolID
		}
		if k, ok := byTube[tube]; ok {
			first[i] = k
			continue
		}
		byTube[tube] = len(sent)
		sent = append(sent, healthcode.Submission{Line: it.Line, Tube: tube, Evidence: healthcode.Evidence{Kind: it.Evidence.Kind, Result: it.Evidence.Result}})
	}
	return sent, first
}

// expandOutcomes gives each item the outcome of what carried it.
func expandOutcomes(items []healthcode.Submission, outs []healthcode.Outcome, first []int) []healthcode.Outcome {
	res := make([]healthcode.Outcome, len(items))
	k := 0
	for i := range items {
		if first[i] >= 0 {
			res[i] = outs[first[i]]
		} else {
			res[i] = outs[k]
			k++
		}
		res[i].Line = items[i].Line
	}
	return res
}

// submitOK submits and fails the test unless every item is accepted.
func (e *env) submitOK(actor *healthcode.Principal, items ...healthcode.Submission) []healthcode.Outcome {
	e.t.Helper()
	outs := e.submit(actor, items...)
	for i, o := range outs {
		if o.Status != healthcode.Accepted {
			e.t.Fatalf("item %d (%s): %s: %v", i, items[i].Evidence.ExternalID, o.Status, o.Err)
		}
	}
	return outs
}

func (e *env) view(fn func(tx healthcode.ReadTx) error) {
	e.t.Helper()
	if err := e.db.View(e.ctx, fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) logSize() int64 {
	e.t.Helper()
	var n int64
	e.view(func(tx healthcode.ReadTx) error {
		var err error
		n, err = tx.LogSize(e.ctx)
		return err
	})
	return n
}

// decision returns the person's current decision, or nil if there is none.
func (e *env) decision(subject string) *healthcode.Decision {
	e.t.Helper()
	var d *healthcode.Decision
	e.view(func(tx healthcode.ReadTx) error {
		var err error
		d, err = tx.Decision(e.ctx, subject)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			d, err = nil, nil
		}
		return err
	})
	return d
}

func (e *env) history(subject string) []healthcode.Decision {
	e.t.Helper()
	var ds []healthcode.Decision
	e.view(func(tx healthcode.ReadTx) error {
		var err error
		ds, err = tx.Decisions(e.ctx, subject)
		return err
	})
	return ds
}

func (e *env) evidence(subject string) []healthcode.Evidence {
	e.t.Helper()
	var evs []healthcode.Evidence
	e.view(func(tx healthcode.ReadTx) error {
		var err error
		evs, err = tx.Evidence(e.ctx, subject)
		return err
	})
	return evs
}

func (e *env) dueNow() []string {
	e.t.Helper()
	var due []string
	e.view(func(tx healthcode.ReadTx) error {
		var err error
		due, err = tx.DueForReview(e.ctx, e.clock.Now(), 1_000_000)
		return err
	})
	return due
}

// naTest is a single-tube nucleic-acid test of the person with the ID number.
func naTest(line int, idNumber, sample string, at time.Time, result string) healthcode.Submission {
	return healthcode.Submission{Line: line, IDNumber: idNumber, Evidence: healthcode.Evidence{
		Kind: healthcode.NucleicAcidTest, ExternalID: sample, ObservedAt: at, Result: result}}
}

func pooledTest(line int, idNumber, sample, tube string, at time.Time, result string) healthcode.Submission {
	s := naTest(line, idNumber, sample, at, result)
	s.Evidence.Pooled, s.Evidence.PoolID = true, tube
	return s
}

// sample is a sample of the person with the ID number taken into a tube.
func sample(idNumber, tube string, at time.Time) healthcode.CollectionRequest {
	return healthcode.CollectionRequest{IDNumber: idNumber, Tube: tube, Site: "金水区文化路采样点", CollectedAt: at}
}

// tubeResult is a nucleic-acid result a lab reports for a tube.
func tubeResult(line int, tube, result string) healthcode.Submission {
	return healthcode.Submission{Line: line, Tube: tube, Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Result: result}}
}

// collectOK records the samples as the tests' sampler and fails the test
// unless each is accepted.
func (e *env) collectOK(reqs ...healthcode.CollectionRequest) []healthcode.CollectionOutcome {
	e.t.Helper()
	for i := range reqs {
		reqs[i].Line = i
	}
	outs, err := e.eng.Collect(e.ctx, sampler, reqs)
	if err != nil {
		e.t.Fatalf("Collect: %v", err)
	}
	for i, o := range outs {
		if o.Status != healthcode.Accepted {
			e.t.Fatalf("collection %d (%s): %s: %v", i, reqs[i].Tube, o.Status, o.Err)
		}
	}
	return outs
}

func closeContact(line int, idNumber, ref string, at time.Time) healthcode.Submission {
	return healthcode.Submission{Line: line, IDNumber: idNumber, Evidence: healthcode.Evidence{
		Kind: healthcode.CloseContact, ExternalID: ref, ObservedAt: at, CaseRef: "410100-C001"}}
}

func wantCode(t *testing.T, what string, err error, code, detail string) {
	t.Helper()
	if healthcode.ErrorCode(err) != code || (detail != "" && healthcode.ErrorDetail(err) != detail) {
		t.Errorf("%s: error %v, want code %s detail %q", what, err, code, detail)
	}
}

// republished returns the baseline under another version string: the same
// rules, a new hash.
func republished(t *testing.T, version string) []byte {
	t.Helper()
	src := string(rules.Baseline())
	if strings.Count(src, "\nversion: ") != 1 {
		t.Fatal("the baseline no longer has exactly one version line")
	}
	i := strings.Index(src, "\nversion: ") + len("\nversion: ")
	j := i + strings.IndexByte(src[i:], '\n')
	return []byte(src[:i] + strconv.Quote(version) + src[j:])
}

// checkExplained checks that every decision the people ever held is
// explained by the log leaf at its LogIndex, opened with the opening kept
// beside the tree, and that its evidence digest is that of the evidence it
// names.
func checkExplained(t *testing.T, e *env, subjects []string) (decisions int) {
	t.Helper()
	ctx := e.ctx
	e.view(func(tx healthcode.ReadTx) error {
		for _, s := range subjects {
			hist, err := tx.Decisions(ctx, s)
			if err != nil {
				return err
			}
			evs, err := tx.Evidence(ctx, s)
			if err != nil {
				return err
			}
			byID := map[int64]healthcode.Evidence{}
			for _, ev := range evs {
				byID[ev.ID] = ev
			}
			for k, d := range hist {
				decisions++
				what := fmt.Sprintf("%s decision %d (log %d)", s, k, d.LogIndex)
				b, err := tx.LogLeaf(ctx, d.LogIndex)
				if err != nil {
					t.Errorf("%s: leaf: %v", what, err)
					continue
				}
				leaf, err := tlog.DecodeLeaf(b)
				if err != nil {
					t.Errorf("%s: DecodeLeaf: %v", what, err)
					continue
				}
				subject, salt, err := tx.LogOpening(ctx, d.LogIndex)
				if err != nil {
					t.Errorf("%s: opening: %v", what, err)
					continue
				}
				got, err := leaf.Open(subject, salt)
				if err != nil {
					t.Errorf("%s: Open: %v", what, err)
					continue
				}
				want := healthcode.LogEntry{Type: healthcode.LogDecision, Time: d.DecidedAt, Region: region, Subject: s,
					Colour: d.Colour, Reason: d.Reason, RuleID: d.RuleID, RuleSetHash: d.RuleSetHash, EvidenceDigest: d.EvidenceDigest,
					ActorName: d.Actor, ActorRole: healthcode.RoleSystem, Ref: "ruleset/" + d.RuleSetVersion}
				want.Commit = want.Committed()
				if diff := cmp.Diff(want, *got); diff != "" {
					t.Errorf("%s: leaf does not explain the decision (-decision +leaf):\n%s", what, diff)
				}
				if d.Subject != s {
					t.Errorf("%s: stored under subject %s", what, d.Subject)
				}
				used := make([]healthcode.Evidence, 0, len(d.EvidenceIDs))
				for _, id := range d.EvidenceIDs {
					ev, ok := byID[id]
					if !ok {
						t.Errorf("%s: rests on evidence %d, which is not the person's", what, id)
					}
					used = append(used, ev)
				}
				if dg := healthcode.EvidenceSetDigest(used); dg != d.EvidenceDigest {
					t.Errorf("%s: evidence digest %s, the digest of evidence %v is %s", what, d.EvidenceDigest, d.EvidenceIDs, dg)
				}
				rec, err := tx.RuleSet(ctx, d.RuleSetVersion)
				if err != nil {
					t.Errorf("%s: rule set %s: %v", what, d.RuleSetVersion, err)
				} else if rec.Hash != d.RuleSetHash {
					t.Errorf("%s: rule-set hash %s, rule set %s has %s", what, d.RuleSetHash, d.RuleSetVersion, rec.Hash)
				}
			}
		}
		return nil
	})
	return decisions
}

// 1. Log first: a change whose log append fails does not happen.

func TestSubmitLogFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		after bool
	}{
		{"append fails", false},
		{"store fails after the append", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: 4})
			ctx := e.ctx
			// Person 1 is already red: a failed batch must leave that decision alone too.
			e.submitOK(lab, naTest(1, e.ids[1], "S-0", t0.Add(-3*time.Hour), healthcode.Positive))
			before := e.decision(e.subj[1])
			// The samples are collected; their results are what fails.
			items, _ := e.byTube([]healthcode.Submission{
				naTest(1, e.ids[0], "S-1", t0.Add(-2*time.Hour), healthcode.Positive),
				naTest(2, e.ids[1], "S-2", t0.Add(-1*time.Hour), healthcode.Negative),
				naTest(3, e.ids[2], "S-3", t0.Add(time.Hour), healthcode.Positive), // rejected: in the future
			})
			size := e.logSize()
			calls := len(e.onChangeCalls())
			e.log.failNext(tc.after)
			outs, err := e.eng.Submit(ctx, lab, items)
			if err == nil {
				t.Fatalf("Submit with a failing log = %+v, nil error", outs)
			}
			if !errors.Is(err, errLogDown) {
				t.Errorf("Submit error %v does not wrap the log's error", err)
			}
			if outs != nil {
				t.Errorf("Submit with a failing log returned outcomes %+v", outs)
			}
			e.view(func(tx healthcode.ReadTx) error {
				for _, id := range []string{"S-1", "S-2", "S-3"} {
					_, err := tx.EvidenceByExternalID(ctx, lab.ID, "tube/"+id)
					wantCode(t, "evidence "+id, err, healthcode.ENOTFOUND, "")
				}
				for _, id := range []string{"S-1", "S-2"} {
					if tube, err := tx.Tube(ctx, id); err != nil || tube.Resulted() {
						t.Errorf("tube %s after the failed batch: %+v, %v; want collected, no result", id, tube, err)
					}
				}
				if n, err := tx.LogSize(ctx); err != nil || n != size {
					t.Errorf("log size %d, %v; want %d", n, err, size)
				}
				_, err := tx.LogLeaf(ctx, size)
				wantCode(t, "leaf after the failed batch", err, healthcode.ENOTFOUND, "")
				_, _, err = tx.LogOpening(ctx, size)
				wantCode(t, "opening after the failed batch", err, healthcode.ENOTFOUND, "")
				return nil
			})
			if evs := e.evidence(e.subj[0]); len(evs) != 0 {
				t.Errorf("person 0 has evidence %+v", evs)
			}
			if d := e.decision(e.subj[0]); d != nil {
				t.Errorf("person 0 has a decision %+v", d)
			}
			if diff := cmp.Diff(before, e.decision(e.subj[1])); diff != "" {
				t.Errorf("person 1's decision changed (-before +after):\n%s", diff)
			}
			if h := e.history(e.subj[1]); len(h) != 1 {
				t.Errorf("person 1 has %d decisions, want the 1 from before", len(h))
			}
			if got := len(e.onChangeCalls()); got != calls {
				t.Errorf("OnChange was called for a batch that did not commit")
			}

			// Once the log works again the same batch goes through in full,
			// as new: nothing of the failed attempt was left to dedupe against.
			outs = e.submit(lab, items...)
			var statuses []string
			for _, o := range outs {
				statuses = append(statuses, o.Status)
			}
			if diff := cmp.Diff([]string{healthcode.Accepted, healthcode.Accepted, healthcode.Rejected}, statuses); diff != "" {
				t.Errorf("retry statuses (-want +got):\n%s", diff)
			}
			// 2 evidence leaves, person 0 turns red, person 1 turns green.
			if got := e.logSize(); got != size+4 {
				t.Errorf("log size after the retry %d, want %d", got, size+4)
			}
			checkExplained(t, e, e.subj)
		})
	}
}

func TestPublishLogFailureKeepsOldRuleSet(t *testing.T) {
	t.Parallel()
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after=%v", after), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: 2})
			ctx := e.ctx
			e.submitOK(lab, naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive))
			_, old, _ := e.eng.ActiveRuleSet()
			size := e.logSize()
			e.clock.Advance(time.Minute)

			e.log.failNext(after)
			if _, err := publishByAdmins(e.eng, ctx, republished(t, "test-2")); err == nil {
				t.Fatal("PublishRuleSet with a failing log succeeded")
			}
			if _, rec, err := e.eng.ActiveRuleSet(); err != nil || rec.Version != old.Version {
				t.Errorf("engine's rule set in force: %+v, %v; want %s", rec, err, old.Version)
			}
			e.view(func(tx healthcode.ReadTx) error {
				rec, err := tx.ActiveRuleSet(ctx)
				if err != nil || rec.Version != old.Version {
					t.Errorf("store's rule set in force: %+v, %v; want %s", rec, err, old.Version)
				}
				_, err = tx.RuleSet(ctx, "test-2")
				wantCode(t, "the refused rule set", err, healthcode.ENOTFOUND, "")
				return nil
			})
			if got := e.logSize(); got != size {
				t.Errorf("log size %d, want %d", got, size)
			}
			if due := e.dueNow(); len(due) != 0 {
				t.Errorf("a publication that did not happen marked %v for review", due)
			}
			// The same source publishes once the log works.
			if _, err := publishByAdmins(e.eng, ctx, republished(t, "test-2")); err != nil {
				t.Fatal(err)
			}
			if due := e.dueNow(); len(due) != 1 {
				t.Errorf("after the publication %d people are due for review, want 1", len(due))
			}
		})
	}
}

func TestReviewLogFailureChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	ctx := e.ctx
	e.submitOK(lab, naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive),
		naTest(2, e.ids[1], "S-2", t0.Add(-time.Hour), healthcode.Positive))
	e.clock.Advance(time.Minute)
	if _, err := publishByAdmins(e.eng, ctx, republished(t, "test-2")); err != nil {
		t.Fatal(err)
	}
	before := []*healthcode.Decision{e.decision(e.subj[0]), e.decision(e.subj[1])}
	size := e.logSize()

	e.log.failNext(false)
	reviewed, changed, err := e.eng.ReviewDue(ctx, nil)
	if err == nil {
		t.Fatal("ReviewDue with a failing log succeeded")
	}
	if reviewed != 0 {
		t.Errorf("ReviewDue reported %d reviewed, though its only batch rolled back", reviewed)
	}
	for i, d := range before {
		if diff := cmp.Diff(d, e.decision(e.subj[i])); diff != "" {
			t.Errorf("person %d's decision changed (-before +after):\n%s", i, diff)
		}
	}
	if got := e.logSize(); got != size {
		t.Errorf("log size %d, want %d", got, size)
	}
	if due := e.dueNow(); len(due) != 2 {
		t.Errorf("after the failed review %d people are due, want both still due", len(due))
	}
	t.Run("changed count", func(t *testing.T) {
		if changed != 0 {
			t.Fatalf("regression: ReviewDue reports changed=%d for a batch whose transaction rolled back "+
				"(review.go counts u.changed inside the update closure, before the log append and commit)", changed)
		}
	})

	reviewed, changed, err = e.eng.ReviewDue(ctx, nil)
	if err != nil || reviewed != 2 || changed != 2 {
		t.Fatalf("ReviewDue after recovery = %d, %d, %v; want 2, 2, nil", reviewed, changed, err)
	}
	checkExplained(t, e, e.subj)
}

// 2. Every decision row is explained by a log leaf, and every accepted
// piece of evidence by exactly one.

func TestEveryChangeIsExplainedByTheLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 12})
	ids := e.ids
	at := t0.Add(-4 * time.Hour)
	e.submitOK(lab,
		naTest(1, ids[0], "L-1", at, healthcode.Positive),
		pooledTest(2, ids[1], "L-2", "MIX-1", at, healthcode.Positive),
		pooledTest(3, ids[2], "L-3", "MIX-1", at, healthcode.Positive),
		naTest(4, ids[3], "L-4", at, healthcode.Negative),
		naTest(5, ids[4], "L-5", at, healthcode.Negative),
		healthcode.Submission{Line: 6, IDNumber: ids[5], Evidence: healthcode.Evidence{Kind: healthcode.AntigenTest, ExternalID: "L-6", ObservedAt: at, Result: healthcode.Positive}},
	)
	e.submitOK(epi,
		closeContact(1, ids[6], "CC-1", at),
		healthcode.Submission{Line: 3, IDNumber: ids[8], Evidence: healthcode.Evidence{Kind: healthcode.Travel, ExternalID: "TR-1", ObservedAt: at, RiskLevel: healthcode.RiskMedium, Area: "310104"}},
	)
	// A secondary contact's link runs through a close contact in force.
	e.submitOK(epi, healthcode.Submission{Line: 2, IDNumber: ids[7], Evidence: healthcode.Evidence{Kind: healthcode.SecondaryContact, ExternalID: "SC-1", ObservedAt: at, CaseRef: "410100-C001"}})
	e.corroborate(ids[9], at)
	e.submitOK(clinic, healthcode.Submission{Line: 1, IDNumber: ids[9], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
		ExternalID: "DX-1", ObservedAt: at, Diagnosis: healthcode.DiagnosisConfirmed}})
	// A day later: retests clear the single-tube and the pooled positive.
	e.clock.Advance(24 * time.Hour)
	e.submitOK(lab,
		naTest(1, ids[0], "L-7", e.clock.Now().Add(-time.Hour), healthcode.Negative),
		naTest(2, ids[1], "L-8", e.clock.Now().Add(-time.Hour), healthcode.Negative),
		naTest(3, ids[3], "L-9", e.clock.Now().Add(-time.Hour), healthcode.Negative),
	)

	wantColours := map[int][]healthcode.Colour{
		0: {healthcode.Red, healthcode.Green}, 1: {healthcode.Red, healthcode.Green}, 2: {healthcode.Red},
		5: {healthcode.Yellow}, 6: {healthcode.Red}, 7: {healthcode.Yellow}, 8: {healthcode.Yellow}, 9: {healthcode.Red, healthcode.Red}, // 9: the positive the diagnosis rests on, then the diagnosis
	}
	for i := range e.subj {
		var got []healthcode.Colour
		for _, d := range e.history(e.subj[i]) {
			got = append(got, d.Colour)
		}
		if diff := cmp.Diff(wantColours[i], got); diff != "" {
			t.Errorf("person %d colours (-want +got):\n%s", i, diff)
		}
	}
	nDecisions := checkExplained(t, e, e.allSubjects())
	c := checkLog(t, e)
	if c.ruleSets != 1 || c.decisions != nDecisions || c.evidence != 16 || c.collections != 11 {
		t.Errorf("log holds %d rule sets, %d decisions, %d evidence, %d collections; want 1, %d, 16 (13, the case's diagnosis and the two positives the diagnoses rest on), 11 (one per test)",
			c.ruleSets, c.decisions, c.evidence, c.collections, nDecisions)
	}
}

// logCounts is what the log holds, by kind of leaf.
type logCounts struct{ ruleSets, evidence, decisions, registry, collections, cases int }

// checkLog walks the whole log: each leaf must be a rule set's publication,
// one stored piece of evidence (and each stored piece must have exactly
// one), the log index of exactly one decision row, or a record of the
// registry (a unit, an official or a token: the callers' provisioning), or
// the opening of a stored case.
func checkLog(t *testing.T, e *env) logCounts {
	t.Helper()
	ctx := e.ctx
	evidence := map[int64]healthcode.Evidence{}
	decisionAt := map[int64]bool{}
	for _, s := range e.allSubjects() {
		for _, ev := range e.evidence(s) {
			evidence[ev.ID] = ev
		}
		for _, d := range e.history(s) {
			if decisionAt[d.LogIndex] {
				t.Errorf("two decisions share log index %d", d.LogIndex)
			}
			decisionAt[d.LogIndex] = true
		}
	}
	evidenceLeaves := map[int64]int{}
	var c logCounts
	size := e.logSize()
	e.view(func(tx healthcode.ReadTx) error {
		for i := range size {
			b, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			leaf, err := tlog.DecodeLeaf(b)
			if err != nil {
				t.Errorf("leaf %d: %v", i, err)
				continue
			}
			switch leaf.Entry.Type {
			case healthcode.LogRuleSet:
				c.ruleSets++
				if _, _, err := tx.LogOpening(ctx, i); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
					t.Errorf("rule-set leaf %d has a subject opening (%v)", i, err)
				}
				if _, err := tx.RuleSet(ctx, leaf.Entry.Ref); err != nil {
					t.Errorf("rule-set leaf %d names rule set %q: %v", i, leaf.Entry.Ref, err)
				}
			case healthcode.LogCollection:
				// The sampler is named in clear; the person, the digest and
				// which collection it is are committed.
				c.collections++
				if leaf.Entry.ActorRole != healthcode.RoleSampler || leaf.Entry.ActorName != healthcode.ActorLabel(sampler) || leaf.Entry.Ref != "" || leaf.Entry.EvidenceDigest != "" {
					t.Errorf("collection leaf %d: %+v, want the sampler named and the rest committed", i, leaf.Entry)
				}
				subject, opening, err := tx.LogOpening(ctx, i)
				if err != nil {
					t.Errorf("collection leaf %d has no opening: %v", i, err)
					continue
				}
				if got, err := leaf.Open(subject, opening); err != nil || !strings.HasPrefix(got.Ref, "collection/") || len(got.EvidenceDigest) != 64 {
					t.Errorf("collection leaf %d opens to %+v, %v", i, got, err)
				}
			case healthcode.LogDecision:
				c.decisions++
				if !decisionAt[i] {
					t.Errorf("decision leaf %d is the log index of no decision row", i)
				}
				delete(decisionAt, i)
			case healthcode.LogEvidence:
				// Ref, digest and submitter are committed: open them.
				if leaf.Entry.Ref != "" || leaf.Entry.ActorName != "" || leaf.Entry.EvidenceDigest != "" {
					t.Errorf("evidence leaf %d holds in clear %+v", i, leaf.Entry)
				}
				subject, opening, err := tx.LogOpening(ctx, i)
				if err != nil {
					return err
				}
				got, err := leaf.Open(subject, opening)
				if err != nil {
					t.Errorf("evidence leaf %d: %v", i, err)
					continue
				}
				id, err := strconv.ParseInt(strings.TrimPrefix(got.Ref, "evidence/"), 10, 64)
				if err != nil || !strings.HasPrefix(got.Ref, "evidence/") {
					t.Errorf("evidence leaf %d has ref %q", i, got.Ref)
					continue
				}
				evidenceLeaves[id]++
				ev, ok := evidence[id]
				if !ok {
					t.Errorf("evidence leaf %d names evidence %d, which is not stored", i, id)
					continue
				}
				want := healthcode.LogEntry{Type: healthcode.LogEvidence, Time: ev.RecordedAt, Region: region, Subject: ev.Subject,
					EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{ev}), ActorName: ev.SubmitterName,
					ActorRole: ev.SubmitterRole, Ref: "evidence/" + strconv.FormatInt(ev.ID, 10)}
				want.Commit = want.Committed()
				if diff := cmp.Diff(want, *got); diff != "" {
					t.Errorf("evidence leaf %d does not match evidence %d (-stored +leaf):\n%s", i, id, diff)
				}
			case healthcode.LogUnit, healthcode.LogOfficial, healthcode.LogToken:
				c.registry++
			case healthcode.LogCase:
				c.cases++
				checkCaseLeaf(t, e, tx, i, leaf)
			default:
				t.Errorf("leaf %d of unexpected type %s", i, leaf.Entry.Type)
			}
		}
		return nil
	})
	for id := range evidence {
		if evidenceLeaves[id] != 1 {
			t.Errorf("evidence %d has %d log leaves, want exactly 1", id, evidenceLeaves[id])
		}
	}
	for i := range decisionAt {
		t.Errorf("a decision row names log index %d, which is no decision leaf", i)
	}
	c.evidence = len(evidence)
	if want := int64(c.ruleSets + c.decisions + c.evidence + c.registry + c.collections + c.cases); size != want {
		t.Errorf("log size %d, but %d leaves are accounted for", size, want)
	}
	return c
}

// 3. Batch semantics.

func TestSubmitRejectsBadItemsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 20})
	now := t0
	// Tubes for the bad results: collected, one by the lab's own unit, one
	// mixed, one with its result in already.
	e.collectOK(sample(e.ids[6], "R-res", now.Add(-time.Hour)), sample(e.ids[7], "R-nores", now.Add(-time.Hour)),
		sample(e.ids[8], "R-pool", now.Add(-time.Hour)), sample(e.ids[13], "R-done", now.Add(-time.Hour)))
	mixed := sample(e.ids[10], "R-mixed", now.Add(-time.Hour))
	mixed.Mixed = true
	e.collectOK(mixed)
	ownSampler := &healthcode.Principal{ID: "sampler-lab", Name: "检验科采样窗口", Role: healthcode.RoleSampler, Unit: lab.Unit}
	if outs, err := e.eng.Collect(e.ctx, ownSampler, []healthcode.CollectionRequest{sample(e.ids[9], "R-own", now.Add(-time.Hour))}); err != nil ||
		outs[0].Status != healthcode.Accepted {
		t.Fatalf("collection by the lab's own unit: %+v, %v", outs, err)
	}
	e.submitOK(lab2, tubeResult(1, "R-done", healthcode.Negative))
	for k, tc := range []struct {
		name         string
		actor        *healthcode.Principal
		sub          healthcode.Submission
		person       int // whose evidence must not change, -1 for none
		code, detail string
	}{
		{"a result naming a person by ID number", lab, naTest(2, e.ids[1], "R-1", now.Add(-time.Hour), healthcode.Positive), 1, healthcode.EINVALID, "evidence.by_tube"},
		{"a result naming a person by pseudonym", lab, healthcode.Submission{Line: 2, Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest,
			Subject: e.subj[2], ExternalID: "R-2", ObservedAt: now.Add(-time.Hour), Result: healthcode.Positive}}, 2, healthcode.EINVALID, "evidence.by_tube"},
		{"an unknown tube", lab, tubeResult(2, "R-none", healthcode.Positive), -1, healthcode.ENOTFOUND, "tube.unknown"},
		{"a tube collected by the lab's own unit", lab, tubeResult(2, "R-own", healthcode.Positive), 9, healthcode.EFORBIDDEN, "tube.same_unit"},
		{"a tube with its result in", lab, tubeResult(2, "R-done", healthcode.Positive), 13, healthcode.ECONFLICT, "tube.resulted"},
		{"no tube", lab, tubeResult(2, "", healthcode.Positive), -1, healthcode.EINVALID, "tube.id"},
		{"bad result", lab, tubeResult(2, "R-res", "maybe"), 6, healthcode.EINVALID, "evidence.result"},
		{"no result", lab, tubeResult(2, "R-nores", ""), 7, healthcode.EINVALID, "evidence.result"},
		{"a result saying it is pooled", lab, healthcode.Submission{Line: 2, Tube: "R-pool", Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest,
			Result: healthcode.Positive, Pooled: true, PoolID: "R-pool"}}, 8, healthcode.EINVALID, "evidence.by_tube"},
		{"an antigen test of a mixed tube", lab, healthcode.Submission{Line: 2, Tube: "R-mixed", Evidence: healthcode.Evidence{Kind: healthcode.AntigenTest,
			Result: healthcode.Positive}}, 10, healthcode.EINVALID, "evidence.pooled"},
		{"a tube named on other evidence", epi, healthcode.Submission{Line: 2, IDNumber: e.ids[11], Tube: "R-res", Evidence: healthcode.Evidence{Kind: healthcode.Travel,
			ExternalID: "R-3", ObservedAt: now.Add(-time.Hour), RiskLevel: healthcode.RiskHigh, Area: "310104"}}, 11, healthcode.EINVALID, "evidence.tube"},
		{"lab designating a close contact", lab, closeContact(2, e.ids[2], "R-4", now.Add(-time.Hour)), 2, healthcode.EFORBIDDEN, "evidence.kind_not_allowed"},
		{"epidemiologist sending a test", epi, tubeResult(2, "R-res", healthcode.Positive), 6, healthcode.EFORBIDDEN, "evidence.kind_not_allowed"},
		{"clinic designating a contact", clinic, closeContact(2, e.ids[4], "R-6", now.Add(-time.Hour)), 4, healthcode.EFORBIDDEN, "evidence.kind_not_allowed"},
		{"unknown kind", lab, healthcode.Submission{Line: 2, IDNumber: e.ids[5], Evidence: healthcode.Evidence{Kind: "x_ray",
			ExternalID: "R-7", ObservedAt: now.Add(-time.Hour), Result: healthcode.Positive}}, 5, healthcode.EINVALID, "evidence.kind"},
		{"contact with no case", epi, healthcode.Submission{Line: 2, IDNumber: e.ids[11], Evidence: healthcode.Evidence{Kind: healthcode.CloseContact,
			ExternalID: "R-13", ObservedAt: now.Add(-time.Hour)}}, 11, healthcode.EINVALID, "evidence.case_ref"},
		{"contact of a case nobody was diagnosed with", epi, healthcode.Submission{Line: 2, IDNumber: e.ids[11], Evidence: healthcode.Evidence{Kind: healthcode.CloseContact,
			ExternalID: "R-14", ObservedAt: now.Add(-time.Hour), CaseRef: "depositors-list"}}, 11, healthcode.EINVALID, "evidence.unknown_case"},
	} {
		// Sequential: the cases share one store and each checks that its
		// bad item changed nothing.
		t.Run(tc.name, func(t *testing.T) {
			good := tubeResult(1, fmt.Sprintf("G-%d", k), healthcode.Negative)
			if tc.actor == epi {
				good = healthcode.Submission{Line: 1, IDNumber: e.ids[19], Evidence: healthcode.Evidence{Kind: healthcode.Travel,
					ExternalID: fmt.Sprintf("G-%d", k), ObservedAt: now.Add(-15 * 24 * time.Hour), RiskLevel: healthcode.RiskLow, Area: "310104"}}
			} else {
				e.collectOK(sample(e.ids[19], good.Tube, now.Add(-time.Hour)))
			}
			size := e.logSize()
			tube := func(id string) (tb *healthcode.Tube) {
				e.view(func(tx healthcode.ReadTx) error { tb, _ = tx.Tube(e.ctx, id); return nil })
				return tb
			}
			before := tube(tc.sub.Tube)
			subs := []healthcode.Submission{good, tc.sub}
			if tc.actor == epi {
				subs = e.caseLinks(subs) // the good travel record rests on a checked check-in
			}
			outs, err := e.eng.Submit(e.ctx, tc.actor, subs)
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Status != healthcode.Accepted || outs[0].Line != 1 {
				t.Errorf("good item: %+v", outs[0])
			}
			o := outs[1]
			if o.Status != healthcode.Rejected || o.Line != 2 || o.EvidenceID != 0 || o.Decision != nil {
				t.Errorf("bad item: %+v, want rejected on line 2 with no evidence id or decision", o)
			}
			wantCode(t, "bad item", o.Err, tc.code, tc.detail)
			// Only the good item's evidence leaf (a negative, or a low-risk
			// trip 15 days ago, leaves the person green with no decision).
			if got := e.logSize(); got != size+1 {
				t.Errorf("log grew by %d, want 1", got-size)
			}
			if tc.person >= 0 {
				if evs := e.evidence(e.subj[tc.person]); len(evs) != 0 && tc.person != 13 {
					t.Errorf("the bad item's person has evidence %+v", evs)
				}
				if d := e.decision(e.subj[tc.person]); d != nil {
					t.Errorf("the bad item's person has a decision %+v", d)
				}
			}
			if diff := cmp.Diff(before, tube(tc.sub.Tube)); diff != "" {
				t.Errorf("the bad item's tube changed (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("within the clock skew", func(t *testing.T) {
		e.collectOK(sample(e.ids[12], "R-skew", now.Add(healthcode.MaxClockSkew-time.Second)))
		outs := e.submit(lab, tubeResult(1, "R-skew", healthcode.Positive))
		if outs[0].Status != healthcode.Accepted || outs[0].Decision == nil || outs[0].Decision.Colour != healthcode.Red {
			t.Errorf("a result for a sample dated within the allowed skew: %+v", outs[0])
		}
	})
}

func TestSubmitDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 10})
	ctx := e.ctx
	at := t0.Add(-2 * time.Hour)
	e.collectOK(sample(e.ids[0], "S-1", at), sample(e.ids[3], "S-2", at), sample(e.ids[4], "S-3", at))
	first := e.submitOK(lab, tubeResult(7, "S-1", healthcode.Positive))[0]
	if first.Decision == nil || first.Decision.Colour != healthcode.Red || first.Line != 7 {
		t.Fatalf("first submission: %+v", first)
	}

	for _, tc := range []struct {
		name       string
		actor      *healthcode.Principal
		items      []healthcode.Submission
		want       []string // statuses
		sameIDAs   []int    // index of an earlier item whose EvidenceID the item must carry, -1 for none, -2 for S-1
		conflictAt []int
		logGrowth  int64
	}{
		{
			name:      "the same result again",
			actor:     lab,
			items:     []healthcode.Submission{tubeResult(1, "S-1", healthcode.Positive)},
			want:      []string{healthcode.Duplicate},
			sameIDAs:  []int{-2},
			logGrowth: 0,
		},
		{
			name:       "the same tube with another result",
			actor:      lab,
			items:      []healthcode.Submission{tubeResult(1, "S-1", healthcode.Negative)},
			want:       []string{healthcode.Rejected},
			sameIDAs:   []int{-1},
			conflictAt: []int{0},
			logGrowth:  0,
		},
		{
			name:       "the same tube from another lab",
			actor:      lab2,
			items:      []healthcode.Submission{tubeResult(1, "S-1", healthcode.Positive)},
			want:       []string{healthcode.Rejected},
			sameIDAs:   []int{-1},
			conflictAt: []int{0},
			logGrowth:  0,
		},
		{
			name:      "a duplicate within one batch",
			actor:     lab,
			items:     []healthcode.Submission{tubeResult(1, "S-2", healthcode.Negative), tubeResult(2, "S-2", healthcode.Negative)},
			want:      []string{healthcode.Accepted, healthcode.Duplicate},
			sameIDAs:  []int{-1, 0},
			logGrowth: 1,
		},
		{
			name:       "a conflict within one batch",
			actor:      lab,
			items:      []healthcode.Submission{tubeResult(1, "S-3", healthcode.Negative), tubeResult(2, "S-3", healthcode.Positive)},
			want:       []string{healthcode.Accepted, healthcode.Rejected},
			sameIDAs:   []int{-1, -1},
			conflictAt: []int{1},
			logGrowth:  1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := e.logSize()
			decisions0 := len(e.history(e.subj[0]))
			outs := e.submit(tc.actor, tc.items...)
			var got []string
			for _, o := range outs {
				got = append(got, o.Status)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("statuses (-want +got):\n%s", diff)
			}
			for i, o := range outs {
				if o.Line != tc.items[i].Line {
					t.Errorf("item %d (%s): line %d, want %d", i, o.Status, o.Line, tc.items[i].Line)
				}
				switch j := tc.sameIDAs[i]; {
				case j == -2 && o.EvidenceID != first.EvidenceID:
					t.Errorf("item %d: evidence id %d, want the original %d", i, o.EvidenceID, first.EvidenceID)
				case j >= 0 && o.EvidenceID != outs[j].EvidenceID:
					t.Errorf("item %d: evidence id %d, want item %d's %d", i, o.EvidenceID, j, outs[j].EvidenceID)
				}
				if o.Status == healthcode.Duplicate && o.Decision != nil {
					t.Errorf("item %d: a duplicate reports a decision %+v", i, o.Decision)
				}
			}
			for _, i := range tc.conflictAt {
				wantCode(t, fmt.Sprintf("item %d", i), outs[i].Err, healthcode.ECONFLICT, "tube.resulted")
			}
			if got := e.logSize() - size; got != tc.logGrowth {
				t.Errorf("log grew by %d, want %d", got, tc.logGrowth)
			}
			if got := len(e.history(e.subj[0])); got != decisions0 {
				t.Errorf("person 0 now has %d decisions, had %d", got, decisions0)
			}
		})
	}
	// The original stands, unchanged.
	e.view(func(tx healthcode.ReadTx) error {
		ev, err := tx.EvidenceByExternalID(ctx, lab.ID, "tube/S-1")
		if err != nil {
			return err
		}
		if ev.ID != first.EvidenceID || ev.Result != healthcode.Positive || ev.Subject != e.subj[0] {
			t.Errorf("S-1 is now %+v", ev)
		}
		return nil
	})
	if d := e.decision(e.subj[0]); d == nil || d.Colour != healthcode.Red || d.LogIndex != first.Decision.LogIndex {
		t.Errorf("person 0's decision is now %+v", d)
	}
}

func TestSubmitOnePersonManyItemsOneDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	size := e.logSize()
	if outs, err := e.eng.Submit(e.ctx, lab, nil); err != nil || len(outs) != 0 || e.logSize() != size {
		t.Errorf("an empty batch: %+v, %v, log %d → %d", outs, err, size, e.logSize())
	}
	at := t0.Add(-6 * time.Hour)
	outs := e.submitOK(lab,
		naTest(1, e.ids[0], "S-1", at, healthcode.Negative),
		naTest(2, e.ids[1], "S-2", at, healthcode.Positive),
		naTest(3, e.ids[0], "S-3", at.Add(time.Hour), healthcode.Positive),
		healthcode.Submission{Line: 4, IDNumber: e.ids[0], Evidence: healthcode.Evidence{Kind: healthcode.AntigenTest, ExternalID: "S-4",
			ObservedAt: at.Add(2 * time.Hour), Result: healthcode.Positive}},
		pooledTest(5, e.ids[0], "S-5", "MIX-9", at.Add(3*time.Hour), healthcode.Positive),
	)
	h0, h1 := e.history(e.subj[0]), e.history(e.subj[1])
	if len(h0) != 1 || len(h1) != 1 {
		t.Fatalf("decisions: person 0 has %d, person 1 has %d; want one each for the whole batch", len(h0), len(h1))
	}
	if got := e.logSize() - size; got != 5+5+2 {
		t.Errorf("log grew by %d, want 5 collections, 5 evidence and 2 decision leaves", got)
	}
	for _, i := range []int{0, 2, 3, 4} {
		if d := outs[i].Decision; d == nil || d.LogIndex != h0[0].LogIndex {
			t.Errorf("item %d reports decision %+v, want person 0's one decision (log %d)", i, d, h0[0].LogIndex)
		}
	}
	if h0[0].Colour != healthcode.Red || h0[0].RuleID != "positive_test" {
		t.Errorf("person 0: %+v, want red by positive_test", h0[0])
	}
	if calls := e.onChangeCalls(); len(calls) == 0 || !cmp.Equal(calls[len(calls)-1], []string{e.subj[0], e.subj[1]}) {
		t.Errorf("OnChange calls %v, want the last to name persons 0 and 1 once each", calls)
	}
	checkExplained(t, e, e.subj)
}

// 4. Determinism.

// scenario plays a fixed history of evidence, clock moves and reviews.
func scenario(t *testing.T, e *env, oneByOne bool) {
	t.Helper()
	ids := e.ids
	submit := func(actor *healthcode.Principal, items ...healthcode.Submission) {
		t.Helper()
		if !oneByOne {
			e.submit(actor, items...)
			return
		}
		// One by one, except that a mixed tube's samples go together:
		// its one result covers them all.
		for i := 0; i < len(items); {
			j := i + 1
			for items[i].Evidence.Pooled && j < len(items) && items[j].Evidence.PoolID == items[i].Evidence.PoolID {
				j++
			}
			e.submit(actor, items[i:j]...)
			i = j
		}
	}
	at := t0.Add(-5 * time.Hour)
	submit(lab,
		naTest(1, ids[0], "D-1", at, healthcode.Positive),
		pooledTest(2, ids[1], "D-2", "MIX-1", at, healthcode.Positive),
		pooledTest(3, ids[2], "D-3", "MIX-1", at, healthcode.Positive),
		naTest(4, ids[3], "D-4", at, healthcode.Negative),
	)
	submit(epi,
		closeContact(1, ids[4], "DC-1", at),
		closeContact(2, ids[5], "DC-2", at),
	)
	e.clock.Advance(26 * time.Hour)
	submit(lab,
		naTest(1, ids[0], "D-5", e.clock.Now().Add(-time.Hour), healthcode.Negative),
		naTest(2, ids[1], "D-6", e.clock.Now().Add(-time.Hour), healthcode.Negative),
		naTest(3, ids[4], "D-7", e.clock.Now().Add(-time.Hour), healthcode.Negative),
	)
	e.clock.Advance(10 * 24 * time.Hour)
	if _, _, err := e.eng.ReviewDue(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDeterministicDecisions(t *testing.T) {
	t.Parallel()
	seed := [32]byte{42}
	var envs [2]*env
	for i := range envs {
		envs[i] = newEnv(t, envConfig{people: 8, random: rand.NewChaCha8(seed)})
		scenario(t, envs[i], false)
	}
	a, b := envs[0], envs[1]
	var nonDefault int
	for i := range a.subj {
		ha, hb := a.history(a.subj[i]), b.history(b.subj[i])
		if diff := cmp.Diff(ha, hb); diff != "" {
			t.Errorf("person %d: the same evidence and clock gave other decisions (-first +second):\n%s", i, diff)
		}
		if len(ha) > 0 {
			nonDefault++
		}
	}
	if nonDefault < 5 {
		t.Fatalf("only %d people hold decisions: the scenario tests too little", nonDefault)
	}
	// With the same salts, the logs are byte for byte the same.
	sa, sb := a.logSize(), b.logSize()
	if sa != sb {
		t.Fatalf("log sizes %d and %d", sa, sb)
	}
	for i := range sa {
		var la, lb []byte
		a.view(func(tx healthcode.ReadTx) error { var err error; la, err = tx.LogLeaf(a.ctx, i); return err })
		b.view(func(tx healthcode.ReadTx) error { var err error; lb, err = tx.LogLeaf(b.ctx, i); return err })
		if !bytes.Equal(la, lb) && !isTokenLeaf(la) {
			t.Errorf("leaf %d differs", i)
		}
	}

	// Submitting the same evidence item by item rather than in batches
	// leads to the same decisions (though logged at other indexes).
	c := newEnv(t, envConfig{people: 8})
	scenario(t, c, true)
	for i := range a.subj {
		da, dc := a.decision(a.subj[i]), c.decision(c.subj[i])
		if (da == nil) != (dc == nil) || (da != nil && !da.Same(dc)) {
			t.Errorf("person %d: in batches %+v, one by one %+v", i, da, dc)
		}
	}
}

// 5. ReviewDue.

func TestReviewDueLiftsCloseContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	ctx := e.ctx
	exposure := t0
	out := e.submitOK(epi, closeContact(1, e.ids[0], "CC-1", exposure))[0]
	// With every test still to take, time alone lifts it only when its
	// window closes (14 days); each negative brings that nearer.
	if d := out.Decision; d == nil || d.Colour != healthcode.Red || d.RuleID != "close_contact" || d.LiftsAt == nil ||
		!d.LiftsAt.Equal(exposure.Add(14*24*time.Hour)) {
		t.Fatalf("close contact: %+v", out.Decision)
	}
	for i, day := range []int{1, 2, 3, 5, 7, 10} {
		at := exposure.Add(time.Duration(day-1)*24*time.Hour + 3*time.Hour)
		e.clock.Set(at.Add(time.Hour))
		o := e.submitOK(lab, naTest(1, e.ids[0], fmt.Sprintf("CC-T%d", i), at, healthcode.Negative))[0]
		if o.Decision == nil || o.Decision.Colour != healthcode.Red {
			t.Fatalf("day %d: %+v, want still red", day, o.Decision)
		}
	}
	lift := exposure.Add(10 * 24 * time.Hour)
	if d := e.decision(e.subj[0]); d.LiftsAt == nil || !d.LiftsAt.Equal(lift) {
		t.Fatalf("with every required test negative, lifts at %v, want %v", d.LiftsAt, lift)
	}

	// Just before the lift time: reviewed, but nothing changes and nothing is logged.
	e.clock.Set(lift.Add(-time.Minute))
	size := e.logSize()
	before := e.decision(e.subj[0])
	reviewed, changed, err := e.eng.ReviewDue(ctx, nil)
	if err != nil || changed != 0 {
		t.Fatalf("ReviewDue before the lift = %d, %d, %v; want nothing changed", reviewed, changed, err)
	}
	if got := e.logSize(); got != size {
		t.Errorf("a review that changed nothing logged %d leaves", got-size)
	}
	if d := e.decision(e.subj[0]); d.LogIndex != before.LogIndex || d.Colour != healthcode.Red {
		t.Errorf("before the lift: %+v", d)
	}

	// Past it, with every required negative: green, by the rules, logged.
	e.clock.Set(lift.Add(time.Minute))
	var progress [][2]int64
	reviewed, changed, err = e.eng.ReviewDue(ctx, func(done, total int64) { progress = append(progress, [2]int64{done, total}) })
	if err != nil || reviewed != 1 || changed != 1 {
		t.Fatalf("ReviewDue after the lift = %d, %d, %v; want 1, 1, nil", reviewed, changed, err)
	}
	if len(progress) != 1 || progress[0][0] != 1 {
		t.Errorf("progress calls %v, want one saying 1 done", progress)
	}
	d := e.decision(e.subj[0])
	if d.Colour != healthcode.Green || d.RuleID != "default" || d.LogIndex != size || !d.DecidedAt.Equal(e.clock.Now()) {
		t.Errorf("after the lift: %+v, want green by default logged at %d", d, size)
	}
	if got := e.logSize(); got != size+1 {
		t.Errorf("the lift logged %d leaves, want 1", got-size)
	}
	checkExplained(t, e, e.subj)

	// Again: nothing is due, nothing changes.
	reviewed, changed, err = e.eng.ReviewDue(ctx, nil)
	if err != nil || reviewed != 0 || changed != 0 {
		t.Errorf("second ReviewDue = %d, %d, %v; want 0, 0, nil", reviewed, changed, err)
	}
	if got := e.logSize(); got != size+1 {
		t.Errorf("second ReviewDue logged %d leaves", got-size-1)
	}
}

func TestReviewDueAfterRepublishIsBatchedAndResumable(t *testing.T) {
	t.Parallel()
	n := engine.ReviewBatch + 100
	e := newEnv(t, envConfig{people: n + 20})
	ctx := e.ctx
	items := make([]healthcode.Submission, n)
	for i := range items {
		items[i] = naTest(i+1, e.ids[i], fmt.Sprintf("S-%04d", i), t0.Add(-time.Hour), healthcode.Positive)
	}
	e.submitOK(lab, items...)
	_, old, _ := e.eng.ActiveRuleSet()

	e.clock.Advance(time.Minute)
	rec, err := publishByAdmins(e.eng, ctx, republished(t, "test-2"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != "test-2" || rec.Hash == old.Hash || rec.PublishedBy != healthcode.ActorLabel(admin)+" & "+healthcode.ActorLabel(admin2) {
		t.Fatalf("published %s by %s (old hash %s)", rec.Version, rec.PublishedBy, old.Hash)
	}
	if due := e.dueNow(); len(due) != n {
		t.Fatalf("after the publication %d people are due, want all %d with a decision", len(due), n)
	}
	size := e.logSize()

	// Cancelled after the first batch: it is committed, the rest is not.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var calls int
	reviewed, changed, err := e.eng.ReviewDue(cctx, func(done, total int64) { calls++; cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ReviewDue: error %v, want context.Canceled", err)
	}
	if reviewed != engine.ReviewBatch || changed != engine.ReviewBatch || calls != 1 {
		t.Fatalf("cancelled ReviewDue = %d reviewed, %d changed, %d progress calls; want %d, %d, 1", reviewed, changed, calls, engine.ReviewBatch, engine.ReviewBatch)
	}
	countVersions := func() map[string]int {
		m := map[string]int{}
		for _, s := range e.subj[:n] {
			m[e.decision(s).RuleSetVersion]++
		}
		return m
	}
	if diff := cmp.Diff(map[string]int{"test-2": engine.ReviewBatch, old.Version: 100}, countVersions()); diff != "" {
		t.Errorf("after the first batch (-want +got):\n%s", diff)
	}
	if got := e.logSize() - size; got != engine.ReviewBatch {
		t.Errorf("the first batch logged %d leaves, want %d", got, engine.ReviewBatch)
	}
	if due := e.dueNow(); len(due) != 100 {
		t.Errorf("%d people still due, want 100", len(due))
	}

	// A restarted node carries on where the first stopped.
	restarted := e.newEngine()
	if err := restarted.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, r, err := restarted.ActiveRuleSet(); err != nil || r.Version != "test-2" {
		t.Fatalf("restarted engine's rule set: %+v, %v", r, err)
	}
	var progress []int64
	reviewed, changed, err = restarted.ReviewDue(ctx, func(done, total int64) { progress = append(progress, done) })
	if err != nil || reviewed != 100 || changed != 100 {
		t.Fatalf("resumed ReviewDue = %d, %d, %v; want 100, 100, nil", reviewed, changed, err)
	}
	if diff := cmp.Diff([]int64{100}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"test-2": n}, countVersions()); diff != "" {
		t.Errorf("after the resumed review (-want +got):\n%s", diff)
	}
	if got := e.logSize() - size; got != int64(n) {
		t.Errorf("the review logged %d leaves, want one per person: %d", got, n)
	}
	for _, s := range e.subj[:n] {
		if h := e.history(s); len(h) != 2 || h[0].RuleSetVersion != old.Version || h[1].RuleSetVersion != "test-2" ||
			h[1].Colour != healthcode.Red || h[1].Actor != "rules:test-2" {
			t.Fatalf("%s history %+v, want red under %s then red under test-2", s, h, old.Version)
		}
	}
	checkExplained(t, e, e.subj)
	// The restarted engine explains decisions made under the superseded
	// rule set, which it has not compiled itself.
	v, err := restarted.Code(ctx, e.subj[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(v.History) != 2 || v.History[0].Text.EN == "" || v.History[0].Basis == "" || v.History[0].RuleSetVersion != old.Version {
		t.Errorf("history under the old rule set is not explained: %+v", v.History)
	}

	// Nothing left: a third run does nothing.
	reviewed, changed, err = restarted.ReviewDue(ctx, nil)
	if err != nil || reviewed != 0 || changed != 0 {
		t.Errorf("third ReviewDue = %d, %d, %v; want 0, 0, nil", reviewed, changed, err)
	}

	// An uninterrupted review does it all in batches of ReviewBatch.
	e.clock.Advance(time.Minute)
	if _, err := publishByAdmins(restarted, ctx, republished(t, "test-3")); err != nil {
		t.Fatal(err)
	}
	progress = nil
	reviewed, changed, err = restarted.ReviewDue(ctx, func(done, total int64) { progress = append(progress, done) })
	if err != nil || reviewed != int64(n) || changed != int64(n) {
		t.Errorf("full ReviewDue = %d, %d, %v; want %d, %d, nil", reviewed, changed, err, n, n)
	}
	if diff := cmp.Diff([]int64{engine.ReviewBatch, int64(n)}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

// 6. Authorization in the engine.

func TestSubmitNeedsAnOfficial(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	item := naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive)
	size := e.logSize()
	for _, tc := range []struct {
		name  string
		actor *healthcode.Principal
	}{
		{"nil actor", nil},
		{"citizen", &healthcode.Principal{ID: e.subj[0], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := e.eng.Submit(e.ctx, tc.actor, []healthcode.Submission{item})
			wantCode(t, "Submit", err, healthcode.EFORBIDDEN, "auth.role")
			if outs != nil {
				t.Errorf("outcomes %+v", outs)
			}
		})
	}
	if got := e.logSize(); got != size {
		t.Errorf("refused submissions logged %d leaves", got-size)
	}
	if evs := e.evidence(e.subj[0]); len(evs) != 0 {
		t.Errorf("refused submissions stored %+v", evs)
	}
	// An official whose role submits no evidence at all: the
	// EvidenceService contract says EFORBIDDEN for the whole call.
	t.Run("auditor", func(t *testing.T) {
		auditor := &healthcode.Principal{ID: "aud-1", Name: "审计员 赵六", Role: healthcode.RoleAuditor}
		outs, err := e.eng.Submit(e.ctx, auditor, []healthcode.Submission{item})
		if err == nil {
			for _, o := range outs {
				if o.Status != healthcode.Rejected || healthcode.ErrorCode(o.Err) != healthcode.EFORBIDDEN {
					t.Fatalf("an auditor's item: %+v", o)
				}
			}
			if got := e.logSize(); got != size {
				t.Fatalf("an auditor's submission logged %d leaves", got-size)
			}
			t.Fatal("regression: Submit by a role that may submit no evidence (auditor, operator, verifier, system…) returns nil error " +
				"with every item rejected; healthcode.EvidenceService documents EFORBIDDEN for the call (engine/evidence.go Submit checks only Official())")
		}
		wantCode(t, "auditor Submit", err, healthcode.EFORBIDDEN, "")
	})
}

func TestPublishRuleSetAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	ctx := e.ctx
	_, base, _ := e.eng.ActiveRuleSet()
	src := republished(t, "test-2")
	for _, tc := range []struct {
		name  string
		actor *healthcode.Principal
	}{
		{"nil actor", nil},
		{"citizen", &healthcode.Principal{ID: e.subj[0], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[0]}},
		{"lab", lab},
		{"epidemiologist", epi},
		{"auditor", &healthcode.Principal{ID: "aud-1", Name: "审计员", Role: healthcode.RoleAuditor}},
		{"operator", &healthcode.Principal{ID: "op-1", Name: "操作员", Role: healthcode.RoleOperator}},
		{"one admin alone", admin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := e.logSize()
			_, err := e.eng.PublishRuleSet(ctx, tc.actor, src)
			wantCode(t, "PublishRuleSet", err, healthcode.EFORBIDDEN, "auth.role")
			if _, rec, _ := e.eng.ActiveRuleSet(); rec.Version != base.Version {
				t.Errorf("rule set in force is now %s", rec.Version)
			}
			if got := e.logSize(); got != size {
				t.Errorf("a refused publication logged %d leaves", got-size)
			}
		})
	}

	// An example that fails: refused, and the old rule set stays in force.
	t.Run("failing example", func(t *testing.T) {
		const expect = "expect: {colour: green, reason: none, rule: default, lifts_at: none, evidence_ids: []}"
		if strings.Count(string(src), expect) != 1 {
			t.Fatal("the baseline's first example changed; update the test")
		}
		bad := []byte(strings.Replace(string(republished(t, "test-bad")), expect, strings.Replace(expect, "green", "red", 1), 1))
		size := e.logSize()
		_, err := publishByAdmins(e.eng, ctx, bad)
		wantCode(t, "PublishRuleSet", err, healthcode.EINVALID, "rules.example")
		if _, rec, _ := e.eng.ActiveRuleSet(); rec.Version != base.Version {
			t.Errorf("rule set in force is now %s", rec.Version)
		}
		e.view(func(tx healthcode.ReadTx) error {
			_, err := tx.RuleSet(ctx, "test-bad")
			wantCode(t, "the refused rule set", err, healthcode.ENOTFOUND, "")
			rec, err := tx.ActiveRuleSet(ctx)
			if err != nil || rec.Version != base.Version {
				t.Errorf("store's rule set in force: %+v, %v", rec, err)
			}
			return nil
		})
		if got := e.logSize(); got != size {
			t.Errorf("a refused publication logged %d leaves", got-size)
		}
	})

	// The admin (and the system, at first start) may publish.
	t.Run("admin", func(t *testing.T) {
		size := e.logSize()
		rec, err := publishByAdmins(e.eng, ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if _, active, _ := e.eng.ActiveRuleSet(); active.Version != "test-2" || active.Hash != rec.Hash {
			t.Errorf("rule set in force: %+v", active)
		}
		if got := e.logSize(); got != size+1 {
			t.Fatalf("publication logged %d leaves, want 1", got-size)
		}
		e.view(func(tx healthcode.ReadTx) error {
			b, err := tx.LogLeaf(ctx, size)
			if err != nil {
				return err
			}
			leaf, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			want := healthcode.LogEntry{Type: healthcode.LogRuleSet, Time: e.clock.Now(), Region: region, RuleSetHash: rec.Hash,
				ActorName: healthcode.ActorLabel(admin) + " & " + healthcode.ActorLabel(admin2), ActorRole: healthcode.RoleAdmin, Ref: "test-2"}
			if diff := cmp.Diff(want, leaf.Entry); diff != "" || leaf.Commitment != nil {
				t.Errorf("publication leaf (-want +got):\n%s", diff)
			}
			return nil
		})
	})
	t.Run("the same version again", func(t *testing.T) {
		size := e.logSize()
		_, err := publishByAdmins(e.eng, ctx, republished(t, base.Version))
		wantCode(t, "republishing an old version", err, healthcode.ECONFLICT, "ruleset.exists")
		if _, rec, _ := e.eng.ActiveRuleSet(); rec.Version != "test-2" {
			t.Errorf("rule set in force is now %s", rec.Version)
		}
		e.view(func(tx healthcode.ReadTx) error {
			rec, err := tx.ActiveRuleSet(ctx)
			if err != nil || rec.Version != "test-2" {
				t.Errorf("store's rule set in force: %+v, %v", rec, err)
			}
			return nil
		})
		if got := e.logSize(); got != size {
			t.Errorf("a refused publication logged %d leaves", got-size)
		}
	})
}

func TestNoRuleSetInForce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2, noRuleSet: true})
	_, err := e.eng.Submit(e.ctx, lab, []healthcode.Submission{naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive)})
	wantCode(t, "Submit", err, healthcode.EUNAVAILABLE, "ruleset.none")
	_, err = e.eng.Code(e.ctx, e.subj[0])
	wantCode(t, "Code", err, healthcode.EUNAVAILABLE, "ruleset.none")
	_, _, err = e.eng.ReviewDue(e.ctx, nil)
	wantCode(t, "ReviewDue", err, healthcode.EUNAVAILABLE, "ruleset.none")
	if got := e.logSize(); got != 0 {
		t.Errorf("log size %d, want 0", got)
	}
}

// 7. Code.

func TestCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	ctx := e.ctx

	t.Run("no evidence: the default, never logged", func(t *testing.T) {
		v, err := e.eng.Code(ctx, e.subj[2])
		if err != nil {
			t.Fatal(err)
		}
		d := v.Decision
		if d.Colour != healthcode.Green || d.RuleID != "default" || d.LogIndex != -1 || d.Subject != e.subj[2] || d.Text.EN == "" {
			t.Errorf("default decision %+v", d)
		}
		if len(v.History) != 0 || len(v.Evidence) != 0 || v.Person == nil || v.Person.Pseudonym != e.subj[2] {
			t.Errorf("view %+v", v)
		}
	})
	t.Run("unknown person", func(t *testing.T) {
		_, err := e.eng.Code(ctx, "paaaaaaaaaaaaaaaaaaaaaaaa")
		wantCode(t, "Code", err, healthcode.ENOTFOUND, "")
	})
	t.Run("history oldest first", func(t *testing.T) {
		e.submitOK(lab, naTest(1, e.ids[0], "S-1", e.clock.Now().Add(-time.Hour), healthcode.Positive))
		e.clock.Advance(24 * time.Hour)
		e.submitOK(lab, naTest(1, e.ids[0], "S-2", e.clock.Now().Add(-time.Hour), healthcode.Negative))
		e.clock.Advance(24 * time.Hour)
		pos := e.submitOK(lab, naTest(1, e.ids[0], "S-3", e.clock.Now().Add(-time.Hour), healthcode.Positive))[0]
		v, err := e.eng.Code(ctx, e.subj[0])
		if err != nil {
			t.Fatal(err)
		}
		var colours []healthcode.Colour
		for i, d := range v.History {
			colours = append(colours, d.Colour)
			if i > 0 && (d.LogIndex <= v.History[i-1].LogIndex || !d.DecidedAt.After(v.History[i-1].DecidedAt)) {
				t.Errorf("history %d (log %d, %s) is not after %d", i, d.LogIndex, d.DecidedAt, i-1)
			}
			if d.Text.EN == "" || d.Basis == "" {
				t.Errorf("history %d has no words: %+v", i, d)
			}
		}
		if diff := cmp.Diff([]healthcode.Colour{healthcode.Red, healthcode.Green, healthcode.Red}, colours); diff != "" {
			t.Errorf("history colours (-want +got):\n%s", diff)
		}
		last := v.History[len(v.History)-1]
		if diff := cmp.Diff(&last, v.Decision); diff != "" {
			t.Errorf("the decision is not the last of the history (-last +decision):\n%s", diff)
		}
		if v.Decision.LogIndex != pos.Decision.LogIndex || v.Decision.Lift.EN == "" {
			t.Errorf("decision %+v", v.Decision)
		}
		// The evidence shown is exactly what the decision rests on.
		var shown []int64
		for _, ev := range v.Evidence {
			shown = append(shown, ev.ID)
		}
		if diff := cmp.Diff(v.Decision.EvidenceIDs, shown); diff != "" || len(shown) == 0 {
			t.Errorf("evidence shown (-decision's +shown):\n%s", diff)
		}
	})
}

// 8. Tokens.

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	ctx := e.ctx
	for _, tc := range []struct {
		name         string
		p            healthcode.Principal
		code, detail string
	}{
		{"citizen of no one", healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen}, healthcode.EINVALID, "token.subject"},
		{"citizen of an unknown person", healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: "paaaaaaaaaaaaaaaaaaaaaaaa"}, healthcode.ENOTFOUND, ""},
		{"lab speaking for a person", healthcode.Principal{Name: "lab", Role: healthcode.RoleLab, Subject: e.subj[0]}, healthcode.EINVALID, "token.subject"},
		{"unknown role", healthcode.Principal{Name: "root", Role: "root"}, healthcode.EINVALID, "role.unknown"},
		{"system role", healthcode.Principal{Name: "rules", Role: healthcode.RoleSystem}, healthcode.EINVALID, "role.unknown"},
		{"no name", healthcode.Principal{Name: " ", Role: healthcode.RoleLab}, healthcode.EINVALID, "token.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			tok, err := e.eng.CreateToken(ctx, &p)
			wantCode(t, "CreateToken", err, tc.code, tc.detail)
			if tok != "" {
				t.Errorf("refused CreateToken gave token %q", tok)
			}
		})
	}

	labTok, err := e.eng.CreateToken(ctx, &healthcode.Principal{ID: lab.ID, Name: lab.Name, Role: lab.Role, Unit: lab.Unit})
	if err != nil {
		t.Fatal(err)
	}
	citTok, err := e.eng.CreateToken(ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(labTok, engine.TokenPrefix) || labTok == citTok {
		t.Errorf("tokens %q, %q", labTok, citTok)
	}
	for _, tc := range []struct {
		tok  string
		want healthcode.Principal
	}{
		{labTok, *lab},
		{citTok, healthcode.Principal{ID: e.subj[1], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]}},
	} {
		p, err := e.eng.Authenticate(ctx, tc.tok)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, *p); diff != "" {
			t.Errorf("Authenticate (-want +got):\n%s", diff)
		}
	}
	// An official token without an ID gets a generated one, not its name.
	anon, err := e.eng.CreateToken(ctx, &healthcode.Principal{Name: "流调员 张三", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.eng.Authenticate(ctx, anon); err != nil || p.ID == "流调员 张三" || !strings.HasPrefix(p.ID, "o") || p.Unit != "市疾控中心" {
		t.Errorf("Authenticate = %+v, %v; want a generated official id", p, err)
	}
	// An official needs a unit.
	noUnit := healthcode.Principal{Name: "流调员 王五", Role: healthcode.RoleEpidemiologist}
	_, err = e.eng.CreateToken(ctx, &noUnit)
	wantCode(t, "CreateToken without a unit", err, healthcode.EINVALID, "official.unit")

	for _, tc := range []struct{ name, tok, detail string }{
		{"empty", "", "auth.bad_token"},
		{"no prefix", "abc", "auth.bad_token"},
		{"other prefix", "hx_" + labTok[3:], "auth.bad_token"},
		{"too long", labTok + strings.Repeat("A", 128), "auth.bad_token"},
		{"unknown", engine.TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "auth.unknown_token"},
		{"one character changed", labTok[:len(labTok)-1] + string(labTok[len(labTok)-1]^1), "auth.unknown_token"},
		{"cut short", labTok[:len(labTok)-1], "auth.unknown_token"},
	} {
		t.Run("Authenticate "+tc.name, func(t *testing.T) {
			p, err := e.eng.Authenticate(ctx, tc.tok)
			wantCode(t, "Authenticate", err, healthcode.EUNAUTHORIZED, tc.detail)
			if p != nil {
				t.Errorf("Authenticate gave %+v", p)
			}
		})
	}
}

// hookStore is the real store that runs a function, once, just before the
// next write transaction begins: it puts another caller's commit between
// an engine call's start and its transaction.
type hookStore struct {
	healthcode.Store
	mu     sync.Mutex
	before func()
}

func (s *hookStore) Update(ctx context.Context, fn func(healthcode.Tx) error) error {
	s.mu.Lock()
	h := s.before
	s.before = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return s.Store.Update(ctx, fn)
}

func (s *hookStore) beforeNextUpdate(fn func()) {
	s.mu.Lock()
	s.before = fn
	s.mu.Unlock()
}

// A rule set published while a submission or a review is under way must
// not be overtaken by it: whoever it concerns ends up decided under the new
// rule set, or still due for review under it.
func TestPublicationDuringSubmitOrReview(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(e *env, collected []healthcode.Submission) error
	}{
		{"submit", func(e *env, collected []healthcode.Submission) error {
			_, err := e.eng.Submit(e.ctx, lab, collected)
			return err
		}},
		{"review", func(e *env, _ []healthcode.Submission) error {
			_, _, err := e.eng.ReviewDue(e.ctx, nil)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: 3})
			hs := &hookStore{Store: e.db}
			e.eng.Store = hs
			if tc.name == "review" {
				e.submitOK(lab, naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive),
					naTest(2, e.ids[1], "S-2", t0.Add(-time.Hour), healthcode.Positive))
				if _, err := publishByAdmins(e.eng, e.ctx, republished(t, "test-2")); err != nil {
					t.Fatal(err)
				}
			}
			var collected []healthcode.Submission
			if tc.name == "submit" { // the samples are collected before
				collected, _ = e.byTube([]healthcode.Submission{
					naTest(1, e.ids[0], "S-1", t0.Add(-time.Hour), healthcode.Positive),
					naTest(2, e.ids[1], "S-2", t0.Add(-time.Hour), healthcode.Positive),
				})
			}
			hs.beforeNextUpdate(func() {
				if _, err := publishByAdmins(e.eng, e.ctx, republished(t, "test-3")); err != nil {
					t.Errorf("publication: %v", err)
				}
			})
			if err := tc.run(e, collected); err != nil {
				t.Fatal(err)
			}
			if _, rec, _ := e.eng.ActiveRuleSet(); rec.Version != "test-3" {
				t.Fatalf("rule set in force %s, want test-3", rec.Version)
			}
			due := map[string]bool{}
			for _, s := range e.dueNow() {
				due[s] = true
			}
			var stale []string
			for _, s := range e.subj[:2] {
				if d := e.decision(s); d.RuleSetVersion != "test-3" && !due[s] {
					stale = append(stale, fmt.Sprintf("%s holds a decision under %s, due for review only at %s",
						s, d.RuleSetVersion, d.ReviewAt.Format(time.RFC3339)))
				}
			}
			if len(stale) > 0 {
				t.Fatalf("regression: a rule set published while %s was under way is overtaken by it: the engine evaluates "+
					"with the rule set it read before its transaction began (engine/evidence.go Submit, engine/review.go "+
					"ReviewDue), and the review time it writes undoes the publication's 'review everyone now': %v", tc.name, stale)
			}
		})
	}
}

// Submissions, reviews, publications, reads and token checks at once: run
// with -race. Whatever the interleaving, the log accounts for every change.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 40})
	ctx := e.ctx
	tok, err := e.eng.CreateToken(ctx, &healthcode.Principal{ID: lab.ID, Name: lab.Name, Role: lab.Role, Unit: lab.Unit})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const workers, each = 4, 10
	for g := range workers {
		wg.Go(func() {
			for k := range each {
				i := g*each + k
				result := healthcode.Negative
				if k%3 == 0 {
					result = healthcode.Positive
				}
				items, _ := e.byTube([]healthcode.Submission{
					naTest(1, e.ids[i], fmt.Sprintf("C-%d-%d", g, k), t0.Add(-time.Hour), result),
					naTest(2, e.ids[(i+1)%len(e.ids)], fmt.Sprintf("C-%d-%d-b", g, k), t0.Add(-2*time.Hour), healthcode.Negative),
				})
				outs, err := e.eng.Submit(ctx, lab, items)
				if err != nil || outs[0].Status != healthcode.Accepted {
					t.Errorf("Submit: %+v, %v", outs, err)
				}
				if _, err := e.eng.Code(ctx, e.subj[i]); err != nil {
					t.Errorf("Code: %v", err)
				}
				if p, err := e.eng.Authenticate(ctx, tok); err != nil || p.ID != lab.ID {
					t.Errorf("Authenticate: %+v, %v", p, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, _, err := e.eng.ReviewDue(ctx, nil); err != nil {
				t.Errorf("ReviewDue: %v", err)
			}
		}
	})
	wg.Go(func() {
		if _, err := publishByAdmins(e.eng, ctx, republished(t, "test-2")); err != nil {
			t.Errorf("PublishRuleSet: %v", err)
		}
	})
	wg.Wait()
	checkExplained(t, e, e.subj)
	c := checkLog(t, e)
	if c.ruleSets != 2 || c.evidence != 2*workers*each {
		t.Errorf("log holds %d rule sets and %d evidence; want 2 and %d", c.ruleSets, c.evidence, 2*workers*each)
	}
}

// publishByAdmins puts src in force the way admins must: one proposes,
// another approves.
func publishByAdmins(eng *engine.Engine, ctx context.Context, src []byte) (*healthcode.RuleSetRecord, error) {
	p, err := eng.ProposeRuleSet(ctx, admin, src)
	if healthcode.ErrorDetail(err) == "ruleset.proposed" { // a retry after a failed approval
		rs, lerr := rules.Loader(src)
		if lerr != nil {
			return nil, lerr
		}
		return eng.ApproveRuleSet(ctx, admin2, rs.Version())
	} else if err != nil {
		return nil, err
	}
	return eng.ApproveRuleSet(ctx, admin2, p.Record.Version)
}
