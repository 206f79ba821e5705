package scenario

import (
	"context"
	"slices"
	"sync"
	"time"

	hchttp "healthcode/http"
)

// alertWatch reads the node's oversight alerts as an auditor would, every
// quarter of a second, and keeps every alert it has seen.
type alertWatch struct {
	c    *hchttp.Client
	mu   sync.Mutex
	seen map[int64]hchttp.ClientAlertJSON
	// order keeps alerts in the order first seen.
	order []int64
	err   string
}

func newAlertWatch(c *hchttp.Client) *alertWatch {
	return &alertWatch{c: c, seen: map[int64]hchttp.ClientAlertJSON{}}
}

func (w *alertWatch) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *alertWatch) poll(ctx context.Context) {
	as, err := w.c.Alerts(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			w.err = err.Error()
		}
		return
	}
	w.err = ""
	for _, a := range as {
		if _, ok := w.seen[a.ID]; !ok {
			w.order = append(w.order, a.ID)
		}
		w.seen[a.ID] = a
	}
}

func (w *alertWatch) all() []hchttp.ClientAlertJSON {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]hchttp.ClientAlertJSON, 0, len(w.order))
	for _, id := range w.order {
		out = append(out, w.seen[id])
	}
	return out
}

// problem is why the alerts could not be read at the last try; empty if
// they could.
func (w *alertWatch) problem() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// about reports whether alert al is about attempt a: it names one of its
// acting officials; or it was opened after the attempt began and names
// people it touched, and either names no official (a crowd of scans of a
// public screen) or the attempt has none known to the node (a direct
// write).
func (w *alertWatch) about(r *run, a *Attempt, al hchttp.ClientAlertJSON) bool {
	for _, o := range a.actors {
		if names(al, o) {
			return true
		}
	}
	if (!a.noActors && len(al.Officials) > 0) || !a.touches(al) || al.OpenedAt.Before(a.start.Add(-time.Second)) {
		return false
	}
	// What the alert saw first came after the attempt began: a later
	// alert about an earlier attempt's effect on the same people is not
	// about this one.
	first := al.FirstEffectAt
	if first.IsZero() {
		first = al.OpenedAt
	}
	if first.Before(a.start) {
		return false
	}
	if a.noActors {
		return true
	}
	// An alert that names no official (a crowd of scans of a public
	// screen) is about the last attempt begun before what it saw first
	// that touched its people.
	for _, b := range slices.Backward(r.report.Attempts) {
		if b != a && !b.noActors && b.touches(al) && b.start.After(a.start) && !first.Before(b.start) {
			return false
		}
	}
	return true
}

// touches reports whether the alert names a person the attempt touched.
func (a *Attempt) touches(al hchttp.ClientAlertJSON) bool {
	for _, p := range al.People {
		if a.touched[p] {
			return true
		}
	}
	return false
}

// firstFor returns the earliest alert about a seen so far, or nil.
func (w *alertWatch) firstFor(r *run, a *Attempt) *hchttp.ClientAlertJSON {
	var first *hchttp.ClientAlertJSON
	for _, al := range w.all() {
		if w.about(r, a, al) && (first == nil || al.OpenedAt.Before(first.OpenedAt)) {
			x := al
			first = &x
		}
	}
	return first
}

// awaitAlerts waits until every attempt that took effect has an alert, or
// its deadline (first effect + AlertWithin) has passed.
func (r *run) awaitAlerts(ctx context.Context) {
	for {
		pending := false
		for _, a := range r.report.Attempts {
			if a.Refused || a.FirstEffect == nil || r.alerts.firstFor(r, a) != nil {
				continue
			}
			if time.Now().Before(a.FirstEffect.Add(r.cfg.AlertWithin + time.Second)) {
				pending = true
			}
		}
		if !pending {
			r.alerts.poll(ctx)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
