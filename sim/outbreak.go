package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"healthcode"
)

// Event is one step of the outbreak timeline, as its submitter would send
// it at time At: a sample collection by a sampler (Collection set), a test
// result a lab or clinic reports by Tube, or other evidence about the person
// with the resident ID number SubjectID. Evidence.Subject is empty: the
// engine maps SubjectID to the person's pseudonym. The submitter fields of
// Evidence are filled from Submitter.
type Event struct {
	At        time.Time
	Submitter Institution
	// SubjectID is the person concerned. A test result is reported by tube
	// only: for it SubjectID tells the story, and Submission leaves it out.
	SubjectID string
	Evidence  healthcode.Evidence
	// Tube is the tube a test result is reported for.
	Tube string
	// Collection is a sample taken into a tube, recorded by a sampler (its
	// Tube is empty on every other event).
	Collection healthcode.CollectionRequest
	// Note tells what the event is in the story, for demos and test failures,
	// e.g. "case 410100-C001: confirmed".
	Note string
	// Case is the story's label of the case a confirmed or asymptomatic
	// diagnosis opens (its Evidence.CaseRef is empty: the node gives the
	// case its own id). Later events cite the label in Evidence.CaseRef; a
	// Replayer maps it to the node's id.
	Case string
	// Link is what a contact, travel or quarantine-start record states to
	// tie the person to its case or fact.
	Link healthcode.Link
	// Confirmer is, for a record resting on an interview, the second
	// epidemiologist (of another unit) who confirms it; zero for none.
	Confirmer Institution
}

// IsCollection reports whether the event is a sample collection.
func (e Event) IsCollection() bool { return e.Collection.Tube != "" }

// Submission returns the event as evidence its submitter sends (not for a
// collection): a test result by tube, anything else by ID number.
func (e Event) Submission(line int) healthcode.Submission {
	if e.Tube != "" {
		return healthcode.Submission{Line: line, Tube: e.Tube, Evidence: healthcode.Evidence{Kind: e.Evidence.Kind, Result: e.Evidence.Result}}
	}
	return healthcode.Submission{Line: line, IDNumber: e.SubjectID, Evidence: e.Evidence}
}

// Durations of the 2022 protocol (national protocol, 9th edition).
const (
	day = 24 * time.Hour
	// resultDelay is how long a lab takes from sample to result.
	resultDelay = 6 * time.Hour
)

// Test days of each group, counted from the first day of isolation (day 1).
var (
	closeContactTestDays     = []int{1, 2, 3, 5, 7, 10} // isolation days 1,2,3,5,7 and day 3 of home monitoring
	secondaryContactTestDays = []int{1, 4, 7}
	mediumRiskTestDays       = []int{1, 4, 7}
	lowRiskTestDays          = []int{1, 2} // 三天两检: two tests 24 h apart within three days
)

// Risk areas travellers arrive from (GB/T 2260 codes).
var travelAreas = map[string]string{
	healthcode.RiskHigh:   "310115", // 上海市浦东新区
	healthcode.RiskMedium: "110105", // 北京市朝阳区
	healthcode.RiskLow:    "440305", // 深圳市南山区
}

// outbreak builds the timeline. Its random choices come from one stream of
// the seed, drawn in a fixed order.
type outbreak struct {
	c      *City
	r      *rand.Rand
	used   map[int]bool
	events []Event
	serial int                    // numbers external ids
	tubes  map[string]Institution // the sampler of each tube opened
	cases  int
	// interviews numbers the records resting on interviews, which go to
	// the epidemiologists in turn: no one of them requests or confirms
	// more people than the bulk limit allows in a day.
	interviews int
}

