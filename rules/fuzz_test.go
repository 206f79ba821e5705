package rules

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// FuzzLoad feeds arbitrary documents to Load (and so to Parse, the CEL
// compiler and the example runner): it must refuse with EINVALID or load,
// never panic, and a rule set that loads must evaluate any evidence without
// panicking.
func FuzzLoad(f *testing.F) {
	f.Add(Baseline())
	f.Add([]byte(tmpl))
	if src, err := os.ReadFile("examples/shanghai-2022.yaml"); err == nil {
		f.Add(src)
	}
	now := time.Date(2022, 7, 15, 12, 0, 0, 0, time.UTC)
	sets := [][]healthcode.Evidence{
		nil,
		{ev(1, healthcode.CloseContact, now.Add(-3*Day)), ev(2, healthcode.NucleicAcidTest, now.Add(-2*Day), negative)},
		{ev(1, healthcode.Diagnosis, now.Add(-Day), func(e *healthcode.Evidence) { e.Diagnosis = healthcode.DiagnosisConfirmed })},
		{ev(1, healthcode.Travel, time.Time{}, func(e *healthcode.Evidence) { e.RiskLevel = healthcode.RiskHigh })},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, err := Load("fuzz.yaml", src)
		if err != nil {
			if code := healthcode.ErrorCode(err); code != healthcode.EINVALID {
				t.Fatalf("code %q: %v", code, err)
			}
			return
		}
		for _, evs := range sets {
			d, err := rs.Evaluate("p", evs, now)
			if err == nil && !d.Colour.Valid() {
				t.Fatalf("invalid colour %v", d.Colour)
			}
		}
	})
}

// FuzzCondition puts arbitrary text in a rule's condition, as a plain, a
// quoted and a block scalar: compiling, locating errors, guarding and
// evaluating must never panic, and a compile error must carry a position.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{cond, "has(s.close_contact.at) && foo", "s.close_contact.at > 3", "s.close_contact.day",
		"has(s.close_contact.at) && [1].exists(s, s == 1)", "dyn(s).close_contact.day <= 10", "s == rules.Summary{}",
		"has(s.close_contact.at) &&\n  sets.contains(s.close_contact.negative_days, [1, 2])", "\"quoted\"", "😀 && foo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		for _, src := range []string{
			strings.Replace(tmpl, cond, c, 1),
			strings.Replace(tmpl, cond, strconv.Quote(c), 1),
			strings.Replace(tmpl, cond, "|-\n      "+strings.ReplaceAll(c, "\n", "\n      "), 1),
		} {
			_, err := Load("t.yaml", []byte(src))
			if err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("code %q: %v", healthcode.ErrorCode(err), err)
			}
			if healthcode.ErrorDetail(err) == "rules.compile" && !strings.HasPrefix(healthcode.ErrorMessage(err), "t.yaml:") {
				t.Fatalf("compile error without a position: %v", err)
			}
		}
	})
}
