package oversight

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting is one threshold as --oversight-thresholds names it.
type setting struct {
	name string
	help string
	dur  func(*Settings) *time.Duration
	num  func(*Settings) *int
	frac func(*Settings) *float64
	// unit bounds a fraction to (0, 1].
	unit bool
}

// settings lists every threshold by name, in the order the help shows.
var settings = []setting{
	{name: "baseline", help: "how far back an official's, unit's, pair's or case's own level and its peers' are measured", dur: func(s *Settings) *time.Duration { return &s.Baseline }},
	{name: "burst-window", help: "the window restrictive actions are counted over", dur: func(s *Settings) *time.Duration { return &s.BurstWindow }},
	{name: "burst-min-people", help: "fewest distinct people one official, unit, pair or case restricts in the window that can be a burst", num: func(s *Settings) *int { return &s.BurstMinPeople }},
	{name: "burst-factor", help: "a burst is also above this many times its own mean per window and its peers' median", frac: func(s *Settings) *float64 { return &s.BurstFactor }},
	{name: "cohort-window", help: "how close together people restricted count as one cohort", dur: func(s *Settings) *time.Duration { return &s.CohortWindow }},
	{name: "cohort-min-people", help: "smallest cohort alerted on", num: func(s *Settings) *int { return &s.CohortMinPeople }},
	{name: "cohort-lift", help: "how many times more common among the people restricted together than in the population an attribute must be", frac: func(s *Settings) *float64 { return &s.CohortLift }},
	{name: "cohort-linked", help: "share of a cohort one case, tube or venue must link for it to be a cluster, not a cohort (0 to 1)", frac: func(s *Settings) *float64 { return &s.CohortLinked }, unit: true},
	{name: "photo-min-people", help: "people scanning one venue code's slot long after it was shown that make it a photo passed around", num: func(s *Settings) *int { return &s.PhotoMinPeople }},
	{name: "stale-after", help: "how old a live code's slot may be when scanned before it counts as a photo", dur: func(s *Settings) *time.Duration { return &s.StaleAfter }},
	{name: "teleport-within", help: "checked in at venues of two prefectures within this is impossible presence", dur: func(s *Settings) *time.Duration { return &s.TeleportWithin }},
	{name: "teleport-min-people", help: "people with impossible presence that raise an alert", num: func(s *Settings) *int { return &s.TeleportMinPeople }},
	{name: "reads-window", help: "the window reads of personal data are counted over", dur: func(s *Settings) *time.Duration { return &s.ReadsWindow }},
	{name: "reads-min-people", help: "fewest distinct people one official reads in the window that can be an alert", num: func(s *Settings) *int { return &s.ReadsMinPeople }},
	{name: "reads-factor", help: "an alert is also above this many times the other readers' median", frac: func(s *Settings) *float64 { return &s.ReadsFactor }},
	{name: "case-reads-max-people", help: "people one official may read citing one case within the window", num: func(s *Settings) *int { return &s.CaseReadsMaxPeople }},
}

// maxPerPass is the largest MaxEntriesPerPass a setting may ask (memory).
const maxPerPass = 1_000_000

// ParseSettings reads thresholds as NAME=VALUE pairs separated by commas
// (durations as 30m or 2h, counts as integers, factors as decimals) over
// the defaults. Unknown names, repeated names and values out of range are
// errors.
func ParseSettings(text string) (Settings, error) {
	s := DefaultSettings()
	seen := map[string]bool{}
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, value, ok := strings.Cut(f, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || value == "" {
			return Settings{}, fmt.Errorf("oversight threshold %q: want NAME=VALUE", f)
		}
		if seen[name] {
			return Settings{}, fmt.Errorf("oversight threshold %s given twice", name)
		}
		seen[name] = true
		var st *setting
		for i := range settings {
			if settings[i].name == name {
				st = &settings[i]
			}
		}
		if st == nil {
			return Settings{}, fmt.Errorf("unknown oversight threshold %q (one of %s)", name, Names())
		}
		switch {
		case st.dur != nil:
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > 366*24*time.Hour {
				return Settings{}, fmt.Errorf("oversight threshold %s=%s: want a duration between 1ns and 366 days", name, value)
			}
			*st.dur(&s) = d
		case st.num != nil:
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > maxPerPass {
				return Settings{}, fmt.Errorf("oversight threshold %s=%s: want an integer from 1 to %d", name, value, maxPerPass)
			}
			*st.num(&s) = n
		default:
			x, err := strconv.ParseFloat(value, 64)
			if err != nil || !(x > 0) || x > 1e6 || (st.unit && x > 1) {
				bound := "1000000"
				if st.unit {
					bound = "1"
				}
				return Settings{}, fmt.Errorf("oversight threshold %s=%s: want a number above 0, at most %s", name, value, bound)
			}
			*st.frac(&s) = x
		}
	}
	if s.BurstWindow > s.Baseline {
		return Settings{}, fmt.Errorf("oversight thresholds: burst-window %s is longer than baseline %s", s.BurstWindow, s.Baseline)
	}
	return s, nil
}

// Names lists the thresholds' names.
func Names() string {
	names := make([]string, len(settings))
	for i, st := range settings {
		names[i] = st.name
	}
	return strings.Join(names, ", ")
}

// String writes every threshold as ParseSettings reads it.
func (s Settings) String() string {
	s = s.withDefaults()
	var parts []string
	for _, st := range settings {
		var v string
		switch {
		case st.dur != nil:
			v = st.dur(&s).String()
		case st.num != nil:
			v = strconv.Itoa(*st.num(&s))
		default:
			v = strconv.FormatFloat(*st.frac(&s), 'g', -1, 64)
		}
		parts = append(parts, st.name+"="+v)
	}
	return strings.Join(parts, ",")
}

// Help describes each threshold and its default, one a line.
func Help() string {
	d := DefaultSettings()
	var b strings.Builder
	for _, st := range settings {
		var v string
		switch {
		case st.dur != nil:
			v = st.dur(&d).String()
		case st.num != nil:
			v = strconv.Itoa(*st.num(&d))
		default:
			v = strconv.FormatFloat(*st.frac(&d), 'g', -1, 64)
		}
		fmt.Fprintf(&b, "  %s=%s: %s\n", st.name, v, st.help)
	}
	return b.String()
}
