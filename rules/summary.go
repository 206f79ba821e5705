package rules

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"healthcode"
)

// Day is the length of a protocol day. Days of an episode are counted in
// whole 24-hour periods from the moment the episode began (day 1 is the first
// 24 hours), so that a decision never depends on a time zone.
const Day = 24 * time.Hour

// Summary is what rules see of a person: facts precomputed from the evidence,
// each one a plain observation ("the last pooled positive was at t"), never a
// policy ("is red"). Policy — durations, tests required — lives in the rule
// set, where it is published. In CEL the summary is the variable `s`; field
// names are the snake_case names given in the comments.
type Summary struct {
	// Now is the time the summary was made for (CEL: the variable `now`).
	Now time.Time

	Confirmed    Episode // s.confirmed: last confirmed-case diagnosis
	Asymptomatic Episode // s.asymptomatic: last asymptomatic-infection diagnosis
	Suspected    Episode // s.suspected: last suspected-case diagnosis
	Discharged   Episode // s.discharged: last discharge from hospital or shelter
	Fever        Episode // s.fever: last fever or respiratory symptoms at a clinic

	LastTest        Episode // s.last_test: last nucleic-acid test, any result, pooled or not
	LastNegative    Episode // s.last_negative: last negative nucleic-acid test, pooled or not
	SingleTest      Episode // s.single_test: last single-tube nucleic-acid test, any result
	SingleNegative  Episode // s.single_negative: last single-tube negative nucleic-acid test
	SinglePositive  Episode // s.single_positive: last single-tube positive nucleic-acid test
	PooledPositive  Episode // s.pooled_positive: last positive mixed-tube (pooled) test
	AntigenPositive Episode // s.antigen_positive: last positive antigen test

	CloseContact      Episode // s.close_contact: last exposure as a close contact
	SecondaryContact  Episode // s.secondary_contact: last exposure as a contact of a close contact
	HighRiskArrival   Episode // s.high_risk_arrival: last travel from a high-risk area
	MediumRiskArrival Episode // s.medium_risk_arrival: last travel from a medium-risk area
	LowRiskArrival    Episode // s.low_risk_arrival: last travel from a low-risk area

	// VenueExposure is the last verified presence at a venue designated a
	// risk, in the designation's window (时空伴随). Unverified presence never
	// reaches it (invariant 5).
	VenueExposure Episode // s.venue_exposure: last verified presence at a designated risk venue

	QuarantineStart Episode // s.quarantine_start: last start of centralised isolation
	QuarantineEnd   Episode // s.quarantine_end: last release from centralised isolation

	// TestingDuty is the testing duty that began last (its until, every
	// and due_at say what it asks).
	TestingDuty Episode // s.testing_duty: last testing duty issued to the person

	Vaccination      Episode // s.vaccination: the vaccination with the highest dose number
	VaccinationDoses int64   // s.vaccination_doses: the highest dose number recorded, 0 if none

	// evidence is the slice Summarize was given (read, never modified); the
	// episodes point into it so that a decision can name its evidence.
	evidence []healthcode.Evidence
	present  uint64 // bit i set if summaryEpisodes[i] is present
	nowVal   ref.Val
	dosesVal ref.Val
}

// Episode is the last event of one kind and the negative nucleic-acid tests
// taken since it. An absent episode has a zero At (in CEL, has(s.x.at) is
// false and s.x.at is 0001-01-01, earlier than any real event) and zero
// counts.
type Episode struct {
	At  time.Time // at: when it happened (exposure, arrival, diagnosis, sampling)
	Day int64     // day: the current day of the episode at Summary.Now, 1 on its first 24 hours; 0 if absent
	// Area is the GB/T 2260 code of the area for travel (area), else "".
	Area string
	// Until and Every are, for a testing duty, its end (until) and the
	// longest time allowed between two tests (every); DueAt (due_at) is
	// when the next test is due: Every after the last nucleic-acid test
	// of any result sampled at or after At, or after At if none. Zero for
	// other episodes.
	Until, DueAt time.Time
	Every        time.Duration
	// NegativeDays are the distinct days of the episode (1-based, see Day) on
	// which a negative nucleic-acid test was sampled, ascending
	// (negative_days).
	NegativeDays []int64
	// LastNegativeDay is the last of NegativeDays, 0 if none (last_negative_day).
	LastNegativeDay int64
	// NegativeCount is the number of negative nucleic-acid tests sampled at or
	// after At (negative_count).
	NegativeCount int64
	// NegativeSpan is the time between the first and the last of those tests,
	// 0 if fewer than two (negative_span): "two negatives 24 h apart" is
	// negative_span >= duration('24h'). Pooled negatives count, and so do
	// negatives with a positive test between them.
	NegativeSpan time.Duration
	// ClearSpan is the time between the first and the last of the
	// consecutive single-tube negative tests sampled at or after At with no
	// positive nucleic-acid test (pooled or not) sampled at or after the
	// first of them; 0 if fewer than two (clear_span): "two consecutive
	// single-tube negatives at least 24 h apart" is
	// clear_span >= duration('24h').
	ClearSpan time.Duration

	ev  int   // index+1 in Summary.evidence of the evidence that set At; 0 if absent
	neg []int // indexes in Summary.evidence of the negative tests counted above

	atVal, dayVal, areaVal, negDaysVal, lastNegDayVal, negCountVal, spanVal, clearVal ref.Val
	untilVal, dueVal, everyVal                                                        ref.Val
}