// Outbreak returns the timeline of a small outbreak, sorted by At (events at
// the same instant keep the order of the story). It scales with the city but
// stays small: a few hundred events for a thousand people, about two
// thousand for ten million. It holds:
//
//   - confirmed cases found at a fever clinic (fever, positive single-tube
//     test, confirmed diagnosis), vaccinated in 2021, discharged two weeks
//     later after two negative tests;
//   - their close contacts (designation linked to the case by an
//     interview that a second epidemiologist of another unit confirms, centralised
//     isolation start and end, tests on isolation days 1, 2, 3, 5, 7 and on
//     day 3 of home monitoring), one of whom tests positive in isolation and
//     becomes a case;
//   - secondary contacts (linked through a close contact by a confirmed
//     interview, tests on days 1, 4, 7);
//   - travellers from a high-, a medium- and a low-risk area (declared in an
//     interview that a second epidemiologist confirms) with the tests each
//     must take;
//   - a mass testing round in 10-in-1 mixed tubes where one tube is
//     positive, single-tube retests of that tube (one asymptomatic infection,
//     the rest negative);
//   - a positive antigen test and suspected diagnosis ruled out by two
//     negative nucleic-acid tests, and a fever patient who tests negative.
func (c *City) Outbreak() []Event {
	o := &outbreak{c: c, r: newRand(c.Seed, streamOutbreak), used: map[int]bool{}}
	o.build()
	slices.SortStableFunc(o.events, func(a, b Event) int { return a.At.Compare(b.At) })
	return o.events
}

func (o *outbreak) build() {
	c, t0 := o.c, o.c.Start
	nCases := 2 + c.Size/2_000_000
	// Sixteen people per case stay under the bulk limit of twenty people
	// per case a day that interview-linked records may name without an
	// auditor's co-signature.
	const contactsPerCase, secondaryPerContact = 8, 1
	for k := range nCases {
		onset := t0.Add(time.Duration(k)*5*time.Hour + 2*time.Hour)
		caseID, p, confirmed := o.newCase(onset)
		clinic := o.clinic()
		for dose, ago := range []int{300, 270, 120} {
			o.add(t0.Add(time.Duration(k+1)*time.Minute), clinic, p, "vaccination record", healthcode.Evidence{
				Kind: healthcode.Vaccination, ObservedAt: t0.AddDate(0, 0, -ago), Dose: dose + 1})
		}
		o.discharge(p, caseID, confirmed)
		for j := range contactsPerCase {
			cc := o.person()
			epi, second := o.interviewers()
			designated := confirmed.Add(4*time.Hour + time.Duration(j)*10*time.Minute)
			exposed := onset.Add(-time.Duration(6+o.r.IntN(42)) * time.Hour)
			e := o.add(designated, epi, cc, "close contact of "+caseID, healthcode.Evidence{
				Kind: healthcode.CloseContact, ObservedAt: exposed, CaseRef: caseID})
			e.Link, e.Confirmer = healthcode.Link{Kind: healthcode.LinkInterview}, second
			q := designated.Add(2 * time.Hour)
			o.add(q, epi, cc, "centralised isolation begins", healthcode.Evidence{
				Kind: healthcode.QuarantineStart, ObservedAt: q, CaseRef: caseID}).Link = healthcode.Link{Kind: healthcode.LinkRecord}
			infected := k == 0 && j == 0 // turns positive on isolation day 2
			for _, d := range closeContactTestDays {
				result := healthcode.Negative
				if infected && d == 2 {
					result = healthcode.Positive
				}
				at := o.test(q, d, cc, result, fmt.Sprintf("close contact, isolation day %d", d))
				if result == healthcode.Positive {
					id := o.caseID()
					o.add(at.Add(time.Hour), o.clinic(), cc, "close contact confirmed in isolation: "+id, healthcode.Evidence{
						Kind: healthcode.Diagnosis, ObservedAt: at.Add(30 * time.Minute), Diagnosis: healthcode.DiagnosisConfirmed}).Case = id
					o.discharge(cc, id, at.Add(time.Hour))
					break
				}
			}
			if !infected {
				end := q.Add(7 * day)
				o.add(end, epi, cc, "centralised isolation ends, home monitoring begins", healthcode.Evidence{
					Kind: healthcode.QuarantineEnd, ObservedAt: end, CaseRef: caseID})
			}
			for s := range secondaryPerContact {
				sc := o.person()
				sepi, ssecond := o.interviewers()
				sdes := designated.Add(6*time.Hour + time.Duration(s)*5*time.Minute)
				e := o.add(sdes, sepi, sc, "secondary contact via "+caseID, healthcode.Evidence{
					Kind: healthcode.SecondaryContact, ObservedAt: exposed.Add(time.Duration(1+o.r.IntN(12)) * time.Hour), CaseRef: caseID})
				e.Link, e.Confirmer = healthcode.Link{Kind: healthcode.LinkInterview, ViaIDNumber: cc.IDNumber}, ssecond
				for _, d := range secondaryContactTestDays {
					o.test(sdes, d, sc, healthcode.Negative, fmt.Sprintf("secondary contact, home isolation day %d", d))
				}
			}
		}
	}
	o.travellers(t0.Add(day))
	o.massTesting(t0.Add(day + 2*time.Hour))
	o.suspected(t0.Add(2*day + 3*time.Hour))
}

