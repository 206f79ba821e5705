package http

// The auditor's dashboard (GET /dashboard) and log browser (GET
// /dashboard/log): oversight's view of what officials do, drawn from the
// node's own store and log. Charts are SVG drawn here by healthcode/chart
// (no script, nothing the CSP blocks, each bar carrying its numbers); each
// chart has a table of the same numbers beside it. Only auditors see them;
// they read counts and public leaves, so reading them is not an access to
// anyone's data. Opening an entry's commitments is, and goes through the
// same engine path as GET /api/v1/log/entries/{index}, purpose and case
// recorded.

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/chart"
)

// DashboardService is what the dashboard reads (engine.Engine is one).
type DashboardService interface {
	Dashboard(ctx context.Context, actor *healthcode.Principal, q healthcode.DashboardQuery) (*healthcode.Dashboard, error)
	LogEntries(ctx context.Context, actor *healthcode.Principal, q healthcode.LogQuery) (*healthcode.LogPage, error)
}

// dashboardService is the server's dashboard: its governance service, if
// that keeps one.
func (s *Server) dashboardService() (DashboardService, error) {
	if d, ok := s.Governance.(DashboardService); ok {
		return d, nil
	}
	return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "dashboard.none", "this node keeps no dashboard")
}

var auditorRole = []healthcode.Role{healthcode.RoleAuditor}

// dashboardRoutes are the dashboard's pages, for auditors only (someone
// not logged in gets the login form that leads back, 401).
func (s *Server) dashboardRoutes() []route {
	return append([]route{
		{Method: "GET", Path: "/dashboard", Roles: auditorRole, Page: true, h: s.htmlErrors(s.dashboardPage)},
		{Method: "GET", Path: "/dashboard/log", Roles: auditorRole, Page: true, h: s.htmlErrors(s.logBrowserPage)},
		{Method: "GET", Path: "/dashboard/log/{index}", Roles: auditorRole, Page: true, h: s.htmlErrors(s.logEntryPage)},
		{Method: "GET", Path: "/dashboard/log/{index}/proof", Roles: auditorRole, Page: true, h: s.logEntryProof},
		{Method: "POST", Path: "/dashboard/log/{index}/open", Roles: auditorRole, Page: true, h: s.htmlErrors(s.logEntryOpen)},
	}, s.oversightPageRoutes()...)
}

// Window choices of the dashboard, in days.
var dashboardDays = []int{7, 14, 30, 90}

const defaultDashboardDays = 14

// Charts show at most this many officials or units; the tables list all.
const chartTop = 8

// dashboardData is what the dashboard templates get beside pageData.
type dashboardData struct {
	Who        string
	Days       int
	DayChoices []option
	From, To   string // the window, in words

	Colours []colourCount

	Decisions      chartBlock
	DecisionRows   []decisionRow
	ActionsByDay   chartBlock
	ActionsBy      chartBlock // by official
	ActionsByUnit  chartBlock
	ActionRows     []actionRow
	Appeals        chartBlock
	AppealsSummary appealSummary

	Log   *logBrowser
	Entry *logEntryView

	// Alerts and reviews (dashboard_oversight.go), if the node runs
	// oversight; Flash says what the last review form did.
	Oversight   bool
	Alerts      []alertRow
	Reviews     []reviewRow
	AlertsChart chartBlock
	Flash       string
}

// chartBlock is a drawn chart and its key.
type chartBlock struct {
	SVG    template.HTML
	Legend template.HTML
}

type colourCount struct {
	Colour, Shape string
	Count         int64
}

type decisionRow struct {
	Day, DayISO   string
	Colour, Shape string
	Reason        string
	Count         int64
}

// actionRow is one official's restrictive actions in the window.
type actionRow struct {
	Official, Name, Unit string
	ByKind               []kindCount
	Total, People        int64
}

type kindCount struct {
	Kind  string
	Count int64
}

