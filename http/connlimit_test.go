package http

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestConnectionLimits: beyond the node's bound a new connection gets a
// 503 with Retry-After at once (it does not wait), the connections already
// open are served, and when one closes a new one is accepted again.
func TestConnectionLimits(t *testing.T) {
	f := newFixture(t)
	f.ts.Close() // the fixture's test server; this one opens its own
	srv := f.srv
	srv.MaxConns = 3
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	addr := srv.ln.Addr().String()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The three are accepted (each answers), the fourth is refused.
	get := func(c net.Conn) *http.Response {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, c := range held {
		if r := get(c); r.StatusCode != 200 {
			t.Fatalf("an accepted connection: %d", r.StatusCode)
		}
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	extra.SetDeadline(time.Now().Add(5 * time.Second))
	r, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatalf("a connection over the bound got no answer: %v", err)
	}
	b, _ := io.ReadAll(r.Body)
	extra.Close()
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "http.connections") {
		t.Fatalf("a connection over the bound: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), b)
	}
	held[0].Close()
	// Closing is seen by the listener once the server reads EOF: retry briefly.
	var ok bool
	for i := 0; i < 50 && !ok; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ok = get(c).StatusCode == 200
		c.Close()
		if !ok {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !ok {
		t.Fatal("after a connection closed, a new one is still refused")
	}
}

// TestConnectionLimitPerClient: one address reaches its own bound while
// another still connects; loopback and trusted proxies have none.
func TestConnectionLimitPerClient(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	s.Registry = prometheus.NewRegistry()
	l := s.limit(nil, true).(*limitListener)
	l.perClient = 2
	a, b := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("203.0.113.8")
	if first, second := l.take(a), l.take(a); !first || !second {
		t.Fatal("a client's first two connections refused")
	}
	if l.take(a) {
		t.Fatal("a client's third connection accepted over a bound of two")
	}
	if !l.take(b) {
		t.Fatal("another client refused because of the first")
	}
	l.release(a)
	if !l.take(a) {
		t.Fatal("a client's connection refused after one of theirs closed")
	}
	for _, exempt := range []string{"127.0.0.1", "::1", "10.9.3.4"} {
		for i := range 5 {
			if !l.take(netip.MustParseAddr(exempt)) {
				t.Fatalf("%s refused at its connection %d: loopback and trusted proxies have no per-client bound", exempt, i+1)
			}
		}
	}
}
