// Package chart draws the oversight dashboard's bar charts as SVG on the
// server. A chart is markup the page embeds: no script, no request to
// anywhere, no inline style (the pages' Content-Security-Policy allows
// neither), its colours from the page's stylesheet by class. Every bar
// carries the data it draws (data-category, data-series, data-value and a
// <title>), so a test or a reader can check what the picture says without
// looking at pixels, and every chart has an accessible name.
//
// Why not a charting library: the maintained Go ones (go-echarts,
// gonum/plot, go-chart) either render in the browser with JavaScript the
// CSP forbids, or draw PNGs whose numbers no test can read; stacked bars
// on a nice scale are a few hundred lines we test here.
//
// It never reads anything but the values it is given.
package chart

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Series is one stack of a bar chart: a value per category.
type Series struct {
	Key    string  // stable key, written as data-series
	Label  string  // in the legend and each bar's title
	Class  string  // CSS class of its bars (the stylesheet gives the fill)
	Values []int64 // one per category; never negative
}

// Bars is a stacked bar chart: one bar per category, the series stacked in
// order. Vertical bars suit a time axis; horizontal ones long labels (an
// official's name, a unit's).
type Bars struct {
	// ID prefixes the ids inside the SVG; unique on the page.
	ID string
	// Title is the chart's accessible name.
	Title string
	// Categories label the bars; Keys, if set, are their stable keys
	// (data-category), else the labels are.
	Categories []string
	Keys       []string
	Series     []Series
	Horizontal bool
	// Empty is what the chart says when every value is zero.
	Empty string
}

// Geometry, in SVG user units (the SVG scales to its box; one unit is about
// one CSS pixel on a 360 px phone).
const (
	fontSize   = 12
	vWidth     = 420 // vertical charts
	vHeight    = 220
	hWidth     = 420 // horizontal charts
	rowHeight  = 26
	barPad     = 0.2 // share of a slot left empty
	tickCount  = 4
	axisGap    = 6
	maxLabelEm = 13 // a horizontal chart's labels are cut beyond this
)

// ErrNegative is returned for a negative value: counts are never below zero.
var ErrNegative = errors.New("chart: negative value")

// check validates the chart's shape.
func (b *Bars) check() error {
	if len(b.Keys) != 0 && len(b.Keys) != len(b.Categories) {
		return fmt.Errorf("chart: %d keys for %d categories", len(b.Keys), len(b.Categories))
	}
	for _, s := range b.Series {
		if len(s.Values) != len(b.Categories) {
			return fmt.Errorf("chart: series %q has %d values for %d categories", s.Key, len(s.Values), len(b.Categories))
		}
		for _, v := range s.Values {
			if v < 0 {
				return fmt.Errorf("%w: series %q", ErrNegative, s.Key)
			}
		}
	}
	return nil
}

// Totals returns each category's stacked total. A total beyond the range
// of int64 is capped at math.MaxInt64.
func (b *Bars) Totals() []int64 {
	out := make([]int64, len(b.Categories))
	for _, s := range b.Series {
		for i, v := range s.Values {
			if out[i] > math.MaxInt64-v {
				out[i] = math.MaxInt64
			} else {
				out[i] += v
			}
		}
	}
	return out
}

func (b *Bars) key(i int) string {
	if len(b.Keys) != 0 {
		return b.Keys[i]
	}
	return b.Categories[i]
}

// Scale is a bar chart's value axis: from 0 to Max in Ticks equal steps,
// Max a "nice" number (1, 2, 2.5 or 5 times a power of ten per step).
type Scale struct {
	Max   float64
	Step  float64
	Ticks int
}

// NiceScale returns the scale that holds top in at most n steps (n >= 1).
// A top of zero or less gives 0..1 in one step.
func NiceScale(top float64, n int) Scale {
	if n < 1 {
		n = 1
	}
	if !(top > 0) || math.IsInf(top, 0) {
		return Scale{Max: 1, Step: 1, Ticks: 1}
	}
	raw := top / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw*(1-1e-12) {
			step = m * mag
			break
		}
	}
	if step < 1 {
		step = 1 // counts: no fractional ticks
	}
	ticks := int(math.Ceil(top/step - 1e-9))
	if ticks < 1 {
		ticks = 1
	}
	return Scale{Max: step * float64(ticks), Step: step, Ticks: ticks}
}

