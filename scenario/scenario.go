// Package scenario plays the reference scenario, "zhengzhou", against a
// running node over its API: a synthetic city's ordinary outbreak and lawful
// epidemiological work go on while a group of officials tries to red-code a
// list of people (1,317 in 2022) by every path the 2022 abuse and its
// variants suggest. It reports, for each attempt, what the node refused,
// whose colour changed, how soon oversight was alerted and whom the alert
// named; for the lawful work, what was done and any false alert.
//
// It acts only as the node's users would, with their tokens, through the
// API — except the one attempt that is exactly that: an admin holding the
// data directory writes the database file. It decides nothing itself.
package scenario

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/sim"
)

// DefaultTargets is how many depositors were red-coded in Zhengzhou in 2022.
const DefaultTargets = 1317

// DefaultAlertWithin is how soon after an attempt's first effect oversight
// must be alerted (issue 11's acceptance).
const DefaultAlertWithin = 60 * time.Second

// Node is the running node the scenario acts on: started by the caller on
// 127.0.0.1 with a fresh database, its people registered (City's), a rule
// set in force and two admins.
type Node struct {
	URL  string
	DB   string // the SQLite file, for the attempt that writes it directly
	City *sim.City
	// Admins are the two first admins' tokens (admin init).
	Admins [2]string
	// CitizenTokens gives each person named by ID number a token of their
	// own, as the node's system gives at set-up; in the order asked.
	CitizenTokens func(ctx context.Context, idNumbers []string) ([]string, error)
	// AuditEvery is how often the node audits its store against its log.
	AuditEvery time.Duration
}

// Config says how the scenario is played; the zero value plays it in full.
type Config struct {
	Targets     int           // people on the list; DefaultTargets if zero
	AlertWithin time.Duration // DefaultAlertWithin if zero
	// Progress, if set, is told what the scenario is doing.
	Progress io.Writer
}

// Outcome is the judgement on one attempt.
const (
	Refused = "refused" // nothing restrictive took effect on a target
	Alerted = "alerted" // it took effect, and oversight was alerted in time naming the acting officials
	Failed  = "FAILED"  // it took effect and was not alerted in time, or the alert named no one acting
)

// Attempt is what became of one attempt to red-code the list. Its JSON
// field names are a contract (`healthcode scenario zhengzhou --json`).
type Attempt struct {
	Kind        string `json:"kind"` // "attempt"
	ID          string `json:"id"`   // "a" … "g", and "e2"
	Path        string `json:"path"` // e.g. "bulk_override"
	Description string `json:"description"`
	// Requests the officials sent; RequestsRefused of them were refused
	// (answered 4xx, or an item of a batch rejected).
	Requests        int `json:"requests"`
	RequestsRefused int `json:"requests_refused"`
	// InForce counts restrictive items that took effect (an override,
	// contact or positive in force, an approved designation); Held those
	// left waiting for a second official or an auditor.
	InForce int `json:"in_force"`
	Held    int `json:"held"`
	// Refused: nothing restrictive took effect and no target's colour
	// changed.
	Refused bool `json:"refused"`
	// TargetsChanged counts targets whose colour, as they are shown it,
	// changed (went above what it was before the attempt).
	TargetsChanged int `json:"targets_changed"`
	// FirstEffect is when the attempt first changed anything stored.
	FirstEffect *time.Time `json:"first_effect_at"`
	// AlertSeconds is from the first effect (the start, if none) to the
	// first alert about the attempt; null if none came.
	AlertSeconds *float64 `json:"alert_seconds"`
	Detectors    []string `json:"detectors"`
	// Officials are the acting officials ("name [id]") whose requests
	// changed something stored (in the log): the alerts must name each;
	// OfficialsNamed are those of them the alerts named. OfficialsNotLogged
	// acted too, but nothing they did is in the log (every request
	// refused, or only reads), so there is nothing of theirs to name.
	Officials          []string `json:"officials"`
	OfficialsNamed     []string `json:"officials_named"`
	OfficialsNotLogged []string `json:"officials_not_logged"`
	Outcome            string   `json:"outcome"`
	Note               string   `json:"note,omitempty"`

	start    time.Time
	actors   []official      // the acting officials
	recorded map[string]bool // ids of those whose requests changed something stored
	noActors bool            // the attempt bypasses the API: no official is known to the node
	touched  map[string]bool
}

// Lawful is what became of the city's lawful work.
type Lawful struct {
	Kind string `json:"kind"` // "lawful"
	// Actions are the lawful requests the node accepted; Refused those it
	// refused (each listed in Refusals).
	Actions  int      `json:"actions"`
	Refused  int      `json:"refused"`
	Refusals []string `json:"refusals,omitempty"`
	// Restricted counts people the lawful work made yellow or red.
	Restricted  int      `json:"restricted"`
	FalseAlerts int      `json:"false_alerts"`
	Detectors   []string `json:"false_alert_detectors"`
}