// Present reports whether the episode happened.
func (e *Episode) Present() bool { return e.ev != 0 }

// Summarize computes the summary of a person's evidence at now. It is the one
// and only door through which evidence reaches the rules: anything a rule can
// see passes here. Evidence it does not understand (unknown kinds or results)
// is ignored, never guessed at. The order of evidence does not matter.
//
// The summary keeps a reference to evidence; the caller must not modify it
// while the summary is in use.
func Summarize(evidence []healthcode.Evidence, now time.Time) Summary {
	var s Summary
	summarize(&s, evidence, now)
	return s
}

// summaryPool keeps Summary values for reuse: one is about 9 KB, and
// Evaluate needs two per person (the summary now, and one to try the times
// its colour may change), which a batch of re-evaluations would otherwise
// allocate and collect by the thousand.
var summaryPool = sync.Pool{New: func() any { return new(Summary) }}

// newSummary returns a Summary from the pool; freeSummary returns it, once
// nothing refers to it any more.
func newSummary() *Summary { return summaryPool.Get().(*Summary) }

func freeSummary(s *Summary) {
	*s = Summary{} // it must not keep anyone's evidence alive
	summaryPool.Put(s)
}

// summarize is Summarize into s, which it overwrites whole.
func summarize(s *Summary, evidence []healthcode.Evidence, now time.Time) {
	*s = Summary{Now: now, evidence: evidence}
	order := make([]int, len(evidence))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := evidence[a].ObservedAt.Compare(evidence[b].ObservedAt); c != 0 {
			return c
		}
		return cmp.Compare(evidence[a].ID, evidence[b].ID)
	})

	var negatives, tests []int
	for _, i := range order {
		e := &evidence[i]
		set := func(ep *Episode) { ep.ev = i + 1 }
		switch e.Kind {
		case healthcode.VenueExposure:
			// Invariant 5, enforced here and nowhere else: presence that
			// was not proven with a live, rotating venue code (a printed
			// code, a forwarded photo) is skipped, so that no rule of any
			// rule set can see it, let alone raise a colour on it.
			if e.Verified {
				set(&s.VenueExposure)
			}
		case healthcode.NucleicAcidTest:
			if e.Result != healthcode.Positive && e.Result != healthcode.Negative {
				continue
			}
			tests = append(tests, i)
			set(&s.LastTest)
			if !e.Pooled {
				set(&s.SingleTest)
			}
			switch {
			case e.Result == healthcode.Negative:
				negatives = append(negatives, i)
				set(&s.LastNegative)
				if !e.Pooled {
					set(&s.SingleNegative)
				}
			case e.Pooled:
				set(&s.PooledPositive)
			default:
				set(&s.SinglePositive)
			}
		case healthcode.AntigenTest:
			if e.Result == healthcode.Positive {
				set(&s.AntigenPositive)
			}
		case healthcode.Diagnosis:
			switch e.Diagnosis {
			case healthcode.DiagnosisConfirmed:
				set(&s.Confirmed)
			case healthcode.DiagnosisAsymptomatic:
				set(&s.Asymptomatic)
			case healthcode.DiagnosisSuspected:
				set(&s.Suspected)
			case healthcode.DiagnosisDischarged:
				set(&s.Discharged)
			case healthcode.DiagnosisFever:
				set(&s.Fever)
			}
		case healthcode.CloseContact:
			set(&s.CloseContact)
		case healthcode.SecondaryContact:
			set(&s.SecondaryContact)
		case healthcode.Travel:
			switch e.RiskLevel {
			case healthcode.RiskHigh:
				set(&s.HighRiskArrival)
			case healthcode.RiskMedium:
				set(&s.MediumRiskArrival)
			case healthcode.RiskLow:
				set(&s.LowRiskArrival)
			}
		case healthcode.QuarantineStart:
			set(&s.QuarantineStart)
		case healthcode.QuarantineEnd:
			set(&s.QuarantineEnd)
		case healthcode.TestingDuty:
			set(&s.TestingDuty)
		case healthcode.Vaccination:
			if int64(e.Dose) >= s.VaccinationDoses && e.Dose > 0 {
				s.VaccinationDoses = int64(e.Dose)
				set(&s.Vaccination)
			}
		}
	}

	for i, f := range summaryEpisodes {
		ep := f.get(s)
		ep.finish(evidence, negatives, tests, now)
		if ep.ev != 0 {
			s.present |= 1 << i
		}
	}
	s.nowVal = types.Timestamp{Time: now}
	s.dosesVal = types.Int(s.VaccinationDoses)
}