type appealSummary struct {
	Filed, Answered, Open, Overdue, Escalated, Late int64
	Median                                          string // hours to an answer, or ""
}

// dashboardPage is GET /dashboard: the auditor's dashboard.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "dash.title")
	if p == nil || p.Role != healthcode.RoleAuditor {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only oversight (an auditor) opens the dashboard")
	}
	ds, err := s.dashboardService()
	if err != nil {
		return err
	}
	days := defaultDashboardDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(dashboardDays, n) {
			return healthcode.Errorfd(healthcode.EINVALID, "dashboard.days", "days must be one of 7, 14, 30, 90")
		}
		days = n
	}
	now := s.Clock.Now()
	// Days of Beijing time: the window ends at the end of today.
	y, m, dd := now.In(displayZone).Date()
	until := time.Date(y, m, dd+1, 0, 0, 0, 0, displayZone)
	q := healthcode.DashboardQuery{Since: until.AddDate(0, 0, -days), Until: until, Bucket: healthcode.Day}
	dash, err := ds.Dashboard(r.Context(), p, q)
	if err != nil {
		return err
	}
	units, names := s.registryNames(r.Context(), p)
	dd2 := &dashboardData{Who: d.officialName(p), Days: days, From: d.Time(q.Since), To: d.Time(q.Until)}
	for _, n := range dashboardDays {
		dd2.DayChoices = append(dd2.DayChoices, option{Value: strconv.Itoa(n), Label: d.Tf("dash.days", n), Selected: n == days})
	}
	if err := d.fillDashboard(dd2, dash, now, units, names); err != nil {
		return err
	}
	if err := s.fillOversight(r, p, d, dd2, q, units); err != nil {
		return err
	}
	dd2.Flash = readDashboardFlash(w, r, d)
	d.Path, d.BodyClass, d.Dashboard, d.NavDashboard = "/dashboard", "dashboard", dd2, true
	return s.render(w, http.StatusOK, "dashboard.html", d)
}

// registryNames maps unit ids to names, and official ids to their names
// now; empty if the node keeps no registry.
func (s *Server) registryNames(ctx context.Context, p *healthcode.Principal) (units, officials map[string]string) {
	units, officials = map[string]string{}, map[string]string{}
	reg, err := s.registry()
	if err != nil {
		return units, officials
	}
	rg, err := reg.Registry(ctx, p)
	if err != nil {
		return units, officials
	}
	for _, u := range rg.Units {
		units[u.ID] = u.Name
	}
	for _, o := range rg.Officials {
		officials[o.ID] = o.Name
	}
	return units, officials
}

// days lists the buckets of the window: keys (YYYY-MM-DD) and labels (MM-DD).
func windowDays(q healthcode.DashboardQuery) (keys, labels []string, index map[int64]int) {
	index = map[int64]int{}
	for t := q.Since; t.Before(q.Until); t = t.Add(q.Bucket) {
		index[t.Unix()] = len(keys)
		keys = append(keys, t.In(displayZone).Format("2006-01-02"))
		labels = append(labels, t.In(displayZone).Format("01-02"))
	}
	return keys, labels, index
}

func (d *pageData) fillDashboard(dd *dashboardData, dash *healthcode.Dashboard, now time.Time, units, names map[string]string) error {
	for _, c := range []healthcode.Colour{healthcode.Green, healthcode.Yellow, healthcode.Red} {
		dd.Colours = append(dd.Colours, colourCount{Colour: c.String(), Shape: c.Shape(), Count: dash.Colours[c]})
	}
	keys, labels, at := windowDays(dash.Query)
	var err error
	if dd.Decisions, err = d.decisionsChart(dd, dash, keys, labels, at); err != nil {
		return err
	}
	if err := d.actionCharts(dd, dash, keys, labels, at, units); err != nil {
		return err
	}
	return d.appealsChart(dd, dash, now)
}

