package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// `healthcode bench --overload`: for each of the check-in (live venue
// codes), the citizen's code and the citizen's QR image, measure the
// route's capacity on a node served by a child process, then offer it twice
// that, open-loop, for a while (60 s by default), with a monitor asking
// /healthz every 20 ms, then a quarter of the capacity to see how soon every
// request succeeds again. The acceptance (issue 15): no answer later than a
// phone's 10 s, only 2xx and 503 with Retry-After, /healthz p99 under 100 ms,
// the node's memory bounded, and everything served again within 5 s.

// recoveryWatch is how long the load after the overload runs.
var recoveryWatch = 8 * time.Second

// overloadRoutes are the routes overloaded, in order.
var overloadRoutes = []string{"checkin", "code", "qr"}

// overloadReport is one route's figures (one JSON line under --json).
type overloadReport struct {
	Route string `json:"route"`
	// CapacityPerSec is the 2xx answers per second of closed-loop clients.
	CapacityPerSec float64 `json:"capacity_per_s"`
	// OfferedPerSec is the open-loop rate (twice the capacity), SentPerSec
	// what the generator managed, over Seconds.
	OfferedPerSec float64 `json:"offered_per_s"`
	SentPerSec    float64 `json:"sent_per_s"`
	Seconds       float64 `json:"seconds"`
	// Statuses counts the answers by status ("503+retry-after" apart
	// from a 503 without it), "error" the requests with no answer.
	Statuses map[string]int `json:"statuses"`
	// Timeouts are the requests unanswered at the phone's 10 s.
	Timeouts int `json:"timeouts"`
	// Bad counts the answers that are neither 2xx nor 503 with
	// Retry-After (timeouts and connection errors included).
	Bad int `json:"bad"`
	// Errors counts the requests with no answer by what went wrong (the
	// system call's error, "eof", "timeout" or "other").
	Errors         map[string]int `json:"errors,omitempty"`
	AcceptedPerSec float64        `json:"accepted_per_s"`
	RefusedPerSec  float64        `json:"refused_per_s"`
	AcceptedP99Ms  float64        `json:"accepted_p99_ms"`
	RefusedP99Ms   float64        `json:"refused_p99_ms"`
	// HealthzIdleP99Ms is /healthz's p99 just before the overload (the
	// machine's own noise), HealthzP99Ms during it.
	HealthzIdleP99Ms float64 `json:"healthz_idle_p99_ms"`
	HealthzP99Ms     float64 `json:"healthz_p99_ms"`
	HealthzMaxMs     float64 `json:"healthz_max_ms"`
	HealthzBad       int     `json:"healthz_bad"`
	RSSBeforeMiB     float64 `json:"rss_before_mib"`
	RSSPeakMiB       float64 `json:"rss_peak_mib"`
	RecoverySeconds  float64 `json:"recovery_s"`
	// NodeCPU and LoadCPU are the CPU seconds per second of the node's
	// process and of the load generator's during the overload (the
	// machine has NumCPU of them).
	NodeCPU float64 `json:"node_cpu"`
	LoadCPU float64 `json:"load_cpu"`
}

// ok reports what fails the acceptance, or "".
func (r overloadReport) failures() []string {
	var f []string
	if r.Timeouts > 0 {
		f = append(f, fmt.Sprintf("%d timeouts", r.Timeouts))
	}
	if r.Bad > 0 {
		f = append(f, fmt.Sprintf("%d answers neither 2xx nor 503 with Retry-After", r.Bad))
	}
	if r.HealthzP99Ms >= 100 {
		f = append(f, fmt.Sprintf("/healthz p99 %.1f ms", r.HealthzP99Ms))
	}
	if r.RecoverySeconds < 0 || r.RecoverySeconds > 5 {
		f = append(f, fmt.Sprintf("recovery %.2f s", r.RecoverySeconds))
	}
	return f
}

// overloadCity is what the load is made of: citizens' bearer tokens and
// active venues (with their secrets, for live codes).
type overloadCity struct {
	tokens []string
	venues []*healthcode.Venue
	// next numbers the check-ins of every run, so that no pair of person
	// and venue repeats within a live code's slot.
	next atomic.Int64
}

// prepareOverloadNode builds a node's data in dir (people, tokens, venues)
// in this process, and closes it for a child to serve.
func prepareOverloadNode(ctx context.Context, dir string, people, venues int) (*overloadCity, error) {
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	n, err := openBenchNode(ctx, &cfg, healthcode.SystemClock{})
	if err != nil {
		return nil, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 15, People: max(people, 1000), Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	if err := registerCity(ctx, n, city); err != nil {
		return nil, err
	}
	oc := &overloadCity{}
	for i := 0; i < people; i++ {
		p := n.engine.Keys.Pseudonymize(cfg.Region, city.Person(i).IDNumber)
		tok, err := n.engine.CreateToken(ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: p})
		if err != nil {
			return nil, err
		}
		oc.tokens = append(oc.tokens, tok)
	}
	if oc.venues, err = activeVenues(ctx, n, venues); err != nil {
		return nil, err
	}
	return oc, nil
}