// shiftTo makes dst the summary as it is at t, later than s.Now, when no
// evidence leaves the evidence window in between: only the days of the
// episodes and now change.
func (s *Summary) shiftTo(dst *Summary, t time.Time) {
	*dst = *s
	dst.Now = t
	dst.nowVal = types.Timestamp{Time: t}
	for m := dst.present; m != 0; m &= m - 1 {
		ep := summaryEpisodes[bits.TrailingZeros64(m)].get(dst)
		ep.Day = dayOf(ep.At, t)
		ep.dayVal = types.Int(ep.Day)
	}
}

// finish fills the derived fields of an episode and their CEL values.
func (ep *Episode) finish(evidence []healthcode.Evidence, negatives, tests []int, now time.Time) {
	if ep.ev == 0 {
		ep.setAbsentVals()
		return
	}
	e := &evidence[ep.ev-1]
	ep.At = e.ObservedAt
	ep.Day = dayOf(ep.At, now)
	if e.Kind == healthcode.Travel {
		ep.Area = e.Area
	}
	var first, last time.Time
	for _, i := range negatives {
		t := evidence[i].ObservedAt
		if t.Before(ep.At) {
			continue
		}
		if ep.NegativeCount == 0 {
			first = t
		}
		last = t
		ep.NegativeCount++
		ep.neg = append(ep.neg, i)
		if d := dayOf(ep.At, t); len(ep.NegativeDays) == 0 || ep.NegativeDays[len(ep.NegativeDays)-1] != d {
			ep.NegativeDays = append(ep.NegativeDays, d)
		}
	}
	if n := len(ep.NegativeDays); n > 0 {
		ep.LastNegativeDay = ep.NegativeDays[n-1]
	}
	ep.NegativeSpan = last.Sub(first)
	var runFirst, runLast time.Time
	run := false
	for _, i := range tests { // in time order
		t := &evidence[i]
		switch {
		case t.ObservedAt.Before(ep.At):
		case t.Result == healthcode.Positive:
			run = false
		case !t.Pooled:
			if !run {
				runFirst, run = t.ObservedAt, true
			}
			runLast = t.ObservedAt
		}
	}
	if run {
		ep.ClearSpan = runLast.Sub(runFirst)
	}
	if e.Kind == healthcode.TestingDuty {
		ep.Until, ep.Every = e.Until, e.Every
		last := ep.At
		for _, i := range tests {
			if t := evidence[i].ObservedAt; !t.Before(ep.At) && t.After(last) {
				last = t
				ep.neg = append(ep.neg, i) // the tests it rests on
			}
		}
		ep.DueAt = last.Add(ep.Every)
	}

	ep.atVal = types.Timestamp{Time: ep.At}
	ep.dayVal = types.Int(ep.Day)
	ep.areaVal = emptyString
	if ep.Area != "" {
		ep.areaVal = types.String(ep.Area)
	}
	if len(ep.NegativeDays) == 0 {
		ep.negDaysVal = emptyIntList
	} else {
		ep.negDaysVal = types.NewList(types.DefaultTypeAdapter, ep.NegativeDays)
	}
	ep.lastNegDayVal = types.Int(ep.LastNegativeDay)
	ep.negCountVal = types.Int(ep.NegativeCount)
	ep.spanVal = types.Duration{Duration: ep.NegativeSpan}
	ep.clearVal = types.Duration{Duration: ep.ClearSpan}
	ep.untilVal, ep.dueVal, ep.everyVal = types.Timestamp{Time: ep.Until}, types.Timestamp{Time: ep.DueAt}, types.Duration{Duration: ep.Every}
}

