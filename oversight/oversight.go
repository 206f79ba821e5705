// Package oversight watches a node's transparency log and store for the
// patterns that lawful epidemiological work does not make — colours resting
// on no corroborated health evidence, bursts of restrictive actions, cohorts
// restricted together for no health reason, presence that does not add up,
// designations unlinked to their cases, heavy reads, overdue appeals, a log
// in doubt, another region's colour not propagated — and raises alerts naming the officials, units, people
// (pseudonyms) and log entries involved.
//
// It reads incrementally: a cursor over the log (kept in the store) and
// another over check-ins, never a rescan of everything; detectors keep the
// recent history they compare against in memory, rebuilt from the log on
// start. It never changes a colour, never logs anything and never blocks an
// action itself: what auditors do about an alert (a review) goes through the
// engine.
package oversight

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"healthcode"
)

// Integrity is what the node's self-audit last found (tlog.Publisher).
type Integrity interface {
	// LogProblem returns an error if the log itself is in doubt.
	LogProblem() error
	// FlaggedSubjects returns the people whose stored state disagrees with
	// the log.
	FlaggedSubjects() []string
}

// Runner runs the detectors over what the log and the store gained since
// its last pass, and stores the alerts they raise.
type Runner struct {
	Store healthcode.Store
	// Entry decodes a stored log record (tlog.RecordEntry).
	Entry func(rec *healthcode.LogRecord) (*healthcode.LogEntry, error)
	Clock healthcode.Clock
	// Integrity, if set, is watched for a fork or a failed self-audit.
	Integrity Integrity
	Settings  Settings
	Logger    *slog.Logger
	// OnAlert, if set, is called with each new alert once it is stored
	// (the webhook, the metrics).
	OnAlert func(a healthcode.Alert)

	mu      sync.Mutex // one pass at a time
	started bool
	hist    *history
	dets    []detector
}

// Settings are the detectors' thresholds. The zero value of a field means
// its default (DefaultSettings).
type Settings struct {
	// MaxEntriesPerPass bounds the log entries one pass reads (the next
	// pass goes on from there), so a pass's memory is bounded.
	MaxEntriesPerPass int
	// Baseline is how far back the detectors look for an official's,
	// unit's, pair's or case's own usual level and its peers'.
	Baseline time.Duration

	// BurstWindow is the window restrictive actions are counted over.
	BurstWindow time.Duration
	// BurstMinPeople is the fewest distinct people restricted within
	// BurstWindow by one official, unit, pair or case that can be a burst.
	BurstMinPeople int
	// BurstFactor: a burst is also more than BurstFactor times the key's
	// own mean per window over Baseline and its peers' median mean.
	BurstFactor float64

	// CohortWindow is how close together people must be restricted to
	// count as one cohort.
	CohortWindow time.Duration
	// CohortMinPeople is the smallest cohort alerted on.
	CohortMinPeople int
	// CohortLift: an attribute is a cohort's when its share among the
	// people restricted together is at least CohortLift times its share
	// in the population.
	CohortLift float64
	// CohortLinked: a cohort is explained when one case, tube or venue
	// links at least this share of it.
	CohortLinked float64

	// PhotoMinPeople is how many people scanning one venue code's slot
	// long after it was shown (a photo passed around) raise an alert.
	PhotoMinPeople int
	// StaleAfter is how old a live code's slot may be when scanned before
	// it counts as a photo.
	StaleAfter time.Duration
	// TeleportWithin: one person checked in at venues of two different
	// prefectures within it is an alert.
	TeleportWithin time.Duration
	// TeleportMinPeople is how many such people raise one alert.
	TeleportMinPeople int

	// ReadsWindow is the window reads of personal data are counted over.
	ReadsWindow time.Duration
	// ReadsMinPeople is the fewest distinct people one official reads in
	// ReadsWindow that can be an alert; ReadsFactor times the peers'
	// median is the other bound.
	ReadsMinPeople int
	ReadsFactor    float64
	// CaseReadsMaxPeople is how many distinct people one official may read
	// citing one case within ReadsWindow.
	CaseReadsMaxPeople int
}

// DefaultSettings are the thresholds used for zero fields: chosen so that
// the lawful outbreak of sim (at any size) raises nothing while the
// Zhengzhou attempts (hundreds to thousands of people) are seen at once.
func DefaultSettings() Settings {
	return Settings{
		MaxEntriesPerPass:  20000,
		Baseline:           7 * healthcode.Day,
		BurstWindow:        time.Hour,
		BurstMinPeople:     100,
		BurstFactor:        5,
		CohortWindow:       time.Hour,
		CohortMinPeople:    30,
		CohortLift:         10,
		CohortLinked:       0.5,
		PhotoMinPeople:     10,
		StaleAfter:         10 * time.Minute,
		TeleportWithin:     30 * time.Minute,
		TeleportMinPeople:  5,
		ReadsWindow:        time.Hour,
		ReadsMinPeople:     500,
		ReadsFactor:        10,
		CaseReadsMaxPeople: 1000,
	}
}

