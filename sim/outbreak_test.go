package sim_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"healthcode"
	"healthcode/sim"
)

func TestOutbreak(t *testing.T) {
	t.Parallel()
	for _, size := range []int{sim.MinPeople, 100_000, sim.MaxPeople} {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			c := newCity(t, 2022, size)
			evs := c.Outbreak()
			if len(evs) < 50 || len(evs) > 5000 {
				t.Fatalf("%d people: %d events, want tens to a few thousand", size, len(evs))
			}
			checkOutbreak(t, c, evs)
		})
	}
}

func checkOutbreak(t *testing.T, c *sim.City, evs []sim.Event) {
	t.Helper()
	if !slices.IsSortedFunc(evs, func(a, b sim.Event) int { return a.At.Compare(b.At) }) {
		t.Fatal("events are not sorted by At")
	}
	kinds := map[healthcode.EvidenceKind]int{}
	diagnoses := map[string]int{}
	risks := map[string]int{}
	results := map[string]int{}
	external := map[[2]string]bool{}
	confirmedCases := map[string]bool{}
	pools := map[string][]sim.Event{}
	bySubject := map[string][]sim.Event{}
	// Records resting on interviews, per requester, confirmer and case:
	// each stays within the bulk limit (the story spans a few days).
	interviews, confirms, perCase := map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range flatten(t, evs) {
		ev := e.Evidence
		if ev.Subject != "" {
			t.Fatalf("%s: Subject %q should be left to the engine", e.Note, ev.Subject)
		}
		if !sim.ValidIDNumber(e.SubjectID) {
			t.Fatalf("%s: bad subject ID number %q", e.Note, e.SubjectID)
		}
		if _, ok := c.District(e.SubjectID[:6]); !ok {
			t.Fatalf("%s: subject %s is not from the city", e.Note, e.SubjectID)
		}
		ev.Subject = "p-" + e.SubjectID
		if err := ev.Validate(e.At); err != nil {
			t.Fatalf("%s: evidence %+v does not validate at %v: %v", e.Note, ev, e.At, err)
		}
		if ev.ObservedAt.After(e.At) || ev.ObservedAt.Before(c.Start.AddDate(-2, 0, 0)) {
			t.Fatalf("%s: observed %v, submitted %v", e.Note, ev.ObservedAt, e.At)
		}
		if e.At.Before(c.Start) || e.At.After(c.Start.AddDate(0, 0, 30)) {
			t.Fatalf("%s: at %v, outside the month from %v", e.Note, e.At, c.Start)
		}
		if !ev.SubmitterRole.SubmitsEvidence(ev.Kind) || ev.Submitter != e.Submitter.ID || ev.SubmitterName != e.Submitter.Name {
			t.Fatalf("%s: submitter %+v may not submit %s or does not match the evidence", e.Note, e.Submitter, ev.Kind)
		}
		key := [2]string{ev.Submitter, ev.ExternalID}
		if external[key] {
			t.Fatalf("%s: external id %v used twice", e.Note, key)
		}
		external[key] = true
		kinds[ev.Kind]++
		switch ev.Kind {
		case healthcode.Diagnosis:
			diagnoses[ev.Diagnosis]++
			if ev.Diagnosis == healthcode.DiagnosisConfirmed || ev.Diagnosis == healthcode.DiagnosisAsymptomatic {
				if ev.CaseRef != "" || e.Case == "" {
					t.Fatalf("%s: a diagnosis opening a case names its label in Case (%q), not in CaseRef (%q)", e.Note, e.Case, ev.CaseRef)
				}
				confirmedCases[e.Case] = true
			}
		case healthcode.Travel:
			risks[ev.RiskLevel]++
		case healthcode.NucleicAcidTest, healthcode.AntigenTest:
			results[string(ev.Kind)+"/"+ev.Result]++
			if ev.Pooled {
				pools[ev.PoolID] = append(pools[ev.PoolID], e)
			}
		case healthcode.CloseContact, healthcode.SecondaryContact:
			if !confirmedCases[ev.CaseRef] {
				t.Fatalf("%s: designated before case %q is confirmed", e.Note, ev.CaseRef)
			}
		}
		if err := e.Link.Validate(ev.Kind); err != nil {
			t.Fatalf("%s: link %+v: %v", e.Note, e.Link, err)
		}
		if e.Link.Kind == healthcode.LinkInterview {
			if e.Confirmer.ID == "" || e.Confirmer.Unit == e.Submitter.Unit || e.Confirmer.Role != healthcode.RoleEpidemiologist {
				t.Fatalf("%s: an interview needs a second epidemiologist of another unit, not %+v", e.Note, e.Confirmer)
			}
			interviews[e.Submitter.ID]++
			confirms[e.Confirmer.ID]++
			if ev.CaseRef != "" {
				perCase[ev.CaseRef]++
			}
		}
		bySubject[e.SubjectID] = append(bySubject[e.SubjectID], e)
	}
	for _, m := range []map[string]int{interviews, confirms, perCase} {
		for who, n := range m {
			if n > healthcode.BulkLimit {
				t.Errorf("%s names %d people in interview-linked records, above the bulk limit", who, n)
			}
		}
	}
	if len(interviews) == 0 {
		t.Error("no interview-linked records")
	}
	for _, k := range healthcode.EvidenceKinds {
		// Venue exposures are made by the engine when a designation is
		// approved; nobody submits them. The city's story issues no
		// testing duty (the national rules give it no colour).
		if kinds[k] == 0 && k != healthcode.VenueExposure && k != healthcode.TestingDuty {
			t.Errorf("no evidence of kind %s", k)
		}
	}
	for _, d := range []string{healthcode.DiagnosisConfirmed, healthcode.DiagnosisSuspected, healthcode.DiagnosisAsymptomatic,
		healthcode.DiagnosisFever, healthcode.DiagnosisDischarged} {
		if diagnoses[d] == 0 {
			t.Errorf("no diagnosis %s", d)
		}
	}
	for _, r := range []string{healthcode.RiskHigh, healthcode.RiskMedium, healthcode.RiskLow} {
		if risks[r] == 0 {
			t.Errorf("no travel from a %s-risk area", r)
		}
	}
	for _, r := range []string{"nucleic_acid_test/positive", "nucleic_acid_test/negative", "antigen_test/positive", "antigen_test/negative"} {
		if results[r] == 0 {
			t.Errorf("no %s", r)
		}
	}

	// Mixed tubes hold ten people each; exactly one is positive, and each of
	// its people is retested in a single tube, one of them positive.
	positiveTubes := 0
	for id, es := range pools {
		if len(es) != 10 {
			t.Errorf("tube %s holds %d samples", id, len(es))
		}
		if es[0].Evidence.Result != healthcode.Positive {
			continue
		}
		positiveTubes++
		retestsPositive := 0
		for _, e := range es {
			var retest *sim.Event
			for _, x := range bySubject[e.SubjectID] {
				if x.Evidence.Kind == healthcode.NucleicAcidTest && !x.Evidence.Pooled && x.Evidence.ObservedAt.After(e.Evidence.ObservedAt) {
					retest = &x
					break
				}
			}
			if retest == nil {
				t.Errorf("%s in positive tube %s has no single-tube retest", e.SubjectID, id)
				continue
			}
			if retest.Evidence.Result == healthcode.Positive {
				retestsPositive++
			}
		}
		if retestsPositive != 1 {
			t.Errorf("positive tube %s: %d positive retests, want 1", id, retestsPositive)
		}
	}
	if positiveTubes != 1 {
		t.Errorf("%d positive tubes, want 1", positiveTubes)
	}

	// Close contacts who stay negative are tested on isolation days 1, 2,
	// 3, 5 and 7 (and once in home monitoring) and released after 7 days.
	released := 0
	for id, es := range bySubject {
		var start, end time.Time
		var days []int
		for _, e := range es {
			switch e.Evidence.Kind {
			case healthcode.QuarantineStart:
				start = e.Evidence.ObservedAt
			case healthcode.QuarantineEnd:
				end = e.Evidence.ObservedAt
			case healthcode.NucleicAcidTest:
				if !start.IsZero() {
					days = append(days, int(e.Evidence.ObservedAt.Sub(start)/(24*time.Hour))+1)
				}
			}
		}
		if end.IsZero() {
			continue
		}
		released++
		if got := end.Sub(start); got != 7*24*time.Hour {
			t.Errorf("%s: isolated for %v, want 7 days", id, got)
		}
		if want := []int{1, 2, 3, 5, 7, 10}; !slices.Equal(days, want) {
			t.Errorf("%s: tested on isolation days %v, want %v", id, days, want)
		}
	}
	if released == 0 {
		t.Error("no one was released from isolation")
	}
}