// overloadServeFlags let every check-in of the run through the per-person
// rate (the figure is the node's, not one person's allowance).
var overloadServeFlags = []string{"--checkin-rate", "3600", "--checkin-burst", "1000"}

// routeRequest returns the raw request maker of a route: check-ins pair
// person i%people with venue (i/people)%venues, so a pair repeats (and would
// be a replayed live code) only after people×venues requests.
func (oc *overloadCity) routeRequest(route string) func(i int) []byte {
	tok := func(i int) string { return oc.tokens[i%len(oc.tokens)] }
	switch route {
	case "checkin":
		return func(int) []byte {
			i := int(oc.next.Add(1))
			v := oc.venues[(i/len(oc.tokens))%len(oc.venues)]
			body := `{"code":"` + v.LiveCode(time.Now()) + `"}`
			return []byte("POST /api/v1/checkins HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer " + tok(i) +
				"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		}
	case "code":
		return func(i int) []byte {
			return []byte("GET /api/v1/me/code HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer " + tok(i) + "\r\n\r\n")
		}
	case "qr":
		// A size a phone has not asked before is a new render: the
		// expensive path (a cached image costs what the code does).
		return func(i int) []byte {
			size := 256 + rand.IntN(257)
			return []byte("GET /api/v1/me/qr.png?size=" + strconv.Itoa(size) + " HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer " + tok(i) + "\r\n\r\n")
		}
	}
	return nil
}

// capacityClients is how many closed-loop clients measure a route's
// capacity: check-ins need many in flight to fill their group commits.
var capacityClients = map[string]int{"checkin": 128, "code": 8, "qr": 4}

// overloadRoute measures route's capacity on the node at url (the child
// c), offers it factor× that for d, and watches it recover.
func overloadRoute(c *childServer, oc *overloadCity, route string, measure, d time.Duration, factor float64, logf func(string, ...any)) (overloadReport, error) {
	rep := overloadReport{Route: route, Statuses: map[string]int{}}
	req := oc.routeRequest(route)
	rc := bench.NewRawClient(c.addr)
	defer rc.Close()
	// Warm (connections, caches), then measure.
	if _, err := bench.ClosedLoop(rc, capacityClients[route], measure/4, req); err != nil {
		return rep, err
	}
	capacity, err := bench.ClosedLoop(rc, capacityClients[route], measure, req)
	if err != nil {
		return rep, err
	}
	if capacity < 1 {
		return rep, fmt.Errorf("%s: no request succeeded while measuring capacity", route)
	}
	rep.CapacityPerSec = capacity
	rep.OfferedPerSec = factor * capacity
	logf("%s: capacity %.0f/s; offering %.0f/s for %s", route, capacity, rep.OfferedPerSec, d)
	rc.Close()
	before, _ := c.rssKiB()
	rep.RSSBeforeMiB = float64(before) / 1024

	health := bench.NewRawClient(c.addr)
	defer health.Close()
	idleStop := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(idleStop) })
	idle, _ := bench.Probe(health, 20*time.Millisecond, []byte("GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"), idleStop)
	rep.HealthzIdleP99Ms = bench.Percentile(idle, 0.99)
	stop := make(chan struct{})
	type probed struct {
		lat []time.Duration
		bad int
	}
	probeDone := make(chan probed)
	go func() {
		lat, bad := bench.Probe(health, 20*time.Millisecond, []byte("GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"), stop)
		probeDone <- probed{lat, bad}
	}()
	rssDone := make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				_, hwm := c.rssKiB()
				rssDone <- max(peak, hwm)
				return
			case <-t.C:
				now, _ := c.rssKiB()
				peak = max(peak, now)
			}
		}
	}()
	nodeCPU, loadCPU := cpuSeconds(c.cmd.Process.Pid), cpuSeconds(os.Getpid())
	began := time.Now()
	shots, wait := bench.OpenLoop(rc, rep.OfferedPerSec, d, req)
	rep.NodeCPU = (cpuSeconds(c.cmd.Process.Pid) - nodeCPU) / time.Since(began).Seconds()
	rep.LoadCPU = (cpuSeconds(os.Getpid()) - loadCPU) / time.Since(began).Seconds()
	// Recovery: a quarter of the capacity, open-loop, from the end of the
	// overload; the recovery time is from then to the first request from
	// which on every answer is a 2xx.
	recovering := time.Now()
	rshots, rwait := bench.OpenLoop(rc, capacity/4, recoveryWatch, req)
	wait()
	rep.Seconds = time.Since(began).Seconds()
	rwait()
	close(stop)
	pr := <-probeDone
	rep.RSSPeakMiB = float64(<-rssDone) / 1024
	rep.HealthzP99Ms, rep.HealthzMaxMs, rep.HealthzBad = bench.Percentile(pr.lat, 0.99), bench.Percentile(pr.lat, 1), pr.bad

	var accepted, refused []time.Duration
	var last time.Duration
	for _, s := range shots {
		last = max(last, s.Due)
		switch {
		case s.Err != nil:
			rep.Bad++
			if s.Timeout {
				rep.Timeouts++
				rep.Statuses["timeout"]++
			} else {
				rep.Statuses["error"]++
			}
			if rep.Errors == nil {
				rep.Errors = map[string]int{}
			}
			rep.Errors[errKind(s.Answer)]++
		case s.Status/100 == 2:
			rep.Statuses[strconv.Itoa(s.Status)]++
			accepted = append(accepted, s.Latency)
		case s.Status == 503 && s.RetryAfter:
			rep.Statuses["503+retry-after"]++
			refused = append(refused, s.Latency)
		default:
			rep.Bad++
			rep.Statuses[strconv.Itoa(s.Status)]++
		}
	}
	rep.SentPerSec = float64(len(shots)) / d.Seconds()
	rep.AcceptedPerSec = float64(len(accepted)) / d.Seconds()
	rep.RefusedPerSec = float64(len(refused)) / d.Seconds()
	rep.AcceptedP99Ms, rep.RefusedP99Ms = bench.Percentile(accepted, 0.99), bench.Percentile(refused, 0.99)

	rep.RecoverySeconds = -1
	for i := len(rshots) - 1; i >= 0; i-- {
		if rshots[i].Err != nil || rshots[i].Status/100 != 2 {
			if i+1 < len(rshots) {
				rep.RecoverySeconds = (recovering.Sub(began) - d + rshots[i+1].Due).Seconds()
			}
			break
		}
		if i == 0 {
			rep.RecoverySeconds = max(0, (recovering.Sub(began) - d).Seconds())
		}
	}
	return rep, nil
}