// newCase adds a case found at a fever clinic; it returns the case id, the
// person and the time of the confirmed diagnosis.
func (o *outbreak) newCase(onset time.Time) (string, Citizen, time.Time) {
	p, clinic, lab := o.person(), o.clinic(), o.lab()
	id := o.caseID()
	o.add(onset.Add(30*time.Minute), clinic, p, "fever clinic visit", healthcode.Evidence{
		Kind: healthcode.Diagnosis, ObservedAt: onset, Diagnosis: healthcode.DiagnosisFever})
	o.add(onset.Add(resultDelay), lab, p, "single-tube test of a fever patient", healthcode.Evidence{
		Kind: healthcode.NucleicAcidTest, ObservedAt: onset.Add(15 * time.Minute), Result: healthcode.Positive})
	confirmed := onset.Add(resultDelay + time.Hour)
	o.add(confirmed, clinic, p, "case "+id+": confirmed", healthcode.Evidence{
		Kind: healthcode.Diagnosis, ObservedAt: confirmed.Add(-10 * time.Minute), Diagnosis: healthcode.DiagnosisConfirmed}).Case = id
	return id, p, confirmed
}

// discharge adds two negative tests 24 h apart and the discharge of a case
// about two weeks after its diagnosis.
func (o *outbreak) discharge(p Citizen, caseID string, confirmed time.Time) {
	base := confirmed.Add(11 * day)
	o.test(base, 1, p, healthcode.Negative, "test before discharge")
	o.test(base, 2, p, healthcode.Negative, "second test before discharge")
	at := base.Add(2*day + 10*time.Hour)
	o.add(at, o.clinic(), p, "case "+caseID+": discharged", healthcode.Evidence{
		Kind: healthcode.Diagnosis, ObservedAt: at.Add(-time.Hour), Diagnosis: healthcode.DiagnosisDischarged, CaseRef: caseID})
}

// travellers adds arrivals from a high-, a medium- and a low-risk area.
func (o *outbreak) travellers(t time.Time) {
	n := 2 + o.c.Size/2_000_000
	for _, level := range []string{healthcode.RiskHigh, healthcode.RiskMedium, healthcode.RiskLow} {
		for k := range n {
			p := o.person()
			epi, second := o.interviewers()
			arrived := t.Add(time.Duration(o.r.IntN(14*60)) * time.Minute)
			reported := arrived.Add(3*time.Hour + time.Duration(k)*time.Minute)
			e := o.add(reported, epi, p, "arrival from a "+level+"-risk area", healthcode.Evidence{
				Kind: healthcode.Travel, ObservedAt: arrived, RiskLevel: level, Area: travelAreas[level]})
			e.Link, e.Confirmer = healthcode.Link{Kind: healthcode.LinkInterview}, second
			days := lowRiskTestDays
			switch level {
			case healthcode.RiskHigh:
				q := reported.Add(time.Hour)
				o.add(q, epi, p, "centralised isolation begins", healthcode.Evidence{Kind: healthcode.QuarantineStart, ObservedAt: q}).Link =
					healthcode.Link{Kind: healthcode.LinkRecord}
				days = closeContactTestDays
				end := q.Add(7 * day)
				o.add(end, epi, p, "centralised isolation ends", healthcode.Evidence{Kind: healthcode.QuarantineEnd, ObservedAt: end})
			case healthcode.RiskMedium:
				days = mediumRiskTestDays
			}
			for _, d := range days {
				o.test(reported, d, p, healthcode.Negative, fmt.Sprintf("%s-risk arrival, day %d", level, d))
			}
		}
	}
}