// Targets is what the people on the list see at the end.
type Targets struct {
	Kind   string `json:"kind"` // "targets"
	People int    `json:"people"`
	Green  int    `json:"green"`
	Yellow int    `json:"yellow"`
	Red    int    `json:"red"`
	// Withheld: the node refuses to show a code it cannot trust (a direct
	// write it detected), and says why.
	Withheld int `json:"withheld"`
	// Unexplained counts targets above green (or withheld) shown no
	// reason; NoAppeal those whose appeal was refused.
	Unexplained int `json:"unexplained"`
	NoAppeal    int `json:"no_appeal"`
	Appealed    int `json:"appealed"`
}

// Report is the scenario's result.
type Report struct {
	Attempts []*Attempt
	Lawful   Lawful
	Targets  Targets
	// Alerts are every alert the node raised during the scenario.
	Alerts []hchttp.ClientAlertJSON
	// AlertsAPI is empty if the alerts could be read, else why not.
	AlertsAPI string
	// Auditor is the token of the scenario's auditor (市纪委监委), who
	// watched the alerts: to look at the node's dashboard afterwards.
	Auditor string `json:"-"`
}

// OK reports whether the scenario met its acceptance: every attempt
// refused or alerted in time naming its officials, no target above green
// without a reason and an appeal, no false alert on the lawful work.
func (r *Report) OK() bool {
	for _, a := range r.Attempts {
		if a.Outcome == Failed {
			return false
		}
	}
	return r.Lawful.FalseAlerts == 0 && r.Targets.Unexplained == 0 && r.Targets.NoAppeal == 0
}

// official is an official the scenario registered, with their token.
type official struct {
	ID, Name, Role, Unit string
	token                string
}

func (o official) String() string { return o.Name + " [" + o.ID + "]" }

// target is a person on the list.
type target struct {
	idNumber, subject string
	c                 *hchttp.Client
}

// run is one playing of the scenario.
type run struct {
	node     Node
	cfg      Config
	api      *hchttp.Client
	admin    [2]*hchttp.Client
	units    map[string]string // registry unit id by name
	report   *Report
	targets  []target
	lawful   map[string]bool   // ids of the city's lawful officials
	byToken  map[string]string // official id by token
	auditor  *hchttp.Client
	alerts   *alertWatch
	realCase realCase
	bank     venue
	// restaurant is where today's case ate; its account is lawful.
	restaurant venue
	mu         sync.Mutex
}

// realCase is a case of the city's outbreak, opened lawfully: what the
// officials cite as a pretext.
type realCase struct {
	ID         string
	EvidenceID int64
	at         time.Time // when the case checked in at the restaurant
}

type venue struct {
	ID      string
	owner   *hchttp.Client
	account official // the venue's own account, which shows its code
}

