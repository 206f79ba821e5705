package http

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"healthcode"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission control. Past its capacity a node must answer at once "not now"
// (503 with Retry-After) rather than accept everything and let every request
// wait its turn on the CPU: an open queue grows without bound under a load
// above capacity, every answer comes too late to be used, and /healthz waits
// with the rest. So each class of route passes its own bound before any work
// is done for it (authentication included): at most a few requests of the
// class are served at once, a request may wait for a turn only while the
// wait it can expect (the requests ahead of it, at the measured time each
// holds its turn) stays within the class's budget, and never longer than the
// budget; otherwise it is refused at once. /healthz, /metrics and the static
// files pass no bound (only the connection limit): a load balancer and a
// monitor must see the node's state while it is overloaded.
//
// The classes are separate so that one kind of load cannot starve another:
// the citizens' reads, the pages, the check-ins (whose group commit has its
// own budget by time, engine/checkin.go: this bound only caps how many wait
// for it), and the other writes (whose commits wait on the disk, not the
// CPU, and so may be many at once).

// admissionBudget is the longest a request waits for its turn.
const admissionBudget = 250 * time.Millisecond

type admissionClass struct {
	name   string
	slots  chan struct{}
	budget time.Duration
	// waiting counts requests waiting for a turn; hold is the moving
	// average of how long a turn is held (nanoseconds).
	waiting atomic.Int64
	hold    atomic.Int64
	refused prometheus.Counter
	// full, if set, refuses before a turn is even asked for: the check-ins'
	// queue past its wait budget (Server.CheckInBusy).
	full func() error
}

func newAdmissionClass(name string, slots int, refused *prometheus.CounterVec) *admissionClass {
	return &admissionClass{name: name, slots: make(chan struct{}, slots), budget: admissionBudget, refused: refused.WithLabelValues(name)}
}

// expectedWait is how long a request arriving now would wait for a turn.
func (a *admissionClass) expectedWait() time.Duration {
	ahead := a.waiting.Load() + 1
	return time.Duration(ahead * a.hold.Load() / int64(cap(a.slots)))
}

func (a *admissionClass) busy(wait time.Duration) error {
	a.refused.Inc()
	e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "http.busy", "the node is serving as many requests as it can (%s); try again in a moment", a.name)
	e.RetryAfter = max(time.Second, wait)
	return e
}

// admit takes a turn or refuses (EUNAVAILABLE http.busy, Retry-After); the
// returned func gives the turn back.
func (a *admissionClass) admit(ctx context.Context) (func(), error) {
	if a.full != nil {
		if err := a.full(); err != nil {
			a.refused.Inc()
			return nil, err
		}
	}
	select {
	case a.slots <- struct{}{}:
		return a.turn(), nil
	default:
	}
	if wait := a.expectedWait(); wait > a.budget {
		return nil, a.busy(wait)
	}
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	t := time.NewTimer(a.budget)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.turn(), nil
	case <-t.C:
		return nil, a.busy(a.budget)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *admissionClass) turn() func() {
	began := time.Now()
	return func() {
		<-a.slots
		d := int64(time.Since(began))
		old := a.hold.Load()
		if old == 0 {
			a.hold.Store(d)
		} else {
			a.hold.Store(old + (d-old)/16)
		}
	}
}

type admission struct {
	reads, images, pages, checkins, other *admissionClass
}

// Turns per class. Reads and pages are CPU-bound: a few per core keep the
// cores busy while one waits on SQLite. Check-ins and other writes mostly
// wait on a commit: many at once cost little CPU.
// They are made while Handler builds the routes.
func (s *Server) admissionClasses() *admission {
	if s.admission == nil {
		refused := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcode_http_admission_refused_total",
			Help: "Requests refused at once (503 http.busy, Retry-After) because their class of route was serving all it can, by class.",
		}, []string{"class"})
		if err := s.Registry.Register(refused); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				refused = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
		procs := runtime.GOMAXPROCS(0)
		a := &admission{}
		a.reads = newAdmissionClass("reads", 4*procs, refused)
		a.images = newAdmissionClass("images", 2*procs, refused)
		a.pages = newAdmissionClass("pages", 4*procs, refused)
		a.checkins = newAdmissionClass("check-ins", 1024, refused)
		a.checkins.full = func() error {
			if s.CheckInBusy == nil {
				return nil
			}
			return s.CheckInBusy()
		}
		a.other = newAdmissionClass("writes", 64, refused)
		s.admission = a
	}
	return s.admission
}

// admissionFor is the class rt passes, or nil for the routes that must
// answer under any load.
func (s *Server) admissionFor(rt route) *admissionClass {
	switch {
	case rt.Path == "/healthz" || rt.Path == "/metrics" || strings.HasPrefix(rt.Path, "/static/"):
		return nil
	case rt.Method == "POST" && rt.Path == "/api/v1/checkins":
		return s.admissionClasses().checkins
	case rt.Path == "/api/v1/me/qr.png" || rt.Path == "/api/v1/me/qr.svg":
		// Images wait for a render slot (qrimage.go): apart, so that
		// they never hold the turns of the codes themselves.
		return s.admissionClasses().images
	case !strings.HasPrefix(rt.Path, "/api/"):
		// The pages (the citizen's, the officials'), their forms, the
		// log's tiles: apart from the API, so that a flood of API calls
		// never stops a person seeing their page.
		return s.admissionClasses().pages
	case safeMethod(rt.Method):
		return s.admissionClasses().reads
	default:
		return s.admissionClasses().other
	}
}