// decisionsChart: yellow and red decisions per day, by colour and reason
// (green ones are in the table: they would flatten the chart).
func (d *pageData) decisionsChart(dd *dashboardData, dash *healthcode.Dashboard, keys, labels []string, at map[int64]int) (chartBlock, error) {
	type sk struct {
		c healthcode.Colour
		r string
	}
	series := map[sk][]int64{}
	var order []sk
	for _, c := range dash.Decisions {
		dd.DecisionRows = append(dd.DecisionRows, decisionRow{Day: d.dayLabel(c.Bucket), DayISO: c.Bucket.In(displayZone).Format("2006-01-02"),
			Colour: c.Colour.String(), Shape: c.Colour.Shape(), Reason: c.Reason, Count: c.Count})
		if !c.Colour.Restrictive() {
			continue
		}
		k := sk{c.Colour, c.Reason}
		if series[k] == nil {
			series[k] = make([]int64, len(keys))
			order = append(order, k)
		}
		series[k][at[c.Bucket.Unix()]] += c.Count
	}
	slices.SortFunc(order, func(a, b sk) int { return cmp.Or(cmp.Compare(b.c, a.c), cmp.Compare(a.r, b.r)) })
	b := &chart.Bars{ID: "chart-decisions", Title: d.T("dash.decisions.chart"), Categories: labels, Keys: keys, Empty: d.T("dash.none")}
	n := map[healthcode.Colour]int{}
	for _, k := range order {
		b.Series = append(b.Series, chart.Series{Key: k.c.String() + ":" + k.r, Label: d.T("colour."+k.c.String()) + " · " + k.r,
			Class: fmt.Sprintf("d-%s%d", k.c, n[k.c]%4), Values: series[k]})
		n[k.c]++
	}
	return block(b)
}

func block(b *chart.Bars) (chartBlock, error) {
	svg, err := b.SVG()
	if err != nil {
		return chartBlock{}, err
	}
	return chartBlock{SVG: svg, Legend: b.Legend()}, nil
}

