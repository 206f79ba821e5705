package healthcode_test

import (
	"testing"
	"time"

	"healthcode"
)

// TestTestingDutyValidate: a testing duty states a bounded obligation — an
// interval of 24 hours to 7 days, an end within 14 days, the area and the
// round it serves — and only a duty carries until and every.
func TestTestingDutyValidate(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2022, 9, 1, 8, 0, 0, 0, time.UTC)
	duty := func(f func(e *healthcode.Evidence)) healthcode.Evidence {
		e := healthcode.Evidence{Kind: healthcode.TestingDuty, Subject: "p", Submitter: "epi", ExternalID: "D1", ObservedAt: t0,
			Until: t0.Add(10 * healthcode.Day), Every: 72 * time.Hour, Area: "310104", CaseRef: "round-1"}
		if f != nil {
			f(&e)
		}
		return e
	}
	ok := duty(nil)
	if err := ok.Validate(t0); err != nil {
		t.Fatalf("a valid duty: %v", err)
	}
	for _, tc := range []struct {
		name   string
		e      healthcode.Evidence
		detail string
	}{
		{"every 12 hours", duty(func(e *healthcode.Evidence) { e.Every = 12 * time.Hour }), "evidence.every"},
		{"every 8 days", duty(func(e *healthcode.Evidence) { e.Every = 8 * healthcode.Day }), "evidence.every"},
		{"every 30 hours and a minute", duty(func(e *healthcode.Evidence) { e.Every = 30*time.Hour + time.Minute }), "evidence.every"},
		{"no interval", duty(func(e *healthcode.Evidence) { e.Every = 0 }), "evidence.every"},
		{"ends before it begins", duty(func(e *healthcode.Evidence) { e.Until = t0.Add(-time.Hour) }), "evidence.until"},
		{"no end", duty(func(e *healthcode.Evidence) { e.Until = time.Time{} }), "evidence.until"},
		{"longer than 14 days", duty(func(e *healthcode.Evidence) { e.Until = t0.Add(14*healthcode.Day + time.Second) }), "evidence.until"},
		{"no area", duty(func(e *healthcode.Evidence) { e.Area = "" }), "region.invalid"},
		{"no round", duty(func(e *healthcode.Evidence) { e.CaseRef = "" }), "evidence.case_ref"},
		{"a test with an end", healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Subject: "p", Submitter: "lab", ExternalID: "S1",
			ObservedAt: t0, Result: healthcode.Negative, Until: t0.Add(healthcode.Day)}, "evidence.until"},
		{"a contact with an interval", healthcode.Evidence{Kind: healthcode.CloseContact, Subject: "p", Submitter: "epi", ExternalID: "C1",
			ObservedAt: t0, CaseRef: "c", Every: 72 * time.Hour}, "evidence.until"},
	} {
		err := tc.e.Validate(t0)
		if healthcode.ErrorCode(err) != healthcode.EINVALID || (tc.detail != "region.invalid" && healthcode.ErrorDetail(err) != tc.detail) {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.detail)
		}
	}
	// Until and every are in the digest the log commits to.
	a, b := duty(nil), duty(func(e *healthcode.Evidence) { e.Every = 24 * time.Hour })
	c := duty(func(e *healthcode.Evidence) { e.Until = e.Until.Add(time.Hour) })
	if a.Digest() == b.Digest() || a.Digest() == c.Digest() {
		t.Error("a duty's digest does not cover its interval or end")
	}
	// Only an order links a duty, which always waits for a second
	// epidemiologist.
	if err := (&healthcode.Link{Kind: healthcode.LinkOrder}).Validate(healthcode.TestingDuty); err != nil {
		t.Errorf("order link: %v", err)
	}
	for _, k := range []string{"", healthcode.LinkInterview, healthcode.LinkRecord} {
		if err := (&healthcode.Link{Kind: k}).Validate(healthcode.TestingDuty); err == nil {
			t.Errorf("a duty linked by %q accepted", k)
		}
	}
	if !healthcode.RoleEpidemiologist.SubmitsEvidence(healthcode.TestingDuty) || healthcode.RoleClinic.SubmitsEvidence(healthcode.TestingDuty) ||
		healthcode.RoleLab.SubmitsEvidence(healthcode.TestingDuty) {
		t.Error("only epidemiologists issue testing duties")
	}
}
