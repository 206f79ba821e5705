package rules

import (
	"math/rand/v2"
	"testing"
	"time"

	"healthcode"
)

// benchNow is the evaluation time of the benchmarks and the random tests.
var benchNow = time.Date(2022, 7, 15, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))

// randomEvidence draws a person's evidence from the last three weeks: a mix
// that reaches every baseline rule.
func randomEvidence(r *rand.Rand, now time.Time) []healthcode.Evidence {
	n := r.IntN(12)
	evs := make([]healthcode.Evidence, 0, n)
	for i := range n {
		e := healthcode.Evidence{
			ID:         int64(i + 1),
			Subject:    "p",
			Submitter:  "lab",
			ExternalID: "x",
			ObservedAt: now.Add(-time.Duration(r.Int64N(int64(21 * Day)))).Truncate(time.Minute),
		}
		switch r.IntN(13) {
		case 0, 1, 2, 3:
			e.Kind = healthcode.NucleicAcidTest
			e.Result = pick(r, healthcode.Negative, healthcode.Negative, healthcode.Negative, healthcode.Positive)
			e.Pooled = r.IntN(2) == 0
			e.PoolID = "t"
		case 4:
			e.Kind = healthcode.AntigenTest
			e.Result = pick(r, healthcode.Negative, healthcode.Positive)
		case 5:
			e.Kind = healthcode.Diagnosis
			e.Diagnosis = pick(r, healthcode.DiagnosisConfirmed, healthcode.DiagnosisAsymptomatic,
				healthcode.DiagnosisSuspected, healthcode.DiagnosisFever, healthcode.DiagnosisDischarged)
		case 6:
			e.Kind, e.CaseRef = healthcode.CloseContact, "c"
		case 7:
			e.Kind, e.CaseRef = healthcode.SecondaryContact, "c"
		case 8:
			e.Kind, e.Area = healthcode.Travel, "420100"
			e.RiskLevel = pick(r, healthcode.RiskHigh, healthcode.RiskMedium, healthcode.RiskLow)
		case 9:
			e.Kind, e.Dose = healthcode.Vaccination, 1+r.IntN(3)
		case 10:
			e.Kind, e.Venue, e.CaseRef, e.RiskLevel = healthcode.VenueExposure, "v", "designation/1", healthcode.RiskMedium
			e.Verified = r.IntN(2) == 0
		case 11:
			e.Kind = healthcode.QuarantineStart
		case 12:
			e.Kind = healthcode.QuarantineEnd
		}
		evs = append(evs, e)
	}
	return evs
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// populationEvidence is a city in routine times: most people have only
// routine pooled tests and vaccinations; one in twelve has the mixed history
// of randomEvidence.
func populationEvidence(r *rand.Rand, now time.Time) []healthcode.Evidence {
	if r.IntN(12) == 0 {
		return randomEvidence(r, now)
	}
	var evs []healthcode.Evidence
	for i := range 1 + r.IntN(4) {
		evs = append(evs, healthcode.Evidence{ID: int64(i + 1), Kind: healthcode.NucleicAcidTest, Result: healthcode.Negative,
			Pooled: true, PoolID: "t", ObservedAt: now.Add(-time.Duration(r.Int64N(int64(7 * Day))))})
	}
	for d := range r.IntN(4) {
		evs = append(evs, healthcode.Evidence{ID: int64(10 + d), Kind: healthcode.Vaccination, Dose: d + 1,
			ObservedAt: now.Add(-time.Duration(200+30*d) * Day)})
	}
	return evs
}

// benchSets are the two mixes the benchmarks run on: "mixed" (everyone has
// a varied history, most rules reached) and "population".
var benchSets = []struct {
	name string
	gen  func(*rand.Rand, time.Time) []healthcode.Evidence
}{
	{"mixed", randomEvidence},
	{"population", populationEvidence},
}

func summaries(gen func(*rand.Rand, time.Time) []healthcode.Evidence) []Summary {
	r := rand.New(rand.NewPCG(1, 2))
	sums := make([]Summary, 1024)
	for i := range sums {
		sums[i] = Summarize(gen(r, benchNow), benchNow)
	}
	return sums
}

func loadBaseline(tb testing.TB) *RuleSet {
	tb.Helper()
	rs, err := Load(BaselineName, Baseline())
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// BenchmarkEvaluateCEL matches the baseline's CEL rules against precomputed
// summaries: the rules.eval figure.
func BenchmarkEvaluateCEL(b *testing.B) {
	rs := loadBaseline(b)
	for _, set := range benchSets {
		b.Run(set.name, func(b *testing.B) {
			sums := summaries(set.gen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := rs.Match(&sums[i%len(sums)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluateByHand is the same decisions by hand-written Go, on the
// same summaries.
func BenchmarkEvaluateByHand(b *testing.B) {
	for _, set := range benchSets {
		b.Run(set.name, func(b *testing.B) {
			sums := summaries(set.gen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s := &sums[i%len(sums)]
				if c, _ := EvaluateBaselineByHand(s, s.Now); c == "" {
					b.Fatal("no colour")
				}
			}
		})
	}
}

// BenchmarkSummarize measures the one input gate.
func BenchmarkSummarize(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	sets := make([][]healthcode.Evidence, 1024)
	for i := range sets {
		sets[i] = randomEvidence(r, benchNow)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Summarize(sets[i%len(sets)], benchNow)
	}
}

// BenchmarkEvaluate is the whole path: summary, match, decision.
func BenchmarkEvaluate(b *testing.B) {
	rs := loadBaseline(b)
	r := rand.New(rand.NewPCG(1, 2))
	sets := make([][]healthcode.Evidence, 1024)
	for i := range sets {
		sets[i] = randomEvidence(r, benchNow)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := rs.Evaluate("p", sets[i%len(sets)], benchNow); err != nil {
			b.Fatal(err)
		}
	}
}
