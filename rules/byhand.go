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
	within := func(e *Episode, days int64) bool { return e.Present() && e.Day <= days }
	// open: present, within days, and not closed by a later discharge.
	open := func(e *Episode, days int64) bool { return within(e, days) && after(e, &s.Discharged) }
	// tested: every required day has a negative, or one negative after the period.
	tested := func(e *Episode, days int64, required []int64) bool {
		return containsAll(e.NegativeDays, required) || e.LastNegativeDay > days
	}
	period := func(e *Episode, days, bound int64, required []int64) bool {
		return within(e, bound) && (e.Day <= days || !tested(e, days, required))
	}
	switch {
	case open(&s.Confirmed, 14):
		return "red", "confirmed_case"
	case open(&s.Asymptomatic, 14):
		return "red", "asymptomatic_infection"
	case open(&s.Suspected, 7) && s.Suspected.ClearSpan < Day:
		return "red", "suspected_case"
	case open(&s.SinglePositive, 7) && after(&s.SinglePositive, &s.SingleNegative):
		return "red", "nucleic_acid_positive"
	case open(&s.PooledPositive, 7) && after(&s.PooledPositive, &s.SingleTest):
		return "red", "pooled_test_positive"
	case after(&s.CloseContact, &s.Discharged) && period(&s.CloseContact, 10, 14, closeContactDays):
		return "red", "close_contact"
	case within(&s.HighRiskArrival, 7):
		return "red", "high_risk_area"
	case within(&s.QuarantineStart, 7) && after(&s.QuarantineStart, &s.QuarantineEnd):
		return "red", "centralised_isolation"
	case after(&s.SecondaryContact, &s.Discharged) && period(&s.SecondaryContact, 7, 10, secondaryContactDays):
		return "yellow", "secondary_contact"
	case within(&s.MediumRiskArrival, 7):
		return "yellow", "medium_risk_area"
	case open(&s.VenueExposure, 7) && s.VenueExposure.NegativeSpan < Day:
		return "yellow", "time_space_companion"
	case open(&s.AntigenPositive, 7) && after(&s.AntigenPositive, &s.LastNegative):
		return "yellow", "antigen_positive"
	case open(&s.Fever, 7) && after(&s.Fever, &s.LastNegative):
		return "yellow", "fever_clinic"
	case within(&s.Discharged, 7):
		return "yellow", "post_discharge_monitoring"
	case period(&s.QuarantineStart, 10, 14, closeContactDays):
		return "yellow", "home_health_monitoring"
	case within(&s.LowRiskArrival, 14) && s.LowRiskArrival.NegativeSpan < Day:
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
