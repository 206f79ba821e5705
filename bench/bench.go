// Package bench is the harness of `healthcode bench`: the figure and result
// types, the runner that alternates a figure's two sides, the spreads, the
// load generators and latency percentiles, and the writer of the JSON lines
// (a contract others read: names and fields are only ever added).
//
// It measures; it never holds a figure that needs a node (those live beside
// the node in cmd/healthcode) and it must never be imported by product code.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"
)

// Result is one line of `healthcode bench --json`.
type Result struct {
	Name          string  `json:"name"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	// Target is the ratio the figure should reach (informative).
	Target float64 `json:"target,omitempty"`
	// Lower is set when a smaller value is better (latencies); Ratio is
	// then baseline/value, so that a higher ratio is always better.
	Lower bool `json:"lower_is_better,omitempty"`
	// P99Ms is the 99th percentile latency of one operation, where the
	// figure reports it, and P99TargetMs the latency it should stay under.
	P99Ms       float64 `json:"p99_ms,omitempty"`
	P99TargetMs float64 `json:"p99_target_ms,omitempty"`

	// Rounds is how many times each side was measured, alternating
	// (A, B, A, B, …); Value and BaselineValue are then the medians of
	// their rounds, Ratio the ratio of those medians (inverted when
	// Lower), and the spreads below the smallest and largest round.
	Rounds      int     `json:"rounds,omitempty"`
	ValueMin    float64 `json:"value_min,omitempty"`
	ValueMax    float64 `json:"value_max,omitempty"`
	BaselineMin float64 `json:"baseline_min,omitempty"`
	BaselineMax float64 `json:"baseline_max,omitempty"`
	// RatioMin and RatioMax are the smallest and largest ratio of one
	// round's pair (A_i against B_i).
	RatioMin float64 `json:"ratio_min,omitempty"`
	RatioMax float64 `json:"ratio_max,omitempty"`
	// Extra holds a figure's further measurements by name (for qr.png,
	// the cold rate beside the cached one), each with its unit in the name.
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Env is what every figure runs in.
type Env struct {
	Ctx context.Context
	// Scale asks for the big sizes.
	Scale bool
	// Dir is a scratch directory, removed after the run.
	Dir string
	// People is the size of the city most figures register.
	People int
	// RoundPeople is the size of the testing round import.round imports.
	RoundPeople int
	// Dur is how long each side of a load runs in all, split over Rounds.
	Dur time.Duration
	// Rounds is how many times each side is measured, alternating.
	Rounds int
	// Postgres, if set, is a PostgreSQL server (a postgres:// URL whose
	// role may create databases) for the figures that compare the backends.
	Postgres string
	// Stderr receives progress lines.
	Stderr io.Writer
	// Figure is the name of the figure running (set by the runner).
	Figure string
	// ProfileDir, if set, receives a CPU profile of each figure's measured
	// rounds (set-up excluded): DIR/<figure>.<n>.prof.
	ProfileDir string
	profiles   int
}

// Alternate is Alternate over e.Rounds rounds, profiled into e.ProfileDir
// when it is set.
func (e *Env) Alternate(value, baseline func() (float64, error)) (Pair, error) {
	if e.ProfileDir == "" {
		return Alternate(e.Rounds, value, baseline)
	}
	e.profiles++
	f, err := os.Create(filepath.Join(e.ProfileDir, fmt.Sprintf("%s.%d.prof", e.Figure, e.profiles)))
	if err != nil {
		return Pair{}, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return Pair{}, err
	}
	defer pprof.StopCPUProfile()
	return Alternate(e.Rounds, value, baseline)
}

// Profile runs fn, profiled into e.ProfileDir when it is set (for a figure
// timed once rather than alternated).
func (e *Env) Profile(fn func() error) error {
	if e.ProfileDir == "" {
		return fn()
	}
	e.profiles++
	f, err := os.Create(filepath.Join(e.ProfileDir, fmt.Sprintf("%s.%d.prof", e.Figure, e.profiles)))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return fn()
}

// Logf writes a progress line of figure name to Stderr.
func (e *Env) Logf(name, format string, args ...any) {
	fmt.Fprintf(e.Stderr, "bench %s: %s\n", name, fmt.Sprintf(format, args...))
}

// RoundDur is how long one side runs in one round: Dur split over Rounds,
// at least 300 ms so that a round is more than its warm-up.
func (e *Env) RoundDur() time.Duration {
	r := max(e.Rounds, 1)
	return max(e.Dur/time.Duration(r), 300*time.Millisecond)
}

// Figure is one named measurement.
type Figure struct {
	Name string
	Run  func(*Env) (Result, error)
}

// Side is the rounds of one side of a figure.
type Side []float64

// Median is the median of the rounds (the mean of the two middle ones for
// an even count).
func (s Side) Median() float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// Min is the smallest round.
func (s Side) Min() float64 {
	if len(s) == 0 {
		return 0
	}
	return slices.Min(s)
}

// Max is the largest round.
func (s Side) Max() float64 {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
}

// Pair is a figure's two sides measured in alternation: Value[i] and
// Baseline[i] are round i.
type Pair struct {
	Value, Baseline Side
}

// Alternate measures value and baseline rounds times each, alternating
// which goes first (A,B then B,A …) so that neither side always runs on the
// warmer or the more loaded machine. Each call returns that round's
// measurement.
func Alternate(rounds int, value, baseline func() (float64, error)) (Pair, error) {
	rounds = max(rounds, 1)
	var p Pair
	for i := range rounds {
		first, second := value, baseline
		if i%2 == 1 {
			first, second = baseline, value
		}
		a, err := first()
		if err != nil {
			return p, err
		}
		b, err := second()
		if err != nil {
			return p, err
		}
		if i%2 == 1 {
			a, b = b, a
		}
		p.Value, p.Baseline = append(p.Value, a), append(p.Baseline, b)
	}
	return p, nil
}

// Fill sets r's values, ratio, rounds and spreads from p (medians of each
// side); r.Lower must be set first.
func (p Pair) Fill(r Result) Result {
	r.Rounds = len(p.Value)
	r.Value, r.BaselineValue = p.Value.Median(), p.Baseline.Median()
	r.ValueMin, r.ValueMax = p.Value.Min(), p.Value.Max()
	r.BaselineMin, r.BaselineMax = p.Baseline.Min(), p.Baseline.Max()
	ratio := func(v, b float64) float64 {
		if r.Lower {
			v, b = b, v
		}
		if b == 0 {
			return 0
		}
		return v / b
	}
	r.Ratio = ratio(r.Value, r.BaselineValue)
	for i := range p.Value {
		x := ratio(p.Value[i], p.Baseline[i])
		if i == 0 || x < r.RatioMin {
			r.RatioMin = x
		}
		if i == 0 || x > r.RatioMax {
			r.RatioMax = x
		}
	}
	return r
}

// P99 is the 99th percentile of ds in milliseconds (ds is sorted in place).
func P99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[min(len(ds)*99/100, len(ds)-1)].Nanoseconds()) / 1e6
}

// Loop calls op(from, n), which does operations from..from+n-1, in
// batches until d has passed, and returns operations per second. Batches
// keep the clock and the call out of tight loops; op's error ends it.
func Loop(d time.Duration, op func(from, n int) error) (float64, error) {
	const batch = 256
	start := time.Now()
	deadline := start.Add(d)
	for n := 0; ; n += batch {
		if err := op(n, batch); err != nil {
			return 0, err
		}
		if now := time.Now(); !now.Before(deadline) {
			return float64(n+batch) / now.Sub(start).Seconds(), nil
		}
	}
}

// Write prints r as a JSON line or, for people, as a table row.
func Write(w io.Writer, r Result, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	s := fmt.Sprintf("%-20s %12.3f %-12s %-38s %12.3f  ratio %.3f", r.Name, r.Value, r.Unit, r.Baseline, r.BaselineValue, r.Ratio)
	if r.Rounds > 1 {
		s += fmt.Sprintf(" (%.3f–%.3f over %d rounds)", r.RatioMin, r.RatioMax, r.Rounds)
	}
	if r.Target > 0 {
		s += fmt.Sprintf(" (target %.2f)", r.Target)
	}
	if r.P99Ms > 0 {
		s += fmt.Sprintf("  p99 %.1f ms (target < %.0f ms)", r.P99Ms, r.P99TargetMs)
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += fmt.Sprintf("  %s %.3f", k, r.Extra[k])
	}
	_, err := fmt.Fprintln(w, s)
	return err
}