// runOverload is `healthcode bench --overload`.
func runOverload(ctx context.Context, routes []string, d time.Duration, asJSON bool, stdout, stderr io.Writer) int {
	for _, r := range routes {
		if !strings.Contains(","+strings.Join(overloadRoutes, ",")+",", ","+r+",") {
			fmt.Fprintf(stderr, "healthcode bench: unknown route %q (routes: %s)\n", r, strings.Join(overloadRoutes, ", "))
			return exitUsage
		}
	}
	dir, err := os.MkdirTemp("", "healthcode-overload-")
	if err != nil {
		return fail(stderr, "bench", err)
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench overload: "+format+"\n", args...) }
	logf("building the node (5,000 people, 200 venues)…")
	oc, err := prepareOverloadNode(ctx, filepath.Join(dir, "node"), 5000, 200)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	failed := false
	for _, route := range routes {
		// A fresh process per route: its memory and its caches are that
		// route's alone.
		c, err := startChild(filepath.Join(dir, "node"), overloadServeFlags...)
		if err != nil {
			return fail(stderr, "bench", err)
		}
		rep, err := overloadRoute(c, oc, route, min(5*time.Second, max(time.Second, d/10)), d, 2, logf)
		c.stop()
		if err != nil {
			return fail(stderr, "bench", err)
		}
		if asJSON {
			json.NewEncoder(stdout).Encode(rep)
		} else {
			printOverload(stdout, rep)
		}
		if f := rep.failures(); len(f) > 0 {
			fmt.Fprintf(stderr, "healthcode bench: %s at 2× capacity: %s\n", route, strings.Join(f, "; "))
			failed = true
		}
	}
	if failed {
		return exitError
	}
	return exitOK
}

func printOverload(w io.Writer, r overloadReport) {
	var st []string
	for k, v := range r.Statuses {
		st = append(st, fmt.Sprintf("%s×%d", k, v))
	}
	for k, v := range r.Errors {
		st = append(st, fmt.Sprintf("(%s×%d)", k, v))
	}
	sort.Strings(st)
	fmt.Fprintf(w, "%-8s capacity %7.0f/s  offered %7.0f/s (sent %.0f/s) for %.0f s: accepted %.0f/s (p99 %.0f ms), refused %.0f/s (p99 %.0f ms), timeouts %d, bad %d [%s]; /healthz p99 %.1f ms (max %.0f ms); RSS %.0f → peak %.0f MiB; recovered in %.2f s; CPU node %.2f, load %.2f (healthz idle p99 %.1f ms)\n",
		r.Route, r.CapacityPerSec, r.OfferedPerSec, r.SentPerSec, r.Seconds, r.AcceptedPerSec, r.AcceptedP99Ms, r.RefusedPerSec, r.RefusedP99Ms,
		r.Timeouts, r.Bad, strings.Join(st, " "), r.HealthzP99Ms, r.HealthzMaxMs, r.RSSBeforeMiB, r.RSSPeakMiB, r.RecoverySeconds, r.NodeCPU, r.LoadCPU, r.HealthzIdleP99Ms)
}

// flagSet reports whether the flag name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// cpuSeconds is the user and system CPU time process pid has used, from
// /proc (0 where there is none).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces).
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// errKind names what went wrong with a request that got no answer.
func errKind(a bench.Answer) string {
	var errno syscall.Errno
	switch {
	case a.Timeout:
		return "timeout"
	case errors.As(a.Err, &errno):
		return errno.Error()
	case errors.Is(a.Err, io.EOF), errors.Is(a.Err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}
