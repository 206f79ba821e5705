package http

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"healthcode"
)

// TestAdmissionRefusesAtOnceAndHealthzPasses: with every turn of the API's
// reads taken and the expected wait above the budget, a citizen's code
// request is refused at once with 503 http.busy and Retry-After (before its
// token is even looked up) and counted; /healthz, /metrics and the pages,
// which have bounds of their own or none, are served meanwhile; and once
// the turns are free the same request is served.
func TestAdmissionRefusesAtOnceAndHealthzPasses(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[healthcode.RoleCitizen]
	if a := f.do(t, "GET", "/api/v1/me/code", tok, "", nil); a.status != 200 {
		t.Fatalf("code with the node idle: %d %s", a.status, a.body)
	}
	reads := f.srv.admission.reads
	for range cap(reads.slots) {
		reads.slots <- struct{}{}
	}
	oldHold := reads.hold.Load()
	reads.hold.Store(int64(time.Second))
	busy := f.do(t, "GET", "/api/v1/me/code", tok, "", nil)
	if busy.status != 503 || busy.problem(t).Reason != "http.busy" {
		t.Fatalf("code with every turn taken: %d %s, want 503 http.busy", busy.status, busy.body)
	}
	if ra, err := strconv.Atoi(busy.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("503 without a Retry-After: %q", busy.header.Get("Retry-After"))
	}
	if p := f.do(t, "GET", "/rules", "", "", nil); p.status != 200 {
		t.Fatalf("a page with the API's turns all taken: %d", p.status)
	}
	// Every class full: the monitor's routes still answer.
	a := f.srv.admission
	others := []*admissionClass{a.images, a.pages, a.checkins, a.other}
	for _, c := range others {
		for range cap(c.slots) {
			c.slots <- struct{}{}
		}
		c.hold.Store(int64(time.Second))
	}
	if h := f.do(t, "GET", "/healthz", "", "", nil); h.status != 200 {
		t.Fatalf("/healthz with every turn taken: %d %s", h.status, h.body)
	}
	m := f.do(t, "GET", "/metrics", "", "", nil)
	if m.status != 200 || !strings.Contains(string(m.body), `healthcode_http_admission_refused_total{class="reads"} 1`) {
		t.Fatalf("/metrics with every turn taken: %d, refusal counted: %v", m.status, strings.Contains(string(m.body), `admission_refused_total{class="reads"} 1`))
	}
	for _, c := range others {
		for range cap(c.slots) {
			<-c.slots
		}
		c.hold.Store(0)
	}
	for range cap(reads.slots) {
		<-reads.slots
	}
	reads.hold.Store(oldHold)
	if a := f.do(t, "GET", "/api/v1/me/code", tok, "", nil); a.status != 200 {
		t.Fatalf("code once the turns are free: %d %s", a.status, a.body)
	}
}

// TestCheckInRefusedForTheQueueBeforeAnyWork: while the check-ins' queue
// says a new one would wait past its budget (Server.CheckInBusy), a check-in
// is refused with 503 checkin.busy and Retry-After before its token is read:
// a request with a token that does not exist gets the same 503, not a 401,
// and counts as no failed login. Once the queue has room it is a 401 again.
func TestCheckInRefusedForTheQueueBeforeAnyWork(t *testing.T) {
	f := newFixture(t)
	var full atomic.Bool
	f.srv.CheckInBusy = func() error {
		if !full.Load() {
			return nil
		}
		e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "checkin.busy", "too many check-ins at once: the wait would be 2s; try again in a moment")
		e.RetryAfter = 2 * time.Second
		return e
	}
	body := []byte(`{"code":"HCV1.nothing"}`)
	full.Store(true)
	for range 20 {
		a := f.do(t, "POST", "/api/v1/checkins", "no-such-token", "application/json", body)
		if a.status != 503 || a.problem(t).Reason != "checkin.busy" {
			t.Fatalf("check-in with the queue full: %d %s, want 503 checkin.busy before the token is read", a.status, a.body)
		}
		if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 2 {
			t.Fatalf("Retry-After %q, want the queue's 2 s", a.header.Get("Retry-After"))
		}
	}
	m := f.do(t, "GET", "/metrics", "", "", nil)
	if !strings.Contains(string(m.body), `healthcode_http_admission_refused_total{class="check-ins"} 20`) {
		t.Fatalf("the refusals are not counted in /metrics")
	}
	full.Store(false)
	if a := f.do(t, "POST", "/api/v1/checkins", "no-such-token", "application/json", body); a.status != 401 {
		t.Fatalf("check-in with room in the queue and an unknown token: %d %s, want 401", a.status, a.body)
	}
}