// massTesting adds a round of 10-in-1 mixed-tube tests of a neighbourhood
// where one tube is positive, and the single-tube retests of that tube.
func (o *outbreak) massTesting(t time.Time) {
	const perTube = 10
	n := clamp(o.c.Size/50, 50, 1000) / perTube * perTube
	tubes := n / perTube
	positiveTube := o.r.IntN(tubes)
	hidden := o.r.IntN(perTube) // the infected person in the positive tube
	lab := o.lab()
	date := t.Format("20060102")
	var retest []Citizen
	for tube := range tubes {
		collected := t.Add(time.Duration(tube) * 2 * time.Minute)
		poolID := fmt.Sprintf("%s-MIX%s-%04d", lab.ID, date, tube+1)
		result := healthcode.Negative
		if tube == positiveTube {
			result = healthcode.Positive
		}
		for range perTube {
			p := o.person()
			o.add(t.Add(8*time.Hour+time.Duration(tube)*time.Second), lab, p, "mass testing, mixed tube "+poolID, healthcode.Evidence{
				Kind: healthcode.NucleicAcidTest, ObservedAt: collected, Result: result, Pooled: true, PoolID: poolID})
			if tube == positiveTube {
				retest = append(retest, p)
			}
		}
	}
	retestAt := t.Add(10 * time.Hour)
	for k, p := range retest {
		result := healthcode.Negative
		if k == hidden {
			result = healthcode.Positive
		}
		o.add(retestAt.Add(resultDelay), lab, p, "single-tube retest of a positive mixed tube", healthcode.Evidence{
			Kind: healthcode.NucleicAcidTest, ObservedAt: retestAt.Add(time.Duration(k) * time.Minute), Result: result})
		if k == hidden {
			id := o.caseID()
			at := retestAt.Add(resultDelay + 2*time.Hour)
			o.add(at, o.clinic(), p, "case "+id+": asymptomatic infection", healthcode.Evidence{
				Kind: healthcode.Diagnosis, ObservedAt: at.Add(-30 * time.Minute), Diagnosis: healthcode.DiagnosisAsymptomatic}).Case = id
		}
	}
}

// suspected adds a positive antigen test and a suspected case ruled out by
// two negative tests, a negative antigen test, and a fever patient who tests
// negative.
func (o *outbreak) suspected(t time.Time) {
	clinic := o.clinic()
	p := o.person()
	o.add(t.Add(20*time.Minute), clinic, p, "positive antigen test at a clinic", healthcode.Evidence{
		Kind: healthcode.AntigenTest, ObservedAt: t, Result: healthcode.Positive})
	o.add(t.Add(time.Hour), clinic, p, "suspected case", healthcode.Evidence{
		Kind: healthcode.Diagnosis, ObservedAt: t.Add(30 * time.Minute), Diagnosis: healthcode.DiagnosisSuspected})
	o.test(t.Add(time.Hour), 1, p, healthcode.Negative, "suspected case, first test")
	o.test(t.Add(time.Hour), 2, p, healthcode.Negative, "suspected case, second test")

	q := o.person()
	o.add(t.Add(50*time.Minute), clinic, q, "negative antigen test", healthcode.Evidence{
		Kind: healthcode.AntigenTest, ObservedAt: t.Add(30 * time.Minute), Result: healthcode.Negative})

	f := o.person()
	o.add(t.Add(3*time.Hour), clinic, f, "fever clinic visit", healthcode.Evidence{
		Kind: healthcode.Diagnosis, ObservedAt: t.Add(2 * time.Hour), Diagnosis: healthcode.DiagnosisFever})
	o.test(t.Add(2*time.Hour), 1, f, healthcode.Negative, "fever patient, single-tube test")
}

