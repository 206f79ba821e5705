package chart

import (
	"encoding/xml"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		top  float64
		want Scale
	}{
		{0, Scale{Max: 1, Step: 1, Ticks: 1}},
		{-5, Scale{Max: 1, Step: 1, Ticks: 1}},
		{math.NaN(), Scale{Max: 1, Step: 1, Ticks: 1}},
		{1, Scale{Max: 1, Step: 1, Ticks: 1}},
		{3, Scale{Max: 3, Step: 1, Ticks: 3}},
		{7, Scale{Max: 8, Step: 2, Ticks: 4}},
		{10, Scale{Max: 10, Step: 2.5, Ticks: 4}},
		{37, Scale{Max: 40, Step: 10, Ticks: 4}},
		{100, Scale{Max: 100, Step: 25, Ticks: 4}},
		{101, Scale{Max: 150, Step: 50, Ticks: 3}},
		{1317, Scale{Max: 1500, Step: 500, Ticks: 3}},
		{9e18, Scale{Max: 1e19, Step: 2.5e18, Ticks: 4}},
	} {
		got := NiceScale(tt.top, 4)
		if got.Max != tt.want.Max || got.Step != tt.want.Step || got.Ticks != tt.want.Ticks {
			t.Errorf("NiceScale(%v, 4) = %+v, want %+v", tt.top, got, tt.want)
		}
		if !math.IsNaN(tt.top) && tt.top > 0 && (got.Max < tt.top || got.Ticks > 4) {
			t.Errorf("NiceScale(%v, 4) = %+v does not hold it in 4 steps", tt.top, got)
		}
	}
}

func TestCompact(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", 7: "7", 9999: "9999", 10000: "10k", 12345: "12.3k", 250000: "250k",
		1317000: "1.3M", 2.5e9: "2.5G", math.MaxInt64: "9.2E"} {
		if got := Compact(v); got != want {
			t.Errorf("Compact(%v) = %q, want %q", v, got, want)
		}
	}
}

// bar is one drawn bar segment, as the SVG's data says.
type bar struct {
	Category, Series string
	Value            int64
	Title            string
}

// parse checks that svg is well-formed XML and returns its bars, its
// title, the max it declares and the totals of its categories.
func parse(t *testing.T, svg string) (bars []bar, title string, totals map[string]int64) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	totals = map[string]int64{}
	var cat string
	var cur *bar
	var inTitle bool
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if strings.Contains(attr["style"], ":") || attr["style"] != "" {
				t.Errorf("an inline style (the CSP forbids it): %v", el)
			}
			switch el.Name.Local {
			case "g":
				if c, ok := attr["data-category"]; ok {
					cat = c
					n, err := strconv.ParseInt(attr["data-total"], 10, 64)
					if err != nil {
						t.Fatalf("data-total %q", attr["data-total"])
					}
					totals[c] = n
				}
			case "rect":
				v, err := strconv.ParseInt(attr["data-value"], 10, 64)
				if err != nil {
					t.Fatalf("data-value %q", attr["data-value"])
				}
				for _, k := range []string{"x", "y", "width", "height"} {
					f, err := strconv.ParseFloat(attr[k], 64)
					if err != nil || math.IsNaN(f) || f < 0 || f > 1000 {
						t.Errorf("rect %s = %q: not a drawable number", k, attr[k])
					}
				}
				bars = append(bars, bar{Category: cat, Series: attr["data-series"], Value: v})
				cur = &bars[len(bars)-1]
			case "title":
				inTitle = true
			}
		case xml.CharData:
			if inTitle {
				if cur != nil {
					cur.Title += string(el)
				} else if title == "" {
					title = string(el)
				}
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "title":
				inTitle = false
			case "rect":
				cur = nil
			}
		}
	}
	return bars, title, totals
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./chart -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestSpikeByDay(t *testing.T) {
	t.Parallel()
	b := &Bars{ID: "days", Title: "Restrictive actions per day", Categories: []string{"11-20", "11-21", "11-22", "11-23"},
		Keys: []string{"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"},
		Series: []Series{
			{Key: "o1", Label: "王五", Class: "s0", Values: []int64{1, 2, 40, 1}},
			{Key: "o2", Label: "赵六", Class: "s1", Values: []int64{0, 1, 2, 0}},
		}, Empty: "none"}
	svg, err := b.SVG()
	if err != nil {
		t.Fatal(err)
	}
	bars, title, totals := parse(t, string(svg))
	if title != "Restrictive actions per day" {
		t.Errorf("title %q", title)
	}
	if diff := cmp.Diff(map[string]int64{"2026-11-20": 1, "2026-11-21": 3, "2026-11-22": 42, "2026-11-23": 1}, totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	want := []bar{
		{"2026-11-20", "o1", 1, "11-20 · 王五: 1"},
		{"2026-11-21", "o1", 2, "11-21 · 王五: 2"}, {"2026-11-21", "o2", 1, "11-21 · 赵六: 1"},
		{"2026-11-22", "o1", 40, "11-22 · 王五: 40"}, {"2026-11-22", "o2", 2, "11-22 · 赵六: 2"},
		{"2026-11-23", "o1", 1, "11-23 · 王五: 1"},
	}
	if diff := cmp.Diff(want, bars); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}
	// The spike is the tallest bar: its rect is higher than the others'.
	if !strings.Contains(string(svg), `data-max="42"`) {
		t.Error("the chart does not declare its max")
	}
	golden(t, "spike.svg", string(svg))
}