// actionCharts: restrictive actions per day by official (the most active
// ones, the rest together), per official and per unit by kind, and the
// table of every official's.
func (d *pageData) actionCharts(dd *dashboardData, dash *healthcode.Dashboard, keys, labels []string, at map[int64]int, units map[string]string) error {
	rows := map[string]*actionRow{}
	kindIndex := map[string]int{}
	for i, k := range healthcode.ActionKinds {
		kindIndex[k] = i
	}
	for _, a := range dash.Actions {
		row := rows[a.Official]
		if row == nil {
			row = &actionRow{Official: a.Official, Name: a.Name, Unit: unitName(units, a.Unit), ByKind: make([]kindCount, len(healthcode.ActionKinds))}
			for i, k := range healthcode.ActionKinds {
				row.ByKind[i].Kind = k
			}
			rows[a.Official] = row
		}
		row.ByKind[kindIndex[a.Kind]].Count += a.Count
		row.Total += a.Count
		row.People += a.People
	}
	for _, r := range rows {
		dd.ActionRows = append(dd.ActionRows, *r)
	}
	slices.SortFunc(dd.ActionRows, func(a, b actionRow) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Official, b.Official))
	})

	// Per day, by official.
	top := map[string]int{}
	byDay := &chart.Bars{ID: "chart-actions-day", Title: d.T("dash.actions.day.chart"), Categories: labels, Keys: keys, Empty: d.T("dash.none")}
	for i, r := range dd.ActionRows {
		if i == chartTop-1 && len(dd.ActionRows) > chartTop {
			break
		}
		top[r.Official] = i
		byDay.Series = append(byDay.Series, chart.Series{Key: r.Official, Label: r.Name + " · " + r.Unit, Class: fmt.Sprintf("s%d", i), Values: make([]int64, len(keys))})
	}
	var others []int64
	for _, a := range dash.Actions {
		i, ok := top[a.Official]
		if !ok {
			if others == nil {
				others = make([]int64, len(keys))
			}
			others[at[a.Bucket.Unix()]] += a.Count
			continue
		}
		byDay.Series[i].Values[at[a.Bucket.Unix()]] += a.Count
	}
	if others != nil {
		byDay.Series = append(byDay.Series, chart.Series{Key: "others", Label: d.T("dash.others"), Class: "s-others", Values: others})
	}
	var err error
	if dd.ActionsByDay, err = block(byDay); err != nil {
		return err
	}

	// Per official and per unit, by kind.
	byOfficial := &chart.Bars{ID: "chart-actions-official", Title: d.T("dash.actions.official.chart"), Horizontal: true, Empty: d.T("dash.none")}
	perUnit := map[string][]int64{}
	var unitOrder []string
	for _, r := range dd.ActionRows {
		if len(byOfficial.Categories) < chartTop {
			byOfficial.Categories = append(byOfficial.Categories, r.Name+" · "+r.Unit)
			byOfficial.Keys = append(byOfficial.Keys, r.Official)
		}
		if perUnit[r.Unit] == nil {
			perUnit[r.Unit] = make([]int64, len(healthcode.ActionKinds))
			unitOrder = append(unitOrder, r.Unit)
		}
		for i, k := range r.ByKind {
			perUnit[r.Unit][i] += k.Count
		}
	}
	byUnit := &chart.Bars{ID: "chart-actions-unit", Title: d.T("dash.actions.unit.chart"), Horizontal: true, Empty: d.T("dash.none")}
	total := func(v []int64) (n int64) {
		for _, x := range v {
			n += x
		}
		return n
	}
	slices.SortFunc(unitOrder, func(a, b string) int {
		return cmp.Or(cmp.Compare(total(perUnit[b]), total(perUnit[a])), cmp.Compare(a, b))
	})
	if len(unitOrder) > chartTop {
		unitOrder = unitOrder[:chartTop]
	}
	byUnit.Categories, byUnit.Keys = unitOrder, unitOrder
	for i, k := range healthcode.ActionKinds {
		so := chart.Series{Key: k, Label: d.T("action." + k), Class: fmt.Sprintf("k%d", i), Values: make([]int64, len(byOfficial.Categories))}
		for j := range byOfficial.Categories {
			so.Values[j] = dd.ActionRows[j].ByKind[i].Count
		}
		su := chart.Series{Key: k, Label: d.T("action." + k), Class: fmt.Sprintf("k%d", i), Values: make([]int64, len(unitOrder))}
		for j, u := range unitOrder {
			su.Values[j] = perUnit[u][i]
		}
		if total(so.Values) > 0 {
			byOfficial.Series = append(byOfficial.Series, so)
		}
		if total(su.Values) > 0 {
			byUnit.Series = append(byUnit.Series, su)
		}
	}
	if dd.ActionsBy, err = block(byOfficial); err != nil {
		return err
	}
	dd.ActionsByUnit, err = block(byUnit)
	return err
}

func unitName(units map[string]string, id string) string {
	if n, ok := units[id]; ok && n != "" {
		return n
	}
	return id
}

// Appeal time buckets.
var appealBuckets = []string{"lt1h", "1to6h", "6to24h", "late", "open", "overdue", "escalated"}