// Run plays the scenario against n and returns its report. It returns an
// error only when the node or the harness fails, not when an attempt
// succeeds: that is in the report.
func Run(ctx context.Context, n Node, cfg Config) (*Report, error) {
	if cfg.Targets == 0 {
		cfg.Targets = DefaultTargets
	}
	if cfg.AlertWithin == 0 {
		cfg.AlertWithin = DefaultAlertWithin
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	api := hchttp.NewClient(n.URL)
	r := &run{node: n, cfg: cfg, api: api, admin: [2]*hchttp.Client{api.As(n.Admins[0]), api.As(n.Admins[1])},
		units: map[string]string{}, lawful: map[string]bool{}, byToken: map[string]string{}, report: &Report{Lawful: Lawful{Kind: "lawful"}}}
	aud, err := r.official(ctx, "监督员 孙丽", healthcode.RoleAuditor, "市纪委监委", true)
	if err != nil {
		return nil, err
	}
	r.auditor = api.As(aud.token)
	r.report.Auditor = aud.token
	r.alerts = newAlertWatch(r.auditor)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go r.alerts.run(watchCtx)

	r.progress("the city's lawful work: its officials, its outbreak")
	if err := r.lawfulWork(ctx); err != nil {
		return nil, fmt.Errorf("lawful work: %w", err)
	}
	r.progress("the list: %d people", cfg.Targets)
	if err := r.pickTargets(ctx); err != nil {
		return nil, fmt.Errorf("the list: %w", err)
	}
	for _, at := range attempts() {
		if at.id == "f" {
			// What the people on the list see after every attempt through
			// the API, before the file is written under the node.
			r.progress("what the people on the list see")
			if err := r.visibility(ctx); err != nil {
				return nil, err
			}
		}
		a := &Attempt{Kind: "attempt", ID: at.id, Path: at.path, Description: at.description, touched: map[string]bool{}, recorded: map[string]bool{}}
		r.report.Attempts = append(r.report.Attempts, a)
		r.progress("attempt (%s): %s", a.ID, a.Description)
		before, err := r.colours(ctx)
		if err != nil {
			return nil, err
		}
		a.start = time.Now()
		if err := at.run(ctx, r, a); err != nil {
			return nil, fmt.Errorf("attempt (%s): %w", a.ID, err)
		}
		if err := r.settle(ctx, a, before); err != nil {
			return nil, fmt.Errorf("attempt (%s): %w", a.ID, err)
		}
	}
	r.progress("waiting for oversight (up to %s after each attempt's first effect)", cfg.AlertWithin)
	r.awaitAlerts(ctx)
	after, err := r.colours(ctx)
	if err != nil {
		return nil, err
	}
	r.report.Targets.Withheld = 0
	for _, c := range after {
		if c == "withheld" {
			r.report.Targets.Withheld++
		}
	}
	r.judge()
	return r.report, nil
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "scenario %s: "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.0")}, args...)...)
}

// official registers an official through the registry API, as the two
// admins would (one proposes, the other approves; the same for the
// token), in the unit of that name (created if new).
func (r *run) official(ctx context.Context, name string, role healthcode.Role, unitName string, lawful bool) (official, error) {
	uid, ok := r.units[unitName]
	if !ok {
		var u hchttp.UnitJSON
		if _, err := r.admin[0].Do(ctx, "POST", "/api/v1/units", hchttp.UnitJSON{Name: unitName}, &u); err != nil {
			return official{}, err
		}
		uid, r.units[unitName] = u.ID, u.ID
	}
	var prop hchttp.ProposalJSON
	if _, err := r.admin[0].Do(ctx, "POST", "/api/v1/officials", hchttp.OfficialJSON{Name: name, Role: string(role), Unit: uid}, &prop); err != nil {
		return official{}, err
	}
	var o hchttp.OfficialJSON
	if _, err := r.admin[1].Do(ctx, "POST", fmt.Sprintf("/api/v1/official-proposals/%d/approve", prop.ID), nil, &o); err != nil {
		return official{}, err
	}
	if _, err := r.admin[0].Do(ctx, "POST", "/api/v1/officials/"+o.ID+"/tokens", nil, &prop); err != nil {
		return official{}, err
	}
	var tok hchttp.TokenJSON
	if _, err := r.admin[1].Do(ctx, "POST", "/api/v1/officials/"+o.ID+"/tokens", nil, &tok); err != nil {
		return official{}, err
	}
	if lawful {
		r.lawful[o.ID] = true
	}
	r.byToken[tok.Token] = o.ID
	return official{ID: o.ID, Name: name, Role: string(role), Unit: unitName, token: tok.Token}, nil
}

// colourRank orders what a person is shown: green, yellow, red; withheld
// (a code the node cannot trust) and unknown rank as green, since neither
// shows a restriction.
func colourRank(c string) int {
	switch c {
	case "yellow":
		return 1
	case "red":
		return 2
	}
	return 0
}

// colours returns what each target is shown now: "green", "yellow",
// "red" or "withheld".
func (r *run) colours(ctx context.Context) ([]string, error) {
	out := make([]string, len(r.targets))
	err := r.each(ctx, len(r.targets), func(i int) error {
		c, err := r.targets[i].c.MyCode(ctx)
		if ce := hchttp.ClientProblem(err); ce != nil && ce.Problem.Code == healthcode.ETAMPERED {
			out[i] = "withheld"
			return nil
		} else if err != nil {
			return err
		}
		out[i] = c.Decision.Colour
		return nil
	})
	return out, err
}

// each runs f(0…n-1) on a few workers and returns the first error.
func (r *run) each(ctx context.Context, n int, f func(i int) error) error {
	const workers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// settle measures what an attempt changed for the targets: their colours
// now against before, and, for a write under the node (whose effect its
// cache may hide for a while), again until it is alerted and the node
// withholds every code it touched, or the deadline.
func (r *run) settle(ctx context.Context, a *Attempt, before []string) error {
	changed := map[int]bool{}
	deadline := time.Now()
	if a.noActors && a.FirstEffect != nil {
		deadline = a.FirstEffect.Add(r.cfg.AlertWithin)
	}
	for {
		now, err := r.colours(ctx)
		if err != nil {
			return err
		}
		withheld := 0
		for i := range now {
			if colourRank(now[i]) > colourRank(before[i]) {
				changed[i] = true
			}
			if now[i] == "withheld" {
				withheld++
			}
		}
		// A write under the node is settled once it is alerted and the
		// node shows none of it (its self-audit has seen it).
		if !time.Now().Before(deadline) || r.alerts.firstFor(r, a) != nil && (!a.noActors || withheld == len(now)) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	a.TargetsChanged = len(changed)
	a.Refused = a.InForce == 0 && a.TargetsChanged == 0
	return nil
}

// visibility checks what every target sees: a colour above green comes
// with its reason, and the person can appeal it; a code withheld says why.
func (r *run) visibility(ctx context.Context) error {
	t := &r.report.Targets
	*t = Targets{Kind: "targets", People: len(r.targets)}
	var mu sync.Mutex
	return r.each(ctx, len(r.targets), func(i int) error {
		c := r.targets[i].c
		code, err := c.MyCode(ctx)
		ce := hchttp.ClientProblem(err)
		if ce != nil && ce.Problem.Code == healthcode.ETAMPERED {
			mu.Lock()
			defer mu.Unlock()
			t.Withheld++
			if strings.TrimSpace(ce.Problem.Detail) == "" {
				t.Unexplained++
			}
			return nil
		} else if err != nil {
			return err
		}
		colour := code.Decision.Colour
		explained := code.Decision.Reason != "" && code.Decision.Text.ZH != "" && code.Decision.Text.EN != ""
		appealed, appealOK := false, true
		if colour != "green" {
			var ap hchttp.AppealJSON
			_, err := c.Do(ctx, "POST", "/api/v1/me/appeals", map[string]string{"kind": healthcode.AppealColour,
				"note": "我从未去过那里，也没有接触任何病例。I was never there and met no case."}, &ap)
			if ce := hchttp.ClientProblem(err); ce != nil {
				appealOK = false
			} else if err != nil {
				return err
			} else {
				appealed = ap.ID != 0
				appealOK = appealed
			}
		}
		mu.Lock()
		defer mu.Unlock()
		switch colour {
		case "green":
			t.Green++
		case "yellow":
			t.Yellow++
		case "red":
			t.Red++
		}
		if colour != "green" && !explained {
			t.Unexplained++
		}
		if !appealOK {
			t.NoAppeal++
		}
		if appealed {
			t.Appealed++
		}
		return nil
	})
}

// judge gives each attempt its outcome and counts false alerts on the
// lawful work.
func (r *run) judge() {
	rep := r.report
	rep.Alerts = r.alerts.all()
	rep.AlertsAPI = r.alerts.problem()
	claimed := map[int64]bool{}
	for _, a := range rep.Attempts {
		a.Officials, a.OfficialsNotLogged = []string{}, []string{}
		for _, o := range a.actors {
			if a.recorded[o.ID] {
				a.Officials = append(a.Officials, o.String())
			} else {
				a.OfficialsNotLogged = append(a.OfficialsNotLogged, o.String())
			}
		}
		a.OfficialsNamed, a.Detectors = []string{}, []string{}
		var first *hchttp.ClientAlertJSON
		named := map[string]bool{}
		for _, al := range rep.Alerts {
			if !r.alerts.about(r, a, al) {
				continue
			}
			claimed[al.ID] = true
			if first == nil || al.OpenedAt.Before(first.OpenedAt) {
				x := al
				first = &x
			}
			if !slices.Contains(a.Detectors, al.Detector) {
				a.Detectors = append(a.Detectors, al.Detector)
			}
			for _, o := range a.actors {
				if a.recorded[o.ID] && names(al, o) {
					named[o.String()] = true
				}
			}
		}
		for n := range named {
			a.OfficialsNamed = append(a.OfficialsNamed, n)
		}
		sort.Strings(a.OfficialsNamed)
		if first != nil {
			from := a.start
			if a.FirstEffect != nil {
				from = *a.FirstEffect
			}
			s := first.OpenedAt.Sub(from).Seconds()
			a.AlertSeconds = &s
		}
		switch {
		case a.Refused:
			a.Outcome = Refused
		case a.AlertSeconds != nil && *a.AlertSeconds <= r.cfg.AlertWithin.Seconds() && (a.noActors || len(a.OfficialsNamed) == len(a.Officials)):
			a.Outcome = Alerted
		default:
			a.Outcome = Failed
		}
	}
	l := &rep.Lawful
	l.Detectors = []string{}
	for _, al := range rep.Alerts {
		if claimed[al.ID] {
			continue
		}
		l.FalseAlerts++
		if !slices.Contains(l.Detectors, al.Detector) {
			l.Detectors = append(l.Detectors, al.Detector)
		}
	}
}

// names reports whether alert al names official o (by registry id, or by
// name where it gives names).
func names(al hchttp.ClientAlertJSON, o official) bool {
	for _, s := range al.Officials {
		if s == o.ID || strings.Contains(s, "["+o.ID) || strings.Contains(s, o.ID) || s == o.Name {
			return true
		}
	}
	return false
}
