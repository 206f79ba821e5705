package bench

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// An open-loop load generator: requests are sent at a constant arrival rate
// whatever the answers, each on a connection of its own or an idle one, as
// many phones would, and each answer is timed from when its request was due
// (so a generator that falls behind, or a server that queues, shows as
// latency, not as a lower rate). Closed-loop clients (send, wait, send) would
// slow down with the server and never overload it. Requests are written as
// raw bytes and answers read with http.ReadResponse: the generator shares the
// machine with the node and must cost it little.

// ClientTimeout is how long a phone waits for an answer.
const ClientTimeout = 10 * time.Second

// RawClient sends raw HTTP/1.1 requests over kept-alive connections,
// opening a new one whenever none is idle.
type RawClient struct {
	addr string
	idle chan *rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// NewRawClient is a client of the server at addr (host:port).
func NewRawClient(addr string) *RawClient {
	return &RawClient{addr: addr, idle: make(chan *rawConn, 16384)}
}

// Close closes the idle connections.
func (rc *RawClient) Close() {
	for {
		select {
		case c := <-rc.idle:
			c.c.Close()
		default:
			return
		}
	}
}

// Answer is what came back for one request.
type Answer struct {
	Status     int
	RetryAfter bool
	Err        error
	Timeout    bool
}

// Do sends req (a whole request) and reads its answer, all by deadline.
func (rc *RawClient) Do(req []byte, deadline time.Time) Answer {
	var c *rawConn
	select {
	case c = <-rc.idle:
	default:
		d := net.Dialer{Deadline: deadline}
		conn, err := d.Dial("tcp", rc.addr)
		if err != nil {
			return Answer{Err: err, Timeout: errors.Is(err, os.ErrDeadlineExceeded)}
		}
		c = &rawConn{c: conn, br: bufio.NewReaderSize(conn, 4096)}
	}
	c.c.SetDeadline(deadline)
	if _, err := c.c.Write(req); err != nil {
		c.c.Close()
		return Answer{Err: err, Timeout: errors.Is(err, os.ErrDeadlineExceeded)}
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.c.Close()
		return Answer{Err: err, Timeout: errors.Is(err, os.ErrDeadlineExceeded)}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a := Answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After") != ""}
	if err != nil || resp.Close {
		c.c.Close()
		if err != nil {
			a.Err, a.Timeout = err, errors.Is(err, os.ErrDeadlineExceeded)
		}
		return a
	}
	select {
	case rc.idle <- c:
	default:
		c.c.Close()
	}
	return a
}

// Shot is one request of an open-loop run: when it was due (from the start
// of the run), how long its answer took from then, and the answer.
type Shot struct {
	Due     time.Duration
	Latency time.Duration
	Answer
}

// OpenLoop sends req(i) at rate per second for d and returns every Shot, in
// the order they were due, to be read once wait has returned (when every
// answer is in). At most maxInFlight are outstanding: past that the
// generator waits (and the wait shows in the latencies).
func OpenLoop(rc *RawClient, rate float64, d time.Duration, req func(i int) []byte) (shots []Shot, wait func()) {
	n := int(rate * d.Seconds())
	shots = make([]Shot, n)
	interval := float64(time.Second) / rate
	const maxInFlight = 20000
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; {
		now := time.Since(start)
		for ; i < n && time.Duration(float64(i)*interval) <= now; i++ {
			due := time.Duration(float64(i) * interval)
			sem <- struct{}{}
			wg.Add(1)
			go func(i int, due time.Duration) {
				defer wg.Done()
				defer func() { <-sem }()
				a := rc.Do(req(i), start.Add(due+ClientTimeout))
				shots[i] = Shot{Due: due, Latency: time.Since(start) - due, Answer: a}
			}(i, due)
		}
		if i < n {
			if wait := time.Duration(float64(i)*interval) - time.Since(start); wait > 200*time.Microsecond {
				time.Sleep(wait)
			}
		}
	}
	return shots, wg.Wait
}

// ClosedLoop runs conc clients sending req(i) one after the other for d and
// returns the 2xx answers per second: a route's capacity here.
func ClosedLoop(rc *RawClient, conc int, d time.Duration, req func(i int) []byte) (float64, error) {
	var ok atomic.Int64
	var next atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				a := rc.Do(req(int(next.Add(1))), time.Now().Add(ClientTimeout))
				if a.Err != nil {
					firstErr.CompareAndSwap(nil, a.Err)
					return
				}
				if a.Status/100 == 2 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(ok.Load()) / time.Since(start).Seconds(), nil
}

// Probe sends req every interval, one at a time, until stop is closed, and
// returns each answer's latency (a monitor's view, e.g. of /healthz).
func Probe(rc *RawClient, interval time.Duration, req []byte, stop <-chan struct{}) (lat []time.Duration, bad int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return lat, bad
		case <-t.C:
		}
		began := time.Now()
		a := rc.Do(req, began.Add(ClientTimeout))
		lat = append(lat, time.Since(began))
		if a.Err != nil || a.Status != 200 {
			bad++
		}
	}
}

// Percentile returns the q-quantile (0..1) of ds in milliseconds.
func Percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(q*float64(len(s))))
	return float64(s[i]) / float64(time.Millisecond)
}