// Compact writes a count briefly: 999, 1.2k, 35k, 4.1M, 9.2E (for 10^18).
func Compact(v float64) string {
	if v < 0 {
		return "-" + Compact(-v)
	}
	if v < 10000 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	for _, u := range []struct {
		d float64
		s string
	}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.d {
			x := v / u.d
			if x >= 100 {
				return strconv.FormatFloat(math.Round(x), 'f', -1, 64) + u.s
			}
			return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) + u.s
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// textWidth estimates the width of s at fontSize: wide (CJK) characters an
// em, others a little over half.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w * fontSize
}

func runeWidth(r rune) float64 {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || (r >= 0xff00 && r <= 0xffef) || (r >= 0x3000 && r <= 0x303f) {
		return 1
	}
	return 0.6
}

// clip cuts s to at most em wide, ending it with "…" when cut.
func clip(s string, em float64) string {
	if textWidth(s) <= em*fontSize {
		return s
	}
	w := 0.0
	for i, r := range s {
		if w+runeWidth(r) > em-1 {
			return s[:i] + "…"
		}
		w += runeWidth(r)
	}
	return s
}

// esc escapes text and attribute values for SVG inside HTML.
func esc(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return template.HTMLEscapeString(s)
}

func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// SVG draws the chart. It returns an error for a chart whose series do not
// match its categories, or a negative value.
func (b *Bars) SVG() (template.HTML, error) {
	if err := b.check(); err != nil {
		return "", err
	}
	totals := b.Totals()
	most := maxTotal(totals)
	var sb strings.Builder
	w, h := vWidth, vHeight
	if b.Horizontal {
		w, h = hWidth, max(len(b.Categories), 1)*rowHeight+2*fontSize+2*axisGap
	}
	kind := "v"
	if b.Horizontal {
		kind = "h"
	}
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-%s" id="%s" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-title" data-max="%d" font-size="%d">`,
		kind, esc(b.ID), w, h, esc(b.ID), most, fontSize)
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title>`, esc(b.ID), esc(b.Title))
	if most == 0 {
		fmt.Fprintf(&sb, `<text class="empty" x="%d" y="%d" text-anchor="middle">%s</text></svg>`, w/2, h/2, esc(b.Empty))
		return template.HTML(sb.String()), nil
	}
	scale := NiceScale(float64(most), tickCount)
	if b.Horizontal {
		b.horizontal(&sb, scale, totals, w)
	} else {
		b.vertical(&sb, scale, totals, w, h)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()), nil
}

func (b *Bars) vertical(sb *strings.Builder, sc Scale, totals []int64, w, h int) {
	left := axisGap + textWidth(Compact(sc.Max))
	for i := 0; i <= sc.Ticks; i++ {
		left = math.Max(left, axisGap+textWidth(Compact(sc.Step*float64(i))))
	}
	left += axisGap
	top, bottom := float64(fontSize), float64(h)-2*fontSize
	plotW, plotH := float64(w)-left-axisGap, bottom-top
	y := func(v float64) float64 { return bottom - v/sc.Max*plotH }
	sb.WriteString(`<g class="grid" aria-hidden="true">`)
	for i := 0; i <= sc.Ticks; i++ {
		v := sc.Step * float64(i)
		fmt.Fprintf(sb, `<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(left), num(left+plotW), num(y(v)), num(y(v)), num(left-axisGap), num(y(v)+fontSize/3), Compact(v))
	}
	sb.WriteString(`</g>`)
	n := len(b.Categories)
	slot := plotW / float64(n)
	bw := slot * (1 - barPad)
	// Label every k-th category so that the labels do not overlap.
	widest := 0.0
	for _, c := range b.Categories {
		widest = math.Max(widest, textWidth(c))
	}
	every := max(int(math.Ceil((widest+axisGap)/slot)), 1)
	sb.WriteString(`<g class="bars">`)
	for i := range n {
		x := left + slot*float64(i) + (slot-bw)/2
		fmt.Fprintf(sb, `<g class="bar" data-category="%s" data-total="%d">`, esc(b.key(i)), totals[i])
		acc := 0.0
		for _, s := range b.Series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			y0, y1 := y(acc), y(acc+float64(v))
			acc += float64(v)
			fmt.Fprintf(sb, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" data-series="%s" data-value="%d"><title>%s · %s: %d</title></rect>`,
				esc(s.Class), num(x), num(y1), num(bw), num(math.Max(y0-y1, 0.5)), esc(s.Key), v, esc(b.Categories[i]), esc(s.Label), v)
		}
		sb.WriteString(`</g>`)
	}
	sb.WriteString(`</g><g class="labels" aria-hidden="true">`)
	for i := 0; i < n; i += every {
		fmt.Fprintf(sb, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(left+slot*(float64(i)+0.5)), num(bottom+fontSize+axisGap/2), esc(b.Categories[i]))
	}
	sb.WriteString(`</g>`)
}