// test adds a single-tube test sampled on day d counted from start (day 1 is
// the day of start) and returns when the result is reported.
func (o *outbreak) test(start time.Time, d int, p Citizen, result, note string) time.Time {
	sampled := start.Add(time.Duration(d-1)*day + 2*time.Hour)
	at := sampled.Add(resultDelay)
	o.add(at, o.lab(), p, note, healthcode.Evidence{
		Kind: healthcode.NucleicAcidTest, ObservedAt: sampled, Result: result})
	return at
}

// add appends an event and returns it, for the caller to set its case
// label, link or confirmer (valid until the next add).
func (o *outbreak) add(at time.Time, by Institution, p Citizen, note string, e healthcode.Evidence) *Event {
	o.serial++
	e.Submitter, e.SubmitterName, e.SubmitterRole = by.ID, by.Name, by.Role
	e.ExternalID = fmt.Sprintf("OB-%s-%s-%06d", o.c.Region, kindCode[e.Kind], o.serial)
	if !e.Kind.IsTest() {
		o.events = append(o.events, Event{At: at, Submitter: by, SubjectID: p.IDNumber, Evidence: e, Note: note})
		return &o.events[len(o.events)-1]
	}
	// A test: a sampling site collects the sample into a tube (a mixed tube
	// is PoolID, shared with the others in it) and the lab reports the
	// tube's result once.
	tube, mixed := e.ExternalID, e.Pooled
	if mixed {
		tube = e.PoolID
	}
	sampler, opened := o.tubes[tube]
	if !opened {
		sampler = o.c.Samplers[o.serial%len(o.c.Samplers)]
		if o.tubes == nil {
			o.tubes = map[string]Institution{}
		}
		o.tubes[tube] = sampler
	}
	o.events = append(o.events, Event{At: e.ObservedAt, Submitter: sampler, SubjectID: p.IDNumber, Note: "sample taken for: " + note,
		Collection: healthcode.CollectionRequest{IDNumber: p.IDNumber, Tube: tube, Mixed: mixed, Site: sampler.Name, CollectedAt: e.ObservedAt}})
	if !opened {
		o.events = append(o.events, Event{At: at, Submitter: by, SubjectID: p.IDNumber, Evidence: e, Tube: tube, Note: note})
	}
	return &o.events[len(o.events)-1]
}

// interviewers returns the epidemiologist who records the next interview
// and the one, of another unit, who confirms it: in turn.
func (o *outbreak) interviewers() (Institution, Institution) {
	es := o.c.Epidemiologists
	k := o.interviews
	o.interviews++
	return es[k%len(es)], es[(k+1)%len(es)]
}

var kindCode = map[healthcode.EvidenceKind]string{
	healthcode.NucleicAcidTest: "NAT", healthcode.AntigenTest: "RAT", healthcode.Vaccination: "VAC",
	healthcode.Diagnosis: "DX", healthcode.CloseContact: "CC", healthcode.SecondaryContact: "SC",
	healthcode.Travel: "TRV", healthcode.QuarantineStart: "QS", healthcode.QuarantineEnd: "QE",
}

// person draws someone not yet in the story.
func (o *outbreak) person() Citizen {
	for {
		i := o.r.IntN(o.c.Size)
		if !o.used[i] {
			o.used[i] = true
			return o.c.Person(i)
		}
	}
}

func (o *outbreak) caseID() string {
	o.cases++
	return fmt.Sprintf("%s-C%03d", o.c.Region, o.cases)
}

func (o *outbreak) lab() Institution    { return pick(o.r, o.c.Labs) }
func (o *outbreak) clinic() Institution { return pick(o.r, o.c.Clinics) }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