func (d *pageData) appealsChart(dd *dashboardData, dash *healthcode.Dashboard, now time.Time) error {
	counts := make([]int64, len(appealBuckets))
	var waits []time.Duration
	s := &dd.AppealsSummary
	for _, a := range dash.Appeals {
		s.Filed++
		var k string
		switch {
		case a.Status == healthcode.AppealEscalated:
			k = "escalated"
			s.Escalated++
		case a.Status == healthcode.AppealOpen && now.After(a.Deadline):
			k = "overdue"
			s.Overdue++
		case a.Status == healthcode.AppealOpen:
			k = "open"
			s.Open++
		default:
			wait := a.AnsweredAt.Sub(a.CreatedAt)
			waits = append(waits, wait)
			s.Answered++
			switch {
			case a.AnsweredAt.After(a.Deadline):
				k = "late"
				s.Late++
			case wait < time.Hour:
				k = "lt1h"
			case wait < 6*time.Hour:
				k = "1to6h"
			default:
				k = "6to24h"
			}
		}
		counts[slices.Index(appealBuckets, k)]++
	}
	if len(waits) > 0 {
		slices.Sort(waits)
		s.Median = strconv.FormatFloat(waits[len(waits)/2].Hours(), 'f', 1, 64)
	}
	b := &chart.Bars{ID: "chart-appeals", Title: d.T("dash.appeals.chart"), Horizontal: true, Empty: d.T("dash.none"), Keys: appealBuckets,
		Series: []chart.Series{{Key: "appeals", Label: d.T("dash.appeals.count"), Class: "s0", Values: counts}}}
	for _, k := range appealBuckets {
		b.Categories = append(b.Categories, d.T("dash.appeals."+k))
	}
	var err error
	dd.Appeals, err = block(b)
	return err
}

func (d *pageData) dayLabel(t time.Time) string { return t.In(displayZone).Format("01-02") }

// logBrowser is the log browser's form and page of entries.
type logBrowser struct {
	Type, Official, Unit, From, Until string
	Types, Officials, Units           []option
	Page                              *healthcode.LogPage
	Rows                              []logRow
	Older                             string // the next page's URL, "" at the end
	Scanned                           string
}

// logRow is one entry as its public leaf says.
type logRow struct {
	Index          int64
	Time, ISO      string
	Type           string
	Actor, Role    string
	Official, Unit string
	Colour, Shape  string
	Reason         string
	Ref            string
	Committed      string
}

// logBrowserPage is GET /dashboard/log: entries by type, official, unit and
// time, newest first, as the public leaves say.
func (s *Server) logBrowserPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "dash.log.title")
	ds, err := s.dashboardService()
	if err != nil {
		return err
	}
	q, lb, err := parseLogQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := ds.LogEntries(r.Context(), p, q)
	if err != nil {
		return err
	}
	units, officials := s.registryNames(r.Context(), p)
	lb.Page = page
	d.fillLogBrowser(lb, q, units, officials)
	d.Path, d.BodyClass, d.NavDashboard = "/dashboard/log", "dashboard", true
	d.Dashboard = &dashboardData{Who: d.officialName(p), Log: lb}
	return s.render(w, http.StatusOK, "dashboard_log.html", d)
}

// parseLogQuery reads the log browser's form: every field optional, each
// checked.
func parseLogQuery(v url.Values) (healthcode.LogQuery, *logBrowser, error) {
	lb := &logBrowser{Type: v.Get("type"), Official: strings.TrimSpace(v.Get("official")), Unit: strings.TrimSpace(v.Get("unit")),
		From: v.Get("from"), Until: v.Get("until")}
	q := healthcode.LogQuery{Type: healthcode.LogType(lb.Type), Official: lb.Official, Unit: lb.Unit}
	if q.Type != "" && !q.Type.Known() {
		return q, nil, healthcode.Errorfd(healthcode.EINVALID, "log.type", "unknown type of log entry %q", lb.Type)
	}
	for _, f := range []string{lb.Official, lb.Unit} {
		if len(f) > 128 || strings.ContainsAny(f, " []") {
			return q, nil, healthcode.Errorfd(healthcode.EINVALID, "log.actor", "an official or unit is an id of the registry")
		}
	}
	var err error
	if lb.From != "" {
		if q.Since, err = parseLocalTime("from", lb.From); err != nil {
			return q, nil, err
		}
	}
	if lb.Until != "" {
		if q.Until, err = parseLocalTime("until", lb.Until); err != nil {
			return q, nil, err
		}
	}
	if b := v.Get("before"); b != "" {
		if q.Before, err = strconv.ParseInt(b, 10, 64); err != nil || q.Before <= 0 {
			return q, nil, healthcode.Errorfd(healthcode.EINVALID, "log.before", "before must be a positive log index")
		}
	}
	q.Limit = 50
	return q, lb, nil
}

