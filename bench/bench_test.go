package bench

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAlternateOrder(t *testing.T) {
	t.Parallel()
	var order []string
	n := 0
	p, err := Alternate(4, func() (float64, error) {
		n++
		order = append(order, "A")
		return float64(10 * n), nil
	}, func() (float64, error) {
		n++
		order = append(order, "B")
		return float64(n), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each round swaps which side goes first, and each side's value stays
	// on its own side whatever the order.
	if diff := cmp.Diff([]string{"A", "B", "B", "A", "A", "B", "B", "A"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Pair{Value: Side{10, 40, 50, 80}, Baseline: Side{2, 3, 6, 7}}, p); diff != "" {
		t.Errorf("pair (-want +got):\n%s", diff)
	}
}

func TestFill(t *testing.T) {
	t.Parallel()
	p := Pair{Value: Side{10, 30, 20}, Baseline: Side{100, 50, 40}}
	got := p.Fill(Result{Unit: "x/s"})
	want := Result{Unit: "x/s", Value: 20, BaselineValue: 50, Ratio: 0.4, Rounds: 3, ValueMin: 10, ValueMax: 30,
		BaselineMin: 40, BaselineMax: 100, RatioMin: 0.1, RatioMax: 0.6}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
	// Latencies: a smaller value is better and the ratio is baseline/value.
	got = Pair{Value: Side{2, 4}, Baseline: Side{1, 1}}.Fill(Result{Lower: true})
	want = Result{Lower: true, Value: 3, BaselineValue: 1, Ratio: 1.0 / 3, Rounds: 2, ValueMin: 2, ValueMax: 4,
		BaselineMin: 1, BaselineMax: 1, RatioMin: 0.25, RatioMax: 0.5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("latencies (-want +got):\n%s", diff)
	}
}

func TestP99(t *testing.T) {
	t.Parallel()
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(200-i) * time.Millisecond
	}
	if got := P99(ds); got != 199 {
		t.Errorf("P99 = %v ms, want 199", got)
	}
	if got := P99([]time.Duration{time.Millisecond}); got != 1 {
		t.Errorf("P99 of one = %v ms, want 1", got)
	}
}

// The JSON line is a contract: the fields that existed before the harness
// keep their names.
func TestWriteJSONFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := Pair{Value: Side{1, 2}, Baseline: Side{2, 4}}.Fill(Result{Name: "x", Unit: "u", Baseline: "b", Target: 0.5, P99Ms: 1, P99TargetMs: 2})
	r.Extra = map[string]float64{"cold_per_s": 3}
	if err := Write(&buf, r, true); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "p99_ms", "p99_target_ms",
		"rounds", "value_min", "value_max", "baseline_min", "baseline_max", "ratio_min", "ratio_max", "extra"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON line lacks %q: %s", k, buf.String())
		}
	}
}

func TestLoop(t *testing.T) {
	t.Parallel()
	seen := 0
	rate, err := Loop(time.Millisecond, func(from, n int) error {
		if from != seen {
			t.Fatalf("batch from %d, want %d", from, seen)
		}
		seen += n
		return nil
	})
	if err != nil || rate <= 0 || seen == 0 {
		t.Fatalf("Loop: rate %v, %d ops, %v", rate, seen, err)
	}
}