// The values of absent episodes, boxed once.
var (
	zeroTimestamp ref.Val = types.Timestamp{Time: time.Time{}}
	zeroDuration  ref.Val = types.Duration{}
	zeroInt       ref.Val = types.IntZero
	emptyString   ref.Val = types.String("")
	emptyIntList  ref.Val = types.NewList(types.DefaultTypeAdapter, []int64{})
)

func (ep *Episode) setAbsentVals() {
	ep.atVal = zeroTimestamp
	ep.dayVal = zeroInt
	ep.areaVal = emptyString
	ep.negDaysVal = emptyIntList
	ep.lastNegDayVal = zeroInt
	ep.negCountVal = zeroInt
	ep.spanVal = zeroDuration
	ep.clearVal = zeroDuration
	ep.untilVal, ep.dueVal, ep.everyVal = zeroTimestamp, zeroTimestamp, zeroDuration
}

// dayOf returns the day of an episode begun at start in which t falls: 1 for
// the first 24 hours. A time before the start (a clock a little ahead) is day 1.
func dayOf(start, t time.Time) int64 {
	if t.Before(start) {
		return 1
	}
	return int64(t.Sub(start)/Day) + 1
}

// summaryEpisodes names every Episode field of Summary as CEL sees it. Its
// order is the slot numbering used to trace a rule back to its evidence.
var summaryEpisodes = []struct {
	name string
	get  func(*Summary) *Episode
}{
	{"confirmed", func(s *Summary) *Episode { return &s.Confirmed }},
	{"asymptomatic", func(s *Summary) *Episode { return &s.Asymptomatic }},
	{"suspected", func(s *Summary) *Episode { return &s.Suspected }},
	{"discharged", func(s *Summary) *Episode { return &s.Discharged }},
	{"fever", func(s *Summary) *Episode { return &s.Fever }},
	{"last_test", func(s *Summary) *Episode { return &s.LastTest }},
	{"last_negative", func(s *Summary) *Episode { return &s.LastNegative }},
	{"single_test", func(s *Summary) *Episode { return &s.SingleTest }},
	{"single_negative", func(s *Summary) *Episode { return &s.SingleNegative }},
	{"single_positive", func(s *Summary) *Episode { return &s.SinglePositive }},
	{"pooled_positive", func(s *Summary) *Episode { return &s.PooledPositive }},
	{"antigen_positive", func(s *Summary) *Episode { return &s.AntigenPositive }},
	{"close_contact", func(s *Summary) *Episode { return &s.CloseContact }},
	{"secondary_contact", func(s *Summary) *Episode { return &s.SecondaryContact }},
	{"high_risk_arrival", func(s *Summary) *Episode { return &s.HighRiskArrival }},
	{"medium_risk_arrival", func(s *Summary) *Episode { return &s.MediumRiskArrival }},
	{"low_risk_arrival", func(s *Summary) *Episode { return &s.LowRiskArrival }},
	{"venue_exposure", func(s *Summary) *Episode { return &s.VenueExposure }},
	{"quarantine_start", func(s *Summary) *Episode { return &s.QuarantineStart }},
	{"quarantine_end", func(s *Summary) *Episode { return &s.QuarantineEnd }},
	{"testing_duty", func(s *Summary) *Episode { return &s.TestingDuty }},
	{"vaccination", func(s *Summary) *Episode { return &s.Vaccination }},
}

// vaccinationSlot is the slot whose evidence vaccination_doses rests on.
var vaccinationSlot = func() int {
	for i, f := range summaryEpisodes {
		if f.name == "vaccination" {
			return i
		}
	}
	panic("rules: no vaccination episode")
}()

// ResolveName makes a *Summary the CEL activation of its own evaluation:
// `s` is the summary, `now` its time. No map is built per evaluation.
func (s *Summary) ResolveName(name string) (any, bool) {
	switch name {
	case "s":
		return s, true
	case "now":
		return s.nowVal, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (s *Summary) Parent() interpreter.Activation { return nil }