func (b *Bars) horizontal(sb *strings.Builder, sc Scale, totals []int64, w int) {
	labels := make([]string, len(b.Categories))
	left := 0.0
	for i, c := range b.Categories {
		labels[i] = clip(c, maxLabelEm)
		left = math.Max(left, textWidth(labels[i]))
	}
	left += 2 * axisGap
	right := axisGap + textWidth(Compact(float64(maxTotal(totals)))) + axisGap
	top := float64(fontSize + axisGap)
	plotW := float64(w) - left - right
	x := func(v float64) float64 { return left + v/sc.Max*plotW }
	bottom := top + float64(len(b.Categories)*rowHeight)
	sb.WriteString(`<g class="grid" aria-hidden="true">`)
	for i := 0; i <= sc.Ticks; i++ {
		v := sc.Step * float64(i)
		fmt.Fprintf(sb, `<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(x(v)), num(x(v)), num(top), num(bottom), num(x(v)), num(top-axisGap/2), Compact(v))
	}
	sb.WriteString(`</g><g class="bars">`)
	bh := rowHeight * (1 - barPad)
	for i := range b.Categories {
		y := top + float64(i*rowHeight) + (rowHeight-bh)/2
		fmt.Fprintf(sb, `<g class="bar" data-category="%s" data-total="%d">`, esc(b.key(i)), totals[i])
		fmt.Fprintf(sb, `<text class="label" x="%s" y="%s" text-anchor="end">%s</text>`, num(left-axisGap), num(y+bh/2+fontSize/3), esc(labels[i]))
		acc := 0.0
		for _, s := range b.Series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			x0, x1 := x(acc), x(acc+float64(v))
			acc += float64(v)
			fmt.Fprintf(sb, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" data-series="%s" data-value="%d"><title>%s · %s: %d</title></rect>`,
				esc(s.Class), num(x0), num(y), num(math.Max(x1-x0, 0.5)), num(bh), esc(s.Key), v, esc(b.Categories[i]), esc(s.Label), v)
		}
		fmt.Fprintf(sb, `<text class="value" x="%s" y="%s">%s</text></g>`, num(x(acc)+axisGap), num(y+bh/2+fontSize/3), Compact(float64(totals[i])))
	}
	sb.WriteString(`</g>`)
}

// Legend is the chart's key as an HTML list: a swatch of each series'
// class and its label.
func (b *Bars) Legend() template.HTML {
	var sb strings.Builder
	sb.WriteString(`<ul class="legend">`)
	for _, s := range b.Series {
		fmt.Fprintf(&sb, `<li data-series="%s"><svg viewBox="0 0 10 10" width="12" height="12" aria-hidden="true" focusable="false"><rect class="%s" width="10" height="10"/></svg> %s</li>`,
			esc(s.Key), esc(s.Class), esc(s.Label))
	}
	sb.WriteString(`</ul>`)
	return template.HTML(sb.String())
}

func maxTotal(ts []int64) int64 {
	var m int64
	for _, t := range ts {
		m = max(m, t)
	}
	return m
}
