package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client is an HTTP client of conc keep-alive connections to one host, as
// a load's phones are. Close it when the figure is done.
type Client struct {
	*http.Client
	tr *http.Transport
}

// NewClient returns a client for conc concurrent requests.
func NewClient(conc int) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	return &Client{Client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr: tr}
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// Load sends the requests newReq makes from conc clients for d and returns
// answers per second; an answer other than want is an error. Reusing one
// Client across rounds keeps its connections open, as phones do.
func Load(ctx context.Context, c *Client, conc int, d time.Duration, want int, newReq func(*rand.Rand) *http.Request) (float64, error) {
	rate, _, err := LoadRefused(ctx, c, conc, d, want, 0, newReq)
	return rate, err
}

// LoadRefused is Load where an answer with status refused (a node's 503
// when its queue would wait past its budget) is not an error: it is
// counted, and that client waits a moment (as a phone honouring
// Retry-After would, shortened) before its next request. It returns the
// wanted answers per second and how many were refused.
func LoadRefused(ctx context.Context, c *Client, conc int, d time.Duration, want, refused int, newReq func(*rand.Rand) *http.Request) (float64, int64, error) {
	var count, refusals atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req := newReq(r)
				resp, err := c.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case want:
					count.Add(1)
				case refused:
					refusals.Add(1)
					time.Sleep(50 * time.Millisecond)
				default:
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, 0, err
	}
	return float64(count.Load()) / time.Since(start).Seconds(), refusals.Load(), nil
}

// LoadLatency runs do from conc goroutines for d and returns calls per
// second and the latencies of every call.
func LoadLatency(ctx context.Context, conc int, d time.Duration, do func(i int) error) (float64, []time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i += conc {
				t := time.Now()
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, nil, firstErr
	}
	if len(lat) == 0 {
		return 0, nil, fmt.Errorf("no call completed in %s", d)
	}
	slices.Sort(lat)
	return float64(len(lat)) / time.Since(start).Seconds(), lat, nil
}

// Trivial is the baseline server of the HTTP figures: it reads the body
// and answers 200 bytes of JSON, served by this process on 127.0.0.1 as
// the node is.
type Trivial struct {
	URL string
	srv *http.Server
}

// StartTrivial starts a trivial server; Close it when done.
func StartTrivial() (*Trivial, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(strings.Repeat("x", 199) + "\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return &Trivial{URL: "http://" + ln.Addr().String() + "/", srv: srv}, nil
}

// Close stops the server.
func (t *Trivial) Close() { t.srv.Close() }

// LoadN sends exactly total requests, made by newReq(i) for i in
// [0, total), from conc clients, and returns answers per second; an answer
// other than want is an error. It measures fixed work (each request a
// different citizen, for the cold figures) where Load measures fixed time.
func LoadN(ctx context.Context, c *Client, conc, total, want int, newReq func(i int) *http.Request) (float64, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= total || firstErr.Load() != nil {
					return
				}
				req := newReq(i)
				resp, err := c.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(total) / time.Since(start).Seconds(), nil
}
