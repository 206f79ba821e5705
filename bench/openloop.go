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

// An open-loop load generator: requests are due at a constant arrival rate
// whatever the answers, go out on a fixed set of kept-alive connections (as
// from a load balancer in front of the node, or wrk2), and each answer is
// timed from when its request was due (so a generator that falls behind, or
// a server that queues, shows as latency, not as a lower rate). Closed-loop
// clients (send, wait, send) would slow down with the server and never
// overload it. Requests are written as raw bytes and answers read with
// http.ReadResponse: the generator shares the machine with the node and
// must cost it little.

// ClientTimeout is how long a phone waits for an answer.
const ClientTimeout = 10 * time.Second

// RawClient sends raw HTTP/1.1 requests over kept-alive connections.
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

// Do sends req (a whole request) and reads its answer, all by deadline, on
// an idle connection or a new one.
func (rc *RawClient) Do(req []byte, deadline time.Time) Answer {
	var c *rawConn
	select {
	case c = <-rc.idle:
	default:
	}
	a, c := rc.doOn(c, req, deadline)
	if c != nil {
		select {
		case rc.idle <- c:
		default:
			c.c.Close()
		}
	}
	return a
}

// doOn sends req on c (dialled first if nil) and reads its answer, all by
// deadline; it returns the connection if it may carry another request, else
// closes it and returns nil.
func (rc *RawClient) doOn(c *rawConn, req []byte, deadline time.Time) (Answer, *rawConn) {
	if c == nil {
		d := net.Dialer{Deadline: deadline}
		conn, err := d.Dial("tcp", rc.addr)
		if err != nil {
			return Answer{Err: err, Timeout: isTimeout(err)}, nil
		}
		c = &rawConn{c: conn, br: bufio.NewReaderSize(conn, 4096)}
	}
	c.c.SetDeadline(deadline)
	if _, err := c.c.Write(req); err != nil {
		c.c.Close()
		return Answer{Err: err, Timeout: isTimeout(err)}, nil
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.c.Close()
		return Answer{Err: err, Timeout: isTimeout(err)}, nil
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a := Answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After") != ""}
	if err != nil || resp.Close {
		c.c.Close()
		if err != nil {
			a.Err, a.Timeout = err, isTimeout(err)
		}
		return a, nil
	}
	return a, c
}

// isTimeout: the deadline passed (a dial, a write or a read).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Shot is one request of an open-loop run: when it was due (from the start
// of the run), how long its answer took from then, and the answer.
type Shot struct {
	Due     time.Duration
	Latency time.Duration
	Answer
}

// OpenLoopConns is how many connections an open-loop run keeps, each
// carrying one request at a time: a request due while all are busy waits
// for one, and the wait counts in its latency (from when it was due), as
// it would for a phone. A generator that opened a connection per waiting
// request instead would, once the server slows, spend its CPU and the
// machine's ports dialling (a storm of connections no phone population
// behind a load balancer sends), and measure that rather than the node.
var OpenLoopConns = 1024

// OpenLoop sends req(i) at rate per second for d and returns every Shot, in
// the order they were due, to be read once wait has returned (when every
// answer is in). The requests go out on OpenLoopConns connections (dialled
// when first needed and again after the server closes one); a request still
// waiting for a connection at its phone's timeout (ClientTimeout after it
// was due) is not sent and counts as a timeout.
func OpenLoop(rc *RawClient, rate float64, d time.Duration, req func(i int) []byte) (shots []Shot, wait func()) {
	n := int(rate * d.Seconds())
	shots = make([]Shot, n)
	interval := float64(time.Second) / rate
	dueAt := func(i int) time.Duration { return time.Duration(float64(i) * interval) }
	queue := make(chan int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(OpenLoopConns, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *rawConn
			defer func() {
				if c != nil {
					c.c.Close()
				}
			}()
			for i := range queue {
				due := dueAt(i)
				deadline := start.Add(due + ClientTimeout)
				if !time.Now().Before(deadline) {
					shots[i] = Shot{Due: due, Latency: ClientTimeout, Answer: Answer{Err: os.ErrDeadlineExceeded, Timeout: true}}
					continue
				}
				var a Answer
				a, c = rc.doOn(c, req(i), deadline)
				shots[i] = Shot{Due: due, Latency: time.Since(start) - due, Answer: a}
			}
		}()
	}
	for i := 0; i < n; {
		now := time.Since(start)
		for ; i < n && dueAt(i) <= now; i++ {
			queue <- i
		}
		if i < n {
			if wait := dueAt(i) - time.Since(start); wait > 200*time.Microsecond {
				time.Sleep(wait)
			}
		}
	}
	close(queue)
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