func (d *pageData) fillLogBrowser(lb *logBrowser, q healthcode.LogQuery, units, officials map[string]string) {
	types := []string{}
	for _, t := range []healthcode.LogType{healthcode.LogOverride, healthcode.LogOverrideAttempt, healthcode.LogDesignation, healthcode.LogPendingRecord,
		healthcode.LogDecision, healthcode.LogEvidence, healthcode.LogCase, healthcode.LogCollection, healthcode.LogAppeal, healthcode.LogRead,
		healthcode.LogTrace, healthcode.LogUnmask, healthcode.LogOfficial, healthcode.LogUnit, healthcode.LogToken, healthcode.LogVenue,
		healthcode.LogRuleSet, healthcode.LogKey, healthcode.LogPurge, healthcode.LogFederation, healthcode.LogReview} {
		types = append(types, string(t))
	}
	lb.Types = append(lb.Types, option{Value: "", Label: d.T("dash.log.any"), Selected: lb.Type == ""})
	for _, t := range types {
		lb.Types = append(lb.Types, option{Value: t, Label: d.logType(t), Selected: t == lb.Type})
	}
	sorted := func(m map[string]string, sel string) []option {
		out := []option{{Value: "", Label: d.T("dash.log.any"), Selected: sel == ""}}
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(m[a], m[b]), cmp.Compare(a, b)) })
		for _, id := range ids {
			out = append(out, option{Value: id, Label: m[id] + " (" + id + ")", Selected: id == sel})
		}
		if sel != "" && m[sel] == "" {
			out = append(out, option{Value: sel, Label: sel, Selected: true})
		}
		return out
	}
	lb.Officials, lb.Units = sorted(officials, lb.Official), sorted(units, lb.Unit)
	for _, e := range lb.Page.Entries {
		name, id, unit, ok := healthcode.SplitActorLabel(e.ActorName)
		row := logRow{Index: e.Index, Time: d.Clock(e.Time), ISO: d.ISO(e.Time), Type: d.logType(string(e.Type)), Actor: name, Ref: e.Ref,
			Reason: e.Reason, Committed: fieldNames(e.Commit)}
		if ok {
			row.Official, row.Unit = id, unitName(units, unit)
		}
		if e.ActorRole != "" {
			row.Role = d.T("role." + string(e.ActorRole))
		}
		if e.Colour.Valid() {
			row.Colour, row.Shape = e.Colour.String(), e.Colour.Shape()
		}
		lb.Rows = append(lb.Rows, row)
	}
	if lb.Page.Next > 0 {
		v := url.Values{}
		for k, x := range map[string]string{"type": lb.Type, "official": lb.Official, "unit": lb.Unit, "from": lb.From, "until": lb.Until} {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set("before", strconv.FormatInt(lb.Page.Next, 10))
		lb.Older = "/dashboard/log?" + v.Encode()
	}
	end := lb.Page.Size
	if q.Before > 0 && q.Before < end {
		end = q.Before
	}
	lb.Scanned = d.Tf("dash.log.scanned", lb.Page.From, end, lb.Page.Size)
}

// logType names a type of log entry in the page's language.
func (d *pageData) logType(t string) string {
	if _, ok := messages["logtype."+t]; ok {
		return d.T("logtype." + t)
	}
	return t
}

