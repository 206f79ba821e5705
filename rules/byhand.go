package rules

import (
	"slices"
	"time"
)

// EvaluateBaselineByHand is the logic of baseline.yaml written in Go. It is
// not used to decide anything: it is the yardstick of the CEL engine's speed
// (`healthcode bench`, figure rules.eval) and, through a differential test,
// a second reading of the baseline that must agree with the published one.
// now must be s.Now. It returns the colour's name and the reason code.
func EvaluateBaselineByHand(s *Summary, now time.Time) (colour, reason string) {
	_ = now // the summary's day counts are already taken at now
	after := func(a, b *Episode) bool { return a.Present() && a.At.After(b.At) }
	window := func(e *Episode, days int64, required []int64) bool {
		if !e.Present() {
			return false
		}
		if e.Day <= days {
			return true
		}
		return !(containsAll(e.NegativeDays, required) || e.LastNegativeDay > days)
	}
	switch {
	case after(&s.Confirmed, &s.Discharged):
		return "red", "confirmed_case"
	case after(&s.Asymptomatic, &s.Discharged):
		return "red", "asymptomatic_infection"
	case after(&s.Suspected, &s.Discharged) && s.Suspected.NegativeSpan < Day:
		return "red", "suspected_case"
	case after(&s.SinglePositive, &s.SingleNegative) && after(&s.SinglePositive, &s.Discharged):
		return "red", "nucleic_acid_positive"
	case after(&s.PooledPositive, &s.SingleTest):
		return "red", "pooled_test_positive"
	case window(&s.CloseContact, 10, closeContactDays):
		return "red", "close_contact"
	case s.HighRiskArrival.Present() && s.HighRiskArrival.Day <= 7:
		return "red", "high_risk_area"
	case window(&s.SecondaryContact, 7, secondaryContactDays):
		return "yellow", "secondary_contact"
	case s.MediumRiskArrival.Present() && s.MediumRiskArrival.Day <= 7:
		return "yellow", "medium_risk_area"
	case s.VenueExposure.Present() && s.VenueExposure.Day <= 7 && s.VenueExposure.NegativeSpan < Day:
		return "yellow", "time_space_companion"
	case after(&s.AntigenPositive, &s.LastNegative):
		return "yellow", "antigen_positive"
	case after(&s.Fever, &s.LastNegative):
		return "yellow", "fever_clinic"
	case s.Discharged.Present() && s.Discharged.Day <= 7:
		return "yellow", "post_discharge_monitoring"
	case s.LowRiskArrival.Present() && s.LowRiskArrival.Day <= 7 && s.LowRiskArrival.NegativeSpan < Day:
		return "yellow", "low_risk_area_testing"
	}
	return "green", "none"
}

var (
	closeContactDays     = []int64{1, 2, 3, 5, 7, 10}
	secondaryContactDays = []int64{1, 4, 7}
)

func containsAll(have, want []int64) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
