package http

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Connection limits. Each open connection costs the node memory (buffers,
// a goroutine) whether or not it sends anything, so their number is bounded
// in all and per client address: beyond either bound a new connection is
// answered at once with 503 and Retry-After (plain HTTP) or closed (TLS, where
// no answer can be written before the handshake), never left to wait, and the
// connections already open are served as before. Trusted reverse proxies and
// loopback clients (a proxy or the operator's tools on the same machine)
// carry many clients or much work on their connections and have no
// per-client bound.
const (
	DefaultMaxConns          = 8192
	DefaultMaxConnsPerClient = 256
)

type limitListener struct {
	net.Listener
	max, perClient int
	plain          bool // no TLS: a refusal can be an HTTP answer
	exempt         func(netip.Addr) bool

	mu       sync.Mutex
	open     int
	byClient map[netip.Addr]int
	refused  prometheus.Counter
}

// busyAnswer is the whole answer to a connection over the limits.
var busyAnswer = func() []byte {
	body := `{"type":"https://healthcode.invalid/problems/unavailable","title":"Service Unavailable","status":503,` +
		`"detail":"too many connections: try again in a moment","code":"unavailable","reason":"http.connections"}`
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\n"+
		"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var client netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			client = ap.Addr().Unmap()
		}
		if l.take(client) {
			return &limitedConn{Conn: c, l: l, client: client}, nil
		}
		l.refused.Inc()
		if l.plain {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(busyAnswer)
		}
		c.Close()
	}
}

func (l *limitListener) take(client netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		return false
	}
	limited := l.perClient > 0 && client.IsValid() && (l.exempt == nil || !l.exempt(client))
	if limited && l.byClient[client] >= l.perClient {
		return false
	}
	l.open++
	if client.IsValid() {
		l.byClient[client]++
	}
	return true
}

func (l *limitListener) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if client.IsValid() {
		if l.byClient[client]--; l.byClient[client] <= 0 {
			delete(l.byClient, client)
		}
	}
}

type limitedConn struct {
	net.Conn
	l      *limitListener
	client netip.Addr
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.client) })
	return err
}

// limit wraps ln in the server's connection limits.
func (s *Server) limit(ln net.Listener, plain bool) net.Listener {
	max, per := s.MaxConns, s.MaxConnsPerClient
	switch {
	case max == 0:
		max = DefaultMaxConns
	case max < 0:
		max = int(^uint(0) >> 1)
	}
	if per == 0 {
		per = DefaultMaxConnsPerClient
	}
	refused := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "healthcode_http_connections_refused_total",
		Help: "Connections refused (503) for being over --max-conns or --max-conns-per-client.",
	})
	if err := s.Registry.Register(refused); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			refused = are.ExistingCollector.(prometheus.Counter)
		}
	}
	return &limitListener{Listener: ln, max: max, perClient: per, plain: plain, exempt: func(a netip.Addr) bool { return a.IsLoopback() || s.trustedProxy(a) },
		byClient: map[netip.Addr]int{}, refused: refused}
}