// withDefaults fills zero fields from DefaultSettings.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	fill := func(v any, def any) {
		switch p := v.(type) {
		case *int:
			if *p <= 0 {
				*p = def.(int)
			}
		case *float64:
			if *p <= 0 {
				*p = def.(float64)
			}
		case *time.Duration:
			if *p <= 0 {
				*p = def.(time.Duration)
			}
		}
	}
	fill(&s.MaxEntriesPerPass, d.MaxEntriesPerPass)
	fill(&s.Baseline, d.Baseline)
	fill(&s.BurstWindow, d.BurstWindow)
	fill(&s.BurstMinPeople, d.BurstMinPeople)
	fill(&s.BurstFactor, d.BurstFactor)
	fill(&s.CohortWindow, d.CohortWindow)
	fill(&s.CohortMinPeople, d.CohortMinPeople)
	fill(&s.CohortLift, d.CohortLift)
	fill(&s.CohortLinked, d.CohortLinked)
	fill(&s.PhotoMinPeople, d.PhotoMinPeople)
	fill(&s.StaleAfter, d.StaleAfter)
	fill(&s.TeleportWithin, d.TeleportWithin)
	fill(&s.TeleportMinPeople, d.TeleportMinPeople)
	fill(&s.ReadsWindow, d.ReadsWindow)
	fill(&s.ReadsMinPeople, d.ReadsMinPeople)
	fill(&s.ReadsFactor, d.ReadsFactor)
	fill(&s.CaseReadsMaxPeople, d.CaseReadsMaxPeople)
	return s
}

// Cursor names, in the store.
const (
	cursorLog         = "log"
	cursorCheckIn     = "checkins"
	checkInsPerPass   = 20000
	recordsPerRead    = 1000
	maxOfficialsCache = 10000
)

// detector is one detector: it sees each pass's new entries (in log
// order) and check-ins, and the runner's history, and returns alerts.
type detector interface {
	name() string
	detect(ctx context.Context, p *pass) ([]healthcode.Alert, error)
}

// Pass runs the detectors once over what is new, stores the alerts they
// raise, advances the cursors, and returns the new alerts. Safe to call
// while Run runs (passes take turns).
func (r *Runner) Pass(ctx context.Context) ([]healthcode.Alert, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []healthcode.Alert
	for {
		as, more, err := r.pass(ctx)
		if err != nil {
			return all, err
		}
		all = append(all, as...)
		if !more {
			return all, nil
		}
	}
}