// fieldNames lists the committed fields of an entry, as the leaf format
// names them.
func fieldNames(f healthcode.LogFields) string {
	names := []string{"subject", "colour", "reason", "rule_id", "rule_set_hash", "evidence_digest", "actor_name", "actor_role", "ref", "note"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// logEntryView is one entry: as its leaf says, its inclusion proof, and,
// once opened, every field.
type logEntryView struct {
	Row      logRow
	Proof    string
	Opened   *LogEntryJSON
	Purposes []option
	Case     string
	Recorded string
}

func logIndex(r *http.Request) (int64, error) {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return 0, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log index must be a non-negative integer")
	}
	return index, nil
}

// logEntryPage is GET /dashboard/log/{index}: the entry as its public leaf
// says, its inclusion proof, and the form that opens it.
func (s *Server) logEntryPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	return s.renderLogEntry(w, r, p, nil, "", "")
}

func (s *Server) renderLogEntry(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, opened *LogEntryJSON, purpose, caseRef string) error {
	d := newPage(w, r, "dash.entry.title")
	index, err := logIndex(r)
	if err != nil {
		return err
	}
	ds, err := s.dashboardService()
	if err != nil {
		return err
	}
	page, err := ds.LogEntries(r.Context(), p, healthcode.LogQuery{Before: index + 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Entries) != 1 || page.Entries[0].Index != index {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.index_beyond_tree", "no log entry %d", index)
	}
	proof, err := s.Log.Proof(r.Context(), index)
	if err != nil {
		return err
	}
	units, officials := s.registryNames(r.Context(), p)
	lb := &logBrowser{Page: &healthcode.LogPage{Entries: page.Entries}}
	d.fillLogBrowser(lb, healthcode.LogQuery{}, units, officials)
	v := &logEntryView{Row: lb.Rows[0], Proof: string(proof), Opened: opened, Case: caseRef}
	for _, pu := range healthcode.AccessPurposes {
		v.Purposes = append(v.Purposes, option{Value: pu, Label: d.T("purpose." + pu), Selected: pu == cmp.Or(purpose, "oversight")})
	}
	if opened != nil {
		v.Recorded = d.Tf("dash.entry.recorded", d.officialName(p), d.T("purpose."+purpose), caseRef)
	}
	d.Path, d.BodyClass, d.NavDashboard = "/dashboard/log", "dashboard", true
	d.Dashboard = &dashboardData{Who: d.officialName(p), Entry: v}
	return s.render(w, http.StatusOK, "dashboard_entry.html", d)
}

// logEntryProof is GET /dashboard/log/{index}/proof: the inclusion proof
// as a file (C2SP tlog-proof), which `healthcode verify` checks offline.
func (s *Server) logEntryProof(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	index, err := logIndex(r)
	if err != nil {
		return err
	}
	b, err := s.Log.Proof(r.Context(), index)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="healthcode-log-%d-proof.txt"`, index))
	_, err = w.Write(b)
	return err
}

// logEntryOpen is POST /dashboard/log/{index}/open: the entry opened with
// a purpose and a case, through the same path as GET
// /api/v1/log/entries/{index} (the read is recorded, and shown to the
// person if the entry is about one).
func (s *Server) logEntryOpen(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	index, err := logIndex(r)
	if err != nil {
		return err
	}
	purpose, caseRef := r.PostForm.Get("purpose"), strings.TrimSpace(r.PostForm.Get("case"))
	o, err := s.Governance.OpenLogEntry(r.Context(), p, index, purpose, caseRef)
	if err != nil {
		return err
	}
	e := &o.Entry
	opened := &LogEntryJSON{Type: string(e.Type), Time: e.Time, Region: e.Region, Subject: e.Subject, Reason: e.Reason, RuleID: e.RuleID,
		RuleSetHash: e.RuleSetHash, EvidenceDigest: e.EvidenceDigest, ActorName: e.ActorName, ActorRole: string(e.ActorRole), Ref: e.Ref, Note: e.Note}
	if e.Colour.Valid() {
		opened.Colour = e.Colour.String()
	}
	return s.renderLogEntry(w, r, p, opened, purpose, caseRef)
}
