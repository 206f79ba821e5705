package oversight_test

import (
	"strings"
	"testing"
	"time"

	"healthcode/oversight"
)

func TestParseSettings(t *testing.T) {
	t.Parallel()
	s, err := oversight.ParseSettings(" burst-min-people=40, burst-window=30m,cohort-linked=0.8 ,reads-factor=2.5")
	if err != nil {
		t.Fatal(err)
	}
	d := oversight.DefaultSettings()
	if s.BurstMinPeople != 40 || s.BurstWindow != 30*time.Minute || s.CohortLinked != 0.8 || s.ReadsFactor != 2.5 || s.CohortMinPeople != d.CohortMinPeople {
		t.Errorf("settings = %+v", s)
	}
	back, err := oversight.ParseSettings(s.String())
	if err != nil || back != s {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, s)
	}
	if s, err := oversight.ParseSettings(""); err != nil || s != d {
		t.Errorf("empty: %+v, %v", s, err)
	}
	for _, bad := range []string{"nope=1", "burst-min-people", "burst-min-people=", "burst-min-people=0", "burst-min-people=-3", "burst-min-people=1.5",
		"burst-window=fast", "burst-window=0s", "cohort-linked=1.5", "cohort-lift=0", "cohort-lift=NaN", "burst-factor=Inf",
		"burst-min-people=2,burst-min-people=3", "burst-window=2000h", "burst-window=10d"} {
		if _, err := oversight.ParseSettings(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if h := oversight.Help(); !strings.Contains(h, "burst-min-people=100:") {
		t.Errorf("help = %s", h)
	}
}

func FuzzParseSettings(f *testing.F) {
	for _, s := range []string{"", "burst-min-people=40", "burst-window=30m,cohort-linked=0.8", "x=y", "=,=", oversight.DefaultSettings().String()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := oversight.ParseSettings(text)
		if err != nil {
			return
		}
		// What parses writes back to itself, and every value is in range.
		back, err := oversight.ParseSettings(s.String())
		if err != nil || back != s {
			t.Fatalf("%q: round trip %+v, %v; want %+v", text, back, err, s)
		}
		if s.BurstMinPeople < 1 || s.BurstWindow <= 0 || s.CohortLinked <= 0 || s.CohortLinked > 1 || s.BurstWindow > s.Baseline {
			t.Fatalf("%q: out of range %+v", text, s)
		}
	})
}