func (r *Runner) init(ctx context.Context) error {
	if r.started {
		return nil
	}
	r.Settings = r.Settings.withDefaults()
	if r.Logger == nil {
		r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.hist = newHistory(r.Settings)
	r.dets = []detector{
		&uncorroborated{},
		&burst{},
		&cohort{},
		&presence{},
		&unlinkedDesignation{},
		&reads{},
		&overdueAppeals{},
		&integrity{},
		peerRefused{},
	}
	if err := r.rebuild(ctx); err != nil {
		return err
	}
	r.started = true
	return nil
}

// pass runs once over at most MaxEntriesPerPass entries; more says there
// are more to read.
func (r *Runner) pass(ctx context.Context) (alerts []healthcode.Alert, more bool, err error) {
	if err := r.init(ctx); err != nil {
		return nil, false, err
	}
	now := r.Clock.Now().UTC()
	p := &pass{r: r, ctx: ctx, now: now, s: r.Settings, hist: r.hist}
	err = r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		p.tx = tx
		from, err := tx.OversightCursor(ctx, cursorLog)
		if err != nil {
			return err
		}
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		if from > size { // a store restored from an older copy: the audit says so; start over
			from = 0
		}
		to := min(size, from+int64(r.Settings.MaxEntriesPerPass))
		more = to < size
		if p.entries, err = r.read(ctx, tx, from, to); err != nil {
			return err
		}
		p.from, p.to = from, to
		if p.checkins, p.ciCursor, err = r.newCheckIns(ctx, tx); err != nil {
			return err
		}
		// Restrictive actions, reads and restrictions of the new
		// entries go into the history the detectors compare against.
		if err := p.extract(); err != nil {
			return err
		}
		for _, d := range r.dets {
			as, err := d.detect(ctx, p)
			if err != nil {
				return fmt.Errorf("oversight: %s: %w", d.name(), err)
			}
			for i := range as {
				as[i].Detector = d.name()
				as[i].OpenedAt = now
				normalize(&as[i])
			}
			alerts = append(alerts, as...)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	var created []healthcode.Alert
	err = r.Store.Update(ctx, func(tx healthcode.Tx) error {
		created = created[:0]
		for i := range alerts {
			a := alerts[i]
			ok, err := tx.CreateAlert(ctx, &a)
			if err != nil {
				return err
			}
			if ok {
				created = append(created, a)
			}
		}
		if err := tx.SetOversightCursor(ctx, cursorLog, p.to); err != nil {
			return err
		}
		if p.ciCursor != nil {
			return tx.SetOversightCursor(ctx, cursorCheckIn, *p.ciCursor)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	p.hist.trim(now)
	for _, a := range created {
		r.Logger.Warn("oversight alert", "id", a.ID, "detector", a.Detector, "summary", a.Summary,
			"officials", a.Officials, "people", len(a.People), "first_effect", a.FirstEffectAt)
		if r.OnAlert != nil {
			r.OnAlert(a)
		}
	}
	return created, more && ctx.Err() == nil, nil
}

// read decodes the log records from to to-1.
func (r *Runner) read(ctx context.Context, tx healthcode.ReadTx, from, to int64) ([]*healthcode.LogEntry, error) {
	var out []*healthcode.LogEntry
	for start := from; start < to; start += recordsPerRead {
		n := int(min(to-start, recordsPerRead))
		recs, err := tx.LogRecords(ctx, start, n)
		if err != nil {
			return nil, err
		}
		for i := range recs {
			if recs[i].Leaf == nil {
				continue // the audit names a missing leaf
			}
			e, err := r.Entry(&recs[i])
			if err != nil {
				continue // the audit names a malformed leaf
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// newCheckIns reads the check-ins stored since the last pass.
func (r *Runner) newCheckIns(ctx context.Context, tx healthcode.ReadTx) ([]healthcode.CheckIn, *int64, error) {
	after, err := tx.OversightCursor(ctx, cursorCheckIn)
	if err != nil {
		return nil, nil, err
	}
	cs, err := tx.CheckInsAfter(ctx, after, checkInsPerPass)
	if err != nil || len(cs) == 0 {
		return nil, nil, err
	}
	last := cs[len(cs)-1].ID
	return cs, &last, nil
}

// rebuild fills the history from the log entries of the last Baseline
// before the cursor: what the detectors compare new actions against. No
// alert is raised for them (they were seen before).
func (r *Runner) rebuild(ctx context.Context) error {
	return r.Store.View(ctx, func(tx healthcode.ReadTx) error {
		to, err := tx.OversightCursor(ctx, cursorLog)
		if err != nil || to == 0 {
			return err
		}
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		to = min(to, size)
		since := r.Clock.Now().Add(-r.Settings.Baseline)
		// The first entry at or after since: entries are appended in
		// time order, so a binary search over their times finds it.
		from := int64(sort.Search(int(to), func(i int) bool {
			recs, err := tx.LogRecords(ctx, int64(i), 1)
			if err != nil || len(recs) == 0 || recs[0].Leaf == nil {
				return false
			}
			e, err := r.Entry(&recs[0])
			return err == nil && !e.Time.Before(since)
		}))
		for start := from; start < to; start += int64(r.Settings.MaxEntriesPerPass) {
			end := min(to, start+int64(r.Settings.MaxEntriesPerPass))
			entries, err := r.read(ctx, tx, start, end)
			if err != nil {
				return err
			}
			p := &pass{r: r, ctx: ctx, tx: tx, now: r.Clock.Now().UTC(), s: r.Settings, hist: r.hist, entries: entries, from: start, to: end}
			if err := p.extract(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Run runs a pass every interval until ctx ends, logging failures.
func (r *Runner) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.logger().Error("oversight pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r.Logger
}

// normalize sorts and bounds an alert's lists.
func normalize(a *healthcode.Alert) {
	a.Officials = sortedUnique(a.Officials)
	a.Units = sortedUnique(a.Units)
	a.People = sortedUnique(a.People)
	if len(a.People) > healthcode.MaxAlertPeople {
		a.People = a.People[:healthcode.MaxAlertPeople]
	}
	idx := map[int64]bool{}
	var out []int64
	for _, i := range a.LogIndexes {
		if !idx[i] {
			idx[i] = true
			out = append(out, i)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) > healthcode.MaxAlertLogIndexes {
		out = out[:healthcode.MaxAlertLogIndexes]
	}
	a.LogIndexes = out
}

func sortedUnique(s []string) []string {
	m := map[string]bool{}
	var out []string
	for _, v := range s {
		if v != "" && !m[v] {
			m[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
