package sim

import (
	"context"

	"healthcode"
)

// Collector records sample collections (engine.Engine implements it).
type Collector interface {
	Collect(ctx context.Context, actor *healthcode.Principal, items []healthcode.CollectionRequest) ([]healthcode.CollectionOutcome, error)
}

// RecordConfirmer confirms a record resting on an interview
// (engine.Engine implements it).
type RecordConfirmer interface {
	ConfirmRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error)
}

// Replayer submits an outbreak's events to a node as their submitters
// would: consecutive events of one submitter in one batch; the story's case
// labels replaced by the ids the node gave the cases; each record resting
// on an interview confirmed at once by its second epidemiologist. It
// remembers the cases across calls, so a timeline may be replayed in parts.
type Replayer struct {
	Evidence healthcode.EvidenceService
	Records  RecordConfirmer
	Samples  Collector
	// Actors maps an institution's id to the official it acts as (a
	// node's registered official); absent ones act as Institution.Principal.
	Actors map[string]*healthcode.Principal
	// OnRefused, if set, is told of each event the node refused (or whose
	// confirmation it refused).
	OnRefused func(Event, error)
	// Clock, if set, is the node's clock: held at each batch's time (its
	// last event's) while the batch is submitted, so that the node decides
	// when the events happened. The caller releases it.
	Clock *StoryClock

	cases map[string]string // the story's case labels → the node's case ids
}

// Replay submits events in order. It returns an error only when the node
// fails (a refused event goes to OnRefused). It releases Clock when done.
func (r *Replayer) Replay(ctx context.Context, events []Event) error {
	if r.Clock != nil {
		defer r.Clock.Release()
	}
	for len(events) > 0 {
		n := 1
		for n < len(events) && events[n].Submitter.ID == events[0].Submitter.ID && !endsBatch(events[n-1]) &&
			events[n].IsCollection() == events[0].IsCollection() {
			n++
		}
		if err := r.batch(ctx, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// endsBatch reports whether what comes after ev may depend on the node's
// answer to it: a case it opens, a record it asks to confirm.
func endsBatch(ev Event) bool { return ev.Case != "" || ev.Confirmer.ID != "" }

func (r *Replayer) batch(ctx context.Context, events []Event) error {
	if r.cases == nil {
		r.cases = map[string]string{}
	}
	if r.Clock != nil {
		r.Clock.Hold(events[len(events)-1].At)
	}
	if events[0].IsCollection() {
		items := make([]healthcode.CollectionRequest, len(events))
		for i, ev := range events {
			items[i] = ev.Collection
			items[i].Line = i
		}
		outs, err := r.Samples.Collect(ctx, r.actor(events[0].Submitter), items)
		if err != nil {
			return err
		}
		for i, o := range outs {
			if o.Status == healthcode.Rejected {
				r.refused(events[i], o.Err)
			}
		}
		return nil
	}
	subs := make([]healthcode.Submission, len(events))
	for i, ev := range events {
		subs[i] = ev.Submission(i)
		if id, ok := r.cases[subs[i].Evidence.CaseRef]; ok {
			subs[i].Evidence.CaseRef = id
		}
		subs[i].Link = ev.Link
	}
	outs, err := r.Evidence.Submit(ctx, r.actor(events[0].Submitter), subs)
	if err != nil {
		return err
	}
	for i, o := range outs {
		ev := events[i]
		switch {
		case o.Status == healthcode.Rejected:
			r.refused(ev, o.Err)
		case ev.Case != "" && o.Case != "":
			r.cases[ev.Case] = o.Case
		case o.Status == healthcode.Pending && ev.Confirmer.ID != "" && r.Records != nil:
			if _, err := r.Records.ConfirmRecord(ctx, r.actor(ev.Confirmer), o.Pending); err != nil {
				if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
					return err
				}
				r.refused(ev, err)
			}
		}
	}
	return nil
}

func (r *Replayer) actor(in Institution) *healthcode.Principal {
	if p, ok := r.Actors[in.ID]; ok {
		return p
	}
	p := in.Principal()
	return &p
}

func (r *Replayer) refused(ev Event, err error) {
	if r.OnRefused != nil {
		r.OnRefused(ev, err)
	}
}