// flatten checks the collections and the results reported by tube, and
// returns the other events with each tube's result turned into one event
// per person collected into it, as the engine stores it.
func flatten(t *testing.T, evs []sim.Event) []sim.Event {
	t.Helper()
	collected := map[string][]sim.Event{} // by tube
	var out []sim.Event
	for _, e := range evs {
		switch {
		case e.IsCollection():
			cr := e.Collection
			if e.Submitter.Role != healthcode.RoleSampler || cr.IDNumber != e.SubjectID || !cr.CollectedAt.Equal(e.At) || cr.Site == "" {
				t.Fatalf("%s: collection %+v by %+v", e.Note, cr, e.Submitter)
			}
			if prev := collected[cr.Tube]; len(prev) > 0 && (!cr.Mixed || prev[0].Submitter.Unit != e.Submitter.Unit) {
				t.Fatalf("%s: tube %s collected again (%+v)", e.Note, cr.Tube, cr)
			}
			collected[cr.Tube] = append(collected[cr.Tube], e)
		case e.Evidence.Kind.IsTest():
			members := collected[e.Tube]
			if len(members) == 0 || members[0].Submitter.Unit == e.Submitter.Unit {
				t.Fatalf("%s: result for tube %q never collected before, or collected by the lab's own unit", e.Note, e.Tube)
			}
			if s := e.Submission(0); s.IDNumber != "" || s.Tube != e.Tube {
				t.Fatalf("%s: a test result is sent as %+v, not by tube alone", e.Note, s)
			}
			if e.Evidence.Pooled != members[0].Collection.Mixed {
				t.Fatalf("%s: pooled %v, tube mixed %v", e.Note, e.Evidence.Pooled, members[0].Collection.Mixed)
			}
			for i, m := range members {
				x := e
				x.SubjectID, x.Evidence.ObservedAt = m.SubjectID, m.At
				if i > 0 {
					x.Evidence.ExternalID += "/" + strconv.Itoa(i)
				}
				out = append(out, x)
			}
		default:
			out = append(out, e)
		}
	}
	return out
}