func TestEmpty(t *testing.T) {
	t.Parallel()
	for _, b := range []*Bars{
		{ID: "e1", Title: "nothing", Empty: "没有数据"},
		{ID: "e2", Title: "zeros", Categories: []string{"a", "b"}, Series: []Series{{Key: "k", Values: []int64{0, 0}}}, Empty: "没有数据"},
		{ID: "e3", Title: "zeros", Categories: []string{"a"}, Series: []Series{{Key: "k", Values: []int64{0}}}, Horizontal: true, Empty: "没有数据"},
	} {
		svg, err := b.SVG()
		if err != nil {
			t.Fatal(err)
		}
		bars, _, _ := parse(t, string(svg))
		if len(bars) != 0 || !strings.Contains(string(svg), ">没有数据</text>") || !strings.Contains(string(svg), `data-max="0"`) {
			t.Errorf("%s: an empty chart should say so and draw nothing: %s", b.ID, svg)
		}
	}
	golden(t, "empty.svg", svgOf(t, &Bars{ID: "e", Title: "nothing", Empty: "no data"}))
}

func svgOf(t *testing.T, b *Bars) string {
	t.Helper()
	svg, err := b.SVG()
	if err != nil {
		t.Fatal(err)
	}
	return string(svg)
}

func TestOnePoint(t *testing.T) {
	t.Parallel()
	for _, horizontal := range []bool{false, true} {
		b := &Bars{ID: "one", Title: "one", Categories: []string{"11-22"}, Series: []Series{{Key: "k", Label: "K", Class: "s0", Values: []int64{1}}},
			Horizontal: horizontal}
		svg := svgOf(t, b)
		bars, _, _ := parse(t, svg)
		if len(bars) != 1 || bars[0].Value != 1 {
			t.Fatalf("one point: %+v", bars)
		}
		// The bar fills the scale (0..1): it is as tall (or wide) as the
		// plot, and the axis says 1.
		if !strings.Contains(svg, `>1</text>`) {
			t.Errorf("the axis does not reach 1: %s", svg)
		}
	}
	golden(t, "one.svg", svgOf(t, &Bars{ID: "one", Title: "one", Categories: []string{"11-22"},
		Series: []Series{{Key: "k", Label: "K", Class: "s0", Values: []int64{1}}}}))
}

func TestHugeValues(t *testing.T) {
	t.Parallel()
	b := &Bars{ID: "huge", Title: "huge", Categories: []string{"a", "b"}, Series: []Series{
		{Key: "x", Label: "X", Class: "s0", Values: []int64{math.MaxInt64, 1}},
		{Key: "y", Label: "Y", Class: "s1", Values: []int64{math.MaxInt64, 0}},
	}, Horizontal: true}
	svg := svgOf(t, b)
	bars, _, totals := parse(t, svg) // parse checks every coordinate is a small finite number
	if totals["a"] != math.MaxInt64 {
		t.Errorf("an overflowing total is capped: %d", totals["a"])
	}
	if len(bars) != 3 || bars[0].Value != math.MaxInt64 {
		t.Errorf("bars %+v", bars)
	}
	if strings.Contains(svg, "e+") || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Errorf("a number the SVG cannot hold: %s", svg)
	}
	if !strings.Contains(svg, ">9.2E</text>") {
		t.Errorf("the value is not written compactly: %s", svg)
	}
}

func TestChineseLabels(t *testing.T) {
	t.Parallel()
	long := "郑州市金水区卫生健康委员会疾病预防控制中心流行病学调查组"
	b := &Bars{ID: "zh", Title: "各单位的限制性操作", Categories: []string{"王五（金水区）", long, "<script>"},
		Series: []Series{{Key: "override_request", Label: "申请人工调整", Class: "s0", Values: []int64{40, 3, 1}}}, Horizontal: true}
	svg := svgOf(t, b)
	bars, title, _ := parse(t, svg)
	if title != "各单位的限制性操作" || bars[0].Title != "王五（金水区） · 申请人工调整: 40" {
		t.Errorf("title %q, first bar %q", title, bars[0].Title)
	}
	// A long label is cut on the axis, whole in the bar's title.
	if bars[1].Title != long+" · 申请人工调整: 3" {
		t.Errorf("the long label's bar title: %q", bars[1].Title)
	}
	if strings.Contains(svg, ">"+long+"</text>") || !strings.Contains(svg, "…</text>") {
		t.Errorf("the long label is not cut on the axis")
	}
	if strings.Contains(svg, "<script>") {
		t.Error("a label is not escaped")
	}
	// Wide characters take more room than narrow ones.
	if textWidth("王五") <= textWidth("ab") {
		t.Error("CJK text is measured as narrow")
	}
	golden(t, "zh.svg", svg)
}

func TestBadShapes(t *testing.T) {
	t.Parallel()
	for name, b := range map[string]*Bars{
		"short series": {Categories: []string{"a", "b"}, Series: []Series{{Key: "k", Values: []int64{1}}}},
		"keys":         {Categories: []string{"a"}, Keys: []string{"a", "b"}},
		"negative":     {Categories: []string{"a"}, Series: []Series{{Key: "k", Values: []int64{-1}}}},
	} {
		if _, err := b.SVG(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := (&Bars{Categories: []string{"a"}, Series: []Series{{Key: "k", Values: []int64{-1}}}}).SVG(); !errors.Is(err, ErrNegative) {
		t.Errorf("negative: %v", err)
	}
}

func TestLegend(t *testing.T) {
	t.Parallel()
	b := &Bars{Series: []Series{{Key: "a&b", Label: "甲 & 乙", Class: "s0"}}}
	got := string(b.Legend())
	if !strings.Contains(got, `data-series="a&amp;b"`) || !strings.Contains(got, "甲 &amp; 乙") || !strings.Contains(got, `class="s0"`) {
		t.Errorf("legend %s", got)
	}
}