func TestOutbreakOtherStartAndRegion(t *testing.T) {
	t.Parallel()
	start := time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)
	c, err := sim.New(sim.Config{Seed: 5, People: 3000, Region: "420100", Start: start})
	if err != nil {
		t.Fatal(err)
	}
	evs := c.Outbreak()
	checkOutbreak(t, c, evs)
	if evs[0].At.Before(start) {
		t.Errorf("first event %v before start %v", evs[0].At, start)
	}
}

func TestTestingRound(t *testing.T) {
	t.Parallel()
	c := newCity(t, 3, 2000)
	at := c.Start.Add(72 * time.Hour)
	for _, pooled := range []bool{false, true} {
		tubes := map[string]int{}
		closed := map[string]bool{}
		n := 0
		for r := range c.TestingRound(at, c.Samplers[0], c.Labs[1], pooled) {
			if want := c.Person(n).IDNumber; r.IDNumber != want {
				t.Fatalf("result %d is for %s, want %s", n, r.IDNumber, want)
			}
			n++
			if r.Mixed != pooled || closed[r.Tube] {
				t.Fatalf("pooled round %v gave %+v", pooled, r)
			}
			tubes[r.Tube]++
			closed[r.Tube] = r.LastInTube
			cr := r.Collection(n)
			if cr.IDNumber != r.IDNumber || cr.Tube != r.Tube || cr.Mixed != pooled || cr.Site == "" {
				t.Fatalf("collection %+v of %+v", cr, r)
			}
			sub := r.Submission(n)
			if sub.Tube != r.Tube || sub.IDNumber != "" || sub.Evidence.Kind != healthcode.NucleicAcidTest || healthcode.ValidateTubeID(sub.Tube) != nil {
				t.Fatalf("result %+v sent as %+v", r, sub)
			}
			if r.CollectedAt.Before(at) || r.CollectedAt.After(at.Add(12*time.Hour)) || r.Lab.ID != c.Labs[1].ID || r.Sampler.Unit == r.Lab.Unit {
				t.Fatalf("result %+v outside the round or not from its lab", r)
			}
		}
		if n != c.Size {
			t.Fatalf("round yielded %d results, want %d", n, c.Size)
		}
		for id, k := range tubes {
			if want := map[bool]int{false: 1, true: 10}[pooled]; k != want || !closed[id] {
				t.Errorf("tube %s holds %d samples (closed %v), want %d", id, k, closed[id], want)
			}
		}
	}
}

func BenchmarkTestingRound(b *testing.B) {
	c := newCity(b, 1, 100_000)
	for b.Loop() {
		for range c.TestingRound(c.Start, c.Samplers[0], c.Labs[0], true) {
		}
	}
}
